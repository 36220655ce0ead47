// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for the front-to-back file reader (seqread.c): whatever the
 * sizes asked for, across its blocks and at the file's unaligned end, the
 * bytes come back as written; past the end, or from a file shorter than
 * said, is -ENODATA; and when O_DIRECT is refused (EINVAL, as some file
 * systems do) or a read comes back short, the rest goes through the page
 * cache and still comes back right. pread is wrapped (-Wl,--wrap=pread) to
 * make those happen. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "data/seqread.h"

ssize_t __real_pread(int fd, void *buf, size_t len, off_t off);
ssize_t __wrap_pread(int fd, void *buf, size_t len, off_t off);

/* how the wrapped pread behaves on an O_DIRECT descriptor: fail with the
 * errno `refuse_direct`, or return at most `direct_limit` bytes; counts the
 * direct calls */
static int refuse_direct;
static size_t direct_limit;
static int direct_calls;

ssize_t __wrap_pread(int fd, void *buf, size_t len, off_t off)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && (fl & O_DIRECT)) {
		direct_calls++;
		if (refuse_direct) {
			errno = refuse_direct;
			return -1;
		}
		if (direct_limit) {
			/* the kernel reads it all; the caller is told less */
			ssize_t n = __real_pread(fd, buf, len, off);

			return n > (ssize_t)direct_limit ? (ssize_t)direct_limit : n;
		}
	}
	return __real_pread(fd, buf, len, off);
}

#define FILE_LEN (3 * (4u << 20) + 12345)

static uint8_t *data;
static char path[64];

static int setup(void **state)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/lb-seq-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	data = malloc(FILE_LEN);
	for (size_t i = 0; i < FILE_LEN; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	if (lb_pwrite_all(fd, data, FILE_LEN, 0) < 0)
		return -1;
	close(fd);
	refuse_direct = 0;
	direct_limit = 0;
	direct_calls = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	free(data);
	return 0;
}

/* Reads the whole file in pieces of the sizes given, in turn; checks each. */
static void read_all(uint64_t size, const size_t *sizes, size_t n_sizes)
{
	struct lb_seq *s = NULL;
	uint8_t *buf = malloc(FILE_LEN);
	uint64_t at = 0;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(lb_seq_open(fd, size, &s), 0);
	for (size_t i = 0; at < size; i++) {
		size_t n = sizes[i % n_sizes];

		if (n > size - at)
			n = (size_t)(size - at);
		assert_int_equal(lb_seq_read(s, buf, n), 0);
		assert_memory_equal(buf, data + at, n);
		at += n;
		assert_int_equal(lb_seq_pos(s), at);
	}
	/* nothing past the end, and asking does not move it */
	assert_int_equal(lb_seq_read(s, buf, 1), -ENODATA);
	assert_int_equal(lb_seq_pos(s), size);
	lb_seq_close(s);
	close(fd);
	free(buf);
}

static const size_t odd_sizes[] = { 4, 28, 1, 4096, 5u << 20, 3, 65536, (4u << 20) - 1 };

/* Whether this file system takes O_DIRECT at all: if not, the tests of
 * the direct path are skipped (and say so) rather than passed. */
static bool direct_here(void)
{
	int fd = open(path, O_RDONLY), dfd = fd < 0 ? -1 : lb_direct_reopen(fd);

	if (dfd >= 0)
		close(dfd);
	if (fd >= 0)
		close(fd);
	if (dfd < 0)
		print_message("(no O_DIRECT on %s: the direct path is not tested here)\n", path);
	return dfd >= 0;
}

static void test_pieces(void **state)
{
	(void)state;
	read_all(FILE_LEN, odd_sizes, sizeof(odd_sizes) / sizeof(odd_sizes[0]));
	/* (and the wrapper saw the direct reads: it is in the way) */
	if (direct_here())
		assert_true(direct_calls >= 4);
}

static void test_whole_in_one(void **state)
{
	size_t all = FILE_LEN;

	(void)state;
	read_all(FILE_LEN, &all, 1);
}

/* a prefix: the reader stops where it is told, not at the file's end */
static void test_prefix(void **state)
{
	(void)state;
	read_all(FILE_LEN - 5000, odd_sizes, sizeof(odd_sizes) / sizeof(odd_sizes[0]));
}

static void test_refused_direct(void **state)
{
	(void)state;
	if (!direct_here())
		skip();
	/* the alignment refused; O_DIRECT refused for this file (ntfs3 on a
	 * compressed one); an error the cache may not have */
	const int errs[] = { EINVAL, EOPNOTSUPP, EIO };

	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		refuse_direct = errs[i];
		direct_calls = 0;
		read_all(FILE_LEN, odd_sizes, sizeof(odd_sizes) / sizeof(odd_sizes[0]));
		/* one refusal, then never again */
		assert_int_equal(direct_calls, 1);
	}
}

static void test_short_direct_reads(void **state)
{
	(void)state;
	if (!direct_here())
		skip();
	/* aligned short reads, going on direct */
	direct_limit = 8192;
	read_all(FILE_LEN, odd_sizes, sizeof(odd_sizes) / sizeof(odd_sizes[0]));
	assert_true(direct_calls > 3 * 512);
	/* unaligned ones: each block's rest through the cache */
	direct_calls = 0;
	direct_limit = 1000;
	read_all(FILE_LEN, odd_sizes, sizeof(odd_sizes) / sizeof(odd_sizes[0]));
	assert_int_equal(direct_calls, 4);
}

/* told it is longer than it is (truncated since): -ENODATA where it ends,
 * everything before that as it is */
static void test_file_shorter_than_said(void **state)
{
	struct lb_seq *s = NULL;
	uint8_t *buf = malloc(FILE_LEN);
	int fd = open(path, O_RDONLY);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(lb_seq_open(fd, FILE_LEN + 100000, &s), 0);
	assert_int_equal(lb_seq_read(s, buf, FILE_LEN), 0);
	assert_memory_equal(buf, data, FILE_LEN);
	assert_int_equal(lb_seq_read(s, buf, 10), -ENODATA);
	lb_seq_close(s);
	close(fd);
	free(buf);
}

/* closed long before the end: the read-ahead thread stops */
static void test_close_early(void **state)
{
	struct lb_seq *s = NULL;
	uint8_t buf[100];
	int fd = open(path, O_RDONLY);

	(void)state;
	assert_int_equal(lb_seq_open(fd, FILE_LEN, &s), 0);
	assert_int_equal(lb_seq_read(s, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, data, sizeof(buf));
	lb_seq_close(s);
	assert_int_equal(lb_seq_open(fd, 0, &s), 0);
	assert_int_equal(lb_seq_read(s, buf, 1), -ENODATA);
	lb_seq_close(s);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pieces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whole_in_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_direct, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_direct_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_shorter_than_said, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_early, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
