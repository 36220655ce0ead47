// SPDX-License-Identifier: GPL-3.0-or-later
/* Pre- and post-capture hooks: programs the configuration names, each run
 * with no arguments and no shell, LIFEBOAT_CAPTURE and LIFEBOAT_PHASE in
 * its environment, its output collected for the capture's log, and killed
 * (with everything it started in its process group) when it outlives the
 * hook timeout.
 *
 * (base's lb_run has no environment, timeout or output; the spawn helper
 * the rescue work brings has no timeout either: this is its own fork.) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "ops/ops.h"

#define OUTPUT_MAX (64 * 1024)
#define KILL_GRACE 5.0

extern char **environ;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Our environment with the two variables set (built before fork: nothing
 * that allocates runs in the child). */
static char **hook_env(const char *phase, const char *capture)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = lb_zalloc((n + 3) * sizeof(char *));
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LIFEBOAT_CAPTURE=", 17) != 0 &&
		    strncmp(environ[i], "LIFEBOAT_PHASE=", 15) != 0)
			env[k++] = environ[i];
	env[k++] = lb_asprintf("LIFEBOAT_CAPTURE=%s", capture);
	env[k++] = lb_asprintf("LIFEBOAT_PHASE=%s", phase);
	env[k] = NULL;
	return env;
}

static void free_env(char **env)
{
	size_t n = 0;

	while (env[n])
		n++;
	/* the last two are ours */
	free(env[n - 1]);
	free(env[n - 2]);
	free(env);
}

/* In the child: its own process group, stdin /dev/null, stdout and stderr
 * into the pipe, no other descriptor, default signals; then the program. */
_Noreturn static void child(const char *program, char **env, int out, int errpipe)
{
	char *argv[] = { (char *)program, NULL };
	sigset_t none;
	int null, e;

	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		goto fail;
	/* every descriptor but 0-2 and the error pipe (close-on-exec) goes */
	for (int fd = 3; fd < 1024; fd++)
		if (fd != errpipe)
			close(fd);
	execve(program, argv, env);
fail:
	e = errno;
	if (write(errpipe, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

static void collect(struct lb_hook_result *h, int fd, bool *eof)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			*eof = true;
		return;
	}
	if (h->output_len + (size_t)n > OUTPUT_MAX) {
		h->truncated = true;
		n = (ssize_t)(OUTPUT_MAX - h->output_len);
	}
	if (n > 0) {
		h->output = lb_realloc_array(h->output, h->output_len + (size_t)n + 1, 1);
		memcpy(h->output + h->output_len, buf, (size_t)n);
		h->output_len += (size_t)n;
		h->output[h->output_len] = '\0';
	}
}

/* Reads the output until the child exits (or the time is up, then kills
 * its group); the wait status. Output still in the pipe when it exited is
 * read; a grandchild keeping the pipe open is not waited for. */
static int watch(struct lb_hook_result *h, pid_t pid, int fd, uint32_t timeout, double start)
{
	double deadline = timeout ? start + timeout : 0, killed_at = 0;
	bool eof = false;
	int status;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return -errno;
		if (deadline && !killed_at && now() >= deadline) {
			h->timed_out = true;
			kill(-pid, SIGTERM);
			killed_at = now();
		} else if (killed_at && now() >= killed_at + KILL_GRACE) {
			kill(-pid, SIGKILL);
		}
		if (eof) {
			usleep(50 * 1000);
			continue;
		}
		if (poll(&p, 1, 100) > 0)
			collect(h, fd, &eof);
	}
	/* what is left in the pipe, bounded: something it left running may
	 * write on and on */
	for (int i = 0; i < 64 && !eof; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 0) <= 0)
			break;
		collect(h, fd, &eof);
	}
	/* anything it left behind in its group goes with it when it timed out */
	if (h->timed_out)
		kill(-pid, SIGKILL);
	return status;
}

static int result_error(struct lb_hook_result *h, uint32_t timeout)
{
	if (h->error)
		return lb_err(-ENOEXEC, "%s hook %s: %s", h->phase, h->program, h->error);
	if (h->timed_out)
		return lb_err(-ETIMEDOUT, "%s hook %s: still running after %u s, killed", h->phase,
			      h->program, timeout);
	if (h->signal)
		return lb_err(-EINTR, "%s hook %s: killed by signal %d", h->phase, h->program,
			      h->signal);
	if (h->status != 0)
		return lb_err(-ECANCELED, "%s hook %s: exit status %d", h->phase, h->program,
			      h->status);
	return 0;
}

int lb_hook_run(const char *program, const char *phase, const char *capture, uint32_t timeout,
		struct lb_hook_result *h)
{
	int out[2] = { -1, -1 }, errp[2] = { -1, -1 }, status, e = 0;
	double start = now();
	char **env;
	pid_t pid;

	memset(h, 0, sizeof(*h));
	h->program = lb_strdup(program);
	h->phase = phase;
	h->status = -1;
	if (program[0] != '/') {
		h->error = lb_strdup("not an absolute path");
		return result_error(h, timeout);
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		h->error = lb_asprintf("cannot make a pipe: %s", strerror(errno));
		goto done;
	}
	env = hook_env(phase, capture);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0)
		child(program, env, out[1], errp[1]);
	free_env(env);
	close(out[1]);
	close(errp[1]);
	out[1] = errp[1] = -1;
	if (pid < 0) {
		h->error = lb_asprintf("cannot fork: %s", strerror(errno));
		goto done;
	}
	/* no race with the child's own setpgid: the group is set either way */
	setpgid(pid, pid);
	lb_debug("hooks", "%s: running %s (pid %d)", phase, program, (int)pid);
	status = watch(h, pid, out[0], timeout, start);
	if (read(errp[0], &e, sizeof(e)) == (ssize_t)sizeof(e) && e) {
		h->error = lb_asprintf("cannot run: %s", strerror(e));
	} else if (status < 0) {
		h->error = lb_asprintf("waiting for it: %s", strerror(-status));
	} else if (WIFEXITED(status)) {
		h->status = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		h->signal = WTERMSIG(status);
	}
done:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	h->seconds = now() - start;
	return result_error(h, timeout);
}

void lb_hook_result_clear(struct lb_hook_result *h)
{
	free(h->program);
	free(h->error);
	free(h->output);
	memset(h, 0, sizeof(*h));
}

void lb_hook_log(int logfd, const struct lb_hook_result *h)
{
	const char *p, *end;

	if (logfd < 0)
		return;
	if (h->error)
		lb_log(logfd, "%s %s: %s", h->phase, h->program, h->error);
	else if (h->timed_out)
		lb_log(logfd, "%s %s: timed out after %.1f s, killed%s", h->phase, h->program,
		       h->seconds, h->signal ? "" : " (then exited)");
	else if (h->signal)
		lb_log(logfd, "%s %s: killed by signal %d (%.1f s)", h->phase, h->program, h->signal,
		       h->seconds);
	else
		lb_log(logfd, "%s %s: exit %d (%.1f s)", h->phase, h->program, h->status,
		       h->seconds);
	for (p = h->output; p && *p; p = *end ? end + 1 : end) {
		_cleanup_free_ char *line = NULL;

		end = strchrnul(p, '\n');
		line = lb_asprintf("\t%.*s\n", (int)(end - p), p);
		if (write(logfd, line, strlen(line)) < 0)
			break;
	}
	if (h->truncated)
		lb_log(logfd, "%s %s: output cut at %d KiB", h->phase, h->program, OUTPUT_MAX / 1024);
}

int lb_hooks_run(char *const *programs, size_t n, const char *phase, const char *capture,
		 uint32_t timeout, int logfd, bool keep_going)
{
	_cleanup_free_ char *first = NULL;
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		struct lb_hook_result h;
		int r = lb_hook_run(programs[i], phase, capture, timeout, &h);

		lb_hook_log(logfd, &h);
		if (r < 0) {
			/* what it said goes with the error: the log may not exist */
			if (h.output_len)
				lb_warn("%s hook %s said:\n%.*s", phase, h.program, (int)h.output_len,
					h.output);
			lb_hook_result_clear(&h);
			if (!keep_going)
				return r;
			lb_warn("%s", lb_errmsg());
			if (!ret) {
				ret = r;
				first = lb_strdup(lb_errmsg());
			}
			continue;
		}
		lb_info("%s hook %s: exit 0 (%.1f s)", phase, h.program, h.seconds);
		lb_hook_result_clear(&h);
	}
	return ret < 0 ? lb_err(ret, "%s", first) : 0;
}
