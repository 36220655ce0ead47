// SPDX-License-Identifier: GPL-3.0-or-later
/* The reporter's sink for a person at a terminal (or a log reading
 * stderr): lines prefixed "lifeboat: ", and on a terminal one progress
 * line, redrawn in place, cleared before any other line. Threads report
 * at once: each line and each progress line is written whole under
 * stderr's lock.
 *
 * Run by systemd (lifeboat-systemd(7)), it forwards as well: with
 * $NOTIFY_SOCKET, what is being done (info lines) and progress become the
 * service's STATUS= (systemctl status shows it); when standard error is the
 * journal's stream, warnings and traces carry their priority as a "<N>"
 * prefix, which journald takes off (SyslogLevelPrefix=, on by default). */
#include <stdio.h>
#include <unistd.h>

#include "base/base.h"
#include "base/sd.h"
#include "cmd/cmd.h"

/* a progress line is on stderr, unfinished (under stderr's lock) */
static bool progress_line;
/* standard error is a terminal (progress is drawn) or the journal */
static bool tty, journal;
/* the last warning's text (under stderr's lock), for the journal entry a
 * failed capture ends with */
static char last_warning[1024];

static void clear_progress(void)
{
	if (progress_line) {
		fputs("\r\033[K", stderr);
		progress_line = false;
	}
}

static void term_line(enum lb_report_kind kind, const char *area, const char *text)
{
	const char *prio = "";

	if (journal)
		prio = kind == LB_REPORT_WARN ? "<" LB_SD_WARNING ">" :
		       kind == LB_REPORT_DEBUG ? "<" LB_SD_DEBUG ">" : "";
	flockfile(stderr);
	clear_progress();
	if (kind == LB_REPORT_DEBUG)
		fprintf(stderr, "%slifeboat[%s]: %s\n", prio, area, text);
	else
		fprintf(stderr, "%slifeboat: %s\n", prio, text);
	if (kind == LB_REPORT_WARN)
		snprintf(last_warning, sizeof(last_warning), "%s", text);
	funlockfile(stderr);
	if (kind == LB_REPORT_INFO)
		lb_sd_status(text);
}

const char *lb_term_last_warning(void)
{
	return last_warning;
}

/* "disk0p2: 120.0 of 512.0 MiB (23%)" as the service's status */
static void notify_progress(const struct lb_progress *p)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%s: %.1f MiB", p->what, (double)p->bytes / 1048576.0);

	if (p->total && p->estimate && n > 0 && (size_t)n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - (size_t)n, " of about %.1f MiB",
			 (double)p->total / 1048576.0);
	else if (p->total && n > 0 && (size_t)n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - (size_t)n, " of %.1f MiB (%.0f%%)",
			 (double)p->total / 1048576.0,
			 100.0 * (double)(p->bytes < p->total ? p->bytes : p->total) / (double)p->total);
	lb_sd_status(buf);
}

static void term_progress(const struct lb_progress *p, double elapsed)
{
	double rate = (double)p->bytes / elapsed;

	notify_progress(p);
	if (!tty)
		return;
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
	if (!tty)
		return;
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

	lb_sd_init();
	tty = isatty(STDERR_FILENO);
	journal = lb_sd_stderr_is_journal();
	/* progress: drawn on a terminal, or the service's status */
	lb_report_set_sink(tty || lb_sd_running() ? &with_progress : &lines_only);
}
