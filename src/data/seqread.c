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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "data/seqread.h"

#define SEQ_SLOTS 4
#define SEQ_BLOCK (4u << 20)
#define SEQ_ALIGN 4096u

struct lb_seq {
	int fd;			/* the caller's */
	int dfd;		/* the same with O_DIRECT, or -1 */
	uint64_t size;
	uint8_t *buf[SEQ_SLOTS];
	size_t len[SEQ_SLOTS];
	int err[SEQ_SLOTS];
	/* under lock: */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned head, n_full;	/* the consumer's slot; slots filled */
	bool filler_done, stop;
	/* the filler's: */
	uint64_t fill_off;
	/* the consumer's: */
	size_t in_off;		/* bytes of the head slot taken */
	uint64_t pos;
	pthread_t thread;
	bool has_thread;
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

static void *seq_main(void *arg)
{
	struct lb_seq *s = arg;

	for (;;) {
		unsigned slot;
		size_t n;
		ssize_t got;
		bool last;

		pthread_mutex_lock(&s->lock);
		while (s->n_full == SEQ_SLOTS && !s->stop)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->stop || s->fill_off >= s->size) {
			s->filler_done = true;
			pthread_cond_broadcast(&s->cond);
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		slot = (s->head + s->n_full) % SEQ_SLOTS;
		pthread_mutex_unlock(&s->lock);

		n = s->size - s->fill_off < SEQ_BLOCK ? (size_t)(s->size - s->fill_off) : SEQ_BLOCK;
		got = lb_pread_direct(&s->dfd, s->fd, s->buf[slot], n, s->fill_off);
		/* an error, or the file's end before the size said, is the
		 * last thing read: the consumer gets what came before it */
		last = got < (ssize_t)n;

		pthread_mutex_lock(&s->lock);
		s->len[slot] = got < 0 ? 0 : (size_t)got;
		s->err[slot] = got < 0 ? (int)got : 0;
		s->fill_off += n;
		s->n_full++;
		if (last)
			s->filler_done = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		if (last)
			return NULL;
	}
}

int lb_seq_open(int fd, uint64_t size, struct lb_seq **ret)
{
	struct lb_seq *s = lb_zalloc(sizeof(*s));

	s->fd = fd;
	s->size = size;
	s->dfd = lb_direct_reopen(fd);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	for (unsigned i = 0; i < SEQ_SLOTS; i++)
		if (posix_memalign((void **)&s->buf[i], SEQ_ALIGN, SEQ_BLOCK) != 0) {
			lb_seq_close(s);
			return lb_err(-ENOMEM, "out of memory for the read-ahead buffers");
		}
	if (pthread_create(&s->thread, NULL, seq_main, s) != 0) {
		lb_seq_close(s);
		return lb_err(-EAGAIN, "cannot start the read-ahead thread");
	}
	s->has_thread = true;
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
		unsigned slot;
		size_t take;

		pthread_mutex_lock(&s->lock);
		while (s->n_full == 0 && !s->filler_done)
			pthread_cond_wait(&s->cond, &s->lock);
		slot = s->head;
		take = s->n_full;
		pthread_mutex_unlock(&s->lock);
		if (take == 0)
			return -ENODATA;
		if (s->err[slot] < 0)
			return s->err[slot];
		if (s->len[slot] == 0)
			return -ENODATA;
		take = s->len[slot] - s->in_off < len ? s->len[slot] - s->in_off : len;
		memcpy(p, s->buf[slot] + s->in_off, take);
		p += take;
		len -= take;
		s->in_off += take;
		s->pos += take;
		if (s->in_off == s->len[slot]) {
			pthread_mutex_lock(&s->lock);
			s->head = (s->head + 1) % SEQ_SLOTS;
			s->n_full--;
			s->in_off = 0;
			pthread_cond_broadcast(&s->cond);
			pthread_mutex_unlock(&s->lock);
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
	if (s->has_thread) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	for (unsigned i = 0; i < SEQ_SLOTS; i++)
		free(s->buf[i]);
	if (s->dfd >= 0)
		close(s->dfd);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
