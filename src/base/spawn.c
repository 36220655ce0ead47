// SPDX-License-Identifier: GPL-3.0-or-later
/* The one process-spawn helper: fork and exec, the child's stdin, stdout
 * and stderr set up between the two, exec's error sent back to the parent
 * through a close-on-exec pipe, a pipe read to its end when the output is
 * wanted. Each child dies with lifeboat (PR_SET_PDEATHSIG, SIGKILL): a
 * lifeboat killed with SIGKILL leaves no mkfs, sfdisk or hook running on.
 * (The signal comes when the thread that forked ends; lb_spawn waits for
 * its child in that thread, so that is never before lifeboat ends.) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
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

/* Makes fd the child's fd target (the child's side of a fork). */
static int put_fd(int fd, int target)
{
	if (fd == target)
		return fcntl(fd, F_SETFD, 0) < 0 ? -errno : 0;
	return dup2(fd, target) < 0 ? -errno : 0;
}

static int put_file(const char *path, int flags, int target)
{
	int fd = open(path, flags | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = put_fd(fd, target);
	close(fd);
	return r;
}

/* The child's fds 0, 1 and 2, as O asks; OUT_FD is the write end of the
 * capture pipe, or -1. In the child: async-signal-safe calls only. */
static int child_fds(const struct lb_spawn_opts *o, int out_fd)
{
	int r = 0;

	if (o->stdin_path)
		r = put_file(o->stdin_path, O_RDONLY, 0);
	else if (o->stdin_fd < 0)
		r = put_file("/dev/null", O_RDONLY, 0);
	else if (o->stdin_fd > 0)
		r = put_fd(o->stdin_fd, 0);
	if (r < 0)
		return r;
	if (out_fd >= 0)
		r = put_fd(out_fd, 1);
	else if (o->quiet)
		r = put_file("/dev/null", O_WRONLY, 1);
	else
		r = put_fd(2, 1);
	if (r < 0)
		return r;
	if (out_fd >= 0 && o->also_stderr)
		r = put_fd(out_fd, 2);
	else if (o->quiet)
		r = put_file("/dev/null", O_WRONLY, 2);
	return r;
}

/* A process group of its own, signals as a fresh program expects them
 * (in the child). */
static int child_pgroup(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;

	if (setpgid(0, 0) < 0)
		return -errno;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);	/* (fails on the libc's own: fine) */
	sigemptyset(&none);
	return sigprocmask(SIG_SETMASK, &none, NULL) < 0 ? -errno : 0;
}

/* The child: dies with its parent, fds and group as asked, the program;
 * what failed goes to errfd as an errno. */
static void __attribute__((noreturn))
child(char *const argv[], char *const envp[], const struct lb_spawn_opts *o, int out_fd, int errfd,
      pid_t parent)
{
	int r = 0;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		r = -errno;
	else if (getppid() != parent)
		_exit(127);	/* lifeboat died before the line above */
	if (r >= 0 && o->new_pgroup)
		r = child_pgroup();
	if (r >= 0)
		r = child_fds(o, out_fd);
	if (r >= 0) {
		execvpe(argv[0], argv, envp);
		r = -errno;
	}
	r = -r;
	if (write(errfd, &r, sizeof(r)) < 0)
		_exit(127);
	_exit(127);
}

/* Starts argv: its pid, or -errno when it could not be run (exec's error
 * too). */
static pid_t start(char *const argv[], const struct lb_spawn_opts *o, int out_fd)
{
	char *const *envp = o->envp ? o->envp : environ;
	pid_t parent = getpid(), pid;
	int errpipe[2], e = 0;
	ssize_t n;

	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return -errno;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		e = errno;
		close(errpipe[0]);
		close(errpipe[1]);
		return -e;
	}
	if (pid == 0) {
		close(errpipe[0]);
		child(argv, envp, o, out_fd, errpipe[1], parent);
	}
	close(errpipe[1]);
	do
		n = read(errpipe[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(errpipe[0]);
	if (n == (ssize_t)sizeof(e) && e > 0) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return -e;
	}
	return pid;
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

/* ---- a child watched: output bounded, a timeout (hooks) ---- */

#define KILL_GRACE 5.0

struct out {
	char *buf;
	size_t len, cap, max;
	bool truncated;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int take(struct out *b, int fd, bool *eof)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	size_t keep;

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (n == 0) {
		*eof = true;
		return 0;
	}
	keep = (size_t)n;
	if (b->max && b->len + keep > b->max) {
		keep = b->max > b->len ? b->max - b->len : 0;
		b->truncated = true;
	}
	if (b->len + keep + 1 > b->cap) {
		b->cap = (b->len + keep + 1) * 2;
		b->buf = lb_realloc_array(b->buf, b->cap, 1);
	}
	memcpy(b->buf + b->len, tmp, keep);
	b->len += keep;
	b->buf[b->len] = '\0';
	return 0;
}

/* Reads the output (fd, or -1) while the child runs, and ends it at the
 * timeout: its wait status. Output still in the pipe when it exited is
 * read; something it left running that keeps the pipe open is not waited
 * for. */
static int watch(pid_t pid, int fd, const struct lb_spawn_opts *o, struct out *b, bool *timed_out)
{
	pid_t target = o->new_pgroup ? -pid : pid;
	double deadline = o->timeout ? now_s() + o->timeout : 0, killed = 0;
	bool eof = fd < 0;
	int status, r;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return -errno;
		if (deadline && !killed && now_s() >= deadline) {
			*timed_out = true;
			kill(target, SIGTERM);
			killed = now_s();
		} else if (killed && now_s() >= killed + KILL_GRACE) {
			kill(target, SIGKILL);
		}
		if (eof) {
			usleep(50 * 1000);
			continue;
		}
		if (poll(&p, 1, 100) > 0 && (r = take(b, fd, &eof)) < 0)
			return r;
	}
	/* what is left, bounded: something it left running may write on */
	for (int i = 0; i < 64 && !eof; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 0) <= 0 || take(b, fd, &eof) < 0)
			break;
	}
	if (*timed_out)
		kill(target, SIGKILL);
	return status;
}

static int spawn_watched(pid_t pid, int fd, const struct lb_spawn_opts *o, const char *name)
{
	struct out b = { .max = o->out_max };
	bool timed_out = false;
	int status = watch(pid, fd, o, &b, &timed_out), r;

	if (o->ret_timed_out)
		*o->ret_timed_out = timed_out;
	if (o->ret_truncated)
		*o->ret_truncated = b.truncated;
	if (o->ret_out) {
		if (!b.buf)
			b.buf = lb_zalloc(1);
		*o->ret_out = b.buf;
		if (o->ret_out_len)
			*o->ret_out_len = b.len;
	}
	if (status < 0)
		r = lb_err(status, "waiting for %s: %s", name, strerror(-status));
	else if (timed_out)
		r = lb_err(-ETIMEDOUT, "%s: still running after %u s, killed", name, o->timeout);
	else if (WIFEXITED(status))
		r = WEXITSTATUS(status);
	else
		r = lb_err(-EINTR, "%s was killed by signal %d", name, WTERMSIG(status));
	return r;
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
	_cleanup_free_ char *out = NULL;
	size_t out_len = 0;
	int pipefd[2] = { -1, -1 }, r, rr;
	pid_t pid;

	if (!o)
		o = &defaults;
	trace_argv(argv);
	if (o->ret_out && pipe2(pipefd, O_CLOEXEC) < 0)
		return lb_err(-errno, "cannot make a pipe for %s: %s", argv[0], strerror(errno));
	pid = start(argv, o, pipefd[1]);
	if (pid < 0) {
		r = lb_err((int)pid, "cannot run %s: %s", argv[0], strerror((int)-pid));
		goto out;
	}
	if (o->timeout || o->out_max) {
		if (pipefd[1] >= 0) {
			close(pipefd[1]);
			pipefd[1] = -1;
		}
		r = spawn_watched(pid, pipefd[0], o, argv[0]);
	} else if (pipefd[1] >= 0) {
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
