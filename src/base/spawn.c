// SPDX-License-Identifier: GPL-3.0-or-later
/* The one process-spawn helper: posix_spawn (vfork and exec, errors of
 * exec reported to the parent), file actions for the child's stdin,
 * stdout and stderr, a pipe read to its end when the output is wanted. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base.h"

extern char **environ;

static void trace_argv(char *const argv[])
{
	char line[1024] = "";

	if (!getenv("LIFEBOAT_DEBUG"))
		return;
	for (size_t i = 0; argv[i]; i++) {
		strncat(line, i ? " " : "", sizeof(line) - strlen(line) - 1);
		strncat(line, argv[i], sizeof(line) - strlen(line) - 1);
	}
	lb_debug("run", "%s", line);
}

/* The child's fds 0, 1 and 2, as O asks; OUT_FD is the write end of the
 * capture pipe, or -1. */
static int file_actions(posix_spawn_file_actions_t *fa, const struct lb_spawn_opts *o, int out_fd)
{
	int r = 0;

	if (o->stdin_path)
		r = posix_spawn_file_actions_addopen(fa, 0, o->stdin_path, O_RDONLY, 0);
	else if (o->stdin_fd < 0)
		r = posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
	else if (o->stdin_fd > 0)
		r = posix_spawn_file_actions_adddup2(fa, o->stdin_fd, 0);
	if (r)
		return -r;
	if (out_fd >= 0)
		r = posix_spawn_file_actions_adddup2(fa, out_fd, 1);
	else if (o->quiet)
		r = posix_spawn_file_actions_addopen(fa, 1, "/dev/null", O_WRONLY, 0);
	else
		r = posix_spawn_file_actions_adddup2(fa, 2, 1);
	if (r)
		return -r;
	if (out_fd >= 0 && o->also_stderr)
		r = posix_spawn_file_actions_adddup2(fa, out_fd, 2);
	else if (o->quiet)
		r = posix_spawn_file_actions_addopen(fa, 2, "/dev/null", O_WRONLY, 0);
	return -r;
}

/* Reads FD to its end into *RET (NUL-terminated). */
static int read_all(int fd, char **ret, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 16384;
			buf = lb_realloc_array(buf, cap, 1);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			free(buf);
			return err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret = buf;
	if (ret_len)
		*ret_len = len;
	return 0;
}

static int wait_child(pid_t pid, const char *name)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return lb_err(-errno, "waiting for %s: %s", name, strerror(errno));
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return lb_err(-EINTR, "%s was killed by signal %d", name, WTERMSIG(status));
}

int lb_spawn(char *const argv[], const struct lb_spawn_opts *o)
{
	static const struct lb_spawn_opts defaults = { 0 };
	posix_spawn_file_actions_t fa;
	_cleanup_free_ char *out = NULL;
	size_t out_len = 0;
	int pipefd[2] = { -1, -1 }, r, rr;
	pid_t pid;

	if (!o)
		o = &defaults;
	trace_argv(argv);
	if (o->ret_out && pipe2(pipefd, O_CLOEXEC) < 0)
		return lb_err(-errno, "cannot make a pipe for %s: %s", argv[0], strerror(errno));
	if (posix_spawn_file_actions_init(&fa))
		abort();
	r = file_actions(&fa, o, pipefd[1]);
	if (r < 0) {
		r = lb_err(r, "cannot set up %s's input and output: %s", argv[0], strerror(-r));
		goto out;
	}
	fflush(stdout);
	fflush(stderr);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	if (r) {
		r = lb_err(-r, "cannot run %s: %s", argv[0], strerror(r));
		goto out;
	}
	if (pipefd[1] >= 0) {
		close(pipefd[1]);
		pipefd[1] = -1;
		rr = read_all(pipefd[0], &out, &out_len);
		r = wait_child(pid, argv[0]);
		if (rr < 0 && r >= 0)
			r = lb_err(rr, "reading the output of %s: %s", argv[0], strerror(-rr));
		if (r >= 0) {
			*o->ret_out = TAKE_PTR(out);
			if (o->ret_out_len)
				*o->ret_out_len = out_len;
		}
	} else {
		r = wait_child(pid, argv[0]);
	}
out:
	posix_spawn_file_actions_destroy(&fa);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	return r;
}

int lb_run(char *const argv[], bool quiet)
{
	struct lb_spawn_opts o = { .quiet = quiet };
	int r = lb_spawn(argv, &o);

	if (r == -ENOENT || r == 127)
		return lb_err(-ENOENT, "%s could not be run (is it installed?)", argv[0]);
	return r;
}
