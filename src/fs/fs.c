// SPDX-License-Identifier: GPL-3.0-or-later
/* Filesystems: the table of their ops, one entry per type filled by the
 * fs_<type>.c file that knows it, and what the entries share. Child
 * programs get argv arrays; no shell ever sees a label. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"

/* The table: one line per filesystem type. Geometry kinds are written to
 * the manifest in the order they first appear here. */
static const struct lb_fs_ops *const fs_ops[] = {
	&lb_fs_ext2,
	&lb_fs_ext3,
	&lb_fs_ext4,
	&lb_fs_vfat,
	&lb_fs_swap,
	&lb_fs_xfs,
	&lb_fs_btrfs,
};

const struct lb_fs_ops *lb_fs_ops_find(const char *type)
{
	for (size_t i = 0; type && i < LB_ARRAY_SIZE(fs_ops); i++)
		if (strcmp(fs_ops[i]->type, type) == 0)
			return fs_ops[i];
	return NULL;
}

const struct lb_fs_ops *lb_fs_ops_at(size_t i)
{
	return i < LB_ARRAY_SIZE(fs_ops) ? fs_ops[i] : NULL;
}

const struct lb_fs_geom *lb_fs_geom_at(size_t i)
{
	for (size_t j = 0; j < LB_ARRAY_SIZE(fs_ops); j++) {
		const struct lb_fs_geom *k = fs_ops[j]->geom;
		bool seen = false;

		for (size_t e = 0; k && e < j && !seen; e++)
			seen = fs_ops[e]->geom == k;
		if (!k || seen)
			continue;
		if (i-- == 0)
			return k;
	}
	return NULL;
}

const struct lb_fs_geom *lb_fs_geom_find(const char *element)
{
	const struct lb_fs_geom *k;

	for (size_t i = 0; (k = lb_fs_geom_at(i)); i++)
		if (strcmp(k->element, element) == 0)
			return k;
	return NULL;
}

/* The volume's pointer to its geometry of kind k (struct lb_volume's ext,
 * vfat, ...), copied as bytes through a void * (struct and void pointers
 * share one representation on every ABI Linux runs on). */
void *lb_fs_geom_get(const struct lb_fs_geom *k, const struct lb_volume *v)
{
	void *g;

	memcpy(&g, (const char *)v + k->slot, sizeof(g));
	return g;
}

void lb_fs_geom_set(const struct lb_fs_geom *k, struct lb_volume *v, void *g)
{
	memcpy((char *)v + k->slot, &g, sizeof(g));
}

int lb_fs_read_geom(struct lb_volume *v, const char *dev, int fd)
{
	const struct lb_fs_ops *ops = lb_fs_ops_find(v->type);
	const struct lb_fs_geom *k = ops ? ops->geom : NULL;
	_cleanup_free_ char *why = NULL;
	uint64_t need = 0;
	void *g = NULL;
	int r;

	if (!k || !k->read)
		return 0;
	r = k->read(dev, fd, v->rt_offset, v->rt_size, &g);
	if (r < 0)
		return r;
	if (k->check(g, &why) < 0)
		r = lb_err(-EINVAL, "%s: %s", dev, why);
	else if (k->bytes(g, &need) < 0 || need > v->rt_size)
		r = lb_err(-EINVAL, "%s: the filesystem (%" PRIu64 " bytes) is larger than the "
				    "%" PRIu64 " bytes that hold it", dev, need, v->rt_size);
	if (r < 0) {
		k->free(g);
		return r;
	}
	lb_fs_geom_set(k, v, g);
	return 0;
}

bool lb_program_exists(const char *name)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = lb_strdup(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
	char *save = NULL;

	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *p = lb_asprintf("%s/%s", dir, name);

		if (access(p, X_OK) == 0)
			return true;
	}
	return false;
}

char **lb_argv_new(const char *first)
{
	char **argv = lb_zalloc(2 * sizeof(char *));

	argv[0] = lb_strdup(first);
	return argv;
}

void lb_argv_add(char ***argv, const char *fmt, ...)
{
	size_t n = 0;
	va_list ap;
	char *s;

	while ((*argv)[n])
		n++;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	*argv = lb_realloc_array(*argv, n + 2, sizeof(char *));
	(*argv)[n] = s;
	(*argv)[n + 1] = NULL;
}

void lb_argv_free(char **argv)
{
	if (!argv)
		return;
	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}
