// SPDX-License-Identifier: GPL-3.0-or-later
/* The restore log: what a restore did, line by line with the time, in a
 * file of its own under LIFEBOAT_LOG_DIR (or /var/log/lifeboat), copied
 * into the restored root at the end. The same lines go to the reporter. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "restore/internal.h"

const char *lb_restore_log_dir(void)
{
	return lb_log_dir();
}

int lb_run_log_open(struct lb_run *run)
{
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if (lb_mkdir_p(lb_restore_log_dir(), 0755) < 0)
		return lb_err(-errno, "%s: %s", lb_restore_log_dir(), strerror(errno));
	/* never another run's log: a new name if this second has one */
	for (int i = 1; i < 100; i++) {
		char *path = i == 1 ? lb_asprintf("%s/restore-%s.log", lb_restore_log_dir(), stamp)
				    : lb_asprintf("%s/restore-%s-%d.log", lb_restore_log_dir(), stamp, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		if (fd >= 0) {
			run->log = fdopen(fd, "w");
			if (run->log) {
				run->log_path = path;
				return 0;
			}
			close(fd);
		}
		free(path);
		if (errno != EEXIST)
			break;
	}
	return lb_err(-errno, "%s: %s", lb_restore_log_dir(), strerror(errno));
}

void lb_run_log_close(struct lb_run *run)
{
	if (run->log)
		fclose(run->log);
	run->log = NULL;
}

void lb_run_say(struct lb_run *run, const char *fmt, ...)
{
	_cleanup_free_ char *line = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		abort();
	va_end(ap);
	lb_info("%s", line);
	if (run->log) {
		_cleanup_free_ char *now = lb_utc_now();

		fprintf(run->log, "%s %s\n", now, line);
		fflush(run->log);
	}
}
