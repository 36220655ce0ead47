// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * A btrfs volume's subvolume tree in the manifest:
 *
 *   <subvolumes default="257">
 *     <subvolume id="256" path="home" uuid="..." read-only="false"/>
 *     <subvolume id="258" path="snaps/1" uuid="..." parent-uuid="..." read-only="true"
 *                clones-from="256"/>
 *     <subvolume id="259" path="backup/home.1" uuid="..." received-uuid="..."
 *                stransid="1234" read-only="true"/>
 *   </subvolumes>
 *
 * read (with what the schema cannot say: IDs in range and increasing,
 * paths relative with no "." or ".." component and each once, the
 * default one of them), written, and shown as text and JSON.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <libxml/tree.h>

#include "base/base.h"
#include "model/model.h"
#include "manifest/manifest.h"
#include "manifest/manifest-int.h"

/* btrfs: subvolume IDs are 256 (BTRFS_FIRST_FREE_OBJECTID) and up; the
 * restore makes every ID below the highest (placeholders for the gaps), so
 * a manifest may not ask for an absurd one */
#define SUBVOL_ID_MIN 256u
#define SUBVOL_ID_MAX (1ull << 32)
#define TOP_LEVEL_ID 5u
#define SUBVOLS_MAX 65536u
#define SUBVOL_PATH_MAX 4000u

const struct lb_field lb_mf_subvol_fields[] = {
	LB_FIELD(lb_btrfs_subvol, "id", LB_F_U64, id, 0),
	LB_FIELD(lb_btrfs_subvol, "path", LB_F_STR, path, LB_F_HEX),
	LB_FIELD(lb_btrfs_subvol, "uuid", LB_F_STR, uuid, LB_F_OPT),
	LB_FIELD(lb_btrfs_subvol, "parent-uuid", LB_F_STR, parent_uuid, LB_F_OPT),
	LB_FIELD(lb_btrfs_subvol, "received-uuid", LB_F_STR, received_uuid, LB_F_OPT),
	LB_FIELD(lb_btrfs_subvol, "stransid", LB_F_U64, stransid, LB_F_OPT),
	LB_FIELD(lb_btrfs_subvol, "stime", LB_F_U64, stime, LB_F_OPT),
	LB_FIELD(lb_btrfs_subvol, "stime-nsec", LB_F_U32, stime_nsec, LB_F_OPT),
	LB_FIELD(lb_btrfs_subvol, "read-only", LB_F_BOOL, readonly, 0),
	LB_FIELD(lb_btrfs_subvol, "clones-from", LB_F_U64, clones_from, LB_F_OPT),
	LB_FIELD_END,
};

static const struct lb_field subvols_fields[] = {
	LB_FIELD(lb_btrfs_subvols, "default", LB_F_U64, default_id, 0),
	LB_FIELD_END,
};

/* Why PATH is no subvolume path for a restore to make, or NULL. */
const char *lb_btrfs_path_bad(const char *path)
{
	const char *p = path;

	if (!*path)
		return "is empty";
	if (strlen(path) > SUBVOL_PATH_MAX)
		return "is too long";
	if (path[0] == '/')
		return "is absolute";
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0)
			return "has an empty component";
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return "has a \".\" or \"..\" component";
		if (n > 255)
			return "has a component longer than 255 bytes";
		p += n;
		if (*p == '/' && !*++p)
			return "ends in \"/\"";
	}
	return NULL;
}

static int by_path(const void *a, const void *b)
{
	const struct lb_btrfs_subvol *x = *(const struct lb_btrfs_subvol *const *)a;
	const struct lb_btrfs_subvol *y = *(const struct lb_btrfs_subvol *const *)b;

	return strcmp(x->path, y->path);
}

/* Two subvolumes with one path: sorted by path, neighbours compared (each
 * against every other was 2^31 comparisons of up to 4000 bytes for a
 * manifest of 65536). */
static int check_paths_once(const struct lb_mf_reader *rd, xmlNodePtr n, const char *vid,
			    const struct lb_btrfs_subvols *s)
{
	_cleanup_free_ const struct lb_btrfs_subvol **v = lb_realloc_array(NULL, s->n ? s->n : 1,
									   sizeof(*v));

	for (size_t i = 0; i < s->n; i++)
		v[i] = &s->subvols[i];
	qsort(v, s->n, sizeof(*v), by_path);
	for (size_t i = 1; i < s->n; i++)
		if (strcmp(v[i - 1]->path, v[i]->path) == 0)
			return lb_mf_bad(rd, n, "volume %s: subvolumes %" PRIu64 " and %" PRIu64
						" have the same path", vid,
					 v[i - 1]->id < v[i]->id ? v[i - 1]->id : v[i]->id,
					 v[i - 1]->id < v[i]->id ? v[i]->id : v[i - 1]->id);
	return 0;
}

static int by_id(const void *key, const void *elem)
{
	uint64_t id = *(const uint64_t *)key, other = ((const struct lb_btrfs_subvol *)elem)->id;

	return id < other ? -1 : id > other;
}

/* Whether ID is one of the first n (sorted by ID). */
static bool listed(const struct lb_btrfs_subvol *v, size_t n, uint64_t id)
{
	return n && bsearch(&id, v, n, sizeof(*v), by_id);
}

static int check_subvols(const struct lb_mf_reader *rd, xmlNodePtr n, const char *vid,
			 const struct lb_btrfs_subvols *s)
{
	bool dflt = s->default_id == TOP_LEVEL_ID;

	for (size_t i = 0; i < s->n; i++) {
		const struct lb_btrfs_subvol *sv = &s->subvols[i];
		const char *why = lb_btrfs_path_bad(sv->path);

		if (sv->id < SUBVOL_ID_MIN || sv->id > SUBVOL_ID_MAX)
			return lb_mf_bad(rd, n, "volume %s: subvolume ID %" PRIu64 " is out of range "
						"(%u to %llu)", vid, sv->id, SUBVOL_ID_MIN, SUBVOL_ID_MAX);
		if (i && sv->id <= s->subvols[i - 1].id)
			return lb_mf_bad(rd, n, "volume %s: subvolume ID %" PRIu64 " %s", vid, sv->id,
					 sv->id == s->subvols[i - 1].id ? "is listed twice"
								       : "is out of order");
		if (why)
			return lb_mf_bad(rd, n, "volume %s: subvolume %" PRIu64 ": its path %s", vid,
					 sv->id, why);
		/* (what a restore gives the subvolume with its received UUID) */
		if (!sv->received_uuid && (sv->stransid || sv->stime || sv->stime_nsec))
			return lb_mf_bad(rd, n, "volume %s: subvolume %" PRIu64 ": stransid or stime "
						"without a received-uuid", vid, sv->id);
		/* (its archive's clones name files of one extracted before) */
		if (sv->clones_from && !listed(s->subvols, i, sv->clones_from))
			return lb_mf_bad(rd, n, "volume %s: subvolume %" PRIu64 ": clones-from %" PRIu64
						" is no subvolume listed before it", vid, sv->id,
					 sv->clones_from);
		dflt = dflt || sv->id == s->default_id;
	}
	if (!dflt)
		return lb_mf_bad(rd, n, "volume %s: the default subvolume %" PRIu64 " is not listed",
				 vid, s->default_id);
	return check_paths_once(rd, n, vid, s);
}

int lb_mf_read_subvols(const struct lb_mf_reader *rd, xmlNodePtr n, struct lb_volume *v)
{
	struct lb_btrfs_subvols *s;
	int r;

	if (v->subvols)
		return lb_mf_bad(rd, n, "volume %s: a second <subvolumes>", v->id);
	if (strcmp(v->type, "btrfs") != 0)
		return lb_mf_bad(rd, n, "volume %s: <subvolumes> on a %s volume", v->id, v->type);
	s = v->subvols = lb_zalloc(sizeof(*s));
	r = lb_mf_read_fields(rd, n, subvols_fields, s);
	for (xmlNodePtr c = n->children; c && r >= 0; c = c->next) {
		if (!lb_mf_is_elem(c, "subvolume"))
			continue;
		if (s->n >= SUBVOLS_MAX)
			return lb_mf_bad(rd, c, "volume %s: more than %u subvolumes", v->id, SUBVOLS_MAX);
		s->subvols = lb_realloc_array(s->subvols, s->n + 1, sizeof(*s->subvols));
		memset(&s->subvols[s->n], 0, sizeof(*s->subvols));
		r = lb_mf_read_fields(rd, c, lb_mf_subvol_fields, &s->subvols[s->n++]);
		if (r >= 0 && !s->subvols[s->n - 1].path)
			r = lb_mf_bad(rd, c, "volume %s: a subvolume without a path", v->id);
	}
	if (r >= 0)
		r = check_subvols(rd, n, v->id, s);
	return r;
}

void lb_mf_write_subvols(xmlNodePtr parent, const struct lb_volume *v)
{
	xmlNodePtr n;

	if (!v->subvols)
		return;
	n = xmlNewChild(parent, NULL, BAD_CAST "subvolumes", NULL);
	lb_mf_write_fields(n, subvols_fields, v->subvols);
	for (size_t i = 0; i < v->subvols->n; i++)
		lb_mf_write_fields(xmlNewChild(n, NULL, BAD_CAST "subvolume", NULL),
				   lb_mf_subvol_fields, &v->subvols->subvols[i]);
}

void lb_show_subvols_text(FILE *f, const char *indent, const struct lb_volume *v)
{
	const struct lb_btrfs_subvols *s = v->subvols;
	int w = (int)strlen(indent) + 2;

	if (!s)
		return;
	fprintf(f, "%*ssubvolumes: %zu, default %" PRIu64 "\n", w, "", s->n, s->default_id);
	for (size_t i = 0; i < s->n; i++) {
		const struct lb_btrfs_subvol *sv = &s->subvols[i];

		fprintf(f, "%*s%6" PRIu64 " %s%s%s%s\n", w, "", sv->id, lb_esc(sv->path),
			sv->readonly ? " [read-only]" : "", sv->parent_uuid ? " [snapshot]" : "",
			sv->received_uuid ? " [received]" : "");
	}
}

static void js_opt(json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

json_object *lb_js_subvols(const struct lb_volume *v)
{
	json_object *o, *a;

	if (!v->subvols)
		return NULL;
	o = json_object_new_object();
	a = json_object_new_array();
	json_object_object_add(o, "default", json_object_new_uint64(v->subvols->default_id));
	for (size_t i = 0; i < v->subvols->n; i++) {
		const struct lb_btrfs_subvol *sv = &v->subvols->subvols[i];
		json_object *e = json_object_new_object();

		json_object_object_add(e, "id", json_object_new_uint64(sv->id));
		js_opt(e, "path", sv->path);
		js_opt(e, "uuid", sv->uuid);
		js_opt(e, "parent_uuid", sv->parent_uuid);
		js_opt(e, "received_uuid", sv->received_uuid);
		if (sv->received_uuid) {
			json_object_object_add(e, "stransid", json_object_new_uint64(sv->stransid));
			json_object_object_add(e, "stime", json_object_new_uint64(sv->stime));
			json_object_object_add(e, "stime_nsec",
					       json_object_new_uint64(sv->stime_nsec));
		}
		json_object_object_add(e, "read_only", json_object_new_boolean(sv->readonly));
		if (sv->clones_from)
			json_object_object_add(e, "clones_from",
					       json_object_new_uint64(sv->clones_from));
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "subvolumes", a);
	return o;
}
