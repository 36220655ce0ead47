// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * lifeboat drill [--workdir DIR] [--key-file FILE]... CAPTURE
 *
 * The rehearsal (src/restore/drill.c): the capture restored onto loop
 * devices over sparse files, checked, everything removed; here only the
 * options and what is shown.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/base.h"
#include "model/model.h"
#include "manifest/manifest.h"
#include "plan/plan.h"
#include "restore/restore.h"
#include "cmd/cmd.h"
#include "cmd/cmd_plan.h"

static void help(FILE *f)
{
	fputs("Usage: lifeboat drill [--workdir DIR] [--key-file FILE]... CAPTURE\n\n"
	      "Rehearse a restore on loop devices over sparse files: make one file per\n"
	      "recorded disk, restore the capture onto them, check every disk and volume\n"
	      "against the manifest, print a verdict, and detach and remove everything.\n"
	      "Touches no other disk.\n\n"
	      "Options:\n"
	      "  -w, --workdir DIR   where the sparse files go (default: a new directory\n"
	      "                      under /var/tmp)\n"
	      "  -k, --key-file FILE the key of an encrypted capture, or a LUKS\n"
	      "                      container's (what is inside is made again);\n"
	      "                      repeatable: each is tried\n"
	      "  -h, --help          show this help\n\n"
	      "Exit status: 0 the rehearsal restored everything exactly; 1 it did not;\n"
	      "2 bad options or an unreadable or invalid capture.\n",
	      f);
}

static void show_disk(void *ud, const struct lb_disk *d, const char *dev)
{
	(void)ud;
	printf("drill: %s (%" PRIu64 " sectors of %u bytes) on %s\n", d->id, d->size, d->sector_size,
	       dev);
	fflush(stdout);
}

static void show_plan(void *ud, const struct lb_plan *p)
{
	(void)ud;
	lb_plan_print(p, stdout);
	fflush(stdout);
}

static void show_problem(void *ud, const char *text)
{
	(void)ud;
	printf("problem: %s\n", lb_esc(text));
}

static void show_line(void *ud, const char *text)
{
	(void)ud;
	printf("drill: %s\n", text);
}

int cmd_drill(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "workdir", required_argument, NULL, 'w' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const struct lb_drill_ui ui = {
		.disk = show_disk,
		.plan = show_plan,
		.problem = show_problem,
		.line = show_line,
	};
	struct lb_manifest *m = NULL;
	_cleanup_free_ char *instance = NULL;
	const char *workdir = NULL;
	char **keys = NULL;
	size_t n_keys = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "w:k:h", opts, NULL)) != -1) {
		if (c == 'w') {
			workdir = optarg;
		} else if (c == 'k') {
			/* (optarg lives in argv: only the array is ours) */
			keys = lb_realloc_array(keys, n_keys + 1, sizeof(*keys));
			keys[n_keys++] = optarg;
		} else if (c == 'h') {
			free(keys);
			help(stdout);
			return LB_EXIT_OK;
		} else {
			free(keys);
			help(stderr);
			return LB_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		free(keys);
		lb_warn("drill: expects one CAPTURE");
		return LB_EXIT_USAGE;
	}
	/* one restore, capture or drill at a time (a restore could take the
	 * drill's blank loop disks for replaced ones) */
	if (lb_lock_take("drill") < 0) {
		free(keys);
		lb_warn("drill: %s; nothing was written", lb_errmsg());
		return LB_EXIT_FAIL;
	}
	/* its temporary mounts die with it, killed or not */
	if (lb_mounts_private() < 0)
		lb_debug("drill", "%s", lb_errmsg());
	r = lb_manifest_load(argv[optind], &m);
	/* an encrypted capture: the key file that opens it (none: the plan
	 * refuses, before anything is made) */
	if (r >= 0)
		r = lb_manifest_unlock(m, keys, n_keys);
	if (r < 0) {
		free(keys);
		lb_warn("drill: %s", lb_errmsg());
		lb_manifest_free(m);
		return LB_EXIT_USAGE;
	}
	if (m->encryption && !workdir)
		lb_warn("drill: note: this encrypted capture's data is restored, decrypted, into "
			"sparse files under /var/tmp (removed afterwards); --workdir on a tmpfs keeps "
			"it off the disk");
	r = lb_drill_run(m, workdir, keys, n_keys, &ui, &instance);
	free(keys);
	lb_manifest_free(m);
	if (r < 0) {
		lb_warn("drill: %s", lb_esc(lb_errmsg()));
		return LB_EXIT_FAIL;
	}
	printf("drill: PASSED: every disk and volume restored exactly%s%s\n",
	       instance ? "; restore-session " : "", instance ? instance : "");
	return LB_EXIT_OK;
}
