// SPDX-License-Identifier: GPL-3.0-or-later
/* lifeboat verify CAPTURE: the manifest against its schema, every artifact
 * against its size and SHA-256. Touches no disk. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "model/model.h"
#include "manifest/manifest.h"
#include "data/data.h"
#include "cmd/cmd.h"

static void help(FILE *f)
{
	fputs("Usage: lifeboat verify CAPTURE\n\n"
	      "Check a capture without touching any disk: the manifest against the\n"
	      "schema, and every artifact against its recorded size and SHA-256.\n"
	      "Exit status 0 when all is intact, 1 when an artifact is missing or\n"
	      "damaged, 2 when the manifest cannot be read.\n\n"
	      "Options:\n"
	      "  -h, --help   show this help\n",
	      f);
}

struct verify_state {
	const struct lb_manifest *m;
	unsigned ok, bad;
};

static void check(struct verify_state *st, const char *what, const struct lb_artifact *a)
{
	if (!a)
		return;
	if (lb_artifact_verify(st->m, a) < 0) {
		printf("FAILED %s (%s): %s\n", what, a->file, lb_errmsg());
		st->bad++;
	} else {
		printf("ok     %s (%s)\n", what, a->file);
		st->ok++;
	}
}

/* a data file: its framing, chunks and SHA-256 */
static void check_data(struct verify_state *st, const char *what, const char *method,
		       const struct lb_artifact *a)
{
	_cleanup_free_ char *path = lb_asprintf("%s/%s", st->m->rt_dir, a->file);
	int fd = lb_open_artifact(path);
	uint64_t bytes = 0;

	if (fd < 0) {
		printf("FAILED %s (%s): %s\n", what, a->file, lb_errmsg());
		st->bad++;
		return;
	}
	if (lb_data_verify_file(fd, what, a, &bytes) < 0) {
		printf("FAILED %s (%s): %s\n", what, a->file, lb_errmsg());
		st->bad++;
	} else {
		printf("ok     %s (%s, %s, %" PRIu64 " bytes of data)\n", what, a->file, method, bytes);
		st->ok++;
	}
	close(fd);
}

static int check_volume(struct lb_disk *d, struct lb_partition *p, struct lb_volume *v, void *ud)
{
	struct verify_state *st = ud;
	char what[128];

	(void)d;
	if (p && p->content) {
		snprintf(what, sizeof(what), "%s contents", v->id);
		check(st, what, p->content);
	}
	if (v->data) {
		snprintf(what, sizeof(what), "%s data", v->id);
		check_data(st, what, v->data_method ? v->data_method : "image", v->data);
	}
	return 0;
}

/* the stack's artifacts: LUKS headers and ciphertext, LVM metadata, the
 * data of volumes on arrays, LUKS mappings and LVs */
static void check_stack(struct verify_state *st, const struct lb_stack *s)
{
	char what[160];

	for (size_t i = 0; i < s->n_mds; i++)
		if (s->mds[i]->volume)
			check_volume(NULL, NULL, s->mds[i]->volume, st);
	for (size_t i = 0; i < s->n_luks; i++) {
		snprintf(what, sizeof(what), "%s LUKS header", s->luks[i]->id);
		check(st, what, s->luks[i]->header);
		snprintf(what, sizeof(what), "%s data", s->luks[i]->id);
		if (s->luks[i]->ciphertext)
			check_data(st, what, "ciphertext", s->luks[i]->ciphertext);
		if (s->luks[i]->volume)
			check_volume(NULL, NULL, s->luks[i]->volume, st);
	}
	for (size_t i = 0; i < s->n_vgs; i++) {
		snprintf(what, sizeof(what), "%s LVM metadata", s->vgs[i]->id);
		check(st, what, s->vgs[i]->metadata);
		for (size_t j = 0; j < s->vgs[i]->n_lvs; j++)
			if (s->vgs[i]->lvs[j]->volume)
				check_volume(NULL, NULL, s->vgs[i]->lvs[j]->volume, st);
	}
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct lb_manifest *m = NULL;
	struct verify_state st = { 0 };
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			help(stdout);
			return LB_EXIT_OK;
		}
		help(stderr);
		return LB_EXIT_USAGE;
	}
	if (optind + 1 != argc) {
		fputs("lifeboat verify: expects one CAPTURE\n", stderr);
		return LB_EXIT_USAGE;
	}
	r = lb_manifest_load(argv[optind], &m);
	if (r < 0) {
		lb_warn("%s", lb_errmsg());
		return LB_EXIT_USAGE;
	}
	st.m = m;
	printf("ok     manifest (%s)\n", argv[optind]);
	for (size_t i = 0; i < m->n_disks; i++) {
		char what[128];

		snprintf(what, sizeof(what), "%s boot code", m->disks[i]->id);
		check(&st, what, m->disks[i]->boot_code);
		snprintf(what, sizeof(what), "%s post-MBR boot code", m->disks[i]->id);
		check(&st, what, m->disks[i]->mbr_gap);
	}
	lb_manifest_foreach_volume(m, check_volume, &st);
	if (m->stack)
		check_stack(&st, m->stack);
	printf("%u artifacts intact, %u damaged or missing\n", st.ok, st.bad);
	lb_manifest_free(m);
	return st.bad ? LB_EXIT_FAIL : LB_EXIT_OK;
}
