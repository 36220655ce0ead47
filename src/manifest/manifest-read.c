// SPDX-License-Identifier: GPL-3.0-or-later
/* Reading a manifest: parsed without network, DTD or entities, validated
 * against the schema, walked through the field tables into the model, then
 * checked (manifest-check.c). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"
#include "manifest/manifest.h"
#include "manifest/manifest-int.h"

#define MANIFEST_MAX (64u << 20)

/* ---- reading ---------------------------------------------------------- */

static int read_fields(const struct lb_mf_reader *rd, xmlNodePtr node, const struct lb_field *t,
		       void *obj)
{
	for (; t->name; t++) {
		char *base = (char *)obj + t->off;
		_cleanup_free_ char *v = lb_mf_get_prop(node, t->name);
		int r = 0;

		if (!v && t->type == LB_F_STR && (t->flags & LB_F_HEX)) {
			_cleanup_free_ char *hexname = lb_asprintf("%s-hex", t->name);
			_cleanup_free_ char *hex = lb_mf_get_prop(node, hexname);
			uint8_t *raw = NULL;
			size_t len = 0;

			if (!hex)
				continue;
			if (lb_hex_decode(hex, &raw, &len) < 0 || memchr(raw, 0, len)) {
				free(raw);
				return lb_mf_bad(rd, node, "%s: not valid hex text", hexname);
			}
			*(char **)base = (char *)raw;
			continue;
		}
		if (!v)
			continue;
		switch (t->type) {
		case LB_F_STR:
			if (!lb_utf8_is_printable(v))
				return lb_mf_bad(rd, node, "%s: control characters are not allowed here%s", t->name,
						 (t->flags & LB_F_HEX) ? " (use the -hex form)" : "");
			*(char **)base = TAKE_PTR(v);
			break;
		case LB_F_U64:
			r = lb_parse_u64(v, (uint64_t *)base);
			break;
		case LB_F_HEX64: {
			char *end;

			errno = 0;
			if (strncmp(v, "0x", 2) != 0 || !isxdigit((unsigned char)v[2]))
				r = -EINVAL;
			else if ((*(uint64_t *)base = strtoull(v + 2, &end, 16)), errno || *end)
				r = -EINVAL;
			break;
		}
		case LB_F_U32:
			r = lb_parse_u32(v, (uint32_t *)base);
			break;
		case LB_F_BOOL:
			*(bool *)base = strcmp(v, "true") == 0;
			break;
		case LB_F_LABEL:
			r = lb_label_type_from_name(v, (enum lb_label_type *)base);
			break;
		case LB_F_KIND:
			r = lb_part_kind_from_name(v, (enum lb_part_kind *)base);
			break;
		}
		if (r < 0)
			return lb_mf_bad(rd, node, "%s=\"%s\": not a valid value", t->name, v);
	}
	return 0;
}

int lb_mf_read_fields(const struct lb_mf_reader *rd, xmlNodePtr node, const struct lb_field *t,
		      void *obj)
{
	return read_fields(rd, node, t, obj);
}

static int read_artifact(const struct lb_mf_reader *rd, xmlNodePtr n, struct lb_artifact **ret)
{
	struct lb_artifact *a = lb_artifact_new();
	int r = read_fields(rd, n, lb_mf_artifact_fields, a);

	a->rt_line = xmlGetLineNo(n);
	if (r >= 0 && (strchr(a->file, '/') || strcmp(a->file, "..") == 0 || a->file[0] == '.'))
		r = lb_mf_bad(rd, n, "artifact file \"%s\" must be a plain name in the capture directory",
			      a->file);
	if (r < 0) {
		lb_artifact_free(a);
		return r;
	}
	*ret = a;
	return 0;
}

static int read_volume(const struct lb_mf_reader *rd, xmlNodePtr n, struct lb_volume **ret)
{
	struct lb_volume *v = lb_volume_new();
	int r = read_fields(rd, n, lb_mf_volume_fields, v);

	for (xmlNodePtr c = n->children; c && r >= 0; c = c->next) {
		const struct lb_fs_geom *k = NULL;

		if (c->type == XML_ELEMENT_NODE)
			k = lb_fs_geom_find((const char *)c->name);
		if (k && lb_fs_geom_get(k, v)) {
			r = lb_mf_bad(rd, c, "volume %s: a second <%s>", v->id, k->element);
		} else if (k) {
			void *g = lb_zalloc(k->size);

			lb_fs_geom_set(k, v, g);	/* lb_volume_free frees it */
			r = read_fields(rd, c, k->fields, g);
		} else if (lb_mf_is_elem(c, "subvolumes")) {
			r = lb_mf_read_subvols(rd, c, v);
		} else if (lb_mf_is_elem(c, "data")) {
			r = read_artifact(rd, c, &v->data);
			if (r >= 0) {
				v->data_method = lb_mf_get_prop(c, "method");
				v->data_source = lb_mf_get_prop(c, "source");
				v->data_from = lb_mf_get_prop(c, "from");
				v->data_to = lb_mf_get_prop(c, "to");
			}
		}
	}
	if (r < 0) {
		lb_volume_free(v);
		return r;
	}
	*ret = v;
	return 0;
}

static int read_partition(const struct lb_mf_reader *rd, xmlNodePtr n, struct lb_disk *d)
{
	struct lb_partition *p = lb_partition_new();
	int r;

	lb_disk_add_partition(d, p);
	r = read_fields(rd, n, lb_mf_partition_fields, p);
	for (xmlNodePtr c = n->children; c && r >= 0; c = c->next) {
		if (lb_mf_is_elem(c, "content"))
			r = read_artifact(rd, c, &p->content);
		else if (lb_mf_is_elem(c, "volume"))
			r = read_volume(rd, c, &p->volume);
	}
	return r;
}

static int read_disk(const struct lb_mf_reader *rd, xmlNodePtr n, struct lb_manifest *m)
{
	struct lb_disk *d = lb_disk_new();
	int r;

	lb_manifest_add_disk(m, d);
	r = read_fields(rd, n, lb_mf_disk_fields, d);
	for (xmlNodePtr c = n->children; c && r >= 0; c = c->next) {
		if (lb_mf_is_elem(c, "identity")) {
			r = read_fields(rd, c, lb_mf_identity_fields, d);
			for (xmlNodePtr b = c->children; b; b = b->next)
				if (lb_mf_is_elem(b, "by-id")) {
					_cleanup_free_ char *name = lb_mf_get_prop(b, "name");

					lb_disk_add_by_id(d, name ? name : "");
				}
		} else if (lb_mf_is_elem(c, "geometry")) {
			r = read_fields(rd, c, lb_mf_geometry_fields, d);
		} else if (lb_mf_is_elem(c, "table")) {
			r = read_fields(rd, c, lb_mf_table_fields, d);
			if (r >= 0 && d->label == LB_LABEL_GPT)
				r = read_fields(rd, c, lb_mf_gpt_fields, d);
			for (xmlNodePtr t = c->children; t && r >= 0; t = t->next) {
				if (lb_mf_is_elem(t, "boot-code"))
					r = read_artifact(rd, t, &d->boot_code);
				else if (lb_mf_is_elem(t, "mbr-gap"))
					r = read_artifact(rd, t, &d->mbr_gap);
				else if (lb_mf_is_elem(t, "partition"))
					r = read_partition(rd, t, d);
			}
		} else if (lb_mf_is_elem(c, "volume")) {
			r = read_volume(rd, c, &d->volume);
		}
	}
	if (r >= 0 && d->path && strncmp(d->path, "/dev/", 5) == 0)
		d->sysname = lb_strdup(d->path + 5);
	return r;
}

static int read_boot(const struct lb_mf_reader *rd, xmlNodePtr n, struct lb_manifest *m)
{
	int r;

	m->boot = lb_boot_new();
	r = read_fields(rd, n, lb_mf_boot_fields, m->boot);
	for (xmlNodePtr c = n->children; c && r >= 0; c = c->next) {
		if (lb_mf_is_elem(c, "efi-entry")) {
			struct lb_efi_entry *e = lb_efi_entry_new();

			lb_boot_add_efi(m->boot, e);
			r = read_fields(rd, c, lb_mf_efi_fields, e);
		} else if (lb_mf_is_elem(c, "reference")) {
			struct lb_boot_ref *ref = lb_boot_ref_new();

			lb_boot_add_ref(m->boot, ref);
			r = read_fields(rd, c, lb_mf_ref_fields, ref);
		}
	}
	return r;
}

static int read_system(const struct lb_mf_reader *rd, xmlNodePtr n, struct lb_manifest *m)
{
	int r;

	m->system = lb_system_new();
	r = read_fields(rd, n, lb_mf_system_fields, m->system);
	for (xmlNodePtr c = n->children; c && r >= 0; c = c->next) {
		xmlChar *text;

		if (!lb_mf_is_elem(c, "note"))
			continue;
		text = xmlNodeGetContent(c);
		if (!text || !lb_utf8_is_printable((const char *)text))
			r = lb_mf_bad(rd, c, "note: control characters are not allowed here");
		else
			lb_system_note(m->system, "%s", (const char *)text);
		xmlFree(text);
	}
	return r;
}

static int read_md(const struct lb_mf_reader *rd, xmlNodePtr n, struct lb_stack *s)
{
	struct lb_md *md = lb_md_new();
	int r;

	lb_stack_add_md(s, md);
	r = read_fields(rd, n, lb_mf_md_fields, md);
	for (xmlNodePtr c = n->children; c && r >= 0; c = c->next) {
		if (lb_mf_is_elem(c, "member")) {
			struct lb_md_member *mm = lb_md_member_new();

			mm->spare = false;	/* unless it says so */
			lb_md_add_member(md, mm);
			r = read_fields(rd, c, lb_mf_md_member_fields, mm);
		} else if (lb_mf_is_elem(c, "volume")) {
			r = read_volume(rd, c, &md->volume);
		}
	}
	return r;
}

static int read_luks(const struct lb_mf_reader *rd, xmlNodePtr n, struct lb_stack *s)
{
	struct lb_luks *l = lb_luks_new();
	int r;

	lb_stack_add_luks(s, l);
	r = read_fields(rd, n, lb_mf_luks_fields, l);
	for (xmlNodePtr c = n->children; c && r >= 0; c = c->next) {
		if (lb_mf_is_elem(c, "header"))
			r = read_artifact(rd, c, &l->header);
		else if (lb_mf_is_elem(c, "ciphertext"))
			r = read_artifact(rd, c, &l->ciphertext);
		else if (lb_mf_is_elem(c, "volume"))
			r = read_volume(rd, c, &l->volume);
	}
	return r;
}

static int read_vg(const struct lb_mf_reader *rd, xmlNodePtr n, struct lb_stack *s)
{
	struct lb_vg *vg = lb_vg_new();
	int r;

	lb_stack_add_vg(s, vg);
	r = read_fields(rd, n, lb_mf_vg_fields, vg);
	for (xmlNodePtr c = n->children; c && r >= 0; c = c->next) {
		if (lb_mf_is_elem(c, "metadata")) {
			r = read_artifact(rd, c, &vg->metadata);
		} else if (lb_mf_is_elem(c, "pv")) {
			struct lb_pv *pv = lb_pv_new();

			lb_vg_add_pv(vg, pv);
			r = read_fields(rd, c, lb_mf_pv_fields, pv);
		} else if (lb_mf_is_elem(c, "lv")) {
			struct lb_lv *lv = lb_lv_new();

			lb_vg_add_lv(vg, lv);
			r = read_fields(rd, c, lb_mf_lv_fields, lv);
			for (xmlNodePtr v = c->children; v && r >= 0; v = v->next)
				if (lb_mf_is_elem(v, "volume"))
					r = read_volume(rd, v, &lv->volume);
		}
	}
	return r;
}

static int read_storage(const struct lb_mf_reader *rd, xmlNodePtr n, struct lb_manifest *m)
{
	int r = 0;

	if (!m->stack)
		m->stack = lb_stack_new();
	for (xmlNodePtr c = n->children; c && r >= 0; c = c->next) {
		if (lb_mf_is_elem(c, "md"))
			r = read_md(rd, c, m->stack);
		else if (lb_mf_is_elem(c, "luks"))
			r = read_luks(rd, c, m->stack);
		else if (lb_mf_is_elem(c, "vg"))
			r = read_vg(rd, c, m->stack);
	}
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

static int validate(const struct lb_mf_reader *rd, xmlDocPtr doc)
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
	struct lb_mf_reader rd = { .name = name };
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
		_cleanup_free_ char *fmt = root ? lb_mf_get_prop(root, "format") : NULL;

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
		_cleanup_free_ char *fmt = lb_mf_get_prop(root, "format");

		m->generator = lb_mf_get_prop(root, "generator");
		if (!fmt || lb_parse_u32(fmt, &m->format) < 0) {
			r = lb_mf_bad(&rd, root, "format=\"%s\" is not a number", fmt ? fmt : "");
			goto out;
		}
	}
	for (xmlNodePtr c = root->children; c && r >= 0; c = c->next) {
		if (lb_mf_is_elem(c, "capture"))
			r = read_fields(&rd, c, lb_mf_capture_fields, m);
		else if (lb_mf_is_elem(c, "disk"))
			r = read_disk(&rd, c, m);
		else if (lb_mf_is_elem(c, "boot"))
			r = read_boot(&rd, c, m);
		else if (lb_mf_is_elem(c, "system"))
			r = read_system(&rd, c, m);
		else if (lb_mf_is_elem(c, "storage"))
			r = read_storage(&rd, c, m);
		else if (lb_mf_is_elem(c, "encryption")) {
			m->encryption = lb_encryption_new();
			r = read_fields(&rd, c, lb_mf_encryption_fields, m->encryption);
		}
	}
	if (r >= 0)
		r = lb_mf_check(&rd, root, m);
	if (r >= 0 && m->encryption)
		lb_manifest_mac_digest(m, buf, len);
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
