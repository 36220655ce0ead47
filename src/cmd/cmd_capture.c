// SPDX-License-Identifier: GPL-3.0-or-later
/* lifeboat capture [--output DIR] [--disk DEV]... [--exclude-disk DEV]...
 *                  [--data none|auto|image|archive]
 *
 * Scan, write the artifacts and the manifest into a temporary directory
 * beside the destination, check the manifest reads back, then rename it into
 * place: a failed capture never leaves something that looks complete. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "manifest/manifest.h"
#include "disk/disk.h"
#include "data/data.h"
#include "cmd/cmd.h"

#define DEFAULT_ROOT "/var/lib/lifeboat/captures"

static void help(FILE *f)
{
	fputs("Usage: lifeboat capture [--output DIR] [--disk DEV]... [--exclude-disk DEV]...\n"
	      "                        [--data none|auto|image|archive]\n\n"
	      "Record this machine's disks (partition tables, identities, volumes, boot\n"
	      "configuration) into a capture directory holding manifest.xml.\n\n"
	      "Options:\n"
	      "  -o, --output DIR          write the capture to DIR (must not exist or be\n"
	      "                            empty); default " DEFAULT_ROOT "/<UTC time>\n"
	      "                            with a 'latest' link beside it\n"
	      "  -d, --disk DEV            capture only DEV (repeatable); default: every\n"
	      "                            fixed disk; loop devices only when named\n"
	      "  -x, --exclude-disk DEV    record DEV as not selected (repeatable)\n"
	      "      --data MODE           volume data: auto (default: image for unmounted\n"
	      "                            or read-only volumes, archive for mounted ones),\n"
	      "                            image (used blocks), archive (files), none\n"
	      "      --compress LEVEL      zstd level 1-19 (default 1), or none\n"
	      "  -h, --help                show this help\n",
	      f);
}

static int prepare_dest(const char *dest, bool *ret_exists)
{
	struct stat st;

	*ret_exists = false;
	if (lstat(dest, &st) < 0)
		return errno == ENOENT ? 0 : lb_err(-errno, "%s: %s", dest, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return lb_err(-EEXIST, "%s exists and is not a directory", dest);
	if (rmdir(dest) < 0) {
		if (errno == ENOTEMPTY || errno == EEXIST)
			return lb_err(-EEXIST, "%s is not empty: will not overwrite a capture", dest);
		return lb_err(-errno, "%s: %s", dest, strerror(errno));
	}
	*ret_exists = true;
	return 0;
}

static int update_latest(const char *root, const char *name)
{
	_cleanup_free_ char *tmp = lb_asprintf("%s/.latest.tmp", root);
	_cleanup_free_ char *link = lb_asprintf("%s/latest", root);

	unlink(tmp);
	if (symlink(name, tmp) < 0 || rename(tmp, link) < 0)
		return lb_err(-errno, "%s: cannot update: %s", link, strerror(errno));
	return 0;
}

static unsigned count_volumes_cb(struct lb_disk *d, struct lb_partition *p, struct lb_volume *v,
				 void *ud)
{
	(void)d;
	(void)p;
	(void)v;
	(*(unsigned *)ud)++;
	return 0;
}

int cmd_capture(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "disk", required_argument, NULL, 'd' },
		{ "exclude-disk", required_argument, NULL, 'x' },
		{ "data", required_argument, NULL, 'D' },
		{ "compress", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct lb_scan_opts so = { 0 };
	struct lb_manifest *m = NULL, *check = NULL;
	_cleanup_free_ char *dest = NULL, *tmp = NULL, *root = NULL, *mpath = NULL, *buf = NULL;
	const char *output = NULL, *data = "auto";
	struct lb_data_opts dopts = { .mode = LB_DATA_AUTO, .level = 1, .report = true };
	bool existed = false, default_dest = false;
	unsigned nvol = 0;
	size_t len = 0;
	int c, r, code = LB_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "o:d:x:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'd':
			so.disks = lb_realloc_array(so.disks, so.n_disks + 1, sizeof(char *));
			so.disks[so.n_disks++] = optarg;
			break;
		case 'x':
			so.exclude = lb_realloc_array(so.exclude, so.n_exclude + 1, sizeof(char *));
			so.exclude[so.n_exclude++] = optarg;
			break;
		case 'D':
			data = optarg;
			break;
		case 'C':
			if (strcmp(optarg, "none") == 0) {
				dopts.level = 0;
			} else {
				uint32_t lvl;

				if (lb_parse_u32(optarg, &lvl) < 0 || lvl < 1 || lvl > 19) {
					lb_warn("capture: --compress %s: expected 1-19 or none", optarg);
					code = LB_EXIT_USAGE;
					goto out;
				}
				dopts.level = (int)lvl;
			}
			break;
		case 'h':
			help(stdout);
			code = LB_EXIT_OK;
			goto out;
		default:
			help(stderr);
			code = LB_EXIT_USAGE;
			goto out;
		}
	}
	if (optind != argc) {
		lb_warn("capture: unexpected argument '%s'", argv[optind]);
		code = LB_EXIT_USAGE;
		goto out;
	}
	if (lb_data_mode_parse(data, &dopts.mode) < 0) {
		lb_warn("capture: --data %s: expected none, auto, image or archive", data);
		code = LB_EXIT_USAGE;
		goto out;
	}

	/* one restore, capture or drill at a time */
	if (lb_lock_take("capture") < 0) {
		lb_warn("capture: %s; nothing was written", lb_errmsg());
		goto out;
	}
	/* its temporary mounts die with it, killed or not */
	if (lb_mounts_private() < 0)
		lb_debug("capture", "%s", lb_errmsg());
	umask(077);
	if (output) {
		/* absolute, so archives can leave the capture out wherever it is */
		if (output[0] != '/') {
			char cwd[PATH_MAX];

			if (!getcwd(cwd, sizeof(cwd))) {
				lb_warn("capture: cannot tell the working directory: %s", strerror(errno));
				goto out;
			}
			dest = lb_asprintf("%s/%s", cwd, output);
		} else {
			dest = lb_strdup(output);
		}
		while (strlen(dest) > 1 && dest[strlen(dest) - 1] == '/')
			dest[strlen(dest) - 1] = '\0';
		_cleanup_free_ char *copy = lb_strdup(dest);
		root = lb_strdup(dirname(copy));
	} else {
		char stamp[32];
		time_t t = time(NULL);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
		root = lb_strdup(DEFAULT_ROOT);
		dest = lb_asprintf("%s/%s", root, stamp);
		for (int i = 2; access(dest, F_OK) == 0 && i < 100; i++) {
			free(dest);
			dest = lb_asprintf("%s/%s-%d", root, stamp, i);
		}
		default_dest = true;
	}
	r = lb_mkdir_p(root, 0700);
	if (r < 0) {
		lb_warn("capture: cannot create %s: %s", root, strerror(-r));
		goto out;
	}
	r = prepare_dest(dest, &existed);
	if (r < 0) {
		lb_warn("capture: %s", lb_errmsg());
		code = LB_EXIT_USAGE;
		goto out;
	}
	tmp = lb_asprintf("%s/.%s.partial.%d", root, strrchr(dest, '/') ? strrchr(dest, '/') + 1 : dest,
			  (int)getpid());
	if (mkdir(tmp, 0700) < 0) {
		lb_warn("capture: cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}

	so.outdir = tmp;
	r = lb_scan(&so, &m);
	if (r < 0) {
		lb_warn("capture: %s", lb_errmsg());
		code = so.bad_args ? LB_EXIT_USAGE : LB_EXIT_FAIL;
		goto fail;
	}
	free(m->data_mode);
	m->data_mode = lb_strdup(data);
	dopts.outdir = tmp;
	dopts.final_dir = dest;
	r = lb_data_capture(m, &dopts);
	if (r < 0) {
		lb_warn("capture: %s", lb_errmsg());
		code = r == -EBUSY ? LB_EXIT_USAGE : LB_EXIT_FAIL;
		goto fail;
	}
	for (size_t i = 0; i < m->n_rt_warnings; i++)
		lb_warn("capture: warning: %s", m->rt_warnings[i]);
	for (size_t i = 0; m->system && i < m->system->n_notes; i++)
		lb_warn("capture: note: %s", lb_esc(m->system->notes[i]));

	/* what is written must read back and validate, or it is no capture */
	r = lb_manifest_write_mem(m, &buf, &len);
	if (r >= 0)
		r = lb_manifest_load_mem(buf, len, LB_MANIFEST_NAME, &check);
	if (r < 0) {
		lb_warn("capture: the manifest does not read back: %s", lb_errmsg());
		goto fail;
	}
	mpath = lb_asprintf("%s/%s", tmp, LB_MANIFEST_NAME);
	r = lb_write_file(mpath, buf, len, 0600);
	if (r < 0) {
		lb_warn("capture: cannot write %s: %s", mpath, strerror(-r));
		goto fail;
	}
	if (rename(tmp, dest) < 0) {
		lb_warn("capture: cannot move the capture into place at %s: %s", dest, strerror(errno));
		goto fail;
	}
	if (default_dest && update_latest(root, strrchr(dest, '/') + 1) < 0)
		lb_warn("capture: %s", lb_errmsg());

	lb_manifest_foreach_volume(m, (int (*)(struct lb_disk *, struct lb_partition *,
					       struct lb_volume *, void *))count_volumes_cb,
				   &nvol);
	fprintf(stderr, "lifeboat: captured %zu disk%s and %u volume%s\n", m->n_disks,
		m->n_disks == 1 ? "" : "s", nvol, nvol == 1 ? "" : "s");
	printf("%s\n", dest);
	code = LB_EXIT_OK;
	goto out;
fail:
	lb_rm_rf(tmp);
	if (existed)
		mkdir(dest, 0700);
out:
	lb_manifest_free(m);
	lb_manifest_free(check);
	free(so.disks);
	free(so.exclude);
	return code;
}
