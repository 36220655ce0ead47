// SPDX-License-Identifier: GPL-3.0-or-later
/* FAT12/16/32: read the boot sector fields mkfs.fat needs to make the same
 * filesystem again. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"

static int vfat_read(const char *dev, int fd, uint64_t offset, uint64_t size, void **ret)
{
	uint8_t bs[512];
	struct lb_vfat_geom *g;
	uint32_t root_sectors, serial;
	uint64_t data_sectors, clusters;
	const uint8_t *ext;
	char label[12];
	int r;

	(void)dev;
	(void)size;
	r = lb_pread_all(fd, bs, sizeof(bs), offset);
	if (r < 0)
		return lb_err(r, "cannot read the FAT boot sector: %s", strerror(-r));
	g = lb_vfat_geom_new();
	g->sector_size = lb_le16(bs + 11);
	g->cluster_sectors = bs[13];
	g->reserved_sectors = lb_le16(bs + 14);
	g->fats = bs[16];
	g->root_entries = lb_le16(bs + 17);
	g->total_sectors = lb_le16(bs + 19) ? lb_le16(bs + 19) : lb_le32(bs + 32);
	g->media = bs[21];
	g->fat_sectors = lb_le16(bs + 22);
	g->sectors_per_track = lb_le16(bs + 24);
	g->heads = lb_le16(bs + 26);
	g->hidden_sectors = lb_le32(bs + 28);
	if (g->sector_size < 512 || g->sector_size > 4096 || !g->cluster_sectors || !g->fats) {
		lb_vfat_geom_free(g);
		return lb_err(-EINVAL, "the FAT boot sector is not valid");
	}
	if (g->fat_sectors == 0) {
		g->fat_sectors = lb_le32(bs + 36);
		g->fat_bits = 32;
		ext = bs + 64;
	} else {
		root_sectors = (g->root_entries * 32 + g->sector_size - 1) / g->sector_size;
		data_sectors = g->total_sectors -
			       (g->reserved_sectors + (uint64_t)g->fats * g->fat_sectors + root_sectors);
		clusters = data_sectors / g->cluster_sectors;
		g->fat_bits = clusters < 4085 ? 12 : 16;
		ext = bs + 36;
	}
	g->drive_number = ext[0];
	if (ext[2] == 0x29) { /* extended boot signature: serial and label follow */
		serial = lb_le32(ext + 3);
		g->serial = lb_asprintf("%04X-%04X", serial >> 16, serial & 0xffff);
		memcpy(label, ext + 7, 11);
		label[11] = '\0';
		g->boot_label = lb_strdup(label);
		if (!lb_utf8_is_printable(g->boot_label)) {
			free(g->boot_label);
			g->boot_label = NULL;
		}
	}
	*ret = g;
	return 0;
}

static char **vfat_mkfs_argv(const struct lb_volume *v, const char *dev, bool quick)
{
	const struct lb_vfat_geom *g = v->vfat;
	char **argv = lb_argv_new("mkfs.fat");
	char serial[16];
	size_t j = 0;

	(void)quick;
	if (v->label) {
		lb_argv_add(&argv, "-n");
		lb_argv_add(&argv, "%s", v->label);
	}
	if (!g) {
		lb_argv_add(&argv, "%s", dev);
		return argv;
	}
	lb_argv_add(&argv, "-F");
	lb_argv_add(&argv, "%u", g->fat_bits);
	lb_argv_add(&argv, "-S");
	lb_argv_add(&argv, "%u", g->sector_size);
	lb_argv_add(&argv, "-s");
	lb_argv_add(&argv, "%u", g->cluster_sectors);
	lb_argv_add(&argv, "-R");
	lb_argv_add(&argv, "%u", g->reserved_sectors);
	lb_argv_add(&argv, "-f");
	lb_argv_add(&argv, "%u", g->fats);
	if (g->fat_bits != 32) {
		lb_argv_add(&argv, "-r");
		lb_argv_add(&argv, "%u", g->root_entries);
	}
	lb_argv_add(&argv, "-M");
	lb_argv_add(&argv, "0x%02x", g->media);
	lb_argv_add(&argv, "-h");
	lb_argv_add(&argv, "%u", g->hidden_sectors);
	lb_argv_add(&argv, "-D");
	lb_argv_add(&argv, "0x%02x", g->drive_number);
	if (g->heads && g->sectors_per_track) {
		lb_argv_add(&argv, "-g");
		lb_argv_add(&argv, "%u/%u", g->heads, g->sectors_per_track);
	}
	if (g->serial) {
		for (const char *s = g->serial; *s && j < sizeof(serial) - 1; s++)
			if (*s != '-')
				serial[j++] = *s;
		serial[j] = '\0';
		lb_argv_add(&argv, "-i");
		lb_argv_add(&argv, "%s", serial);
	}
	lb_argv_add(&argv, "%s", dev);
	lb_argv_add(&argv, "%" PRIu64, g->total_sectors * g->sector_size / 1024);
	return argv;
}

static int vfat_check(const void *geom, char **ret_why)
{
	const struct lb_vfat_geom *g = geom;

	if (!lb_is_pow2(g->sector_size) || g->sector_size < 512 || g->sector_size > 32768) {
		*ret_why = lb_asprintf("FAT sector size %u is not valid", g->sector_size);
		return -EINVAL;
	}
	return 0;
}

static int vfat_bytes(const void *geom, uint64_t *ret)
{
	const struct lb_vfat_geom *g = geom;

	if (__builtin_mul_overflow(g->total_sectors, (uint64_t)g->sector_size, ret))
		return -EOVERFLOW;
	return 0;
}

static void vfat_free(void *g)
{
	lb_vfat_geom_free(g);
}

static const struct lb_field vfat_fields[] = {
	LB_FIELD(lb_vfat_geom, "fat-bits", LB_F_U32, fat_bits, 0),
	LB_FIELD(lb_vfat_geom, "sector-size", LB_F_U32, sector_size, 0),
	LB_FIELD(lb_vfat_geom, "cluster-sectors", LB_F_U32, cluster_sectors, 0),
	LB_FIELD(lb_vfat_geom, "reserved-sectors", LB_F_U32, reserved_sectors, 0),
	LB_FIELD(lb_vfat_geom, "fats", LB_F_U32, fats, 0),
	LB_FIELD(lb_vfat_geom, "root-entries", LB_F_U32, root_entries, 0),
	LB_FIELD(lb_vfat_geom, "fat-sectors", LB_F_U32, fat_sectors, 0),
	LB_FIELD(lb_vfat_geom, "total-sectors", LB_F_U64, total_sectors, 0),
	LB_FIELD(lb_vfat_geom, "media", LB_F_U32, media, 0),
	LB_FIELD(lb_vfat_geom, "hidden-sectors", LB_F_U32, hidden_sectors, 0),
	LB_FIELD(lb_vfat_geom, "sectors-per-track", LB_F_U32, sectors_per_track, 0),
	LB_FIELD(lb_vfat_geom, "heads", LB_F_U32, heads, 0),
	LB_FIELD(lb_vfat_geom, "drive-number", LB_F_U32, drive_number, 0),
	LB_FIELD(lb_vfat_geom, "serial", LB_F_STR, serial, LB_F_OPT),
	LB_FIELD(lb_vfat_geom, "boot-label", LB_F_STR, boot_label, LB_F_OPT | LB_F_HEX),
	LB_FIELD_END,
};

static const struct lb_fs_geom vfat_geom = {
	.element = "vfat",
	.fields = vfat_fields,
	.json = (const char *const[]){ "fat-bits", "sector-size", "cluster-sectors", "serial", NULL },
	.size = sizeof(struct lb_vfat_geom),
	.slot = offsetof(struct lb_volume, vfat),
	.read = vfat_read,
	.check = vfat_check,
	.bytes = vfat_bytes,
	.free = vfat_free,
};

const struct lb_fs_ops lb_fs_vfat = {
	.type = "vfat",
	.program = "mkfs.fat",
	.geom = &vfat_geom,
	.mkfs_argv = vfat_mkfs_argv,
};
