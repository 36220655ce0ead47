// SPDX-License-Identifier: GPL-3.0-or-later
/* lb-decode DATAFILE: the bytes a data file holds, to stdout (a stream's
 * pax archive as capture made it: the archive harness's seeds). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "base/base.h"
#include "data/data.h"
#include "data/datafile.h"

int main(int argc, char **argv)
{
	struct lb_dr *r = NULL;
	struct lb_chunk ch;
	int fd, e;

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
