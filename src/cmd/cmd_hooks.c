// SPDX-License-Identifier: GPL-3.0-or-later
/* lifeboat hooks run [--config FILE] CAPTURE: the post-capture hooks again,
 * for a capture already in place (a copy to a server that failed). Their
 * records go to the capture's log, as at capture. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "manifest/manifest.h"
#include "ops/ops.h"
#include "cmd/cmd.h"


static void help(FILE *f)
{
	fputs("Usage: lifeboat hooks run [--config FILE] CAPTURE\n\n"
	      "Run the post-capture hooks of the configuration for CAPTURE (a capture\n"
	      "directory, or its manifest.xml), in order, up to the first that fails,\n"
	      "with LIFEBOAT_CAPTURE and LIFEBOAT_PHASE=post-capture in their\n"
	      "environment; their exit status and output go to CAPTURE/capture.log.\n\n"
	      "Options:\n"
	      "  -c, --config FILE   read FILE instead of " LB_CONFIG_FILE "\n"
	      "  -h, --help          show this help\n\n"
	      "Exit status: 0 every hook exited 0 (or there is none); 1 a hook failed,\n"
	      "timed out or could not run; 2 bad options or configuration, or CAPTURE\n"
	      "is not a capture.\n",
	      f);
}

/* The capture's directory, absolute with no link in it (latest resolved):
 * what a hook copies. */
static int capture_dir(const char *arg, char **ret)
{
	struct lb_manifest *m = NULL;
	char buf[PATH_MAX];
	int r = lb_manifest_load(arg, &m);

	if (r < 0)
		return r;
	if (!realpath(m->rt_dir, buf))
		r = lb_err(-errno, "%s: %s", m->rt_dir, strerror(errno));
	else
		*ret = lb_strdup(buf);
	lb_manifest_free(m);
	return r;
}

static int run(const char *config, const char *capture)
{
	struct lb_config cf = { 0 };
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int logfd = -1;
	int code = LB_EXIT_USAGE, r;

	if (lb_config_load(&cf, config) < 0) {
		lb_warn("hooks: %s", lb_errmsg());
		goto out;
	}
	if (capture_dir(capture, &dir) < 0) {
		lb_warn("hooks: %s", lb_errmsg());
		goto out;
	}
	code = LB_EXIT_OK;
	if (!cf.n_post) {
		lb_warn("hooks: no post-capture hooks in %s", config ? config : LB_CONFIG_FILE);
		goto out;
	}
	logfd = lb_log_open(dir);
	if (logfd < 0)
		lb_warn("hooks: %s (the hooks run all the same)", lb_errmsg());
	lb_log(logfd, "hooks run: post-capture");
	r = lb_hooks_run(cf.post, cf.n_post, "post-capture", dir,
			 cf.has_hook_timeout ? cf.hook_timeout : LB_HOOK_TIMEOUT_DEFAULT, logfd, false);
	lb_log(logfd, "post-capture hooks: %s", r < 0 ? "failed" : "ok");
	if (r < 0) {
		lb_warn("hooks: %s", lb_errmsg());
		code = LB_EXIT_FAIL;
	}
out:
	lb_config_clear(&cf);
	return code;
}

int cmd_hooks(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *config = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'h':
			help(stdout);
			return LB_EXIT_OK;
		default:
			help(stderr);
			return LB_EXIT_USAGE;
		}
	}
	if (optind >= argc || strcmp(argv[optind], "run") != 0) {
		lb_warn("hooks: expects 'run' and a CAPTURE; see 'lifeboat hooks --help'");
		return LB_EXIT_USAGE;
	}
	/* options may follow 'run' too */
	argc -= optind;
	argv += optind;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'h':
			help(stdout);
			return LB_EXIT_OK;
		default:
			help(stderr);
			return LB_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		lb_warn("hooks run: expects one CAPTURE");
		return LB_EXIT_USAGE;
	}
	return run(config, argv[optind]);
}
