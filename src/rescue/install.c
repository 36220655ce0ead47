// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Host files into the image: a file with the links that lead to it, a
 * program with everything it loads (its ELF interpreter and libraries, a
 * script's interpreter), busybox with its applets, a directory tree.
 */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rescue/rescue-int.h"

/* Installs what the ELF file at HOST (in the image as E) needs to run: its
 * interpreter and every DT_NEEDED, recursively. A #! script brings its
 * interpreter. */
static int install_deps(struct rs_image *img, const char *host, unsigned depth)
{
	struct rs_elf_info ei;
	int r;

	r = rs_elf_read(host, &ei);
	if (r < 0)
		return r;
	if (!ei.cls) {
		char line[256] = "";
		_cleanup_fclose_ FILE *f = fopen(host, "re");

		if (f && fgets(line, sizeof(line), f) && strncmp(line, "#!", 2) == 0) {
			char *interp = lb_strstrip(line + 2), *sp = strpbrk(interp, " \t");

			if (sp)
				*sp = '\0';
			/* f is closed by its cleanup attribute, which cppcheck does not see */
			if (*interp == '/' && access(interp, X_OK) == 0)
				// cppcheck-suppress resourceLeak
				return rs_install_host_path(img, interp, NULL, true, depth + 1);
		}
		// cppcheck-suppress resourceLeak
		return 0;
	}
	if (ei.interp) {
		r = rs_install_host_path(img, ei.interp, NULL, false, depth + 1);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < ei.n_needed; i++) {
		_cleanup_free_ char *lib = rs_find_library(&img->ldcache, ei.needed[i], &ei, host);

		if (!lib) {
			r = lb_err(-ENOENT, "%s needs %s, which is nowhere the dynamic loader looks", host,
				   ei.needed[i]);
			goto out;
		}
		lb_debug("rescue", "%s needs %s: %s", host, ei.needed[i], lib);
		r = rs_install_host_path(img, lib, NULL, true, depth + 1);
		if (r < 0)
			goto out;
		img->stats->n_libs++;
	}
	r = 0;
out:
	rs_elf_info_clear(&ei);
	return r;
}

/* Installs the host file HOST at DEST (NULL: the same path). A symbolic
 * link stays a link when it lands at its own path, and what it points to
 * comes along; with DEPS, ELF dependencies come along too. */
int rs_install_host_path(struct rs_image *img, const char *host, const char *dest, bool deps,
			     unsigned depth)
{
	struct rs_entry *e = NULL;
	struct stat st;
	int r;

	if (depth > RS_MAX_LINKS)
		return lb_err(-ELOOP, "%s: too many levels of links or dependencies", host);
	if (lstat(host, &st) < 0)
		return lb_err(-errno, "%s: %s", host, strerror(errno));
	if (S_ISLNK(st.st_mode) && !dest) {
		char target[PATH_MAX];
		ssize_t n = readlink(host, target, sizeof(target) - 1);
		_cleanup_free_ char *copy = lb_strdup(host), *next = NULL;

		if (n < 0)
			return lb_err(-errno, "%s: %s", host, strerror(errno));
		target[n] = '\0';
		r = rs_add_link(img, host, target, false);
		if (r < 0)
			return r;
		next = target[0] == '/' ? lb_strdup(target) : lb_asprintf("%s/%s", dirname(copy), target);
		return rs_install_host_path(img, next, NULL, deps, depth + 1);
	}
	if (S_ISLNK(st.st_mode) && stat(host, &st) < 0)
		return lb_err(-errno, "%s: %s", host, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return rs_add_dir(img, dest ? dest : host);
	if (!S_ISREG(st.st_mode))
		return lb_err(-EINVAL, "%s: neither a file, a directory nor a link", host);

	e = lb_zalloc(sizeof(*e));
	e->kind = RS_FILE;
	e->perm = st.st_mode & 07777;
	e->path = lb_strdup(dest ? dest : host);
	e->src = lb_strdup(host);
	r = rs_add_entry(img, e, &e);
	if (r < 0)
		return r;
	if (!deps || e->elf_done || !(st.st_mode & 0111 || strstr(host, ".so")))
		return 0;
	e->elf_done = true;
	return install_deps(img, host, depth);
}

char *rs_find_program(const char *name)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *list = lb_asprintf("%s:/usr/sbin:/usr/bin:/sbin:/bin", path ? path : "");
	char *save = NULL;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? lb_strdup(name) : NULL;
	for (char *d = strtok_r(list, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *p = NULL;
		struct stat st;

		if (d[0] != '/')
			continue;	/* never a relative PATH entry */
		p = lb_asprintf("%s/%s", d, name);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0)
			return TAKE_PTR(p);
	}
	return NULL;
}

int rs_add_tree(struct rs_image *img, const char *host, const char *dest, unsigned depth)
{
	struct dirent **list = NULL;
	int cnt, r;

	if (depth > 16)
		return lb_err(-ELOOP, "%s: too deep", host);
	r = rs_add_dir(img, dest);
	if (r < 0)
		return r;
	cnt = scandir(host, &list, NULL, alphasort);
	if (cnt < 0)
		return lb_err(-errno, "%s: %s", host, strerror(errno));
	for (int i = 0; i < cnt; i++) {
		const char *name = list[i]->d_name;
		_cleanup_free_ char *h = lb_asprintf("%s/%s", host, name);
		_cleanup_free_ char *d = lb_asprintf("%s/%s", dest, name);
		struct stat st;

		if (r >= 0 && strcmp(name, ".") && strcmp(name, "..")) {
			if (lstat(h, &st) < 0)
				r = lb_err(-errno, "%s: %s", h, strerror(errno));
			else if (S_ISDIR(st.st_mode))
				r = rs_add_tree(img, h, d, depth + 1);
			else if (S_ISREG(st.st_mode))
				r = rs_install_host_path(img, h, d, false, 0);
			else
				rs_note(img, "%s: not a plain file: left out", h);
		}
		free(list[i]);
	}
	free(list);
	return r;
}

int rs_install_busybox(struct rs_image *img, const char *dest, const char *where)
{
	_cleanup_free_ char *bb = rs_find_program("busybox"), *list = NULL;
	char *argv[] = { NULL, (char *)"--list-full", NULL }, *save = NULL;
	struct lb_spawn_opts so = { .ret_out = &list };
	int r;

	if (!bb)
		return lb_err(-ENOENT, "%s: no busybox here (apt-get install busybox-static)", where);
	r = rs_install_host_path(img, bb, dest, true, 0);
	if (r < 0)
		return r;
	argv[0] = bb;
	r = lb_spawn(argv, &so);
	if (r < 0)
		return r;
	if (r != 0 || !list || !*list)
		return lb_err(-EIO, "%s: %s --list-full failed", where, bb);
	for (char *applet = strtok_r(list, "\n", &save); applet; applet = strtok_r(NULL, "\n", &save)) {
		_cleanup_free_ char *link = lb_asprintf("/%s", applet);

		if (strcmp(link, dest) == 0)
			continue;
		r = rs_add_link(img, link, dest, true);
		if (r < 0)
			return r;
	}
	return 0;
}
