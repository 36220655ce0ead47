/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The rescue image builder. */
#ifndef LIFEBOAT_RESCUE_RESCUE_H
#define LIFEBOAT_RESCUE_RESCUE_H

#include "base/base.h"

/* ---- the rescue image (rescue.c) --------------------------------------- */

struct lb_rescue_opts {
	const char *output;		/* the initramfs to write */
	const char *modules_dir;	/* initramfs/: NNname/module.conf each */
	const char *kernel;		/* vmlinuz file or version; NULL: the running one */
	const char *capture;		/* a capture directory to embed, or NULL */
	const char *self;		/* the lifeboat to put in; NULL: /proc/self/exe */
	const char *compress;		/* "zstd", "gzip"; NULL: zstd, else gzip */
	int level;			/* compression level; 0: the default */
};

struct lb_rescue_stats {
	char *kver;
	char *compression;
	char *capture;			/* where the embedded capture is in the image */
	size_t n_files;			/* entries in the archive */
	size_t n_programs;
	size_t n_libs;
	size_t n_kmods;
	uint64_t bytes;			/* file contents, uncompressed */
	uint64_t compressed;		/* the image file */
	bool icu_emptied;		/* libicudata went in with an empty table */
	char **applied;			/* the modules that went in */
	size_t n_applied;
	char **notes;			/* what was left out, and why */
	size_t n_notes;
};

/* The kernel version for KERNEL (a vmlinuz file, a version, or NULL for the
 * running kernel), checked to have /lib/modules/VERSION; and its image. */
int lb_rescue_kernel(const char *kernel, char **ret_version, char **ret_image);
int lb_rescue_find_modules_dir(char **ret);
int lb_rescue_build(const struct lb_rescue_opts *o, struct lb_rescue_stats *ret_stats);
void lb_rescue_stats_clear(struct lb_rescue_stats *s);
/* A hybrid (BIOS and UEFI) ISO with GRUB booting VMLINUZ and INITRD;
 * CMDLINE is added to each menu entry's kernel command line. */
int lb_rescue_make_iso(const char *iso, const char *vmlinuz, const char *initrd, const char *cmdline);

#endif
