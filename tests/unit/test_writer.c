/*
 * Unit tests of storage/writer.c: completion order, group commit, a failing
 * body inside a group, waiting bodies (input, timeout, cancel), shutdown
 * with jobs queued, and lazy jobs (durable with the next commit or a sync). The test thread plays the loop: notify_fn
 * signals a condition variable and the test reaps.
 */
#include "lib/err.h"
#include "storage/batch.h"
#include "storage/store.h"
#include "storage/writer.h"

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define JOBS_MAX 10000

/* What the test's jobs share: the writer, a gate bodies can wait on, and
 * the completions seen. */
struct fixture {
	char dir[64];
	struct store *s;
	struct writer *w;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned notified;       /* under mu */
	bool gate_open;          /* under the writer's lock */
	bool gate_entered;       /* under mu: a gate body is waiting */
	unsigned blocked;        /* under mu: bodies that reached their block */
	unsigned released;       /* under mu: blocks let go */
	size_t ndone;
	uint64_t done_order[JOBS_MAX + 8];
	int done_rc[JOBS_MAX + 8];
	unsigned bodies_run[JOBS_MAX + 8];
};

/* One job's argument. */
struct job {
	struct fixture *f;
	uint64_t n;        /* submission number, from 0 */
	int fail;          /* returned by the body instead of writing */
	uint64_t wait_ms;  /* > 0: wait on the gate first */
	size_t vlen;       /* bytes of the value written; 0: one */
	unsigned block;    /* > 0: wait until `released` reaches it (no writer_wait) */
};

static const uint8_t big_value[256 << 10];

static struct job jobs[JOBS_MAX + 8];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void notify(void *arg)
{
	struct fixture *f = arg;

	pthread_mutex_lock(&f->mu);
	f->notified++;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

/* The writer on f's store, notifying f. */
static void writer_start(struct fixture *f)
{
	struct writer_opts o = {.store = f->s, .notify = notify, .notify_arg = f};

	assert_int_equal(writer_new(&o, &f->w), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/kefu-writer-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(store_open(f->dir, NULL, &f->s), 0);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	writer_start(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	writer_free(f->w);
	store_free(f->s);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ---- jobs ---- */

static bool gate_is_open(void *arg)
{
	return ((struct fixture *)arg)->gate_open;
}

static void key_of(uint64_t n, char *buf, size_t cap)
{
	snprintf(buf, cap, "job-%06llu", (unsigned long long)n);
}

static int job_body(struct store_txn *t, void *arg)
{
	struct job *j = arg;
	struct batch *b;
	char key[32];
	int rc;

	j->f->bodies_run[j->n]++;
	if (j->block) {
		pthread_mutex_lock(&j->f->mu);
		j->f->blocked++;
		pthread_cond_broadcast(&j->f->cv);
		while (j->f->released < j->block)
			pthread_cond_wait(&j->f->cv, &j->f->mu);
		pthread_mutex_unlock(&j->f->mu);
	}
	if (j->wait_ms) {
		pthread_mutex_lock(&j->f->mu);
		j->f->gate_entered = true;
		pthread_cond_broadcast(&j->f->cv);
		pthread_mutex_unlock(&j->f->mu);
		rc = writer_wait(j->f->w, gate_is_open, j->f, j->wait_ms);
		if (rc)
			return rc;
	}
	if (j->fail)
		return j->fail;
	key_of(j->n, key, sizeof(key));
	b = batch_new(0);
	rc = batch_put(b, STORE_META, key, strlen(key), big_value, j->vlen ? j->vlen : 1);
	if (rc == 0)
		rc = batch_apply(t, b);
	batch_free(b);
	return rc;
}

static void job_done(void *arg, int rc)
{
	struct job *j = arg;
	struct fixture *f = j->f;

	f->done_order[f->ndone] = j->n;
	f->done_rc[f->ndone] = rc;
	f->ndone++;
}

static uint64_t submit(struct fixture *f, uint64_t n, unsigned flags, int fail, uint64_t wait_ms)
{
	struct writer_job job = {job_body, job_done, &jobs[n], flags};
	uint64_t id;

	jobs[n] = (struct job){f, n, fail, wait_ms, 0, 0};
	assert_int_equal(writer_submit(f->w, &job, &id), 0);
	return id;
}

/* reap_until - reap until n completions in all, as the loop would on each wake. */
static void reap_until(struct fixture *f, size_t n)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	while (f->ndone < n) {
		pthread_mutex_lock(&f->mu);
		while (f->notified == 0)
			assert_int_equal(pthread_cond_timedwait(&f->cv, &f->mu, &until), 0);
		f->notified = 0;
		pthread_mutex_unlock(&f->mu);
		writer_reap(f->w);
	}
	assert_int_equal(f->ndone, n);
}

/* wait_gate_entered - until a waiting body has reached writer_wait's door. */
static void wait_gate_entered(struct fixture *f)
{
	pthread_mutex_lock(&f->mu);
	while (!f->gate_entered)
		pthread_cond_wait(&f->cv, &f->mu);
	pthread_mutex_unlock(&f->mu);
}

static void gate_open(struct fixture *f)
{
	writer_lock(f->w);
	f->gate_open = true;
	writer_unlock(f->w);
}

static bool has_job_key(struct fixture *f, uint64_t n)
{
	struct store_txn *t;
	struct store_val v;
	char key[32];
	int rc;

	key_of(n, key, sizeof(key));
	assert_int_equal(store_read_begin(f->s, &t), 0);
	rc = store_get(t, STORE_META, key, strlen(key), &v);
	store_abort(t);
	return rc == 0;
}

/* ---- tests ---- */

static void test_done_runs_once_in_submission_order(void **state)
{
	struct fixture *f = *state;

	for (uint64_t n = 0; n < 100; n++)
		submit(f, n, n % 3 ? WRITER_GROUPABLE : 0, 0, 0);
	reap_until(f, 100);
	for (size_t i = 0; i < 100; i++) {
		assert_int_equal(f->done_order[i], i);
		assert_int_equal(f->done_rc[i], 0);
		assert_true(has_job_key(f, i));
	}
	assert_int_equal(writer_reap(f->w), 0);
}

static void test_group_commit_shares_transactions(void **state)
{
	struct fixture *f = *state;
	struct writer_stats st;

	/* A waiting job holds the writer while every groupable job queues. */
	submit(f, 0, 0, 0, 60000);
	wait_gate_entered(f);
	for (uint64_t n = 1; n <= JOBS_MAX; n++)
		submit(f, n, WRITER_GROUPABLE, 0, 0);
	gate_open(f);
	reap_until(f, JOBS_MAX + 1);
	writer_stats_get(f->w, &st);
	assert_int_equal(st.jobs, JOBS_MAX + 1);
	assert_true(st.commits <= 1 + (JOBS_MAX + WRITER_GROUP_MAX - 1) / WRITER_GROUP_MAX);
	/* The gate's body waited in its transaction: time in bodies, within the busy time. */
	assert_true(st.body_ns > 0 && st.body_ns <= st.busy_ns);
	for (size_t i = 0; i <= JOBS_MAX; i++) {
		assert_int_equal(f->done_order[i], i);
		assert_int_equal(f->done_rc[i], 0);
		assert_int_equal(f->bodies_run[i], 1);
	}
	assert_true(has_job_key(f, 1) && has_job_key(f, JOBS_MAX));
}

static void test_failed_body_leaves_its_group_committed(void **state)
{
	struct fixture *f = *state;
	struct writer_stats st;

	submit(f, 0, 0, 0, 60000);
	wait_gate_entered(f);
	submit(f, 1, WRITER_GROUPABLE, 0, 0);
	submit(f, 2, WRITER_GROUPABLE, -EIO, 0);
	submit(f, 3, WRITER_GROUPABLE, 0, 0);
	gate_open(f);
	reap_until(f, 4);
	assert_int_equal(f->done_rc[1], 0);
	assert_int_equal(f->done_rc[2], -EIO);
	assert_int_equal(f->done_rc[3], 0);
	assert_true(has_job_key(f, 1) && has_job_key(f, 3));
	assert_false(has_job_key(f, 2));
	assert_int_equal(f->bodies_run[1], 2); /* ran again without the failed one */
	assert_int_equal(f->bodies_run[3], 1);
	writer_stats_get(f->w, &st);
	assert_int_equal(st.reruns, 1);
	assert_int_equal(st.commits, 2);
}

/* until `blocked` bodies reached their block */
static void wait_blocked(struct fixture *f, unsigned blocked)
{
	pthread_mutex_lock(&f->mu);
	while (f->blocked < blocked)
		pthread_cond_wait(&f->cv, &f->mu);
	pthread_mutex_unlock(&f->mu);
}

static void release(struct fixture *f)
{
	pthread_mutex_lock(&f->mu);
	f->released++;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

static uint64_t submit_blocking(struct fixture *f, uint64_t n, unsigned flags, unsigned block)
{
	struct writer_job job = {job_body, job_done, &jobs[n], flags};
	uint64_t id;

	jobs[n] = (struct job){f, n, 0, 0, 0, block};
	assert_int_equal(writer_submit(f->w, &job, &id), 0);
	return id;
}

static void test_lazy_job_is_durable_with_the_next_commit(void **state)
{
	struct fixture *f = *state;
	struct writer_stats st;
	uint64_t a, b, c, d;

	/* A runs while B waits in the queue: A completes at its commit, which
	 * the writer does not sync, since B's commit will. */
	a = submit_blocking(f, 0, WRITER_LAZY, 1);
	wait_blocked(f, 1);
	b = submit_blocking(f, 1, WRITER_LAZY, 2);
	release(f);
	reap_until(f, 1);
	assert_int_equal(f->done_rc[0], 0);
	assert_true(has_job_key(f, 0)); /* committed: readers see it */
	assert_true(writer_durable_id(f->w) < a);
	wait_blocked(f, 2); /* B's transaction is open; A is still not durable */
	assert_true(writer_durable_id(f->w) < a);
	writer_stats_get(f->w, &st);
	assert_int_equal(st.syncs, 0);
	/* B's commit carries A's; with nothing queued after it, B is synced. */
	release(f);
	reap_until(f, 2);
	assert_true(writer_durable_id(f->w) >= b);
	writer_stats_get(f->w, &st);
	assert_int_equal(st.commits, 2);
	assert_int_equal(st.syncs, 1);
	/* A job that is not lazy completes durable; so does a lazy one alone. */
	c = submit(f, 2, 0, 0, 0);
	reap_until(f, 3);
	assert_true(writer_durable_id(f->w) >= c);
	d = submit(f, 3, WRITER_LAZY | WRITER_GROUPABLE, 0, 0);
	reap_until(f, 4);
	assert_true(writer_durable_id(f->w) >= d);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(f->done_order[i], i);
		assert_int_equal(f->done_rc[i], 0);
		assert_true(has_job_key(f, i));
	}
}

static void test_lazy_job_before_a_cancelled_one_is_synced(void **state)
{
	struct fixture *f = *state;
	uint64_t a, b;

	/* A's commit leaves its meta page to the next commit, B; B is
	 * cancelled before it runs, so the writer must sync A itself. */
	a = submit_blocking(f, 0, WRITER_LAZY, 1);
	wait_blocked(f, 1);
	b = submit_blocking(f, 1, WRITER_LAZY, 2);
	assert_int_equal(writer_cancel(f->w, b), 0);
	release(f);
	reap_until(f, 2);
	assert_int_equal(f->done_rc[0], 0);
	assert_int_equal(f->done_rc[1], KF_ECANCELED);
	/* the sync may follow A's completion: wait for the writer's next word */
	for (int i = 0; i < 600 && writer_durable_id(f->w) < a; i++) {
		struct timespec ts = {0, 10 * 1000000L};

		nanosleep(&ts, NULL);
	}
	assert_true(writer_durable_id(f->w) >= a);
}

static void test_lazy_job_failing_needs_no_sync(void **state)
{
	struct fixture *f = *state;
	struct writer_stats st;
	uint64_t a;

	a = submit(f, 0, WRITER_LAZY, -EIO, 0);
	reap_until(f, 1);
	assert_int_equal(f->done_rc[0], -EIO);
	assert_true(writer_durable_id(f->w) >= a);
	writer_stats_get(f->w, &st);
	assert_int_equal(st.commits, 0);
	assert_int_equal(st.syncs, 0);
}

static void test_wait_wakes_on_input(void **state)
{
	struct fixture *f = *state;

	submit(f, 0, 0, 0, 60000);
	wait_gate_entered(f);
	gate_open(f);
	reap_until(f, 1);
	assert_int_equal(f->done_rc[0], 0);
	assert_true(has_job_key(f, 0));
}

static void test_wait_times_out(void **state)
{
	struct fixture *f = *state;

	submit(f, 0, 0, 0, 50);
	reap_until(f, 1);
	assert_int_equal(f->done_rc[0], -ETIMEDOUT);
	assert_false(has_job_key(f, 0));
}

static void test_cancel_aborts_a_waiting_body(void **state)
{
	struct fixture *f = *state;
	uint64_t id = submit(f, 0, 0, 0, 60000);

	submit(f, 1, 0, 0, 0);
	wait_gate_entered(f);
	assert_int_equal(writer_cancel(f->w, id), 0);
	reap_until(f, 2);
	assert_int_equal(f->done_rc[0], KF_ECANCELED);
	assert_int_equal(f->done_rc[1], 0);
	assert_false(has_job_key(f, 0));
	assert_true(has_job_key(f, 1));
	assert_int_equal(writer_cancel(f->w, id), KF_ENOTFOUND);
}

static void test_cancel_of_a_queued_job_skips_its_body(void **state)
{
	struct fixture *f = *state;
	uint64_t id;

	submit(f, 0, 0, 0, 60000);
	wait_gate_entered(f);
	id = submit(f, 1, WRITER_GROUPABLE, 0, 0);
	submit(f, 2, WRITER_GROUPABLE, 0, 0);
	assert_int_equal(writer_cancel(f->w, id), 0);
	gate_open(f);
	reap_until(f, 3);
	assert_int_equal(f->done_order[1], 1);
	assert_int_equal(f->done_rc[1], KF_ECANCELED);
	assert_int_equal(f->bodies_run[1], 0);
	assert_int_equal(f->done_rc[2], 0);
}

static void test_shutdown_cancels_queued_jobs(void **state)
{
	struct fixture *f = *state;

	submit(f, 0, 0, 0, 60000);
	wait_gate_entered(f);
	for (uint64_t n = 1; n <= 5; n++)
		submit(f, n, n % 2 ? WRITER_GROUPABLE : 0, 0, 0);
	writer_free(f->w);
	f->w = NULL;
	assert_int_equal(f->ndone, 6);
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(f->done_order[i], i);
		assert_int_equal(f->done_rc[i], KF_ECANCELED);
		assert_int_equal(f->bodies_run[i], i == 0);
	}
	assert_false(has_job_key(f, 0));
}

static void test_full_map_reruns_the_group(void **state)
{
	struct fixture *f = *state;
	struct store_opts small = {.map_size = 1 << 20};

	writer_free(f->w);
	store_free(f->s);
	assert_int_equal(store_open(f->dir, &small, &f->s), 0);
	writer_start(f);
	submit(f, 0, 0, 0, 60000);
	wait_gate_entered(f);
	for (uint64_t n = 1; n <= 8; n++) {
		submit(f, n, WRITER_GROUPABLE, 0, 0);
		jobs[n].vlen = sizeof(big_value);
	}
	gate_open(f);
	reap_until(f, 9);
	for (size_t i = 1; i <= 8; i++) {
		assert_int_equal(f->done_rc[i], 0);
		assert_true(has_job_key(f, i));
	}
	assert_true(f->bodies_run[1] >= 2);
}

static void test_submit_refuses_a_job_without_body(void **state)
{
	struct fixture *f = *state;
	struct writer_job job = {NULL, job_done, NULL, 0};

	assert_int_equal(writer_submit(f->w, &job, NULL), -EINVAL);
}

static void test_new_refuses_options_without_a_store(void **state)
{
	struct writer_opts o = {.notify = notify};
	struct writer *w = (struct writer *)&w;

	(void)state;
	assert_int_equal(writer_new(&o, &w), -EINVAL);
	assert_null(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_done_runs_once_in_submission_order),
		T(test_group_commit_shares_transactions),
		T(test_failed_body_leaves_its_group_committed),
		T(test_lazy_job_is_durable_with_the_next_commit),
		T(test_lazy_job_before_a_cancelled_one_is_synced),
		T(test_lazy_job_failing_needs_no_sync),
		T(test_wait_wakes_on_input),
		T(test_wait_times_out),
		T(test_cancel_aborts_a_waiting_body),
		T(test_cancel_of_a_queued_job_skips_its_body),
		T(test_shutdown_cancels_queued_jobs),
		T(test_full_map_reruns_the_group),
		T(test_submit_refuses_a_job_without_body),
#undef T
		cmocka_unit_test(test_new_refuses_options_without_a_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
