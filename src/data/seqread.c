// SPDX-License-Identifier: GPL-3.0-or-later
/* A capture's data file read front to back, once: what restore and verify
 * do with it. Through the page cache that costs more CPU than the copy
 * itself (every page allocated, inserted, evicted again; on a 2-core VM a
 * cold 2.2 GB file read in 4 MiB blocks took 2.7 s buffered against 1.2 s
 * with O_DIRECT), and the file is not read again soon enough to be worth
 * caching. So a thread of its own reads it in aligned blocks with O_DIRECT,
 * a few blocks ahead of the consumer, who copies out what it asks for. A
 * file system that refuses O_DIRECT (or its alignment) is read through the
 * cache instead, the same way. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "data/seqread.h"

#define SEQ_SLOTS 4
#define SEQ_BLOCK (4u << 20)
#define SEQ_ALIGN 4096u

struct seq_slot {
	uint8_t *buf;
	size_t len;
	int err;
};

/* The slots go round two queues: the filler takes an empty one from
 * free, reads into it and puts it on full; the consumer takes it from
 * full, copies out of it and gives it back to free. */
struct lb_seq {
	int fd;			/* the caller's */
	int dfd;		/* the same with O_DIRECT, or -1 (the filler's) */
	uint64_t size;
	struct seq_slot slots[SEQ_SLOTS];
	struct lb_queue *free, *full;
	struct lb_pool *pool;	/* the filler */
	uint64_t fill_off;	/* the filler's */
	/* the consumer's: */
	struct seq_slot *cur;
	size_t in_off;		/* bytes of cur taken */
	uint64_t pos;
};

int lb_direct_reopen(int fd)
{
	char path[64];

	if (getenv("LIFEBOAT_NO_DIRECT"))
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, O_RDONLY | O_CLOEXEC | O_DIRECT);
}

ssize_t lb_pread_direct(int *dfd, int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	size_t got = 0, want = (len + SEQ_ALIGN - 1) / SEQ_ALIGN * SEQ_ALIGN;

	while (*dfd >= 0 && got < len && got % SEQ_ALIGN == 0) {
		ssize_t n = pread(*dfd, p + got, want - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* refused (EINVAL: the alignment; EOPNOTSUPP: ntfs3 on
			 * a compressed file; ...) or failed: the cache, from
			 * now on, which reports what it too cannot read */
			close(*dfd);
			*dfd = -1;
			break;
		}
		if (n == 0)
			return (ssize_t)got;
		got += (size_t)n;
	}
	/* through the cache; also the unaligned rest after a short read */
	while (got < len) {
		ssize_t n = pread(fd, p + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)(got < len ? got : len);
}

/* The filler: block after block into the slots, until the size, an error
 * or the file's end before the size said; then it closes full. */
static int seq_fill(void *ud, unsigned idx)
{
	struct lb_seq *s = ud;
	void *p;
	int r;

	(void)idx;
	while (s->fill_off < s->size) {
		struct seq_slot *slot;
		size_t n;
		ssize_t got;

		r = lb_queue_pop(s->free, &p);
		if (r <= 0)
			return r;
		slot = p;
		n = s->size - s->fill_off < SEQ_BLOCK ? (size_t)(s->size - s->fill_off) : SEQ_BLOCK;
		got = lb_pread_direct(&s->dfd, s->fd, slot->buf, n, s->fill_off);
		slot->len = got < 0 ? 0 : (size_t)got;
		slot->err = got < 0 ? (int)got : 0;
		s->fill_off += n;
		r = lb_queue_push(s->full, slot);
		if (r < 0)
			return r;
		/* an error, or the file's end before the size said, is the
		 * last thing read: the consumer gets what came before it */
		if (got < (ssize_t)n)
			break;
	}
	lb_queue_close(s->full);
	return 0;
}

int lb_seq_open(int fd, uint64_t size, struct lb_seq **ret)
{
	struct lb_seq *s = lb_zalloc(sizeof(*s));

	s->fd = fd;
	s->size = size;
	s->dfd = lb_direct_reopen(fd);
	s->free = lb_queue_new(SEQ_SLOTS);
	s->full = lb_queue_new(SEQ_SLOTS);
	for (unsigned i = 0; i < SEQ_SLOTS; i++) {
		if (posix_memalign((void **)&s->slots[i].buf, SEQ_ALIGN, SEQ_BLOCK) != 0) {
			lb_seq_close(s);
			return lb_err(-ENOMEM, "out of memory for the read-ahead buffers");
		}
		lb_queue_push(s->free, &s->slots[i]);
	}
	s->pool = lb_pool_new();
	lb_pool_watch(s->pool, s->free);
	lb_pool_watch(s->pool, s->full);
	if (lb_pool_start(s->pool, 1, seq_fill, s) < 0) {
		lb_seq_close(s);
		return lb_err(-EAGAIN, "cannot start the read-ahead thread");
	}
	*ret = s;
	return 0;
}

/* After an error nothing more is read: the error again. */
int lb_seq_read(struct lb_seq *s, void *buf, size_t len)
{
	uint8_t *p = buf;

	if (len > s->size - s->pos)
		return -ENODATA;
	while (len) {
		size_t take;

		if (!s->cur) {
			void *slot;

			if (lb_queue_pop(s->full, &slot) <= 0)
				return -ENODATA;
			s->cur = slot;
			s->in_off = 0;
		}
		if (s->cur->err < 0)
			return s->cur->err;
		if (s->cur->len == 0)
			return -ENODATA;
		take = s->cur->len - s->in_off < len ? s->cur->len - s->in_off : len;
		memcpy(p, s->cur->buf + s->in_off, take);
		p += take;
		len -= take;
		s->in_off += take;
		s->pos += take;
		if (s->in_off == s->cur->len) {
			lb_queue_push(s->free, s->cur);
			s->cur = NULL;
		}
	}
	return 0;
}

uint64_t lb_seq_pos(const struct lb_seq *s)
{
	return s->pos;
}

void lb_seq_close(struct lb_seq *s)
{
	if (!s)
		return;
	lb_pool_free(s->pool);
	lb_queue_free(s->free);
	lb_queue_free(s->full);
	for (unsigned i = 0; i < SEQ_SLOTS; i++)
		free(s->slots[i].buf);
	if (s->dfd >= 0)
		close(s->dfd);
	free(s);
}
