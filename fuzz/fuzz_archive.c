// SPDX-License-Identifier: GPL-3.0-or-later
/* libFuzzer: the archive extractor. The fuzzed bytes are a pax stream, put
 * in a data file as capture does (a memfd), and extracted by
 * lb_archive_extract into a fresh directory, removed after. The directory
 * is under FUZZ_TMPDIR, else /dev/shm (a tmpfs: the extractor's syncfs
 * costs nothing there). The process keeps none of the capabilities to make
 * device nodes or immutable files, so nothing an archive makes outlives
 * its directory. */
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "data/data.h"
#include "data/datafile.h"
#include "fuzz/fuzz.h"

static const char *tmp_base(void)
{
	const char *t = getenv("FUZZ_TMPDIR");

	return t && *t ? t : "/dev/shm";
}

/* Drops CAP_MKNOD and CAP_LINUX_IMMUTABLE (root's others stay: owners,
 * modes, xattrs are extracted as restore does) */
static void drop_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	const int drop[] = { CAP_MKNOD, CAP_LINUX_IMMUTABLE };

	if (syscall(SYS_capget, &h, d) < 0)
		abort();
	for (size_t i = 0; i < LB_ARRAY_SIZE(drop); i++) {
		d[drop[i] / 32].effective &= ~(1u << (drop[i] % 32));
		d[drop[i] / 32].permitted &= ~(1u << (drop[i] % 32));
		d[drop[i] / 32].inheritable &= ~(1u << (drop[i] % 32));
	}
	if (syscall(SYS_capset, &h, d) < 0)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	drop_caps();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char sum[65];
	struct lb_artifact a = { .file = "fuzz.data", .sha256 = sum };
	_cleanup_free_ char *dir = lb_asprintf("%s/lifeboat-fuzz.XXXXXX", tmp_base());
	struct lb_dw *w = NULL;
	int fd = fuzz_memfd(NULL, 0), r;

	if (lb_dw_open(fd, LB_CONTAINER_STREAM, 0, 0, 0, &w) < 0 ||
	    (size && lb_dw_write(w, data, size) < 0) || lb_dw_close(w, sum, &a.size) < 0) {
		fprintf(stderr, "cannot make the data file: %s\n", lb_errmsg());
		abort();
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		abort();
	}
	lb_archive_extract(fd, "fuzz.data", &a, dir, NULL, NULL);
	r = lb_rm_rf(dir);
	if (r < 0 || access(dir, F_OK) == 0) {
		fprintf(stderr, "cannot remove %s: %s\n", dir, strerror(r < 0 ? -r : EEXIST));
		abort();
	}
	close(fd);
	return 0;
}
