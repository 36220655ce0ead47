/* SPDX-License-Identifier: GPL-3.0-or-later */
/* This machine: what is in use (mounts, swap, holders) and an installed system found on the captured disks. */
#ifndef LIFEBOAT_SYSTEM_SYSTEM_H
#define LIFEBOAT_SYSTEM_SYSTEM_H

#include "model/model.h"

/* ---- system state (sysinfo.c) ----------------------------------------- */

/* What is in use on this machine: mounts, active swap, holders. */
struct lb_mount {
	unsigned major, minor;	/* the filesystem's (0:N for btrfs, FUSE, ZFS) */
	char *target;
	char *root;		/* what of the filesystem is mounted there: "/", a
				 * btrfs subvolume "/@home", a bind mount's dir */
	char *options;		/* the mount's own (VFS) options */
	bool sb_rw;		/* its filesystem is writable (the superblock's
				 * options: read-write through another mount of
				 * it even where this one is read-only) */
	char *source;
	dev_t *devs;		/* block devices its source names (btrfs: all of them) */
	size_t n_devs;
};

struct lb_sysinfo {
	struct lb_mount *mounts;
	size_t n_mounts;
	dev_t *swaps;
	size_t n_swaps;
	/* ZFS pools imported here: /proc/spl/kstat/zfs/<pool>/ (or the
	 * directory LIFEBOAT_ZFS_KSTAT names), and the pool of every zfs
	 * mount ("pool/dataset"); their member disks are in use */
	char **zfs_pools;
	size_t n_zfs_pools;
};

int lb_sysinfo_load(struct lb_sysinfo **ret);
void lb_sysinfo_free(struct lb_sysinfo *si);
const struct lb_mount *lb_sysinfo_find_mount(const struct lb_sysinfo *si, unsigned major, unsigned minor);
/* The mount whose filesystem lives on block device major:minor: by its
 * device number or by its source's devices; of several, one of the whole
 * filesystem (root "/") first, then the shortest mount point. */
const struct lb_mount *lb_sysinfo_find_mount_on(const struct lb_sysinfo *si, unsigned major,
						unsigned minor);
/* True when the filesystem with device number fs_dev (a stat's st_dev)
 * lives on block device major:minor. */
bool lb_sysinfo_fs_on(const struct lb_sysinfo *si, dev_t fs_dev, unsigned major, unsigned minor);
bool lb_sysinfo_is_swap(const struct lb_sysinfo *si, unsigned major, unsigned minor);
bool lb_sysinfo_zfs_imported(const struct lb_sysinfo *si, const char *pool);
/* Why a whole disk must not be written: a mounted filesystem, active swap,
 * a holder, or a member of an imported ZFS pool (blkid: zfs_member, its
 * LABEL the pool) on it or any partition. Returns 1 and a reason, 0 if
 * free. */
int lb_disk_in_use(const struct lb_sysinfo *si, const char *sysname, char **ret_reason);
bool lb_mountpoint_is_critical(const char *target);
bool lb_block_has_holders(const char *sysname);

/* ---- an installed system on the captured disks (sysroot.c) ------------ */

struct lb_sysroot;

/* One line of an fstab, unescaped. */
struct lb_fstab_entry {
	uint32_t line;
	char *spec;		/* UUID=..., /dev/..., ... */
	char *file;		/* mount point, or "none"/"swap" */
	char *type;
	char *options;
};

/* Tolerant: comments, blank and malformed lines are left out. */
int lb_fstab_parse(const char *buf, struct lb_fstab_entry **ret, size_t *ret_n);
void lb_fstab_free(struct lb_fstab_entry *e, size_t n);
/* Why an entry mounts no local volume at boot (noauto, network, pseudo or
 * bind), or NULL when it does. */
const char *lb_fstab_skip_reason(const struct lb_fstab_entry *e);
/* The captured volume an fstab source names: KEY=value, /dev/disk/by-KEY/
 * (udev's \xNN escapes), /dev/disk/by-id/ (the recorded names) or a device
 * path as recorded at capture; never this machine's /dev. */
struct lb_volume *lb_fstab_resolve(const struct lb_manifest *m, const char *spec);
/* When no captured volume is mounted on / here, looks for an installed
 * system on the captured disks that nothing here uses (their filesystems
 * mounted read-only, no journal replayed), and records its mount points,
 * swap and critical volumes from its fstab into m (m->system says so).
 * *ret: its volumes, still mounted, for lb_boot_scan; NULL when none. */
int lb_sysroot_find(struct lb_manifest *m, struct lb_sysroot **ret);
/* A file of the found system (PATH relative to its /), resolved inside
 * the volume that holds it (symlinks never leave it), a regular file of at
 * most max bytes; its length. */
int lb_sysroot_read(const struct lb_sysroot *s, const char *path, size_t max, char **ret);
bool lb_sysroot_exists(const struct lb_sysroot *s, const char *path);
/* Unmounts everything lb_sysroot_find mounted. */
void lb_sysroot_free(struct lb_sysroot *s);

/* ---- LVM snapshots for a live capture (lvsnap.c) ---------------------- */

/* A snapshot lifeboat takes is named this and its origin's name: one a
 * killed capture left is recognised and removed by the next. */
#define LB_LVSNAP_PREFIX "lifeboat-snap-"

struct lb_lvsnap {
	char *vg;
	char *name;		/* lifeboat-snap-<origin> */
	char *path;		/* its device node */
	uint64_t sectors;	/* its copy-on-write space, 512-byte sectors */
};

/* Takes a snapshot of VG/LV (LV_SECTORS long) sized min(a tenth of it, at
 * least one extent; the group's free extents). 0 and *ret; 1 and *ret_why
 * (free it) when there is no room or lvm could not make one; < 0 on
 * error. */
int lb_lvsnap_take(const char *vg, const char *lv, uint64_t lv_sectors, struct lb_lvsnap **ret,
		   char **ret_why);
/* 1 while the snapshot is whole, 0 once it filled up (invalid), < 0 when
 * lvm cannot tell. */
int lb_lvsnap_valid(const struct lb_lvsnap *s);
/* Removes the snapshot (close its node first) and frees s; NULL accepted. */
int lb_lvsnap_drop(struct lb_lvsnap *s);
/* Removes every snapshot named lifeboat-snap-* (an interrupted capture's),
 * calling removed for each; how many, or < 0 when one stayed. */
int lb_lvsnap_cleanup(void (*removed)(void *ud, const char *vg, const char *lv), void *ud);

/* ---- btrfs subvolumes and capture snapshots (btrfs-snap.c) ------------ */

/* A snapshot taken for a capture is named .lifeboat-snap.<pid>.<id>.<tag>,
 * in the top level: the next capture removes one no running capture holds
 * (btrfs-snap.c says how it tells). */
#define LB_BTRFS_SNAP_PREFIX ".lifeboat-snap."

/* The top level (subvolume 5) of a btrfs, mounted privately. */
struct lb_btrfs_top {
	char *dir;
	int fd;		/* of dir */
	bool live;	/* read-write, for snapshots; else read-only */
	char **devs;	/* read through loop devices: its devices, scanned again after */
	bool snap_locked;	/* lb_btrfs_snap_begin's lock held on fd */
	char snap_tag[LB_HELD_TAG_LEN + 1];	/* this capture's, in its snapshots' names */
};

/* True when NAME is a capture snapshot's; its PID and subvolume ID, and
 * whether an older lifeboat named it (no tag: .lifeboat-snap.<pid>.<id>). */
bool lb_btrfs_snap_name(const char *name, long *ret_pid, uint64_t *ret_id, bool *ret_old);
/* Mounts the top level of the btrfs on DEV: RW read-write (to take
 * snapshots, or make subvolumes), else read-only replaying nothing, and
 * then through a read-only loop device unless DIRECT (the filesystem is
 * mounted here already). */
enum { LB_BTRFS_TOP_RW = 1, LB_BTRFS_TOP_DIRECT = 2 };
int lb_btrfs_top_mount(const char *dev, unsigned flags, struct lb_btrfs_top **ret);
int lb_btrfs_top_umount(struct lb_btrfs_top *t);
/* Its subvolumes (but lifeboat's snapshots) by ID, and the default. */
int lb_btrfs_subvols_read(const struct lb_btrfs_top *t, struct lb_btrfs_subvols **ret);
/* A read-only snapshot of subvolume SV (NULL: the top level) in the top
 * level, after lb_btrfs_snap_begin; *ret its path. */
int lb_btrfs_snap_take(const struct lb_btrfs_top *t, const struct lb_btrfs_subvol *sv, char **ret);
int lb_btrfs_snap_drop(const struct lb_btrfs_top *t, const char *snap);
/* Before a live capture's first snapshot: locks the top level (shared,
 * until lb_btrfs_top_umount) and, when no other capture of this btrfs runs
 * (in any PID namespace), first removes the snapshots killed captures
 * left; how many. */
int lb_btrfs_snap_begin(struct lb_btrfs_top *t);

#endif
