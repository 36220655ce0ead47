/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Queues and worker threads (queue.c): the one way lifeboat's threads hand
 * work to each other.
 *
 * lb_queue: a bounded, blocking, closable FIFO of pointers. A push waits
 * while the queue is full, a pop while it is empty. Closing says "nothing
 * more comes": pops still take what is queued, then get 0. Cancelling says
 * "stop": every push and pop returns -ECANCELED at once, what is queued
 * stays with its owner. Two variants of the same object:
 *   - weighted (lb_queue_set_max_weight): besides the count, the sum of the
 *     items' weights is bounded (a byte window); a single item heavier than
 *     the bound still goes into an empty queue, and an item of weight 0
 *     needs only room in the count;
 *   - ordered (lb_queue_new_ordered): items are pushed with a sequence
 *     number (0, 1, 2, ...) in any order and popped in sequence; a push
 *     waits while its number is cap or more ahead of the next to be
 *     popped; lb_queue_close_at(q, end) closes it after number end - 1.
 *
 * lb_pool: threads running job functions, each once (typically a loop
 * popping a queue). The first error (a function returning < 0, or
 * lb_pool_fail) wins: it is kept with its message and the queues the pool
 * watches are cancelled, so every other thread returns; lb_pool_wait joins
 * them and returns it, its message in lb_errmsg() of the caller.
 *
 * Returns: 0 or a count on success, < 0 (-errno) on error.
 */
#ifndef LIFEBOAT_BASE_QUEUE_H
#define LIFEBOAT_BASE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lb_queue;

/* A FIFO of at most cap (>= 1) items. */
struct lb_queue *lb_queue_new(size_t cap);
/* Items taken in sequence (lb_queue_push_seq); at most cap in flight. */
struct lb_queue *lb_queue_new_ordered(size_t cap);
/* The sum of the weights of the items queued stays <= max (0: no bound);
 * set before the first push. */
void lb_queue_set_max_weight(struct lb_queue *q, uint64_t max);
void lb_queue_free(struct lb_queue *q);
/* The same, with free_item called on every item still held (once nobody
 * uses the queue: after a cancel, say). */
void lb_queue_free_all(struct lb_queue *q, void (*free_item)(void *));

/* Returns: 0; -EPIPE once closed, -ECANCELED once cancelled. */
int lb_queue_push(struct lb_queue *q, void *item);
int lb_queue_push_weighted(struct lb_queue *q, void *item, uint64_t weight);
/* As lb_queue_push, without waiting: -EAGAIN when it is full. */
int lb_queue_try_push(struct lb_queue *q, void *item);
/* Ordered queues: seq must not have been pushed or popped already
 * (-EINVAL). */
int lb_queue_push_seq(struct lb_queue *q, uint64_t seq, void *item);

/* Returns: 1 and the next item; 0 when the queue is closed and nothing is
 * left; -ECANCELED once cancelled. */
int lb_queue_pop(struct lb_queue *q, void **ret);
/* As lb_queue_pop, without waiting: -EAGAIN when nothing is ready. */
int lb_queue_try_pop(struct lb_queue *q, void **ret);

/* Nothing more will be pushed (a FIFO), or nothing numbered end or more (an
 * ordered queue). */
void lb_queue_close(struct lb_queue *q);
void lb_queue_close_at(struct lb_queue *q, uint64_t end);
void lb_queue_cancel(struct lb_queue *q);
/* Items queued now (a FIFO) or ready and waiting (an ordered queue). */
size_t lb_queue_count(struct lb_queue *q);

struct lb_pool;
/* idx: the thread's number among those started with the same call. */
typedef int (*lb_job_fn)(void *ud, unsigned idx);

struct lb_pool *lb_pool_new(void);
/* q is cancelled on the first error (and by lb_pool_cancel); it must
 * outlive the pool's threads. */
void lb_pool_watch(struct lb_pool *p, struct lb_queue *q);
/* n threads running fn(ud, 0 .. n-1). Returns: 0, or -EAGAIN with a
 * message when not all could start (those started run on). */
int lb_pool_start(struct lb_pool *p, size_t n, lb_job_fn fn, void *ud);
/* The threads started so far. */
size_t lb_pool_size(const struct lb_pool *p);
/* From any thread: err (< 0) is the pool's error unless one came first;
 * its message is the calling thread's lb_errmsg(). Cancels the watched
 * queues. Returns err. */
int lb_pool_fail(struct lb_pool *p, int err);
/* Without waiting: 0, or the first error (its message set here). */
int lb_pool_error(struct lb_pool *p);
/* Cancels the watched queues, without an error. */
void lb_pool_cancel(struct lb_pool *p);
/* Joins every thread. Returns: 0, or the first error (message set here). */
int lb_pool_wait(struct lb_pool *p);
/* Cancels, joins and frees; NULL is fine. */
void lb_pool_free(struct lb_pool *p);

#endif
