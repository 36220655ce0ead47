// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for systemd's two protocols as base/sd.c speaks them, against
 * sockets the test binds itself: the native journal entry byte for byte
 * (KEY=value, the binary-safe form for a value with a newline or a NUL, field
 * names journald would drop refused), one datagram, and an entry too big
 * for one sent as a sealed memfd; sd_notify to a path and to an abstract
 * socket, $NOTIFY_SOCKET taken out of the environment, STATUS= on one line
 * and cut at a character boundary; nothing sent and nothing failing when
 * not run by systemd; $JOURNAL_STREAM matched against standard error. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "base/sd.h"

/* A datagram socket bound at addr ("@name": abstract), with a timeout. */
static int bind_dgram(const char *addr)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	size_t n = strlen(addr);
	socklen_t len;
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	assert_true(n < sizeof(sa.sun_path));
	memcpy(sa.sun_path, addr, n);
	if (addr[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (addr[0] == '/'));
	assert_int_equal(bind(s, (struct sockaddr *)&sa, len), 0);
	assert_int_equal(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return s;
}

/* One datagram: its bytes (NUL-terminated, *ret_len long) and the
 * descriptor it carried (-1 when none). */
static char *recv_dgram(int s, size_t max, size_t *ret_len, int *ret_fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	char *buf = lb_zalloc(max + 1);
	struct iovec iov = { .iov_base = buf, .iov_len = max };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *c;
	ssize_t n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);

	assert_true(n >= 0);
	assert_false(mh.msg_flags & MSG_TRUNC);
	*ret_len = (size_t)n;
	*ret_fd = -1;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
	return buf;
}

/* nothing waiting on s */
static void assert_no_dgram(int s)
{
	char b;

	assert_int_equal(recv(s, &b, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
}

static char *tmpdir(void)
{
	char *d = lb_strdup("/tmp/lifeboat-test-sd.XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void test_encode(void **state)
{
	static const char want[] = "MESSAGE_ID=f452ca97273e47eeaad6bc9809a2feae\n"
				   "MESSAGE=capture complete: 1 disk\n"
				   "LIFEBOAT_ERROR\n\x0b\0\0\0\0\0\0\0two\nlines\0!\n"
				   "EMPTY=\n";
	struct lb_journal_field f[] = {
		LB_JOURNAL_STR("MESSAGE_ID", "f452ca97273e47eeaad6bc9809a2feae"),
		LB_JOURNAL_STR("MESSAGE", "capture complete: 1 disk"),
		{ .name = "LIFEBOAT_ERROR", .value = "two\nlines\0!", .len = 11 },
		LB_JOURNAL_STR("EMPTY", ""),
	};
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(lb_journal_encode(f, 4, &buf, &len), 0);
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(buf, want, len);
	free(buf);
}

static void test_bad_names(void **state)
{
	static const char *const bad[] = {
		"", "message", "_PID", "1ABC", "MESSAGE-ID", "ÄRGER",
		"A23456789012345678901234567890123456789012345678901234567890123456",
	};
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	for (size_t i = 0; i < LB_ARRAY_SIZE(bad); i++) {
		struct lb_journal_field f[] = {
			LB_JOURNAL_STR("MESSAGE", "x"),
			LB_JOURNAL_STR(bad[i], "y"),
		};

		assert_int_equal(lb_journal_encode(f, 2, &buf, &len), -EINVAL);
		assert_null(buf);
		assert_int_equal(lb_journal_send_to("/nonexistent", f, 2), -EINVAL);
	}
	/* 64 characters, digits and _ after the first: kept */
	struct lb_journal_field ok = LB_JOURNAL_STR(
		"A2345678901234567890123456789012345678901234567890123456789012_4", "z");
	assert_int_equal(lb_journal_encode(&ok, 1, &buf, &len), 0);
	free(buf);
}

static void test_journal_dgram(void **state)
{
	char *dir = tmpdir(), *path = lb_asprintf("%s/journal", dir), *want = NULL, *got;
	struct lb_journal_field f[] = {
		LB_JOURNAL_STR("MESSAGE_ID", "cf89f38ae4c1407e89b349a8b1ea97e9"),
		LB_JOURNAL_STR("MESSAGE", "capture failed: a pre-capture hook failed"),
		LB_JOURNAL_STR("PRIORITY", LB_SD_ERR),
		LB_JOURNAL_STR("LIFEBOAT_ERROR", "exit status 3\nsecond line"),
	};
	size_t want_len = 0, len = 0;
	int s = bind_dgram(path), fd;

	(void)state;
	assert_int_equal(lb_journal_encode(f, 4, &want, &want_len), 0);
	assert_int_equal(lb_journal_send_to(path, f, 4), 0);
	got = recv_dgram(s, 65536, &len, &fd);
	assert_int_equal(fd, -1);
	assert_int_equal(len, want_len);
	assert_memory_equal(got, want, len);
	free(got);
	close(s);
	/* nobody listening any more */
	assert_true(lb_journal_send_to(path, f, 4) < 0);
	assert_non_null(strstr(lb_errmsg(), path));
	unlink(path);
	rmdir(dir);
	free(want);
	free(path);
	free(dir);
}

/* bigger than any datagram the socket takes: a sealed memfd instead */
static void test_journal_memfd(void **state)
{
	char *dir = tmpdir(), *path = lb_asprintf("%s/journal", dir), *want = NULL, *got, *big;
	size_t big_len = 4u << 20, want_len = 0, len = 0;
	struct lb_journal_field f[2];
	int s = bind_dgram(path), fd, seals;
	struct stat st;

	(void)state;
	big = malloc(big_len + 1);
	assert_non_null(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)('a' + i % 26);
	big[big_len] = '\0';
	f[0] = LB_JOURNAL_STR("MESSAGE", "a big one");
	f[1] = LB_JOURNAL_STR("LIFEBOAT_BIG", big);
	assert_int_equal(lb_journal_encode(f, 2, &want, &want_len), 0);
	assert_int_equal(lb_journal_send_to(path, f, 2), 0);
	got = recv_dgram(s, 4096, &len, &fd);
	assert_int_equal(len, 0);
	assert_true(fd >= 0);
	seals = fcntl(fd, F_GET_SEALS);
	assert_true(seals >= 0);
	assert_int_equal(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL),
			 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal((size_t)st.st_size, want_len);
	free(got);
	got = malloc(want_len);
	assert_non_null(got);
	assert_int_equal(lb_pread_all(fd, got, want_len, 0), 0);
	assert_memory_equal(got, want, want_len);
	close(fd);
	close(s);
	unlink(path);
	rmdir(dir);
	free(got);
	free(big);
	free(want);
	free(path);
	free(dir);
}

static void test_notify(void **state)
{
	char *dir = tmpdir(), *path = lb_asprintf("%s/notify", dir), *got;
	char *abs = lb_asprintf("@lifeboat-test-sd-%d", (int)getpid());
	size_t len = 0;
	int s = bind_dgram(path), a = bind_dgram(abs), fd;

	(void)state;
	/* to a path, explicitly */
	assert_int_equal(lb_sd_notify_to(path, "READY=1\nSTATUS=up\n"), 0);
	got = recv_dgram(s, 4096, &len, &fd);
	assert_string_equal(got, "READY=1\nSTATUS=up\n");
	free(got);
	/* what systemd hands a service: an abstract socket */
	setenv("NOTIFY_SOCKET", abs, 1);
	unsetenv("INVOCATION_ID");
	unsetenv("JOURNAL_STREAM");
	lb_sd_init();
	assert_null(getenv("NOTIFY_SOCKET"));
	assert_true(lb_sd_running());
	assert_int_equal(lb_sd_status("imaging vda1\n: 1.0 of 2.0 MiB\t(50%)"), 1);
	got = recv_dgram(a, 4096, &len, &fd);
	assert_string_equal(got, "STATUS=imaging vda1 : 1.0 of 2.0 MiB (50%)");
	free(got);
	assert_no_dgram(s);
	close(s);
	close(a);
	/* no one listens: an error, quietly */
	assert_true(lb_sd_notify("STATUS=x") < 0);
	assert_int_equal(lb_sd_notify_to("vsock:2:1234", "READY=1"), -EAFNOSUPPORT);
	unlink(path);
	rmdir(dir);
	free(abs);
	free(path);
	free(dir);
}

/* a status past 1 KiB is cut where a character begins */
static void test_status_cut(void **state)
{
	char *abs = lb_asprintf("@lifeboat-test-sd-cut-%d", (int)getpid()), *got, text[2000];
	size_t len = 0;
	int a = bind_dgram(abs), fd;

	(void)state;
	memset(text, 'x', 1023);
	/* "é" at bytes 1023 and 1024: 1024 would split it */
	memcpy(text + 1023, "\xc3\xa9", 2);
	memset(text + 1025, 'y', 100);
	text[1125] = '\0';
	setenv("NOTIFY_SOCKET", abs, 1);
	lb_sd_init();
	assert_int_equal(lb_sd_status(text), 1);
	got = recv_dgram(a, 4096, &len, &fd);
	assert_int_equal(len, 7 + 1023);
	assert_memory_equal(got, "STATUS=", 7);
	assert_memory_equal(got + 7, text, 1023);
	free(got);
	close(a);
	free(abs);
}

static void test_not_systemd(void **state)
{
	struct lb_journal_field f = LB_JOURNAL_STR("MESSAGE", "not sent");

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	unsetenv("INVOCATION_ID");
	unsetenv("JOURNAL_STREAM");
	lb_sd_init();
	assert_false(lb_sd_running());
	assert_false(lb_sd_stderr_is_journal());
	assert_int_equal(lb_sd_notify("READY=1"), 0);
	assert_int_equal(lb_sd_status("nothing"), 0);
	assert_int_equal(lb_journal_send(&f, 1), 0);
	/* INVOCATION_ID alone: run by systemd, but no notify socket */
	setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef", 1);
	lb_sd_init();
	assert_true(lb_sd_running());
	assert_int_equal(lb_sd_status("nothing"), 0);
	unsetenv("INVOCATION_ID");
}

static void test_journal_stream(void **state)
{
	struct stat st;
	char *js;

	(void)state;
	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	js = lb_asprintf("%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", js, 1);
	lb_sd_init();
	assert_true(lb_sd_stderr_is_journal());
	assert_true(lb_sd_running());
	free(js);
	js = lb_asprintf("%llu:%llu", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", js, 1);
	lb_sd_init();
	assert_false(lb_sd_stderr_is_journal());
	setenv("JOURNAL_STREAM", "12:junk", 1);
	lb_sd_init();
	assert_false(lb_sd_stderr_is_journal());
	unsetenv("JOURNAL_STREAM");
	lb_sd_init();
	free(js);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_journal_dgram),
		cmocka_unit_test(test_journal_memfd),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_status_cut),
		cmocka_unit_test(test_not_systemd),
		cmocka_unit_test(test_journal_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
