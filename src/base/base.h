/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * lifeboat — bare-metal system recovery for Linux.
 *
 * The base layer, under every other (HACKING.md draws the layers): memory,
 * errors and tracing, files, checksums, running programs, loop devices;
 * the reporter (report.h) and queues and worker threads (queue.h).
 *
 * Conventions: functions return int, >= 0 on success and -errno on failure;
 * on failure they leave a message for the user in lb_errmsg(). Constructors
 * and lookups return NULL when there is nothing. Destructors accept NULL.
 */
#ifndef LIFEBOAT_BASE_BASE_H
#define LIFEBOAT_BASE_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#define _printf_(a, b) __attribute__((format(printf, a, b)))

#include "base/report.h"
#include "base/queue.h"

/* ---- utilities (util.c) ---------------------------------------------- */

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(lb_freep)
#define _cleanup_close_ _cleanup_(lb_closep)
#define _cleanup_fclose_ _cleanup_(lb_fclosep)
#define LB_ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))

static inline void *lb_take_ptr_(void *pp)
{
	void **p = pp, *r = *p;
	*p = NULL;
	return r;
}
#define TAKE_PTR(p) lb_take_ptr_(&(p))

void lb_freep(void *p);
void lb_closep(int *fd);
void lb_fclosep(FILE **f);

/* The last error's message, for the user. Core code sets it; cmd code
 * prints it. */
int lb_err(int err, const char *fmt, ...) _printf_(2, 3);
const char *lb_errmsg(void);

/* lb_info, lb_warn, lb_debug and progress: the reporter (report.h). */

char *lb_strdup(const char *s);		/* NULL-safe, aborts on ENOMEM */
char *lb_asprintf(const char *fmt, ...) _printf_(1, 2);
void *lb_zalloc(size_t n);
void *lb_realloc_array(void *p, size_t n, size_t size);
char *lb_strstrip(char *s);
/* "is a symbolic link", "is a FIFO", "is a device", "is a directory", ... */
const char *lb_file_kind(mode_t mode);
/* -EPERM when PATH is not a regular file (a FIFO is never waited on), with
 * "PATH: is a FIFO" (what it is) in lb_errmsg(). */
int lb_read_file(const char *path, char **ret, size_t max);
/* The rest of an open file, at most max bytes (-EFBIG beyond); its length. */
int lb_read_fd(int fd, char **ret, size_t max);
/* A capture's file, for reading: a regular file, not through a symlink;
 * the fd, or < 0 with lb_err() said. */
int lb_open_artifact(const char *path);
int lb_read_line(const char *path, char **ret);	/* first line, stripped */
int lb_read_u64(const char *path, uint64_t *ret);
int lb_write_file(const char *path, const void *buf, size_t len, int mode);
int lb_pread_all(int fd, void *buf, size_t len, uint64_t off);
int lb_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
int lb_parse_u64(const char *s, uint64_t *ret);
int lb_parse_u32(const char *s, uint32_t *ret);
bool lb_is_zero(const void *buf, size_t len);
bool lb_utf8_is_printable(const char *s);
char *lb_printable_copy(const char *s);
const char *lb_esc(const char *s);
char *lb_unescape_octal(const char *s);
char *lb_udev_unescape(const char *s);
int lb_mount_tmp(const char *node, const char *type, bool readonly, char **ret_dir);
int lb_umount_tmp(char *dir);
/* ---- directories held by their maker (held.c) ---------------------------- */
#define LB_HELD_TAG_LEN 8
/* Makes PREFIX followed by a tag of 8 hex digits drawn at random (PREFIX
 * ends in "."), with MODE, locked: flock, exclusive, on the directory
 * itself, held for as long as *ret_fd is open (O_CLOEXEC). What a process
 * in any PID namespace tells a running maker's directory by. */
int lb_held_mkdir(const char *prefix, mode_t mode, char **ret_path, int *ret_fd);
/* Whether S is such a tag. */
bool lb_held_is_tag(const char *s);
/* Such a tag, drawn at random, into ret (NUL-terminated): 0 or -errno. */
int lb_held_tag(char ret[LB_HELD_TAG_LEN + 1]);
/* NAME in DIRFD, made by lb_held_mkdir: 1 and its fd, locked here, when no
 * process holds it (its maker is gone: the caller removes it, then closes
 * the fd); 0 when one does; -errno when it cannot be opened. */
int lb_held_take(int dirfd, const char *name, int *ret_fd);
/* A new mount point, /tmp/lifeboat-mnt.PID.TAG, held until
 * lb_mount_dir_drop; the empty ones of processes gone removed first. */
int lb_mount_dir_new(char **ret_dir);
/* Removes DIR (lb_mount_dir_new's, nothing mounted on it), and its lock. */
void lb_mount_dir_drop(const char *dir);
/* Gives this process (still single-threaded) a mount namespace of its own
 * that receives the machine's mounts but shows it none of its own: what
 * lb_mount_tmp mounts goes when the process ends, killed or not (a
 * killed restore left a volume mounted under /tmp, busy, its disk in use). */
int lb_mounts_private(void);
bool lb_type_is_ext(const char *type);
char *lb_hex_encode(const void *buf, size_t len);
int lb_hex_decode(const char *hex, uint8_t **ret, size_t *ret_len);
int lb_sha256_fd(int fd, uint64_t off, uint64_t len, char ret[65]);
int lb_sha256_buf(const void *buf, size_t len, char ret[65]);
/* A plain file's, never through a link: -EPERM as lb_read_file's. */
int lb_sha256_file(const char *path, char ret[65], uint64_t *ret_size);
int lb_mkdir_p(const char *path, int mode);
/* Directories and files inside a filesystem this program did not make the
 * contents of (a restored root): REL is resolved below ROOTFD as openat2's
 * RESOLVE_IN_ROOT does, so no "..", symlink or mount leads out of it.
 * lb_open_in_root opens it (never a magic link; a FIFO or a tty does not
 * block or become the controlling terminal);
 * lb_open_file_in_root opens it only when it is a regular file, its stat
 * in *ret_st; -EINVAL for anything else, which is never opened (a device
 * node's open may do something: start a watchdog, rewind a tape);
 * lb_mkdir_in_root makes what is missing of REL and returns its directory
 * fd; lb_write_file_in_root writes DIR/NAME as a new file renamed into
 * place (a link or node planted at NAME is replaced, never written to). */
int lb_open_in_root(int rootfd, const char *rel, int flags);
int lb_open_file_in_root(int rootfd, const char *rel, int flags, struct stat *ret_st);
int lb_mkdir_in_root(int rootfd, const char *rel, int mode);
int lb_write_file_in_root(int rootfd, const char *dir, const char *name, const void *buf, size_t len,
			  int mode);
int lb_rm_rf(const char *path);
char *lb_utc_now(void);
/* Where restores keep their logs and what they left unfinished:
 * LIFEBOAT_LOG_DIR, or /var/log/lifeboat. */
const char *lb_log_dir(void);
/* /dev/sdX or /dev/loopN, resolved to the kernel's name of a whole disk */
int lb_dev_sysname(const char *dev, char **ret_sysname, bool *ret_is_partition);

/* ---- running programs (spawn.c) --------------------------------------- */

#include "base/spawn.h"
#include "base/crypt.h"

/* ---- loop devices (loopdev.c) ----------------------------------------- */

int lb_loop_attach(const char *file, uint32_t sector_size, char **ret_path, int *ret_fd);
int lb_loop_attach_ro(const char *node, char **ret_path, int *ret_fd);
int lb_loop_detach(int fd);
/* After a read-only loop device over NODE held its btrfs: the kernel's
 * list of btrfs devices names NODE again, not the loop (loopdev.c). */
void lb_loop_btrfs_rescan(const char *node);
/* A btrfs on NODE mounted on DIR through a read-only loop device: once DIR
 * is unmounted (lb_umount_tmp), lb_loop_btrfs_rescan(NODE). */
void lb_loop_btrfs_mounted(const char *dir, const char *node);
void lb_loop_btrfs_unmounted(const char *dir);

/* ---- one lifeboat at a time (lock.c) ---------------------------------- */

/* Takes the lock of the commands that write (restore, capture, drill): an
 * exclusive flock on $LIFEBOAT_LOCK, else /run/lifeboat.lock (/tmp without
 * /run), held until the process ends. WHAT ("restore") is what a second
 * one is told is running. Returns the lock's fd (left open), -EBUSY with
 * "another lifeboat restore (pid N) is running" in lb_errmsg() when it is
 * taken, or another -errno. */
int lb_lock_take(const char *what);

#endif
