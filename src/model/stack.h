/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Stacked storage (stack.c): MD arrays, LUKS containers and LVM volume
 * groups, on partitions, whole disks or each other. Each node names what
 * it sits on by a device id: a disk ("disk0"), a partition ("disk0p2"), an
 * array ("md0"), a LUKS mapping ("luks0") or a logical volume ("lv0").
 * A node's own device may hold a volume (a filesystem or swap) like a
 * partition does; the volume's id is the node's id.
 *
 * Included by model/model.h (after the structs it uses).
 */
#ifndef LIFEBOAT_MODEL_STACK_H
#define LIFEBOAT_MODEL_STACK_H

/* One member device of an array. */
struct lb_md_member {
	char *on;		/* device id */
	uint32_t slot;		/* its place in the array (raid disk number) */
	bool spare;		/* no place: a spare */
	char *dev_uuid;		/* the member's own UUID (1.x metadata) */
	uint64_t data_offset;	/* 512-byte sectors (1.x metadata) */
	char *state;		/* as mdadm --examine says, for the eye */
};

struct lb_md {
	char *id;		/* "md0" */
	char *path;		/* node at capture: /dev/md127 */
	char *name;		/* "host:boot" (1.x), NULL for 0.90 */
	char *uuid;		/* as mdadm writes it: 8:8:8:8 hex */
	char *level;		/* raid0, raid1, raid4, raid5, raid6, raid10, linear */
	char *metadata;		/* 0.90, 1.0, 1.1, 1.2 */
	uint32_t raid_devices;
	uint32_t chunk_kib;	/* 0: none (raid1, linear) */
	char *layout;		/* left-symmetric, n2, ...; NULL: none */
	char *bitmap;		/* "internal" or "none" */
	uint64_t size;		/* the array, 512-byte sectors */
	struct lb_md_member **members;
	size_t n_members;
	struct lb_volume *volume;
};

/* A LUKS container and the mapping it was open as at capture. */
struct lb_luks {
	char *id;		/* "luks0" */
	char *on;		/* device id */
	char *name;		/* dm name when open at capture ("cryptroot") */
	uint32_t version;	/* 1 or 2 */
	char *uuid;
	char *label;		/* LUKS2 */
	char *subsystem;	/* LUKS2 */
	char *cipher;		/* "aes-xts-plain64" */
	uint32_t key_bits;
	uint32_t sector_size;	/* encryption sector, bytes */
	uint64_t data_offset;	/* 512-byte sectors from the container's start */
	uint64_t size;		/* the mapping, 512-byte sectors; 0: not open */
	struct lb_artifact *header;	/* header and keyslots, byte for byte */
	/* the data segment's sectors in use (by the filesystem in it, or the
	 * PV and LVs on it), as ciphertext copied from underneath the opened
	 * mapping: an image whose offsets count from the data segment's start.
	 * With the header it brings back everything inside without a key. */
	struct lb_artifact *ciphertext;
	struct lb_volume *volume;	/* NULL when not open at capture */
};

struct lb_pv {
	char *on;		/* device id */
	char *uuid;
	uint64_t pe_start;	/* 512-byte sectors */
	uint64_t dev_size;	/* 512-byte sectors */
};

struct lb_lv {
	char *id;		/* "lv0" */
	char *name;
	char *uuid;
	char *segtype;		/* linear, striped, raid1, thin-pool, thin, ... */
	uint64_t size;		/* 512-byte sectors */
	uint32_t stripes;
	char *pool;		/* thin: its pool's name */
	char *origin;		/* a snapshot's origin LV; NULL: none */
	uint32_t thin_id;	/* thin: its device id in the pool; 0: none */
	uint64_t transaction_id;	/* thin-pool: the pool's transaction id */
	uint32_t chunk_size;	/* thin-pool: 512-byte sectors */
	bool active;
	struct lb_volume *volume;	/* when active and holding one */
};

struct lb_vg {
	char *id;		/* "vg0" */
	char *name;
	char *uuid;
	uint64_t extent_size;	/* 512-byte sectors */
	struct lb_artifact *metadata;	/* vgcfgbackup's text */
	struct lb_pv **pvs;
	size_t n_pvs;
	struct lb_lv **lvs;
	size_t n_lvs;
};

struct lb_stack {
	struct lb_md **mds;
	size_t n_mds;
	struct lb_luks **luks;
	size_t n_luks;
	struct lb_vg **vgs;
	size_t n_vgs;
};

struct lb_stack *lb_stack_new(void);
void lb_stack_free(struct lb_stack *s);
struct lb_md *lb_md_new(void);
void lb_md_free(struct lb_md *md);
struct lb_md_member *lb_md_member_new(void);
void lb_md_add_member(struct lb_md *md, struct lb_md_member *mm);
struct lb_luks *lb_luks_new(void);
void lb_luks_free(struct lb_luks *l);
struct lb_vg *lb_vg_new(void);
void lb_vg_free(struct lb_vg *vg);
struct lb_pv *lb_pv_new(void);
struct lb_lv *lb_lv_new(void);
void lb_vg_add_pv(struct lb_vg *vg, struct lb_pv *pv);
void lb_vg_add_lv(struct lb_vg *vg, struct lb_lv *lv);
void lb_stack_add_md(struct lb_stack *s, struct lb_md *md);
void lb_stack_add_luks(struct lb_stack *s, struct lb_luks *l);
void lb_stack_add_vg(struct lb_stack *s, struct lb_vg *vg);

/* What a device id names, for walking the stack downwards. */
enum lb_dev_kind {
	LB_DEV_NONE = 0,
	LB_DEV_DISK,
	LB_DEV_PARTITION,
	LB_DEV_MD,
	LB_DEV_LUKS,
	LB_DEV_LV,
};

struct lb_dev_ref {
	enum lb_dev_kind kind;
	struct lb_disk *disk;		/* DISK, PARTITION */
	struct lb_partition *part;	/* PARTITION */
	struct lb_md *md;
	struct lb_luks *luks;
	struct lb_vg *vg;		/* LV */
	struct lb_lv *lv;
};

struct lb_manifest;
/* Resolves a device id; kind LB_DEV_NONE when nothing has it. */
struct lb_dev_ref lb_manifest_find_dev(const struct lb_manifest *m, const char *id);
/* The volume on the stack's node that PATH names as this machine's system
 * names it at boot (an fstab's, a crypttab's or a kernel command line's
 * device path): an LV as /dev/mapper/VG-LV (each '-' of a name doubled)
 * or /dev/VG/LV, an open LUKS mapping as /dev/mapper/NAME, an array as
 * its recorded node or /dev/md/NAME (its name without the host); NULL when
 * none. */
struct lb_volume *lb_stack_volume_by_path(const struct lb_manifest *m, const char *path);
/* Calls fn (with no disk and no partition) for the volume on every node of
 * the stack that holds one: arrays, LUKS mappings, then logical volumes;
 * stops at fn's first non-zero value and returns it. */
int lb_stack_foreach_volume(const struct lb_manifest *m,
			    int (*fn)(struct lb_disk *, struct lb_partition *, struct lb_volume *,
				      void *),
			    void *ud);
/* Calls fn for every disk a device id ultimately lives on (each once per
 * path through the stack); stops at fn's first non-zero value. Depth
 * bounded: a loop in a hostile manifest ends with -ELOOP. */
int lb_dev_foreach_disk(const struct lb_manifest *m, const char *id,
			int (*fn)(struct lb_disk *d, void *ud), void *ud);

#endif
