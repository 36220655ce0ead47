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
		_cleanup_free_ char *path = lb_asprintf("%s/%s", st->m->rt_dir, v->data->file);
		int fd = lb_open_artifact(path);
		uint64_t bytes = 0;

		if (fd < 0) {
			printf("FAILED %s data (%s): %s\n", v->id, v->data->file, lb_errmsg());
			st->bad++;
			return 0;
		}
		if (lb_data_verify_file(fd, v->id, v->data, &bytes) < 0) {
			printf("FAILED %s data (%s): %s\n", v->id, v->data->file, lb_errmsg());
			st->bad++;
		} else {
			printf("ok     %s data (%s, %s, %" PRIu64 " bytes of data)\n", v->id, v->data->file,
			       v->data_method ? v->data_method : "image", bytes);
			st->ok++;
		}
		close(fd);
	}
	return 0;
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
	for (size_t i = 0; m->stack && i < m->stack->n_luks; i++) {
		char what[128];

		snprintf(what, sizeof(what), "%s LUKS header", m->stack->luks[i]->id);
		check(&st, what, m->stack->luks[i]->header);
	}
	for (size_t i = 0; m->stack && i < m->stack->n_vgs; i++) {
		char what[160];

		snprintf(what, sizeof(what), "%s LVM metadata", m->stack->vgs[i]->id);
		check(&st, what, m->stack->vgs[i]->metadata);
	}
	lb_manifest_foreach_volume(m, check_volume, &st);
	lb_stack_foreach_volume(m, check_volume, &st);
	printf("%u artifacts intact, %u damaged or missing\n", st.ok, st.bad);
	lb_manifest_free(m);
	return st.bad ? LB_EXIT_FAIL : LB_EXIT_OK;
}
