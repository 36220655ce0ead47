// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for the process-spawn helper (spawn.c): exit statuses, a
 * missing program, a signal, stdout captured (with and without stderr),
 * stdin from a file and from a fd, arguments passed as they are (no
 * shell), lb_run's contract. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"

static void test_status(void **state)
{
	char *t[] = { (char *)"true", NULL };
	char *f[] = { (char *)"false", NULL };
	char *sh[] = { (char *)"sh", (char *)"-c", (char *)"exit 7", NULL };
	char *none[] = { (char *)"lifeboat-no-such-program", NULL };
	char *kill[] = { (char *)"sh", (char *)"-c", (char *)"kill -KILL $$", NULL };
	int r;

	(void)state;
	assert_int_equal(lb_spawn(t, NULL), 0);
	assert_int_equal(lb_spawn(f, NULL), 1);
	assert_int_equal(lb_spawn(sh, NULL), 7);
	/* glibc's posix_spawn says when exec failed; where it runs without
	 * vfork semantics (valgrind), the child exits 127 as a shell would */
	r = lb_spawn(none, NULL);
	assert_true(r == -ENOENT || r == 127);
	assert_int_equal(lb_spawn(kill, NULL), -EINTR);
	assert_non_null(strstr(lb_errmsg(), "killed by signal 9"));
	assert_int_equal(lb_run(t, true), 0);
	assert_int_equal(lb_run(none, true), -ENOENT);
	assert_non_null(strstr(lb_errmsg(), "could not be run (is it installed?)"));
}

static void test_capture(void **state)
{
	/* an argument with spaces, quotes and $: no shell sees it */
	char *echo[] = { (char *)"printf", (char *)"%s|", (char *)"a b", (char *)"'$HOME'", NULL };
	char *both[] = { (char *)"sh", (char *)"-c", (char *)"echo out; echo err >&2", NULL };
	char *out = NULL;
	size_t len = 0;
	struct lb_spawn_opts o = { .ret_out = &out, .ret_out_len = &len };

	(void)state;
	assert_int_equal(lb_spawn(echo, &o), 0);
	assert_string_equal(out, "a b|'$HOME'|");
	assert_int_equal(len, strlen(out));
	free(out);
	out = NULL;
	o.quiet = true;	/* stderr to /dev/null, stdout still captured */
	assert_int_equal(lb_spawn(both, &o), 0);
	assert_string_equal(out, "out\n");
	free(out);
	out = NULL;
	o.also_stderr = true;
	assert_int_equal(lb_spawn(both, &o), 0);
	assert_string_equal(out, "out\nerr\n");
	free(out);
}

static void test_stdin(void **state)
{
	char path[] = "/tmp/lifeboat-test-spawn.XXXXXX";
	char *cat[] = { (char *)"cat", NULL };
	char *out = NULL;
	struct lb_spawn_opts o = { .ret_out = &out };
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(lb_write_file(path, "from a file\n", 12, 0600), 0);
	o.stdin_path = path;
	assert_int_equal(lb_spawn(cat, &o), 0);
	assert_string_equal(out, "from a file\n");
	free(out);
	out = NULL;
	o.stdin_path = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	o.stdin_fd = fd;
	assert_int_equal(lb_spawn(cat, &o), 0);
	assert_string_equal(out, "from a file\n");
	close(fd);
	free(out);
	out = NULL;
	o.stdin_fd = -1;	/* /dev/null */
	assert_int_equal(lb_spawn(cat, &o), 0);
	assert_string_equal(out, "");
	free(out);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_capture),
		cmocka_unit_test(test_stdin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
