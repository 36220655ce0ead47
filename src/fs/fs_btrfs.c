// SPDX-License-Identifier: GPL-3.0-or-later
/* btrfs: made again with its recorded identity (UUID, label); no geometry
 * is recorded yet, mkfs.btrfs chooses it. */
#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"

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

const struct lb_fs_ops lb_fs_btrfs = {
	.type = "btrfs",
	.program = "mkfs.btrfs",
	.mkfs_argv = btrfs_mkfs_argv,
};
