// SPDX-License-Identifier: GPL-3.0-or-later
/* MD arrays on the captured devices, from sysfs (level, metadata, chunk,
 * layout, bitmap, the members with their slots and data offsets) and from
 * each member's superblock as mdadm --examine reads it (the array's name,
 * the member's UUID). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/spawn.h"
#include "disk/stack-int.h"

/* mdadm's names for the numbers in md/layout */
static char *layout_name(const char *level, uint32_t layout)
{
	static const struct {
		uint32_t n;
		const char *name;
	} parity[] = {
		{ 0, "left-asymmetric" }, { 1, "right-asymmetric" }, { 2, "left-symmetric" },
		{ 3, "right-symmetric" }, { 4, "parity-first" }, { 5, "parity-last" },
		{ 8, "ddf-zero-restart" }, { 9, "ddf-N-restart" }, { 10, "ddf-N-continue" },
		{ 16, "left-asymmetric-6" }, { 17, "right-asymmetric-6" },
		{ 18, "left-symmetric-6" }, { 19, "right-symmetric-6" }, { 20, "parity-first-6" },
	};

	if (strcmp(level, "raid5") == 0 || strcmp(level, "raid6") == 0 ||
	    strcmp(level, "raid4") == 0) {
		for (size_t i = 0; i < LB_ARRAY_SIZE(parity); i++)
			if (parity[i].n == layout)
				return lb_strdup(parity[i].name);
		return lb_asprintf("%u", layout);
	}
	if (strcmp(level, "raid10") == 0) {
		unsigned near = layout & 0xff, far = (layout >> 8) & 0xff;

		if (far > 1)
			return lb_asprintf("%c%u", (layout & 0x10000) ? 'o' : 'f', far);
		return lb_asprintf("n%u", near);
	}
	return NULL;
}

/* 09747d17-bccb-c5cb-c74d-e912a1f39fbf -> 09747d17:bccbc5cb:c74de912:a1f39fbf */
static char *mdadm_uuid(const char *dashed)
{
	char hex[33], out[36];
	size_t n = 0;

	for (const char *p = dashed; *p && n < 32; p++)
		if (*p != '-')
			hex[n++] = *p;
	if (n != 32)
		return NULL;
	hex[32] = '\0';
	snprintf(out, sizeof(out), "%.8s:%.8s:%.8s:%.8s", hex, hex + 8, hex + 16, hex + 24);
	return lb_strdup(out);
}

/* KEY=VALUE lines of mdadm --examine --export MEMBER: name and member UUID */
static void examine_member(const char *sysname, struct lb_md *md, struct lb_md_member *mm)
{
	_cleanup_free_ char *node = lb_asprintf("/dev/%s", sysname), *out = NULL;
	char *argv[] = { "mdadm", "--examine", "--export", node, NULL };
	struct lb_spawn_opts o = { .quiet = true, .ret_out = &out, .stdin_fd = -1 };
	char *save = NULL;

	if (lb_spawn(argv, &o) != 0 || !out)
		return;
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, "MD_DEV_UUID=", 12) == 0 && !mm->dev_uuid)
			mm->dev_uuid = lb_strdup(l + 12);
		else if (strncmp(l, "MD_NAME=", 8) == 0 && !md->name)
			md->name = lb_strdup(l + 8);
	}
}

static int read_members(struct stack_scan *s, const char *sysname, struct lb_md *md)
{
	_cleanup_free_ char *dir = lb_asprintf("/sys/class/block/%s/md", sysname);
	DIR *dp = opendir(dir);
	struct dirent *e;
	int known = 0;

	if (!dp)
		return 0;
	while ((e = readdir(dp))) {
		_cleanup_free_ char *blk = NULL, *slot = NULL, *off = NULL, *base = NULL;
		struct lb_md_member *mm;
		const char *id;

		if (strncmp(e->d_name, "dev-", 4) != 0)
			continue;
		base = lb_asprintf("md/%s", e->d_name);
		blk = lb_strdup(e->d_name + 4);
		id = stack_id_of(s, blk);
		if (!id) {
			lb_manifest_warn(s->m, "%s: member %s is not on a captured disk", sysname,
					 blk);
			continue;
		}
		mm = lb_md_member_new();
		mm->on = lb_strdup(id);
		{
			_cleanup_free_ char *a = lb_asprintf("%s/slot", base);
			_cleanup_free_ char *b = lb_asprintf("%s/offset", base);
			_cleanup_free_ char *c = lb_asprintf("%s/state", base);
			uint32_t v;

			slot = lb_disk_sysattr(sysname, a);
			off = lb_disk_sysattr(sysname, b);
			mm->state = lb_disk_sysattr(sysname, c);
			if (slot && lb_parse_u32(slot, &v) >= 0) {
				mm->slot = v;
				mm->spare = false;
			}
			if (off)
				lb_parse_u64(off, &mm->data_offset);
		}
		examine_member(blk, md, mm);
		lb_md_add_member(md, mm);
		known++;
	}
	closedir(dp);
	return known;
}

static int cmp_member(const void *a, const void *b)
{
	const struct lb_md_member *x = *(const struct lb_md_member *const *)a;
	const struct lb_md_member *y = *(const struct lb_md_member *const *)b;

	if (x->spare != y->spare)
		return x->spare ? 1 : -1;	/* spares last */
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static void read_array(const char *sysname, struct lb_md *md)
{
	_cleanup_free_ char *meta = lb_disk_sysattr(sysname, "md/metadata_version");
	_cleanup_free_ char *disks = lb_disk_sysattr(sysname, "md/raid_disks");
	_cleanup_free_ char *chunk = lb_disk_sysattr(sysname, "md/chunk_size");
	_cleanup_free_ char *layout = lb_disk_sysattr(sysname, "md/layout");
	_cleanup_free_ char *uuid = lb_disk_sysattr(sysname, "md/uuid");
	_cleanup_free_ char *bitmap = lb_disk_sysattr(sysname, "md/bitmap/location");
	_cleanup_free_ char *size = lb_disk_sysattr(sysname, "size");
	uint32_t v;

	md->path = lb_asprintf("/dev/%s", sysname);
	md->level = lb_disk_sysattr(sysname, "md/level");
	md->metadata = lb_strdup(meta ? meta : "");
	if (disks)
		lb_parse_u32(disks, &md->raid_devices);
	if (chunk && lb_parse_u32(chunk, &v) >= 0)
		md->chunk_kib = v / 1024;
	if (md->level && layout && lb_parse_u32(layout, &v) >= 0)
		md->layout = layout_name(md->level, v);
	if (uuid)
		md->uuid = mdadm_uuid(uuid);
	md->bitmap = lb_strdup(!bitmap || strcmp(bitmap, "none") == 0 ? "none" :
			       bitmap[0] == '+' || bitmap[0] == '-' ? "internal" : bitmap);
	if (size)
		lb_parse_u64(size, &md->size);
}

int stack_scan_md(struct stack_scan *s)
{
	DIR *dp = opendir("/sys/class/block");
	struct dirent *e;
	int added = 0;

	if (!dp)
		return 0;
	while ((e = readdir(dp))) {
		_cleanup_free_ char *state = NULL;
		struct lb_md *md;
		int r;

		if (strncmp(e->d_name, "md", 2) != 0 || stack_id_of(s, e->d_name))
			continue;
		state = lb_disk_sysattr(e->d_name, "md/array_state");
		if (!state || strcmp(state, "clear") == 0 || strcmp(state, "inactive") == 0)
			continue;
		md = lb_md_new();
		if (read_members(s, e->d_name, md) == 0) {
			lb_md_free(md);
			continue;
		}
		if (!s->m->stack)
			s->m->stack = lb_stack_new();
		md->id = lb_asprintf("md%zu", s->m->stack->n_mds);
		read_array(e->d_name, md);
		qsort(md->members, md->n_members, sizeof(*md->members), cmp_member);
		r = stack_node_volume(s, e->d_name, md->id, &md->volume);
		if (r < 0) {
			lb_md_free(md);
			closedir(dp);
			return r;
		}
		stack_dev_add(s, e->d_name, md->id);
		lb_stack_add_md(s->m->stack, md);
		lb_debug("scan", "%s: %s %s over %zu devices", md->id, md->path, md->level,
			 md->n_members);
		added++;
	}
	closedir(dp);
	return added;
}
