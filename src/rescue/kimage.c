// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The chosen kernel modules into the image, uncompressed (busybox insmod
 * and the kernels of some distributions take only plain ones), with the
 * files busybox modprobe reads there: a modules.dep and a modules.alias of
 * their own, the builtin list; and lifeboat.load, the modules /init loads
 * at boot, in order, with insmod.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rescue/rescue-int.h"

/* The path without the compression suffix: what lands in the image. */
static char *plain_path(const char *path)
{
	char *p = lb_strdup(path), *ko = strstr(p, ".ko");

	if (ko)
		ko[3] = '\0';
	return p;
}

/* Reads a module, decompressing .ko.xz, .ko.zst and .ko.gz: busybox insmod
 * and the kernel of some distributions take only plain ones. */
int rs_kmod_read(const char *path, uint8_t **ret, size_t *ret_len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	int r;

	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK ||
	    archive_read_next_header(a, &ae) != ARCHIVE_OK) {
		r = lb_err(-EIO, "%s: %s", path, archive_error_string(a));
		goto out;
	}
	for (;;) {
		la_ssize_t n;

		if (cap - len < (1 << 16)) {
			cap = cap ? cap * 2 : (1 << 20);
			buf = lb_realloc_array(buf, cap, 1);
		}
		n = archive_read_data(a, buf + len, cap - len);
		if (n < 0) {
			r = lb_err(-EIO, "%s: %s", path, archive_error_string(a));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	r = 0;
out:
	free(buf);
	archive_read_free(a);
	return r;
}

/* The lines of modules.alias that name a module in the image: what
 * busybox modprobe needs to load drivers by modalias. */
static char *filtered_aliases(const struct rs_kmods *km, size_t *ret_len)
{
	_cleanup_free_ char *p = lb_asprintf("%s/modules.alias", rs_kmods_index_dir(km));
	_cleanup_free_ char *all = NULL;
	char *out = NULL, *save = NULL;
	size_t len = 0;
	FILE *f;

	if (lb_read_file(p, &all, 64 << 20) < 0)
		all = lb_strdup("");
	f = open_memstream(&out, &len);
	if (!f)
		abort();
	for (char *line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char pat[512], target[256];

		if (sscanf(line, "alias %511s %255s", pat, target) == 2 && rs_kmods_has(km, target))
			fprintf(f, "%s\n", line);
	}
	fclose(f);
	*ret_len = len;
	return out;
}

/* One module into the image at ROOT, uncompressed; its line of modules.dep
 * to FD, and of lifeboat.load to FL when /init loads it at boot. */
static int install_one(struct rs_image *img, const struct rs_kmod *k, const char *root, FILE *fd,
		       FILE *fl)
{
	_cleanup_free_ char *plain = plain_path(k->path);
	_cleanup_free_ char *src = k->path[0] == '/' ? lb_strdup(k->path)
						     : lb_asprintf("%s/%s", img->kdir, k->path);
	_cleanup_free_ char *dest = lb_asprintf("%s/%s", root, plain);
	int r;

	if (strcmp(plain, k->path) == 0) {
		r = rs_install_host_path(img, src, dest, false, 0);
	} else {
		uint8_t *data = NULL;
		size_t len = 0;

		r = rs_kmod_read(src, &data, &len);
		if (r >= 0)
			r = rs_add_data(img, dest, data, len, 0644);
	}
	if (k->boot)
		fprintf(fl, "%s\n", plain);
	fprintf(fd, "%s:", plain);
	for (size_t j = 0; j < k->n_deps; j++) {
		_cleanup_free_ char *d = plain_path(k->deps[j]);
		fprintf(fd, " %s", d);
	}
	fputc('\n', fd);
	img->stats->n_kmods++;
	return r;
}

/* The text file ROOT/NAME with DATA (taken). */
static int add_text(struct rs_image *img, const char *root, const char *name, char *data, size_t len)
{
	_cleanup_free_ char *p = lb_asprintf("%s/%s", root, name);

	return rs_add_data(img, p, data, len, 0644);
}

int rs_install_kmods(struct rs_image *img)
{
	_cleanup_free_ char *root = lb_asprintf("/usr/lib/modules/%s", img->kver);
	_cleanup_free_ char *bsrc = lb_asprintf("%s/modules.builtin", img->kdir);
	char *dep = NULL, *load = NULL, *alias;
	size_t dep_len = 0, load_len = 0, alias_len = 0;
	FILE *fd = open_memstream(&dep, &dep_len), *fl = open_memstream(&load, &load_len);
	int r = 0;

	if (!fd || !fl)
		abort();
	for (size_t i = 0; i < rs_kmods_n_chosen(img->kmods) && r >= 0; i++)
		r = install_one(img, rs_kmods_chosen(img->kmods, i), root, fd, fl);
	fclose(fd);
	fclose(fl);
	if (r < 0) {
		free(dep);
		free(load);
		return r;
	}
	r = add_text(img, root, "modules.dep", dep, dep_len);
	if (r >= 0)
		r = add_text(img, root, "lifeboat.load", load, load_len);
	else
		free(load);
	if (r >= 0) {
		alias = filtered_aliases(img->kmods, &alias_len);
		r = add_text(img, root, "modules.alias", alias, alias_len);
	}
	if (r >= 0 && access(bsrc, F_OK) == 0) {
		_cleanup_free_ char *bdst = lb_asprintf("%s/modules.builtin", root);

		r = rs_install_host_path(img, bsrc, bdst, false, 0);
	}
	return r;
}
