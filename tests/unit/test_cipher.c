// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for the ranges a LUKS ciphertext capture takes (cipher.c):
 * every range rounded out to whole encryption sectors (512 or 4096 bytes:
 * dm-crypt cannot write part of one), cut at the data segment's end,
 * sorted, and those that touch or overlap made one; a range starting past
 * the segment is an error, not a silent cut. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base/base.h"
#include "data/cipher-int.h"

static void expect_ranges(const struct lb_cipher_ranges *rs, const uint64_t (*want)[2], size_t n)
{
	assert_int_equal(rs->n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(rs->v[i].off, want[i][0]);
		assert_int_equal(rs->v[i].len, want[i][1]);
	}
}

static void test_rounded_out_to_4096(void **state)
{
	struct lb_cipher_ranges rs = { .limit = 65536 };
	static const uint64_t want[][2] = { { 0, 4096 }, { 8192, 8192 }, { 49152, 16384 } };

	(void)state;
	/* out of order; one inside a sector, one across the end */
	assert_int_equal(lb_cipher_ranges_add(&rs, 50000, 1000000), 0);
	assert_int_equal(lb_cipher_ranges_add(&rs, 3 * 4096 + 100, 10), 0);
	assert_int_equal(lb_cipher_ranges_add(&rs, 0, 1), 0);
	assert_int_equal(lb_cipher_ranges_add(&rs, 8192, 4096), 0);
	assert_int_equal(lb_cipher_ranges_add(&rs, 9000, 0), 0);	/* (nothing) */
	lb_cipher_ranges_settle(&rs, 4096);
	expect_ranges(&rs, want, LB_ARRAY_SIZE(want));
	free(rs.v);
}

static void test_512_sectors_keep_small_gaps(void **state)
{
	struct lb_cipher_ranges rs = { .limit = 1 << 20 };
	static const uint64_t want[][2] = { { 512, 512 }, { 1536, 1024 }, { 4096, 2048 } };

	(void)state;
	assert_int_equal(lb_cipher_ranges_add(&rs, 1000, 24), 0);
	assert_int_equal(lb_cipher_ranges_add(&rs, 1536, 1), 0);
	assert_int_equal(lb_cipher_ranges_add(&rs, 2047, 2), 0);
	/* overlapping ones become one */
	assert_int_equal(lb_cipher_ranges_add(&rs, 4096, 1024), 0);
	assert_int_equal(lb_cipher_ranges_add(&rs, 4608, 1536), 0);
	lb_cipher_ranges_settle(&rs, 512);
	expect_ranges(&rs, want, LB_ARRAY_SIZE(want));
	free(rs.v);
}

static void test_past_the_segment(void **state)
{
	struct lb_cipher_ranges rs = { .limit = 8192 };

	(void)state;
	assert_int_equal(lb_cipher_ranges_add(&rs, 8192, 1), -ERANGE);
	assert_int_equal(rs.n, 0);
	free(rs.v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rounded_out_to_4096),
		cmocka_unit_test(test_512_sectors_keep_small_gaps),
		cmocka_unit_test(test_past_the_segment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
