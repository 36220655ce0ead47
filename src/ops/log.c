// SPDX-License-Identifier: GPL-3.0-or-later
/* The capture's log, capture.log in its directory: what the capture did,
 * and each hook's exit status and output. One record a line, each begun
 * with the time (UTC, from the clock, never SOURCE_DATE_EPOCH); a hook's
 * output follows its record, each line indented by a tab. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "ops/ops.h"

int lb_log_open(const char *dir)
{
	_cleanup_free_ char *path = lb_asprintf("%s/%s", dir, LB_CAPTURE_LOG);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return lb_err(-errno, "%s: %s", path, strerror(errno));
	return fd;
}

void lb_log(int fd, const char *fmt, ...)
{
	_cleanup_free_ char *text = NULL, *line = NULL;
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;
	va_list ap;
	int n;

	if (fd < 0)
		return;
	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	line = lb_asprintf("%s %s\n", stamp, text);
	/* a log that cannot be written takes nothing else down */
	if (write(fd, line, strlen(line)) < 0)
		lb_debug("ops", "capture log: %s", strerror(errno));
}
