// SPDX-License-Identifier: GPL-3.0-or-later
/* lifeboat mkrescue [--output FILE] [--kernel FILE] [--capture DIR] [--iso FILE]
 *                   [--cmdline ARGS] [--modules-dir DIR] [--compress zstd|gzip]
 *
 * options → find the modules → build the initramfs → (the ISO) → summary. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "rescue/rescue.h"
#include "cmd/cmd.h"

#define DEFAULT_OUTPUT "/var/lib/lifeboat/rescue/lifeboat-rescue.img"

static void help(FILE *f)
{
	fputs("Usage: lifeboat mkrescue [--output FILE] [--kernel FILE] [--capture DIR]\n"
	      "                         [--iso FILE] [--cmdline ARGS]\n\n"
	      "Build the rescue initramfs: busybox, lifeboat with every library it loads,\n"
	      "the mkfs and fsck programs a restore runs, storage and filesystem drivers\n"
	      "for the kernel it boots with, and an /init that finds a capture, shows\n"
	      "the plan and restores (unattended with lifeboat.restore=auto on the\n"
	      "kernel command line). Optionally a hybrid BIOS/UEFI ISO around it.\n\n"
	      "Options:\n"
	      "  -o, --output FILE       the initramfs (default " DEFAULT_OUTPUT ",\n"
	      "                          or none with --iso alone)\n"
	      "  -k, --kernel FILE       the kernel the image boots (a vmlinuz file or a\n"
	      "                          version): its /lib/modules go in; default: the\n"
	      "                          running kernel\n"
	      "  -c, --capture DIR       embed this capture as /lifeboat/<name>/\n"
	      "  -i, --iso FILE          also write a hybrid ISO (BIOS and UEFI, GRUB)\n"
	      "      --cmdline ARGS      kernel arguments for the ISO's boot menu, e.g.\n"
	      "                          'lifeboat.restore=auto'\n"
	      "      --modules-dir DIR   the image's modules (default: initramfs/ beside\n"
	      "                          the binary, or share/lifeboat/initramfs)\n"
	      "      --compress ALG      zstd (default) or gzip\n"
	      "  -h, --help              show this help\n",
	      f);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct mk_args {
	struct lb_rescue_opts ro;
	char *output, *modules_dir;
	const char *iso, *cmdline;
};

/* The options into a; LB_EXIT_OK to go on, else the exit code (--help
 * included). */
static int parse(int argc, char **argv, struct mk_args *a, bool *done)
{
	enum { OPT_CMDLINE = 0x200, OPT_MODULES_DIR, OPT_COMPRESS };
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "capture", required_argument, NULL, 'c' },
		{ "iso", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, OPT_CMDLINE },
		{ "modules-dir", required_argument, NULL, OPT_MODULES_DIR },
		{ "compress", required_argument, NULL, OPT_COMPRESS },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	*done = true;
	while ((c = getopt_long(argc, argv, "o:k:c:i:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			free(a->output);
			a->output = lb_strdup(optarg);
			break;
		case 'k':
			a->ro.kernel = optarg;
			break;
		case 'c':
			a->ro.capture = optarg;
			break;
		case 'i':
			a->iso = optarg;
			break;
		case OPT_CMDLINE:
			a->cmdline = optarg;
			break;
		case OPT_MODULES_DIR:
			free(a->modules_dir);
			a->modules_dir = lb_strdup(optarg);
			break;
		case OPT_COMPRESS:
			if (strcmp(optarg, "zstd") && strcmp(optarg, "gzip")) {
				lb_warn("mkrescue: --compress %s: expected zstd or gzip", optarg);
				return LB_EXIT_USAGE;
			}
			a->ro.compress = optarg;
			break;
		case 'h':
			help(stdout);
			return LB_EXIT_OK;
		default:
			help(stderr);
			return LB_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		lb_warn("mkrescue: unexpected argument '%s'", argv[optind]);
		return LB_EXIT_USAGE;
	}
	if (a->cmdline && !a->iso) {
		lb_warn("mkrescue: --cmdline is for the ISO's boot menu: give --iso too (for PXE, put "
			"the arguments in the boot loader's configuration)");
		return LB_EXIT_USAGE;
	}
	*done = false;
	return LB_EXIT_OK;
}

/* Where the initramfs goes: --output, a scratch file beside an ISO (in
 * tmpl, *tmpdir set), or the default path (its directory made). */
static int choose_output(struct mk_args *a, char *tmpl, bool *tmpdir)
{
	_cleanup_free_ char *outdir = NULL;
	int r;

	if (a->output)
		return 0;
	if (a->iso) {
		if (!mkdtemp(tmpl))
			return lb_err(-errno, "cannot make a temporary directory: %s", strerror(errno));
		*tmpdir = true;
		a->output = lb_asprintf("%s/initrd.img", tmpl);
		return 0;
	}
	a->output = lb_strdup(DEFAULT_OUTPUT);
	outdir = lb_strdup(a->output);
	*strrchr(outdir, '/') = '\0';
	r = lb_mkdir_p(outdir, 0755);
	if (r < 0)
		return lb_err(r, "cannot create %s: %s", outdir, strerror(-r));
	return 0;
}

static void say_stats(const struct lb_rescue_stats *st, const char *modules_dir, double secs)
{
	for (size_t i = 0; i < st->n_notes; i++)
		lb_warn("mkrescue: note: %s", st->notes[i]);
	lb_warn("mkrescue: kernel %s: %zu modules of %s, %zu drivers, %zu programs, %zu files; "
		"%.1f MiB, %.1f MiB with %s, in %.1f s",
		st->kver, st->n_applied, modules_dir, st->n_kmods, st->n_programs, st->n_files,
		(double)st->bytes / 1048576.0, (double)st->compressed / 1048576.0, st->compression, secs);
	if (st->capture)
		lb_warn("mkrescue: capture embedded at %s", st->capture);
}

int cmd_mkrescue(int argc, char **argv)
{
	struct mk_args a = { 0 };
	struct lb_rescue_stats st = { 0 };
	_cleanup_free_ char *kver = NULL, *vmlinuz = NULL;
	char tmpl[] = "/tmp/lifeboat-rescue.XXXXXX";
	bool tmpdir = false, done;
	double t0 = now(), t1;
	int r, code = parse(argc, argv, &a, &done);

	if (done)
		goto out;
	code = LB_EXIT_FAIL;
	if (!a.modules_dir && lb_rescue_find_modules_dir(&a.modules_dir) < 0) {
		lb_warn("mkrescue: %s", lb_errmsg());
		goto out;
	}
	a.ro.modules_dir = a.modules_dir;
	if (a.iso) {
		r = lb_rescue_kernel(a.ro.kernel, &kver, &vmlinuz);
		if (r < 0) {
			lb_warn("mkrescue: %s", lb_errmsg());
			goto out;
		}
		if (access(vmlinuz, R_OK) < 0) {
			lb_warn("mkrescue: the ISO needs the kernel image %s: %s (name one with --kernel)",
				vmlinuz, strerror(errno));
			goto out;
		}
	}
	if (choose_output(&a, tmpl, &tmpdir) < 0) {
		lb_warn("mkrescue: %s", lb_errmsg());
		goto out;
	}
	a.ro.output = a.output;
	r = lb_rescue_build(&a.ro, &st);
	if (r < 0) {
		lb_warn("mkrescue: %s", lb_errmsg());
		goto out;
	}
	t1 = now();
	say_stats(&st, a.modules_dir, t1 - t0);
	if (!tmpdir)
		printf("%s\n", a.output);
	if (a.iso) {
		r = lb_rescue_make_iso(a.iso, vmlinuz, a.output, a.cmdline);
		if (r < 0) {
			lb_warn("mkrescue: %s", lb_errmsg());
			goto out;
		}
		lb_warn("mkrescue: ISO %s (kernel %s) in %.1f s", a.iso, vmlinuz, now() - t1);
		printf("%s\n", a.iso);
	}
	code = LB_EXIT_OK;
out:
	if (tmpdir)
		lb_rm_rf(tmpl);
	lb_rescue_stats_clear(&st);
	free(a.output);
	free(a.modules_dir);
	return code;
}
