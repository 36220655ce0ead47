// SPDX-License-Identifier: GPL-3.0-or-later
/* xfs: made again with its recorded identity (UUID, label); no geometry is
 * recorded yet, mkfs.xfs chooses it. */
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

const struct lb_fs_ops lb_fs_xfs = {
	.type = "xfs",
	.program = "mkfs.xfs",
	.mkfs_argv = xfs_mkfs_argv,
};
