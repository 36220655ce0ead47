// SPDX-License-Identifier: GPL-3.0-or-later
/* lb-decode DATAFILE: the bytes a data file holds, to stdout (a stream's
 * pax archive as capture made it: the archive harness's seeds).
 * lb-decode --encrypted-seeds DIR: the encrypted seeds of the data file
 * harness, with its key (fuzz_key): a compressed stream, a plain one, and
 * an image of three extents. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "data/data.h"
#include "data/datafile.h"
#include "fuzz/fuzz.h"

static void seed(const char *dir, const char *name, uint32_t kind, int level)
{
	_cleanup_free_ char *path = lb_asprintf("%s/%s", dir, name);
	struct lb_key key;
	struct lb_dw *w = NULL;
	uint8_t buf[70000];
	char sum[65];
	uint64_t size;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), dev = -1;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i % 251 < 200 ? 'a' + i % 7 : i);
	fuzz_key(&key);
	if (fd < 0 || lb_dw_open_key(fd, kind, kind == LB_CONTAINER_IMAGE ? sizeof(buf) : 0,
				     kind == LB_CONTAINER_IMAGE ? 1024 : 0, level, &key, "fuzz.data",
				     &w) < 0)
		goto fail;
	if (kind == LB_CONTAINER_IMAGE) {
		dev = fuzz_memfd(buf, sizeof(buf));
		lb_dw_set_device(w, dev, -1, 0, "seed");
		if (lb_dw_add_extent(w, 0, 4096) < 0 || lb_dw_add_extent(w, 8192, 1024) < 0 ||
		    lb_dw_add_extent(w, 65536, 4096) < 0)
			goto fail;
	} else if (lb_dw_write(w, buf, sizeof(buf)) < 0) {
		goto fail;
	}
	if (lb_dw_close(w, sum, &size) < 0)
		goto fail;
	close(fd);
	if (dev >= 0)
		close(dev);
	return;
fail:
	fprintf(stderr, "lb-decode: %s: %s\n", path, lb_errmsg());
	exit(1);
}

int main(int argc, char **argv)
{
	struct lb_dr *r = NULL;
	struct lb_chunk ch;
	int fd, e;

	if (argc == 3 && strcmp(argv[1], "--encrypted-seeds") == 0) {
		seed(argv[2], "encrypted-stream-1.data", LB_CONTAINER_STREAM, 1);
		seed(argv[2], "encrypted-stream-none.data", LB_CONTAINER_STREAM, 0);
		seed(argv[2], "encrypted-image-1.data", LB_CONTAINER_IMAGE, 1);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: lb-decode DATAFILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || lb_dr_open(fd, argv[1], &r) < 0) {
		fprintf(stderr, "lb-decode: %s: %s\n", argv[1], fd < 0 ? "cannot open" : lb_errmsg());
		return 1;
	}
	while ((e = lb_dr_next(r, &ch)) > 0)
		if (fwrite(ch.data, 1, ch.len, stdout) != ch.len)
			e = lb_err(-EIO, "cannot write");
	if (e < 0)
		fprintf(stderr, "lb-decode: %s\n", lb_errmsg());
	lb_dr_close(r);
	close(fd);
	return e < 0 || fflush(stdout) != 0;
}
