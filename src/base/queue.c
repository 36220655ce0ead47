// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Queues and worker threads (queue.h says what each call promises). One
 * mutex per queue, one condition for "something to pop" and one for "room
 * to push"; close and cancel wake everybody. The pool's lock is taken
 * before a queue's (lb_pool_fail cancels its queues under it), never after.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

struct lb_queue {
	pthread_mutex_t lock;
	pthread_cond_t can_pop, can_push;
	size_t cap;
	void **items;
	uint64_t *weights;	/* FIFO: each item's */
	bool *full;		/* ordered: the slot holds its item */
	bool ordered;
	size_t head, n;		/* FIFO: the oldest item's slot; items held */
	uint64_t next;		/* ordered: the number popped next */
	uint64_t end;		/* ordered, once closed: nothing from here on */
	uint64_t weight, max_weight;
	bool closed, cancelled;
};

static struct lb_queue *queue_new(size_t cap, bool ordered)
{
	struct lb_queue *q = lb_zalloc(sizeof(*q));

	q->cap = cap ? cap : 1;
	q->ordered = ordered;
	q->items = lb_zalloc(q->cap * sizeof(*q->items));
	if (ordered)
		q->full = lb_zalloc(q->cap * sizeof(*q->full));
	else
		q->weights = lb_zalloc(q->cap * sizeof(*q->weights));
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->can_pop, NULL);
	pthread_cond_init(&q->can_push, NULL);
	return q;
}

struct lb_queue *lb_queue_new(size_t cap)
{
	return queue_new(cap, false);
}

struct lb_queue *lb_queue_new_ordered(size_t cap)
{
	return queue_new(cap, true);
}

void lb_queue_set_max_weight(struct lb_queue *q, uint64_t max)
{
	pthread_mutex_lock(&q->lock);
	q->max_weight = max;
	pthread_mutex_unlock(&q->lock);
}

void lb_queue_free(struct lb_queue *q)
{
	if (!q)
		return;
	pthread_cond_destroy(&q->can_push);
	pthread_cond_destroy(&q->can_pop);
	pthread_mutex_destroy(&q->lock);
	free(q->items);
	free(q->weights);
	free(q->full);
	free(q);
}

void lb_queue_free_all(struct lb_queue *q, void (*free_item)(void *))
{
	for (size_t i = 0; q && i < q->cap; i++)
		if (q->ordered ? q->full[i] : (i + q->cap - q->head) % q->cap < q->n)
			free_item(q->items[i]);
	lb_queue_free(q);
}

/* Under the lock: whether a FIFO takes an item of this weight now. */
static bool has_room(const struct lb_queue *q, uint64_t weight)
{
	if (q->n == q->cap)
		return false;
	/* (weightless items pass a heavy one that filled the queue alone) */
	return q->max_weight == 0 || q->n == 0 || weight == 0 ||
	       q->weight + weight <= q->max_weight;
}

static int push(struct lb_queue *q, void *item, uint64_t weight, bool wait)
{
	int r = 0;

	if (q->ordered)
		return -EINVAL;
	pthread_mutex_lock(&q->lock);
	while (wait && !has_room(q, weight) && !q->cancelled && !q->closed)
		pthread_cond_wait(&q->can_push, &q->lock);
	if (q->cancelled)
		r = -ECANCELED;
	else if (q->closed)
		r = -EPIPE;
	else if (!has_room(q, weight))
		r = -EAGAIN;
	if (r == 0) {
		size_t slot = (q->head + q->n) % q->cap;

		q->items[slot] = item;
		q->weights[slot] = weight;
		q->weight += weight;
		q->n++;
		pthread_cond_signal(&q->can_pop);
	}
	pthread_mutex_unlock(&q->lock);
	return r;
}

int lb_queue_push(struct lb_queue *q, void *item)
{
	return push(q, item, 0, true);
}

int lb_queue_push_weighted(struct lb_queue *q, void *item, uint64_t weight)
{
	return push(q, item, weight, true);
}

int lb_queue_try_push(struct lb_queue *q, void *item)
{
	return push(q, item, 0, false);
}

int lb_queue_push_seq(struct lb_queue *q, uint64_t seq, void *item)
{
	int r = 0;

	pthread_mutex_lock(&q->lock);
	while (q->ordered && seq >= q->next && seq - q->next >= q->cap && !q->cancelled &&
	       !(q->closed && seq >= q->end))
		pthread_cond_wait(&q->can_push, &q->lock);
	if (q->cancelled)
		r = -ECANCELED;
	else if (!q->ordered || seq < q->next)
		r = -EINVAL;
	else if (q->closed && seq >= q->end)
		r = -EPIPE;
	else if (q->full[seq % q->cap])
		r = -EINVAL;
	if (r == 0) {
		q->items[seq % q->cap] = item;
		q->full[seq % q->cap] = true;
		q->n++;
		/* (the one popped next may be waited for by any consumer) */
		if (seq == q->next)
			pthread_cond_broadcast(&q->can_pop);
	}
	pthread_mutex_unlock(&q->lock);
	return r;
}

/* Under the lock: 1 and the item when one is ready, 0 when none will be,
 * -EAGAIN when one may come. */
static int take(struct lb_queue *q, void **ret)
{
	if (q->cancelled)
		return -ECANCELED;
	if (q->ordered) {
		size_t slot = q->next % q->cap;

		if (!q->full[slot])
			return q->closed && q->next >= q->end ? 0 : -EAGAIN;
		*ret = q->items[slot];
		q->items[slot] = NULL;
		q->full[slot] = false;
		q->next++;
		q->n--;
		/* (pushes wait for their own number's room) */
		pthread_cond_broadcast(&q->can_push);
		return 1;
	}
	if (q->n == 0)
		return q->closed ? 0 : -EAGAIN;
	*ret = q->items[q->head];
	q->items[q->head] = NULL;
	q->weight -= q->weights[q->head];
	q->head = (q->head + 1) % q->cap;
	q->n--;
	/* (a weighted push may need more than one pop's room: all look) */
	if (q->max_weight)
		pthread_cond_broadcast(&q->can_push);
	else
		pthread_cond_signal(&q->can_push);
	return 1;
}

int lb_queue_pop(struct lb_queue *q, void **ret)
{
	int r;

	pthread_mutex_lock(&q->lock);
	while ((r = take(q, ret)) == -EAGAIN)
		pthread_cond_wait(&q->can_pop, &q->lock);
	pthread_mutex_unlock(&q->lock);
	return r;
}

int lb_queue_try_pop(struct lb_queue *q, void **ret)
{
	int r;

	pthread_mutex_lock(&q->lock);
	r = take(q, ret);
	pthread_mutex_unlock(&q->lock);
	return r;
}

static void wake_all_locked(struct lb_queue *q)
{
	pthread_cond_broadcast(&q->can_pop);
	pthread_cond_broadcast(&q->can_push);
}

void lb_queue_close(struct lb_queue *q)
{
	pthread_mutex_lock(&q->lock);
	if (!q->closed && q->ordered) {
		/* after the last number it holds (slot s % cap holds number s) */
		q->end = q->next;
		for (size_t i = 0; i < q->cap; i++)
			if (q->full[(q->next + i) % q->cap])
				q->end = q->next + i + 1;
	}
	q->closed = true;
	wake_all_locked(q);
	pthread_mutex_unlock(&q->lock);
}

void lb_queue_close_at(struct lb_queue *q, uint64_t end)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	q->end = end;
	wake_all_locked(q);
	pthread_mutex_unlock(&q->lock);
}

void lb_queue_cancel(struct lb_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->cancelled = true;
	wake_all_locked(q);
	pthread_mutex_unlock(&q->lock);
}

size_t lb_queue_count(struct lb_queue *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->n;
	pthread_mutex_unlock(&q->lock);
	return n;
}

/* ---- worker threads ---------------------------------------------------- */

struct pool_thread {
	struct lb_pool *pool;
	lb_job_fn fn;
	void *ud;
	unsigned idx;
	pthread_t tid;
	struct pool_thread *next;
};

struct lb_pool {
	pthread_mutex_t lock;
	struct pool_thread *threads;	/* started, not yet joined */
	size_t n_threads;
	struct lb_queue **watch;
	size_t n_watch;
	bool cancelled;
	int err;
	char *errmsg;
};

struct lb_pool *lb_pool_new(void)
{
	struct lb_pool *p = lb_zalloc(sizeof(*p));

	pthread_mutex_init(&p->lock, NULL);
	return p;
}

void lb_pool_watch(struct lb_pool *p, struct lb_queue *q)
{
	pthread_mutex_lock(&p->lock);
	p->watch = lb_realloc_array(p->watch, p->n_watch + 1, sizeof(*p->watch));
	p->watch[p->n_watch++] = q;
	if (p->cancelled)
		lb_queue_cancel(q);
	pthread_mutex_unlock(&p->lock);
}

static void cancel_locked(struct lb_pool *p)
{
	p->cancelled = true;
	for (size_t i = 0; i < p->n_watch; i++)
		lb_queue_cancel(p->watch[i]);
}

int lb_pool_fail(struct lb_pool *p, int err)
{
	if (err >= 0)
		err = -EIO;
	pthread_mutex_lock(&p->lock);
	if (p->err == 0) {
		p->err = err;
		p->errmsg = lb_strdup(lb_errmsg());
	}
	cancel_locked(p);
	pthread_mutex_unlock(&p->lock);
	return err;
}

static void *thread_main(void *arg)
{
	struct pool_thread *t = arg;
	int r = t->fn(t->ud, t->idx);

	/* a queue cancelled under it: the cause is the pool's error, or
	 * there is none (lb_pool_cancel) */
	if (r == -ECANCELED) {
		bool cancelled;

		pthread_mutex_lock(&t->pool->lock);
		cancelled = t->pool->cancelled;
		pthread_mutex_unlock(&t->pool->lock);
		if (cancelled)
			return NULL;
	}
	if (r < 0)
		lb_pool_fail(t->pool, r);
	return NULL;
}

int lb_pool_start(struct lb_pool *p, size_t n, lb_job_fn fn, void *ud)
{
	for (size_t i = 0; i < n; i++) {
		struct pool_thread *t = lb_zalloc(sizeof(*t));

		t->pool = p;
		t->fn = fn;
		t->ud = ud;
		t->idx = (unsigned)i;
		if (pthread_create(&t->tid, NULL, thread_main, t) != 0) {
			free(t);
			return lb_err(-EAGAIN, "cannot start a thread (%zu of %zu running)", i, n);
		}
		/* (only the owner's thread starts and joins: no lock needed) */
		t->next = p->threads;
		p->threads = t;
		p->n_threads++;
	}
	return 0;
}

size_t lb_pool_size(const struct lb_pool *p)
{
	return p->n_threads;
}

int lb_pool_error(struct lb_pool *p)
{
	int r;

	pthread_mutex_lock(&p->lock);
	r = p->err;
	if (r < 0)
		lb_err(r, "%s", p->errmsg);
	pthread_mutex_unlock(&p->lock);
	return r;
}

void lb_pool_cancel(struct lb_pool *p)
{
	pthread_mutex_lock(&p->lock);
	cancel_locked(p);
	pthread_mutex_unlock(&p->lock);
}

int lb_pool_wait(struct lb_pool *p)
{
	while (p->threads) {
		struct pool_thread *t = p->threads;

		pthread_join(t->tid, NULL);
		p->threads = t->next;
		p->n_threads--;
		free(t);
	}
	return lb_pool_error(p);
}

void lb_pool_free(struct lb_pool *p)
{
	if (!p)
		return;
	lb_pool_cancel(p);
	lb_pool_wait(p);
	pthread_mutex_destroy(&p->lock);
	free(p->watch);
	free(p->errmsg);
	free(p);
}
