/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Filesystems: one ops table per type (fs_*.c), reading and making their geometry. */
#ifndef LIFEBOAT_FS_FS_H
#define LIFEBOAT_FS_FS_H

#include "base/base.h"
#include "model/model.h"

/* ---- formatting (format.c, fs_*.c) ------------------------------------ */

struct lb_fs_ops {
	const char *type;	/* blkid TYPE */
	const char *program;	/* the mkfs it runs */
	/* argv for making vol on dev; the caller frees it with lb_argv_free */
	char **(*mkfs_argv)(const struct lb_volume *vol, const char *dev, bool quick);
	/* what mkfs cannot set, put right afterwards (may be NULL) */
	int (*fixup)(const struct lb_volume *vol, const char *dev);
};

const struct lb_fs_ops *lb_fs_ops_find(const char *type);
bool lb_program_exists(const char *name);
void lb_argv_free(char **argv);
char **lb_argv_new(const char *first);
void lb_argv_add(char ***argv, const char *fmt, ...) _printf_(2, 3);
char **lb_ext_mkfs_argv(const struct lb_volume *vol, const char *dev, bool quick);
int lb_ext_fixup(const struct lb_volume *vol, const char *dev);
char **lb_vfat_mkfs_argv(const struct lb_volume *vol, const char *dev, bool quick);
char **lb_swap_mkfs_argv(const struct lb_volume *vol, const char *dev, bool quick);

/* geometry readers */
int lb_ext_read_geom(const char *dev, uint64_t offset, struct lb_ext_geom **ret);
int lb_vfat_read_geom(int fd, uint64_t offset, struct lb_vfat_geom **ret);
int lb_swap_read_geom(int fd, uint64_t offset, uint64_t size, struct lb_swap_geom **ret);

#endif
