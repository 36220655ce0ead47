/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A file read once, front to back (seqread.c): by a thread of its own that
 * stays a few blocks ahead, without the page cache where the file system
 * allows it. */
#ifndef LIFEBOAT_SEQREAD_H
#define LIFEBOAT_SEQREAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lb_seq;
/* fd stays the caller's (it is reopened, not taken); size is where the
 * reading stops. */
int lb_seq_open(int fd, uint64_t size, struct lb_seq **ret);
/* The next len bytes into buf. 0, -ENODATA past the end, or the read's
 * -errno; after an error the position is undefined: stop reading. */
int lb_seq_read(struct lb_seq *s, void *buf, size_t len);
/* Where the next lb_seq_read starts. */
uint64_t lb_seq_pos(const struct lb_seq *s);
void lb_seq_close(struct lb_seq *s);

/* The same file opened again with O_DIRECT, or -1 where it cannot be. */
int lb_direct_reopen(int fd);
/* Up to len bytes at off into buf, through *dfd (from lb_direct_reopen)
 * when it is not -1, else through fd: the count read (less than len only at
 * the file's end) or -errno. buf and off must be 4096-aligned and buf have
 * room for len rounded up to 4096. A direct read that fails (a file system
 * that refuses the alignment, or O_DIRECT on this file, or an error) has
 * *dfd closed and set to -1: it and the rest go through fd, whose errors
 * are returned. */
ssize_t lb_pread_direct(int *dfd, int fd, void *buf, size_t len, uint64_t off);

#endif
