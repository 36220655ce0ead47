// SPDX-License-Identifier: GPL-3.0-or-later
/* The manifest: one XML document (libxml2), validated against the RELAX NG
 * schema on every load. Each element's attributes are described once, in a
 * table of attribute → field → type, which both the writer and the reader
 * walk; so what is written is what is read, in a stable order. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#include "base/base.h"
#include "model/model.h"
#include "manifest/manifest.h"

#define MANIFEST_MAX (64u << 20)

enum ftype {
	F_STR,	/* text; written as NAME-hex when not printable UTF-8 */
	F_U64,
	F_U32,
	F_BOOL,
	F_HEX64,	/* 0x0000000000000000 */
	F_LABEL,	/* enum lb_label_type */
	F_KIND,		/* enum lb_part_kind */
};

enum {
	F_OPT = 1,	/* left out when zero, false or NULL */
	F_HEX = 2,	/* written as NAME-hex when not printable UTF-8; other
			 * text fields carry only printable text */
};

struct field {
	const char *name;
	enum ftype type;
	size_t off;
	unsigned flags;
};

#define S(st, attr, member, fl) { attr, F_STR, offsetof(struct st, member), fl }
#define N64(st, attr, member, fl) { attr, F_U64, offsetof(struct st, member), fl }
#define N32(st, attr, member, fl) { attr, F_U32, offsetof(struct st, member), fl }
#define B(st, attr, member, fl) { attr, F_BOOL, offsetof(struct st, member), fl }
#define END { NULL, 0, 0, 0 }

static const struct field capture_fields[] = {
	S(lb_manifest, "id", id, 0),
	S(lb_manifest, "time", time, 0),
	S(lb_manifest, "hostname", hostname, F_OPT),
	S(lb_manifest, "kernel", kernel, F_OPT),
	S(lb_manifest, "machine-id", machine_id, F_OPT),
	S(lb_manifest, "data", data_mode, F_OPT),
	END,
};

static const struct field disk_fields[] = {
	S(lb_disk, "id", id, 0),
	S(lb_disk, "path", path, F_HEX),
	B(lb_disk, "selected", selected, 0),
	S(lb_disk, "exclude-reason", exclude_reason, F_OPT),
	END,
};

static const struct field identity_fields[] = {
	S(lb_disk, "model", model, F_OPT | F_HEX),
	S(lb_disk, "vendor", vendor, F_OPT | F_HEX),
	S(lb_disk, "serial", serial, F_OPT | F_HEX),
	S(lb_disk, "wwn", wwn, F_OPT | F_HEX),
	S(lb_disk, "transport", transport, F_OPT),
	B(lb_disk, "removable", removable, F_OPT),
	END,
};

static const struct field geometry_fields[] = {
	N64(lb_disk, "size", size, 0),
	N32(lb_disk, "logical-sector-size", sector_size, 0),
	N32(lb_disk, "physical-sector-size", physical_sector_size, 0),
	END,
};

static const struct field table_fields[] = {
	{ "type", F_LABEL, offsetof(struct lb_disk, label), 0 },
	S(lb_disk, "signature", signature, F_OPT),
	END,
};

/* A GPT table's header fields (after table_fields), written only there and
 * always, zero or not: the schema requires them of a GPT */
static const struct field gpt_fields[] = {
	N64(lb_disk, "first-lba", first_lba, 0),
	N64(lb_disk, "last-lba", last_lba, 0),
	N64(lb_disk, "alt-lba", alt_lba, F_OPT),
	N64(lb_disk, "entries-lba", entries_lba, F_OPT),
	N32(lb_disk, "entries", entries, 0),
	END,
};

static const struct field partition_fields[] = {
	N32(lb_partition, "number", number, 0),
	N64(lb_partition, "start", start, 0),
	N64(lb_partition, "size", size, 0),
	{ "kind", F_KIND, offsetof(struct lb_partition, kind), 0 },
	S(lb_partition, "type", type, 0),
	S(lb_partition, "uuid", uuid, F_OPT),
	S(lb_partition, "name", name, F_OPT | F_HEX),
	{ "attrs", F_HEX64, offsetof(struct lb_partition, attrs), F_OPT },
	B(lb_partition, "bootable", bootable, F_OPT),
	S(lb_partition, "path", path, F_OPT | F_HEX),
	END,
};

static const struct field volume_fields[] = {
	S(lb_volume, "id", id, 0),
	S(lb_volume, "type", type, 0),
	S(lb_volume, "usage", usage, F_OPT),
	S(lb_volume, "version", version, F_OPT),
	S(lb_volume, "uuid", uuid, F_OPT | F_HEX),
	S(lb_volume, "uuid-sub", uuid_sub, F_OPT | F_HEX),
	S(lb_volume, "label", label, F_OPT | F_HEX),
	S(lb_volume, "mountpoint", mountpoint, F_OPT | F_HEX),
	S(lb_volume, "mount-options", mount_options, F_OPT),
	S(lb_volume, "mount-source", mount_source, F_OPT),
	B(lb_volume, "critical", critical, F_OPT),
	B(lb_volume, "swap-active", swap_active, F_OPT),
	END,
};

static const struct field ext_fields[] = {
	N32(lb_ext_geom, "block-size", block_size, 0),
	N32(lb_ext_geom, "cluster-size", cluster_size, 0),
	N64(lb_ext_geom, "blocks", blocks, 0),
	N64(lb_ext_geom, "reserved-blocks", reserved_blocks, 0),
	N32(lb_ext_geom, "inode-size", inode_size, 0),
	N64(lb_ext_geom, "inodes", inodes, 0),
	N32(lb_ext_geom, "blocks-per-group", blocks_per_group, 0),
	N32(lb_ext_geom, "inodes-per-group", inodes_per_group, 0),
	N32(lb_ext_geom, "reserved-gdt-blocks", reserved_gdt_blocks, 0),
	N32(lb_ext_geom, "desc-size", desc_size, F_OPT),
	N32(lb_ext_geom, "log-groups-per-flex", log_groups_per_flex, F_OPT),
	N32(lb_ext_geom, "journal-blocks", journal_blocks, F_OPT),
	N32(lb_ext_geom, "min-extra-isize", min_extra_isize, F_OPT),
	N32(lb_ext_geom, "want-extra-isize", want_extra_isize, F_OPT),
	N32(lb_ext_geom, "raid-stride", raid_stride, F_OPT),
	N32(lb_ext_geom, "raid-stripe-width", raid_stripe_width, F_OPT),
	N32(lb_ext_geom, "revision", rev, 0),
	S(lb_ext_geom, "features", features, 0),
	S(lb_ext_geom, "hash-alg", hash_alg, F_OPT),
	S(lb_ext_geom, "hash-seed", hash_seed, F_OPT),
	S(lb_ext_geom, "default-mount-options", default_mount_opts, F_OPT),
	S(lb_ext_geom, "mount-options", mount_opts, F_OPT | F_HEX),
	S(lb_ext_geom, "errors", errors, F_OPT),
	S(lb_ext_geom, "encoding", encoding, F_OPT),
	S(lb_ext_geom, "creator-os", creator_os, F_OPT),
	S(lb_ext_geom, "last-mounted", last_mounted, F_OPT | F_HEX),
	END,
};

static const struct field vfat_fields[] = {
	N32(lb_vfat_geom, "fat-bits", fat_bits, 0),
	N32(lb_vfat_geom, "sector-size", sector_size, 0),
	N32(lb_vfat_geom, "cluster-sectors", cluster_sectors, 0),
	N32(lb_vfat_geom, "reserved-sectors", reserved_sectors, 0),
	N32(lb_vfat_geom, "fats", fats, 0),
	N32(lb_vfat_geom, "root-entries", root_entries, 0),
	N32(lb_vfat_geom, "fat-sectors", fat_sectors, 0),
	N64(lb_vfat_geom, "total-sectors", total_sectors, 0),
	N32(lb_vfat_geom, "media", media, 0),
	N32(lb_vfat_geom, "hidden-sectors", hidden_sectors, 0),
	N32(lb_vfat_geom, "sectors-per-track", sectors_per_track, 0),
	N32(lb_vfat_geom, "heads", heads, 0),
	N32(lb_vfat_geom, "drive-number", drive_number, 0),
	S(lb_vfat_geom, "serial", serial, F_OPT),
	S(lb_vfat_geom, "boot-label", boot_label, F_OPT | F_HEX),
	END,
};

static const struct field swap_fields[] = {
	N32(lb_swap_geom, "page-size", page_size, 0),
	N64(lb_swap_geom, "pages", pages, 0),
	N32(lb_swap_geom, "version", version, 0),
	END,
};

static const struct field artifact_fields[] = {
	S(lb_artifact, "file", file, 0),
	N64(lb_artifact, "size", size, 0),
	S(lb_artifact, "sha256", sha256, 0),
	END,
};

static const struct field boot_fields[] = {
	S(lb_boot, "firmware", firmware, 0),
	S(lb_boot, "loader", loader, F_OPT),
	S(lb_boot, "esp", esp, F_OPT),
	S(lb_boot, "bios-boot", bios_boot, F_OPT),
	S(lb_boot, "boot-order", boot_order, F_OPT),
	S(lb_boot, "boot-current", boot_current, F_OPT),
	S(lb_boot, "cmdline", cmdline, F_OPT | F_HEX),
	END,
};

static const struct field efi_fields[] = {
	S(lb_efi_entry, "name", name, 0),
	{ "attributes", F_U32, offsetof(struct lb_efi_entry, attributes), 0 },
	B(lb_efi_entry, "active", active, 0),
	S(lb_efi_entry, "description", description, F_OPT | F_HEX),
	S(lb_efi_entry, "device-path", device_path, F_OPT),
	S(lb_efi_entry, "data", data, 0),
	END,
};

static const struct field system_fields[] = {
	S(lb_system, "source", source, 0),
	S(lb_system, "root", root, F_OPT),
	S(lb_system, "found-by", found_by, F_OPT),
	S(lb_system, "name", name, F_OPT | F_HEX),
	END,
};

static const struct field ref_fields[] = {
	S(lb_boot_ref, "source", source, 0),
	N32(lb_boot_ref, "line", line, 0),
	S(lb_boot_ref, "key", key, 0),
	S(lb_boot_ref, "value", value, 0),
	S(lb_boot_ref, "where", where, F_OPT | F_HEX),
	S(lb_boot_ref, "resolves", resolves, F_OPT),
	END,
};

/* ---- writing ---------------------------------------------------------- */

static void write_fields(xmlNodePtr node, const struct field *t, const void *obj)
{
	for (; t->name; t++) {
		const char *base = (const char *)obj + t->off;
		char buf[64];
		const char *val = buf;
		_cleanup_free_ char *hex = NULL, *hexname = NULL;

		switch (t->type) {
		case F_STR: {
			const char *s = *(char *const *)base;

			if (!s) {
				if (t->flags & F_OPT)
					continue;
				s = "";
			}
			if (!lb_utf8_is_printable(s) && !(t->flags & F_HEX)) {
				hex = lb_printable_copy(s);
				xmlNewProp(node, BAD_CAST t->name, BAD_CAST hex);
				continue;
			}
			if (!lb_utf8_is_printable(s)) {
				hex = lb_hex_encode(s, strlen(s));
				hexname = lb_asprintf("%s-hex", t->name);
				xmlNewProp(node, BAD_CAST hexname, BAD_CAST hex);
				continue;
			}
			val = s;
			break;
		}
		case F_U64:
			if ((t->flags & F_OPT) && !*(const uint64_t *)base)
				continue;
			snprintf(buf, sizeof(buf), "%" PRIu64, *(const uint64_t *)base);
			break;
		case F_U32:
			if ((t->flags & F_OPT) && !*(const uint32_t *)base)
				continue;
			snprintf(buf, sizeof(buf), "%" PRIu32, *(const uint32_t *)base);
			break;
		case F_BOOL:
			if ((t->flags & F_OPT) && !*(const bool *)base)
				continue;
			val = *(const bool *)base ? "true" : "false";
			break;
		case F_HEX64:
			if ((t->flags & F_OPT) && !*(const uint64_t *)base)
				continue;
			snprintf(buf, sizeof(buf), "0x%016" PRIx64, *(const uint64_t *)base);
			break;
		case F_LABEL:
			val = lb_label_type_name(*(const enum lb_label_type *)base);
			break;
		case F_KIND:
			val = lb_part_kind_name(*(const enum lb_part_kind *)base);
			break;
		}
		xmlNewProp(node, BAD_CAST t->name, BAD_CAST val);
	}
}

static xmlNodePtr add_child(xmlNodePtr parent, const char *name, const struct field *t,
			    const void *obj)
{
	xmlNodePtr n = xmlNewChild(parent, NULL, BAD_CAST name, NULL);

	if (t)
		write_fields(n, t, obj);
	return n;
}

static void write_volume(xmlNodePtr parent, const struct lb_volume *v)
{
	xmlNodePtr n = add_child(parent, "volume", volume_fields, v);

	if (v->ext)
		add_child(n, "ext", ext_fields, v->ext);
	if (v->vfat)
		add_child(n, "vfat", vfat_fields, v->vfat);
	if (v->swap)
		add_child(n, "swap", swap_fields, v->swap);
	if (v->data) {
		xmlNodePtr dn = add_child(n, "data", artifact_fields, v->data);

		xmlNewProp(dn, BAD_CAST "method", BAD_CAST(v->data_method ? v->data_method : "image"));
	}
}

static void write_disk(xmlNodePtr root, const struct lb_disk *d)
{
	xmlNodePtr n = add_child(root, "disk", disk_fields, d), id, tb;

	id = add_child(n, "identity", identity_fields, d);
	for (size_t i = 0; i < d->n_by_id; i++) {
		xmlNodePtr b = xmlNewChild(id, NULL, BAD_CAST "by-id", NULL);

		_cleanup_free_ char *name = lb_printable_copy(d->by_id[i]);

		xmlNewProp(b, BAD_CAST "name", BAD_CAST name);
	}
	add_child(n, "geometry", geometry_fields, d);
	tb = add_child(n, "table", table_fields, d);
	if (d->label == LB_LABEL_GPT)
		write_fields(tb, gpt_fields, d);
	if (d->boot_code)
		add_child(tb, "boot-code", artifact_fields, d->boot_code);
	if (d->mbr_gap)
		add_child(tb, "mbr-gap", artifact_fields, d->mbr_gap);
	for (size_t i = 0; i < d->n_parts; i++) {
		const struct lb_partition *p = d->parts[i];
		xmlNodePtr pn = add_child(tb, "partition", partition_fields, p);

		if (p->content)
			add_child(pn, "content", artifact_fields, p->content);
		if (p->volume)
			write_volume(pn, p->volume);
	}
	if (d->volume)
		write_volume(n, d->volume);
}

static xmlDocPtr build_doc(const struct lb_manifest *m)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "lifeboat-manifest");
	char buf[32];

	xmlDocSetRootElement(doc, root);
	snprintf(buf, sizeof(buf), "%" PRIu32, m->format);
	xmlNewProp(root, BAD_CAST "format", BAD_CAST buf);
	xmlNewProp(root, BAD_CAST "generator",
		   BAD_CAST(m->generator ? m->generator : "lifeboat " LB_VERSION));
	add_child(root, "capture", capture_fields, m);
	if (m->system) {
		xmlNodePtr sn = add_child(root, "system", system_fields, m->system);

		for (size_t i = 0; i < m->system->n_notes; i++)
			xmlNewTextChild(sn, NULL, BAD_CAST "note", BAD_CAST m->system->notes[i]);
	}
	for (size_t i = 0; i < m->n_disks; i++)
		write_disk(root, m->disks[i]);
	if (m->boot) {
		xmlNodePtr b = add_child(root, "boot", boot_fields, m->boot);

		for (size_t i = 0; i < m->boot->n_efi; i++)
			add_child(b, "efi-entry", efi_fields, m->boot->efi[i]);
		for (size_t i = 0; i < m->boot->n_refs; i++)
			add_child(b, "reference", ref_fields, m->boot->refs[i]);
	}
	return doc;
}

int lb_manifest_write_mem(const struct lb_manifest *m, char **ret, size_t *ret_len)
{
	xmlDocPtr doc = build_doc(m);
	xmlChar *mem = NULL;
	int len = 0;

	xmlDocDumpFormatMemoryEnc(doc, &mem, &len, "UTF-8", 1);
	xmlFreeDoc(doc);
	if (!mem)
		return lb_err(-ENOMEM, "cannot write the manifest");
	*ret = lb_zalloc((size_t)len + 1);
	memcpy(*ret, mem, (size_t)len);
	*ret_len = (size_t)len;
	xmlFree(mem);
	return 0;
}

int lb_manifest_write(const struct lb_manifest *m, const char *path)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	r = lb_manifest_write_mem(m, &buf, &len);
	if (r < 0)
		return r;
	r = lb_write_file(path, buf, len, 0600);
	if (r < 0)
		return lb_err(r, "%s: cannot write: %s", path, strerror(-r));
	return 0;
}

/* ---- reading ---------------------------------------------------------- */

struct reader {
	const char *name;	/* file name, for messages */
};

static int bad_at(const struct reader *rd, long line, const char *fmt, va_list ap) _printf_(3, 0);
static int bad_at(const struct reader *rd, long line, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	return lb_err(-EINVAL, "%s:%ld: %s", rd->name, line, msg);
}

static int bad(const struct reader *rd, xmlNodePtr n, const char *fmt, ...) _printf_(3, 4);
static int bad(const struct reader *rd, xmlNodePtr n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = bad_at(rd, n ? xmlGetLineNo(n) : 0L, fmt, ap);
	va_end(ap);
	return r;
}

/* About an artifact: the line of its own element. */
static int bad_artifact(const struct reader *rd, const struct lb_artifact *a, const char *fmt, ...)
	_printf_(3, 4);
static int bad_artifact(const struct reader *rd, const struct lb_artifact *a, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = bad_at(rd, a->rt_line, fmt, ap);
	va_end(ap);
	return r;
}

static char *get_prop(xmlNodePtr n, const char *name)
{
	xmlChar *v = xmlGetProp(n, BAD_CAST name);
	char *r;

	if (!v)
		return NULL;
	r = lb_strdup((const char *)v);
	xmlFree(v);
	return r;
}

static int read_fields(const struct reader *rd, xmlNodePtr node, const struct field *t, void *obj)
{
	for (; t->name; t++) {
		char *base = (char *)obj + t->off;
		_cleanup_free_ char *v = get_prop(node, t->name);
		int r = 0;

		if (!v && t->type == F_STR && (t->flags & F_HEX)) {
			_cleanup_free_ char *hexname = lb_asprintf("%s-hex", t->name);
			_cleanup_free_ char *hex = get_prop(node, hexname);
			uint8_t *raw = NULL;
			size_t len = 0;

			if (!hex)
				continue;
			if (lb_hex_decode(hex, &raw, &len) < 0 || memchr(raw, 0, len)) {
				free(raw);
				return bad(rd, node, "%s: not valid hex text", hexname);
			}
			*(char **)base = (char *)raw;
			continue;
		}
		if (!v)
			continue;
		switch (t->type) {
		case F_STR:
			if (!lb_utf8_is_printable(v))
				return bad(rd, node, "%s: control characters are not allowed here%s", t->name,
					   (t->flags & F_HEX) ? " (use the -hex form)" : "");
			*(char **)base = TAKE_PTR(v);
			break;
		case F_U64:
			r = lb_parse_u64(v, (uint64_t *)base);
			break;
		case F_HEX64: {
			char *end;

			errno = 0;
			if (strncmp(v, "0x", 2) != 0 || !isxdigit((unsigned char)v[2]))
				r = -EINVAL;
			else if ((*(uint64_t *)base = strtoull(v + 2, &end, 16)), errno || *end)
				r = -EINVAL;
			break;
		}
		case F_U32:
			r = lb_parse_u32(v, (uint32_t *)base);
			break;
		case F_BOOL:
			*(bool *)base = strcmp(v, "true") == 0;
			break;
		case F_LABEL:
			r = lb_label_type_from_name(v, (enum lb_label_type *)base);
			break;
		case F_KIND:
			r = lb_part_kind_from_name(v, (enum lb_part_kind *)base);
			break;
		}
		if (r < 0)
			return bad(rd, node, "%s=\"%s\": not a valid value", t->name, v);
	}
	return 0;
}

static bool is_elem(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST name) == 0;
}

static int read_artifact(const struct reader *rd, xmlNodePtr n, struct lb_artifact **ret)
{
	struct lb_artifact *a = lb_artifact_new();
	int r = read_fields(rd, n, artifact_fields, a);

	a->rt_line = xmlGetLineNo(n);
	if (r >= 0 && (strchr(a->file, '/') || strcmp(a->file, "..") == 0 || a->file[0] == '.'))
		r = bad(rd, n, "artifact file \"%s\" must be a plain name in the capture directory",
			a->file);
	if (r < 0) {
		lb_artifact_free(a);
		return r;
	}
	*ret = a;
	return 0;
}

static int read_volume(const struct reader *rd, xmlNodePtr n, struct lb_volume **ret)
{
	struct lb_volume *v = lb_volume_new();
	int r = read_fields(rd, n, volume_fields, v);

	for (xmlNodePtr c = n->children; c && r >= 0; c = c->next) {
		if (is_elem(c, "ext")) {
			v->ext = lb_ext_geom_new();
			r = read_fields(rd, c, ext_fields, v->ext);
		} else if (is_elem(c, "vfat")) {
			v->vfat = lb_vfat_geom_new();
			r = read_fields(rd, c, vfat_fields, v->vfat);
		} else if (is_elem(c, "swap")) {
			v->swap = lb_swap_geom_new();
			r = read_fields(rd, c, swap_fields, v->swap);
		} else if (is_elem(c, "data")) {
			r = read_artifact(rd, c, &v->data);
			if (r >= 0)
				v->data_method = get_prop(c, "method");
		}
	}
	if (r < 0) {
		lb_volume_free(v);
		return r;
	}
	*ret = v;
	return 0;
}

static int read_partition(const struct reader *rd, xmlNodePtr n, struct lb_disk *d)
{
	struct lb_partition *p = lb_partition_new();
	int r;

	lb_disk_add_partition(d, p);
	r = read_fields(rd, n, partition_fields, p);
	for (xmlNodePtr c = n->children; c && r >= 0; c = c->next) {
		if (is_elem(c, "content"))
			r = read_artifact(rd, c, &p->content);
		else if (is_elem(c, "volume"))
			r = read_volume(rd, c, &p->volume);
	}
	return r;
}

static int read_disk(const struct reader *rd, xmlNodePtr n, struct lb_manifest *m)
{
	struct lb_disk *d = lb_disk_new();
	int r;

	lb_manifest_add_disk(m, d);
	r = read_fields(rd, n, disk_fields, d);
	for (xmlNodePtr c = n->children; c && r >= 0; c = c->next) {
		if (is_elem(c, "identity")) {
			r = read_fields(rd, c, identity_fields, d);
			for (xmlNodePtr b = c->children; b; b = b->next)
				if (is_elem(b, "by-id")) {
					_cleanup_free_ char *name = get_prop(b, "name");

					lb_disk_add_by_id(d, name ? name : "");
				}
		} else if (is_elem(c, "geometry")) {
			r = read_fields(rd, c, geometry_fields, d);
		} else if (is_elem(c, "table")) {
			r = read_fields(rd, c, table_fields, d);
			if (r >= 0 && d->label == LB_LABEL_GPT)
				r = read_fields(rd, c, gpt_fields, d);
			for (xmlNodePtr t = c->children; t && r >= 0; t = t->next) {
				if (is_elem(t, "boot-code"))
					r = read_artifact(rd, t, &d->boot_code);
				else if (is_elem(t, "mbr-gap"))
					r = read_artifact(rd, t, &d->mbr_gap);
				else if (is_elem(t, "partition"))
					r = read_partition(rd, t, d);
			}
		} else if (is_elem(c, "volume")) {
			r = read_volume(rd, c, &d->volume);
		}
	}
	if (r >= 0 && d->path && strncmp(d->path, "/dev/", 5) == 0)
		d->sysname = lb_strdup(d->path + 5);
	return r;
}

static int read_boot(const struct reader *rd, xmlNodePtr n, struct lb_manifest *m)
{
	int r;

	m->boot = lb_boot_new();
	r = read_fields(rd, n, boot_fields, m->boot);
	for (xmlNodePtr c = n->children; c && r >= 0; c = c->next) {
		if (is_elem(c, "efi-entry")) {
			struct lb_efi_entry *e = lb_efi_entry_new();

			lb_boot_add_efi(m->boot, e);
			r = read_fields(rd, c, efi_fields, e);
		} else if (is_elem(c, "reference")) {
			struct lb_boot_ref *ref = lb_boot_ref_new();

			lb_boot_add_ref(m->boot, ref);
			r = read_fields(rd, c, ref_fields, ref);
		}
	}
	return r;
}

static int read_system(const struct reader *rd, xmlNodePtr n, struct lb_manifest *m)
{
	int r;

	m->system = lb_system_new();
	r = read_fields(rd, n, system_fields, m->system);
	for (xmlNodePtr c = n->children; c && r >= 0; c = c->next) {
		xmlChar *text;

		if (!is_elem(c, "note"))
			continue;
		text = xmlNodeGetContent(c);
		if (!text || !lb_utf8_is_printable((const char *)text))
			r = bad(rd, c, "note: control characters are not allowed here");
		else
			lb_system_note(m->system, "%s", (const char *)text);
		xmlFree(text);
	}
	return r;
}

/* ---- checks the schema cannot express --------------------------------- */

/* Every recorded area restore writes through the whole disk fits the
 * geometry it belongs to: the boot code is the MBR's 440 bytes, the post-MBR
 * gap is an MBR disk's and ends before its first partition, a partition's
 * contents fit in it. Restore writes them as recorded, on intact disks too. */
static int check_areas(const struct reader *rd, const struct lb_disk *d)
{
	if (d->boot_code && d->boot_code->size != LB_BOOT_CODE_SIZE)
		return bad_artifact(rd, d->boot_code, "disk %s: boot code of %" PRIu64
				    " bytes (the MBR boot-code area is %d)",
				    d->id, d->boot_code->size, LB_BOOT_CODE_SIZE);
	if (d->mbr_gap && d->label != LB_LABEL_DOS)
		return bad_artifact(rd, d->mbr_gap, "disk %s: a post-MBR gap on a disk with %s table "
				    "(only MBR disks have one)",
				    d->id, d->label == LB_LABEL_GPT ? "a GPT" : "no partition");
	if (d->mbr_gap && (d->mbr_gap->size == 0 || d->mbr_gap->size > lb_disk_mbr_gap_room(d)))
		return bad_artifact(rd, d->mbr_gap, "disk %s: post-MBR gap of %" PRIu64 " bytes does "
				    "not fit before the first partition (%" PRIu64 " bytes there)",
				    d->id, d->mbr_gap->size, lb_disk_mbr_gap_room(d));
	for (size_t i = 0; i < d->n_parts; i++) {
		const struct lb_partition *p = d->parts[i];

		if (p->content && p->content->size > lb_partition_room(d, p))
			return bad_artifact(rd, p->content, "disk %s: partition %u's contents of %" PRIu64
					    " bytes do not fit in it (%" PRIu64 " bytes)",
					    d->id, p->number, p->content->size, lb_partition_room(d, p));
	}
	return 0;
}

/* Bounds on what a manifest may ask for. A GPT entry array is at most what
 * libfdisk reads (4 MiB of 128-byte entries: GPT_NPARTITIONS_MAX); beyond
 * that libfdisk spends minutes looking for a size that fits. */
#define GPT_ENTRY_SIZE 128u
#define GPT_ENTRIES_MAX ((4u << 20) / GPT_ENTRY_SIZE)
#define PARTS_MAX GPT_ENTRIES_MAX
#define MBR_LBA_MAX UINT32_MAX		/* an MBR entry's start and size are 32-bit */
#define EXT_LOG_FLEX_MAX 31		/* the kernel's limit (ext4_fill_flex_info) */

/* The first element NAME among n's children. */
static xmlNodePtr child_elem(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
		if (is_elem(c, name))
			return c;
	return NULL;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* A disk's recorded geometry: a size, sector sizes the kernel could report,
 * and a byte size that fits in an off_t (so size × sector size, and every
 * partition's bytes, can be computed anywhere without wrapping). */
static int check_disk_geometry(const struct reader *rd, xmlNodePtr n, const struct lb_disk *d)
{
	uint64_t bytes;

	if (!is_pow2(d->physical_sector_size) || d->physical_sector_size < d->sector_size ||
	    d->physical_sector_size > (1u << 20))
		return bad(rd, n, "disk %s: physical sector size %u is not a power of two multiple of "
				  "the logical sector size %u",
			   d->id, d->physical_sector_size, d->sector_size);
	if (d->size == 0)
		return bad(rd, n, "disk %s: size 0 is not a disk", d->id);
	if (__builtin_mul_overflow(d->size, (uint64_t)d->sector_size, &bytes) || bytes > INT64_MAX)
		return bad(rd, n, "disk %s: %" PRIu64 " sectors of %u bytes is too large for a disk",
			   d->id, d->size, d->sector_size);
	return 0;
}

/* What a table may hold: partitions only with a table, and not too many. */
static int check_table(const struct reader *rd, xmlNodePtr n, const struct lb_disk *d)
{
	if (d->label == LB_LABEL_NONE && d->n_parts)
		return bad(rd, n, "disk %s: has partitions but no partition table", d->id);
	if (d->n_parts > PARTS_MAX)
		return bad(rd, n, "disk %s: %zu partitions, more than %u", d->id, d->n_parts, PARTS_MAX);
	return 0;
}

/* The GPT header fields: an entry count libfdisk accepts, the entry arrays
 * between the headers and the usable range, the backup header at the end. */
static int check_gpt(const struct reader *rd, xmlNodePtr n, const struct lb_disk *d)
{
	uint64_t esects, elba = d->entries_lba ? d->entries_lba : 2;

	if (d->label != LB_LABEL_GPT)
		return 0;
	if (d->entries == 0 || d->entries > GPT_ENTRIES_MAX)
		return bad(rd, n, "disk %s: %u GPT entries (1 to %u)", d->id, d->entries,
			   GPT_ENTRIES_MAX);
	esects = ((uint64_t)d->entries * GPT_ENTRY_SIZE + d->sector_size - 1) / d->sector_size;
	if (elba < 2 || d->first_lba < elba || d->first_lba - elba < esects ||
	    d->last_lba < d->first_lba || d->last_lba >= d->size || d->size - d->last_lba < 2 + esects)
		return bad(rd, n, "disk %s: GPT usable range %" PRIu64 "-%" PRIu64 " does not fit "
				  "(%u entries from sector %" PRIu64 ", %" PRIu64 " sectors)",
			   d->id, d->first_lba, d->last_lba, d->entries, elba, d->size);
	if (d->alt_lba && (d->alt_lba <= d->last_lba || d->alt_lba - d->last_lba <= esects ||
			   d->alt_lba >= d->size))
		return bad(rd, n, "disk %s: GPT backup header at %" PRIu64 " does not fit after the "
				  "usable range",
			   d->id, d->alt_lba);
	return 0;
}

struct part_ref {
	const struct lb_partition *p;
	xmlNodePtr node;
};

static int cmp_part_number(const void *a, const void *b)
{
	const struct part_ref *x = a, *y = b;

	return (x->p->number > y->p->number) - (x->p->number < y->p->number);
}

static int cmp_part_start(const void *a, const void *b)
{
	const struct part_ref *x = a, *y = b;

	return (x->p->start > y->p->start) - (x->p->start < y->p->start);
}

/* One partition on its own: its kind and number for the table type, its
 * range inside the usable range (GPT) or the 32-bit fields (MBR). */
static int check_partition(const struct reader *rd, xmlNodePtr n, const struct lb_disk *d,
			   const struct lb_partition *p)
{
	uint64_t end = p->start + p->size - 1;	/* fits: checked by check_disk */

	if (d->label == LB_LABEL_GPT) {
		if (p->kind != LB_PART_PRIMARY)
			return bad(rd, n, "disk %s: partition %u is %s, GPT has no such kind", d->id,
				   p->number, lb_part_kind_name(p->kind));
		if (p->start < d->first_lba || end > d->last_lba)
			return bad(rd, n, "disk %s: partition %u (%" PRIu64 "-%" PRIu64 ") is outside "
					  "the GPT usable range %" PRIu64 "-%" PRIu64,
				   d->id, p->number, p->start, end, d->first_lba, d->last_lba);
		return 0;
	}
	if (p->kind == LB_PART_LOGICAL ? p->number < 5 || p->number > PARTS_MAX : p->number > 4)
		return bad(rd, n, "disk %s: partition %u cannot be %s on an MBR (primary and "
				  "extended 1-4, logical from 5)",
			   d->id, p->number, lb_part_kind_name(p->kind));
	if (p->kind != LB_PART_LOGICAL && (p->start > MBR_LBA_MAX || p->size > MBR_LBA_MAX))
		return bad(rd, n, "disk %s: partition %u (start %" PRIu64 ", size %" PRIu64 ") is "
				  "beyond what an MBR can address (2^32 sectors)",
			   d->id, p->number, p->start, p->size);
	return 0;
}

/* The partitions together, in O(n log n): numbers used once; on MBR one
 * extended partition at most, every logical inside it; nothing overlaps
 * (primaries and the extended one among themselves, logicals among
 * themselves). */
static int check_partition_set(const struct reader *rd, const struct lb_disk *d,
			       struct part_ref *refs)
{
	const struct part_ref *ext = NULL, *prev = NULL;
	size_t np = d->n_parts;

	if (np == 0)
		return 0;	/* (refs may be NULL: qsort must not see it) */
	qsort(refs, np, sizeof(*refs), cmp_part_number);
	for (size_t i = 1; i < np; i++)
		if (refs[i].p->number == refs[i - 1].p->number)
			return bad(rd, refs[i].node, "disk %s: partition %u appears twice", d->id,
				   refs[i].p->number);
	for (size_t i = 0; i < np; i++) {
		if (refs[i].p->kind != LB_PART_EXTENDED)
			continue;
		if (ext)
			return bad(rd, refs[i].node, "disk %s: partitions %u and %u are both extended",
				   d->id, ext->p->number, refs[i].p->number);
		ext = &refs[i];
	}
	qsort(refs, np, sizeof(*refs), cmp_part_start);
	for (int logical = 0; logical <= 1; logical++) {
		prev = NULL;
		for (size_t i = 0; i < np; i++) {
			const struct lb_partition *p = refs[i].p;

			if ((p->kind == LB_PART_LOGICAL) != logical)
				continue;
			if (logical && !ext)
				return bad(rd, refs[i].node, "disk %s: logical partition %u without an "
							     "extended partition",
					   d->id, p->number);
			if (logical && (p->start <= ext->p->start ||
					p->start + p->size > ext->p->start + ext->p->size))
				return bad(rd, refs[i].node, "disk %s: logical partition %u is not inside "
							     "extended partition %u",
					   d->id, p->number, ext->p->number);
			if (prev && prev->p->start + prev->p->size > p->start)
				return bad(rd, refs[i].node, "disk %s: partitions %u and %u overlap", d->id,
					   prev->p->number, p->number);
			prev = &refs[i];
		}
	}
	return check_areas(rd, d);
}

/* A filesystem's or swap area's recorded geometry: sizes its tools accept
 * and an extent that fits in the partition or disk that holds it. */
static int check_volume_geometry(const struct reader *rd, xmlNodePtr n, const struct lb_volume *v,
				 uint64_t room)
{
	uint64_t need = 0;
	bool over = false;

	if (v->ext) {
		const struct lb_ext_geom *g = v->ext;

		if (!is_pow2(g->block_size) || g->block_size < 1024 || g->block_size > 65536 ||
		    !is_pow2(g->inode_size) || g->inode_size < 128 || g->inode_size > g->block_size ||
		    g->log_groups_per_flex > EXT_LOG_FLEX_MAX)
			return bad(rd, n, "volume %s: ext geometry is not valid (block size %u, inode "
					  "size %u, log-groups-per-flex %u)",
				   v->id, g->block_size, g->inode_size, g->log_groups_per_flex);
		over = __builtin_mul_overflow(g->blocks, (uint64_t)g->block_size, &need);
	}
	if (v->vfat) {
		const struct lb_vfat_geom *g = v->vfat;

		if (!is_pow2(g->sector_size) || g->sector_size < 512 || g->sector_size > 32768)
			return bad(rd, n, "volume %s: FAT sector size %u is not valid", v->id,
				   g->sector_size);
		over = __builtin_mul_overflow(g->total_sectors, (uint64_t)g->sector_size, &need);
	}
	if (v->swap) {
		const struct lb_swap_geom *g = v->swap;

		if (!is_pow2(g->page_size) || g->page_size < 4096 || g->page_size > 65536)
			return bad(rd, n, "volume %s: swap page size %u is not valid", v->id,
				   g->page_size);
		over = g->pages == UINT64_MAX ||
		       __builtin_mul_overflow(g->pages + 1, (uint64_t)g->page_size, &need);
	}
	if (over || need > room)
		return bad(rd, n, "volume %s: its %s geometry (%" PRIu64 "%s bytes) does not fit in "
				  "the %" PRIu64 " bytes that hold it",
			   v->id, v->type, need, over ? " and more" : "", room);
	return 0;
}

struct id_ref {
	const char *id;
	xmlNodePtr node;
};

static int cmp_id(const void *a, const void *b)
{
	const struct id_ref *x = a, *y = b;

	return strcmp(x->id, y->id);
}

/* The first id of refs that appears twice, sorted: O(n log n) */
static const struct id_ref *find_twice(struct id_ref *refs, size_t n)
{
	if (n < 2)
		return NULL;	/* (refs may be NULL: qsort must not see it) */
	qsort(refs, n, sizeof(*refs), cmp_id);
	for (size_t i = 1; i < n; i++)
		if (strcmp(refs[i].id, refs[i - 1].id) == 0)
			return &refs[i];
	return NULL;
}

struct id_list {
	struct id_ref *v;
	size_t n;
};

static void id_list_add(struct id_list *l, const char *id, xmlNodePtr node)
{
	if (l->n % 64 == 0)
		l->v = lb_realloc_array(l->v, l->n + 64, sizeof(*l->v));
	l->v[l->n++] = (struct id_ref){ id, node };
}

static int check_disk(const struct reader *rd, xmlNodePtr n, const struct lb_disk *d,
		      struct id_list *vols)
{
	xmlNodePtr geo = child_elem(n, "geometry"), tbl = child_elem(n, "table");
	xmlNodePtr pn = child_elem(tbl, "partition");
	_cleanup_free_ struct part_ref *refs = NULL;
	int r;

	if (d->sector_size < 512 || d->sector_size > 65536 || (d->sector_size & (d->sector_size - 1)))
		return bad(rd, n, "disk %s: logical sector size %u is not valid", d->id, d->sector_size);
	if (d->label != LB_LABEL_NONE && d->volume)
		return bad(rd, n, "disk %s: has both a partition table and a whole-disk volume", d->id);
	r = check_disk_geometry(rd, geo ? geo : n, d);
	if (r >= 0)
		r = check_table(rd, tbl ? tbl : n, d);
	if (r >= 0)
		r = check_gpt(rd, tbl ? tbl : n, d);
	if (r < 0)
		return r;
	if (d->volume) {
		xmlNodePtr vn = child_elem(n, "volume");

		id_list_add(vols, d->volume->id, vn);
		r = check_volume_geometry(rd, vn, d->volume, d->size * d->sector_size);
		if (r < 0)
			return r;
	}
	refs = lb_zalloc(d->n_parts * sizeof(*refs) + 1);
	for (size_t i = 0; i < d->n_parts; i++) {
		const struct lb_partition *p = d->parts[i];
		xmlNodePtr at = pn ? pn : n;

		refs[i] = (struct part_ref){ p, at };
		for (pn = pn ? pn->next : NULL; pn && !is_elem(pn, "partition"); pn = pn->next)
			;
		if (p->number == 0 || p->size == 0 || p->start == 0 || p->start > d->size ||
		    p->size > d->size - p->start)
			return bad(rd, at, "disk %s: partition %u (start %" PRIu64 ", size %" PRIu64
				   ") does not fit on the disk",
				   d->id, p->number, p->start, p->size);
		if (d->label == LB_LABEL_GPT && p->number > d->entries)
			return bad(rd, at, "disk %s: partition %u is beyond the %u GPT entries", d->id,
				   p->number, d->entries);
	}
	r = check_partition_set(rd, d, refs);
	for (size_t i = 0; i < d->n_parts && r >= 0; i++) {
		const struct lb_partition *p = refs[i].p;

		r = check_partition(rd, refs[i].node, d, p);
		if (r >= 0 && p->volume) {
			xmlNodePtr vn = child_elem(refs[i].node, "volume");

			id_list_add(vols, p->volume->id, vn);
			r = check_volume_geometry(rd, vn, p->volume, p->size * d->sector_size);
		}
	}
	if (r >= 0)
		r = check_areas(rd, d);
	return r;
}

static int check_manifest(const struct reader *rd, xmlNodePtr root, const struct lb_manifest *m)
{
	_cleanup_free_ struct id_ref *disks = lb_zalloc(m->n_disks * sizeof(*disks) + 1);
	struct id_list vols = { NULL, 0 };
	const struct id_ref *twice;
	xmlNodePtr n = root->children;
	int r = 0;

	if (m->system && m->system->root && !lb_manifest_find_volume(m, m->system->root)) {
		xmlNodePtr s = root->children;

		while (s && !is_elem(s, "system"))
			s = s->next;
		return bad(rd, s, "system root %s is not a volume of this manifest", m->system->root);
	}

	for (size_t i = 0; i < m->n_disks; i++) {
		while (n && !is_elem(n, "disk"))
			n = n->next;
		disks[i] = (struct id_ref){ m->disks[i]->id, n };
		if (n)
			n = n->next;
	}
	twice = find_twice(disks, m->n_disks);
	if (twice)
		return bad(rd, twice->node, "disk id %s appears twice", twice->id);
	n = root->children;
	for (size_t i = 0; i < m->n_disks && r >= 0; i++) {
		while (n && !is_elem(n, "disk"))
			n = n->next;
		r = check_disk(rd, n, m->disks[i], &vols);
		if (n)
			n = n->next;
	}
	if (r >= 0 && (twice = find_twice(vols.v, vols.n)))
		r = bad(rd, twice->node, "volume id %s appears twice", twice->id);
	free(vols.v);
	return r;
}

/* ---- loading ---------------------------------------------------------- */

struct errlist {
	char buf[2048];
	int count;
};

static void collect_error(void *userdata, xmlErrorPtr err)
{
	struct errlist *el = userdata;
	size_t len = strlen(el->buf);

	if (!err || el->count++ >= 3)
		return;
	snprintf(el->buf + len, sizeof(el->buf) - len, "%sline %d: %s", len ? "; " : "", err->line,
		 err->message ? err->message : "error");
	len = strlen(el->buf);
	while (len && (el->buf[len - 1] == '\n' || el->buf[len - 1] == ' '))
		el->buf[--len] = '\0';
}

static int validate(const struct reader *rd, xmlDocPtr doc)
{
	xmlRelaxNGParserCtxtPtr pc = xmlRelaxNGNewMemParserCtxt(lb_schema_rng, (int)lb_schema_rng_len);
	xmlRelaxNGPtr schema = pc ? xmlRelaxNGParse(pc) : NULL;
	xmlRelaxNGValidCtxtPtr vc = schema ? xmlRelaxNGNewValidCtxt(schema) : NULL;
	struct errlist el = { .count = 0 };
	int r;

	el.buf[0] = '\0';
	if (!vc) {
		r = lb_err(-EIO, "the built-in manifest schema does not load");
		goto out;
	}
	xmlRelaxNGSetValidStructuredErrors(vc, collect_error, &el);
	r = xmlRelaxNGValidateDoc(vc, doc);
	if (r != 0)
		r = lb_err(-EINVAL, "%s: not a valid lifeboat manifest: %s", rd->name,
			   el.buf[0] ? el.buf : "schema validation failed");
out:
	xmlRelaxNGFreeValidCtxt(vc);
	xmlRelaxNGFree(schema);
	xmlRelaxNGFreeParserCtxt(pc);
	return r;
}

int lb_manifest_load_mem(const char *buf, size_t len, const char *name, struct lb_manifest **ret)
{
	struct reader rd = { .name = name };
	struct errlist el = { .count = 0 };
	xmlParserCtxtPtr pc;
	xmlDocPtr doc = NULL;
	xmlNodePtr root;
	struct lb_manifest *m = NULL;
	int r;

	el.buf[0] = '\0';
	if (len > MANIFEST_MAX)
		return lb_err(-EFBIG, "%s: too large for a manifest (%zu bytes)", name, len);
	pc = xmlNewParserCtxt();
	if (!pc)
		return lb_err(-ENOMEM, "cannot set up the XML parser");
	xmlSetStructuredErrorFunc(&el, collect_error);
	/* No network, no DTD loading, no entity substitution: a manifest never
	 * needs them, and a hostile one must not get them. */
	doc = xmlCtxtReadMemory(pc, buf, (int)len, name, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlSetStructuredErrorFunc(NULL, NULL);
	xmlFreeParserCtxt(pc);
	if (!doc) {
		r = lb_err(-EINVAL, "%s: not well-formed XML: %s", name,
			   el.buf[0] ? el.buf : "cannot parse");
		goto out;
	}
	if (doc->intSubset || doc->extSubset) {
		r = lb_err(-EINVAL, "%s: a manifest must not carry a DTD or entity declarations", name);
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	{
		/* before the schema, so a newer manifest gets a clear message */
		_cleanup_free_ char *fmt = root ? get_prop(root, "format") : NULL;

		if (fmt && strcmp(fmt, "1") != 0) {
			r = lb_err(-EINVAL, "%s: manifest format %s is not supported (this lifeboat reads "
					    "format %d)", name, fmt, LB_MANIFEST_FORMAT);
			goto out;
		}
	}
	r = validate(&rd, doc);
	if (r < 0)
		goto out;
	m = lb_manifest_new();
	{
		_cleanup_free_ char *fmt = get_prop(root, "format");

		m->generator = get_prop(root, "generator");
		if (!fmt || lb_parse_u32(fmt, &m->format) < 0) {
			r = bad(&rd, root, "format=\"%s\" is not a number", fmt ? fmt : "");
			goto out;
		}
	}
	for (xmlNodePtr c = root->children; c && r >= 0; c = c->next) {
		if (is_elem(c, "capture"))
			r = read_fields(&rd, c, capture_fields, m);
		else if (is_elem(c, "disk"))
			r = read_disk(&rd, c, m);
		else if (is_elem(c, "boot"))
			r = read_boot(&rd, c, m);
		else if (is_elem(c, "system"))
			r = read_system(&rd, c, m);
	}
	if (r >= 0)
		r = check_manifest(&rd, root, m);
	if (r >= 0)
		*ret = TAKE_PTR(m);
out:
	lb_manifest_free(m);
	xmlFreeDoc(doc);
	return r;
}

int lb_manifest_load(const char *capture, struct lb_manifest **ret)
{
	_cleanup_free_ char *path = NULL, *dir = NULL, *buf = NULL;
	struct stat st;
	int n, r;

	if (stat(capture, &st) < 0)
		return lb_err(-errno, "%s: %s", capture, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		path = lb_asprintf("%s/%s", capture, LB_MANIFEST_NAME);
		dir = lb_strdup(capture);
	} else {
		char *slash;

		path = lb_strdup(capture);
		dir = lb_strdup(capture);
		slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		else {
			free(dir);
			dir = lb_strdup(".");
		}
	}
	n = lb_read_file(path, &buf, MANIFEST_MAX);
	if (n == -EFBIG)
		return lb_err(n, "%s: too large for a manifest", path);
	if (n == -EPERM)
		return n;	/* "PATH: is a FIFO" said */
	if (n < 0)
		return lb_err(n, "%s: %s", path, strerror(-n));
	r = lb_manifest_load_mem(buf, (size_t)n, path, ret);
	if (r < 0)
		return r;
	(*ret)->rt_dir = TAKE_PTR(dir);
	return 0;
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
		return lb_err(-EBADMSG, "%s: SHA-256 does not match the manifest", path);
	return 0;
}
