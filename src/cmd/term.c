// SPDX-License-Identifier: GPL-3.0-or-later
/* The reporter's sink for a person at a terminal (or a log reading
 * stderr): lines prefixed "lifeboat: ", and on a terminal one progress
 * line, redrawn in place, cleared before any other line. Threads report
 * at once: each line and each progress line is written whole under
 * stderr's lock. */
#include <stdio.h>
#include <unistd.h>

#include "base/base.h"
#include "cmd/cmd.h"

/* a progress line is on stderr, unfinished (under stderr's lock) */
static bool progress_line;

static void clear_progress(void)
{
	if (progress_line) {
		fputs("\r\033[K", stderr);
		progress_line = false;
	}
}

static void term_line(enum lb_report_kind kind, const char *area, const char *text)
{
	flockfile(stderr);
	clear_progress();
	if (kind == LB_REPORT_DEBUG)
		fprintf(stderr, "lifeboat[%s]: %s\n", area, text);
	else
		fprintf(stderr, "lifeboat: %s\n", text);
	funlockfile(stderr);
}

static void term_progress(const struct lb_progress *p, double elapsed)
{
	double rate = (double)p->bytes / elapsed;

	flockfile(stderr);
	fprintf(stderr, "\r%s: %.1f MiB", p->what, (double)p->bytes / 1048576.0);
	if (p->total)
		fprintf(stderr, " of %s%.1f MiB", p->estimate ? "about " : "",
			(double)p->total / 1048576.0);
	fprintf(stderr, ", %.0f MiB/s", rate / 1048576.0);
	if (p->total && rate > 0 && p->bytes < p->total)
		fprintf(stderr, ", %s%.0f s left", p->estimate ? "about " : "",
			(double)(p->total - p->bytes) / rate);
	fputs("\033[K", stderr);
	progress_line = true;
	funlockfile(stderr);
}

static void term_progress_end(const struct lb_progress *p)
{
	(void)p;
	flockfile(stderr);
	clear_progress();
	funlockfile(stderr);
}

void lb_term_install(void)
{
	static const struct lb_report_sink lines_only = {
		.line = term_line,
	};
	static const struct lb_report_sink with_progress = {
		.line = term_line,
		.progress = term_progress,
		.progress_end = term_progress_end,
	};

	lb_report_set_sink(isatty(STDERR_FILENO) ? &with_progress : &lines_only);
}
