// SPDX-License-Identifier: GPL-3.0-or-later
/* libFuzzer: the planner. The fuzzed bytes are a capture's manifest; when
 * it loads, it is planned against a fixed machine, the manifest named by
 * LIFEBOAT_MACHINE (unless set, fixtures/fuzz/plan-machine.xml: the
 * rollback plan's disk, with its five partitions, and a blank disk), with
 * no options and then with
 * --all-volumes, and the plans printed as text and JSON. Its data files
 * are looked for in an empty directory. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "manifest/manifest.h"
#include "plan/plan.h"
#include "cmd/cmd_plan.h"

static char empty_dir[] = "/tmp/lifeboat-fuzz-plan.XXXXXX";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!getenv("LIFEBOAT_MACHINE"))
		setenv("LIFEBOAT_MACHINE", "fixtures/fuzz/plan-machine.xml", 1);
	if (!mkdtemp(empty_dir))
		abort();
	return 0;
}

static void plan_once(struct lb_manifest *m, const struct lb_plan_opts *o, FILE *null)
{
	struct lb_target **targets = NULL;
	struct lb_plan *p = NULL;
	size_t n = 0;

	if (lb_targets_load(empty_dir, false, &targets, &n) < 0) {
		fprintf(stderr, "cannot load the machine: %s\n", lb_errmsg());
		abort();
	}
	if (lb_plan_build(m, o, targets, n, &p) >= 0 && p) {
		lb_plan_all_intact(p);
		lb_plan_writes(p);
		if (o->data)
			lb_plan_check_data(p, false);
		lb_plan_print(p, null);
		lb_plan_print_json(p, null);
	}
	lb_plan_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_plan_opts plain = { .data = true }, all = { .data = true, .all_volumes = true };
	struct lb_manifest *m = NULL;
	FILE *null;

	if (lb_manifest_load_mem((const char *)data, size, "fuzz.xml", &m) < 0)
		return 0;
	free(m->rt_dir);
	m->rt_dir = lb_strdup(empty_dir);
	null = fopen("/dev/null", "w");
	if (!null)
		abort();
	plan_once(m, &plain, null);
	plan_once(m, &all, null);
	fclose(null);
	lb_manifest_free(m);
	return 0;
}
