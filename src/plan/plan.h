/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Planning a restore: matching recorded disks to this machine's, verdicts, what each volume gets. */
#ifndef LIFEBOAT_PLAN_PLAN_H
#define LIFEBOAT_PLAN_PLAN_H

#include <sys/types.h>

#include "model/model.h"

/* ---- planning a restore (plan.c) -------------------------------------- */

enum lb_match {
	LB_MATCH_NONE = 0,
	LB_MATCH_MAP,		/* --disk-map */
	LB_MATCH_SIGNATURE,	/* same GPT disk GUID / MBR identifier */
	LB_MATCH_SERIAL,
	LB_MATCH_WWN,
	LB_MATCH_PATH_SIZE,	/* same path and size */
	LB_MATCH_BLANK,		/* a blank disk, the replaced-disk case */
};

enum lb_verdict {
	LB_VERDICT_INTACT = 0,
	LB_VERDICT_RECREATE,
	LB_VERDICT_EXCLUDED,
	LB_VERDICT_MISSING,
};

enum lb_vol_action {
	LB_VOL_KEEP = 0,	/* on an intact disk */
	LB_VOL_FORMAT,		/* make the filesystem with its identity */
	LB_VOL_CONTENT,		/* write recorded raw content (BIOS boot) */
	LB_VOL_NOTHING,		/* raw space: nothing to make */
	LB_VOL_SKIP,		/* its disk is excluded or missing */
	LB_VOL_IMAGE,		/* write its captured image (no mkfs) */
	LB_VOL_CIPHERTEXT,	/* inside a LUKS container written from its
				 * ciphertext: it comes back with it */
};

/* Why a volume on an intact disk gets its content back. */
enum lb_vol_rollback {
	LB_ROLLBACK_NONE = 0,
	LB_ROLLBACK_CRITICAL,	/* a critical volume: always (ASR) */
	LB_ROLLBACK_NAMED,	/* --volume */
	LB_ROLLBACK_ALL,	/* --all-volumes */
};

/* A whole disk on this machine, as it is now. */
struct lb_target {
	char *sysname;
	char *path;
	struct lb_disk *state;	/* scanned, read-only */
	char *unreadable;	/* why it could not be scanned */
	char *in_use;		/* why it must not be written, or NULL */
	bool holds_capture;
	bool blank;
	bool taken;
	dev_t rdev;		/* its device number when surveyed (0: none) */
};

struct lb_plan_disk {
	struct lb_disk *disk;	/* recorded */
	struct lb_target *target;
	enum lb_match how;
	enum lb_verdict verdict;
	char *why;		/* for the verdict, or the ambiguity */
	bool held_back;		/* needed recreating, excluded for being in use
				 * here or holding the capture */
	bool boot_code;		/* intact, but its boot code is blank: write it
				 * (an interrupted restore) */
	bool boot_code_in_use;	/* intact, its boot code blank, but the disk is
				 * in use here: left alone, with a warning */
};

/* A node of the stack (an array, a LUKS container, a volume group) and
 * what a restore does with it: an ASR disk pack, made again whole or left
 * alone whole. */
enum lb_node_action {
	LB_NODE_KEEP = 0,	/* every disk it lives on is intact */
	LB_NODE_MAKE,		/* every disk it lives on is recreated */
	LB_NODE_SKIP,		/* its disks are excluded, missing or mixed */
	LB_NODE_CIPHERTEXT,	/* inside a LUKS container written from its
				 * ciphertext: it comes back with it, unmade */
};

struct lb_plan_node {
	enum lb_dev_kind kind;	/* LB_DEV_MD, LB_DEV_LUKS, LB_DEV_LV (a group) */
	struct lb_md *md;
	struct lb_luks *luks;
	struct lb_vg *vg;
	const char *id;
	enum lb_node_action action;
	bool open;		/* LUKS: opened once made: something in it is made */
	bool ciphertext;	/* LUKS: its captured ciphertext is written back
				 * under it (no key needed) */
	char *why;
};

struct lb_plan_volume {
	struct lb_plan_disk *pd;	/* its disk; for a volume of the stack, the
					 * first disk it lives on */
	struct lb_plan_node *node;	/* the stack node holding it, or NULL */
	struct lb_partition *part;	/* NULL for a whole-disk volume */
	struct lb_volume *vol;
	enum lb_vol_action action;
	bool extract;		/* format, then extract its captured archive */
	/* its content put back on an intact disk, the layout left alone
	 * (ASR: critical volumes always; others when named) */
	enum lb_vol_rollback rollback;
	char *why;
	char *result;		/* after a restore: what happened to it */
	/* a btrfs over several devices made again (plan/btrfs.c): the
	 * volume whose format makes it over all of them (NULL on that one),
	 * which holds its devices in devid order */
	struct lb_plan_volume *btrfs_maker;
	struct lb_plan_volume **btrfs_devs;
	size_t n_btrfs_devs;
};

/* What a restore does, one step at a time, in order (steps.c builds the
 * list and documents why the order is what it is; src/restore/ carries it
 * out and decides nothing). */
enum lb_step_kind {
	LB_STEP_CHECK_DISK = 0,	/* the disk is still the one planned: device
				 * number, size, sector size, signature or
				 * blankness; nothing is written to it unless so */
	LB_STEP_WIPE_DISK,	/* wipe every signature on the whole disk */
	LB_STEP_WRITE_TABLE,	/* the recorded partition table */
	LB_STEP_BOOT_CODE,	/* the MBR boot-code area (bytes 0-439) */
	LB_STEP_MBR_GAP,	/* the post-MBR gap */
	LB_STEP_TELL_KERNEL,	/* BLKPG: the kernel's partitions replaced */
	LB_STEP_KERNEL_ENSURE,	/* BLKPG: any recorded partition the kernel lacks */
	LB_STEP_WRITE_CONTENT,	/* a partition's recorded raw contents (BIOS boot) */
	LB_STEP_FORMAT,		/* wipe the volume's range, make its filesystem */
	LB_STEP_WRITE_IMAGE,	/* wipe the volume's range, write its image */
	LB_STEP_EXTRACT,	/* mount it, extract its captured archive */
	LB_STEP_MAKE_MD,	/* mdadm --create with the recorded identity */
	LB_STEP_MAKE_LUKS,	/* the recorded LUKS header and keyslots */
	LB_STEP_OPEN_LUKS,	/* open it with a --key-file */
	LB_STEP_WRITE_CIPHERTEXT,	/* its captured ciphertext under it (no key) */
	LB_STEP_MAKE_VG,	/* PVs with their UUIDs, vgcfgrestore, activate */
	LB_STEP_EFI_ENTRIES,	/* this machine's EFI boot entries */
	LB_STEP_MARKER,		/* the restore-session marker */
};

struct lb_step {
	enum lb_step_kind kind;
	struct lb_plan_disk *pd;		/* its disk (NULL: EFI, marker to a path) */
	struct lb_plan_volume *pv;		/* its volume, or NULL */
	struct lb_plan_node *pn;		/* its stack node, or NULL */
	const struct lb_artifact *art;		/* what it writes, or NULL */
	char *path;				/* marker: --marker PATH */
	char *why;
};

struct lb_disk_map {
	char *from;		/* manifest disk id or recorded path */
	char *to;		/* device on this machine */
};

struct lb_plan_opts {
	struct lb_disk_map *maps;
	size_t n_maps;
	char **exclude;		/* manifest ids or recorded paths */
	size_t n_exclude;
	char **exclude_volumes;	/* --exclude-volume: every disk a volume lives
				 * on (ids, recorded paths or mount points) */
	size_t n_exclude_volumes;
	char **include;
	size_t n_include;
	char **volumes;		/* --volume: ids, recorded paths or mount points */
	size_t n_volumes;
	bool all_volumes;	/* --all-volumes */
	bool data;
	const char *marker;	/* --marker PATH: the marker goes there */
	bool no_efi;		/* never this machine's EFI boot entries (drill) */
	char **key_files;	/* --key-file: LUKS passphrases or keys */
	size_t n_key_files;
};

struct lb_plan {
	struct lb_manifest *m;	/* not owned */
	struct lb_target **targets;
	size_t n_targets;
	struct lb_plan_disk *disks;
	size_t n_disks;
	struct lb_plan_volume *vols;
	size_t n_vols;
	struct lb_plan_node *nodes;	/* the stack, bottom up */
	size_t n_nodes;
	char **unfinished;	/* volumes an interrupted restore left (journal.c) */
	size_t n_unfinished;
	char **key_files;	/* the options', for opening LUKS containers */
	size_t n_key_files;
	char **problems;	/* each one stops a restore */
	size_t n_problems;
	/* of the problems, those about putting volume contents back on
	 * intact disks: compare's exit status is about the layout */
	size_t n_content_problems;
	char **warnings;	/* said, but stop nothing */
	size_t n_warnings;
	bool usage_error;	/* a problem is in the options, not the machine */
	/* what a restore does, in order; empty when there are problems */
	struct lb_step *steps;
	size_t n_steps;
	char *no_marker;	/* why no marker is written, when none is */
};

/* journal.c: the volumes a restore of capture m began and did not finish
 * (their ids); a volume marked begun before its first step, not begun
 * after its last. */
int lb_journal_load(const struct lb_manifest *m, char ***ret, size_t *ret_n);
int lb_journal_mark(const struct lb_manifest *m, const char *id, bool begun);
bool lb_journal_has(char *const *ids, size_t n, const char *id);

/* This machine's disks; with LIFEBOAT_MACHINE=FILE a manifest stands in for
 * them (for planning without devices: golden tests). */
int lb_targets_load(const char *capture_dir, bool geometry, struct lb_target ***ret, size_t *ret_n);
void lb_target_free(struct lb_target *t);
int lb_plan_build(struct lb_manifest *m, const struct lb_plan_opts *opts,
		  struct lb_target **targets, size_t n_targets, struct lb_plan **ret);
void lb_plan_free(struct lb_plan *p);	/* frees the targets too */
bool lb_plan_all_intact(const struct lb_plan *p);
bool lb_plan_writes(const struct lb_plan *p);
int lb_plan_check_data(struct lb_plan *p, bool whole);
const char *lb_step_kind_name(enum lb_step_kind k);
const char *lb_match_name(enum lb_match h);
const char *lb_verdict_name(enum lb_verdict v);
const char *lb_vol_action_name(enum lb_vol_action a);
const char *lb_node_action_name(enum lb_node_action a);
/* "critical", "volume", "all-volumes"; NULL for LB_ROLLBACK_NONE */
const char *lb_vol_rollback_name(enum lb_vol_rollback r);
/* True when a restore writes the volume (formats it or writes its image). */
bool lb_plan_volume_writes(const struct lb_plan_volume *pv);
int lb_parse_disk_map(const char *arg, struct lb_disk_map *ret);
/* True when a recorded disk's layout still stands on the current one. */
bool lb_disk_is_intact(const struct lb_disk *rec, const struct lb_disk *cur, char **ret_why);

#endif
