/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The command layer: one cmd_* per subcommand, exit codes. */
#ifndef LIFEBOAT_CMD_CMD_H
#define LIFEBOAT_CMD_CMD_H

#include <stddef.h>

/* ---- subcommands (cmd_*.c) -------------------------------------------- */

int cmd_capture(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_drill(int argc, char **argv);
int cmd_mkrescue(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_hooks(int argc, char **argv);

/* The reporter draws on stderr (term.c); main installs it first. */
void lb_term_install(void);
/* The text of the last warning the reporter showed ("" when none). */
const char *lb_term_last_warning(void);

/* ---- the journal (journal.c): a capture's end, under systemd ---------- */

/* MESSAGE_IDs, fixed for good: systemd/lifeboat.catalog explains them */
#define LB_MESSAGE_CAPTURE_OK "f452ca97273e47eeaad6bc9809a2feae"
#define LB_MESSAGE_CAPTURE_FAILED "cf89f38ae4c1407e89b349a8b1ea97e9"

void lb_journal_capture_ok(const char *dir, size_t n_disks, unsigned n_volumes);
/* dir: the capture when it got its place and something after failed */
void lb_journal_capture_failed(const char *dir, const char *why, int exit_status);

/* exit codes */
#define LB_EXIT_OK 0
#define LB_EXIT_FAIL 1
#define LB_EXIT_USAGE 2

#endif
