// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for kernel module resolution (kmods.c, kindex.c) on a fake
 * modules tree of its own: tiny relocatable objects built here with cc,
 * each exporting a symbol through __ksymtab_strings, needing another's
 * through an undefined one, and carrying .modinfo (aliases, softdeps), as
 * depmod reads a kernel module. depmod -b makes the indexes libkmod reads,
 * or, for a tree that lacks them, kindex.c does in a scratch copy.
 *
 *   lbt_a  needs lbt_b (which needs lbt_c) and lbt_c
 *   lbt_d, lbt_e  alone; lbt_e has the alias lbtest-thing
 *   lbt_g  modinfo softdep pre: lbt_c (the tree's own modules.softdep)
 *   lbt_h  two modinfo softdep lines: pre: lbt_d and pre: lbt_e
 *   lbt_f  built in (modules.builtin)
 * and a modprobe.d of the test's: softdep lbt_a pre: lbt_d post: lbtest-thing.
 *
 * Skipped without cc or depmod. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "rescue/rescue-int.h"

#define KVER "9.9.9-lbtest"

struct stub {
	const char *name;
	const char *needs;	/* a module whose symbol it uses, or NULL */
	const char *needs2;
	const char *modinfo;	/* NUL-separated, as a C string body */
};

static const struct stub stubs[] = {
	{ "lbt_a", "lbt_b", "lbt_c", "alias=lbtest-a" },
	{ "lbt_b", "lbt_c", NULL, "alias=lbtest-b" },
	{ "lbt_c", NULL, NULL, "alias=lbtest-c" },
	{ "lbt_d", NULL, NULL, "alias=lbtest-d" },
	{ "lbt_e", NULL, NULL, "alias=lbtest-thing" },
	{ "lbt_g", NULL, NULL, "softdep=pre: lbt_c" },
	{ "lbt_h", NULL, NULL, "softdep=pre: lbt_d\\0softdep=pre: lbt_e" },
};

static char *top;	/* the test's scratch directory */

static bool have(const char *prog)
{
	_cleanup_free_ char *p = rs_find_program(prog);

	return p != NULL;
}

static void run(char *const argv[])
{
	struct lb_spawn_opts so = { .quiet = true };

	assert_int_equal(lb_spawn(argv, &so), 0);
}

/* DIR/kernel/NAME.ko from stub S, gzip-compressed with GZ. */
static void build_stub(const char *dir, const struct stub *s, bool gz)
{
	_cleanup_free_ char *c = lb_asprintf("%s/%s.c", top, s->name);
	_cleanup_free_ char *ko = lb_asprintf("%s/kernel/%s.ko", dir, s->name);
	_cleanup_free_ char *text = NULL;
	const char *needs[] = { s->needs, s->needs2 };
	char *cc[] = { (char *)"cc", (char *)"-c", (char *)"-o", ko, c, NULL };
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	fprintf(f, "int %s_sym;\n", s->name);
	fprintf(f, "__attribute__((section(\"__ksymtab_strings\"), used)) "
		   "static const char ks[] = \"%s_sym\";\n", s->name);
	fprintf(f, "__attribute__((section(\".modinfo\"), used)) "
		   "static const char mi[] = \"%s\";\n", s->modinfo);
	for (size_t i = 0; i < LB_ARRAY_SIZE(needs); i++)
		if (needs[i])
			fprintf(f, "extern int %s_sym;\nint *use_%s = &%s_sym;\n", needs[i], needs[i],
				needs[i]);
	fclose(f);
	assert_int_equal(lb_write_file(c, text, len, 0644), 0);
	run(cc);
	if (gz) {
		char *gzip[] = { (char *)"gzip", (char *)"-n", ko, NULL };

		run(gzip);
	}
}

/* A modules tree TOP/NAME/lib/modules/KVER; lbt_c gzip-compressed with GZ;
 * with INDEX, depmod's indexes, else a modules.dep written by hand;
 * returns the modules directory. */
static char *make_tree(const char *name, bool gz, bool index)
{
	_cleanup_free_ char *base = lb_asprintf("%s/%s", top, name);
	char *dir = lb_asprintf("%s/lib/modules/%s", base, KVER);
	_cleanup_free_ char *kernel = lb_asprintf("%s/kernel", dir);
	_cleanup_free_ char *builtin = lb_asprintf("%s/modules.builtin", dir);
	const char *b = "kernel/lbt_f.ko\n";

	assert_int_equal(lb_mkdir_p(kernel, 0755), 0);
	for (size_t i = 0; i < LB_ARRAY_SIZE(stubs); i++)
		build_stub(dir, &stubs[i], gz && strcmp(stubs[i].name, "lbt_c") == 0);
	assert_int_equal(lb_write_file(builtin, b, strlen(b), 0644), 0);
	if (!index) {
		/* a hand-made tree: modules.dep as text only */
		_cleanup_free_ char *dep = lb_asprintf("%s/modules.dep", dir);
		_cleanup_free_ char *text = lb_asprintf(
			"kernel/lbt_a.ko: kernel/lbt_b.ko kernel/lbt_c.ko%1$s\n"
			"kernel/lbt_b.ko: kernel/lbt_c.ko%1$s\n"
			"kernel/lbt_c.ko%1$s:\nkernel/lbt_d.ko:\nkernel/lbt_e.ko:\n"
			"kernel/lbt_g.ko:\nkernel/lbt_h.ko:\n", gz ? ".gz" : "");

		assert_int_equal(lb_write_file(dep, text, strlen(text), 0644), 0);
	} else {
		/* depmod may be in /sbin only, off a user's PATH */
		_cleanup_free_ char *prog = rs_find_program("depmod");
		char *depmod[] = { prog, (char *)"-b", base, (char *)KVER, NULL };
		_cleanup_free_ char *bin = lb_asprintf("%s/modules.dep.bin", dir);

		run(depmod);
		assert_int_equal(access(bin, F_OK), 0);
	}
	return dir;
}

static int setup(void **state)
{
	char tmpl[] = "/tmp/lifeboat-test-kmods.XXXXXX";
	_cleanup_free_ char *conf_dir = NULL, *conf = NULL;
	const char *text = "# the test's own modprobe.d\n"
			   "softdep lbt_a pre: lbt_d post: lbtest-thing\n";

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	top = lb_strdup(tmpl);
	conf_dir = lb_asprintf("%s/modprobe.d", top);
	conf = lb_asprintf("%s/test.conf", conf_dir);
	assert_int_equal(lb_mkdir_p(conf_dir, 0755), 0);
	assert_int_equal(lb_write_file(conf, text, strlen(text), 0644), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	lb_rm_rf(top);
	free(top);
	return 0;
}

/* The chosen modules' names, in load order, space separated. */
static char *chosen(const struct rs_kmods *km)
{
	char *s = lb_strdup("");

	for (size_t i = 0; i < rs_kmods_n_chosen(km); i++) {
		char *t = lb_asprintf("%s%s%s", s, i ? " " : "", rs_kmods_chosen(km, i)->name);

		free(s);
		s = t;
	}
	return s;
}

static struct rs_kmods *open_tree(const char *dir)
{
	_cleanup_free_ char *conf_dir = lb_asprintf("%s/modprobe.d", top);
	const char *const paths[] = { conf_dir, NULL };
	struct rs_kmods *km = NULL;

	assert_int_equal(rs_kmods_open(dir, KVER, paths, &km), 0);
	return km;
}

/* What every tree must give, however its indexes came. */
static void check_resolution(const char *dir, const char *c_path)
{
	struct rs_kmods *km = open_tree(dir);
	_cleanup_free_ char *s1 = NULL, *s2 = NULL, *s3 = NULL;
	const struct rs_kmod *a;

	/* a: pre softdep d (modprobe.d), then c before b before a (modules.dep),
	 * then its post softdep, the alias lbtest-thing: e */
	assert_int_equal(rs_kmods_want(km, "lbt_a", false), 1);
	s1 = chosen(km);
	assert_string_equal(s1, "lbt_d lbt_c lbt_b lbt_a lbt_e");
	a = rs_kmods_chosen(km, 3);
	assert_string_equal(a->path, "kernel/lbt_a.ko");
	assert_false(a->boot);
	/* its dependencies as modules.dep lists them: the last loads first */
	assert_int_equal(a->n_deps, 2);
	assert_string_equal(a->deps[0], "kernel/lbt_b.ko");
	assert_string_equal(a->deps[1], c_path);
	assert_string_equal(rs_kmods_chosen(km, 1)->path, c_path);

	/* the tree's own modules.softdep (from modinfo); h's two softdep
	 * lines both count; with BOOT, what is already chosen is marked */
	assert_int_equal(rs_kmods_want(km, "lbt_g", false), 1);
	assert_int_equal(rs_kmods_want(km, "lbt-h", true), 1);
	s2 = chosen(km);
	assert_string_equal(s2, "lbt_d lbt_c lbt_b lbt_a lbt_e lbt_g lbt_h");
	assert_true(rs_kmods_chosen(km, 0)->boot);	/* d, before h */
	assert_true(rs_kmods_chosen(km, 4)->boot);	/* e, before h */
	assert_false(rs_kmods_chosen(km, 1)->boot);	/* c: g's, not h's */

	/* an alias, a built-in module, a glob, nothing */
	assert_int_equal(rs_kmods_want(km, "lbtest-thing", false), 1);
	assert_int_equal(rs_kmods_want(km, "lbt_f", false), 1);
	assert_int_equal(rs_kmods_want(km, "lbt_[bc]", false), 1);
	assert_int_equal(rs_kmods_want(km, "lbt_nosuch", false), 0);
	assert_int_equal(rs_kmods_want(km, "nomatch*", false), 1);
	s3 = chosen(km);
	assert_string_equal(s3, s2);
	assert_true(rs_kmods_has(km, "lbt-a"));
	assert_false(rs_kmods_has(km, "lbt_f"));
	assert_int_equal(rs_kmods_n_notes(km), 0);
	rs_kmods_free(km);
}

static void test_with_indexes(void **state)
{
	_cleanup_free_ char *dir = NULL;
	struct rs_kmods *km;

	(void)state;
	if (!have("cc") || !have("depmod"))
		skip();
	dir = make_tree("indexed", false, true);
	check_resolution(dir, "kernel/lbt_c.ko");
	km = open_tree(dir);
	assert_string_equal(rs_kmods_index_dir(km), dir);	/* no scratch copy */
	rs_kmods_free(km);
}

/* A tree with the modules only: kindex.c has depmod make the indexes in a
 * scratch copy, which goes away with the rs_kmods; a gzip module is read
 * (depmod may lack zlib) and keeps its name. */
static void test_without_indexes(void **state)
{
	_cleanup_free_ char *dir = NULL, *bin = NULL, *scratch = NULL;
	struct rs_kmods *km;

	(void)state;
	if (!have("cc") || !have("depmod") || !have("gzip"))
		skip();
	dir = make_tree("plain", true, false);
	check_resolution(dir, "kernel/lbt_c.ko.gz");
	km = open_tree(dir);
	scratch = lb_strdup(rs_kmods_index_dir(km));
	assert_string_not_equal(scratch, dir);
	assert_int_equal(access(scratch, F_OK), 0);
	rs_kmods_free(km);
	assert_int_not_equal(access(scratch, F_OK), 0);
	bin = lb_asprintf("%s/modules.dep.bin", dir);
	assert_int_not_equal(access(bin, F_OK), 0);	/* the tree is left as it was */
}

/* A softdep that names nothing: a note, not an error. */
static void test_missing_softdep(void **state)
{
	_cleanup_free_ char *dir = NULL, *conf = NULL;
	const char *text = "softdep lbt_d pre: lbt_nowhere\n";
	struct rs_kmods *km;

	(void)state;
	if (!have("cc") || !have("depmod"))
		skip();
	dir = make_tree("notes", false, true);
	conf = lb_asprintf("%s/modprobe.d/zz-missing.conf", top);
	assert_int_equal(lb_write_file(conf, text, strlen(text), 0644), 0);
	km = open_tree(dir);
	assert_int_equal(rs_kmods_want(km, "lbt_d", false), 1);
	assert_int_equal(rs_kmods_n_chosen(km), 1);
	assert_int_equal(rs_kmods_n_notes(km), 1);
	assert_string_equal(rs_kmods_note(km, 0),
			    "kernel module lbt_d: its soft dependency lbt_nowhere is not in " KVER);
	rs_kmods_free(km);
	unlink(conf);
}

/* No modules.dep at all: the error says what to run. */
static void test_no_modules(void **state)
{
	_cleanup_free_ char *dir = lb_asprintf("%s/empty/lib/modules/%s", top, KVER);
	struct rs_kmods *km = NULL;

	(void)state;
	assert_int_equal(lb_mkdir_p(dir, 0755), 0);
	assert_int_equal(rs_kmods_open(dir, KVER, NULL, &km), -ENOENT);
	assert_null(km);
	assert_non_null(strstr(lb_errmsg(), "run depmod " KVER));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_with_indexes),
		cmocka_unit_test(test_without_indexes),
		cmocka_unit_test(test_missing_softdep),
		cmocka_unit_test(test_no_modules),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
