// SPDX-License-Identifier: GPL-3.0-or-later
/* Small helpers shared by every file: memory, files, hex, SHA-256, child
 * processes, errors and tracing. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <linux/openat2.h>
#include <openssl/evp.h>

#include "base/base.h"

/* per thread: the scanner reads disks in parallel */
static __thread char errbuf[4096];

int lb_err(int err, const char *fmt, ...)
{
	char buf[sizeof(errbuf)];
	va_list ap;

	/* through a copy: the message may quote the previous one */
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	memcpy(errbuf, buf, sizeof(errbuf));
	lb_debug("error", "%s", errbuf);
	return err < 0 ? err : -err;
}

const char *lb_errmsg(void)
{
	return errbuf[0] ? errbuf : "unknown error";
}

static void oom(void)
{
	fputs("lifeboat: out of memory\n", stderr);
	abort();
}

void lb_freep(void *p)
{
	free(*(void **)p);
}

void lb_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

void lb_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

void *lb_zalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *lb_realloc_array(void *p, size_t n, size_t size)
{
	void *q;

	if (size && n > SIZE_MAX / size)
		oom();
	q = realloc(p, (n * size) != 0 ? n * size : 1);
	if (!q)
		oom();
	return q;
}

char *lb_strdup(const char *s)
{
	char *r;

	if (!s)
		return NULL;
	r = strdup(s);
	if (!r)
		oom();
	return r;
}

char *lb_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *r;

	va_start(ap, fmt);
	if (vasprintf(&r, fmt, ap) < 0)
		oom();
	va_end(ap);
	return r;
}

char *lb_strstrip(char *s)
{
	size_t n;

	if (!s)
		return NULL;
	while (*s == ' ' || *s == '\t' || *s == '\n')
		memmove(s, s + 1, strlen(s));
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

const char *lb_file_kind(mode_t mode)
{
	return S_ISREG(mode)	? "is a regular file"
	       : S_ISLNK(mode)	? "is a symbolic link"
	       : S_ISFIFO(mode) ? "is a FIFO"
	       : S_ISCHR(mode) || S_ISBLK(mode) ? "is a device"
	       : S_ISDIR(mode)	? "is a directory"
	       : S_ISSOCK(mode) ? "is a socket"
				: "is not a regular file";
}

/* Opens PATH for reading if it is a regular file: -EPERM for anything else
 * (a FIFO, which open would wait on forever; a device, whose driver an
 * open would wake; a directory), found before it is opened and checked
 * again after, with "PATH: is a FIFO" (lb_file_kind) in lb_errmsg(). The
 * open itself does not wait (O_NONBLOCK, cleared after). */
static int open_regular(const char *path, int flags, struct stat *ret_st)
{
	struct stat before, st;
	int fd, fl, e = 0;

	if (((flags & O_NOFOLLOW) ? lstat(path, &before) : stat(path, &before)) < 0)
		return -errno;
	if (!S_ISREG(before.st_mode))
		return lb_err(-EPERM, "%s: %s, not a regular file", path,
			      lb_file_kind(before.st_mode));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | flags);
	if (fd == -1 && errno == ELOOP && (flags & O_NOFOLLOW))
		return lb_err(-EPERM, "%s: %s, not a regular file", path, lb_file_kind(S_IFLNK));
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		e = -errno;
	else if (!S_ISREG(st.st_mode) || st.st_ino != before.st_ino || st.st_dev != before.st_dev)
		/* (swapped in between) */
		e = lb_err(-EPERM, "%s: %s, not a regular file", path,
			   S_ISREG(st.st_mode) ? "was swapped while opened" : lb_file_kind(st.st_mode));
	else if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		e = -errno;
	if (e < 0) {
		close(fd);
		return e;
	}
	if (ret_st)
		*ret_st = st;
	return fd;
}

int lb_open_artifact(const char *path)
{
	int fd = open_regular(path, O_NOFOLLOW, NULL);

	if (fd == -EPERM)
		return lb_err(-EPERM, "%s (a capture's files never are links, FIFOs or devices)",
			      lb_errmsg());
	if (fd < 0)
		return lb_err(fd, "%s: %s", path, strerror(-fd));
	return fd;
}

int lb_read_fd(int fd, char **ret, size_t max)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		ssize_t n;

		if (len + 4097 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = lb_realloc_array(buf, cap, 1);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (max && len > max)
			return -EFBIG;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	return (int)(len > INT32_MAX ? INT32_MAX : len);
}

int lb_read_file(const char *path, char **ret, size_t max)
{
	_cleanup_close_ int fd = open_regular(path, 0, NULL);

	if (fd < 0)
		return fd;
	return lb_read_fd(fd, ret, max);
}

int lb_read_line(const char *path, char **ret)
{
	char *s = NULL, *nl;
	int r = lb_read_file(path, &s, 1 << 20);

	if (r < 0)
		return r;
	nl = strchr(s, '\n');
	if (nl)
		*nl = '\0';
	lb_strstrip(s);
	*ret = s;
	return 0;
}

int lb_read_u64(const char *path, uint64_t *ret)
{
	_cleanup_free_ char *s = NULL;
	int r = lb_read_line(path, &s);

	if (r < 0)
		return r;
	return lb_parse_u64(s, ret);
}

int lb_write_file(const char *path, const void *buf, size_t len, int mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	int r;

	if (fd < 0)
		return -errno;
	r = lb_pwrite_all(fd, buf, len, 0);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r >= 0)
		r = -errno;
	return r;
}

int lb_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENODATA;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int lb_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;	/* no progress: never spin */
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int lb_parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	/* decimal only: "0100" is a hundred, never octal */
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int lb_parse_u32(const char *s, uint32_t *ret)
{
	uint64_t v;
	int r = lb_parse_u64(s, &v);

	if (r < 0)
		return r;
	if (v > UINT32_MAX)
		return -ERANGE;
	*ret = (uint32_t)v;
	return 0;
}

bool lb_is_zero(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/* True for well-formed UTF-8 that XML 1.0 can carry and a terminal can show:
 * no control characters. */
bool lb_utf8_is_printable(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		uint32_t cp;
		int n;

		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				return false;
			p++;
			continue;
		} else if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f;
			n = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f;
			n = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p & 0x07;
			n = 3;
		} else
			return false;
		p++;
		for (int i = 0; i < n; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (*p & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff ||
		    (cp >= 0x80 && cp < 0xa0))
			return false;
	}
	return true;
}

char *lb_hex_encode(const void *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = buf;
	char *r = lb_zalloc(len * 2 + 1);

	for (size_t i = 0; i < len; i++) {
		r[2 * i] = digits[p[i] >> 4];
		r[2 * i + 1] = digits[p[i] & 15];
	}
	return r;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int lb_hex_decode(const char *hex, uint8_t **ret, size_t *ret_len)
{
	size_t n = strlen(hex);
	uint8_t *r;

	if (n % 2)
		return -EINVAL;
	r = lb_zalloc(n / 2 + 1);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(r);
			return -EINVAL;
		}
		r[i] = (uint8_t)(hi << 4 | lo);
	}
	*ret = r;
	*ret_len = n / 2;
	return 0;
}

static void digest_hex(EVP_MD_CTX *ctx, char ret[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char *hex;

	EVP_DigestFinal_ex(ctx, md, &mdlen);
	hex = lb_hex_encode(md, mdlen);
	memcpy(ret, hex, 65);
	free(hex);
}

int lb_sha256_buf(const void *buf, size_t len, char ret[65])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(ctx);
		return lb_err(-ENOMEM, "cannot set up SHA-256");
	}
	EVP_DigestUpdate(ctx, buf, len);
	digest_hex(ctx, ret);
	EVP_MD_CTX_free(ctx);
	return 0;
}

/* Hashes len bytes at off, or to the end of the file when len is
 * UINT64_MAX. */
int lb_sha256_fd(int fd, uint64_t off, uint64_t len, char ret[65])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t bufsz = 1 << 20;
	_cleanup_free_ uint8_t *buf = lb_zalloc(bufsz);
	int r = 0;

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(ctx);
		return lb_err(-ENOMEM, "cannot set up SHA-256");
	}
	while (len) {
		size_t want = len < bufsz ? (size_t)len : bufsz;
		ssize_t n = pread(fd, buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0) {
			if (len != UINT64_MAX)
				r = -ENODATA;
			break;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		off += (uint64_t)n;
		if (len != UINT64_MAX)
			len -= (uint64_t)n;
	}
	if (r >= 0)
		digest_hex(ctx, ret);
	EVP_MD_CTX_free(ctx);
	return r;
}

int lb_sha256_file(const char *path, char ret[65], uint64_t *ret_size)
{
	/* an artifact is a plain file, never a device, FIFO or link */
	struct stat st;
	_cleanup_close_ int fd = open_regular(path, O_NOFOLLOW, &st);

	if (fd < 0)
		return fd;
	if (ret_size)
		*ret_size = (uint64_t)st.st_size;
	return lb_sha256_fd(fd, 0, UINT64_MAX, ret);
}

int lb_mkdir_p(const char *path, int mode)
{
	_cleanup_free_ char *p = lb_strdup(path);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

int lb_rm_rf(const char *path)
{
	if (nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

char *lb_utc_now(void)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	time_t t = time(NULL);
	struct tm tm;
	char buf[64];

	if (sde && *sde) {
		uint64_t v;

		if (lb_parse_u64(sde, &v) == 0)
			t = (time_t)v;
	}
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return lb_strdup(buf);
}

/* Finds the kernel's name for a block device node or sysfs name, and
 * whether it is a partition. */
int lb_dev_sysname(const char *dev, char **ret_sysname, bool *ret_is_partition)
{
	struct stat st;
	char link[PATH_MAX], path[128];
	ssize_t n;
	const char *base;

	if (!strchr(dev, '/')) {
		_cleanup_free_ char *p = lb_asprintf("/sys/class/block/%s", dev);

		if (access(p, F_OK) < 0)
			return lb_err(-ENOENT, "%s: no such block device", dev);
		*ret_sysname = lb_strdup(dev);
		if (ret_is_partition) {
			_cleanup_free_ char *pp = lb_asprintf("/sys/class/block/%s/partition", dev);

			*ret_is_partition = access(pp, F_OK) == 0;
		}
		return 0;
	}
	if (stat(dev, &st) < 0)
		return lb_err(-errno, "%s: %s", dev, strerror(errno));
	if (!S_ISBLK(st.st_mode))
		return lb_err(-ENOTBLK, "%s: not a block device", dev);
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u", major(st.st_rdev), minor(st.st_rdev));
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return lb_err(-errno, "%s: not known to sysfs: %s", dev, strerror(errno));
	link[n] = '\0';
	base = strrchr(link, '/');
	*ret_sysname = lb_strdup(base ? base + 1 : link);
	if (ret_is_partition) {
		_cleanup_free_ char *pp = lb_asprintf("%s/partition", path);

		*ret_is_partition = access(pp, F_OK) == 0;
	}
	return 0;
}

/* A copy for places that take printable text only: every byte that is not
 * part of printable UTF-8 becomes '?'. */
char *lb_printable_copy(const char *s)
{
	char *r = lb_strdup(s);

	if (lb_utf8_is_printable(r))
		return r;
	for (unsigned char *p = (unsigned char *)r; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			*p = '?';
	return r;
}

/* For showing untrusted text on a terminal: printable UTF-8 as it is,
 * anything else (control characters, stray bytes) as \xNN. Returns one of a
 * small ring of buffers, valid until the eighth call after. */
const char *lb_esc(const char *s)
{
	static char *ring[8];
	static unsigned next;
	char *out, *o;
	bool ok;

	if (!s)
		return "";
	ok = lb_utf8_is_printable(s);
	free(ring[next % 8]);
	out = lb_zalloc(strlen(s) * 4 + 1);
	o = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\\') {
			*o++ = '\\';
			*o++ = '\\';
		} else if (*p < 0x20 || *p == 0x7f || (!ok && *p >= 0x80))
			o += sprintf(o, "\\x%02x", *p);
		else
			*o++ = (char)*p;
	}
	ring[next++ % 8] = out;
	return out;
}

/* mountinfo, /proc/swaps and fstab write a space, tab, newline or backslash
 * as \ooo */
char *lb_unescape_octal(const char *s)
{
	char *r = lb_zalloc(strlen(s) + 1), *o = r;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	return r;
}

/* udev's escapes in /dev/disk/by-label names: \xNN for each byte that is
 * not a plain character ("my\x20disk"). */
char *lb_udev_unescape(const char *s)
{
	char *r = lb_zalloc(strlen(s) + 1), *o = r;

	while (*s) {
		unsigned v;

		if (s[0] == '\\' && s[1] == 'x' && strspn(s + 2, "0123456789abcdefABCDEF") >= 2 &&
		    sscanf(s + 2, "%2x", &v) == 1 && v) {
			*o++ = (char)v;
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	return r;
}

/* Mounts NODE (TYPE) on a new directory under /tmp. A read-only mount
 * replays no journal, so nothing is written: ext3/ext4 with noload, xfs
 * with norecovery, btrfs with nologreplay (a btrfs that refuses it is not
 * mounted); it is also noexec, and made from a read-only loop device over
 * NODE, which nothing the filesystem does on mounting can write through
 * (ext4 frees orphan inodes on a read-only mount, journal or not, unless
 * its device is read-only). Every mount is nosuid and nodev. Undo with
 * lb_umount_tmp (the loop device goes with the mount). */
int lb_mount_tmp(const char *node, const char *type, bool readonly, char **ret_dir)
{
	const char *data = NULL, *src = node;
	_cleanup_free_ char *loop = NULL;
	/* nosuid, nodev always: a device node or set-id program in the
	 * volume's contents (a restored capture's) is never a way out of it */
	unsigned long flags = MS_NOSUID | MS_NODEV | (readonly ? MS_RDONLY | MS_NOEXEC : 0);
	char *tmpl = NULL;
	int r, lfd = -1;

	if (readonly && (strcmp(type, "ext3") == 0 || strcmp(type, "ext4") == 0))
		data = "noload";
	else if (readonly && strcmp(type, "xfs") == 0)
		data = "norecovery";
	else if (readonly && strcmp(type, "btrfs") == 0)
		data = "rescue=nologreplay";
	if (readonly) {
		r = lb_loop_attach_ro(node, &loop, &lfd);
		if (r < 0)
			return lb_err(r, "cannot read %s through a read-only loop device: %s", node,
				      lb_errmsg());
		src = loop;
	}
	r = lb_mount_dir_new(&tmpl);
	if (r < 0) {
		lb_loop_detach(lfd);
		return r;
	}
	r = mount(src, tmpl, type, flags, data);
	if (r < 0 && errno == EINVAL && data && strcmp(data, "rescue=nologreplay") == 0)
		r = mount(src, tmpl, type, flags, "nologreplay");	/* before Linux 5.9 */
	if (r < 0) {
		int e = errno;

		lb_mount_dir_drop(tmpl);
		free(tmpl);
		lb_loop_detach(lfd);
		if (lfd >= 0 && strcmp(type, "btrfs") == 0)
			lb_loop_btrfs_rescan(node);	/* (the mount scanned the loop) */
		return lb_err(-e, "cannot mount %s (%s): %s", node, type, strerror(e));
	}
	/* (the mount holds the loop device now: autoclear detaches it when
	 * the mount goes) */
	if (lfd >= 0 && strcmp(type, "btrfs") == 0)
		lb_loop_btrfs_mounted(tmpl, node);
	if (lfd >= 0)
		close(lfd);
	*ret_dir = tmpl;
	return 0;
}

int lb_mounts_private(void)
{
	if (unshare(CLONE_NEWNS) < 0)
		return lb_err(-errno, "cannot make a mount namespace: %s", strerror(errno));
	/* the machine's mounts still come in (in-use checks see them) */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return lb_err(-errno, "cannot make this process's mounts its own: %s", strerror(errno));
	return 0;
}

/* Unmounts and removes what lb_mount_tmp made, and frees DIR. */
int lb_umount_tmp(char *dir)
{
	int r = 0;

	if (!dir)
		return 0;
	if (umount(dir) < 0) {
		r = lb_err(-errno, "cannot unmount %s: %s", dir, strerror(errno));
	} else {
		lb_mount_dir_drop(dir);
		lb_loop_btrfs_unmounted(dir);
	}
	free(dir);
	return r;
}

const char *lb_log_dir(void)
{
	const char *d = getenv("LIFEBOAT_LOG_DIR");

	return d && *d ? d : "/var/log/lifeboat";
}
