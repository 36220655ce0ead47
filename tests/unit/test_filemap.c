// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for a file's allocation map (filemap.c): FIEMAP's extents
 * become data and unwritten ranges, clipped to the size and merged, over as
 * many calls as it takes; a filesystem without FIEMAP gets the SEEK_DATA
 * map; and what FIEMAP calls a hole or unwritten but holds data (in the
 * page cache, SEEK_DATA says) is data, while cached zeros keep their kind.
 * ioctl is wrapped (-Wl,--wrap=ioctl) to play FIEMAP; the files are real,
 * in TMPDIR, so SEEK_DATA and the reads are the kernel's. */
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
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/fiemap.h>
#include <linux/fs.h>

#include <cmocka.h>

#include "base/base.h"
#include "data/data.h"

int __real_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...);

/* the extents the wrapped FIEMAP reports, or its errno when it has none */
#define MAX_FAKE 2048
static struct fiemap_extent fake[MAX_FAKE];
static size_t n_fake;
static int fake_errno;
static bool play;		/* false: the real ioctl */
static unsigned fiemap_calls;

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (play && req == FS_IOC_FIEMAP) {
		struct fiemap *fm = arg;
		uint64_t end = fm->fm_start + fm->fm_length;

		fiemap_calls++;
		if (fake_errno) {
			errno = fake_errno;
			return -1;
		}
		fm->fm_mapped_extents = 0;
		for (size_t i = 0; i < n_fake && fm->fm_mapped_extents < fm->fm_extent_count; i++) {
			const struct fiemap_extent *f = &fake[i];

			if (f->fe_logical + f->fe_length <= fm->fm_start || f->fe_logical >= end)
				continue;
			fm->fm_extents[fm->fm_mapped_extents] = *f;
			if (i == n_fake - 1)
				fm->fm_extents[fm->fm_mapped_extents].fe_flags |= FIEMAP_EXTENT_LAST;
			fm->fm_mapped_extents++;
		}
		return 0;
	}
	return __real_ioctl(fd, req, arg);
}

static void fake_extent(uint64_t off, uint64_t len, uint32_t flags)
{
	assert_true(n_fake < MAX_FAKE);
	fake[n_fake++] = (struct fiemap_extent){ .fe_logical = off, .fe_length = len,
						 .fe_flags = flags };
}

#define KiB 1024ull
#define MiB (1024 * KiB)

static char path[64];
static int fd = -1;

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(path, sizeof(path), "%s/test_filemap.XXXXXX", tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	n_fake = 0;
	fake_errno = 0;
	fiemap_calls = 0;
	play = true;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(fd);
	unlink(path);
	play = false;
	return 0;
}

static void put(uint64_t off, uint64_t len, int byte)
{
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	memset(buf, byte, len);
	assert_int_equal(lb_pwrite_all(fd, buf, len, off), 0);
	free(buf);
}

/* the map has exactly these ranges, in this order */
static void expect(const struct lb_filemap *m, const struct lb_alloc_range *want, size_t n)
{
	assert_int_equal(m->n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(m->r[i].off, want[i].off);
		assert_int_equal(m->r[i].len, want[i].len);
		assert_int_equal(m->r[i].kind, want[i].kind);
	}
}

/* every byte of [off, off + len) is in a range of this kind */
static void covered(const struct lb_filemap *m, uint64_t off, uint64_t len, enum lb_alloc kind)
{
	for (uint64_t at = off; at < off + len;) {
		size_t i;

		for (i = 0; i < m->n; i++)
			if (m->r[i].off <= at && at < m->r[i].off + m->r[i].len)
				break;
		assert_true(i < m->n);
		assert_int_equal(m->r[i].kind, kind);
		at = m->r[i].off + m->r[i].len;
	}
}

static void test_dense(void **state)
{
	struct lb_filemap m;

	(void)state;
	put(0, 3 * MiB + 100, 0);
	/* (the last block reaches past the size) */
	fake_extent(0, 3 * MiB + 4 * KiB, 0);
	assert_int_equal(lb_filemap_read(fd, 3 * MiB + 100, &m), 0);
	expect(&m, (struct lb_alloc_range[]){ { 0, 3 * MiB + 100, LB_ALLOC_DATA } }, 1);
	assert_true(lb_filemap_dense(&m, 3 * MiB + 100));
	lb_filemap_clear(&m);
}

static void test_empty(void **state)
{
	struct lb_filemap m;

	(void)state;
	assert_int_equal(lb_filemap_read(fd, 0, &m), 0);
	assert_int_equal(m.n, 0);
	assert_int_equal(fiemap_calls, 0);
	assert_true(lb_filemap_dense(&m, 0));
}

/* a fallocated file with parts written and a hole: merged, clipped; the
 * cached zeros of the unwritten ranges (read ahead) stay unwritten */
static void test_mixed(void **state)
{
	uint64_t size = 10 * MiB;
	struct lb_filemap m;

	(void)state;
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	put(1 * MiB, 1 * MiB, 0xa5);
	put(2 * MiB, 1 * MiB, 0x5a);
	/* zeros in the page cache, as a read of an unwritten extent leaves */
	put(3 * MiB + 64 * KiB, 64 * KiB, 0);
	fake_extent(0, 1 * MiB, FIEMAP_EXTENT_UNWRITTEN);
	fake_extent(1 * MiB, 1 * MiB, 0);
	fake_extent(2 * MiB, 1 * MiB, FIEMAP_EXTENT_DELALLOC);
	fake_extent(3 * MiB, 2 * MiB, FIEMAP_EXTENT_UNWRITTEN);
	fake_extent(5 * MiB, 1 * MiB, FIEMAP_EXTENT_UNWRITTEN);
	/* 6-8 MiB: a hole; then unwritten past the end */
	fake_extent(8 * MiB, 4 * MiB, FIEMAP_EXTENT_UNWRITTEN);
	assert_int_equal(lb_filemap_read(fd, size, &m), 0);
	expect(&m,
	       (struct lb_alloc_range[]){ { 0, 1 * MiB, LB_ALLOC_UNWRITTEN },
					  { 1 * MiB, 2 * MiB, LB_ALLOC_DATA },
					  { 3 * MiB, 3 * MiB, LB_ALLOC_UNWRITTEN },
					  { 8 * MiB, 2 * MiB, LB_ALLOC_UNWRITTEN } },
	       4);
	assert_false(lb_filemap_dense(&m, size));
	lb_filemap_clear(&m);
}

/* FIEMAP says unwritten, or a hole, where the file holds data (written
 * since it was listed): that is data, never zeros */
static void test_data_in_unwritten_and_hole(void **state)
{
	uint64_t size = 4 * MiB;
	struct lb_filemap m;

	(void)state;
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	put(512 * KiB, 64 * KiB, 0x11);
	put(3 * MiB + 128 * KiB, 4 * KiB, 0x22);
	fake_extent(0, 2 * MiB, FIEMAP_EXTENT_UNWRITTEN);
	/* 2-4 MiB: a hole to FIEMAP */
	assert_int_equal(lb_filemap_read(fd, size, &m), 0);
	covered(&m, 512 * KiB, 64 * KiB, LB_ALLOC_DATA);
	covered(&m, 3 * MiB + 128 * KiB, 4 * KiB, LB_ALLOC_DATA);
	/* what stays unwritten is zeros */
	for (size_t i = 0; i < m.n; i++)
		if (m.r[i].kind == LB_ALLOC_UNWRITTEN)
			assert_true(m.r[i].off + m.r[i].len <= 512 * KiB ||
				    m.r[i].off >= 576 * KiB);
	lb_filemap_clear(&m);
}

/* more extents than one call returns: FIEMAP asked again from where the
 * last answer ended, and alternating kinds kept apart */
static void test_many_extents(void **state)
{
	uint64_t size = 700 * 8 * KiB;
	struct lb_filemap m;

	(void)state;
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	for (unsigned i = 0; i < 700; i++) {
		put(i * 8 * KiB, 4 * KiB, 0x33);
		fake_extent(i * 8 * KiB, 4 * KiB, 0);
		fake_extent(i * 8 * KiB + 4 * KiB, 4 * KiB, FIEMAP_EXTENT_UNWRITTEN);
	}
	assert_int_equal(lb_filemap_read(fd, size, &m), 0);
	assert_true(fiemap_calls > 1);
	assert_int_equal(m.n, 1400);
	for (unsigned i = 0; i < 1400; i++) {
		assert_int_equal(m.r[i].off, i * 4 * KiB);
		assert_int_equal(m.r[i].len, 4 * KiB);
		assert_int_equal(m.r[i].kind, i % 2 ? LB_ALLOC_UNWRITTEN : LB_ALLOC_DATA);
	}
	lb_filemap_clear(&m);
}

/* no FIEMAP: the SEEK_DATA map; the data is data whatever the filesystem
 * says about holes */
static void test_no_fiemap(void **state)
{
	uint64_t size = 8 * MiB;
	struct lb_filemap m;

	(void)state;
	fake_errno = EOPNOTSUPP;
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	put(2 * MiB, 1 * MiB, 0x44);
	assert_int_equal(lb_filemap_read(fd, size, &m), 0);
	covered(&m, 2 * MiB, 1 * MiB, LB_ALLOC_DATA);
	for (size_t i = 0; i < m.n; i++)
		assert_int_equal(m.r[i].kind, LB_ALLOC_DATA);
	lb_filemap_clear(&m);
}

/* the kernel's own FIEMAP, where the filesystem has it and fallocate: a
 * preallocated file read whole (its zeros cached) is still preallocated */
static void test_real_fallocated(void **state)
{
	uint64_t size = 2 * MiB;
	/* (a union: a struct with the flexible array not at its end is a GNU
	 * extension clang refuses) */
	union {
		struct fiemap fm;
		uint8_t bytes[sizeof(struct fiemap) + sizeof(struct fiemap_extent)];
	} probe = { .fm = { .fm_length = ~0ull, .fm_extent_count = 1 } };
	struct lb_filemap m;
	uint8_t *buf;

	(void)state;
	play = false;
	if (fallocate(fd, 0, 0, (off_t)size) < 0 || ioctl(fd, FS_IOC_FIEMAP, &probe) < 0 ||
	    probe.fm.fm_mapped_extents == 0 ||
	    !(probe.fm.fm_extents[0].fe_flags & FIEMAP_EXTENT_UNWRITTEN))
		skip();
	buf = malloc(size);
	assert_non_null(buf);
	assert_int_equal(lb_pread_all(fd, buf, size, 0), 0);
	free(buf);
	assert_int_equal(lb_filemap_read(fd, size, &m), 0);
	expect(&m, (struct lb_alloc_range[]){ { 0, size, LB_ALLOC_UNWRITTEN } }, 1);
	lb_filemap_clear(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dense, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mixed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_in_unwritten_and_hole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_extents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_fiemap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_fallocated, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
