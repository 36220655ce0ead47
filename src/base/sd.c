// SPDX-License-Identifier: GPL-3.0-or-later
/* systemd's notification and native journal protocols (sd.h): two kinds of
 * datagram on an AF_UNIX socket, no libsystemd. */
#include <errno.h>
#include <endian.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/base.h"
#include "base/sd.h"

#define STATUS_MAX 1024

static char *notify_addr;	/* $NOTIFY_SOCKET as it was at lb_sd_init */
static bool running;
static bool stderr_journal;

/* JOURNAL_STREAM=DEV:INODE names the stream standard error goes to when
 * the unit's StandardError= is the journal (systemd.exec(5)). */
static bool journal_stream_is_stderr(const char *js)
{
	unsigned long long dev, ino;
	struct stat st;
	int end = 0;

	if (!js || sscanf(js, "%llu:%llu%n", &dev, &ino, &end) != 2 || js[end])
		return false;
	return fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void lb_sd_init(void)
{
	const char *ns = getenv("NOTIFY_SOCKET");
	const char *js = getenv("JOURNAL_STREAM");

	free(notify_addr);
	notify_addr = ns && *ns ? lb_strdup(ns) : NULL;
	unsetenv("NOTIFY_SOCKET");
	running = notify_addr || (js && *js) || getenv("INVOCATION_ID");
	stderr_journal = journal_stream_is_stderr(js);
}

bool lb_sd_running(void)
{
	return running;
}

bool lb_sd_stderr_is_journal(void)
{
	return stderr_journal;
}

/* addr: "/path" or "@abstract". */
static int sockaddr_of(const char *addr, struct sockaddr_un *sa, socklen_t *ret_len)
{
	size_t n = strlen(addr);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (addr[0] != '/' && addr[0] != '@')
		return -EAFNOSUPPORT;
	if (n < 2 || n > sizeof(sa->sun_path) - (addr[0] == '/'))
		return -EINVAL;
	memcpy(sa->sun_path, addr, n);
	if (addr[0] == '@')
		sa->sun_path[0] = '\0';
	/* an abstract name is exactly its bytes; a path ends at its NUL */
	*ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (addr[0] == '/'));
	return 0;
}

/* One datagram of len bytes to addr, or with fd >= 0 only that descriptor
 * (SCM_RIGHTS). -errno, nothing said. */
static int send_dgram(const char *addr, const void *buf, size_t len, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct sockaddr_un sa;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_name = &sa, .msg_iov = &iov, .msg_iovlen = 1 };
	_cleanup_close_ int s = -1;
	int r = sockaddr_of(addr, &sa, &mh.msg_namelen);

	if (r < 0)
		return r;
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&control, 0, sizeof(control));
		mh.msg_iov = NULL;
		mh.msg_iovlen = 0;
		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if (sendmsg(s, &mh, MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

int lb_sd_notify_to(const char *addr, const char *state)
{
	int r = send_dgram(addr, state, strlen(state), -1);

	if (r < 0)
		return lb_err(r, "cannot notify the service manager at %s: %s", addr, strerror(-r));
	return 0;
}

int lb_sd_notify(const char *state)
{
	int r;

	if (!notify_addr)
		return 0;
	r = send_dgram(notify_addr, state, strlen(state), -1);
	if (r < 0) {
		lb_debug("systemd", "notify %s: %s", notify_addr, strerror(-r));
		return r;
	}
	return 1;
}

int lb_sd_status(const char *text)
{
	char buf[sizeof("STATUS=") + STATUS_MAX];
	size_t n = strlen(text), i;

	if (!notify_addr)
		return 0;
	if (n > STATUS_MAX) {
		/* not inside a UTF-8 sequence */
		n = STATUS_MAX;
		while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(buf, "STATUS=", 7);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];

		buf[7 + i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	buf[7 + n] = '\0';
	return lb_sd_notify(buf);
}

/* journald's rule for the fields a client may set */
static bool field_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64 || name[0] < 'A' || name[0] > 'Z')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '_'))
			return false;
	return true;
}

int lb_journal_encode(const struct lb_journal_field *f, size_t n, char **ret, size_t *ret_len)
{
	size_t len = 0, off = 0;
	char *buf;

	for (size_t i = 0; i < n; i++) {
		if (!field_name_ok(f[i].name))
			return lb_err(-EINVAL, "'%s' is not a journal field name", f[i].name);
		len += strlen(f[i].name) + 1 + 8 + f[i].len + 1;
	}
	buf = lb_zalloc(len + 1);
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(f[i].name);
		bool binary = memchr(f[i].value, '\n', f[i].len) || memchr(f[i].value, '\0', f[i].len);

		memcpy(buf + off, f[i].name, k);
		off += k;
		if (binary) {
			uint64_t le = htole64((uint64_t)f[i].len);

			buf[off++] = '\n';
			memcpy(buf + off, &le, 8);
			off += 8;
		} else {
			buf[off++] = '=';
		}
		memcpy(buf + off, f[i].value, f[i].len);
		off += f[i].len;
		buf[off++] = '\n';
	}
	*ret = buf;
	*ret_len = off;
	return 0;
}

/* Too big for a datagram: the entry in a sealed memfd, its descriptor sent. */
static int send_memfd(const char *path, const char *buf, size_t len)
{
	_cleanup_close_ int fd = memfd_create("lifeboat-journal", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	size_t off = 0;

	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		off += (size_t)w;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return -errno;
	return send_dgram(path, NULL, 0, fd);
}

/* Sends an encoded entry (one datagram, or a memfd when too big). */
static int journal_send(const char *path, const char *buf, size_t len)
{
	int r = send_dgram(path, buf, len, -1);

	if (r == -EMSGSIZE || r == -ENOBUFS)
		r = send_memfd(path, buf, len);
	return r;
}

int lb_journal_send_to(const char *path, const struct lb_journal_field *f, size_t n)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r = lb_journal_encode(f, n, &buf, &len);

	if (r < 0)
		return r;
	r = journal_send(path, buf, len);
	if (r < 0)
		return lb_err(r, "cannot send to the journal at %s: %s", path, strerror(-r));
	return 0;
}

int lb_journal_send(const struct lb_journal_field *f, size_t n)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	if (!running)
		return 0;
	r = lb_journal_encode(f, n, &buf, &len);
	if (r >= 0)
		r = journal_send(LB_JOURNAL_SOCKET, buf, len);
	if (r < 0) {
		lb_debug("systemd", "journal: %s", strerror(-r));
		return r;
	}
	return 1;
}
