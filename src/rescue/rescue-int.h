/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The rescue image builder's own header: what its files share. The layer's
 * public header is rescue.h.
 *
 *   rescue.c    the build, step by step; the kernel; what the image says
 *               about itself
 *   modconf.c   initramfs/NNname/module.conf: read, decide, install
 *   tree.c      the image as a tree in memory
 *   install.c   host files, programs and busybox into the tree
 *   elfdeps.c   what an ELF file needs (libelf), found as the loader would
 *   ldcache.c   /etc/ld.so.cache
 *   kmods.c     kernel modules and what they need (libkmod)
 *   kindex.c    libkmod's indexes for a modules tree that lacks them
 *   kimage.c    the chosen modules into the tree, with their own indexes
 *   icu.c       ICU's data library, emptied
 *   cpio.c      the tree written as a compressed cpio archive
 *   iso.c       the hybrid ISO around kernel and image
 */
#ifndef LIFEBOAT_RESCUE_RESCUE_INT_H
#define LIFEBOAT_RESCUE_RESCUE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "base/base.h"
#include "rescue/rescue.h"

#define RS_MAX_LINKS 40

/* ---- the image tree (tree.c) ------------------------------------------- */

enum rs_kind {
	RS_DIR,
	RS_FILE,
	RS_LINK,
	RS_NODE,
};

struct rs_entry {
	char *path;		/* in the image: relative, no "." or "..", real parents */
	enum rs_kind kind;
	mode_t perm;
	char *src;		/* RS_FILE: host file to copy, or ... */
	uint8_t *data;		/* ... the content itself */
	size_t len;
	char *target;		/* RS_LINK */
	char node_type;		/* RS_NODE: 'c' or 'b' */
	unsigned node_major, node_minor;
	bool weak;		/* a busybox applet: a real program of that name wins */
	bool elf_done;		/* its ELF dependencies are in */
};

struct rs_kmods;
struct rs_ldcache;

struct rs_image {
	const struct lb_rescue_opts *o;
	struct rs_entry **e;
	size_t n;

	char *kver;
	char *kdir;		/* /lib/modules/<kver> on this machine */
	struct rs_kmods *kmods;
	struct rs_ldcache *ldcache;
	bool icu_empty;		/* icu-data: empty */

	struct lb_rescue_stats *stats;
	time_t mtime;
};

/* What was left out, and why: a note for the caller to show. */
void rs_note(struct rs_image *img, const char *fmt, ...) _printf_(2, 3);

struct rs_entry *rs_find_entry(const struct rs_image *img, const char *path);
/* Adds E (its path as on the host, absolute) to the image, making its
 * parent directories. A later entry replaces an earlier one at the same
 * path, except that a weak entry never replaces a real one. Takes E; *RET
 * (when not NULL) is the entry now at that path. */
int rs_add_entry(struct rs_image *img, struct rs_entry *e, struct rs_entry **ret);
int rs_add_dir(struct rs_image *img, const char *path);
int rs_add_link(struct rs_image *img, const char *path, const char *target, bool weak);
/* Takes DATA. */
int rs_add_data(struct rs_image *img, const char *path, void *data, size_t len, mode_t perm);
void rs_image_clear(struct rs_image *img);

/* ---- host files into the image (install.c) ------------------------------ */

/* Installs the host file HOST at DEST (NULL: the same path). A symbolic
 * link stays a link when it lands at its own path, and what it points to
 * comes along; with DEPS, what an ELF file or a #! script needs too. */
int rs_install_host_path(struct rs_image *img, const char *host, const char *dest, bool deps,
			 unsigned depth);
/* A program on PATH (then /usr/sbin:/usr/bin:/sbin:/bin), or NULL. */
char *rs_find_program(const char *name);
/* busybox at DEST with a weak link for each of its applets. */
int rs_install_busybox(struct rs_image *img, const char *dest, const char *where);
/* The host directory HOST, plain files and directories, at DEST. */
int rs_add_tree(struct rs_image *img, const char *host, const char *dest, unsigned depth);

/* ---- ELF dependencies (elfdeps.c, ldcache.c) ----------------------------- */

struct rs_elf_info {
	int cls;		/* ELFCLASS32 or ELFCLASS64; 0: not ELF */
	int machine;
	char *interp;		/* PT_INTERP */
	char **needed;		/* DT_NEEDED */
	size_t n_needed;
	char *rpath;		/* DT_RPATH, used only without DT_RUNPATH */
	char *runpath;		/* DT_RUNPATH */
};

/* What the dynamic loader needs to know about PATH. A file that is not ELF
 * gives cls 0 and nothing else. */
int rs_elf_read(const char *path, struct rs_elf_info *ret);
void rs_elf_info_clear(struct rs_elf_info *ei);
/* True when PATH is an ELF file of class CLS for MACHINE. */
bool rs_elf_matches(const char *path, int cls, int machine);
/* NAME (a DT_NEEDED) found as the dynamic loader would for PARENT at
 * PARENT_PATH: DT_RPATH (without DT_RUNPATH), DT_RUNPATH, ld.so.cache, the
 * default directories. NULL when it is nowhere. */
char *rs_find_library(struct rs_ldcache **cache, const char *name, const struct rs_elf_info *parent,
		      const char *parent_path);

/* The library ld.so.cache gives for NAME (class CLS, MACHINE), or NULL;
 * *CACHE is read on first use (path NULL: /etc/ld.so.cache). */
const char *rs_ldcache_lookup(struct rs_ldcache **cache, const char *path, const char *name, int cls,
			      int machine);
void rs_ldcache_free(struct rs_ldcache *cache);

/* ---- kernel modules (kmods.c, kindex.c, kimage.c) ------------------------ */

struct rs_kmod {
	char *name;		/* normalized: '-' as '_' */
	char *path;		/* as in modules.dep: kernel/fs/ext4/ext4.ko[.xz] */
	char **deps;		/* paths, modules.dep's order */
	size_t n_deps;
	int state;		/* 0 new, 1 visiting, 2 chosen */
	bool boot;		/* /init loads it (load:), not only its hardware */
};

/* The modules of KDIR (/lib/modules/KVER), resolved by libkmod with the
 * configuration in CONFIG_PATHS (NULL: modprobe's, /etc/modprobe.d and
 * the others) and KDIR's own modules.softdep. */
int rs_kmods_open(const char *kdir, const char *kver, const char *const *config_paths,
		  struct rs_kmods **ret);
void rs_kmods_free(struct rs_kmods *km);
/* Chooses the modules PATTERN names (a name, an alias or a glob over
 * module names) with everything they need, depth first: dependencies and
 * pre softdeps before a module, post softdeps after it. With BOOT, /init
 * loads them at boot. Returns 1 when it named modules or built-in ones
 * (a glob always has: it may match none), 0 when nothing. */
int rs_kmods_want(struct rs_kmods *km, const char *pattern, bool boot);
/* The chosen modules, in load order. */
const struct rs_kmod *rs_kmods_chosen(const struct rs_kmods *km, size_t i);
size_t rs_kmods_n_chosen(const struct rs_kmods *km);
bool rs_kmods_has(const struct rs_kmods *km, const char *name);
/* What the walk left out: soft dependencies that are nowhere. */
size_t rs_kmods_n_notes(const struct rs_kmods *km);
const char *rs_kmods_note(const struct rs_kmods *km, size_t i);
/* The directory whose indexes and text files describe the modules: KDIR,
 * or a copy of its indexes made by depmod. */
const char *rs_kmods_index_dir(const struct rs_kmods *km);

/* A scratch modules directory with libkmod's binary indexes for KDIR,
 * which has none (a hand-made tree): depmod's, with every module of KDIR
 * linked in under its own name (gzip ones decompressed, which depmod may
 * neither read nor list, as NAME.ko). *RET_BASE is the scratch root to remove; *RET_DIR the
 * modules directory in it. */
int rs_kindex_make(const char *kdir, const char *kver, char **ret_base, char **ret_dir);
/* The tree's name for REL, a module of the scratch copy: REL, or REL.gz. */
char *rs_kindex_tree_path(const char *kdir, const char *rel);

/* Reads a module, decompressing .ko.xz, .ko.zst and .ko.gz. */
int rs_kmod_read(const char *path, uint8_t **ret, size_t *ret_len);
/* Puts the chosen modules in the image, uncompressed, with a modules.dep
 * and modules.alias of their own, the builtin list, and lifeboat.load. */
int rs_install_kmods(struct rs_image *img);

/* ---- module manifests (modconf.c) --------------------------------------- */

struct rs_modset;
int rs_modset_load(const char *dir, struct rs_modset **ret);
void rs_modset_free(struct rs_modset *set);
/* Installs every module of SET that applies, in order, noting the others;
 * their names go to img->stats->applied. */
int rs_modset_install(struct rs_modset *set, struct rs_image *img);

/* ---- ICU (icu.c) --------------------------------------------------------- */

/* libicudata in the image as a copy with an empty data table. */
void rs_slim_icu(struct rs_image *img);
int rs_icu_stub(const char *path, uint8_t **ret, size_t *ret_len);

/* ---- the archive (cpio.c) ----------------------------------------------- */

/* Writes the tree to TMP (OUT names it in messages) as a compressed cpio. */
int rs_write_image(struct rs_image *img, const char *out, const char *tmp);

#endif
