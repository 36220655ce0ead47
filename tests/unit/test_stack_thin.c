// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for the thin pools' restore (src/restore/stack-thin.c) that
 * need no device: the metadata text whose transaction ids are all 0, with
 * which each pool is first activated alone (its fresh kernel metadata has
 * transaction id 0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "restore/stack.h"

static const char recorded[] =
	"tvg {\n"
	"\tlogical_volumes {\n"
	"\t\tpool {\n"
	"\t\t\tsegment1 {\n"
	"\t\t\t\ttype = \"thin-pool\"\n"
	"\t\t\t\ttransaction_id = 3\n"
	"\t\t\t\tchunk_size = 512\t# 256 Kilobytes\n"
	"\t\t\t}\n"
	"\t\t}\n"
	"\t\tdata {\n"
	"\t\t\tsegment1 {\n"
	"\t\t\t\ttype = \"thin\"\n"
	"\t\t\t\ttransaction_id = 12345678901\n"
	"\t\t\t\tdevice_id = 1\n"
	"\t\t\t\tdescription = \"transaction_id = 7\"\n"
	"\t\t\t}\n"
	"\t\t}\n"
	"\t}\n"
	"}\n"
	"  transaction_id = 9";

static const char expected[] =
	"tvg {\n"
	"\tlogical_volumes {\n"
	"\t\tpool {\n"
	"\t\t\tsegment1 {\n"
	"\t\t\t\ttype = \"thin-pool\"\n"
	"\t\t\t\ttransaction_id = 0\n"
	"\t\t\t\tchunk_size = 512\t# 256 Kilobytes\n"
	"\t\t\t}\n"
	"\t\t}\n"
	"\t\tdata {\n"
	"\t\t\tsegment1 {\n"
	"\t\t\t\ttype = \"thin\"\n"
	"\t\t\t\ttransaction_id = 0\n"
	"\t\t\t\tdevice_id = 1\n"
	"\t\t\t\tdescription = \"transaction_id = 7\"\n"
	"\t\t\t}\n"
	"\t\t}\n"
	"\t}\n"
	"}\n"
	"  transaction_id = 0";

/* every transaction_id line, and only those, says 0; the rest byte for
 * byte (a value that merely contains the words is left alone) */
static void test_transactions_zeroed(void **state)
{
	size_t n = 0;
	_cleanup_free_ char *out = lb_thin_zero_transactions(recorded, strlen(recorded), &n);

	(void)state;
	assert_int_equal(n, strlen(expected));
	assert_string_equal(out, expected);
}

/* nothing to change: the same text; an empty text stays empty */
static void test_nothing_to_zero(void **state)
{
	static const char plain[] = "vg {\n\tseqno = 4\n\ttransaction_id =\n}\n";
	size_t n = 1;
	_cleanup_free_ char *out = lb_thin_zero_transactions(plain, strlen(plain), &n);
	_cleanup_free_ char *empty = NULL;

	(void)state;
	assert_int_equal(n, strlen(plain));
	assert_string_equal(out, plain);
	empty = lb_thin_zero_transactions("", 0, &n);
	assert_int_equal(n, 0);
	assert_string_equal(empty, "");
}

/* "transaction_id = " with no number (a hostile metadata text: lvm's lexer
 * takes such lines inside a quoted description) is left as it is: the
 * text never grows (it overflowed the buffer, ASan showed) */
static void test_empty_values_kept(void **state)
{
	static const char hostile[] = "d = \"\ntransaction_id = \ntransaction_id = \n"
				      "transaction_id = \n\"\n  transaction_id = 12\n";
	static const char want[] = "d = \"\ntransaction_id = \ntransaction_id = \n"
				   "transaction_id = \n\"\n  transaction_id = 0\n";
	size_t n = 0;
	_cleanup_free_ char *out = lb_thin_zero_transactions(hostile, strlen(hostile), &n);

	(void)state;
	assert_int_equal(n, strlen(want));
	assert_string_equal(out, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transactions_zeroed),
		cmocka_unit_test(test_nothing_to_zero),
		cmocka_unit_test(test_empty_values_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
