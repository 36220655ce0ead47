// SPDX-License-Identifier: GPL-3.0-or-later
/* lifeboat restore [--dry-run] [--yes] [--quick-format|--full-format]
 *                  [--exclude-disk D]... [--include-disk D]...
 *                  [--disk-map FROM=TO]... [--volume V]... [--all-volumes]
 *                  [--data|--no-data]
 *                  [--marker PATH] [--single-pass] CAPTURE
 *
 * load → plan (checked whole) → show → confirm → write → marker. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "plan/plan.h"
#include "restore/restore.h"
#include "cmd/cmd.h"
#include "cmd/cmd_plan.h"

#define LOG_DIR "/var/log/lifeboat"

static const char *log_dir(void)
{
	const char *d = getenv("LIFEBOAT_LOG_DIR");

	return d && *d ? d : LOG_DIR;
}

static void help(FILE *f)
{
	fputs("Usage: lifeboat restore [--dry-run] [--yes] [--quick-format|--full-format]\n"
	      "                        [--exclude-disk D]... [--include-disk D]...\n"
	      "                        [--disk-map FROM=TO]... [--volume V]... [--all-volumes]\n"
	      "                        [--data|--no-data] [--marker PATH] [--single-pass]\n"
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
	      "      --include-disk D     restore disk D although excluded at capture\n"
	      "      --volume V           put volume V's data back although its disk is\n"
	      "                           intact and it is not critical (a volume id such\n"
	      "                           as disk0p3, its recorded device path or mount\n"
	      "                           point); repeatable\n"
	      "      --all-volumes        put back every volume's data, intact disk or not\n"
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

static FILE *open_log(char **ret_path)
{
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;
	FILE *f;

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if (lb_mkdir_p(log_dir(), 0755) < 0)
		return NULL;
	/* never another run's log: a new name if this second has one */
	for (int i = 1; i < 100; i++) {
		int fd;

		*ret_path = i == 1 ? lb_asprintf("%s/restore-%s.log", log_dir(), stamp)
				   : lb_asprintf("%s/restore-%s-%d.log", log_dir(), stamp, i);
		fd = open(*ret_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			f = fdopen(fd, "w");
			if (f)
				return f;
			close(fd);
		}
		free(*ret_path);
		*ret_path = NULL;
		if (errno != EEXIST)
			break;
	}
	return NULL;
}

int cmd_restore(int argc, char **argv)
{
	enum { OPT_DATA = 0x200, OPT_NO_DATA, OPT_MARKER, OPT_SINGLE_PASS };
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
	struct lb_plan_opts po = { .data = true };
	struct lb_restore_opts ro = { 0 };
	struct lb_manifest *m = NULL;
	struct lb_plan *p = NULL;
	_cleanup_free_ char *log_path = NULL, *instance = NULL;
	bool dry = false, yes = false, quick = false, full = false, single_pass = false;
	int c, code = LB_EXIT_USAGE, r;

	while ((c = getopt_long(argc, argv, "nyqfh", opts, NULL)) != -1) {
		r = lb_plan_opt(&po, c, optarg);
		if (r < 0) {
			lb_warn("restore: %s", lb_errmsg());
			goto out;
		}
		if (r > 0)
			continue;
		switch (c) {
		case 'n':
			dry = true;
			break;
		case 'y':
			yes = true;
			break;
		case 'q':
			quick = true;
			break;
		case 'f':
			full = true;
			break;
		case OPT_DATA:
			po.data = true;
			break;
		case OPT_NO_DATA:
			po.data = false;
			break;
		case OPT_MARKER:
			ro.marker = optarg;
			break;
		case OPT_SINGLE_PASS:
			single_pass = true;
			break;
		case 'h':
			help(stdout);
			code = LB_EXIT_OK;
			goto out;
		default:
			help(stderr);
			goto out;
		}
	}
	if (quick && full) {
		lb_warn("restore: --quick-format and --full-format exclude each other");
		goto out;
	}
	if (optind + 1 != argc) {
		lb_warn("restore: expects one CAPTURE");
		goto out;
	}
	/* one restore, capture or drill at a time; a dry run writes nothing */
	if (!dry && lb_lock_take("restore") < 0) {
		lb_warn("restore: %s; nothing was written", lb_errmsg());
		code = LB_EXIT_FAIL;
		goto out;
	}
	/* its temporary mounts die with it, killed or not */
	if (!dry && lb_mounts_private() < 0)
		lb_debug("restore", "%s", lb_errmsg());
	code = lb_plan_for("restore", argv[optind], &po, &m, &p);
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
	if (dry) {
		lb_warn("restore: dry run: nothing was written");
		goto out;
	}
	if (!lb_plan_writes(p) && !ro.marker) {
		bool held = false;

		for (size_t i = 0; i < p->n_disks; i++)
			if (p->disks[i].held_back) {
				lb_warn("restore: %s -> %s needs recreating: %s", p->disks[i].disk->id,
					p->disks[i].target->path, p->disks[i].why);
				held = true;
			}
		if (held) {
			code = LB_EXIT_FAIL;
			goto out;
		}
		lb_warn("restore: every disk is intact: nothing to do, nothing written");
		goto out;
	}
	{
		/* before the question and before any write: every data file,
		 * every byte against its SHA-256 (a damaged capture costs no
		 * disk); with --single-pass only its framing */
		bool any = false;

		for (size_t i = 0; i < p->n_vols; i++)
			any |= p->vols[i].action == LB_VOL_IMAGE || p->vols[i].extract;
		if (any) {
			lb_warn("restore: checking the capture's data files%s before anything is written",
				single_pass ? " (their framing: --single-pass)" : "");
			if (lb_plan_check_data(p, !single_pass) < 0) {
				for (size_t i = 0; i < p->n_problems; i++)
					printf("problem: %s\n", lb_esc(p->problems[i]));
				lb_warn("restore: refusing: the capture's data is damaged; nothing was written");
				code = LB_EXIT_FAIL;
				goto out;
			}
		}
	}
	if (!yes && !confirm()) {
		lb_warn("restore: not confirmed%s; nothing was written",
			isatty(STDIN_FILENO) ? "" : " (no terminal: pass --yes to restore unattended)");
		code = LB_EXIT_USAGE;
		goto out;
	}
	ro.quick = quick;
	ro.efi = true;
	ro.data = po.data;
	ro.log = open_log(&log_path);
	if (!ro.log)
		lb_warn("restore: cannot open a log under %s; going on without one", log_dir());
	r = lb_restore_run(p, &ro, log_path, &instance);
	if (ro.log)
		fclose(ro.log);
	if (r < 0) {
		lb_warn("restore: failed: %s", lb_errmsg());
		if (log_path)
			lb_warn("restore: the log is %s; running the same restore again finishes the job "
				"(a volume named as failed above: wipe it with wipefs -a first; a disk "
				"in use here: free it first)",
				log_path);
		code = LB_EXIT_FAIL;
		goto out;
	}
	lb_warn("restore: done%s%s", instance ? "; restore-session " : "", instance ? instance : "");
	code = LB_EXIT_OK;
out:
	lb_plan_free(p);
	lb_manifest_free(m);
	lb_plan_opts_clear(&po);
	return code;
}
