// SPDX-License-Identifier: GPL-3.0-or-later
/* lifeboat status [--config FILE] [--json] [--max-age DAYS] [DIR]
 *
 * For monitoring: the newest good capture (its manifest loads and every
 * artifact verifies), its age, and whether this machine's layout still
 * matches it: compare's plan (every disk intact), and nothing added or
 * changed on the intact disks since. Exit 0 fresh and matching, 1 stale
 * or changed, 2 no good capture (or bad options). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>

#include "base/base.h"
#include "model/model.h"
#include "plan/plan.h"
#include "ops/ops.h"
#include "cmd/cmd.h"
#include "cmd/cmd_ops.h"
#include "cmd/cmd_plan.h"

#define DEFAULT_MAX_AGE 7.0

static void help(FILE *f)
{
	fputs("Usage: lifeboat status [--config FILE] [--json] [--max-age DAYS] [DIR]\n\n"
	      "Say whether the newest good capture in DIR (default: 'into' from the\n"
	      "configuration, else " LB_CAPTURES_DIR ") is fresh and\n"
	      "still matches this machine's disks, as compare would see them.\n\n"
	      "Options:\n"
	      "  -c, --config FILE     read FILE instead of " LB_CONFIG_FILE "\n"
	      "  -j, --json            print JSON for scripts\n"
	      "  -m, --max-age DAYS    older than this is stale (a decimal number;\n"
	      "                        default 7)\n"
	      "  -h, --help            show this help\n\n"
	      "Exit status: 0 fresh and matching; 1 stale, or the layout changed;\n"
	      "2 no good capture, bad options or configuration.\n",
	      f);
}

struct status {
	const char *dir;
	double max_age;
	struct lb_capture_info ci;	/* the newest good capture */
	bool found;
	double age;			/* days */
	bool checked;			/* the layout could be compared */
	char **changes;
	size_t n_changes;
	const char *verdict;		/* fresh, stale, changed, none */
};

/* The newest capture that verifies; damaged newer ones are said. */
static int newest_good(struct status *s)
{
	_cleanup_free_ char *mpath = lb_asprintf("%s/manifest.xml", s->dir);
	struct lb_generation *g = NULL;
	struct stat st;
	size_t n = 0;
	int r;

	if (stat(mpath, &st) == 0) {
		lb_capture_inspect(s->dir, &s->ci);
		s->found = s->ci.verified;
		return 0;
	}
	r = lb_gens_list(s->dir, &g, &n);
	if (r < 0)
		return r;
	for (size_t i = n; i-- > 0 && !s->found;) {
		lb_capture_info_clear(&s->ci);
		lb_capture_inspect(g[i].path, &s->ci);
		s->ci.latest = g[i].latest;
		s->found = s->ci.verified;
		if (!s->found)
			lb_warn("status: %s: %s", g[i].path, s->ci.problem ? s->ci.problem : s->ci.result);
	}
	lb_gens_free(g, n);
	return 0;
}

/* compare's plan for the capture, and what changed beyond it. */
static void check_layout(struct status *s)
{
	struct lb_plan_opts po = { .data = true };
	struct lb_manifest *m = NULL;
	struct lb_plan *p = NULL;
	bool intact;

	if (lb_plan_for("status", s->ci.path, &po, &m, &p) != LB_EXIT_OK)
		return;
	intact = lb_plan_all_intact(p) && p->n_problems == p->n_content_problems;
	lb_layout_changes(p, intact, &s->changes, &s->n_changes);
	s->checked = true;
	lb_plan_free(p);
	lb_manifest_free(m);
}

static void print_json(const struct status *s)
{
	json_object *o = json_object_new_object(), *c = json_object_new_array();

	json_object_object_add(o, "directory", json_object_new_string(s->dir));
	json_object_object_add(o, "status", json_object_new_string(s->verdict));
	json_object_object_add(o, "max_age_days", json_object_new_double(s->max_age));
	if (s->found) {
		char t[32];

		lb_cmd_time(s->ci.time, t, sizeof(t));
		json_object_object_add(o, "capture", json_object_new_string(s->ci.path));
		json_object_object_add(o, "time", json_object_new_string(t));
		json_object_object_add(o, "age_days", json_object_new_double(s->age));
		json_object_object_add(o, "size", json_object_new_int64((int64_t)s->ci.size));
		json_object_object_add(o, "result", json_object_new_string(s->ci.result));
		json_object_object_add(o, "verified", json_object_new_boolean(s->ci.verified));
		json_object_object_add(o, "latest", json_object_new_boolean(s->ci.latest));
		json_object_object_add(o, "layout_checked", json_object_new_boolean(s->checked));
		json_object_object_add(o, "layout_matches",
				       json_object_new_boolean(s->checked && !s->n_changes));
		for (size_t i = 0; i < s->n_changes; i++)
			json_object_array_add(c, json_object_new_string(s->changes[i]));
	}
	json_object_object_add(o, "changes", c);
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void print_text(const struct status *s)
{
	char t[32];

	if (!s->found) {
		printf("status:   none: no good capture in %s\n", s->dir);
		return;
	}
	lb_cmd_time(s->ci.time, t, sizeof(t));
	printf("capture:  %s%s\n", s->ci.path, s->ci.latest ? " (latest)" : "");
	printf("time:     %s, %.2f days ago (max age %g)\n", t, s->age, s->max_age);
	printf("size:     %.1f MiB\n", (double)s->ci.size / 1048576.0);
	printf("result:   %s, verified\n", s->ci.result);
	if (!s->checked)
		printf("layout:   could not be compared with this machine\n");
	else if (!s->n_changes)
		printf("layout:   matches this machine\n");
	for (size_t i = 0; i < s->n_changes; i++)
		printf("layout:   changed: %s\n", s->changes[i]);
	printf("status:   %s\n", s->verdict);
}

static int parse(int argc, char **argv, struct lb_config *cf, const char **ret_max_age,
		 bool *ret_json)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "max-age", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *config = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "c:jm:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'j': *ret_json = true; break;
		case 'm': *ret_max_age = optarg; break;
		case 'h':
			help(stdout);
			return -1;
		default:
			help(stderr);
			return LB_EXIT_USAGE;
		}
	}
	if (lb_config_load(cf, config) < 0) {
		lb_warn("status: %s", lb_errmsg());
		return LB_EXIT_USAGE;
	}
	return LB_EXIT_OK;
}

int cmd_status(int argc, char **argv)
{
	struct status s = { .max_age = DEFAULT_MAX_AGE, .verdict = "none" };
	struct lb_config cf = { 0 };
	const char *max_age = NULL;
	bool json = false;
	int code = parse(argc, argv, &cf, &max_age, &json);

	if (code != LB_EXIT_OK) {
		code = code < 0 ? LB_EXIT_OK : code;
		goto out;
	}
	json = json || (cf.has_json && cf.json);
	if (max_age && lb_parse_days(max_age, &s.max_age) < 0) {
		lb_warn("status: --max-age %s: expected a number of days", max_age);
		code = LB_EXIT_USAGE;
		goto out;
	}
	if (!max_age && cf.has_max_age)
		s.max_age = cf.max_age;
	code = lb_cmd_dir_args("status", argc, argv, &cf, &s.dir);
	if (code != LB_EXIT_OK)
		goto out;
	if (newest_good(&s) < 0)
		lb_warn("status: %s", lb_errmsg());
	code = LB_EXIT_USAGE;
	if (s.found) {
		s.age = difftime(time(NULL), s.ci.time) / 86400.0;
		check_layout(&s);
		code = s.age < s.max_age && s.checked && !s.n_changes ? LB_EXIT_OK : LB_EXIT_FAIL;
		s.verdict = s.age >= s.max_age ? "stale" : code ? "changed" : "fresh";
	}
	if (json)
		print_json(&s);
	else
		print_text(&s);
out:
	for (size_t i = 0; i < s.n_changes; i++)
		free(s.changes[i]);
	free(s.changes);
	lb_capture_info_clear(&s.ci);
	lb_config_clear(&cf);
	return code;
}
