/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * lifeboat — bare-metal system recovery for Linux.
 *
 * The data model (a capture's disks, partition tables, partitions, volumes
 * and boot configuration) and every function shared between source files,
 * grouped by the file that implements it.
 *
 * Conventions: functions return int, >= 0 on success and -errno on failure;
 * on failure they leave a message for the user in lb_errmsg(). Constructors
 * and lookups return NULL when there is nothing. Destructors accept NULL.
 */
#ifndef LIFEBOAT_H
#define LIFEBOAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#define _printf_(a, b) __attribute__((format(printf, a, b)))

#define LB_VERSION "0.1.0"
#define LB_MANIFEST_FORMAT 1
#define LB_MANIFEST_NAME "manifest.xml"

/* ---- the data model (model.c) ---------------------------------------- */

enum lb_label_type {
	LB_LABEL_NONE = 0,	/* no partition table: blank or whole-disk fs */
	LB_LABEL_DOS,
	LB_LABEL_GPT,
};

enum lb_part_kind {
	LB_PART_PRIMARY = 0,
	LB_PART_EXTENDED,
	LB_PART_LOGICAL,
};

/* A file in the capture directory, with its checksum. */
struct lb_artifact {
	char *file;		/* relative to the capture directory */
	uint64_t size;
	char *sha256;		/* lowercase hex */
	long rt_line;		/* runtime: its element's line in the manifest */
};

/* What mke2fs needs to make the same ext2/3/4 filesystem again. */
struct lb_ext_geom {
	uint32_t block_size;
	uint32_t cluster_size;
	uint64_t blocks;
	uint64_t reserved_blocks;
	uint32_t inode_size;
	uint64_t inodes;
	uint32_t blocks_per_group;
	uint32_t inodes_per_group;
	uint32_t reserved_gdt_blocks;
	uint32_t desc_size;
	uint32_t log_groups_per_flex;
	uint32_t journal_blocks;
	uint32_t min_extra_isize;
	uint32_t want_extra_isize;
	uint32_t raid_stride;
	uint32_t raid_stripe_width;
	uint32_t rev;
	char *features;		/* e2p names, space separated */
	char *hash_alg;
	char *hash_seed;
	char *default_mount_opts;
	char *mount_opts;
	char *errors;
	char *encoding;
	char *creator_os;
	char *last_mounted;
};

/* The boot sector fields mkfs.fat needs to make the same FAT again. */
struct lb_vfat_geom {
	uint32_t fat_bits;
	uint32_t sector_size;
	uint32_t cluster_sectors;
	uint32_t reserved_sectors;
	uint32_t fats;
	uint32_t root_entries;
	uint32_t fat_sectors;
	uint32_t media;
	uint32_t hidden_sectors;
	uint64_t total_sectors;
	uint32_t sectors_per_track;
	uint32_t heads;
	uint32_t drive_number;
	char *serial;		/* XXXX-XXXX */
	char *boot_label;	/* label in the boot sector (may differ from blkid's) */
};

struct lb_swap_geom {
	uint32_t page_size;
	uint64_t pages;		/* last_page from the header */
	uint32_t version;
};

/* A filesystem or swap on a partition or a whole disk; "raw" when blkid
 * finds nothing. */
struct lb_volume {
	char *id;		/* "disk0p2", or "disk0" for a whole-disk fs */
	char *type;		/* blkid TYPE, or "raw" */
	char *usage;		/* blkid USAGE */
	char *version;
	char *uuid;
	char *uuid_sub;
	char *label;
	char *mountpoint;	/* at capture time, NULL when not mounted */
	char *mount_options;
	char *mount_source;	/* NULL: mounted on the capturing machine; else
				 * read from the captured disks (an offline
				 * capture): "fstab", "partition-type" or
				 * "os-release" (see struct lb_system) */
	bool critical;
	bool swap_active;

	struct lb_ext_geom *ext;
	struct lb_vfat_geom *vfat;
	struct lb_swap_geom *swap;
	struct lb_artifact *data;
	char *data_method;	/* image, archive (with data) */

	/* runtime only, never written */
	uint64_t rt_offset;	/* bytes from the start of the disk */
	uint64_t rt_size;
	unsigned rt_major, rt_minor;
};

struct lb_partition {
	uint32_t number;
	uint64_t start;		/* logical sectors */
	uint64_t size;		/* logical sectors */
	enum lb_part_kind kind;
	char *type;		/* GPT type GUID, or MBR type "0x83" */
	char *uuid;		/* GPT partition GUID */
	char *name;		/* GPT name, UTF-8 */
	uint64_t attrs;		/* GPT attribute bits */
	bool bootable;		/* MBR active flag */
	char *path;		/* node at capture time: /dev/sda2 */
	struct lb_artifact *content;	/* BIOS boot partition contents */
	struct lb_volume *volume;
	bool rt_blank;		/* runtime: its BIOS boot area is all zero */
};

struct lb_disk {
	char *id;		/* "disk0" */
	char *path;		/* /dev/sda at capture time */
	char *sysname;		/* sda */
	char *model;
	char *vendor;
	char *serial;
	char *wwn;
	char **by_id;		/* names in /dev/disk/by-id */
	size_t n_by_id;
	char *transport;
	uint64_t size;		/* logical sectors */
	uint32_t sector_size;	/* logical */
	uint32_t physical_sector_size;
	bool removable;
	bool selected;
	char *exclude_reason;	/* why not selected */

	enum lb_label_type label;
	char *signature;	/* GPT disk GUID or MBR "0x1234abcd" */
	uint64_t first_lba;	/* GPT usable range */
	uint64_t last_lba;
	uint64_t alt_lba;	/* GPT backup header */
	uint64_t entries_lba;	/* GPT entries array */
	uint32_t entries;	/* GPT entry count */
	struct lb_artifact *boot_code;	/* first 440 bytes */
	struct lb_artifact *mbr_gap;	/* sectors 1.. first partition, when used */

	struct lb_partition **parts;
	size_t n_parts;
	struct lb_volume *volume;	/* filesystem on the whole disk */
	bool rt_boot_blank;	/* runtime: the boot-code area is all zero */
};

struct lb_efi_entry {
	char *name;		/* Boot0001 */
	uint32_t attributes;	/* variable attributes */
	bool active;		/* LOAD_OPTION_ACTIVE */
	char *description;
	char *device_path;	/* textual, for the eye */
	char *data;		/* whole variable, hex: what restore writes */
};

struct lb_boot_ref {
	char *source;		/* fstab, crypttab, cmdline */
	uint32_t line;
	char *key;		/* UUID, PARTUUID, LABEL, PARTLABEL */
	char *value;
	char *where;		/* mount point, crypttab name, cmdline key */
	char *resolves;		/* volume or partition id, NULL if none */
};

struct lb_boot {
	char *firmware;		/* uefi or bios */
	char *loader;		/* grub, systemd-boot, ... when known */
	char *esp;		/* volume id of the ESP */
	char *bios_boot;	/* volume id of the BIOS boot partition */
	char *boot_order;	/* "0001,0002" */
	char *boot_current;
	char *cmdline;
	struct lb_efi_entry **efi;
	size_t n_efi;
	struct lb_boot_ref **refs;
	size_t n_refs;
};

/* The installed system an offline capture found on its disks (none of them
 * the running system's): where its mount points were read from. */
struct lb_system {
	char *source;		/* "disk" */
	char *root;		/* volume id of its root; NULL: none settled on */
	char *found_by;		/* "partition-type" or "os-release" */
	char *name;		/* os-release PRETTY_NAME */
	char **notes;		/* what was read, skipped or left undecided */
	size_t n_notes;
};

struct lb_manifest {
	uint32_t format;
	char *generator;
	char *id;		/* capture instance UUID */
	char *time;		/* UTC ISO 8601 */
	char *hostname;
	char *kernel;
	char *machine_id;
	char *data_mode;
	struct lb_disk **disks;
	size_t n_disks;
	struct lb_boot *boot;
	struct lb_system *system;	/* offline captures only */

	char *rt_dir;		/* runtime: the capture directory */
	char **rt_warnings;	/* runtime: what the scanner could not read */
	size_t n_rt_warnings;
};

struct lb_manifest *lb_manifest_new(void);
void lb_manifest_free(struct lb_manifest *m);
struct lb_disk *lb_disk_new(void);
void lb_disk_free(struct lb_disk *d);
struct lb_partition *lb_partition_new(void);
void lb_partition_free(struct lb_partition *p);
struct lb_volume *lb_volume_new(void);
void lb_volume_free(struct lb_volume *v);
struct lb_artifact *lb_artifact_new(void);
void lb_artifact_free(struct lb_artifact *a);
struct lb_boot *lb_boot_new(void);
void lb_boot_free(struct lb_boot *b);
struct lb_efi_entry *lb_efi_entry_new(void);
void lb_efi_entry_free(struct lb_efi_entry *e);
struct lb_boot_ref *lb_boot_ref_new(void);
void lb_boot_ref_free(struct lb_boot_ref *r);
struct lb_ext_geom *lb_ext_geom_new(void);
void lb_ext_geom_free(struct lb_ext_geom *g);
struct lb_vfat_geom *lb_vfat_geom_new(void);
void lb_vfat_geom_free(struct lb_vfat_geom *g);
struct lb_swap_geom *lb_swap_geom_new(void);
void lb_swap_geom_free(struct lb_swap_geom *g);
struct lb_system *lb_system_new(void);
void lb_system_free(struct lb_system *s);
void lb_system_note(struct lb_system *s, const char *fmt, ...) _printf_(2, 3);

int lb_manifest_add_disk(struct lb_manifest *m, struct lb_disk *d);
int lb_disk_add_partition(struct lb_disk *d, struct lb_partition *p);
int lb_disk_add_by_id(struct lb_disk *d, const char *name);
int lb_boot_add_efi(struct lb_boot *b, struct lb_efi_entry *e);
int lb_boot_add_ref(struct lb_boot *b, struct lb_boot_ref *r);
void lb_manifest_warn(struct lb_manifest *m, const char *fmt, ...) _printf_(2, 3);

struct lb_disk *lb_manifest_find_disk(const struct lb_manifest *m, const char *id_or_path);
struct lb_partition *lb_disk_find_partition(const struct lb_disk *d, uint32_t number);
struct lb_volume *lb_manifest_find_volume(const struct lb_manifest *m, const char *id);
/* The volume an identity names: KEY is UUID, LABEL (the volume's), PARTUUID
 * or PARTLABEL (its partition's; an MBR PARTUUID is the disk identifier, a
 * dash and the number), compared as blkid and udev do; NULL when none. */
struct lb_volume *lb_manifest_resolve(const struct lb_manifest *m, const char *key,
				      const char *value);
/* True when the volume is mounted (or active swap) on the capturing machine;
 * a mount point read from the disk is not. */
bool lb_volume_mounted_here(const struct lb_volume *v);
/* Calls fn for every volume (whole-disk and on partitions) in manifest order;
 * stops and returns fn's value when it is non-zero. */
int lb_manifest_foreach_volume(const struct lb_manifest *m,
			       int (*fn)(struct lb_disk *, struct lb_partition *,
					 struct lb_volume *, void *),
			       void *userdata);
const char *lb_label_type_name(enum lb_label_type t);
int lb_label_type_from_name(const char *s, enum lb_label_type *ret);
const char *lb_part_kind_name(enum lb_part_kind k);
int lb_part_kind_from_name(const char *s, enum lb_part_kind *ret);
bool lb_disk_is_critical(const struct lb_disk *d);
/* The bytes each recorded area may take on the disk, from its recorded
 * geometry: what the manifest check holds an artifact to and the writer
 * refuses to go past. 0: none may be written there. */
#define LB_BOOT_CODE_SIZE 440
uint64_t lb_disk_mbr_gap_room(const struct lb_disk *d);	/* sector 1 .. first partition (MBR) */
uint64_t lb_partition_room(const struct lb_disk *d, const struct lb_partition *p);
/* a volume's bytes: its partition's, or the whole disk's when p is NULL */
uint64_t lb_volume_room(const struct lb_disk *d, const struct lb_partition *p);

/* ---- utilities (util.c) ---------------------------------------------- */

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(lb_freep)
#define _cleanup_close_ _cleanup_(lb_closep)
#define _cleanup_fclose_ _cleanup_(lb_fclosep)
#define LB_ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))

static inline void *lb_take_ptr_(void *pp)
{
	void **p = pp, *r = *p;
	*p = NULL;
	return r;
}
#define TAKE_PTR(p) lb_take_ptr_(&(p))

void lb_freep(void *p);
void lb_closep(int *fd);
void lb_fclosep(FILE **f);

/* The last error's message, for the user. Core code sets it; cmd code
 * prints it. */
int lb_err(int err, const char *fmt, ...) _printf_(2, 3);
const char *lb_errmsg(void);

/* Tracing to stderr when LIFEBOAT_DEBUG is set ("all" or a list of areas). */
void lb_debug(const char *area, const char *fmt, ...) _printf_(2, 3);

/* Program code: print "lifeboat: ..." to stderr. */
void lb_warn(const char *fmt, ...) _printf_(1, 2);
/* With stderr locked (flockfile): a progress line was just drawn; or one,
 * if drawn, is cleared (as lb_warn and lb_debug do before their lines). */
void lb_stderr_progress_shown(void);
void lb_stderr_progress_clear(void);

char *lb_strdup(const char *s);		/* NULL-safe, aborts on ENOMEM */
char *lb_asprintf(const char *fmt, ...) _printf_(1, 2);
void *lb_zalloc(size_t n);
void *lb_realloc_array(void *p, size_t n, size_t size);
char *lb_strstrip(char *s);
/* -EPERM when PATH is not a regular file (a FIFO is never waited on). */
int lb_read_file(const char *path, char **ret, size_t max);
/* The rest of an open file, at most max bytes (-EFBIG beyond); its length. */
int lb_read_fd(int fd, char **ret, size_t max);
/* A capture's file, for reading: a regular file, not through a symlink;
 * the fd, or < 0 with lb_err() said. */
int lb_open_artifact(const char *path);
int lb_read_line(const char *path, char **ret);	/* first line, stripped */
int lb_read_u64(const char *path, uint64_t *ret);
int lb_write_file(const char *path, const void *buf, size_t len, int mode);
int lb_pread_all(int fd, void *buf, size_t len, uint64_t off);
int lb_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
int lb_parse_u64(const char *s, uint64_t *ret);
int lb_parse_u32(const char *s, uint32_t *ret);
bool lb_is_zero(const void *buf, size_t len);
bool lb_utf8_is_printable(const char *s);
char *lb_printable_copy(const char *s);
const char *lb_esc(const char *s);
char *lb_unescape_octal(const char *s);
char *lb_udev_unescape(const char *s);
int lb_mount_tmp(const char *node, const char *type, bool readonly, char **ret_dir);
int lb_umount_tmp(char *dir);
bool lb_type_is_ext(const char *type);
char *lb_hex_encode(const void *buf, size_t len);
int lb_hex_decode(const char *hex, uint8_t **ret, size_t *ret_len);
int lb_sha256_fd(int fd, uint64_t off, uint64_t len, char ret[65]);
int lb_sha256_buf(const void *buf, size_t len, char ret[65]);
int lb_sha256_file(const char *path, char ret[65], uint64_t *ret_size);
int lb_mkdir_p(const char *path, int mode);
/* Directories and files inside a filesystem this program did not make the
 * contents of (a restored root): REL is resolved below ROOTFD as openat2's
 * RESOLVE_IN_ROOT does, so no "..", symlink or mount leads out of it.
 * lb_open_in_root opens it (never a magic link; a FIFO or a tty does not
 * block or become the controlling terminal);
 * lb_mkdir_in_root makes what is missing of REL and returns its directory
 * fd; lb_write_file_in_root writes DIR/NAME as a new file renamed into
 * place (a link or node planted at NAME is replaced, never written to). */
int lb_open_in_root(int rootfd, const char *rel, int flags);
int lb_mkdir_in_root(int rootfd, const char *rel, int mode);
int lb_write_file_in_root(int rootfd, const char *dir, const char *name, const void *buf, size_t len,
			  int mode);
int lb_rm_rf(const char *path);
char *lb_utc_now(void);
/* Runs argv (no shell), stdout/stderr to ours unless quiet. Returns the
 * exit status (>= 0) or -errno when it could not run. */
int lb_run(char *const argv[], bool quiet);
/* /dev/sdX or /dev/loopN, resolved to the kernel's name of a whole disk */
int lb_dev_sysname(const char *dev, char **ret_sysname, bool *ret_is_partition);

/* ---- system state (sysinfo.c) ----------------------------------------- */

/* What is in use on this machine: mounts, active swap, holders. */
struct lb_mount {
	unsigned major, minor;	/* the filesystem's (0:N for btrfs, FUSE, ZFS) */
	char *target;
	char *options;		/* the mount's own (VFS) options */
	char *source;
	dev_t *devs;		/* block devices its source names (btrfs: all of them) */
	size_t n_devs;
};

struct lb_sysinfo {
	struct lb_mount *mounts;
	size_t n_mounts;
	dev_t *swaps;
	size_t n_swaps;
};

int lb_sysinfo_load(struct lb_sysinfo **ret);
void lb_sysinfo_free(struct lb_sysinfo *si);
const struct lb_mount *lb_sysinfo_find_mount(const struct lb_sysinfo *si, unsigned major, unsigned minor);
/* The mount whose filesystem lives on block device major:minor: by its
 * device number or by its source's devices. */
const struct lb_mount *lb_sysinfo_find_mount_on(const struct lb_sysinfo *si, unsigned major,
						unsigned minor);
/* True when the filesystem with device number fs_dev (a stat's st_dev)
 * lives on block device major:minor. */
bool lb_sysinfo_fs_on(const struct lb_sysinfo *si, dev_t fs_dev, unsigned major, unsigned minor);
bool lb_sysinfo_is_swap(const struct lb_sysinfo *si, unsigned major, unsigned minor);
/* Why a whole disk must not be written: a mounted filesystem, active swap or
 * a holder on it or any partition. Returns 1 and a reason, 0 if free. */
int lb_disk_in_use(const struct lb_sysinfo *si, const char *sysname, char **ret_reason);
bool lb_mountpoint_is_critical(const char *target);
bool lb_block_has_holders(const char *sysname);

/* ---- scanner (scan.c, fs_ext.c, fs_vfat.c, fs_swap.c, boot.c) --------- */

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
int lb_ext_read_geom(const char *dev, uint64_t offset, struct lb_ext_geom **ret);
int lb_vfat_read_geom(int fd, uint64_t offset, struct lb_vfat_geom **ret);
int lb_swap_read_geom(int fd, uint64_t offset, uint64_t size, struct lb_swap_geom **ret);
struct lb_sysroot;
/* sr: the installed system found on the disks (an offline capture), whose
 * files are read instead of this machine's; NULL for a live capture */
int lb_boot_scan(struct lb_manifest *m, const struct lb_sysroot *sr);

/* ---- an installed system on the captured disks (sysroot.c) ------------ */

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
int lb_boot_restore_efi(const struct lb_manifest *m, char **ret_note);

/* ---- manifest I/O (manifest.c) ---------------------------------------- */

int lb_manifest_write(const struct lb_manifest *m, const char *path);
int lb_manifest_write_mem(const struct lb_manifest *m, char **ret, size_t *ret_len);
/* CAPTURE is a directory or its manifest.xml. Validates against the schema. */
int lb_manifest_load(const char *capture, struct lb_manifest **ret);
int lb_manifest_load_mem(const char *buf, size_t len, const char *name, struct lb_manifest **ret);
/* Checks an artifact's size and checksum against the capture directory. */
int lb_artifact_verify(const struct lb_manifest *m, const struct lb_artifact *a);
/* Writes buf to the capture directory as file and fills the artifact. */
int lb_artifact_save(const char *dir, const char *file, const void *buf, size_t len,
		     struct lb_artifact **ret);
extern const char lb_schema_rng[];
extern const unsigned lb_schema_rng_len;

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

struct lb_plan_volume {
	struct lb_plan_disk *pd;
	struct lb_partition *part;	/* NULL for a whole-disk volume */
	struct lb_volume *vol;
	enum lb_vol_action action;
	bool extract;		/* format, then extract its captured archive */
	/* its content put back on an intact disk, the layout left alone
	 * (ASR: critical volumes always; others when named) */
	enum lb_vol_rollback rollback;
	char *why;
	char *result;		/* after a restore: what happened to it */
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
	char **include;
	size_t n_include;
	char **volumes;		/* --volume: ids, recorded paths or mount points */
	size_t n_volumes;
	bool all_volumes;	/* --all-volumes */
	bool data;
};

struct lb_plan {
	struct lb_manifest *m;	/* not owned */
	struct lb_target **targets;
	size_t n_targets;
	struct lb_plan_disk *disks;
	size_t n_disks;
	struct lb_plan_volume *vols;
	size_t n_vols;
	char **problems;	/* each one stops a restore */
	size_t n_problems;
	/* of the problems, those about putting volume contents back on
	 * intact disks: compare's exit status is about the layout */
	size_t n_content_problems;
	char **warnings;	/* said, but stop nothing */
	size_t n_warnings;
	bool usage_error;	/* a problem is in the options, not the machine */
};

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
int lb_plan_print(const struct lb_plan *p, FILE *f);
int lb_plan_print_json(const struct lb_plan *p, FILE *f);
const char *lb_match_name(enum lb_match h);
const char *lb_verdict_name(enum lb_verdict v);
const char *lb_vol_action_name(enum lb_vol_action a);
/* "critical", "volume", "all-volumes"; NULL for LB_ROLLBACK_NONE */
const char *lb_vol_rollback_name(enum lb_vol_rollback r);
/* True when a restore writes the volume (formats it or writes its image). */
bool lb_plan_volume_writes(const struct lb_plan_volume *pv);
int lb_parse_disk_map(const char *arg, struct lb_disk_map *ret);
/* True when a recorded disk's layout still stands on the current one. */
bool lb_disk_is_intact(const struct lb_disk *rec, const struct lb_disk *cur, char **ret_why);

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

/* ---- writing (restore.c, partwrite.c, marker.c) ----------------------- */

struct lb_restore_opts {
	bool quick;		/* --quick-format */
	bool data;
	const char *marker;	/* --marker PATH */
	bool efi;		/* may write this machine's EFI boot entries */
	FILE *log;		/* progress and the record of what was done */
};

int lb_restore_run(struct lb_plan *p, const struct lb_restore_opts *opts, const char *log_path,
		   char **ret_instance);
int lb_table_write(const struct lb_disk *rec, const char *path, int fd);
int lb_table_check(const struct lb_disk *rec, uint64_t target_sectors);
int lb_kernel_update_partitions(const struct lb_disk *rec, const char *sysname, int fd);
int lb_kernel_ensure_partitions(const struct lb_disk *rec, const char *sysname, int fd);
int lb_partition_node_name(const char *sysname, uint32_t number, char **ret);
int lb_partition_node(const char *sysname, uint32_t number, char **ret);
int lb_wipe_signatures(int fd, uint64_t offset, uint64_t size, uint32_t sector_size);
int lb_zero_range(int fd, uint64_t offset, uint64_t size, bool verify);
int lb_verify_zero(const char *path, uint64_t offset, uint64_t size);
int lb_marker_write(const struct lb_plan *p, const char *path, char **ret_instance);
int lb_marker_render(const struct lb_plan *p, char **ret_xml, size_t *ret_len, char **ret_instance);

/* ---- volume data (data.c, image.c, archive.c, datafile.c) --------------- */

enum lb_data_mode {
	LB_DATA_NONE = 0,
	LB_DATA_AUTO,
	LB_DATA_IMAGE,
	LB_DATA_ARCHIVE,
};

struct lb_data_opts {
	enum lb_data_mode mode;
	int level;		/* zstd level, 0 for none */
	const char *outdir;	/* where artifacts go (the partial capture) */
	const char *final_dir;	/* the capture's final name, left out of archives */
	bool report;
};

struct lb_progress {
	const char *what;
	uint64_t total;		/* 0: not known */
	bool estimate;		/* total is a guess: said so */
	uint64_t bytes;
	bool tty;
	double every;		/* seconds between updates */
	double last;
	struct timespec start;
};

int lb_data_mode_parse(const char *s, enum lb_data_mode *ret);
int lb_data_capture(struct lb_manifest *m, struct lb_data_opts *o);
void lb_progress_begin(struct lb_progress *p, const char *what, uint64_t total);
/* After lb_progress_begin: total is only a guess (shown as one). */
void lb_progress_estimate(struct lb_progress *p, uint64_t total);
void lb_progress_update(void *ud, uint64_t bytes);
void lb_progress_end(struct lb_progress *p);
double lb_progress_seconds(const struct lb_progress *p);
int lb_image_used_bytes(const char *disk_path, const struct lb_volume *v, uint64_t *ret);
int lb_image_capture(const char *disk_path, int disk_fd, const struct lb_volume *v, int out_fd,
		     int level, void (*progress)(void *, uint64_t), void *pud, char sha256[65],
		     uint64_t *ret_size);
int lb_image_restore(int data_fd, const char *name, const struct lb_artifact *a, int dev_fd,
		     uint64_t dev_size, void (*progress)(void *, uint64_t), void *pud);
/* direct_fd: the same device opened with O_DIRECT (or -1); aligned extents
 * go through it */
int lb_image_restore_direct(int data_fd, const char *name, const struct lb_artifact *a, int dev_fd,
			    int direct_fd, uint64_t dev_size, void (*progress)(void *, uint64_t),
			    void *pud);
/* The header alone: the container's kind (LB_CONTAINER_*, datafile.h) and
 * the size of the volume it was taken from (0 for a stream). */
int lb_data_read_header(int fd, const char *name, uint32_t *ret_kind, uint64_t *ret_vol_size);
/* Header, every chunk's framing, index, trailer and size, without the data. */
int lb_data_check_framing(int fd, const char *name, const struct lb_artifact *a);
/* The data bytes a data file holds, as its trailer says (0 when it says
 * nothing readable): a progress total, not a check. */
uint64_t lb_data_raw_total(int fd);
/* The framing, then the whole file against its SHA-256 (the damaged chunk
 * named when there is one), nothing decompressed. */
int lb_data_check_sum(int fd, const char *name, const struct lb_artifact *a);
int lb_data_verify_file(int data_fd, const char *name, const struct lb_artifact *a,
			uint64_t *ret_bytes);
int lb_archive_capture(const char *root, char *const *exclude, size_t n_exclude, int out_fd,
		       int level, void (*progress)(void *, uint64_t), void *pud, char sha256[65],
		       uint64_t *ret_size);
int lb_archive_extract(int data_fd, const char *name, const struct lb_artifact *a,
		       const char *root, void (*progress)(void *, uint64_t), void *pud);
/* Compares a tree with the archive it came from; prints what differs. */
int lb_archive_compare(int data_fd, const char *name, const char *root, unsigned *ret_diffs);

/* ---- tree walk with read-ahead (walk.c) ------------------------------ */

struct lb_walk;
struct lb_walk_entry {
	const char *path;	/* absolute */
	const char *rel;	/* "./" for the root, "./a/b" below it */
	struct stat st;		/* lstat */
};

/* Walks root (one filesystem; paths under exclude and sockets left out)
 * on threads of its own, reading the files ahead of the consumer. */
int lb_walk_start(const char *root, char *const *exclude, size_t n_exclude, struct lb_walk **ret);
/* 1 and the next entry (valid until the next call), 0 at the end, < 0 when
 * the walk failed. */
int lb_walk_next(struct lb_walk *w, struct lb_walk_entry *ret);
void lb_walk_free(struct lb_walk *w);

/* ---- a file's allocation (filemap.c) ---------------------------------- */

enum lb_alloc {
	LB_ALLOC_HOLE = 0,	/* (never in a map: what lies between ranges) */
	LB_ALLOC_DATA,		/* written */
	LB_ALLOC_UNWRITTEN,	/* allocated, reads as zeros (fallocate) */
};

struct lb_alloc_range {
	uint64_t off, len;
	enum lb_alloc kind;
};

/* In order, not touching ranges of one kind; holes are the gaps. */
struct lb_filemap {
	struct lb_alloc_range *r;
	size_t n, cap;
};

/* The map of the file's first size bytes (FIEMAP, with the file written
 * out first, checked against SEEK_DATA; SEEK_DATA alone where there is no
 * FIEMAP). Data is never mapped as a hole or unwritten. */
int lb_filemap_read(int fd, uint64_t size, struct lb_filemap *ret);
/* Appends a range after the last (the caller keeps them in order): one
 * range with the last when they touch and are of one kind; holes and empty
 * ranges are not kept. */
void lb_filemap_add(struct lb_filemap *m, uint64_t off, uint64_t len, enum lb_alloc kind);
/* One range of data from 0 to size (or size 0): no holes, nothing
 * preallocated. */
bool lb_filemap_dense(const struct lb_filemap *m, uint64_t size);
void lb_filemap_clear(struct lb_filemap *m);

/* ---- loop devices (loopdev.c) ----------------------------------------- */

int lb_loop_attach(const char *file, uint32_t sector_size, char **ret_path, int *ret_fd);
int lb_loop_attach_ro(const char *node, char **ret_path, int *ret_fd);
int lb_loop_detach(int fd);

/* ---- output (show.c) -------------------------------------------------- */

int lb_show_text(const struct lb_manifest *m, FILE *f);
int lb_show_json(const struct lb_manifest *m, FILE *f);

/* ---- subcommands (cmd_*.c) -------------------------------------------- */

int cmd_capture(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_drill(int argc, char **argv);
int cmd_mkrescue(int argc, char **argv);

/* exit codes */
#define LB_EXIT_OK 0
#define LB_EXIT_FAIL 1
#define LB_EXIT_USAGE 2

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
