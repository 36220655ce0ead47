// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for the queues and worker threads (src/base/queue.c): FIFO
 * order, the bound (count and weight), close and drain, cancel, ordered
 * completion by sequence number, many producers and consumers, the pool's
 * first error winning and cancelling its queues. Each test is bounded by
 * the test runner's timeout: a lost wakeup shows as a hang there. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"

#define ITEM(n) ((void *)(uintptr_t)(n))
#define NUM(p) ((uintptr_t)(p))

static void test_fifo_order(void **state)
{
	struct lb_queue *q = lb_queue_new(4);
	void *p;

	(void)state;
	for (uintptr_t i = 1; i <= 4; i++)
		assert_int_equal(lb_queue_push(q, ITEM(i)), 0);
	assert_int_equal(lb_queue_try_push(q, ITEM(5)), -EAGAIN);
	assert_int_equal(lb_queue_count(q), 4);
	for (uintptr_t i = 1; i <= 4; i++) {
		assert_int_equal(lb_queue_pop(q, &p), 1);
		assert_int_equal(NUM(p), i);
	}
	assert_int_equal(lb_queue_try_pop(q, &p), -EAGAIN);
	/* round the ring */
	for (uintptr_t i = 0; i < 10; i++) {
		assert_int_equal(lb_queue_try_push(q, ITEM(i)), 0);
		assert_int_equal(lb_queue_try_pop(q, &p), 1);
		assert_int_equal(NUM(p), i);
	}
	/* an ordered queue takes no plain push, a FIFO no numbered one */
	assert_int_equal(lb_queue_push_seq(q, 0, ITEM(1)), -EINVAL);
	lb_queue_free(q);
}

static void test_close_drain(void **state)
{
	struct lb_queue *q = lb_queue_new(8);
	void *p;

	(void)state;
	for (uintptr_t i = 0; i < 3; i++)
		assert_int_equal(lb_queue_push(q, ITEM(i)), 0);
	lb_queue_close(q);
	assert_int_equal(lb_queue_push(q, ITEM(9)), -EPIPE);
	for (uintptr_t i = 0; i < 3; i++) {
		assert_int_equal(lb_queue_pop(q, &p), 1);
		assert_int_equal(NUM(p), i);
	}
	assert_int_equal(lb_queue_pop(q, &p), 0);
	assert_int_equal(lb_queue_pop(q, &p), 0);
	assert_int_equal(lb_queue_try_pop(q, &p), 0);
	lb_queue_free(q);
}

struct blocked {
	struct lb_queue *q;
	int r;
	uintptr_t got;
	uint64_t seq;
};

static void *pop_thread(void *arg)
{
	struct blocked *b = arg;
	void *p = NULL;

	b->r = lb_queue_pop(b->q, &p);
	b->got = NUM(p);
	return NULL;
}

static void *push_thread(void *arg)
{
	struct blocked *b = arg;

	b->r = lb_queue_push(b->q, ITEM(77));
	return NULL;
}

static void *push_seq_thread(void *arg)
{
	struct blocked *b = arg;

	b->r = lb_queue_push_seq(b->q, b->seq, ITEM(b->seq + 100));
	return NULL;
}

static void *push_heavy_thread(void *arg)
{
	struct blocked *b = arg;

	b->r = lb_queue_push_weighted(b->q, ITEM(5), 6);
	return NULL;
}

/* A pop waiting on an empty queue is woken by the close, with 0; a push
 * waiting on a full one by a cancel, with -ECANCELED. */
static void test_close_and_cancel_wake(void **state)
{
	struct lb_queue *q = lb_queue_new(1);
	struct blocked b = { .q = q, .r = 99 };
	pthread_t t;
	void *p;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, pop_thread, &b), 0);
	usleep(20000);
	lb_queue_close(q);
	pthread_join(t, NULL);
	assert_int_equal(b.r, 0);
	lb_queue_free(q);

	q = lb_queue_new(1);
	b = (struct blocked){ .q = q, .r = 99 };
	assert_int_equal(lb_queue_push(q, ITEM(1)), 0);
	assert_int_equal(pthread_create(&t, NULL, push_thread, &b), 0);
	usleep(20000);
	assert_int_equal(b.r, 99);	/* still waiting for room */
	lb_queue_cancel(q);
	pthread_join(t, NULL);
	assert_int_equal(b.r, -ECANCELED);
	/* cancelled: nothing more goes in or out, what was queued stays */
	assert_int_equal(lb_queue_pop(q, &p), -ECANCELED);
	assert_int_equal(lb_queue_push(q, ITEM(2)), -ECANCELED);
	lb_queue_free(q);
}

/* A push waiting for room goes in once a pop makes some, in order. */
static void test_bound_blocks(void **state)
{
	struct lb_queue *q = lb_queue_new(2);
	struct blocked b = { .q = q, .r = 99 };
	pthread_t t;
	void *p;

	(void)state;
	assert_int_equal(lb_queue_push(q, ITEM(1)), 0);
	assert_int_equal(lb_queue_push(q, ITEM(2)), 0);
	assert_int_equal(pthread_create(&t, NULL, push_thread, &b), 0);
	usleep(20000);
	assert_int_equal(b.r, 99);
	assert_int_equal(lb_queue_pop(q, &p), 1);
	assert_int_equal(NUM(p), 1);
	pthread_join(t, NULL);
	assert_int_equal(b.r, 0);
	assert_int_equal(lb_queue_pop(q, &p), 1);
	assert_int_equal(NUM(p), 2);
	assert_int_equal(lb_queue_pop(q, &p), 1);
	assert_int_equal(NUM(p), 77);
	lb_queue_free(q);
}

/* The weight bound: items wait while the sum would pass it; one heavier
 * than the bound still goes into an empty queue. */
static void test_weighted(void **state)
{
	struct lb_queue *q = lb_queue_new(100);
	struct blocked b = { .q = q, .r = 99 };
	pthread_t t;
	void *p;

	(void)state;
	lb_queue_set_max_weight(q, 10);
	assert_int_equal(lb_queue_push_weighted(q, ITEM(1), 6), 0);
	assert_int_equal(lb_queue_push_weighted(q, ITEM(2), 0), 0);
	assert_int_equal(lb_queue_push_weighted(q, ITEM(3), 4), 0);
	assert_int_equal(pthread_create(&t, NULL, push_heavy_thread, &b), 0);
	usleep(20000);
	assert_int_equal(b.r, 99);	/* 10 + 6 > 10 */
	assert_int_equal(lb_queue_pop(q, &p), 1);	/* 4 left: room for 6 */
	pthread_join(t, NULL);
	assert_int_equal(b.r, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(lb_queue_pop(q, &p), 1);
	assert_int_equal(NUM(p), 5);
	assert_int_equal(lb_queue_push_weighted(q, ITEM(6), 1000), 0);
	assert_int_equal(lb_queue_try_push(q, ITEM(7)), 0);	/* weight 0 */
	lb_queue_free(q);
}

/* Pushed in any order, popped in sequence; a number too far ahead waits
 * for room; one already taken is refused; the close says where it ends. */
static void test_ordered(void **state)
{
	struct lb_queue *q = lb_queue_new_ordered(4);
	struct blocked b = { .q = q, .r = 99, .seq = 5 };
	pthread_t t;
	void *p;

	(void)state;
	assert_int_equal(lb_queue_push_seq(q, 2, ITEM(102)), 0);
	assert_int_equal(lb_queue_push_seq(q, 1, ITEM(101)), 0);
	assert_int_equal(lb_queue_try_pop(q, &p), -EAGAIN);	/* 0 is not there */
	assert_int_equal(lb_queue_push_seq(q, 2, ITEM(102)), -EINVAL);
	assert_int_equal(lb_queue_push(q, ITEM(1)), -EINVAL);
	assert_int_equal(pthread_create(&t, NULL, push_seq_thread, &b), 0);
	usleep(20000);
	assert_int_equal(b.r, 99);	/* 5 is 4 or more past 0 */
	assert_int_equal(lb_queue_push_seq(q, 0, ITEM(100)), 0);
	for (uintptr_t i = 0; i < 3; i++) {
		assert_int_equal(lb_queue_pop(q, &p), 1);
		assert_int_equal(NUM(p), 100 + i);
	}
	pthread_join(t, NULL);
	assert_int_equal(b.r, 0);
	assert_int_equal(lb_queue_push_seq(q, 0, ITEM(100)), -EINVAL);
	assert_int_equal(lb_queue_push_seq(q, 3, ITEM(103)), 0);
	lb_queue_close_at(q, 6);
	assert_int_equal(lb_queue_push_seq(q, 6, ITEM(106)), -EPIPE);
	assert_int_equal(lb_queue_pop(q, &p), 1);
	assert_int_equal(NUM(p), 103);
	assert_int_equal(lb_queue_push_seq(q, 4, ITEM(104)), 0);
	for (uintptr_t i = 4; i < 6; i++) {
		assert_int_equal(lb_queue_pop(q, &p), 1);
		assert_int_equal(NUM(p), 100 + i);
	}
	assert_int_equal(lb_queue_pop(q, &p), 0);
	lb_queue_free(q);

	/* a push waiting for room is refused by a close before its number */
	q = lb_queue_new_ordered(2);
	b = (struct blocked){ .q = q, .r = 99, .seq = 5 };
	assert_int_equal(pthread_create(&t, NULL, push_seq_thread, &b), 0);
	usleep(20000);
	assert_int_equal(b.r, 99);
	lb_queue_close_at(q, 3);
	pthread_join(t, NULL);
	assert_int_equal(b.r, -EPIPE);
	lb_queue_free(q);

	/* a plain close: after the last number held */
	q = lb_queue_new_ordered(4);
	assert_int_equal(lb_queue_push_seq(q, 1, ITEM(1)), 0);
	assert_int_equal(lb_queue_push_seq(q, 0, ITEM(0)), 0);
	lb_queue_close(q);
	assert_int_equal(lb_queue_pop(q, &p), 1);
	assert_int_equal(lb_queue_pop(q, &p), 1);
	assert_int_equal(NUM(p), 1);
	assert_int_equal(lb_queue_pop(q, &p), 0);
	lb_queue_free(q);
}

/* ---- many producers and consumers ---------------------------------------- */

#define PRODUCERS 4
#define CONSUMERS 4
#define PER_PRODUCER 20000

struct mpmc {
	struct lb_queue *q;
	pthread_mutex_t lock;
	uint64_t sum;
	size_t count;
	bool out_of_order;
};

static int producer(void *ud, unsigned idx)
{
	struct mpmc *m = ud;

	for (uintptr_t i = 0; i < PER_PRODUCER; i++) {
		int r = lb_queue_push(m->q, ITEM((uintptr_t)idx << 32 | i));

		if (r < 0)
			return lb_err(r, "push failed");
	}
	return 0;
}

static int consumer(void *ud, unsigned idx)
{
	struct mpmc *m = ud;
	uint64_t last[PRODUCERS];
	uint64_t sum = 0;
	size_t count = 0;
	bool bad = false;
	void *p;
	int r;

	(void)idx;
	memset(last, 0xff, sizeof(last));
	while ((r = lb_queue_pop(m->q, &p)) > 0) {
		unsigned from = (unsigned)(NUM(p) >> 32);
		uint64_t n = NUM(p) & 0xffffffffu;

		/* one consumer sees one producer's items in the order pushed */
		if (from >= PRODUCERS || (last[from] != UINT64_MAX && n <= last[from]))
			bad = true;
		if (from < PRODUCERS)
			last[from] = n;
		sum += n;
		count++;
	}
	pthread_mutex_lock(&m->lock);
	m->sum += sum;
	m->count += count;
	m->out_of_order |= bad;
	pthread_mutex_unlock(&m->lock);
	return r;
}

static void test_many_producers_consumers(void **state)
{
	struct mpmc m = { .q = lb_queue_new(8) };
	struct lb_pool *prod = lb_pool_new(), *cons = lb_pool_new();
	uint64_t want = (uint64_t)PRODUCERS * PER_PRODUCER * (PER_PRODUCER - 1) / 2;

	(void)state;
	pthread_mutex_init(&m.lock, NULL);
	assert_int_equal(lb_pool_start(cons, CONSUMERS, consumer, &m), 0);
	assert_int_equal(lb_pool_start(prod, PRODUCERS, producer, &m), 0);
	assert_int_equal(lb_pool_size(prod), PRODUCERS);
	assert_int_equal(lb_pool_wait(prod), 0);
	lb_queue_close(m.q);
	assert_int_equal(lb_pool_wait(cons), 0);
	assert_int_equal(m.count, (size_t)PRODUCERS * PER_PRODUCER);
	assert_true(m.sum == want);
	assert_false(m.out_of_order);
	lb_pool_free(prod);
	lb_pool_free(cons);
	lb_queue_free(m.q);
	pthread_mutex_destroy(&m.lock);
}

/* ---- an ordered pipeline: workers finish in any order, leave in order --- */

struct pipe {
	struct lb_queue *todo, *done;
};

static int pipe_worker(void *ud, unsigned idx)
{
	struct pipe *pp = ud;
	void *p;
	int r;

	while ((r = lb_queue_pop(pp->todo, &p)) > 0) {
		uintptr_t seq = NUM(p);

		/* uneven work: later numbers often finish first */
		if ((seq * 7 + idx) % 5 == 0)
			usleep(200);
		r = lb_queue_push_seq(pp->done, seq, ITEM(seq * 3));
		if (r < 0)
			return r;
	}
	return r;
}

static void test_ordered_pipeline(void **state)
{
	struct pipe pp = { .todo = lb_queue_new(6), .done = lb_queue_new_ordered(64) };
	struct lb_pool *pool = lb_pool_new();
	const uintptr_t n = 3000;
	uintptr_t next = 0, in = 0;
	void *p;

	(void)state;
	lb_pool_watch(pool, pp.todo);
	lb_pool_watch(pool, pp.done);
	assert_int_equal(lb_pool_start(pool, 4, pipe_worker, &pp), 0);
	/* at most 64 in flight, as a buffer pool would bound them */
	while (next < n) {
		while (in < n && in - next < 64)
			assert_int_equal(lb_queue_push(pp.todo, ITEM(in++)), 0);
		assert_int_equal(lb_queue_pop(pp.done, &p), 1);
		assert_int_equal(NUM(p), next * 3);
		next++;
	}
	lb_queue_close(pp.todo);
	lb_queue_close_at(pp.done, n);
	assert_int_equal(lb_queue_pop(pp.done, &p), 0);
	assert_int_equal(lb_pool_wait(pool), 0);
	lb_pool_free(pool);
	lb_queue_free(pp.todo);
	lb_queue_free(pp.done);
}

/* ---- the pool: first error wins, its queues cancelled ------------------- */

static int failing_worker(void *ud, unsigned idx)
{
	struct lb_queue *q = ud;
	void *p;
	int r;

	while ((r = lb_queue_pop(q, &p)) > 0)
		if (NUM(p) == 50)
			return lb_err(-ENOSPC, "item %lu failed on worker %u", (unsigned long)NUM(p),
				      idx);
	return r;
}

static void test_pool_error(void **state)
{
	struct lb_queue *q = lb_queue_new(4);
	struct lb_pool *pool = lb_pool_new();
	uintptr_t i;
	int r = 0;

	(void)state;
	lb_pool_watch(pool, q);
	assert_int_equal(lb_pool_start(pool, 3, failing_worker, q), 0);
	/* the producer learns of the failure from its queue */
	for (i = 0; i < 100000 && r == 0; i++)
		r = lb_queue_push(q, ITEM(i));
	assert_int_equal(r, -ECANCELED);
	assert_true(i < 100000);
	lb_err(-EINVAL, "the caller's own message");
	assert_int_equal(lb_pool_error(pool), -ENOSPC);
	assert_non_null(strstr(lb_errmsg(), "item 50 failed on worker"));
	lb_err(-EINVAL, "the caller's own message");
	assert_int_equal(lb_pool_wait(pool), -ENOSPC);
	assert_non_null(strstr(lb_errmsg(), "item 50 failed"));
	lb_pool_free(pool);
	lb_queue_free(q);
}

static int idle_worker(void *ud, unsigned idx)
{
	void *p;

	(void)idx;
	return lb_queue_pop(ud, &p);
}

/* The first of two failures is the one kept; a cancel without a failure
 * leaves no error. */
static void test_pool_first_error_and_cancel(void **state)
{
	struct lb_queue *q = lb_queue_new(1);
	struct lb_pool *pool = lb_pool_new();

	(void)state;
	lb_pool_watch(pool, q);
	assert_int_equal(lb_pool_start(pool, 2, idle_worker, q), 0);
	assert_int_equal(lb_pool_error(pool), 0);
	lb_err(-EIO, "first");
	assert_int_equal(lb_pool_fail(pool, -EIO), -EIO);
	lb_err(-EPERM, "second");
	lb_pool_fail(pool, -EPERM);
	assert_int_equal(lb_pool_wait(pool), -EIO);
	assert_string_equal(lb_errmsg(), "first");
	lb_pool_free(pool);
	lb_queue_free(q);

	q = lb_queue_new(1);
	pool = lb_pool_new();
	lb_pool_watch(pool, q);
	assert_int_equal(lb_pool_start(pool, 2, idle_worker, q), 0);
	lb_pool_cancel(pool);
	assert_int_equal(lb_pool_wait(pool), 0);
	/* freed while running: cancelled and joined */
	assert_int_equal(lb_pool_start(pool, 2, idle_worker, q), 0);
	lb_pool_free(pool);
	lb_queue_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_order),
		cmocka_unit_test(test_close_drain),
		cmocka_unit_test(test_close_and_cancel_wake),
		cmocka_unit_test(test_bound_blocks),
		cmocka_unit_test(test_weighted),
		cmocka_unit_test(test_ordered),
		cmocka_unit_test(test_many_producers_consumers),
		cmocka_unit_test(test_ordered_pipeline),
		cmocka_unit_test(test_pool_error),
		cmocka_unit_test(test_pool_first_error_and_cancel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
