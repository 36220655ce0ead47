// SPDX-License-Identifier: GPL-3.0-or-later
/* lifeboat capture [--config FILE] [--output DIR | --into DIR [--keep N]]
 *                  [--disk DEV]... [--exclude-disk DEV]...
 *                  [--data none|auto|image|archive] [--compress L]
 *                  [--encrypt --key-file FILE]
 *
 * Options over the configuration file, then one call: lb_capture_run
 * (src/ops/capture.c) writes the capture beside its destination, verifies
 * it and renames it into place. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"
#include "model/model.h"
#include "disk/disk.h"
#include "data/data.h"
#include "ops/ops.h"
#include "cmd/cmd.h"

#define HELP_SHOWN (-1)

static void help(FILE *f)
{
	fputs("Usage: lifeboat capture [--config FILE] [--output DIR | --into DIR [--keep N]]\n"
	      "                        [--disk DEV]... [--exclude-disk DEV]...\n"
	      "                        [--data none|auto|image|archive] [--compress L]\n"
	      "                        [--encrypt --key-file FILE]\n\n"
	      "Record this machine's disks (partition tables, identities, volumes, boot\n"
	      "configuration) into a capture directory holding manifest.xml.\n\n"
	      "Options:\n"
	      "  -c, --config FILE         read FILE instead of " LB_CONFIG_FILE "\n"
	      "  -o, --output DIR          write the capture to DIR (must not exist or be\n"
	      "                            empty)\n"
	      "  -i, --into DIR            write it to DIR/<UTC time>/ and point DIR/latest\n"
	      "                            at it once it verified; default\n"
	      "                            " LB_CAPTURES_DIR "\n"
	      "  -k, --keep N              with --into: keep the N newest good captures,\n"
	      "                            remove older ones\n"
	      "  -d, --disk DEV            capture only DEV (repeatable); default: every\n"
	      "                            fixed disk; loop devices only when named\n"
	      "  -x, --exclude-disk DEV    record DEV as not selected (repeatable)\n"
	      "      --data MODE           volume data: auto (default: image for unmounted\n"
	      "                            or read-only volumes, archive for mounted ones),\n"
	      "                            image (used blocks), archive (files), none\n"
	      "      --compress LEVEL      zstd level 1-19 (default 1), or none\n"
	      "      --encrypt             encrypt every data file and artifact (AES-256-GCM,\n"
	      "                            the key by argon2id from --key-file); the\n"
	      "                            manifest stays readable\n"
	      "      --key-file FILE       the key (or passphrase) for --encrypt: the whole\n"
	      "                            file\n"
	      "  -h, --help                show this help\n",
	      f);
}

enum {
	OPT_DATA = 0x100,
	OPT_COMPRESS,
	OPT_ENCRYPT,
	OPT_KEY_FILE,
};

/* What the command line said; NULL or empty: not said. */
struct args {
	const char *config, *output, *into, *keep, *data, *compress;
	char **disks;
	size_t n_disks;
	char **exclude;
	size_t n_exclude;
	bool encrypt;
	char **key_files;
	size_t n_key_files;
};

static void add(char ***list, size_t *n, char *s)
{
	*list = lb_realloc_array(*list, *n + 1, sizeof(char *));
	(*list)[(*n)++] = s;
}

/* LB_EXIT_OK to go on, else the exit code. */
static int parse(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "into", required_argument, NULL, 'i' },
		{ "keep", required_argument, NULL, 'k' },
		{ "disk", required_argument, NULL, 'd' },
		{ "exclude-disk", required_argument, NULL, 'x' },
		{ "data", required_argument, NULL, OPT_DATA },
		{ "compress", required_argument, NULL, OPT_COMPRESS },
		{ "encrypt", no_argument, NULL, OPT_ENCRYPT },
		{ "key-file", required_argument, NULL, OPT_KEY_FILE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:o:i:k:d:x:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->config = optarg; break;
		case 'o': a->output = optarg; break;
		case 'i': a->into = optarg; break;
		case 'k': a->keep = optarg; break;
		case 'd': add(&a->disks, &a->n_disks, optarg); break;
		case 'x': add(&a->exclude, &a->n_exclude, optarg); break;
		case OPT_DATA: a->data = optarg; break;
		case OPT_COMPRESS: a->compress = optarg; break;
		case OPT_ENCRYPT: a->encrypt = true; break;
		case OPT_KEY_FILE: add(&a->key_files, &a->n_key_files, optarg); break;
		case 'h':
			help(stdout);
			return HELP_SHOWN;
		default:
			help(stderr);
			return LB_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		lb_warn("capture: unexpected argument '%s'", argv[optind]);
		return LB_EXIT_USAGE;
	}
	if (a->output && a->into) {
		lb_warn("capture: --output and --into exclude each other");
		return LB_EXIT_USAGE;
	}
	if (a->keep && a->output) {
		lb_warn("capture: --keep goes with --into, not --output");
		return LB_EXIT_USAGE;
	}
	return LB_EXIT_OK;
}

/* The command line over the file over the defaults, into req. */
static int settle(const struct args *a, const struct lb_config *cf, struct lb_capture_req *req,
		  struct lb_scan_opts *so, struct lb_data_opts *dopts)
{
	const char *keep = a->keep, *compress = a->compress ? a->compress : cf->compress;

	if (a->output || a->into) {
		req->output = a->output;
		req->into = a->into;
	} else if (cf->output && cf->into) {
		lb_warn("capture: %s sets both output and into", a->config ? a->config : LB_CONFIG_FILE);
		return LB_EXIT_USAGE;
	} else {
		req->output = cf->output;
		req->into = cf->output ? NULL : cf->into ? cf->into : LB_CAPTURES_DIR;
	}
	if (keep && (lb_parse_u32(keep, &req->keep) < 0 || req->keep < 1)) {
		lb_warn("capture: --keep %s: expected a number of captures, at least 1", keep);
		return LB_EXIT_USAGE;
	}
	if (!keep && req->into && cf->has_keep)
		req->keep = cf->keep;
	req->data_mode = a->data ? a->data : cf->data ? cf->data : "auto";
	if (lb_data_mode_parse(req->data_mode, &dopts->mode) < 0) {
		lb_warn("capture: --data %s: expected none, auto, image or archive", req->data_mode);
		return LB_EXIT_USAGE;
	}
	if (compress && lb_parse_compress(compress, &dopts->level) < 0) {
		lb_warn("capture: --compress %s: expected 1-19 or none", compress);
		return LB_EXIT_USAGE;
	}
	if (a->encrypt || (cf->has_encrypt && cf->encrypt)) {
		char **keys = a->n_key_files ? a->key_files : cf->key_files;
		size_t n = a->n_key_files ? a->n_key_files : cf->n_key_files;

		if (n != 1) {
			lb_warn("capture: --encrypt takes one --key-file FILE (%zu given)", n);
			return LB_EXIT_USAGE;
		}
		req->key_file = keys[0];
	} else if (a->n_key_files) {
		lb_warn("capture: --key-file goes with --encrypt");
		return LB_EXIT_USAGE;
	}
	so->disks = a->n_disks ? a->disks : cf->disks;
	so->n_disks = a->n_disks ? a->n_disks : cf->n_disks;
	so->exclude = a->n_exclude ? a->exclude : cf->exclude;
	so->n_exclude = a->n_exclude ? a->n_exclude : cf->n_exclude;
	req->pre = cf->pre;
	req->n_pre = cf->n_pre;
	req->post = cf->post;
	req->n_post = cf->n_post;
	req->hook_timeout = cf->has_hook_timeout ? cf->hook_timeout : LB_HOOK_TIMEOUT_DEFAULT;
	req->pre_continue = cf->has_pre_continue && cf->pre_continue;
	return LB_EXIT_OK;
}

/* Under systemd: the entry with the MESSAGE_ID for success or failure
 * (lifeboat-systemd(7)); the reason is what the last warning said. */
static void journal_end(int code, const struct lb_capture_result *res)
{
	const char *why = lb_term_last_warning();

	if (code == LB_EXIT_OK) {
		lb_journal_capture_ok(res->dir, res->n_disks, res->n_volumes);
		return;
	}
	if (!*why)
		why = code == LB_EXIT_USAGE ? "bad usage (see lifeboat capture --help)" : "unknown error";
	lb_journal_capture_failed(res->dir, why, code);
}

int cmd_capture(int argc, char **argv)
{
	struct args a = { 0 };
	struct lb_config cf = { 0 };
	struct lb_scan_opts so = { 0 };
	struct lb_data_opts dopts = { .mode = LB_DATA_AUTO, .level = 1, .report = true };
	struct lb_capture_req req = { .scan = &so, .data = &dopts };
	struct lb_capture_result res = { 0 };
	bool ran = false;	/* not just --help: the journal hears how it ended */
	int code, r;

	code = parse(argc, argv, &a);
	if (code == HELP_SHOWN) {
		code = LB_EXIT_OK;
		goto out;
	}
	ran = true;
	if (code != LB_EXIT_OK)
		goto out;
	if (lb_config_load(&cf, a.config) < 0) {
		lb_warn("capture: %s", lb_errmsg());
		code = LB_EXIT_USAGE;
		goto out;
	}
	code = settle(&a, &cf, &req, &so, &dopts);
	if (code != LB_EXIT_OK)
		goto out;

	/* one restore, capture or drill at a time */
	if (lb_lock_take("capture") < 0) {
		lb_warn("capture: %s; nothing was written", lb_errmsg());
		code = LB_EXIT_FAIL;
		goto out;
	}
	/* its temporary mounts die with it, killed or not */
	if (lb_mounts_private() < 0)
		lb_debug("capture", "%s", lb_errmsg());
	umask(077);
	r = lb_capture_run(&req, &res);
	if (r < 0)
		lb_warn("capture: %s", lb_errmsg());
	if (!res.dir) {
		code = res.usage ? LB_EXIT_USAGE : LB_EXIT_FAIL;
		goto out;
	}
	fprintf(stderr, "lifeboat: captured %zu disk%s and %u volume%s\n", res.n_disks,
		res.n_disks == 1 ? "" : "s", res.n_volumes, res.n_volumes == 1 ? "" : "s");
	printf("%s\n", res.dir);
	code = res.late_failure ? LB_EXIT_FAIL : LB_EXIT_OK;
out:
	if (ran)
		journal_end(code, &res);
	lb_capture_result_clear(&res);
	lb_config_clear(&cf);
	free(a.disks);
	free(a.exclude);
	free(a.key_files);
	return code;
}
