// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for the data container writer (datafile-write.c) when the file it
 * writes to takes less than it is given: short writes (as FUSE, SMB or NFS
 * targets make them) at every kind of place, and a write that makes no
 * progress at all. pwritev is wrapped (-Wl,--wrap=pwritev) so each test
 * decides what a call writes. The file must still read back whole, with
 * the SHA-256 the writer reported; no progress must be an error, not a
 * hang. And the reader given files no writer made: chunks larger than the
 * writer's, an extent list whose lengths wrap, a size not as recorded. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "model/model.h"
#include "data/data.h"
#include "data/datafile.h"

ssize_t __real_pwritev(int fd, const struct iovec *iov, int cnt, off_t off);
ssize_t __wrap_pwritev(int fd, const struct iovec *iov, int cnt, off_t off);

/* how the wrapped pwritev behaves: the first `short_calls` calls write at
 * most `limit` bytes; with `stall`, every call writes nothing */
static int short_calls;
static size_t limit;
static int stall;

ssize_t __wrap_pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	struct iovec cut[8];
	size_t left = limit;
	int n = 0;

	if (stall)
		return 0;
	if (short_calls <= 0 || cnt > 8)
		return __real_pwritev(fd, iov, cnt, off);
	short_calls--;
	for (int i = 0; i < cnt && left; i++) {
		cut[n] = iov[i];
		if (cut[n].iov_len > left)
			cut[n].iov_len = left;
		left -= cut[n].iov_len;
		n++;
	}
	return __real_pwritev(fd, cut, n, off);
}

#define DATA_LEN (3 * LB_CHUNK_SIZE + 12345)

static uint8_t *pattern(void)
{
	uint8_t *p = malloc(DATA_LEN);

	assert_non_null(p);
	for (size_t i = 0; i < DATA_LEN; i++)
		p[i] = (uint8_t)(i * 7 + i / 251);
	return p;
}

/* Writes the pattern as a stream (plain when level is 0), reads it back:
 * same bytes, the reported SHA-256 is the file's and the reader's. */
static void round_trip(int level)
{
	char path[] = "/tmp/lifeboat-unit-XXXXXX";
	int fd = mkstemp(path);
	uint8_t *data = pattern(), *back = malloc(DATA_LEN);
	char sum_w[65], sum_f[65], sum_r[65];
	struct lb_dw *w = NULL;
	struct lb_dr *r = NULL;
	struct lb_chunk ch;
	uint64_t size = 0, got = 0;
	int e;

	assert_true(fd >= 0);
	assert_non_null(back);
	unlink(path);
	alarm(60);	/* a hang fails the test instead of the suite's timeout */
	assert_int_equal(lb_dw_open(fd, LB_CONTAINER_STREAM, 0, 0, level, &w), 0);
	/* in odd pieces, so chunks fill across calls */
	for (size_t off = 0; off < DATA_LEN;) {
		size_t n = DATA_LEN - off < 777777 ? DATA_LEN - off : 777777;

		assert_int_equal(lb_dw_write(w, data + off, n), 0);
		off += n;
	}
	assert_int_equal(lb_dw_close(w, sum_w, &size), 0);
	assert_int_equal((uint64_t)lseek(fd, 0, SEEK_END), size);
	assert_int_equal(lb_sha256_fd(fd, 0, size, sum_f), 0);
	assert_string_equal(sum_w, sum_f);

	assert_int_equal(lb_dr_open(fd, "unit", &r), 0);
	while ((e = lb_dr_next(r, &ch)) > 0) {
		assert_true(got + ch.len <= DATA_LEN);
		memcpy(back + got, ch.data, ch.len);
		got += ch.len;
	}
	assert_int_equal(e, 0);
	/* asked again past the end: still the end, not damage */
	assert_int_equal(lb_dr_next(r, &ch), 0);
	assert_int_equal(lb_dr_finish(r, sum_r), 0);
	lb_dr_close(r);
	assert_string_equal(sum_r, sum_w);
	assert_int_equal(got, DATA_LEN);
	assert_memory_equal(back, data, DATA_LEN);
	alarm(0);
	free(data);
	free(back);
	close(fd);
}

static void test_whole_writes(void **state)
{
	(void)state;
	short_calls = 0;
	round_trip(0);
	round_trip(1);
}

/* cut inside the chunk header (the first iovec) */
static void test_short_in_header(void **state)
{
	(void)state;
	limit = 7;
	short_calls = 5;
	round_trip(0);
	short_calls = 5;
	round_trip(1);
}

/* cut inside the data, past the header */
static void test_short_in_data(void **state)
{
	(void)state;
	limit = 1000;
	short_calls = 3;
	round_trip(0);
	limit = 123457;
	short_calls = 40;
	round_trip(0);
	short_calls = 40;
	round_trip(1);
}

/* cut exactly where the header ends */
static void test_short_at_boundary(void **state)
{
	(void)state;
	limit = 32 + 0;	/* a stream chunk's frame: 32 bytes, no extents */
	short_calls = 4;
	round_trip(0);
}

/* a file that takes nothing: an error, not a spin */
static void test_no_progress(void **state)
{
	char path[] = "/tmp/lifeboat-unit-XXXXXX";
	int fd = mkstemp(path);
	uint8_t *data = pattern();
	struct lb_dw *w = NULL;
	char sum[65];
	uint64_t size;
	int e = 0;

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	short_calls = 0;
	assert_int_equal(lb_dw_open(fd, LB_CONTAINER_STREAM, 0, 0, 0, &w), 0);
	stall = 1;
	alarm(60);	/* a hang fails the test instead of the suite's timeout */
	for (size_t off = 0; e >= 0 && off < DATA_LEN; off += LB_CHUNK_SIZE)
		e = lb_dw_write(w, data + off,
				DATA_LEN - off < LB_CHUNK_SIZE ? DATA_LEN - off : LB_CHUNK_SIZE);
	if (e >= 0)
		e = lb_dw_close(w, sum, &size);
	else
		lb_dw_abort(w);
	alarm(0);
	stall = 0;
	assert_true(e < 0);
	assert_non_null(strstr(lb_errmsg(), "no progress"));
	free(data);
	close(fd);
}

/* A data file's header (the layout in datafile-format.c), then what follows. */
static int crafted(uint32_t kind, uint64_t vol_size, uint32_t chunk_size, const void *rest,
		   size_t rest_len)
{
	char path[] = "/tmp/lifeboat-unit-XXXXXX";
	int fd = mkstemp(path);
	uint8_t hdr[64] = "LBDATA1\n";

	assert_true(fd >= 0);
	unlink(path);
	hdr[8] = 1;
	memcpy(hdr + 12, &(uint32_t){ htole32(kind) }, 4);
	memcpy(hdr + 16, &(uint64_t){ htole64(vol_size) }, 8);
	memcpy(hdr + 24, &(uint32_t){ htole32(chunk_size) }, 4);
	assert_int_equal(lb_pwrite_all(fd, hdr, sizeof(hdr), 0), 0);
	if (rest_len)
		assert_int_equal(lb_pwrite_all(fd, rest, rest_len, sizeof(hdr)), 0);
	return fd;
}

/* Chunks larger than the writer makes are refused at the header: every
 * pipeline buffer is a chunk (64 MiB chunks took 2.2 GB). */
static void test_reader_chunk_size_bound(void **state)
{
	struct lb_dr *r = NULL;
	int fd;

	(void)state;
	fd = crafted(LB_CONTAINER_STREAM, 0, 64u << 20, NULL, 0);
	assert_true(lb_dr_open(fd, "big-chunks", &r) < 0);
	assert_null(r);
	assert_non_null(strstr(lb_errmsg(), "big-chunks: data file header is damaged"));
	close(fd);
	fd = crafted(LB_CONTAINER_STREAM, 0, LB_CHUNK_SIZE + 1, NULL, 0);
	assert_true(lb_dr_open(fd, "big-chunks", &r) < 0);
	close(fd);
}

/* Two extents whose lengths add up, modulo 2^64, to the chunk's length */
static void test_reader_extent_sum_wraps(void **state)
{
	uint8_t ch[32 + 32] = "LBCK";
	uint64_t v;
	int fd;

	(void)state;
	ch[4] = 2;			/* extents */
	ch[16] = 16;			/* raw length */
	ch[20] = 16;			/* stored length */
	v = htole64(UINT64_MAX);	/* (0, 2^64 - 1) */
	memcpy(ch + 32 + 8, &v, 8);
	v = htole64(17);		/* (0, 17) */
	memcpy(ch + 48 + 8, &v, 8);
	fd = crafted(LB_CONTAINER_IMAGE, UINT64_MAX, LB_CHUNK_SIZE, ch, sizeof(ch));
	assert_true(lb_data_check_framing(fd, "wrapping", NULL) < 0);
	assert_non_null(strstr(lb_errmsg(), "wrapping: chunk 0 (file offset 64) has a damaged "
					    "extent list"));
	close(fd);
}

/* verify holds a sound data file to the size the manifest records */
static void test_verify_recorded_size(void **state)
{
	char path[] = "/tmp/lifeboat-unit-XXXXXX";
	int fd = mkstemp(path);
	struct lb_artifact a = { .file = (char *)"x" };
	struct lb_dw *w = NULL;
	char sum[65];
	uint64_t size = 0, bytes = 0;

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	short_calls = 0;
	assert_int_equal(lb_dw_open(fd, LB_CONTAINER_STREAM, 0, 0, 0, &w), 0);
	assert_int_equal(lb_dw_write(w, "lifeboat", 8), 0);
	assert_int_equal(lb_dw_close(w, sum, &size), 0);
	a.sha256 = sum;
	a.size = size;
	assert_int_equal(lb_data_verify_file(fd, "sized", &a, &bytes), 0);
	assert_int_equal(bytes, 8);
	a.size = size + 1;
	assert_true(lb_data_verify_file(fd, "sized", &a, &bytes) < 0);
	assert_non_null(strstr(lb_errmsg(), "the manifest says"));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_writes),
		cmocka_unit_test(test_short_in_header),
		cmocka_unit_test(test_short_in_data),
		cmocka_unit_test(test_short_at_boundary),
		cmocka_unit_test(test_no_progress),
		cmocka_unit_test(test_reader_chunk_size_bound),
		cmocka_unit_test(test_reader_extent_sum_wraps),
		cmocka_unit_test(test_verify_recorded_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
