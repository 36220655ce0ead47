// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The image as a tree in memory: entries by path, each a directory, a
 * file (a host file to copy or its content), a link or a device node.
 * Paths are as on the host and land where the image's own links lead:
 * with the base module's /lib -> usr/lib, /lib/x86_64-linux-gnu/libc.so.6
 * lands in usr/lib.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rescue/rescue-int.h"

void rs_note(struct rs_image *img, const char *fmt, ...)
{
	struct lb_rescue_stats *s = img->stats;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	lb_debug("rescue", "note: %s", msg);
	s->notes = lb_realloc_array(s->notes, s->n_notes + 1, sizeof(char *));
	s->notes[s->n_notes++] = msg;
}

static void entry_free(struct rs_entry *e)
{
	if (!e)
		return;
	free(e->path);
	free(e->src);
	free(e->data);
	free(e->target);
	free(e);
}

struct rs_entry *rs_find_entry(const struct rs_image *img, const char *path)
{
	for (size_t i = 0; i < img->n; i++)
		if (strcmp(img->e[i]->path, path) == 0)
			return img->e[i];
	return NULL;
}

/* Resolves PATH (absolute, as on the host) to where it lands in the image:
 * every component but the last is followed through the image's links. */
static int image_path(const struct rs_image *img, const char *path, char **ret)
{
	_cleanup_free_ char *todo = lb_strdup(path), *out = lb_strdup("");
	unsigned hops = 0;

	for (;;) {
		char *s = todo, *c, *rest;
		struct rs_entry *e;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		c = s;
		rest = strchr(s, '/');
		if (rest)
			*rest++ = '\0';
		while (rest && *rest == '/')
			rest++;
		if (strcmp(c, ".") == 0) {
			char *next = lb_strdup(rest ? rest : "");
			free(todo);
			todo = next;
			continue;
		}
		if (strcmp(c, "..") == 0) {
			char *slash = strrchr(out, '/');
			char *next = lb_strdup(rest ? rest : "");

			if (slash)
				*slash = '\0';
			else
				out[0] = '\0';
			free(todo);
			todo = next;
			continue;
		}
		_cleanup_free_ char *cand = *out ? lb_asprintf("%s/%s", out, c) : lb_strdup(c);
		e = rest && *rest ? rs_find_entry(img, cand) : NULL;
		if (e && e->kind == RS_LINK) {
			char *next;

			if (++hops > RS_MAX_LINKS)
				return lb_err(-ELOOP, "%s: too many links in the image", path);
			next = lb_asprintf("%s/%s", e->target, rest);
			if (e->target[0] == '/')
				out[0] = '\0';
			free(todo);
			todo = next;
			continue;
		}
		free(out);
		out = TAKE_PTR(cand);
		{
			char *next = lb_strdup(rest ? rest : "");
			free(todo);
			todo = next;
		}
	}
	if (!*out)
		return lb_err(-EINVAL, "%s: not a path for the image", path);
	*ret = TAKE_PTR(out);
	return 0;
}

/* Adds E (its path as on the host, absolute) to the image, making its
 * parent directories. A later entry replaces an earlier one at the same
 * path, except that a weak entry never replaces a real one. Takes E. */
int rs_add_entry(struct rs_image *img, struct rs_entry *e, struct rs_entry **ret)
{
	_cleanup_free_ char *where = NULL;
	struct rs_entry *old;
	char *slash;
	int r;

	r = image_path(img, e->path, &where);
	if (r < 0) {
		entry_free(e);
		return r;
	}
	free(e->path);
	e->path = TAKE_PTR(where);
	slash = strrchr(e->path, '/');
	if (slash) {
		_cleanup_free_ char *parent = lb_asprintf("/%.*s", (int)(slash - e->path), e->path);

		r = rs_add_dir(img, parent);
		if (r < 0) {
			entry_free(e);
			return r;
		}
	}
	old = rs_find_entry(img, e->path);
	if (old) {
		if (old->kind == RS_DIR && e->kind == RS_DIR) {
			entry_free(e);
			if (ret)
				*ret = old;
			return 0;
		}
		if (e->weak && !old->weak) {
			entry_free(e);
			if (ret)
				*ret = old;
			return 0;
		}
		if (old->kind == RS_DIR)
			return entry_free(e), lb_err(-EEXIST, "/%s is a directory in the image", old->path);
		if (old->kind == RS_FILE && e->kind == RS_FILE && old->src && e->src &&
		    strcmp(old->src, e->src) == 0) {
			entry_free(e);
			if (ret)
				*ret = old;
			return 0;
		}
		lb_debug("rescue", "/%s replaced", e->path);
		for (size_t i = 0; i < img->n; i++)
			if (img->e[i] == old)
				img->e[i] = e;
		entry_free(old);
	} else {
		img->e = lb_realloc_array(img->e, img->n + 1, sizeof(*img->e));
		img->e[img->n++] = e;
	}
	if (ret)
		*ret = e;
	return 0;
}

int rs_add_dir(struct rs_image *img, const char *path)
{
	struct rs_entry *e = lb_zalloc(sizeof(*e));

	e->kind = RS_DIR;
	e->perm = 0755;
	e->path = lb_strdup(path);
	return rs_add_entry(img, e, NULL);
}

int rs_add_link(struct rs_image *img, const char *path, const char *target, bool weak)
{
	struct rs_entry *e = lb_zalloc(sizeof(*e));

	e->kind = RS_LINK;
	e->perm = 0777;
	e->path = lb_strdup(path);
	e->target = lb_strdup(target);
	e->weak = weak;
	return rs_add_entry(img, e, NULL);
}

int rs_add_data(struct rs_image *img, const char *path, void *data, size_t len, mode_t perm)
{
	struct rs_entry *e = lb_zalloc(sizeof(*e));

	e->kind = RS_FILE;
	e->perm = perm;
	e->path = lb_strdup(path);
	e->data = data;
	e->len = len;
	return rs_add_entry(img, e, NULL);
}

void rs_image_clear(struct rs_image *img)
{
	for (size_t i = 0; i < img->n; i++)
		entry_free(img->e[i]);
	free(img->e);
	rs_kmods_free(img->kmods);
	rs_ldcache_free(img->ldcache);
	free(img->kver);
	free(img->kdir);
	memset(img, 0, sizeof(*img));
}
