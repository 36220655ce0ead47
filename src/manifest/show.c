// SPDX-License-Identifier: GPL-3.0-or-later
/* A manifest for people (an lsblk-like tree) and for scripts (JSON). */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <json-c/json.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"
#include "manifest/manifest.h"
#include "manifest/manifest-int.h"

static void human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "K", "M", "G", "T", "P" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u + 1 < LB_ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f%s" : "%.0f%s", v, units[u]);
}

/* Prints a value for the eye: quoted when it has spaces or quotes, with
 * control characters escaped. */
static void put_quoted(FILE *f, const char *key, const char *s)
{
	if (!s)
		return;
	fprintf(f, " %s=\"", key);
	for (const char *p = lb_esc(s); *p; p++) {
		if (*p == '"')
			fputc('\\', f);
		fputc(*p, f);
	}
	fputc('"', f);
}

static void show_volume(FILE *f, const char *indent, const struct lb_volume *v)
{
	fprintf(f, "%s%s", indent, lb_esc(v->type));
	put_quoted(f, "LABEL", v->label);
	if (v->uuid)
		fprintf(f, " UUID=%s", lb_esc(v->uuid));
	if (v->mountpoint)
		put_quoted(f, v->mount_source ? "fstab" : "mounted", v->mountpoint);
	if (v->mount_source && !v->mountpoint && strcmp(v->type, "swap") == 0)
		fputs(" [swap in fstab]", f);
	if (v->swap_active)
		fputs(" [active swap]", f);
	if (v->critical)
		fputs(" [critical]", f);
	if (v->data)
		fprintf(f, " data=%s(%" PRIu64 " bytes%s)", v->data_method ? v->data_method : "image",
			v->data->size,
			!v->data_source ? ""
			: strcmp(v->data_source, "lvm-snapshot") == 0 ? ", from an LVM snapshot"
			: strcmp(v->data_source, "live") == 0	      ? ", read live"
								       : ", from btrfs snapshots");
	if (v->data && v->data_from && v->data_to)
		fprintf(f, " [files read from %s to %s, not of one moment]", v->data_from, v->data_to);
	fputc('\n', f);
	lb_show_subvols_text(f, indent, v);
}

/* a thin pool's chunk and transaction id, a thin volume's pool, device id
 * and origin */
static void show_thin(FILE *f, const struct lb_lv *lv)
{
	char size[32];

	if (strcmp(lv->segtype, "thin-pool") == 0) {
		human_size((uint64_t)lv->chunk_size * 512, size, sizeof(size));
		fprintf(f, "       chunks of %s, transaction id %" PRIu64 "\n", size, lv->transaction_id);
	} else if (strcmp(lv->segtype, "thin") == 0) {
		fprintf(f, "       in pool %s, thin id %" PRIu32 "%s%s\n", lv->pool ? lb_esc(lv->pool) : "?",
			lv->thin_id, lv->origin ? ", snapshot of " : "", lv->origin ? lb_esc(lv->origin) : "");
	}
}

static void show_storage(FILE *f, const struct lb_stack *s)
{
	char size[32];

	fputs("\nstorage:\n", f);
	for (size_t i = 0; i < s->n_mds; i++) {
		const struct lb_md *md = s->mds[i];

		human_size(md->size * 512, size, sizeof(size));
		fprintf(f, "  %s %s %s (metadata %s) %s UUID=%s", md->id,
			lb_esc(md->path ? md->path : "-"), lb_esc(md->level), lb_esc(md->metadata),
			size, lb_esc(md->uuid));
		put_quoted(f, "name", md->name);
		fprintf(f, ", %u devices", md->raid_devices);
		if (md->chunk_kib)
			fprintf(f, ", chunk %u KiB", md->chunk_kib);
		if (md->layout)
			fprintf(f, ", layout %s", lb_esc(md->layout));
		if (md->bitmap)
			fprintf(f, ", bitmap %s", lb_esc(md->bitmap));
		fputc('\n', f);
		for (size_t j = 0; j < md->n_members; j++) {
			const struct lb_md_member *mm = md->members[j];

			if (mm->spare)
				fprintf(f, "    member %s spare", lb_esc(mm->on));
			else
				fprintf(f, "    member %s slot %u", lb_esc(mm->on), mm->slot);
			if (mm->dev_uuid)
				fprintf(f, " UUID=%s", lb_esc(mm->dev_uuid));
			fputc('\n', f);
		}
		if (md->volume)
			show_volume(f, "    `- ", md->volume);
	}
	for (size_t i = 0; i < s->n_luks; i++) {
		const struct lb_luks *l = s->luks[i];

		fprintf(f, "  %s LUKS%u on %s UUID=%s", l->id, l->version, lb_esc(l->on),
			lb_esc(l->uuid));
		put_quoted(f, "LABEL", l->label);
		put_quoted(f, "mapped as", l->name);
		fprintf(f, ", %s %u bits, sector %u", lb_esc(l->cipher), l->key_bits, l->sector_size);
		if (l->header)
			fprintf(f, ", header %s", l->header->file);
		fputc('\n', f);
		if (l->ciphertext)
			fprintf(f, "    data=ciphertext(%" PRIu64 " bytes) of everything in it: restored "
				   "without a key\n",
				l->ciphertext->size);
		if (l->volume)
			show_volume(f, "    `- ", l->volume);
		else if (!l->size)
			fputs("    (not open at capture: its contents are not recorded)\n", f);
	}
	for (size_t i = 0; i < s->n_vgs; i++) {
		const struct lb_vg *vg = s->vgs[i];

		human_size(vg->extent_size * 512, size, sizeof(size));
		fprintf(f, "  %s volume group %s UUID=%s, extents of %s\n", vg->id, lb_esc(vg->name),
			lb_esc(vg->uuid), size);
		for (size_t j = 0; j < vg->n_pvs; j++)
			fprintf(f, "    pv on %s UUID=%s\n",
				*vg->pvs[j]->on ? lb_esc(vg->pvs[j]->on) : "(not a captured disk)",
				lb_esc(vg->pvs[j]->uuid));
		for (size_t j = 0; j < vg->n_lvs; j++) {
			const struct lb_lv *lv = vg->lvs[j];

			human_size(lv->size * 512, size, sizeof(size));
			fprintf(f, "    %s lv %s %s %s UUID=%s%s\n", lv->id, lb_esc(lv->name),
				lb_esc(lv->segtype), size, lb_esc(lv->uuid), lv->active ? "" : " [inactive]");
			show_thin(f, lv);
			if (lv->volume)
				show_volume(f, "       `- ", lv->volume);
		}
	}
}

int lb_show_text(const struct lb_manifest *m, FILE *f)
{
	char size[32];

	fprintf(f, "capture %s, %s", lb_esc(m->id), lb_esc(m->time));
	if (m->hostname)
		fprintf(f, ", host %s", lb_esc(m->hostname));
	fputc('\n', f);
	if (m->encryption)
		fprintf(f, "encrypted: every data file and artifact, %s; key from the key file by %s "
			"(time %u, memory %u KiB, lanes %u)\n",
			lb_esc(m->encryption->cipher), lb_esc(m->encryption->kdf),
			m->encryption->kdf_time, m->encryption->kdf_memory, m->encryption->kdf_lanes);
	if (m->system) {
		fputs("system read from the disk:", f);
		if (m->system->root)
			fprintf(f, " root %s (found by %s)", lb_esc(m->system->root),
				lb_esc(m->system->found_by ? m->system->found_by : "?"));
		else
			fputs(" none recorded", f);
		put_quoted(f, "name", m->system->name);
		fputc('\n', f);
		for (size_t i = 0; i < m->system->n_notes; i++)
			fprintf(f, "  note: %s\n", lb_esc(m->system->notes[i]));
	}
	for (size_t i = 0; i < m->n_disks; i++) {
		const struct lb_disk *d = m->disks[i];

		human_size(d->size * d->sector_size, size, sizeof(size));
		fprintf(f, "\n%s %s %s, %" PRIu64 " sectors of %u bytes (physical %u), %s", d->id,
			lb_esc(d->path), size, d->size, d->sector_size, d->physical_sector_size,
			lb_label_type_name(d->label));
		if (d->signature)
			fprintf(f, " %s", lb_esc(d->signature));
		if (!d->selected)
			fprintf(f, " [not selected: %s]", lb_esc(d->exclude_reason ? d->exclude_reason : "excluded"));
		fputc('\n', f);
		if (d->model || d->serial || d->wwn) {
			fputs("  identity:", f);
			put_quoted(f, "model", d->model);
			put_quoted(f, "serial", d->serial);
			put_quoted(f, "wwn", d->wwn);
			fputc('\n', f);
		}
		if (d->label == LB_LABEL_GPT)
			fprintf(f, "  gpt: usable %" PRIu64 "-%" PRIu64 ", %u entries\n", d->first_lba,
				d->last_lba, d->entries);
		if (d->boot_code)
			fprintf(f, "  boot code: %s\n", d->boot_code->file);
		if (d->mbr_gap)
			fprintf(f, "  boot code after the MBR: %s (%" PRIu64 " bytes)\n", d->mbr_gap->file,
				d->mbr_gap->size);
		for (size_t j = 0; j < d->n_parts; j++) {
			const struct lb_partition *p = d->parts[j];
			bool last = j + 1 == d->n_parts && !d->volume;

			human_size(p->size * d->sector_size, size, sizeof(size));
			fprintf(f, "  %s %u %s start %" PRIu64 " size %" PRIu64 " (%s) type %s",
				last ? "`-" : "|-", p->number, lb_part_kind_name(p->kind), p->start,
				p->size, size, lb_esc(p->type));
			if (p->uuid)
				fprintf(f, " PARTUUID=%s", lb_esc(p->uuid));
			put_quoted(f, "PARTLABEL", p->name);
			if (p->attrs)
				fprintf(f, " attrs=0x%" PRIx64, p->attrs);
			if (p->bootable)
				fputs(" [bootable]", f);
			fputc('\n', f);
			if (p->volume)
				show_volume(f, last ? "       " : "  |    ", p->volume);
		}
		if (d->volume)
			show_volume(f, "  `- ", d->volume);
	}
	if (m->stack)
		show_storage(f, m->stack);
	if (m->boot) {
		const struct lb_boot *b = m->boot;

		fprintf(f, "\nboot: %s", b->firmware);
		if (b->loader)
			fprintf(f, ", loader %s", lb_esc(b->loader));
		if (b->esp)
			fprintf(f, ", ESP %s", b->esp);
		if (b->bios_boot)
			fprintf(f, ", BIOS boot %s", b->bios_boot);
		fputc('\n', f);
		if (b->boot_order)
			fprintf(f, "  BootOrder %s\n", b->boot_order);
		for (size_t i = 0; i < b->n_efi; i++) {
			fprintf(f, "  %s%s", b->efi[i]->name, b->efi[i]->active ? "*" : " ");
			put_quoted(f, "description", b->efi[i]->description);
			if (b->efi[i]->device_path)
				fprintf(f, " %s", lb_esc(b->efi[i]->device_path));
			fputc('\n', f);
		}
		for (size_t i = 0; i < b->n_refs; i++) {
			const struct lb_boot_ref *r = b->refs[i];

			fprintf(f, "  %s:%u %s=%s", r->source, r->line, r->key, lb_esc(r->value));
			if (r->where)
				put_quoted(f, "for", r->where);
			fprintf(f, " -> %s\n", r->resolves ? r->resolves : "(not on a captured disk)");
		}
	}
	return ferror(f) ? -EIO : 0;
}

/* ---- JSON ------------------------------------------------------------- */

static void js_str(json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

static void js_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static void js_bool(json_object *o, const char *k, bool v)
{
	json_object_object_add(o, k, json_object_new_boolean(v));
}

static json_object *js_artifact(const struct lb_artifact *a)
{
	json_object *o = json_object_new_object();

	js_str(o, "file", a->file);
	js_u64(o, "size", a->size);
	js_str(o, "sha256", a->sha256);
	js_bool(o, "encrypted", a->encrypted);
	return o;
}

static json_object *js_encryption(const struct lb_encryption *e)
{
	json_object *o = json_object_new_object();

	js_str(o, "cipher", e->cipher);
	js_str(o, "kdf", e->kdf);
	js_u64(o, "kdf_time", e->kdf_time);
	js_u64(o, "kdf_memory", e->kdf_memory);
	js_u64(o, "kdf_lanes", e->kdf_lanes);
	js_str(o, "salt", e->salt);
	js_str(o, "key_check", e->key_check);
	return o;
}

/* The fields NAMES (a NULL-terminated list, in the order given) of a field
 * table, as an object whose keys are the names with '_' for '-'. */
static json_object *js_fields(const struct lb_field *t, const char *const *names, const void *obj)
{
	json_object *o = json_object_new_object();

	for (; *names; names++) {
		const struct lb_field *f = t;
		const char *base;
		char key[64];

		while (f->name && strcmp(f->name, *names) != 0)
			f++;
		if (!f->name)
			continue;
		base = (const char *)obj + f->off;
		snprintf(key, sizeof(key), "%s", f->name);
		for (char *c = key; *c; c++)
			if (*c == '-')
				*c = '_';
		switch (f->type) {
		case LB_F_STR:
			js_str(o, key, *(char *const *)base);
			break;
		case LB_F_U64:
			js_u64(o, key, *(const uint64_t *)base);
			break;
		case LB_F_U32:
			js_u64(o, key, *(const uint32_t *)base);
			break;
		case LB_F_BOOL:
			js_bool(o, key, *(const bool *)base);
			break;
		default:	/* no geometry has the others */
			break;
		}
	}
	return o;
}

static json_object *js_volume(const struct lb_volume *v)
{
	json_object *o = json_object_new_object();
	const struct lb_fs_geom *k;

	js_str(o, "id", v->id);
	js_str(o, "type", v->type);
	js_str(o, "usage", v->usage);
	js_str(o, "version", v->version);
	js_str(o, "uuid", v->uuid);
	js_str(o, "label", v->label);
	js_str(o, "mountpoint", v->mountpoint);
	js_str(o, "mount_source", v->mount_source);
	js_bool(o, "critical", v->critical);
	js_bool(o, "swap_active", v->swap_active);
	for (size_t i = 0; (k = lb_fs_geom_at(i)); i++) {
		const void *g = lb_fs_geom_get(k, v);

		if (g)
			json_object_object_add(o, k->element, js_fields(k->fields, k->json, g));
	}
	if (v->subvols)
		json_object_object_add(o, "subvolumes", lb_js_subvols(v));
	if (v->data) {
		json_object *d = js_artifact(v->data);

		js_str(d, "method", v->data_method);
		if (v->data_source)
			js_str(d, "source", v->data_source);
		if (v->data_from && v->data_to) {
			js_str(d, "from", v->data_from);
			js_str(d, "to", v->data_to);
		}
		json_object_object_add(o, "data", d);
	}
	return o;
}

static json_object *js_disk(const struct lb_disk *d)
{
	json_object *o = json_object_new_object(), *parts = json_object_new_array(), *ids;

	js_str(o, "id", d->id);
	js_str(o, "path", d->path);
	js_bool(o, "selected", d->selected);
	js_str(o, "exclude_reason", d->exclude_reason);
	js_str(o, "model", d->model);
	js_str(o, "vendor", d->vendor);
	js_str(o, "serial", d->serial);
	js_str(o, "wwn", d->wwn);
	ids = json_object_new_array();
	for (size_t i = 0; i < d->n_by_id; i++)
		json_object_array_add(ids, json_object_new_string(d->by_id[i]));
	json_object_object_add(o, "by_id", ids);
	js_u64(o, "size", d->size);
	js_u64(o, "logical_sector_size", d->sector_size);
	js_u64(o, "physical_sector_size", d->physical_sector_size);
	js_str(o, "label", lb_label_type_name(d->label));
	js_str(o, "signature", d->signature);
	if (d->label == LB_LABEL_GPT) {
		js_u64(o, "first_lba", d->first_lba);
		js_u64(o, "last_lba", d->last_lba);
		js_u64(o, "entries", d->entries);
	}
	if (d->boot_code)
		json_object_object_add(o, "boot_code", js_artifact(d->boot_code));
	if (d->mbr_gap)
		json_object_object_add(o, "mbr_gap", js_artifact(d->mbr_gap));
	for (size_t i = 0; i < d->n_parts; i++) {
		const struct lb_partition *p = d->parts[i];
		json_object *po = json_object_new_object();

		js_u64(po, "number", p->number);
		js_u64(po, "start", p->start);
		js_u64(po, "size", p->size);
		js_str(po, "kind", lb_part_kind_name(p->kind));
		js_str(po, "type", p->type);
		js_str(po, "uuid", p->uuid);
		js_str(po, "name", p->name);
		js_u64(po, "attrs", p->attrs);
		js_bool(po, "bootable", p->bootable);
		if (p->content)
			json_object_object_add(po, "content", js_artifact(p->content));
		if (p->volume)
			json_object_object_add(po, "volume", js_volume(p->volume));
		json_object_array_add(parts, po);
	}
	json_object_object_add(o, "partitions", parts);
	if (d->volume)
		json_object_object_add(o, "volume", js_volume(d->volume));
	return o;
}

/* every field of a table, keys with '_' for '-' */
static json_object *js_all(const struct lb_field *t, const void *obj)
{
	const char *names[32];
	size_t n = 0;

	for (; t[n].name && n + 1 < LB_ARRAY_SIZE(names); n++)
		names[n] = t[n].name;
	names[n] = NULL;
	return js_fields(t, names, obj);
}

static json_object *js_storage(const struct lb_stack *s)
{
	json_object *o = json_object_new_object(), *mds = json_object_new_array(),
		    *luks = json_object_new_array(), *vgs = json_object_new_array();

	for (size_t i = 0; i < s->n_mds; i++) {
		json_object *md = js_all(lb_mf_md_fields, s->mds[i]), *mem = json_object_new_array();

		for (size_t j = 0; j < s->mds[i]->n_members; j++)
			json_object_array_add(mem, js_all(lb_mf_md_member_fields, s->mds[i]->members[j]));
		json_object_object_add(md, "members", mem);
		if (s->mds[i]->volume)
			json_object_object_add(md, "volume", js_volume(s->mds[i]->volume));
		json_object_array_add(mds, md);
	}
	for (size_t i = 0; i < s->n_luks; i++) {
		json_object *l = js_all(lb_mf_luks_fields, s->luks[i]);

		if (s->luks[i]->header)
			json_object_object_add(l, "header", js_artifact(s->luks[i]->header));
		if (s->luks[i]->ciphertext)
			json_object_object_add(l, "ciphertext", js_artifact(s->luks[i]->ciphertext));
		if (s->luks[i]->volume)
			json_object_object_add(l, "volume", js_volume(s->luks[i]->volume));
		json_object_array_add(luks, l);
	}
	for (size_t i = 0; i < s->n_vgs; i++) {
		const struct lb_vg *v = s->vgs[i];
		json_object *vg = js_all(lb_mf_vg_fields, v), *pvs = json_object_new_array(),
			    *lvs = json_object_new_array();

		if (v->metadata)
			json_object_object_add(vg, "metadata", js_artifact(v->metadata));
		for (size_t j = 0; j < v->n_pvs; j++)
			json_object_array_add(pvs, js_all(lb_mf_pv_fields, v->pvs[j]));
		for (size_t j = 0; j < v->n_lvs; j++) {
			json_object *lv = js_all(lb_mf_lv_fields, v->lvs[j]);

			if (v->lvs[j]->volume)
				json_object_object_add(lv, "volume", js_volume(v->lvs[j]->volume));
			json_object_array_add(lvs, lv);
		}
		json_object_object_add(vg, "pvs", pvs);
		json_object_object_add(vg, "lvs", lvs);
		json_object_array_add(vgs, vg);
	}
	json_object_object_add(o, "md", mds);
	json_object_object_add(o, "luks", luks);
	json_object_object_add(o, "vg", vgs);
	return o;
}

int lb_show_json(const struct lb_manifest *m, FILE *f)
{
	json_object *root = json_object_new_object(), *disks = json_object_new_array();

	js_u64(root, "format", m->format);
	js_str(root, "id", m->id);
	js_str(root, "time", m->time);
	js_str(root, "hostname", m->hostname);
	js_str(root, "kernel", m->kernel);
	for (size_t i = 0; i < m->n_disks; i++)
		json_object_array_add(disks, js_disk(m->disks[i]));
	json_object_object_add(root, "disks", disks);
	if (m->encryption)
		json_object_object_add(root, "encryption", js_encryption(m->encryption));
	if (m->stack)
		json_object_object_add(root, "storage", js_storage(m->stack));
	if (m->system) {
		json_object *so = json_object_new_object(), *notes = json_object_new_array();

		js_str(so, "source", m->system->source);
		js_str(so, "root", m->system->root);
		js_str(so, "found_by", m->system->found_by);
		js_str(so, "name", m->system->name);
		for (size_t i = 0; i < m->system->n_notes; i++)
			json_object_array_add(notes, json_object_new_string(m->system->notes[i]));
		json_object_object_add(so, "notes", notes);
		json_object_object_add(root, "system", so);
	}
	if (m->boot) {
		const struct lb_boot *b = m->boot;
		json_object *bo = json_object_new_object(), *efi = json_object_new_array(),
			    *refs = json_object_new_array();

		js_str(bo, "firmware", b->firmware);
		js_str(bo, "loader", b->loader);
		js_str(bo, "esp", b->esp);
		js_str(bo, "bios_boot", b->bios_boot);
		js_str(bo, "boot_order", b->boot_order);
		js_str(bo, "cmdline", b->cmdline);
		for (size_t i = 0; i < b->n_efi; i++) {
			json_object *e = json_object_new_object();

			js_str(e, "name", b->efi[i]->name);
			js_bool(e, "active", b->efi[i]->active);
			js_str(e, "description", b->efi[i]->description);
			js_str(e, "device_path", b->efi[i]->device_path);
			json_object_array_add(efi, e);
		}
		for (size_t i = 0; i < b->n_refs; i++) {
			json_object *e = json_object_new_object();

			js_str(e, "source", b->refs[i]->source);
			js_u64(e, "line", b->refs[i]->line);
			js_str(e, "key", b->refs[i]->key);
			js_str(e, "value", b->refs[i]->value);
			js_str(e, "where", b->refs[i]->where);
			js_str(e, "resolves", b->refs[i]->resolves);
			json_object_array_add(refs, e);
		}
		json_object_object_add(bo, "efi_entries", efi);
		json_object_object_add(bo, "references", refs);
		json_object_object_add(root, "boot", bo);
	}
	fputs(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_NOSLASHESCAPE),
	      f);
	fputc('\n', f);
	json_object_put(root);
	return ferror(f) ? -EIO : 0;
}
