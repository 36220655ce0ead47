// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for lifeboat.conf(5) parsing (src/ops/config.c): every key,
 * repeatable keys in order, comments, blanks and '#' inside a value, and
 * each kind of bad line refused with NAME:LINE. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "ops/ops.h"

static int parse(struct lb_config *c, const char *text)
{
	memset(c, 0, sizeof(*c));
	return lb_config_parse(c, text, strlen(text), "test.conf");
}

static void every_key(void **state)
{
	struct lb_config c;

	(void)state;
	assert_int_equal(parse(&c, "# a comment\n"
				   "\n"
				   "  into = /srv/captures  \n"
				   "keep=7\n"
				   "disk = /dev/sda\n"
				   "disk = /dev/disk/by-id/nvme-Samsung #2\n"
				   "exclude-disk = sdc\n"
				   "data = archive\n"
				   "compress = 19\n"
				   "encrypt = no\n"
				   "key-file = /etc/lifeboat/key\n"
				   "max-age = 1.5\n"
				   "json = yes\n"
				   "\t# indented comment\n"
				   "pre-capture = /usr/local/sbin/flush db\n"
				   "pre-capture = /usr/local/sbin/stop-app\n"
				   "post-capture = /usr/local/sbin/copy-off\n"
				   "hook-timeout = 0\n"
				   "pre-capture-failure = continue\n"
				   "output = /mnt/usb/cap\r\n"),
			 0);
	assert_string_equal(c.into, "/srv/captures");
	assert_true(c.has_keep);
	assert_int_equal(c.keep, 7);
	assert_int_equal(c.n_disks, 2);
	assert_string_equal(c.disks[0], "/dev/sda");
	assert_string_equal(c.disks[1], "/dev/disk/by-id/nvme-Samsung #2");
	assert_int_equal(c.n_exclude, 1);
	assert_string_equal(c.exclude[0], "sdc");
	assert_string_equal(c.data, "archive");
	assert_string_equal(c.compress, "19");
	assert_true(c.has_encrypt);
	assert_false(c.encrypt);
	assert_int_equal(c.n_key_files, 1);
	assert_true(c.has_max_age);
	assert_true(c.max_age > 1.49 && c.max_age < 1.51);
	assert_true(c.has_json && c.json);
	assert_int_equal(c.n_pre, 2);
	assert_string_equal(c.pre[0], "/usr/local/sbin/flush db");
	assert_string_equal(c.pre[1], "/usr/local/sbin/stop-app");
	assert_int_equal(c.n_post, 1);
	assert_true(c.has_hook_timeout);
	assert_int_equal(c.hook_timeout, 0);
	assert_true(c.has_pre_continue && c.pre_continue);
	assert_string_equal(c.output, "/mnt/usb/cap");
	lb_config_clear(&c);
}

static void empty_and_unset(void **state)
{
	struct lb_config c;

	(void)state;
	assert_int_equal(parse(&c, ""), 0);
	assert_null(c.into);
	assert_false(c.has_keep);
	assert_false(c.has_max_age);
	assert_false(c.has_pre_continue);
	assert_int_equal(c.n_pre, 0);
	lb_config_clear(&c);
	/* no newline at the end */
	assert_int_equal(parse(&c, "keep = 3"), 0);
	assert_int_equal(c.keep, 3);
	lb_config_clear(&c);
}

static void refused(const char *text, unsigned line, const char *what)
{
	struct lb_config c;
	char want[64];

	snprintf(want, sizeof(want), "test.conf:%u: ", line);
	assert_int_equal(parse(&c, text), -EINVAL);
	if (strncmp(lb_errmsg(), want, strlen(want)) != 0 || !strstr(lb_errmsg(), what))
		fail_msg("'%s': got '%s', want '%s...%s'", text, lb_errmsg(), want, what);
	lb_config_clear(&c);
}

static void bad_lines(void **state)
{
	(void)state;
	refused("colour = blue\n", 1, "unknown key 'colour'");
	refused("# ok\n\nkeep = 1\nkeep = 2\n", 4, "keep is given twice");
	refused("into = /a\ninto = /b\n", 2, "into is given twice");
	refused("just words\n", 1, "expected 'key = value'");
	refused("= x\n", 1, "no key");
	refused("disk =\n", 1, "disk: no value");
	refused("keep = 0\n", 1, "at least 1");
	refused("keep = -1\n", 1, "whole number");
	refused("keep = 99999999999\n", 1, "whole number");
	refused("hook-timeout = 1.5\n", 1, "whole number");
	refused("data = some\n", 1, "expected none, auto, image or archive");
	refused("compress = 0\n", 1, "expected 1-19 or none");
	refused("compress = 20\n", 1, "expected 1-19 or none");
	refused("max-age = soon\n", 1, "not a number of days");
	refused("max-age = -1\n", 1, "not a number of days");
	refused("max-age = inf\n", 1, "not a number of days");
	refused("max-age = nan\n", 1, "not a number of days");
	refused("max-age = 0x10\n", 1, "not a number of days");
	refused("encrypt = perhaps\n", 1, "not yes or no");
	refused("pre-capture = flush-db\n", 1, "not an absolute path");
	refused("post-capture = ./copy\n", 1, "not an absolute path");
	refused("into = captures\n", 1, "not an absolute path");
	refused("into = /a\x01b\n", 1, "control characters");
	refused("keep = 7  # a week\n", 1, "whole number");
	refused("pre-capture-failure = ignore\n", 1, "expected stop or continue");
}

static void days(void **state)
{
	double d;

	(void)state;
	assert_int_equal(lb_parse_days("7", &d), 0);
	assert_true(d == 7.0);
	assert_int_equal(lb_parse_days("0.00001", &d), 0);
	assert_true(d > 0 && d < 0.0001);
	assert_int_equal(lb_parse_days("0", &d), 0);
	assert_int_equal(lb_parse_days("", &d), -EINVAL);
	assert_int_equal(lb_parse_days(" 1", &d), -EINVAL);
	assert_int_equal(lb_parse_days("+1", &d), -EINVAL);
	assert_int_equal(lb_parse_days("1e400", &d), -EINVAL);
	assert_int_equal(lb_parse_days("1 day", &d), -EINVAL);
}

static void nul_byte(void **state)
{
	struct lb_config c = { 0 };

	(void)state;
	assert_int_equal(lb_config_parse(&c, "keep = 1\0\n", 10, "test.conf"), -EINVAL);
	lb_config_clear(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_key),
		cmocka_unit_test(empty_and_unset),
		cmocka_unit_test(bad_lines),
		cmocka_unit_test(days),
		cmocka_unit_test(nul_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
