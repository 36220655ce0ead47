// SPDX-License-Identifier: GPL-3.0-or-later
/* Making the storage stack again (stack.h). Programs run with argv and
 * "--opt=value" forms; no shell, no value read as an option. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libcryptsetup.h>

#include "base/base.h"
#include "base/spawn.h"
#include "model/model.h"
#include "manifest/manifest.h"
#include "restore/stack.h"
#include "restore/internal.h"

/* A private file holding BUF (N bytes), named after NAME: what a program is
 * then given cannot change under it. SECRET (an encrypted capture's
 * artifact, opened): in /run, memory on a systemd machine and in the rescue
 * system, not in a TMPDIR that may be on a disk. *ret_path: the file, to
 * unlink. */
int lb_stack_private_file(const char *name, const void *buf, size_t n, bool secret,
			  char **ret_path)
{
	const char *tmp = getenv("TMPDIR");
	struct stat st;
	char *path;
	int fd, r;

	if (secret && stat("/run", &st) == 0 && S_ISDIR(st.st_mode))
		tmp = "/run";
	path = lb_asprintf("%s/lifeboat-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		r = lb_err(-errno, "cannot make a private copy of %s: %s", name, strerror(errno));
		free(path);
		return r;
	}
	r = lb_pwrite_all(fd, buf, n, 0);
	if (close(fd) < 0 && r >= 0)
		r = -errno;
	if (r < 0) {
		unlink(path);
		free(path);
		return lb_err(r, "cannot write a private copy of %s", name);
	}
	*ret_path = path;
	return 0;
}

/* A private copy of an artifact, checked against its SHA-256 first. */
static int private_copy(const struct lb_manifest *m, const struct lb_artifact *a, char **ret_path)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	/* (sealed in an encrypted capture: opened with its key) */
	r = lb_artifact_load(m, a, &buf, &len);
	if (r < 0)
		return r;
	return lb_stack_private_file(a->file, buf, len, a->encrypted, ret_path);
}

int lb_stack_run_tool(char *const argv[], const char *what)
{
	_cleanup_free_ char *out = NULL;
	struct lb_spawn_opts o = { .quiet = true, .ret_out = &out, .also_stderr = true, .stdin_fd = -1 };
	int r = lb_spawn(argv, &o);

	if (r == 0)
		return 0;
	if (out) {
		size_t n = strlen(out);

		while (n && out[n - 1] == '\n')
			out[--n] = '\0';
	}
	if (r < 0)
		return r;
	return lb_err(-EIO, "%s: %s exited with status %d%s%s", what, argv[0], r,
		      out && *out ? ": " : "", out ? lb_esc(out) : "");
}

/* The members' recorded UUIDs (1.x; mdadm --create made random ones):
 * the array stopped, each superblock given its member's, assembled
 * again from the same members. Not in a drill: mdadm assembles no array
 * whose UUID is active already, and the machine's own usually is. */
static int set_dev_uuids(const struct lb_md *md, const char *node, char *const *member_nodes)
{
	char *stop[] = { "mdadm", "--stop", (char *)node, NULL };
	char **argv;
	size_t n = 0;
	bool any = false;
	int r;

	for (size_t i = 0; i < md->n_members; i++)
		any |= md->members[i]->dev_uuid != NULL;
	if (!any || strncmp(md->metadata, "1.", 2) != 0)
		return 0;
	r = lb_stack_run_tool(stop, md->id);
	for (size_t i = 0; i < md->n_members && r >= 0; i++)
		if (md->members[i]->dev_uuid)
			r = lb_md_set_dev_uuid(md, member_nodes[i], md->members[i]->dev_uuid);
	if (r < 0)
		return r;
	argv = lb_zalloc((md->n_members + 5) * sizeof(*argv));
	argv[n++] = "mdadm";
	argv[n++] = "--assemble";
	argv[n++] = (char *)node;
	argv[n++] = "--run";
	for (size_t i = 0; i < md->n_members; i++)
		argv[n++] = member_nodes[i];
	r = lb_stack_run_tool(argv, md->id);
	free(argv);
	return r;
}

char *lb_stack_md_node(const struct lb_md *md, bool drill)
{
	return lb_asprintf("/dev/md/lifeboat-%s%s", drill ? "drill-" : "", md->id);
}

char *lb_stack_luks_name(const struct lb_luks *l, bool drill)
{
	if (drill)
		return lb_asprintf("lifeboat-drill-%s", l->id);
	return l->name ? lb_strdup(l->name) : lb_asprintf("lifeboat-%s", l->id);
}

int lb_stack_make_md(const struct lb_md *md, char *const *member_nodes, bool drill,
		     char **ret_node)
{
	_cleanup_free_ char *node = lb_stack_md_node(md, drill);
	_cleanup_free_ char *uuid = lb_asprintf("--uuid=%s", md->uuid);
	_cleanup_free_ char *level = lb_asprintf("--level=%s", md->level);
	_cleanup_free_ char *meta = lb_asprintf("--metadata=%s", md->metadata);
	_cleanup_free_ char *ndev = lb_asprintf("--raid-devices=%u", md->raid_devices);
	_cleanup_free_ char *name = NULL, *chunk = NULL, *layout = NULL, *bitmap = NULL, *off = NULL;
	char **argv = lb_zalloc((md->raid_devices + md->n_members + 20) * sizeof(*argv));
	size_t n = 0;
	int r;

	argv[n++] = "mdadm";
	argv[n++] = "--create";
	argv[n++] = node;
	argv[n++] = "--run";
	argv[n++] = "--homehost=<ignore>";
	argv[n++] = uuid;
	argv[n++] = level;
	argv[n++] = meta;
	argv[n++] = ndev;
	if (md->name)
		argv[n++] = name = lb_asprintf("--name=%s", md->name);
	if (md->chunk_kib)
		argv[n++] = chunk = lb_asprintf("--chunk=%u", md->chunk_kib);
	if (md->layout)
		argv[n++] = layout = lb_asprintf("--layout=%s", md->layout);
	if (md->bitmap && strcmp(md->bitmap, "internal") == 0)
		argv[n++] = bitmap = lb_strdup("--bitmap=internal");
	else if (strncmp(md->metadata, "1.", 2) == 0)
		argv[n++] = bitmap = lb_strdup("--bitmap=none");
	/* the members' data offset, where the filesystem started (1.1, 1.2) */
	if (md->n_members && md->members[0]->data_offset && strcmp(md->metadata, "1.0") != 0 &&
	    strcmp(md->metadata, "0.90") != 0)
		argv[n++] = off = lb_asprintf("--data-offset=%" PRIu64 "K",
					      md->members[0]->data_offset / 2);
	/* (no "--": mdadm takes it for a device; the nodes are /dev/ paths)
	 * slots in order; a slot no member had is "missing" */
	for (uint32_t slot = 0; slot < md->raid_devices; slot++) {
		const char *dev = "missing";

		for (size_t i = 0; i < md->n_members; i++)
			if (!md->members[i]->spare && md->members[i]->slot == slot)
				dev = member_nodes[i];
		argv[n++] = (char *)dev;
	}
	for (size_t i = 0; i < md->n_members; i++)
		if (md->members[i]->spare)
			argv[n++] = member_nodes[i];
	argv[n] = NULL;
	lb_debug("stack", "%s: mdadm --create %s %s", md->id, node, md->uuid);
	r = lb_stack_run_tool(argv, md->id);
	free(argv);
	if (r >= 0 && !drill)
		r = set_dev_uuids(md, node, member_nodes);
	if (r < 0)
		return r;
	*ret_node = TAKE_PTR(node);
	return 0;
}

int lb_stack_make_luks(const struct lb_manifest *m, const struct lb_luks *l, const char *node)
{
	_cleanup_free_ char *copy = NULL;
	struct crypt_device *cd = NULL;
	int r;

	if (!l->header)
		return lb_err(-EINVAL, "%s: no LUKS header was captured", l->id);
	r = private_copy(m, l->header, &copy);
	if (r < 0)
		return r;
	r = crypt_init(&cd, node);
	if (r >= 0)
		r = crypt_header_restore(cd, CRYPT_LUKS, copy);
	crypt_free(cd);
	unlink(copy);
	if (r < 0)
		return lb_err(r, "%s: cannot put back the LUKS header on %s: %s", l->id, node,
			      strerror(-r));
	return 0;
}

int lb_stack_open_luks(const struct lb_luks *l, const char *node, const char *key_file,
		       bool drill, char **ret_node)
{
	_cleanup_free_ char *name = lb_stack_luks_name(l, drill);
	_cleanup_free_ char *key = NULL;
	struct crypt_device *cd = NULL;
	int r, n;

	n = lb_read_file(key_file, &key, 8192);
	if (n < 0)
		return n;
	r = crypt_init(&cd, node);
	if (r >= 0)
		r = crypt_load(cd, CRYPT_LUKS, NULL);
	if (r >= 0)
		r = crypt_activate_by_passphrase(cd, name, CRYPT_ANY_SLOT, key, (size_t)n, 0);
	crypt_free(cd);
	explicit_bzero(key, (size_t)n);
	if (r < 0)
		return lb_err(r, "%s: the key in %s does not open the LUKS container on %s", l->id,
			      key_file, node);
	*ret_node = lb_asprintf("/dev/mapper/%s", name);
	return 0;
}

/* LVM's device-mapper name: each dash doubled, then VG-LV */
static char *dm_escape(const char *s)
{
	char *out = lb_zalloc(strlen(s) * 2 + 1), *o = out;

	for (; *s; s++) {
		*o++ = *s;
		if (*s == '-')
			*o++ = '-';
	}
	return out;
}

char *lb_stack_lv_node(const struct lb_vg *vg, const struct lb_lv *lv)
{
	_cleanup_free_ char *v = dm_escape(vg->name), *l = dm_escape(lv->name);

	return lb_asprintf("/dev/mapper/%s-%s", v, l);
}

static bool has_thin(const struct lb_vg *vg)
{
	for (size_t i = 0; i < vg->n_lvs; i++)
		if (strncmp(vg->lvs[i]->segtype, "thin", 4) == 0)
			return true;
	return false;
}

int lb_stack_make_vg(const struct lb_manifest *m, const struct lb_vg *vg, char *const *pv_nodes)
{
	_cleanup_free_ char *copy = NULL, *file = NULL;
	int r;

	if (!vg->metadata)
		return lb_err(-EINVAL, "%s: no LVM metadata was captured", vg->id);
	r = private_copy(m, vg->metadata, &copy);
	if (r < 0)
		return r;
	file = lb_asprintf("--restorefile=%s", copy);
	for (size_t i = 0; i < vg->n_pvs && r >= 0; i++) {
		_cleanup_free_ char *uuid = lb_asprintf("--uuid=%s", vg->pvs[i]->uuid);
		char *argv[] = { "lvm", "pvcreate", "-ff", "-y", "-q", uuid, file, "--",
				 pv_nodes[i], NULL };

		r = lb_stack_run_tool(argv, vg->id);
	}
	if (r >= 0) {
		char *argv[] = { "lvm", "vgcfgrestore", "-q", "-f", copy,
				 has_thin(vg) ? "--force" : "-q", "--", vg->name, NULL };

		r = lb_stack_run_tool(argv, vg->id);
	}
	/* the pools' own metadata, which vgcfgrestore does not bring back */
	if (r >= 0 && has_thin(vg))
		r = lb_stack_make_thin(m, vg, pv_nodes, copy);
	if (r >= 0) {
		/* (-K: thin snapshots skip activation unless told; one active at
		 * capture gets its data back like any volume) */
		char *argv[] = { "lvm", "vgchange", "-q", "-ay", has_thin(vg) ? "-K" : "-q", "--",
				 vg->name, NULL };

		r = lb_stack_run_tool(argv, vg->id);
	}
	unlink(copy);
	return r;
}

/* one node of a plan taken down: 0, 1 when it was not there, < 0 busy */
static int take_down(const struct lb_plan_node *pn, bool drill)
{
	if (pn->vg) {
		char *vgs[] = { "lvm", "vgs", "-q", "--", pn->vg->name, NULL };
		char *argv[] = { "lvm", "vgchange", "-q", "-an", "--", pn->vg->name, NULL };

		if (lb_run(vgs, true) != 0)
			return 1;	/* not made */
		return lb_stack_run_tool(argv, pn->id);
	}
	if (pn->luks) {
		_cleanup_free_ char *name = lb_stack_luks_name(pn->luks, drill);
		_cleanup_free_ char *node = lb_asprintf("/dev/mapper/%s", name);
		int r;

		if (access(node, F_OK) < 0)
			return 1;
		r = crypt_deactivate(NULL, name);
		return r < 0 ? lb_err(r, "%s: cannot close %s: %s", pn->id, name, strerror(-r)) : 0;
	}
	if (pn->md) {
		_cleanup_free_ char *node = lb_stack_md_node(pn->md, drill);
		char *argv[] = { "mdadm", "--stop", node, NULL };

		if (access(node, F_OK) < 0)
			return 1;
		return lb_stack_run_tool(argv, pn->id);
	}
	return 1;
}

int lb_stack_take_down(const struct lb_plan *p, bool drill)
{
	bool *down = lb_zalloc(sizeof(*down) * (p->n_nodes + 1));
	int r = 0;

	/* top down: the nodes are listed arrays, containers, groups; a
	 * node still holding another one above it is tried on the next pass */
	for (int pass = 0; pass < 4; pass++) {
		r = 0;
		for (size_t i = p->n_nodes; i-- > 0;) {
			int k;

			if (down[i] || p->nodes[i].action != LB_NODE_MAKE)
				continue;
			k = take_down(&p->nodes[i], drill);
			if (k >= 0)
				down[i] = true;
			else
				r = k;
		}
		if (r >= 0)
			break;
	}
	free(down);
	return r;
}
