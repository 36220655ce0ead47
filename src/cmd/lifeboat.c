// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * lifeboat: the command table and dispatch.
 *
 * Adding a command: write src/cmd/cmd_NAME.c with int cmd_NAME(int, char **)
 * (parse options with getopt_long, print --help, return an LB_EXIT_ code),
 * declare it in src/cmd/cmd.h, add it to commands[] below, add
 * man/lifeboat-NAME.8 and tests under tests/.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "cmd/cmd.h"

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "capture", cmd_capture, "record this machine's disks into a capture directory" },
	{ "show", cmd_show, "print a capture's disks, volumes and boot configuration" },
	{ "compare", cmd_compare, "match a capture's disks to this machine's and print the plan" },
	{ "restore", cmd_restore, "recreate this machine's disks from a capture" },
	{ "drill", cmd_drill, "rehearse a restore on loop devices over sparse files" },
	{ "mkrescue", cmd_mkrescue, "build the rescue initramfs (and ISO)" },
	{ "verify", cmd_verify, "check a capture's manifest and artifacts without touching a disk" },
};

static void usage(FILE *f)
{
	fputs("Usage: lifeboat COMMAND [OPTIONS] [ARGS]\n"
	      "       lifeboat --help | --version\n\n"
	      "Bare-metal system recovery: capture a machine's disks, restore them exactly.\n\n"
	      "Commands:\n",
	      f);
	for (size_t i = 0; i < LB_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\nRun 'lifeboat COMMAND --help' for a command's options; see lifeboat(8).\n", f);
}

/* Checks for write errors on stdout, as git does: a full disk or a closed
 * pipe must not look like success. */
static int finish_stdout(int code)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE)
			fprintf(stderr, "lifeboat: write error on standard output: %s\n", strerror(errno));
		return code ? code : LB_EXIT_FAIL;
	}
	return code;
}

int main(int argc, char **argv)
{
	const char *cmd;

	lb_term_install();
	if (argc < 2) {
		usage(stderr);
		return LB_EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return finish_stdout(LB_EXIT_OK);
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		printf("lifeboat %s (manifest format %d)\n", LB_VERSION, LB_MANIFEST_FORMAT);
		return finish_stdout(LB_EXIT_OK);
	}
	for (size_t i = 0; i < LB_ARRAY_SIZE(commands); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return finish_stdout(commands[i].fn(argc - 1, argv + 1));
	fprintf(stderr, "lifeboat: '%s' is not a lifeboat command; see 'lifeboat --help'\n", cmd);
	return LB_EXIT_USAGE;
}
