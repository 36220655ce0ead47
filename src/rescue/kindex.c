// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libkmod reads only the binary indexes depmod writes (modules.dep.bin,
 * modules.alias.bin, ...). A modules tree that has only the text files (one
 * made by hand, or copied without them) gets them here, in a scratch copy,
 * never in the tree itself: BASE/lib/modules/VERSION holds a link to each
 * module of the tree under its own name and the lists depmod reads
 * (modules.builtin, modules.order), and depmod -b BASE writes the rest.
 * A gzip-compressed module is copied decompressed, as NAME.ko: a depmod
 * built without zlib neither reads nor lists a .ko.gz; rs_kindex_tree_path
 * gives the tree's name back.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rescue/rescue-int.h"

/* What depmod reads besides the modules; it writes every other modules.*. */
static bool depmod_input(const char *name)
{
	return strcmp(name, "modules.builtin") == 0 || strcmp(name, "modules.builtin.modinfo") == 0 ||
	       strcmp(name, "modules.order") == 0;
}

static bool is_gzip(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	unsigned char magic[2];

	return f && fread(magic, 1, 2, f) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

/* FROM (X.ko.gz) as TO without its ".gz". */
static int copy_decompressed(const char *from, const char *to)
{
	_cleanup_free_ uint8_t *data = NULL;
	_cleanup_free_ char *plain = lb_strdup(to);
	char *gz = strstr(plain, ".ko.gz");
	size_t len = 0;
	int r;

	if (gz)
		gz[3] = '\0';
	r = rs_kmod_read(from, &data, &len);
	if (r < 0)
		return r;
	r = lb_write_file(plain, data, len, 0644);
	return r < 0 ? lb_err(r, "%s: %s", plain, strerror(-r)) : 0;
}

static int mirror_file(const char *from, const char *to, const char *name, bool top)
{
	_cleanup_free_ char *data = NULL;
	int n;

	if (top && strncmp(name, "modules.", 8) == 0) {
		if (!depmod_input(name))
			return 0;
		n = lb_read_file(from, &data, 64 << 20);
		if (n < 0)
			return lb_err(n, "%s: %s", from, strerror(-n));
		n = lb_write_file(to, data, (size_t)n, 0644);
		return n < 0 ? lb_err(n, "%s: %s", to, strerror(-n)) : 0;
	}
	if (!strstr(name, ".ko"))
		return 0;
	if (is_gzip(from))
		return copy_decompressed(from, to);
	if (symlink(from, to) < 0)
		return lb_err(-errno, "%s: %s", to, strerror(errno));
	return 0;
}

/* FROM (a directory of the tree) into TO, which exists. */
static int mirror(const char *from, const char *to, unsigned depth)
{
	struct dirent **list = NULL;
	int cnt, r = 0;

	if (depth > 16)
		return lb_err(-ELOOP, "%s: too deep", from);
	cnt = scandir(from, &list, NULL, alphasort);
	if (cnt < 0)
		return lb_err(-errno, "%s: %s", from, strerror(errno));
	for (int i = 0; i < cnt; i++) {
		const char *name = list[i]->d_name;
		_cleanup_free_ char *f = lb_asprintf("%s/%s", from, name);
		_cleanup_free_ char *t = lb_asprintf("%s/%s", to, name);
		struct stat st;

		if (r < 0 || !strcmp(name, ".") || !strcmp(name, "..") ||
		    (!depth && (!strcmp(name, "build") || !strcmp(name, "source"))) || stat(f, &st) < 0) {
			free(list[i]);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if (mkdir(t, 0755) < 0)
				r = lb_err(-errno, "%s: %s", t, strerror(errno));
			else
				r = mirror(f, t, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			r = mirror_file(f, t, name, !depth);
		}
		free(list[i]);
	}
	free(list);
	return r;
}

static int run_depmod(const char *base, const char *kver, const char *kdir)
{
	_cleanup_free_ char *depmod = rs_find_program("depmod"), *out = NULL;
	char *argv[] = { NULL, (char *)"-b", (char *)base, (char *)kver, NULL };
	struct lb_spawn_opts so = { .ret_out = &out, .also_stderr = true, .stdin_fd = -1 };
	int r;

	if (!depmod)
		return lb_err(-ENOENT, "%s has no modules.dep.bin, and there is no depmod here to make "
				       "one (apt-get install kmod)", kdir);
	argv[0] = depmod;
	r = lb_spawn(argv, &so);
	if (r < 0)
		return r;
	if (out && *out)
		lb_debug("rescue", "depmod -b %s %s: %s", base, kver, lb_strstrip(out));
	if (r != 0)
		return lb_err(-EIO, "%s has no modules.dep.bin, and depmod failed to make one (exit %d): "
				    "%s", kdir, r, out ? lb_strstrip(out) : "");
	return 0;
}

int rs_kindex_make(const char *kdir, const char *kver, char **ret_base, char **ret_dir)
{
	char tmpl[] = "/tmp/lifeboat-kmods.XXXXXX";
	_cleanup_free_ char *dir = NULL, *usr = NULL, *bin = NULL;
	int r;

	if (!mkdtemp(tmpl))
		return lb_err(-errno, "cannot make a scratch directory: %s", strerror(errno));
	lb_debug("rescue", "%s has no binary indexes: depmod makes them in %s", kdir, tmpl);
	dir = lb_asprintf("%s/lib/modules/%s", tmpl, kver);
	usr = lb_asprintf("%s/usr/lib", tmpl);
	r = lb_mkdir_p(dir, 0755);
	if (r >= 0)
		r = lb_mkdir_p(usr, 0755);
	if (r < 0) {
		r = lb_err(r, "%s: %s", dir, strerror(-r));
		goto fail;
	}
	/* a depmod built for /usr/lib/modules finds the same tree */
	free(usr);
	usr = lb_asprintf("%s/usr/lib/modules", tmpl);
	if (symlink("../../lib/modules", usr) < 0) {
		r = lb_err(-errno, "%s: %s", usr, strerror(errno));
		goto fail;
	}
	r = mirror(kdir, dir, 0);
	if (r >= 0)
		r = run_depmod(tmpl, kver, kdir);
	if (r < 0)
		goto fail;
	bin = lb_asprintf("%s/modules.dep.bin", dir);
	if (access(bin, F_OK) < 0) {
		r = lb_err(-ENOENT, "%s has no modules.dep.bin, and depmod did not make one", kdir);
		goto fail;
	}
	*ret_base = lb_strdup(tmpl);
	*ret_dir = TAKE_PTR(dir);
	return 0;
fail:
	lb_rm_rf(tmpl);
	return r;
}

char *rs_kindex_tree_path(const char *kdir, const char *rel)
{
	_cleanup_free_ char *p = lb_asprintf("%s/%s", kdir, rel);
	_cleanup_free_ char *gz = lb_asprintf("%s.gz", p);

	if (rel[0] != '/' && access(p, F_OK) < 0 && access(gz, F_OK) == 0)
		return lb_asprintf("%s.gz", rel);
	return lb_strdup(rel);
}
