/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The reporter: the one voice of core code. Everything outside src/cmd/
 * that has something to tell the user (what is being done, a warning, a
 * debug trace, progress on long work) says it here and never writes to
 * stdout or stderr itself. The command layer installs the sink that draws
 * (src/cmd/term.c: lines on stderr, a progress line on a terminal); with
 * no sink installed (unit tests, tools) lines go to stderr plainly and
 * progress is not drawn.
 */
#ifndef LIFEBOAT_BASE_REPORT_H
#define LIFEBOAT_BASE_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#ifndef _printf_
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#endif

enum lb_report_kind {
	LB_REPORT_INFO,		/* what is being done */
	LB_REPORT_WARN,		/* something the user should know; work goes on */
	LB_REPORT_DEBUG,	/* a trace (LIFEBOAT_DEBUG names its area) */
};

/* Long work, in bytes: begun, updated from any thread, ended. */
struct lb_progress {
	const char *what;
	uint64_t total;		/* 0: not known */
	bool estimate;		/* total is a guess: said so */
	uint64_t bytes;
	double every;		/* seconds between updates shown */
	double last;
	struct timespec start;
};

struct lb_report_sink {
	/* one line of text (no prefix, no newline); area is set for DEBUG */
	void (*line)(enum lb_report_kind kind, const char *area, const char *text);
	/* progress to show (at most every p->every seconds) */
	void (*progress)(const struct lb_progress *p, double elapsed);
	/* the work is over: what progress showed goes away */
	void (*progress_end)(const struct lb_progress *p);
};

/* The command layer's sink; NULL puts back the plain one. */
void lb_report_set_sink(const struct lb_report_sink *sink);

void lb_info(const char *fmt, ...) _printf_(1, 2);
void lb_warn(const char *fmt, ...) _printf_(1, 2);
/* Tracing when LIFEBOAT_DEBUG is set ("all" or a list of areas). */
void lb_debug(const char *area, const char *fmt, ...) _printf_(2, 3);
bool lb_debug_enabled(const char *area);

void lb_progress_begin(struct lb_progress *p, const char *what, uint64_t total);
/* After lb_progress_begin: total is only a guess (shown as one). */
void lb_progress_estimate(struct lb_progress *p, uint64_t total);
/* An lb_progress_fn: ud is the struct lb_progress. */
void lb_progress_update(void *ud, uint64_t bytes);
void lb_progress_end(struct lb_progress *p);
double lb_progress_seconds(const struct lb_progress *p);

#endif
