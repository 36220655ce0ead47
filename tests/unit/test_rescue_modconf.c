// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for the image's module manifests (modconf.c): which modules
 * apply (requires, if-exists, if-program), what their lines put into the
 * image tree (dirs, symlink, node, install, files), the notes for what is
 * left out, and the mistakes reported with file and line. No kernel
 * modules, no programs: the tree alone. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "rescue/rescue-int.h"

static char *top;

static int setup(void **state)
{
	char tmpl[] = "/tmp/lifeboat-test-modconf.XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	top = lb_strdup(tmpl);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	lb_rm_rf(top);
	free(top);
	return 0;
}

/* DIR/NAME/module.conf with TEXT (and the module's directory). */
static void module(const char *dir, const char *name, const char *text)
{
	_cleanup_free_ char *d = lb_asprintf("%s/%s", dir, name);
	_cleanup_free_ char *conf = lb_asprintf("%s/module.conf", d);

	assert_int_equal(lb_mkdir_p(d, 0755), 0);
	assert_int_equal(lb_write_file(conf, text, strlen(text), 0644), 0);
}

static char *fresh_dir(const char *name)
{
	char *d = lb_asprintf("%s/%s", top, name);

	assert_int_equal(lb_mkdir_p(d, 0755), 0);
	return d;
}

static void test_install(void **state)
{
	_cleanup_free_ char *dir = fresh_dir("good"), *hello = lb_asprintf("%s/10base/hello", dir);
	struct lb_rescue_opts o = { 0 };
	struct lb_rescue_stats st = { 0 };
	struct rs_image img = { .o = &o, .stats = &st };
	struct rs_modset *set = NULL;
	const struct rs_entry *e;

	(void)state;
	module(dir, "10base", "# the base\ndescription: the base: dirs and links\n"
			      "dirs: /usr/bin /usr/lib\nsymlink: /bin usr/bin\n"
			      "node: /dev/console c 5 1 0600\ninstall: hello /etc/hello 0600\n"
			      "files: /nonexistent/lifeboat-file?\n");
	assert_int_equal(lb_write_file(hello, "hi\n", 3, 0644), 0);
	module(dir, "20needs", "requires: base\nif-exists: /\ndirs: /root\n");
	module(dir, "30absent", "if-exists: /nonexistent/lifeboat\ndirs: /absent\n");
	module(dir, "40chain", "requires: 30absent\ndirs: /chain\n");
	module(dir, "50noprog", "if-program: lifeboat-no-such-program\n");
	module(dir, "notamodule", "dirs: /nope\n");	/* no number: not read */
	assert_int_equal(rs_modset_load(dir, &set), 0);
	assert_int_equal(rs_modset_install(set, &img), 0);

	assert_int_equal(st.n_applied, 2);
	assert_string_equal(st.applied[0], "10base");
	assert_string_equal(st.applied[1], "20needs");
	assert_int_equal(st.n_notes, 4);
	assert_non_null(strstr(st.notes[0], "10base/module.conf:7: no /nonexistent/lifeboat-file here"));
	assert_string_equal(st.notes[1], "module 30absent left out: /nonexistent/lifeboat does not exist here");
	assert_string_equal(st.notes[2], "module 40chain left out: it requires 30absent, which does not apply");
	assert_string_equal(st.notes[3], "module 50noprog left out: no program lifeboat-no-such-program here");

	e = rs_find_entry(&img, "bin");
	assert_non_null(e);
	assert_int_equal(e->kind, RS_LINK);
	assert_string_equal(e->target, "usr/bin");
	e = rs_find_entry(&img, "dev/console");
	assert_non_null(e);
	assert_int_equal(e->kind, RS_NODE);
	assert_int_equal(e->node_type, 'c');
	assert_int_equal(e->node_major, 5);
	assert_int_equal(e->node_minor, 1);
	assert_int_equal(e->perm, 0600);
	e = rs_find_entry(&img, "etc/hello");
	assert_non_null(e);
	assert_int_equal(e->len, 3);
	assert_memory_equal(e->data, "hi\n", 3);
	assert_int_equal(e->perm, 0600);
	assert_non_null(rs_find_entry(&img, "root"));
	assert_null(rs_find_entry(&img, "absent"));
	assert_null(rs_find_entry(&img, "chain"));
	assert_null(rs_find_entry(&img, "nope"));

	rs_modset_free(set);
	rs_image_clear(&img);
	lb_rescue_stats_clear(&st);
}

/* MODULES (one module.conf, in 10x/) fails to load or install with an
 * error holding WANT. */
static void fails(const char *name, const char *text, int err, const char *want)
{
	_cleanup_free_ char *dir = fresh_dir(name);
	struct lb_rescue_opts o = { 0 };
	struct lb_rescue_stats st = { 0 };
	struct rs_image img = { .o = &o, .stats = &st };
	struct rs_modset *set = NULL;
	int r;

	module(dir, "10x", text);
	r = rs_modset_load(dir, &set);
	if (r >= 0)
		r = rs_modset_install(set, &img);
	assert_int_equal(r, err);
	if (!strstr(lb_errmsg(), want))
		fail_msg("%s: expected '%s' in '%s'", name, want, lb_errmsg());
	rs_modset_free(set);
	rs_image_clear(&img);
	lb_rescue_stats_clear(&st);
}

static void test_mistakes(void **state)
{
	(void)state;
	fails("unknown", "description: x\nprogramz: ls\n", -EINVAL, "10x/module.conf:2: unknown key 'programz'");
	fails("nocolon", "dirs /usr\n", -EINVAL, "10x/module.conf:1: expected 'key: value'");
	fails("requires", "requires: nosuch\n", -ENOENT, "module.conf:1: requires nosuch, which is not a module");
	fails("loop", "requires: x\n", -ELOOP, "requires itself");
	fails("symlink", "symlink: /a\n", -EINVAL, "module.conf:1: expected 'symlink: LINK TARGET'");
	fails("node", "node: /dev/x q 1 2 0600\n", -EINVAL, "expected 'node: PATH c|b MAJOR MINOR MODE'");
	fails("install", "install: ../passwd /etc/passwd\n", -EINVAL, "expected 'install: SRC DEST [MODE]'");
	fails("icu", "icu-data: half\n", -EINVAL, "expected 'icu-data: empty' or 'icu-data: full'");
	fails("program", "programs: lifeboat-no-such-program\n", -ENOENT, "no program lifeboat-no-such-program here");
	fails("empty", "# nothing\n", 0, "");
}

static void test_no_modules(void **state)
{
	_cleanup_free_ char *dir = fresh_dir("none");
	struct rs_modset *set = NULL;

	(void)state;
	assert_int_equal(rs_modset_load(dir, &set), -ENOENT);
	assert_non_null(strstr(lb_errmsg(), "no modules (NNname/module.conf)"));
	assert_null(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_install),
		cmocka_unit_test(test_mistakes),
		cmocka_unit_test(test_no_modules),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
