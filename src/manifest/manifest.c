// SPDX-License-Identifier: GPL-3.0-or-later
/* The manifest: one XML document (libxml2), validated against the RELAX NG
 * schema on every load. Each element's attributes are described once, in a
 * table of attribute → field → type, which both the writer
 * (manifest-write.c) and the reader (manifest-read.c) walk; so what is
 * written is what is read, in a stable order. A filesystem's geometry is
 * described by its own table, in src/fs/fs_<type>.c. What the schema cannot
 * say is checked in manifest-check.c. Here: the tables, what the three
 * share, and artifacts. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "base/base.h"
#include "model/model.h"
#include "manifest/manifest.h"
#include "manifest/manifest-int.h"

#define S(st, attr, member, fl) LB_FIELD(st, attr, LB_F_STR, member, fl)
#define N64(st, attr, member, fl) LB_FIELD(st, attr, LB_F_U64, member, fl)
#define N32(st, attr, member, fl) LB_FIELD(st, attr, LB_F_U32, member, fl)
#define B(st, attr, member, fl) LB_FIELD(st, attr, LB_F_BOOL, member, fl)

const struct lb_field lb_mf_capture_fields[] = {
	S(lb_manifest, "id", id, 0),
	S(lb_manifest, "time", time, 0),
	S(lb_manifest, "hostname", hostname, LB_F_OPT),
	S(lb_manifest, "kernel", kernel, LB_F_OPT),
	S(lb_manifest, "machine-id", machine_id, LB_F_OPT),
	S(lb_manifest, "data", data_mode, LB_F_OPT),
	LB_FIELD_END,
};

const struct lb_field lb_mf_disk_fields[] = {
	S(lb_disk, "id", id, 0),
	S(lb_disk, "path", path, LB_F_HEX),
	B(lb_disk, "selected", selected, 0),
	S(lb_disk, "exclude-reason", exclude_reason, LB_F_OPT),
	LB_FIELD_END,
};

const struct lb_field lb_mf_identity_fields[] = {
	S(lb_disk, "model", model, LB_F_OPT | LB_F_HEX),
	S(lb_disk, "vendor", vendor, LB_F_OPT | LB_F_HEX),
	S(lb_disk, "serial", serial, LB_F_OPT | LB_F_HEX),
	S(lb_disk, "wwn", wwn, LB_F_OPT | LB_F_HEX),
	S(lb_disk, "transport", transport, LB_F_OPT),
	B(lb_disk, "removable", removable, LB_F_OPT),
	LB_FIELD_END,
};

const struct lb_field lb_mf_geometry_fields[] = {
	N64(lb_disk, "size", size, 0),
	N32(lb_disk, "logical-sector-size", sector_size, 0),
	N32(lb_disk, "physical-sector-size", physical_sector_size, 0),
	LB_FIELD_END,
};

const struct lb_field lb_mf_table_fields[] = {
	{ "type", LB_F_LABEL, offsetof(struct lb_disk, label), 0 },
	S(lb_disk, "signature", signature, LB_F_OPT),
	LB_FIELD_END,
};

/* A GPT table's header fields (after table_fields), written only there and
 * always, zero or not: the schema requires them of a GPT */
const struct lb_field lb_mf_gpt_fields[] = {
	N64(lb_disk, "first-lba", first_lba, 0),
	N64(lb_disk, "last-lba", last_lba, 0),
	N64(lb_disk, "alt-lba", alt_lba, LB_F_OPT),
	N64(lb_disk, "entries-lba", entries_lba, LB_F_OPT),
	N32(lb_disk, "entries", entries, 0),
	LB_FIELD_END,
};

const struct lb_field lb_mf_partition_fields[] = {
	N32(lb_partition, "number", number, 0),
	N64(lb_partition, "start", start, 0),
	N64(lb_partition, "size", size, 0),
	{ "kind", LB_F_KIND, offsetof(struct lb_partition, kind), 0 },
	S(lb_partition, "type", type, 0),
	S(lb_partition, "uuid", uuid, LB_F_OPT),
	S(lb_partition, "name", name, LB_F_OPT | LB_F_HEX),
	{ "attrs", LB_F_HEX64, offsetof(struct lb_partition, attrs), LB_F_OPT },
	B(lb_partition, "bootable", bootable, LB_F_OPT),
	S(lb_partition, "path", path, LB_F_OPT | LB_F_HEX),
	LB_FIELD_END,
};

const struct lb_field lb_mf_volume_fields[] = {
	S(lb_volume, "id", id, 0),
	S(lb_volume, "type", type, 0),
	S(lb_volume, "usage", usage, LB_F_OPT),
	S(lb_volume, "version", version, LB_F_OPT),
	S(lb_volume, "uuid", uuid, LB_F_OPT | LB_F_HEX),
	S(lb_volume, "uuid-sub", uuid_sub, LB_F_OPT | LB_F_HEX),
	S(lb_volume, "label", label, LB_F_OPT | LB_F_HEX),
	S(lb_volume, "mountpoint", mountpoint, LB_F_OPT | LB_F_HEX),
	S(lb_volume, "mount-options", mount_options, LB_F_OPT),
	S(lb_volume, "mount-source", mount_source, LB_F_OPT),
	B(lb_volume, "critical", critical, LB_F_OPT),
	B(lb_volume, "swap-active", swap_active, LB_F_OPT),
	LB_FIELD_END,
};

const struct lb_field lb_mf_artifact_fields[] = {
	S(lb_artifact, "file", file, 0),
	N64(lb_artifact, "size", size, 0),
	S(lb_artifact, "sha256", sha256, 0),
	B(lb_artifact, "encrypted", encrypted, LB_F_OPT),
	LB_FIELD_END,
};

const struct lb_field lb_mf_encryption_fields[] = {
	S(lb_encryption, "cipher", cipher, 0),
	S(lb_encryption, "kdf", kdf, 0),
	N32(lb_encryption, "kdf-time", kdf_time, 0),
	N32(lb_encryption, "kdf-memory", kdf_memory, 0),
	N32(lb_encryption, "kdf-lanes", kdf_lanes, 0),
	S(lb_encryption, "salt", salt, 0),
	S(lb_encryption, "key-check", key_check, 0),
	S(lb_encryption, "manifest-mac", manifest_mac, LB_F_OPT),
	LB_FIELD_END,
};

const struct lb_field lb_mf_boot_fields[] = {
	S(lb_boot, "firmware", firmware, 0),
	S(lb_boot, "loader", loader, LB_F_OPT),
	S(lb_boot, "esp", esp, LB_F_OPT),
	S(lb_boot, "bios-boot", bios_boot, LB_F_OPT),
	S(lb_boot, "boot-order", boot_order, LB_F_OPT),
	S(lb_boot, "boot-current", boot_current, LB_F_OPT),
	S(lb_boot, "cmdline", cmdline, LB_F_OPT | LB_F_HEX),
	LB_FIELD_END,
};

const struct lb_field lb_mf_efi_fields[] = {
	S(lb_efi_entry, "name", name, 0),
	{ "attributes", LB_F_U32, offsetof(struct lb_efi_entry, attributes), 0 },
	B(lb_efi_entry, "active", active, 0),
	S(lb_efi_entry, "description", description, LB_F_OPT | LB_F_HEX),
	S(lb_efi_entry, "device-path", device_path, LB_F_OPT),
	S(lb_efi_entry, "data", data, 0),
	LB_FIELD_END,
};

const struct lb_field lb_mf_system_fields[] = {
	S(lb_system, "source", source, 0),
	S(lb_system, "root", root, LB_F_OPT),
	S(lb_system, "found-by", found_by, LB_F_OPT),
	S(lb_system, "name", name, LB_F_OPT | LB_F_HEX),
	LB_FIELD_END,
};

const struct lb_field lb_mf_ref_fields[] = {
	S(lb_boot_ref, "source", source, 0),
	N32(lb_boot_ref, "line", line, 0),
	S(lb_boot_ref, "key", key, 0),
	S(lb_boot_ref, "value", value, 0),
	S(lb_boot_ref, "where", where, LB_F_OPT | LB_F_HEX),
	S(lb_boot_ref, "resolves", resolves, LB_F_OPT),
	LB_FIELD_END,
};

/* ---- for the reader and the checks ------------------------------------ */

/* ---- stacked storage (model/stack.h) ---- */

const struct lb_field lb_mf_md_fields[] = {
	S(lb_md, "id", id, 0),
	S(lb_md, "path", path, LB_F_OPT | LB_F_HEX),
	S(lb_md, "uuid", uuid, 0),
	S(lb_md, "name", name, LB_F_OPT | LB_F_HEX),
	S(lb_md, "level", level, 0),
	S(lb_md, "metadata", metadata, 0),
	N32(lb_md, "raid-devices", raid_devices, 0),
	N32(lb_md, "chunk-kib", chunk_kib, LB_F_OPT),
	S(lb_md, "layout", layout, LB_F_OPT),
	S(lb_md, "bitmap", bitmap, LB_F_OPT),
	N64(lb_md, "size", size, 0),
	LB_FIELD_END,
};

const struct lb_field lb_mf_md_member_fields[] = {
	S(lb_md_member, "on", on, 0),
	N32(lb_md_member, "slot", slot, 0),
	B(lb_md_member, "spare", spare, LB_F_OPT),
	S(lb_md_member, "dev-uuid", dev_uuid, LB_F_OPT),
	N64(lb_md_member, "data-offset", data_offset, LB_F_OPT),
	S(lb_md_member, "state", state, LB_F_OPT),
	LB_FIELD_END,
};

const struct lb_field lb_mf_luks_fields[] = {
	S(lb_luks, "id", id, 0),
	S(lb_luks, "on", on, 0),
	S(lb_luks, "name", name, LB_F_OPT | LB_F_HEX),
	N32(lb_luks, "version", version, 0),
	S(lb_luks, "uuid", uuid, 0),
	S(lb_luks, "label", label, LB_F_OPT | LB_F_HEX),
	S(lb_luks, "subsystem", subsystem, LB_F_OPT | LB_F_HEX),
	S(lb_luks, "cipher", cipher, 0),
	N32(lb_luks, "key-bits", key_bits, 0),
	N32(lb_luks, "sector-size", sector_size, 0),
	N64(lb_luks, "data-offset", data_offset, 0),
	N64(lb_luks, "size", size, LB_F_OPT),
	LB_FIELD_END,
};

const struct lb_field lb_mf_vg_fields[] = {
	S(lb_vg, "id", id, 0),
	S(lb_vg, "name", name, 0),
	S(lb_vg, "uuid", uuid, 0),
	N64(lb_vg, "extent-size", extent_size, 0),
	LB_FIELD_END,
};

const struct lb_field lb_mf_pv_fields[] = {
	S(lb_pv, "on", on, 0),
	S(lb_pv, "uuid", uuid, 0),
	N64(lb_pv, "pe-start", pe_start, 0),
	N64(lb_pv, "dev-size", dev_size, 0),
	LB_FIELD_END,
};

const struct lb_field lb_mf_lv_fields[] = {
	S(lb_lv, "id", id, 0),
	S(lb_lv, "name", name, 0),
	S(lb_lv, "uuid", uuid, 0),
	S(lb_lv, "segtype", segtype, 0),
	N64(lb_lv, "size", size, 0),
	N32(lb_lv, "stripes", stripes, LB_F_OPT),
	S(lb_lv, "pool", pool, LB_F_OPT),
	S(lb_lv, "origin", origin, LB_F_OPT),
	N32(lb_lv, "thin-id", thin_id, LB_F_OPT),
	N64(lb_lv, "transaction-id", transaction_id, LB_F_OPT),
	N32(lb_lv, "chunk-size", chunk_size, LB_F_OPT),
	B(lb_lv, "active", active, 0),
	LB_FIELD_END,
};

int lb_mf_bad_at(const struct lb_mf_reader *rd, long line, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	return lb_err(-EINVAL, "%s:%ld: %s", rd->name, line, msg);
}

int lb_mf_bad(const struct lb_mf_reader *rd, xmlNodePtr n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = lb_mf_bad_at(rd, n ? xmlGetLineNo(n) : 0L, fmt, ap);
	va_end(ap);
	return r;
}

/* About an artifact: the line of its own element. */
int lb_mf_bad_artifact(const struct lb_mf_reader *rd, const struct lb_artifact *a,
			     const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = lb_mf_bad_at(rd, a->rt_line, fmt, ap);
	va_end(ap);
	return r;
}

char *lb_mf_get_prop(xmlNodePtr n, const char *name)
{
	xmlChar *v = xmlGetProp(n, BAD_CAST name);
	char *r;

	if (!v)
		return NULL;
	r = lb_strdup((const char *)v);
	xmlFree(v);
	return r;
}

bool lb_mf_is_elem(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST name) == 0;
}

/* The first element NAME among n's children. */
xmlNodePtr lb_mf_child_elem(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
		if (lb_mf_is_elem(c, name))
			return c;
	return NULL;
}

/* ---- artifacts -------------------------------------------------------- */

int lb_artifact_save(const char *dir, const char *file, const void *buf, size_t len,
		     struct lb_artifact **ret)
{
	_cleanup_free_ char *path = lb_asprintf("%s/%s", dir, file);
	struct lb_artifact *a;
	char sum[65];
	int r;

	r = lb_write_file(path, buf, len, 0600);
	if (r < 0)
		return lb_err(r, "%s: cannot write: %s", path, strerror(-r));
	r = lb_sha256_buf(buf, len, sum);
	if (r < 0)
		return r;
	a = lb_artifact_new();
	a->file = lb_strdup(file);
	a->size = len;
	a->sha256 = lb_strdup(sum);
	*ret = a;
	return 0;
}

int lb_artifact_verify(const struct lb_manifest *m, const struct lb_artifact *a)
{
	_cleanup_free_ char *path = lb_asprintf("%s/%s", m->rt_dir ? m->rt_dir : ".", a->file);
	char sum[65];
	uint64_t size = 0;
	int r;

	r = lb_sha256_file(path, sum, &size);
	if (r == -EPERM)
		return r;	/* "PATH: is a symbolic link" said */
	if (r < 0)
		return lb_err(r, "%s: %s", path, strerror(-r));
	if (size != a->size)
		return lb_err(-EBADMSG, "%s: %" PRIu64 " bytes, the manifest says %" PRIu64, path, size,
			      a->size);
	if (strcmp(sum, a->sha256) != 0)
		return lb_err(-EBADMSG, "%s: SHA-256 does not match the manifest%s", path,
			      a->encrypted ? ": the encrypted artifact was damaged or tampered with" : "");
	return 0;
}
