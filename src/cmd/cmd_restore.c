// SPDX-License-Identifier: GPL-3.0-or-later
/* lifeboat restore [--dry-run] [--yes] [--quick-format|--full-format]
 *                  [--exclude-disk D]... [--exclude-volume V]... [--include-disk D]...
 *                  [--disk-map FROM=TO]... [--volume V]... [--all-volumes]
 *                  [--data|--no-data]
 *                  [--marker PATH] [--single-pass] CAPTURE
 *
 * load → plan (checked whole) → show → confirm → write → marker. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "plan/plan.h"
#include "restore/restore.h"
#include "cmd/cmd.h"
#include "cmd/cmd_plan.h"

static void help(FILE *f)
{
	fputs("Usage: lifeboat restore [--dry-run] [--yes] [--quick-format|--full-format]\n"
	      "                        [--exclude-disk D]... [--exclude-volume V]...\n"
	      "                        [--include-disk D]...\n"
	      "                        [--disk-map FROM=TO]... [--volume V]... [--all-volumes]\n"
	      "                        [--data|--no-data] [--marker PATH] [--single-pass]\n"
	      "                        [--key-file FILE]...\n"
	      "                        CAPTURE\n\n"
	      "Recreate this machine's disks from CAPTURE: every disk that is not intact\n"
	      "gets its recorded partition table, identities and boot code back, and its\n"
	      "volumes are made again with their UUIDs, labels and geometry. An intact\n"
	      "disk keeps its partition table, but its critical volumes (/, /boot, /usr,\n"
	      "/var, the ESP, ...) get their captured data back, as ASR does: a broken\n"
	      "system on a healthy disk rolls back; its other volumes are kept unless\n"
	      "named. Excluded disks are left alone; a disk in use or holding the capture\n"
	      "is never written. The whole plan is checked before the first write.\n\n"
	      "Options:\n"
	      "  -n, --dry-run            print the plan and write nothing\n"
	      "  -y, --yes                do not ask for confirmation\n"
	      "  -q, --quick-format       write filesystem metadata only\n"
	      "  -f, --full-format        zero and check each volume first (the default)\n"
	      "      --disk-map FROM=TO   use device TO for disk FROM (manifest id or\n"
	      "                           recorded path); repeatable\n"
	      "      --exclude-disk D     leave disk D alone; repeatable\n"
	      "      --exclude-volume V   leave alone every disk volume V lives on (through\n"
	      "                           arrays, LUKS and volume groups); repeatable\n"
	      "      --include-disk D     restore disk D although excluded at capture\n"
	      "      --volume V           put volume V's data back although its disk is\n"
	      "                           intact and it is not critical (a volume id such\n"
	      "                           as disk0p3, its recorded device path or mount\n"
	      "                           point); repeatable\n"
	      "      --all-volumes        put back every volume's data, intact disk or not\n"
	      "      --key-file FILE      a LUKS passphrase or key (the file's bytes, as\n"
	      "                           cryptsetup --key-file takes them) for a container\n"
	      "                           whose contents are made again; repeatable, tried\n"
	      "                           in order\n"
	      "      --data, --no-data    restore captured volume data (default) or layout\n"
	      "                           only (no volume's data, critical or not)\n"
	      "      --marker PATH        write the restore-session marker to PATH instead\n"
	      "                           of the restored root filesystem\n"
	      "      --single-pass        read the capture's data once: before the first\n"
	      "                           write check only each data file's framing, and\n"
	      "                           each chunk just before it is written (a damaged\n"
	      "                           chunk then fails its volume halfway); without it\n"
	      "                           every byte is checked first\n"
	      "  -h, --help               show this help\n\n"
	      "Without --yes it asks on a terminal and refuses when there is none.\n",
	      f);
}

static bool confirm(void)
{
	char line[64];

	if (!isatty(STDIN_FILENO))
		return false;
	fputs("\nThis erases the disks marked recreate and the volumes marked format or\n"
	      "write-image above. Type 'yes' to go on: ", stderr);
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return strcmp(line, "yes\n") == 0 || strcmp(line, "yes") == 0;
}

struct args {
	struct lb_plan_opts po;
	bool dry, yes, quick, full, single_pass;
	const char *capture;
};

enum { OPT_DATA = 0x200, OPT_NO_DATA, OPT_MARKER, OPT_SINGLE_PASS };

/* Returns -1 to go on, or the exit code. */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "yes", no_argument, NULL, 'y' },
		{ "quick-format", no_argument, NULL, 'q' },
		{ "full-format", no_argument, NULL, 'f' },
		{ "data", no_argument, NULL, OPT_DATA },
		{ "no-data", no_argument, NULL, OPT_NO_DATA },
		{ "marker", required_argument, NULL, OPT_MARKER },
		{ "single-pass", no_argument, NULL, OPT_SINGLE_PASS },
		{ "help", no_argument, NULL, 'h' },
		LB_PLAN_LONGOPTS,
		{ 0 },
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "nyqfh", opts, NULL)) != -1) {
		r = lb_plan_opt(&a->po, c, optarg);
		if (r < 0) {
			lb_warn("restore: %s", lb_errmsg());
			return LB_EXIT_USAGE;
		}
		if (r > 0)
			continue;
		switch (c) {
		case 'n':
			a->dry = true;
			break;
		case 'y':
			a->yes = true;
			break;
		case 'q':
			a->quick = true;
			break;
		case 'f':
			a->full = true;
			break;
		case OPT_DATA:
			a->po.data = true;
			break;
		case OPT_NO_DATA:
			a->po.data = false;
			break;
		case OPT_MARKER:
			a->po.marker = optarg;
			break;
		case OPT_SINGLE_PASS:
			a->single_pass = true;
			break;
		case 'h':
			help(stdout);
			return LB_EXIT_OK;
		default:
			help(stderr);
			return LB_EXIT_USAGE;
		}
	}
	if (a->quick && a->full) {
		lb_warn("restore: --quick-format and --full-format exclude each other");
		return LB_EXIT_USAGE;
	}
	if (optind + 1 != argc) {
		lb_warn("restore: expects one CAPTURE");
		return LB_EXIT_USAGE;
	}
	a->capture = argv[optind];
	return -1;
}

/* Nothing to write: exit 0 when every disk is intact, 1 when one that
 * needs recreating is held back. */
static int nothing_to_do(const struct lb_plan *p)
{
	bool held = false;

	for (size_t i = 0; i < p->n_disks; i++)
		if (p->disks[i].held_back) {
			lb_warn("restore: %s -> %s needs recreating: %s", p->disks[i].disk->id,
				p->disks[i].target->path, lb_esc(p->disks[i].why));
			held = true;
		}
	if (held)
		return LB_EXIT_FAIL;
	lb_warn("restore: every disk is intact: nothing to do, nothing written");
	return LB_EXIT_OK;
}

/* before the question and before any write: every data file, every byte
 * against its SHA-256 (a damaged capture costs no disk); with
 * --single-pass only its framing */
static int check_data(struct lb_plan *p, bool single_pass)
{
	bool any = false;

	for (size_t i = 0; i < p->n_vols; i++)
		any |= p->vols[i].action == LB_VOL_IMAGE || p->vols[i].extract;
	for (size_t i = 0; i < p->n_nodes; i++)
		any |= p->nodes[i].ciphertext;
	if (!any)
		return 0;
	lb_warn("restore: checking the capture's data files%s before anything is written",
		single_pass ? " (their framing: --single-pass)" : "");
	if (lb_plan_check_data(p, !single_pass) >= 0)
		return 0;
	for (size_t i = 0; i < p->n_problems; i++)
		printf("problem: %s\n", lb_esc(p->problems[i]));
	lb_warn("restore: refusing: the capture's data is damaged; nothing was written");
	return -EBADMSG;
}

/* load -> plan -> show -> check the data -> confirm -> the steps */
static int restore(struct args *a)
{
	const struct lb_restore_opts ro = { .quick = a->quick, .log = true };
	struct lb_manifest *m = NULL;
	struct lb_plan *p = NULL;
	_cleanup_free_ char *log_path = NULL, *instance = NULL;
	int code, r;

	/* one restore, capture or drill at a time; a dry run writes nothing */
	if (!a->dry && lb_lock_take("restore") < 0) {
		lb_warn("restore: %s; nothing was written", lb_errmsg());
		return LB_EXIT_FAIL;
	}
	/* its temporary mounts die with it, killed or not */
	if (!a->dry && lb_mounts_private() < 0)
		lb_debug("restore", "%s", lb_errmsg());
	code = lb_plan_for("restore", a->capture, &a->po, &m, &p);
	if (code != LB_EXIT_OK)
		goto out;
	lb_plan_print(p, stdout);
	fflush(stdout);
	if (p->n_problems) {
		lb_warn("restore: refusing: the plan has %zu problem%s (above); nothing was written",
			p->n_problems, p->n_problems == 1 ? "" : "s");
		code = p->usage_error ? LB_EXIT_USAGE : LB_EXIT_FAIL;
		goto out;
	}
	if (a->dry) {
		lb_warn("restore: dry run: nothing was written");
		goto out;
	}
	if (!lb_plan_writes(p) && !a->po.marker) {
		code = nothing_to_do(p);
		goto out;
	}
	if (check_data(p, a->single_pass) < 0) {
		code = LB_EXIT_FAIL;
		goto out;
	}
	if (!a->yes && !confirm()) {
		lb_warn("restore: not confirmed%s; nothing was written",
			isatty(STDIN_FILENO) ? "" : " (no terminal: pass --yes to restore unattended)");
		code = LB_EXIT_USAGE;
		goto out;
	}
	r = lb_restore_run(p, &ro, &instance, &log_path);
	if (r < 0) {
		lb_warn("restore: failed: %s", lb_esc(lb_errmsg()));
		if (log_path)
			lb_warn("restore: the log is %s; running the same restore again finishes the job "
				"(a volume named as failed above: wipe it with wipefs -a first; a disk "
				"in use here: free it first)",
				log_path);
		code = LB_EXIT_FAIL;
		goto out;
	}
	lb_warn("restore: done%s%s", instance ? "; restore-session " : "", instance ? instance : "");
out:
	lb_plan_free(p);
	lb_manifest_free(m);
	return code;
}

int cmd_restore(int argc, char **argv)
{
	struct args a = { .po = { .data = true } };
	int code = parse_args(argc, argv, &a);

	if (code < 0)
		code = restore(&a);
	lb_plan_opts_clear(&a.po);
	return code;
}
