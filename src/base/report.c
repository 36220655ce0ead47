// SPDX-License-Identifier: GPL-3.0-or-later
/* The reporter (report.h): core code's lines and progress, handed to the
 * sink the command layer installed. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

static void plain_line(enum lb_report_kind kind, const char *area, const char *text)
{
	if (kind == LB_REPORT_DEBUG)
		fprintf(stderr, "lifeboat[%s]: %s\n", area, text);
	else
		fprintf(stderr, "lifeboat: %s\n", text);
}

static const struct lb_report_sink plain_sink = {
	.line = plain_line,
};

static const struct lb_report_sink *sink = &plain_sink;

void lb_report_set_sink(const struct lb_report_sink *s)
{
	sink = s ? s : &plain_sink;
}

static void vreport(enum lb_report_kind kind, const char *area, const char *fmt, va_list ap)
{
	char buf[4096];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	sink->line(kind, area, buf);
}

void lb_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(LB_REPORT_INFO, NULL, fmt, ap);
	va_end(ap);
}

void lb_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(LB_REPORT_WARN, NULL, fmt, ap);
	va_end(ap);
}

/* LIFEBOAT_DEBUG: "all", or areas separated by commas or spaces */
bool lb_debug_enabled(const char *area)
{
	static const char *mask;
	static bool init;
	size_t n = strlen(area);
	const char *p;

	if (!init) {
		mask = getenv("LIFEBOAT_DEBUG");
		init = true;
	}
	if (!mask || !*mask)
		return false;
	if (strcmp(mask, "all") == 0)
		return true;
	for (p = mask; (p = strstr(p, area)); p += n)
		if ((p == mask || p[-1] == ',' || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return true;
	return false;
}

void lb_debug(const char *area, const char *fmt, ...)
{
	va_list ap;

	if (!lb_debug_enabled(area))
		return;
	va_start(ap, fmt);
	vreport(LB_REPORT_DEBUG, area, fmt, ap);
	va_end(ap);
}

/* ---- progress ------------------------------------------------------------ */

static double since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

void lb_progress_begin(struct lb_progress *p, const char *what, uint64_t total)
{
	const char *every = getenv("LIFEBOAT_PROGRESS_EVERY");
	char *end;

	memset(p, 0, sizeof(*p));
	p->what = what;
	p->total = total;
	p->every = every ? strtod(every, &end) : 0.5;
	if (every && (*end || end == every || !(p->every >= 0 && p->every <= 3600)))
		p->every = 0.5;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
}

void lb_progress_estimate(struct lb_progress *p, uint64_t total)
{
	p->total = total;
	p->estimate = total > 0;
}

void lb_progress_update(void *ud, uint64_t bytes)
{
	struct lb_progress *p = ud;
	double el = since(&p->start);

	p->bytes = bytes;
	/* a guess proved short says nothing more */
	if (p->estimate && bytes > p->total)
		p->total = 0;
	if (!sink->progress || el - p->last < p->every || el <= 0)
		return;
	p->last = el;
	sink->progress(p, el);
}

void lb_progress_end(struct lb_progress *p)
{
	if (sink->progress_end)
		sink->progress_end(p);
}

double lb_progress_seconds(const struct lb_progress *p)
{
	return since(&p->start);
}
