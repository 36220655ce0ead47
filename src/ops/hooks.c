// SPDX-License-Identifier: GPL-3.0-or-later
/* Pre- and post-capture hooks: programs the configuration names, each run
 * with no arguments and no shell, LIFEBOAT_CAPTURE and LIFEBOAT_PHASE in
 * its environment, its output collected for the capture's log, and killed
 * (with everything it started in its process group) when it outlives the
 * hook timeout.
 *
 * Run through the one spawn helper (base/spawn.c): an environment, a
 * process group, a timeout and bounded output are its options. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "ops/ops.h"

#define OUTPUT_MAX (64 * 1024)

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

/* The spawn helper's messages name the program already. */
static bool names_program(const struct lb_hook_result *h)
{
	return h->error && strstr(h->error, h->program);
}

static int result_error(struct lb_hook_result *h)
{
	if (h->error && names_program(h))
		return lb_err(-ENOEXEC, "%s hook: %s", h->phase, h->error);
	if (h->error)
		return lb_err(-ENOEXEC, "%s hook %s: %s", h->phase, h->program, h->error);
	if (h->status != 0)
		return lb_err(-ECANCELED, "%s hook %s: exit status %d", h->phase, h->program,
			      h->status);
	return 0;
}

int lb_hook_run(const char *program, const char *phase, const char *capture, uint32_t timeout,
		struct lb_hook_result *h)
{
	char *argv[] = { (char *)program, NULL };
	double start = now();
	char **env;
	int r;

	memset(h, 0, sizeof(*h));
	h->program = lb_strdup(program);
	h->phase = phase;
	h->status = -1;
	if (program[0] != '/') {
		h->error = lb_strdup("not an absolute path");
		return result_error(h);
	}
	env = hook_env(phase, capture);
	{
		struct lb_spawn_opts o = {
			.stdin_fd = -1,
			.ret_out = &h->output,
			.ret_out_len = &h->output_len,
			.also_stderr = true,
			.envp = env,
			.new_pgroup = true,
			.timeout = timeout,
			.ret_timed_out = &h->timed_out,
			.out_max = OUTPUT_MAX,
			.ret_truncated = &h->truncated,
		};

		lb_debug("hooks", "%s: running %s", phase, program);
		r = lb_spawn(argv, &o);
	}
	free_env(env);
	h->seconds = now() - start;
	if (r >= 0)
		h->status = r;
	else if (h->timed_out)
		h->error = lb_asprintf("still running after %u s, killed", timeout);
	else
		/* could not run, or killed: lb_spawn said which */
		h->error = lb_strdup(lb_errmsg());
	return result_error(h);
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
	if (h->error && names_program(h))
		lb_log(logfd, "%s: %s (%.1f s)", h->phase, h->error, h->seconds);
	else if (h->error)
		lb_log(logfd, "%s %s: %s (%.1f s)", h->phase, h->program, h->error, h->seconds);
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
