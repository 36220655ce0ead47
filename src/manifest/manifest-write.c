// SPDX-License-Identifier: GPL-3.0-or-later
/* Writing a manifest: the model walked through the field tables
 * (manifest.c, and each filesystem's for its geometry), into libxml2. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"
#include "manifest/manifest.h"
#include "manifest/manifest-int.h"

static void write_fields(xmlNodePtr node, const struct lb_field *t, const void *obj)
{
	for (; t->name; t++) {
		const char *base = (const char *)obj + t->off;
		char buf[64];
		const char *val = buf;
		_cleanup_free_ char *hex = NULL, *hexname = NULL;

		switch (t->type) {
		case LB_F_STR: {
			const char *s = *(char *const *)base;

			if (!s) {
				if (t->flags & LB_F_OPT)
					continue;
				s = "";
			}
			if (!lb_utf8_is_printable(s) && !(t->flags & LB_F_HEX)) {
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
		case LB_F_U64:
			if ((t->flags & LB_F_OPT) && !*(const uint64_t *)base)
				continue;
			snprintf(buf, sizeof(buf), "%" PRIu64, *(const uint64_t *)base);
			break;
		case LB_F_U32:
			if ((t->flags & LB_F_OPT) && !*(const uint32_t *)base)
				continue;
			snprintf(buf, sizeof(buf), "%" PRIu32, *(const uint32_t *)base);
			break;
		case LB_F_BOOL:
			if ((t->flags & LB_F_OPT) && !*(const bool *)base)
				continue;
			val = *(const bool *)base ? "true" : "false";
			break;
		case LB_F_HEX64:
			if ((t->flags & LB_F_OPT) && !*(const uint64_t *)base)
				continue;
			snprintf(buf, sizeof(buf), "0x%016" PRIx64, *(const uint64_t *)base);
			break;
		case LB_F_LABEL:
			val = lb_label_type_name(*(const enum lb_label_type *)base);
			break;
		case LB_F_KIND:
			val = lb_part_kind_name(*(const enum lb_part_kind *)base);
			break;
		}
		xmlNewProp(node, BAD_CAST t->name, BAD_CAST val);
	}
}

void lb_mf_write_fields(xmlNodePtr node, const struct lb_field *t, const void *obj)
{
	write_fields(node, t, obj);
}

static xmlNodePtr add_child(xmlNodePtr parent, const char *name, const struct lb_field *t,
			    const void *obj)
{
	xmlNodePtr n = xmlNewChild(parent, NULL, BAD_CAST name, NULL);

	if (t)
		write_fields(n, t, obj);
	return n;
}

static void write_volume(xmlNodePtr parent, const struct lb_volume *v)
{
	xmlNodePtr n = add_child(parent, "volume", lb_mf_volume_fields, v);

	const struct lb_fs_geom *k;

	for (size_t i = 0; (k = lb_fs_geom_at(i)); i++) {
		const void *g = lb_fs_geom_get(k, v);

		if (g)
			add_child(n, k->element, k->fields, g);
	}
	lb_mf_write_subvols(n, v);
	if (v->data) {
		xmlNodePtr dn = add_child(n, "data", lb_mf_artifact_fields, v->data);

		xmlNewProp(dn, BAD_CAST "method", BAD_CAST(v->data_method ? v->data_method : "image"));
		if (v->data_source)
			xmlNewProp(dn, BAD_CAST "source", BAD_CAST v->data_source);
		if (v->data_from && v->data_to) {
			xmlNewProp(dn, BAD_CAST "from", BAD_CAST v->data_from);
			xmlNewProp(dn, BAD_CAST "to", BAD_CAST v->data_to);
		}
	}
}

static void write_disk(xmlNodePtr root, const struct lb_disk *d)
{
	xmlNodePtr n = add_child(root, "disk", lb_mf_disk_fields, d), id, tb;

	id = add_child(n, "identity", lb_mf_identity_fields, d);
	for (size_t i = 0; i < d->n_by_id; i++) {
		xmlNodePtr b = xmlNewChild(id, NULL, BAD_CAST "by-id", NULL);

		_cleanup_free_ char *name = lb_printable_copy(d->by_id[i]);

		xmlNewProp(b, BAD_CAST "name", BAD_CAST name);
	}
	add_child(n, "geometry", lb_mf_geometry_fields, d);
	tb = add_child(n, "table", lb_mf_table_fields, d);
	if (d->label == LB_LABEL_GPT)
		write_fields(tb, lb_mf_gpt_fields, d);
	if (d->boot_code)
		add_child(tb, "boot-code", lb_mf_artifact_fields, d->boot_code);
	if (d->mbr_gap)
		add_child(tb, "mbr-gap", lb_mf_artifact_fields, d->mbr_gap);
	for (size_t i = 0; i < d->n_parts; i++) {
		const struct lb_partition *p = d->parts[i];
		xmlNodePtr pn = add_child(tb, "partition", lb_mf_partition_fields, p);

		if (p->content)
			add_child(pn, "content", lb_mf_artifact_fields, p->content);
		if (p->volume)
			write_volume(pn, p->volume);
	}
	if (d->volume)
		write_volume(n, d->volume);
}

static void write_storage(xmlNodePtr root, const struct lb_stack *s)
{
	xmlNodePtr st = xmlNewChild(root, NULL, BAD_CAST "storage", NULL);

	for (size_t i = 0; i < s->n_mds; i++) {
		const struct lb_md *md = s->mds[i];
		xmlNodePtr n = add_child(st, "md", lb_mf_md_fields, md);

		for (size_t j = 0; j < md->n_members; j++)
			add_child(n, "member", lb_mf_md_member_fields, md->members[j]);
		if (md->volume)
			write_volume(n, md->volume);
	}
	for (size_t i = 0; i < s->n_luks; i++) {
		const struct lb_luks *l = s->luks[i];
		xmlNodePtr n = add_child(st, "luks", lb_mf_luks_fields, l);

		if (l->header)
			add_child(n, "header", lb_mf_artifact_fields, l->header);
		if (l->ciphertext)
			add_child(n, "ciphertext", lb_mf_artifact_fields, l->ciphertext);
		if (l->volume)
			write_volume(n, l->volume);
	}
	for (size_t i = 0; i < s->n_vgs; i++) {
		const struct lb_vg *vg = s->vgs[i];
		xmlNodePtr n = add_child(st, "vg", lb_mf_vg_fields, vg);

		if (vg->metadata)
			add_child(n, "metadata", lb_mf_artifact_fields, vg->metadata);
		for (size_t j = 0; j < vg->n_pvs; j++)
			add_child(n, "pv", lb_mf_pv_fields, vg->pvs[j]);
		for (size_t j = 0; j < vg->n_lvs; j++) {
			xmlNodePtr ln = add_child(n, "lv", lb_mf_lv_fields, vg->lvs[j]);

			if (vg->lvs[j]->volume)
				write_volume(ln, vg->lvs[j]->volume);
		}
	}
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
	add_child(root, "capture", lb_mf_capture_fields, m);
	if (m->encryption)
		add_child(root, "encryption", lb_mf_encryption_fields, m->encryption);
	if (m->system) {
		xmlNodePtr sn = add_child(root, "system", lb_mf_system_fields, m->system);

		for (size_t i = 0; i < m->system->n_notes; i++)
			xmlNewTextChild(sn, NULL, BAD_CAST "note", BAD_CAST m->system->notes[i]);
	}
	for (size_t i = 0; i < m->n_disks; i++)
		write_disk(root, m->disks[i]);
	if (m->stack)
		write_storage(root, m->stack);
	if (m->boot) {
		xmlNodePtr b = add_child(root, "boot", lb_mf_boot_fields, m->boot);

		for (size_t i = 0; i < m->boot->n_efi; i++)
			add_child(b, "efi-entry", lb_mf_efi_fields, m->boot->efi[i]);
		for (size_t i = 0; i < m->boot->n_refs; i++)
			add_child(b, "reference", lb_mf_ref_fields, m->boot->refs[i]);
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
