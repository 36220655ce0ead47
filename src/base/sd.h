/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * systemd's two stable datagram protocols, spoken without libsystemd (the
 * rescue image has no room for it):
 *
 *  - sd_notify(3): newline-separated VAR=value assignments (READY=1,
 *    STATUS=...) in one datagram to the AF_UNIX socket named by
 *    $NOTIFY_SOCKET: a path, or an abstract name when it starts with '@';
 *  - journald's native protocol (systemd.journal-fields(7); "Native Journal
 *    Protocol" in systemd's docs): one datagram to
 *    /run/systemd/journal/socket holding the entry's fields, each
 *    "KEY=value\n", or, for a value that holds a newline,
 *    "KEY\n" + its length as 64-bit little endian + the value + "\n". An
 *    entry too big for one datagram goes in a sealed memfd whose descriptor
 *    is sent instead (SCM_RIGHTS, no payload), as libsystemd does.
 *
 * Both are spoken only when lifeboat runs under systemd (lb_sd_init sees
 * $NOTIFY_SOCKET, $INVOCATION_ID or $JOURNAL_STREAM); otherwise nothing is
 * sent. The _to functions take the socket explicitly (the unit tests bind
 * their own) and say what failed in lb_err(); the others are best effort
 * and quiet (a trace under LIFEBOAT_DEBUG=systemd): a missing journal
 * never changes what a command does, and they may run from a reporter sink
 * on any thread without overwriting another error's message.
 */
#ifndef LIFEBOAT_BASE_SD_H
#define LIFEBOAT_BASE_SD_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define LB_JOURNAL_SOCKET "/run/systemd/journal/socket"

/* syslog priorities, as PRIORITY= and the "<N>" line prefix take them */
#define LB_SD_ERR "3"
#define LB_SD_WARNING "4"
#define LB_SD_NOTICE "5"
#define LB_SD_INFO "6"
#define LB_SD_DEBUG "7"

struct lb_journal_field {
	const char *name;	/* [A-Z0-9_], at most 64, not starting with '_' */
	const void *value;
	size_t len;		/* bytes of value */
};

/* A field whose value is a string. */
#define LB_JOURNAL_STR(n, v) ((struct lb_journal_field){ .name = (n), .value = (v), .len = strlen(v) })

/* Once, early, before any thread: remembers $NOTIFY_SOCKET and takes it out
 * of the environment (the programs lifeboat runs, such as hooks, do not
 * talk to the service manager in its name), and notes whether this process
 * runs under systemd. */
void lb_sd_init(void);
/* Run by systemd: $INVOCATION_ID, $JOURNAL_STREAM or $NOTIFY_SOCKET was set. */
bool lb_sd_running(void);
/* Standard error is the journal's stream ($JOURNAL_STREAM names its device
 * and inode): lines written there may begin with "<N>" for their priority. */
bool lb_sd_stderr_is_journal(void);

/* Sends state (assignments, each ending in a newline or at the end) to the
 * notification socket at addr ("@name": abstract). 0 on success, < 0 on
 * error. */
int lb_sd_notify_to(const char *addr, const char *state);
/* To the socket lb_sd_init remembered: 1 sent, 0 when there is none, < 0
 * when sending failed (quiet). */
int lb_sd_notify(const char *state);
/* STATUS= with the text on one line (control characters become blanks,
 * at most 1 KiB); quiet as lb_sd_notify. */
int lb_sd_status(const char *text);

/* The datagram of an entry: *ret (free it) of *ret_len bytes. -EINVAL for
 * a bad field name. */
int lb_journal_encode(const struct lb_journal_field *f, size_t n, char **ret, size_t *ret_len);
/* Sends the entry to the journal socket at path. 0 on success, < 0 on error. */
int lb_journal_send_to(const char *path, const struct lb_journal_field *f, size_t n);
/* To LB_JOURNAL_SOCKET when lb_sd_running(): 1 sent, 0 not running under
 * systemd, < 0 when sending failed (quiet). */
int lb_journal_send(const struct lb_journal_field *f, size_t n);

#endif
