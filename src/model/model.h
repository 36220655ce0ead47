/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The data model: a capture's disks, partition tables, partitions, volumes and boot configuration. */
#ifndef LIFEBOAT_MODEL_MODEL_H
#define LIFEBOAT_MODEL_MODEL_H

#include "base/base.h"

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
	char *sha256;		/* lowercase hex: of the file as stored */
	bool encrypted;		/* sealed or an encrypted data file (crypt.h) */
	long rt_line;		/* runtime: its element's line in the manifest */
	const struct lb_key *rt_key;	/* runtime: the capture's key, when known */
};

/* How a capture is encrypted (base/crypt.h): what the manifest records,
 * never key material. */
struct lb_encryption {
	char *cipher;		/* aes-256-gcm */
	char *kdf;		/* argon2id */
	uint32_t kdf_time;
	uint32_t kdf_memory;	/* KiB */
	uint32_t kdf_lanes;
	char *salt;		/* hex */
	char *key_check;	/* hex: HKDF of the key (crypt.c) */
	char *manifest_mac;	/* hex: HMAC of the manifest (manifest-crypt.c) */
	/* runtime: SHA-256 of the manifest as read, its MAC zeroed */
	uint8_t rt_digest[32];
	bool rt_has_digest;
};

/* A field table: an element's attributes, each a member of a struct, in the
 * order the manifest writes them. The manifest's reader and writer walk it,
 * show walks it for JSON; each filesystem describes its geometry with one
 * (src/fs/fs_*.c). */
enum lb_field_type {
	LB_F_STR,	/* text */
	LB_F_U64,
	LB_F_U32,
	LB_F_BOOL,
	LB_F_HEX64,	/* 0x0000000000000000 */
	LB_F_LABEL,	/* enum lb_label_type */
	LB_F_KIND,	/* enum lb_part_kind */
};

enum {
	LB_F_OPT = 1,	/* left out when zero, false or NULL */
	LB_F_HEX = 2,	/* written as NAME-hex when not printable UTF-8; other
			 * text fields carry only printable text */
};

struct lb_field {
	const char *name;	/* the XML attribute; JSON's key is it with '_' for '-' */
	enum lb_field_type type;
	size_t off;		/* offsetof the member */
	unsigned flags;
};

#define LB_FIELD(st, attr, type, member, fl) { attr, type, offsetof(struct st, member), fl }
#define LB_FIELD_END { NULL, 0, 0, 0 }

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

/* What mkfs.xfs needs to make the same xfs again, read from its primary
 * superblock (src/fs/fs_xfs.c). Sizes in bytes unless said. */
struct lb_xfs_geom {
	uint32_t version;	/* superblock version: 4 or 5 */
	uint32_t block_size;
	uint32_t sector_size;
	uint64_t blocks;	/* data section, in blocks */
	uint32_t ag_count;
	uint32_t ag_blocks;
	uint32_t inode_size;
	uint32_t imaxpct;
	uint32_t dir_block_size;
	uint32_t stripe_unit;	/* blocks (sb_unit) */
	uint32_t stripe_width;	/* blocks (sb_width) */
	uint32_t log_blocks;
	uint64_t log_start;	/* filesystem block of the internal log */
	uint32_t log_version;
	uint32_t log_sector_size;
	uint32_t log_stripe_unit;	/* bytes (sb_logsunit) */
	char *features;		/* names, space separated (crc finobt ...) */
	char *meta_uuid;	/* when it differs from the UUID (meta_uuid) */
};

/* What mkfs.btrfs needs to make the same btrfs again, and which of its
 * devices this volume is, read from the device's superblock and the chunk
 * tree (src/fs/fs_btrfs.c). Sizes in bytes. */
struct lb_btrfs_geom {
	uint32_t node_size;
	uint32_t sector_size;
	char *csum;		/* crc32c, xxhash, sha256 or blake2 */
	char *features;		/* names, space separated (extref no_holes ...) */
	char *metadata_uuid;	/* when it differs from the fsid (metadata_uuid) */
	uint64_t devices;	/* num_devices */
	uint64_t devid;		/* this device's */
	char *dev_uuid;		/* this device's */
	uint64_t dev_bytes;	/* this device's size in the filesystem */
	uint64_t total_bytes;	/* the filesystem's, all devices */
	uint64_t bytes_used;
	char *data;		/* profiles: single dup raid0 raid1 raid1c3 */
	char *metadata;		/* raid1c4 raid10 raid5 raid6 */
	char *system;
};

struct lb_swap_geom {
	uint32_t page_size;
	uint64_t pages;		/* last_page from the header */
	uint32_t version;
};

/* One subvolume of a btrfs (libbtrfsutil's view): its ID (256 and up;
 * 5, the top level, is not listed), its path from the top level, its
 * UUIDs, what btrfs receive gave it and whether it is read-only. */
struct lb_btrfs_subvol {
	uint64_t id;
	char *path;		/* "home", "snaps/1" */
	char *uuid;
	char *parent_uuid;	/* of the subvolume it is a snapshot of */
	char *received_uuid;	/* of the subvolume it was received from */
	/* with a received UUID: the sent subvolume's transaction ID
	 * (stransid) and send time (stime, seconds and nanoseconds; btrfs
	 * receive leaves it 0), what BTRFS_IOC_SET_RECEIVED_SUBVOL takes */
	uint64_t stransid;
	uint64_t stime;
	uint32_t stime_nsec;
	bool readonly;
	/* 0, or the ID of an earlier subvolume (its parent) whose files its
	 * archive may name as clones rather than carry (archive-int.h
	 * CLONE_XATTR) */
	uint64_t clones_from;
};

/* The subvolume tree of a btrfs, sorted by ID; the default subvolume (5
 * the top level). */
struct lb_btrfs_subvols {
	uint64_t default_id;
	struct lb_btrfs_subvol *subvols;
	size_t n;
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
	struct lb_xfs_geom *xfs;
	struct lb_btrfs_geom *btrfs;
	struct lb_artifact *data;
	char *data_method;	/* image, archive (with data) */
	char *data_source;	/* where the data was read: NULL the volume
				 * itself, "lvm-snapshot" an LVM snapshot of
				 * it taken for the capture, "btrfs-snapshot"
				 * read-only btrfs snapshots of each subvolume,
				 * "live" the volume mounted read-write with no
				 * snapshot: each file as it was when read */
	char *data_from, *data_to;	/* "live": when the reading began and
					 * ended (UTC), or NULL */
	struct lb_btrfs_subvols *subvols;	/* btrfs: its subvolumes, or NULL */

	/* runtime only, never written */
	uint64_t rt_offset;	/* bytes from the start of the disk */
	uint64_t rt_size;
	unsigned rt_major, rt_minor;
	char *rt_in_use;	/* why it is in use here though not mounted (a
				 * member of an imported ZFS pool), or NULL */
	bool rt_writable;	/* mounted, its filesystem writable here (by any
				 * of its mounts, whatever mount_options says) */
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
	struct lb_stack *stack;		/* MD, LUKS, LVM; NULL: none */
	struct lb_encryption *encryption;	/* NULL: nothing encrypted */

	char *rt_dir;		/* runtime: the capture directory */
	char **rt_warnings;	/* runtime: what the scanner could not read */
	size_t n_rt_warnings;
	struct lb_key *rt_key;	/* runtime: the key that opens it (owned) */
};

struct lb_manifest *lb_manifest_new(void);
void lb_manifest_free(struct lb_manifest *m);
struct lb_disk *lb_disk_new(void);
void lb_disk_free(struct lb_disk *d);
struct lb_partition *lb_partition_new(void);
void lb_partition_free(struct lb_partition *p);
struct lb_volume *lb_volume_new(void);
void lb_volume_free(struct lb_volume *v);
void lb_btrfs_subvols_free(struct lb_btrfs_subvols *s);
/* Each subvolume's parent (the one recorded whose UUID is its parent UUID,
 * not itself) as an index into s->subvols, SIZE_MAX for none: an array of
 * s->n (of 1 when there are none) to free. */
size_t *lb_btrfs_parents(const struct lb_btrfs_subvols *s);
struct lb_artifact *lb_artifact_new(void);
void lb_artifact_free(struct lb_artifact *a);
/* The bytes an artifact other than a data file holds once opened: its size
 * less what sealing adds when it is encrypted. */
uint64_t lb_artifact_plain_size(const struct lb_artifact *a);
struct lb_encryption *lb_encryption_new(void);
void lb_encryption_free(struct lb_encryption *e);
/* Calls fn with every artifact of m (data files too); stops at fn's
 * first non-zero result and returns it. */
int lb_manifest_foreach_artifact(struct lb_manifest *m,
				 int (*fn)(struct lb_artifact *a, void *ud), void *ud);
/* Takes key as the one that opens m (NULL: none): every artifact gets it. */
void lb_manifest_set_key(struct lb_manifest *m, struct lb_key *key);
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
struct lb_xfs_geom *lb_xfs_geom_new(void);
void lb_xfs_geom_free(struct lb_xfs_geom *g);
struct lb_btrfs_geom *lb_btrfs_geom_new(void);
void lb_btrfs_geom_free(struct lb_btrfs_geom *g);
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
/* The volume an identity names: KEY is UUID, LABEL (the volume's, on a
 * partition, a whole disk or a node of the stack), PARTUUID
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

#include "model/stack.h"

#endif
