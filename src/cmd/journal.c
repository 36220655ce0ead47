// SPDX-License-Identifier: GPL-3.0-or-later
/* The journal entry a capture ends with, when systemd runs lifeboat
 * (lifeboat-systemd(7)): one of two fixed MESSAGE_IDs, explained by
 * systemd/lifeboat.catalog (journalctl -x), with the capture's directory,
 * counts or error in fields of their own; and the same as the service's
 * last STATUS=. Outside systemd nothing is sent. */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "base/sd.h"
#include "cmd/cmd.h"

void lb_journal_capture_ok(const char *dir, size_t n_disks, unsigned n_volumes)
{
	char msg[4096], disks[32], volumes[32];
	struct lb_journal_field f[8];
	size_t n = 0;

	snprintf(msg, sizeof(msg), "capture complete: %zu disk%s and %u volume%s in %s", n_disks,
		 n_disks == 1 ? "" : "s", n_volumes, n_volumes == 1 ? "" : "s", dir);
	snprintf(disks, sizeof(disks), "%zu", n_disks);
	snprintf(volumes, sizeof(volumes), "%u", n_volumes);
	lb_sd_status(msg);
	f[n++] = LB_JOURNAL_STR("MESSAGE_ID", LB_MESSAGE_CAPTURE_OK);
	f[n++] = LB_JOURNAL_STR("MESSAGE", msg);
	f[n++] = LB_JOURNAL_STR("PRIORITY", LB_SD_NOTICE);
	f[n++] = LB_JOURNAL_STR("SYSLOG_IDENTIFIER", "lifeboat");
	f[n++] = LB_JOURNAL_STR("LIFEBOAT_CAPTURE", dir);
	f[n++] = LB_JOURNAL_STR("LIFEBOAT_DISKS", disks);
	f[n++] = LB_JOURNAL_STR("LIFEBOAT_VOLUMES", volumes);
	lb_journal_send(f, n);
}

void lb_journal_capture_failed(const char *dir, const char *why, int exit_status)
{
	char msg[4096], status[16];
	struct lb_journal_field f[8];
	size_t n = 0;

	if (dir)
		snprintf(msg, sizeof(msg), "capture failed after it was put in place at %s: %s", dir,
			 why);
	else
		snprintf(msg, sizeof(msg), "capture failed: %s", why);
	snprintf(status, sizeof(status), "%d", exit_status);
	lb_sd_status(msg);
	f[n++] = LB_JOURNAL_STR("MESSAGE_ID", LB_MESSAGE_CAPTURE_FAILED);
	f[n++] = LB_JOURNAL_STR("MESSAGE", msg);
	f[n++] = LB_JOURNAL_STR("PRIORITY", LB_SD_ERR);
	f[n++] = LB_JOURNAL_STR("SYSLOG_IDENTIFIER", "lifeboat");
	f[n++] = LB_JOURNAL_STR("LIFEBOAT_ERROR", why);
	f[n++] = LB_JOURNAL_STR("LIFEBOAT_EXIT_STATUS", status);
	if (dir)
		f[n++] = LB_JOURNAL_STR("LIFEBOAT_CAPTURE", dir);
	lb_journal_send(f, n);
}
