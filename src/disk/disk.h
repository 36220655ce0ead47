/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Disks: scanning them into the model, boot configuration, writing partition tables. */
#ifndef LIFEBOAT_DISK_DISK_H
#define LIFEBOAT_DISK_DISK_H

#include "model/model.h"
#include "system/system.h"

/* ---- scanner (scan.c) and boot configuration (boot.c) ---- */

struct lb_scan_opts {
	char **disks;		/* --disk: only these (sysnames or paths) */
	size_t n_disks;
	char **exclude;		/* --exclude-disk */
	size_t n_exclude;
	const char *outdir;	/* capture directory, for artifacts */
	bool bad_args;		/* set by lb_scan when the options were the problem */
};

int lb_scan(struct lb_scan_opts *opts, struct lb_manifest **ret);
/* geometry: also read what recreating each volume needs (ext, vfat, swap);
 * matching disks needs only tables and identities */
int lb_scan_disk(const char *sysname, const char *id, const struct lb_sysinfo *si,
		 const char *outdir, struct lb_manifest *warnings, bool geometry, struct lb_disk **ret);
/* sr: the installed system found on the disks (an offline capture), whose
 * files are read instead of this machine's; NULL for a live capture */
int lb_boot_scan(struct lb_manifest *m, const struct lb_sysroot *sr);
int lb_boot_restore_efi(const struct lb_manifest *m, char **ret_note);
/* identity.c: /sys/class/block/NAME/ATTR stripped (NULL: absent or empty);
 * a disk's identity, sector sizes and size from sysfs */
char *lb_disk_sysattr(const char *sysname, const char *attr);
void lb_disk_scan_identity(struct lb_disk *d);
/* The volume on a node of the storage stack (an array, a LUKS mapping, a
 * logical volume): probed and its geometry read as a partition's is. */
int lb_scan_node_volume(const char *path, const char *id, uint32_t sector_size, uint64_t bytes,
			unsigned major, unsigned minor, const struct lb_sysinfo *si,
			struct lb_manifest *warnings, bool geometry, struct lb_volume **ret);
/* MD arrays, LUKS containers and LVM volume groups on the captured disks
 * (stack*.c), into m->stack, their artifacts (LUKS headers, LVM metadata)
 * into outdir. */
/* 1 when the key in KEY_FILE opens a keyslot of the LUKS header saved in
 * HEADER (a file); < 0 when not, or it cannot be read. Nothing is opened. */
int lb_luks_key_opens(const char *header, const char *key_file);
int lb_stack_scan(struct lb_manifest *m, const struct lb_sysinfo *si, const char *outdir,
		  bool geometry);

/* ---- writing partition tables (partwrite.c) ---- */

int lb_table_write(const struct lb_disk *rec, const char *path, int fd);
int lb_table_check(const struct lb_disk *rec, uint64_t target_sectors);
int lb_kernel_update_partitions(const struct lb_disk *rec, const char *sysname, int fd);
int lb_kernel_ensure_partitions(const struct lb_disk *rec, const char *sysname, int fd);
int lb_partition_node_name(const char *sysname, uint32_t number, char **ret);
int lb_partition_node(const char *sysname, uint32_t number, char **ret);
/* stack-lvm.c: lvm ARGS... as a JSON report (--units s --nosuffix): the
 * rows of KIND ("pv", "pvseg", "lv", "seg"); NULL when lvm fails or says
 * nothing. *ret_root owns them: json_object_put() it. */
struct json_object;
struct json_object *lb_lvm_report(char *const args[], size_t n_args, const char *kind,
				  struct json_object **ret_root);
const char *lb_lvm_field(struct json_object *row, const char *name);
uint64_t lb_lvm_field_u64(struct json_object *row, const char *name);

int lb_wipe_signatures(int fd, uint64_t offset, uint64_t size, uint32_t sector_size);
int lb_zero_range(int fd, uint64_t offset, uint64_t size, bool verify);
int lb_verify_zero(const char *path, uint64_t offset, uint64_t size);

#endif
