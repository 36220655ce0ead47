/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Running a program (spawn.c): the one place lifeboat starts a child.
 * No shell ever sees an argument: argv goes to the program as it is,
 * found on PATH when argv[0] has no slash.
 */
#ifndef LIFEBOAT_BASE_SPAWN_H
#define LIFEBOAT_BASE_SPAWN_H

#include <stdbool.h>
#include <stddef.h>

struct lb_spawn_opts {
	/* stdout and stderr to /dev/null (unless captured) */
	bool quiet;
	/* the child's stdout into *ret_out (NUL-terminated, length in
	 * *ret_out_len when that is not NULL); with also_stderr, its stderr
	 * too, interleaved as written */
	char **ret_out;
	size_t *ret_out_len;
	bool also_stderr;
	/* stdin: from this file, or else this fd (0, the default: ours;
	 * < 0: /dev/null) */
	const char *stdin_path;
	int stdin_fd;
	/* the child's environment (NULL: ours) */
	char *const *envp;
	/* a process group of its own, so that a timeout ends what it started
	 * too; signals unblocked and at their defaults */
	bool new_pgroup;
	/* seconds (0: none): then SIGTERM to it (its group with new_pgroup),
	 * SIGKILL 5 s later; the return is -ETIMEDOUT and *ret_timed_out
	 * (when not NULL) true */
	unsigned timeout;
	bool *ret_timed_out;
	/* with ret_out: keep at most this many bytes (0: all), the rest is
	 * read and dropped, *ret_truncated (when not NULL) says so. With a
	 * timeout or out_max, the output is returned however the child ended
	 * (free it then too) */
	size_t out_max;
	bool *ret_truncated;
};

/* Runs ARGV and waits for it (or, with a timeout, until the time is up). O may be NULL: all defaults (stdin ours,
 * stdout to our stderr, since our stdout is for results; stderr ours).
 * Returns its exit status (>= 0), or -errno with lb_err() said when it
 * could not run (-ENOENT: no such program) or was killed by a signal
 * (-EINTR). The child is killed (SIGKILL) when lifeboat dies. */
int lb_spawn(char *const argv[], const struct lb_spawn_opts *o);

/* lb_spawn with the default options, quiet or not; an exit status of 127
 * (a shell's "not found") is -ENOENT too. */
int lb_run(char *const argv[], bool quiet);

#endif
