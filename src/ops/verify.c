// SPDX-License-Identifier: GPL-3.0-or-later
/* A capture checked in this process, as 'lifeboat verify' checks it: each
 * disk's boot code areas, each partition's recorded contents, each volume's
 * data file (framing, chunks and SHA-256). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "manifest/manifest.h"
#include "data/data.h"
#include "ops/ops.h"

struct vstate {
	const struct lb_manifest *m;
	lb_verify_fn fn;
	void *ud;
	unsigned ok, bad;
	char *first;		/* the first damage, for the error */
	bool quick;		/* sizes only */
};

static void note(struct vstate *st, const char *what, const struct lb_artifact *a, int r,
		 const char *method, uint64_t bytes)
{
	if (r < 0) {
		st->bad++;
		if (!st->first)
			st->first = lb_asprintf("%s (%s): %s", what, a->file, lb_errmsg());
	} else {
		st->ok++;
	}
	if (st->fn)
		st->fn(st->ud, what, a, r, r < 0 ? lb_errmsg() : NULL, method, bytes);
}

/* Size only: the file is a regular file of the recorded size. */
static int check_size(const struct lb_manifest *m, const struct lb_artifact *a)
{
	_cleanup_free_ char *path = lb_asprintf("%s/%s", m->rt_dir ? m->rt_dir : ".", a->file);
	struct stat st;

	if (lstat(path, &st) < 0)
		return lb_err(-errno, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return lb_err(-EBADMSG, "%s: not a regular file", path);
	if ((uint64_t)st.st_size != a->size)
		return lb_err(-EBADMSG, "%s: %lld bytes, the manifest says %llu", path,
			      (long long)st.st_size, (unsigned long long)a->size);
	return 0;
}

/* Its SHA-256; encrypted and with the key, opened too (its tag checked). */
static int check_whole(const struct lb_manifest *m, const struct lb_artifact *a)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = lb_artifact_verify(m, a);

	if (r < 0 || !a->encrypted || !a->rt_key)
		return r;
	r = lb_artifact_load(m, a, &buf, &len);
	free(buf);
	return r;
}

static void check_artifact(struct vstate *st, const char *what, const struct lb_artifact *a)
{
	if (!a)
		return;
	note(st, what, a, st->quick ? check_size(st->m, a) : check_whole(st->m, a), NULL, 0);
}

static int check_data(struct vstate *st, const char *name, const struct lb_artifact *a,
		      uint64_t *ret_bytes)
{
	_cleanup_free_ char *path = lb_asprintf("%s/%s", st->m->rt_dir, a->file);
	_cleanup_close_ int fd = -1;

	if (st->quick)
		return check_size(st->m, a);
	fd = lb_open_artifact(path);
	if (fd < 0)
		return fd;
	/* encrypted, no key: what can be checked without it (the chunks are
	 * only opened with it) */
	if (a->encrypted && !a->rt_key)
		return lb_data_check_sum(fd, name, a);
	return lb_data_verify_file(fd, name, a, ret_bytes);
}

static int check_volume(struct lb_disk *d, struct lb_partition *p, struct lb_volume *v, void *ud)
{
	struct vstate *st = ud;
	char what[160];

	(void)d;
	if (p && p->content) {
		snprintf(what, sizeof(what), "%s contents", v->id);
		check_artifact(st, what, p->content);
	}
	if (v->data) {
		uint64_t bytes = 0;
		int r = check_data(st, v->id, v->data, &bytes);

		snprintf(what, sizeof(what), "%s data", v->id);
		note(st, what, v->data, r, v->data_method ? v->data_method : "image", bytes);
	}
	return 0;
}

/* the stack's own artifacts: LUKS headers and ciphertext, LVM metadata */
static void check_stack(struct vstate *st, const struct lb_stack *s)
{
	char what[160];

	for (size_t i = 0; i < s->n_luks; i++) {
		const struct lb_luks *l = s->luks[i];

		snprintf(what, sizeof(what), "%s LUKS header", l->id);
		check_artifact(st, what, l->header);
		if (l->ciphertext) {
			uint64_t bytes = 0;
			int r = check_data(st, l->id, l->ciphertext, &bytes);

			snprintf(what, sizeof(what), "%s data", l->id);
			note(st, what, l->ciphertext, r, "ciphertext", bytes);
		}
	}
	for (size_t i = 0; i < s->n_vgs; i++) {
		snprintf(what, sizeof(what), "%s LVM metadata", s->vgs[i]->id);
		check_artifact(st, what, s->vgs[i]->metadata);
	}
}

static int run(const struct lb_manifest *m, bool quick, lb_verify_fn fn, void *ud,
	       unsigned *ret_ok, unsigned *ret_bad)
{
	struct vstate st = { .m = m, .fn = fn, .ud = ud, .quick = quick };
	int r = 0;

	for (size_t i = 0; i < m->n_disks; i++) {
		char what[160];

		snprintf(what, sizeof(what), "%s boot code", m->disks[i]->id);
		check_artifact(&st, what, m->disks[i]->boot_code);
		snprintf(what, sizeof(what), "%s post-MBR boot code", m->disks[i]->id);
		check_artifact(&st, what, m->disks[i]->mbr_gap);
	}
	lb_manifest_foreach_volume(m, check_volume, &st);
	/* (the stack's artifacts and the volumes of arrays, LUKS mappings and
	 * LVs: lb_manifest_foreach_volume walks the disks' own) */
	if (m->stack)
		check_stack(&st, m->stack);
	lb_stack_foreach_volume(m, check_volume, &st);
	if (st.bad)
		r = lb_err(-EBADMSG, "%u artifact%s damaged or missing, first %s", st.bad,
			   st.bad == 1 ? "" : "s", st.first);
	free(st.first);
	if (ret_ok)
		*ret_ok = st.ok;
	if (ret_bad)
		*ret_bad = st.bad;
	return r;
}

int lb_capture_verify(const struct lb_manifest *m, lb_verify_fn fn, void *ud, unsigned *ret_ok,
		      unsigned *ret_bad)
{
	return run(m, false, fn, ud, ret_ok, ret_bad);
}

int lb_capture_check_present(const struct lb_manifest *m)
{
	return run(m, true, NULL, NULL, NULL, NULL);
}
