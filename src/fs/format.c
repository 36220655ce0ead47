// SPDX-License-Identifier: GPL-3.0-or-later
/* Formatters: one ops table entry per filesystem type, filled by the
 * fs_<type>.c file that knows it. Child programs get argv arrays; no shell
 * ever sees a label. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"

static char **xfs_mkfs_argv(const struct lb_volume *v, const char *dev, bool quick)
{
	char **argv = lb_argv_new("mkfs.xfs");

	(void)quick;
	lb_argv_add(&argv, "-f");
	lb_argv_add(&argv, "-q");
	if (v->uuid) {
		lb_argv_add(&argv, "-m");
		lb_argv_add(&argv, "uuid=%s", v->uuid);
	}
	if (v->label) {
		lb_argv_add(&argv, "-L");
		lb_argv_add(&argv, "%s", v->label);
	}
	lb_argv_add(&argv, "%s", dev);
	return argv;
}

static char **btrfs_mkfs_argv(const struct lb_volume *v, const char *dev, bool quick)
{
	char **argv = lb_argv_new("mkfs.btrfs");

	lb_argv_add(&argv, "-f");
	lb_argv_add(&argv, "-q");
	if (quick)
		lb_argv_add(&argv, "--nodiscard");
	if (v->uuid) {
		lb_argv_add(&argv, "-U");
		lb_argv_add(&argv, "%s", v->uuid);
	}
	if (v->label) {
		lb_argv_add(&argv, "-L");
		lb_argv_add(&argv, "%s", v->label);
	}
	lb_argv_add(&argv, "%s", dev);
	return argv;
}

static const struct lb_fs_ops fs_ops[] = {
	{ "ext2", "mke2fs", lb_ext_mkfs_argv, lb_ext_fixup },
	{ "ext3", "mke2fs", lb_ext_mkfs_argv, lb_ext_fixup },
	{ "ext4", "mke2fs", lb_ext_mkfs_argv, lb_ext_fixup },
	{ "vfat", "mkfs.fat", lb_vfat_mkfs_argv, NULL },
	{ "swap", "mkswap", lb_swap_mkfs_argv, NULL },
	{ "xfs", "mkfs.xfs", xfs_mkfs_argv, NULL },
	{ "btrfs", "mkfs.btrfs", btrfs_mkfs_argv, NULL },
};

const struct lb_fs_ops *lb_fs_ops_find(const char *type)
{
	for (size_t i = 0; type && i < LB_ARRAY_SIZE(fs_ops); i++)
		if (strcmp(fs_ops[i].type, type) == 0)
			return &fs_ops[i];
	return NULL;
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
