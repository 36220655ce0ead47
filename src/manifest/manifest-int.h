/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Inside the manifest layer: the field tables (manifest.c) and what the
 * reader (manifest-read.c) and the checks (manifest-check.c) share. */
#ifndef LIFEBOAT_MANIFEST_MANIFEST_INT_H
#define LIFEBOAT_MANIFEST_MANIFEST_INT_H

#include <stdarg.h>
#include <stdio.h>

#include <libxml/tree.h>

#include "model/model.h"

/* each element's attributes, in the order they are written */
extern const struct lb_field lb_mf_capture_fields[], lb_mf_disk_fields[],
	lb_mf_identity_fields[], lb_mf_geometry_fields[], lb_mf_table_fields[],
	lb_mf_gpt_fields[], lb_mf_partition_fields[], lb_mf_volume_fields[],
	lb_mf_artifact_fields[], lb_mf_boot_fields[], lb_mf_efi_fields[],
	lb_mf_system_fields[], lb_mf_ref_fields[], lb_mf_md_fields[], lb_mf_md_member_fields[],
	lb_mf_luks_fields[], lb_mf_vg_fields[], lb_mf_pv_fields[], lb_mf_lv_fields[],
	lb_mf_encryption_fields[];

struct lb_mf_reader {
	const char *name;	/* file name, for messages */
};

/* -EINVAL with "NAME:LINE: message": at an element, or an artifact's */
int lb_mf_bad_at(const struct lb_mf_reader *rd, long line, const char *fmt, va_list ap)
	_printf_(3, 0);
int lb_mf_bad(const struct lb_mf_reader *rd, xmlNodePtr n, const char *fmt, ...) _printf_(3, 4);
int lb_mf_bad_artifact(const struct lb_mf_reader *rd, const struct lb_artifact *a,
		       const char *fmt, ...) _printf_(3, 4);
char *lb_mf_get_prop(xmlNodePtr n, const char *name);
bool lb_mf_is_elem(xmlNodePtr n, const char *name);
/* The first element NAME among n's children. */
xmlNodePtr lb_mf_child_elem(xmlNodePtr n, const char *name);

/* A table's fields from (into) an element's attributes. */
int lb_mf_read_fields(const struct lb_mf_reader *rd, xmlNodePtr node, const struct lb_field *t,
		      void *obj);
void lb_mf_write_fields(xmlNodePtr node, const struct lb_field *t, const void *obj);

/* A btrfs volume's <subvolumes> (manifest-btrfs.c): read and checked,
 * written, shown. */
int lb_mf_read_subvols(const struct lb_mf_reader *rd, xmlNodePtr n, struct lb_volume *v);
void lb_mf_write_subvols(xmlNodePtr parent, const struct lb_volume *v);
void lb_show_subvols_text(FILE *f, const char *indent, const struct lb_volume *v);
struct json_object *lb_js_subvols(const struct lb_volume *v);

/* What the schema cannot express (manifest-check.c). */
int lb_mf_check(const struct lb_mf_reader *rd, xmlNodePtr root, const struct lb_manifest *m);

#endif
