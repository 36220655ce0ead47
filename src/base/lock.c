// SPDX-License-Identifier: GPL-3.0-or-later
/* One lifeboat that writes at a time: restore, capture and drill take an
 * exclusive flock on one file for as long as they run (the kernel lets go
 * when the process ends, killed or not). The holder writes "PID COMMAND"
 * into the file; one that finds the lock taken names the holder, its pid
 * from /proc/locks (the lock's own record, whoever took it: also flock(1)),
 * its command from the file when that pid wrote it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/base.h"
#include "base/report.h"

static const char *lock_path(void)
{
	const char *p = getenv("LIFEBOAT_LOCK");
	struct stat st;

	if (p && *p)
		return p;
	return stat("/run", &st) == 0 && S_ISDIR(st.st_mode) ? "/run/lifeboat.lock"
							      : "/tmp/lifeboat.lock";
}

/* The pid holding an flock on the file st describes (/proc/locks: "1:
 * FLOCK  ADVISORY  WRITE 1234 fe:00:5678 0 EOF"), or 0. */
static pid_t flock_holder(const struct stat *st)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/locks", "re");
	char line[256];

	while (f && fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		uint64_t ino;
		int pid;

		if (sscanf(line, "%*s FLOCK %*s %*s %d %x:%x:%" SCNu64, &pid, &maj, &min, &ino) == 4 &&
		    ino == (uint64_t)st->st_ino && makedev(maj, min) == st->st_dev && pid > 0)
			return pid;
	}
	return 0;
}

/* "another lifeboat restore (pid N) is running", as well as can be told */
static int busy(int fd, const char *path)
{
	char buf[64] = "", what[32] = "";
	struct stat st;
	pid_t holder = fstat(fd, &st) == 0 ? flock_holder(&st) : 0;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	int pid = 0;

	if (n > 0)
		buf[n] = '\0';
	if (n <= 0 || sscanf(buf, "%d %31[a-z]", &pid, what) != 2 || (holder && pid != holder))
		what[0] = '\0';
	else if (!holder)
		holder = pid;
	if (what[0])
		return lb_err(-EBUSY, "another lifeboat %s (pid %d) is running (%s held): wait for it "
			      "to finish", what, (int)holder, path);
	if (holder)
		return lb_err(-EBUSY, "another process (pid %d) holds the lock %s",
			      (int)holder, path);
	return lb_err(-EBUSY, "another lifeboat is running (%s held)", path);
}

int lb_lock_take(const char *what)
{
	const char *path = lock_path();
	char buf[64];
	struct stat st;
	int fd, len;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0644);
	if (fd < 0)
		return lb_err(-errno, "cannot open the lock %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return lb_err(-EPERM, "the lock %s is not a regular file", path);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno == EWOULDBLOCK ? busy(fd, path)
					     : lb_err(-errno, "cannot lock %s: %s", path, strerror(errno));

		close(fd);
		return e;
	}
	len = snprintf(buf, sizeof(buf), "%d %s\n", (int)getpid(), what);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)len, 0) != len)
		lb_debug("lock", "%s: cannot note the holder: %s", path, strerror(errno));
	lb_debug("lock", "%s: taken by %s", path, buf);
	return fd;
}
