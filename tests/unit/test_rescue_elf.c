// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for the ELF walk (elfdeps.c, ldcache.c, install.c, tree.c):
 * what /bin/ls needs (its interpreter and DT_NEEDED, read with libelf),
 * each found where the dynamic loader finds it (compared with the loader's
 * own answer, ld.so --list), and the walk that puts a program with all
 * it loads into an image tree, through the image's merged-/usr links. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <elf.h>

#include "base/base.h"
#include "rescue/rescue-int.h"

#define PROG "/bin/ls"

static void test_read(void **state)
{
	struct rs_elf_info ei;
	bool libc = false;

	(void)state;
	if (access(PROG, X_OK) < 0)
		skip();
	assert_int_equal(rs_elf_read(PROG, &ei), 0);
	assert_true(ei.cls == ELFCLASS64 || ei.cls == ELFCLASS32);
	assert_non_null(ei.interp);
	assert_int_equal(ei.interp[0], '/');
	assert_true(ei.n_needed > 0);
	for (size_t i = 0; i < ei.n_needed; i++)
		libc = libc || strcmp(ei.needed[i], "libc.so.6") == 0;
	assert_true(libc);
	assert_true(rs_elf_matches(ei.interp, ei.cls, ei.machine));
	assert_false(rs_elf_matches(ei.interp, ei.cls == ELFCLASS64 ? ELFCLASS32 : ELFCLASS64, ei.machine));
	rs_elf_info_clear(&ei);
}

/* Not ELF: a script, an empty file, text. */
static void test_not_elf(void **state)
{
	char path[] = "/tmp/lifeboat-test-elf.XXXXXX";
	const char *text = "#!/bin/sh\necho hello\n";
	struct rs_elf_info ei;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(rs_elf_read(path, &ei), 0);
	assert_int_equal(ei.cls, 0);
	assert_int_equal(lb_write_file(path, text, strlen(text), 0644), 0);
	assert_int_equal(rs_elf_read(path, &ei), 0);
	assert_int_equal(ei.cls, 0);
	assert_null(ei.interp);
	assert_false(rs_elf_matches(path, ELFCLASS64, EM_X86_64));
	unlink(path);
	assert_true(rs_elf_read(path, &ei) < 0);
}

/* The loader's own answer for PROG's library NAME: ld.so --list. */
static char *loader_says(const char *interp, const char *name)
{
	char *argv[] = { (char *)interp, (char *)"--list", (char *)PROG, NULL };
	_cleanup_free_ char *out = NULL;
	struct lb_spawn_opts so = { .ret_out = &out };
	char *save = NULL;

	if (lb_spawn(argv, &so) != 0)
		return NULL;
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char lib[256], arrow[8], path[1024];

		if (sscanf(l, " %255s %7s %1023s", lib, arrow, path) == 3 && strcmp(lib, name) == 0 &&
		    strcmp(arrow, "=>") == 0)
			return lb_strdup(path);
	}
	return NULL;
}

static void test_find_libraries(void **state)
{
	struct rs_ldcache *cache = NULL;
	struct rs_elf_info ei;

	(void)state;
	if (access(PROG, X_OK) < 0)
		skip();
	assert_int_equal(rs_elf_read(PROG, &ei), 0);
	for (size_t i = 0; i < ei.n_needed; i++) {
		_cleanup_free_ char *lib = rs_find_library(&cache, ei.needed[i], &ei, PROG);
		_cleanup_free_ char *real = NULL, *want = loader_says(ei.interp, ei.needed[i]);
		_cleanup_free_ char *want_real = NULL;

		assert_non_null(lib);
		assert_true(rs_elf_matches(lib, ei.cls, ei.machine));
		if (!want)
			continue;
		/* the same file the loader maps (it may name it through
		 * another directory of a merged /usr) */
		real = realpath(lib, NULL);
		want_real = realpath(want, NULL);
		assert_non_null(real);
		assert_non_null(want_real);
		assert_string_equal(real, want_real);
	}
	assert_null(rs_find_library(&cache, "libno-such-library.so.9", &ei, PROG));
	rs_elf_info_clear(&ei);
	rs_ldcache_free(cache);
}

/* DT_RUNPATH with $ORIGIN: a library beside the program wins. */
static void test_origin(void **state)
{
	char dir[] = "/tmp/lifeboat-test-elf.XXXXXX";
	struct rs_elf_info ei = { 0 };
	struct rs_ldcache *cache = NULL;
	_cleanup_free_ char *prog = NULL, *lib = NULL, *found = NULL, *libdir = NULL;
	char *cp[] = { (char *)"cp", NULL, NULL, NULL };

	(void)state;
	if (access(PROG, X_OK) < 0)
		skip();
	assert_non_null(mkdtemp(dir));
	assert_int_equal(rs_elf_read(PROG, &ei), 0);
	prog = lb_asprintf("%s/prog", dir);
	libdir = lb_asprintf("%s/lib", dir);
	lib = lb_asprintf("%s/lib/libc.so.6", dir);
	assert_int_equal(lb_mkdir_p(libdir, 0755), 0);
	cp[1] = ei.interp;	/* any ELF file of the right class will do */
	cp[2] = lib;
	assert_int_equal(lb_run(cp, true), 0);
	free(ei.runpath);
	ei.runpath = lb_strdup("$ORIGIN/lib");
	found = rs_find_library(&cache, "libc.so.6", &ei, prog);
	assert_non_null(found);
	assert_string_equal(found, lib);
	rs_elf_info_clear(&ei);
	rs_ldcache_free(cache);
	lb_rm_rf(dir);
}

/* /bin/ls with everything it loads into a tree with merged-/usr links:
 * it lands in usr/bin, its libraries and interpreter in usr/lib... */
static void test_install(void **state)
{
	struct lb_rescue_opts o = { 0 };
	struct lb_rescue_stats st = { 0 };
	struct rs_image img = { .o = &o, .stats = &st };
	struct rs_elf_info ei;
	const struct rs_entry *e;

	(void)state;
	if (access(PROG, X_OK) < 0)
		skip();
	assert_int_equal(rs_add_dir(&img, "/usr/bin"), 0);
	assert_int_equal(rs_add_dir(&img, "/usr/lib"), 0);
	assert_int_equal(rs_add_dir(&img, "/usr/lib64"), 0);
	assert_int_equal(rs_add_link(&img, "/bin", "usr/bin", false), 0);
	assert_int_equal(rs_add_link(&img, "/lib", "usr/lib", false), 0);
	assert_int_equal(rs_add_link(&img, "/lib64", "usr/lib64", false), 0);
	assert_int_equal(rs_install_host_path(&img, PROG, NULL, true, 0), 0);
	e = rs_find_entry(&img, "usr/bin/ls");
	assert_non_null(e);
	assert_int_equal(e->kind, RS_FILE);
	assert_true(e->elf_done);
	assert_null(rs_find_entry(&img, "bin/ls"));	/* through the link */

	/* every library the loader would map, and the loader itself */
	assert_int_equal(rs_elf_read(PROG, &ei), 0);
	assert_true(st.n_libs >= ei.n_needed);
	for (size_t i = 0; i < ei.n_needed; i++) {
		bool found = false;

		for (size_t j = 0; j < img.n && !found; j++) {
			const char *base = strrchr(img.e[j]->path, '/');

			found = base && strcmp(base + 1, ei.needed[i]) == 0 &&
				strncmp(img.e[j]->path, "usr/", 4) == 0;
		}
		assert_true(found);
	}
	{
		const char *base = strrchr(ei.interp, '/') + 1;
		bool found = false;

		for (size_t j = 0; j < img.n && !found; j++)
			found = strcmp(strrchr(img.e[j]->path, '/') ? strrchr(img.e[j]->path, '/') + 1
								       : img.e[j]->path,
				       base) == 0;
		assert_true(found);
	}
	rs_elf_info_clear(&ei);
	rs_image_clear(&img);
	lb_rescue_stats_clear(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_not_elf),
		cmocka_unit_test(test_find_libraries),
		cmocka_unit_test(test_origin),
		cmocka_unit_test(test_install),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
