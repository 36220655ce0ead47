// SPDX-License-Identifier: GPL-3.0-or-later
/* Directories held by their maker (base/held.c): what lb_held_mkdir makes
 * is named PREFIX + 8 hex digits and cannot be taken while its maker's fd
 * is open (flock: another open of it, in this process too, is refused), and
 * can once it is closed; a directory gone cannot be taken; the tags. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"

static void test_tags(void **state)
{
	static const char *const not_tags[] = { "", "0123abc", "0123abcde", "0123ABCD", "0123abcg",
						"XXXXXX", "Ab3xYz", " 123abcd", "0123abc." };

	(void)state;
	assert_true(lb_held_is_tag("0123abcd"));
	assert_true(lb_held_is_tag("ffffffff"));
	for (size_t i = 0; i < LB_ARRAY_SIZE(not_tags); i++)
		if (lb_held_is_tag(not_tags[i]))
			fail_msg("'%s' taken for a tag", not_tags[i]);
}

static void test_held(void **state)
{
	char tmpl[] = "/tmp/lifeboat-unit-held.XXXXXX";
	_cleanup_free_ char *prefix = NULL, *path = NULL, *path2 = NULL;
	const char *name;
	int dfd, fd = -1, fd2 = -1, lockfd = -1;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	prefix = lb_asprintf("%s/.x.partial.%d.", tmpl, (int)getpid());
	assert_int_equal(lb_held_mkdir(prefix, 0700, &path, &fd), 0);
	assert_true(fd >= 0);
	assert_int_equal(strncmp(path, prefix, strlen(prefix)), 0);
	assert_true(lb_held_is_tag(path + strlen(prefix)));
	/* a second one: another name */
	assert_int_equal(lb_held_mkdir(prefix, 0700, &path2, &fd2), 0);
	assert_string_not_equal(path, path2);
	name = strrchr(path, '/') + 1;
	dfd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	/* held: not taken, not even by its maker through another open */
	assert_int_equal(lb_held_take(dfd, name, &lockfd), 0);
	assert_int_equal(lockfd, -1);
	/* its maker gone (its fd closed): taken, and held by the taker */
	close(fd);
	assert_int_equal(lb_held_take(dfd, name, &lockfd), 1);
	assert_true(lockfd >= 0);
	assert_int_equal(lb_held_take(dfd, name, &fd), 0);
	assert_int_equal(unlinkat(dfd, name, AT_REMOVEDIR), 0);
	close(lockfd);
	assert_int_equal(lb_held_take(dfd, name, &lockfd), -ENOENT);
	close(fd2);
	assert_int_equal(rmdir(path2), 0);
	close(dfd);
	assert_int_equal(rmdir(tmpl), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_held),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
