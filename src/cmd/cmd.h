/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The command layer: one cmd_* per subcommand, exit codes. */
#ifndef LIFEBOAT_CMD_CMD_H
#define LIFEBOAT_CMD_CMD_H

/* ---- subcommands (cmd_*.c) -------------------------------------------- */

int cmd_capture(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_drill(int argc, char **argv);
int cmd_mkrescue(int argc, char **argv);

/* The reporter draws on stderr (term.c); main installs it first. */
void lb_term_install(void);

/* exit codes */
#define LB_EXIT_OK 0
#define LB_EXIT_FAIL 1
#define LB_EXIT_USAGE 2

#endif
