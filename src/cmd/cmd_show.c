// SPDX-License-Identifier: GPL-3.0-or-later
/* lifeboat show [--json] CAPTURE */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "model/model.h"
#include "manifest/manifest.h"
#include "cmd/cmd.h"

static void help(FILE *f)
{
	fputs("Usage: lifeboat show [--json] CAPTURE\n\n"
	      "Print a capture's disks, partitions and volumes with their identities,\n"
	      "then its boot configuration. CAPTURE is a capture directory or its\n"
	      "manifest.xml.\n\n"
	      "Options:\n"
	      "  -j, --json   print JSON for scripts\n"
	      "  -h, --help   show this help\n",
	      f);
}

int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct lb_manifest *m = NULL;
	bool json = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			help(stdout);
			return LB_EXIT_OK;
		default:
			help(stderr);
			return LB_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fputs("lifeboat show: expects one CAPTURE\n", stderr);
		help(stderr);
		return LB_EXIT_USAGE;
	}
	r = lb_manifest_load(argv[optind], &m);
	if (r < 0) {
		lb_warn("%s", lb_errmsg());
		return LB_EXIT_USAGE;
	}
	r = json ? lb_show_json(m, stdout) : lb_show_text(m, stdout);
	lb_manifest_free(m);
	return r < 0 ? LB_EXIT_FAIL : LB_EXIT_OK;
}
