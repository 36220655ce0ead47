// SPDX-License-Identifier: GPL-3.0-or-later
/* lifeboat compare [--json] [--disk-map FROM=TO]... [--exclude-disk D]...
 *                  [--include-disk D]... [--volume V]... [--all-volumes] CAPTURE */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "model/model.h"
#include "plan/plan.h"
#include "cmd/cmd.h"
#include "cmd/cmd_plan.h"

static void help(FILE *f)
{
	fputs("Usage: lifeboat compare [--json] [--disk-map FROM=TO]... [--exclude-disk D]...\n"
	      "                        [--exclude-volume V]... [--include-disk D]...\n"
	      "                        [--volume V]... [--all-volumes]\n"
	      "                        [--key-file FILE]... CAPTURE\n\n"
	      "Match the capture's disks to this machine's (by map, signature, serial,\n"
	      "WWN, path and size, or a blank replacement disk) and print what a restore\n"
	      "would do: each disk intact, recreate, excluded or missing; each volume\n"
	      "keep, format (+extract-archive), write-image, write-content, nothing or\n"
	      "skip. On an intact disk every critical volume with captured data gets it\n"
	      "back; other volumes are kept unless named. Writes nothing.\n\n"
	      "Options:\n"
	      "  -j, --json                 print JSON for scripts\n"
	      "      --disk-map FROM=TO     use device TO for the disk FROM (manifest id\n"
	      "                             or recorded path); repeatable\n"
	      "      --exclude-disk D       leave disk D out; repeatable\n"
	      "      --exclude-volume V     leave out every disk volume V lives on (through\n"
	      "                             arrays, LUKS and volume groups); repeatable\n"
	      "      --include-disk D       take in disk D excluded at capture; repeatable\n"
	      "      --volume V             plan to put volume V's data back although its\n"
	      "                             disk is intact (a volume id such as disk0p3,\n"
	      "                             its recorded device path or mount point);\n"
	      "                             repeatable\n"
	      "      --all-volumes          plan that for every volume with captured data\n"
	      "      --key-file FILE        the key a restore would open LUKS containers\n"
	      "                             with (only its presence counts here)\n"
	      "  -h, --help                 show this help\n\n"
	      "Exit status: 0 every disk's layout intact (critical volumes whose data a\n"
	      "restore would put back do not count); 1 something to recreate, missing or\n"
	      "in the way; 2 bad options or an unreadable or invalid capture.\n",
	      f);
}

int cmd_compare(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		LB_PLAN_LONGOPTS,
		{ 0 },
	};
	struct lb_plan_opts po = { .data = true }; /* the plan restore would make */
	struct lb_manifest *m = NULL;
	struct lb_plan *p = NULL;
	bool json = false;
	int c, code;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		int r = lb_plan_opt(&po, c, optarg);

		if (r < 0) {
			lb_warn("compare: %s", lb_errmsg());
			code = LB_EXIT_USAGE;
			goto out;
		}
		if (r > 0)
			continue;
		if (c == 'j') {
			json = true;
		} else if (c == 'h') {
			help(stdout);
			code = LB_EXIT_OK;
			goto out;
		} else {
			help(stderr);
			code = LB_EXIT_USAGE;
			goto out;
		}
	}
	if (optind + 1 != argc) {
		lb_warn("compare: expects one CAPTURE");
		code = LB_EXIT_USAGE;
		goto out;
	}
	code = lb_plan_for("compare", argv[optind], &po, &m, &p);
	if (code != LB_EXIT_OK)
		goto out;
	if (json)
		lb_plan_print_json(p, stdout);
	else
		lb_plan_print(p, stdout);
	if (p->usage_error)
		code = LB_EXIT_USAGE;
	else
		/* about the layout: a volume's content a restore would put
		 * back on an intact disk, and what stops that, do not count */
		code = lb_plan_all_intact(p) && p->n_problems == p->n_content_problems ? LB_EXIT_OK
											: LB_EXIT_FAIL;
out:
	lb_plan_free(p);
	lb_manifest_free(m);
	lb_plan_opts_clear(&po);
	return code;
}
