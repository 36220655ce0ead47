// SPDX-License-Identifier: GPL-3.0-or-later
/* lifeboat list [--config FILE] [--json] [DIR]: the captures in a directory
 * of generations (or DIR itself, when it is one capture), oldest first, each
 * with its time, size, result and whether it verifies. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/base.h"
#include "ops/ops.h"
#include "cmd/cmd.h"
#include "cmd/cmd_ops.h"

static void help(FILE *f)
{
	fputs("Usage: lifeboat list [--config FILE] [--json] [DIR]\n\n"
	      "List the captures in DIR (default: 'into' from the configuration, else\n"
	      LB_CAPTURES_DIR "), oldest first: time, size, result, whether\n"
	      "every artifact verifies (each is read whole), and which is 'latest'.\n\n"
	      "Options:\n"
	      "  -c, --config FILE   read FILE instead of " LB_CONFIG_FILE "\n"
	      "  -j, --json          print JSON for scripts\n"
	      "  -h, --help          show this help\n\n"
	      "Exit status: 0 listed (damaged captures too), 1 DIR cannot be read,\n"
	      "2 bad options or configuration.\n",
	      f);
}

int lb_cmd_dir_args(const char *cmd, int argc, char **argv, const struct lb_config *cf,
		    const char **ret_dir)
{
	if (optind + 1 < argc) {
		lb_warn("%s: expects at most one DIR", cmd);
		return LB_EXIT_USAGE;
	}
	*ret_dir = optind < argc ? argv[optind] : cf->into ? cf->into : LB_CAPTURES_DIR;
	return LB_EXIT_OK;
}

int lb_cmd_captures(const char *dir, struct lb_capture_info **ret, size_t *ret_n)
{
	_cleanup_free_ char *mpath = lb_asprintf("%s/manifest.xml", dir);
	struct lb_generation *g = NULL;
	struct lb_capture_info *ci;
	struct stat st;
	size_t n = 0;
	int r;

	*ret = NULL;
	*ret_n = 0;
	if (stat(mpath, &st) == 0) {
		/* one capture, not a directory of them */
		ci = lb_zalloc(sizeof(*ci));
		lb_capture_inspect(dir, ci);
		*ret = ci;
		*ret_n = 1;
		return 0;
	}
	r = lb_gens_list(dir, &g, &n);
	if (r < 0)
		return r;
	ci = n ? lb_zalloc(n * sizeof(*ci)) : NULL;
	for (size_t i = 0; i < n; i++) {
		lb_capture_inspect(g[i].path, &ci[i]);
		ci[i].latest = g[i].latest;
	}
	lb_gens_free(g, n);
	*ret = ci;
	*ret_n = n;
	return 0;
}

void lb_cmd_captures_free(struct lb_capture_info *ci, size_t n)
{
	for (size_t i = 0; i < n; i++)
		lb_capture_info_clear(&ci[i]);
	free(ci);
}

void lb_cmd_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_json(const char *dir, const struct lb_capture_info *ci, size_t n)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_new_object();
		char t[32];

		lb_cmd_time(ci[i].time, t, sizeof(t));
		json_object_object_add(e, "name", json_object_new_string(ci[i].name));
		json_object_object_add(e, "path", json_object_new_string(ci[i].path));
		json_object_object_add(e, "time", json_object_new_string(t));
		json_object_object_add(e, "size", json_object_new_int64((int64_t)ci[i].size));
		json_object_object_add(e, "result", json_object_new_string(ci[i].result));
		json_object_object_add(e, "verified", json_object_new_boolean(ci[i].verified));
		json_object_object_add(e, "latest", json_object_new_boolean(ci[i].latest));
		json_object_object_add(e, "problem",
				       ci[i].problem ? json_object_new_string(ci[i].problem) : NULL);
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "directory", json_object_new_string(dir));
	json_object_object_add(o, "captures", a);
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void print_text(const struct lb_capture_info *ci, size_t n)
{
	if (n)
		printf("%-20s %-20s %10s  %-24s %s\n", "NAME", "TIME", "SIZE", "RESULT", "VERIFIED");
	for (size_t i = 0; i < n; i++) {
		char t[32], size[32];

		lb_cmd_time(ci[i].time, t, sizeof(t));
		snprintf(size, sizeof(size), "%.1f MiB", (double)ci[i].size / 1048576.0);
		printf("%-20s %-20s %10s  %-24s %s%s\n", ci[i].name, t, size, ci[i].result,
		       ci[i].verified ? "yes" : "no", ci[i].latest ? "   (latest)" : "");
	}
	for (size_t i = 0; i < n; i++)
		if (ci[i].problem)
			lb_warn("list: %s: %s", ci[i].name, ci[i].problem);
}

/* Left by an interrupted run: not captures, but worth a word. */
static void note_partial(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d)))
		if (lb_gens_is_partial(e->d_name) && strstr(e->d_name, ".partial."))
			lb_warn("list: %s/%s: a partial capture (failed, interrupted or being written; "
				"the next capture into %s removes it)",
				dir, e->d_name, dir);
	closedir(d);
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct lb_config cf = { 0 };
	struct lb_capture_info *ci = NULL;
	const char *config = NULL, *dir;
	bool json = false;
	size_t n = 0;
	int c, code;

	while ((c = getopt_long(argc, argv, "c:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'j': json = true; break;
		case 'h':
			help(stdout);
			return LB_EXIT_OK;
		default:
			help(stderr);
			return LB_EXIT_USAGE;
		}
	}
	if (lb_config_load(&cf, config) < 0) {
		lb_warn("list: %s", lb_errmsg());
		lb_config_clear(&cf);
		return LB_EXIT_USAGE;
	}
	json = json || (cf.has_json && cf.json);
	code = lb_cmd_dir_args("list", argc, argv, &cf, &dir);
	if (code == LB_EXIT_OK && lb_cmd_captures(dir, &ci, &n) < 0) {
		lb_warn("list: %s", lb_errmsg());
		code = LB_EXIT_FAIL;
	}
	if (code == LB_EXIT_OK) {
		if (json)
			print_json(dir, ci, n);
		else
			print_text(ci, n);
		note_partial(dir);
		if (!n && !json)
			lb_warn("list: no captures in %s", dir);
	}
	lb_cmd_captures_free(ci, n);
	lb_config_clear(&cf);
	return code;
}
