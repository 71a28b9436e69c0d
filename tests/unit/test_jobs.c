/*
 * Unit tests of node/jobs.c's pool of short jobs, on a real loop: each fn
 * runs on a pool thread and its done on the loop's thread, never inside
 * jobs_submit; a full queue is -EBUSY (the threads all held busy, the
 * queue filled); jobs_free runs what was accepted, fn then done, before it
 * returns.
 */
#include "lib/err.h"
#include "lib/loop.h"
#include "node/jobs.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define WAIT_MS 10000

/* What the jobs saw, and a gate that holds their fns until opened. */
struct fx {
	struct loop *loop;
	struct loop_alarm *deadline;
	pthread_t loop_thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool gate_closed;     /* under mu */
	int running;          /* fns started, under mu */
	int ran;              /* fns finished, under mu */
	int off_loop;         /* fns that ran on another thread than the loop's, under mu */
	int done, done_on_loop, done_after_fn;
	int stop_at;          /* the loop stops after this many dones */
};

static void job_fn(void *arg)
{
	struct fx *f = arg;

	pthread_mutex_lock(&f->mu);
	f->running++;
	f->off_loop += !pthread_equal(pthread_self(), f->loop_thread);
	pthread_cond_broadcast(&f->cv);
	while (f->gate_closed)
		pthread_cond_wait(&f->cv, &f->mu);
	f->ran++;
	pthread_mutex_unlock(&f->mu);
}

static void job_done(void *arg)
{
	struct fx *f = arg;

	f->done++;
	f->done_on_loop += pthread_equal(pthread_self(), f->loop_thread);
	pthread_mutex_lock(&f->mu);
	f->done_after_fn += f->ran >= f->done;
	pthread_mutex_unlock(&f->mu);
	if (f->done == f->stop_at)
		loop_stop(f->loop);
}

static void on_deadline(void *arg)
{
	loop_stop(((struct fx *)arg)->loop);
}

/* Jobs on f's loop, for a node alone. */
static struct jobs *fx_jobs(struct fx *f)
{
	struct jobs_opts o = {.loop = f->loop};
	struct jobs *j;

	assert_int_equal(jobs_new(&o, &j), 0);
	return j;
}

static void fx_init(struct fx *f)
{
	*f = (struct fx){0};
	assert_int_equal(loop_new(&f->loop), 0);
	f->deadline = loop_alarm_new(f->loop, on_deadline, f);
	loop_alarm_set(f->deadline, WAIT_MS);
	f->loop_thread = pthread_self();
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
}

static void fx_release(struct fx *f)
{
	loop_alarm_free(f->deadline);
	loop_free(f->loop);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
}

static void gate_open(struct fx *f)
{
	pthread_mutex_lock(&f->mu);
	f->gate_closed = false;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

/* Waits until n fns are running (held at the gate). */
static void wait_running(struct fx *f, int n)
{
	pthread_mutex_lock(&f->mu);
	while (f->running < n)
		pthread_cond_wait(&f->cv, &f->mu);
	pthread_mutex_unlock(&f->mu);
}

static void test_fn_on_a_pool_thread_done_on_the_loop(void **state)
{
	struct fx f;
	struct jobs *j;

	(void)state;
	fx_init(&f);
	j = fx_jobs(&f);
	assert_non_null(j);
	f.stop_at = 20;
	for (int i = 0; i < 20; i++)
		assert_int_equal(jobs_submit(j, job_fn, job_done, &f), 0);
	assert_int_equal(f.done, 0); /* never from inside jobs_submit */
	loop_run(f.loop);
	assert_int_equal(f.done, 20);
	assert_int_equal(f.done_on_loop, 20);
	assert_int_equal(f.done_after_fn, 20);
	assert_int_equal(f.off_loop, 20);
	jobs_free(j);
	assert_int_equal(f.done, 20);
	fx_release(&f);
}

static void test_full_queue_is_busy(void **state)
{
	struct fx f;
	struct jobs *j;

	(void)state;
	fx_init(&f);
	j = fx_jobs(&f);
	assert_int_equal(jobs_submit(j, NULL, job_done, &f), -EINVAL);
	assert_int_equal(jobs_submit(j, job_fn, NULL, &f), -EINVAL);
	f.gate_closed = true;
	/* Every thread busy, then the queue filled: the next one is refused. */
	for (int i = 0; i < JOBS_POOL_THREADS; i++)
		assert_int_equal(jobs_submit(j, job_fn, job_done, &f), 0);
	wait_running(&f, JOBS_POOL_THREADS);
	for (int i = 0; i < JOBS_POOL_QUEUE; i++)
		assert_int_equal(jobs_submit(j, job_fn, job_done, &f), 0);
	assert_int_equal(jobs_submit(j, job_fn, job_done, &f), -EBUSY);
	assert_int_equal(jobs_submit(j, job_fn, job_done, &f), -EBUSY);
	/* Once they ran, there is room again. */
	f.stop_at = JOBS_POOL_THREADS + JOBS_POOL_QUEUE;
	gate_open(&f);
	loop_run(f.loop);
	assert_int_equal(f.done, JOBS_POOL_THREADS + JOBS_POOL_QUEUE);
	f.stop_at = f.done + 1;
	assert_int_equal(jobs_submit(j, job_fn, job_done, &f), 0);
	loop_run(f.loop);
	assert_int_equal(f.done, JOBS_POOL_THREADS + JOBS_POOL_QUEUE + 1);
	assert_int_equal(f.done_on_loop, f.done);
	jobs_free(j);
	fx_release(&f);
}

static void test_free_runs_what_was_accepted(void **state)
{
	struct fx f;
	struct jobs *j;

	(void)state;
	fx_init(&f);
	j = fx_jobs(&f);
	f.gate_closed = true;
	for (int i = 0; i < JOBS_POOL_THREADS + 10; i++)
		assert_int_equal(jobs_submit(j, job_fn, job_done, &f), 0);
	wait_running(&f, JOBS_POOL_THREADS);
	gate_open(&f);
	/* The loop never ran: jobs_free runs every fn, then every done. */
	jobs_free(j);
	assert_int_equal(f.ran, JOBS_POOL_THREADS + 10);
	assert_int_equal(f.done, JOBS_POOL_THREADS + 10);
	assert_int_equal(f.done_on_loop, f.done);
	assert_int_equal(f.done_after_fn, f.done);
	fx_release(&f);
}

static void test_free_without_short_jobs(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	jobs_free(fx_jobs(&f));
	jobs_free(NULL);
	fx_release(&f);
}

static void test_new_refuses_options_without_a_loop(void **state)
{
	struct jobs_opts o = {0};
	struct jobs *j = (struct jobs *)&j;

	(void)state;
	assert_int_equal(jobs_new(&o, &j), -EINVAL);
	assert_null(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fn_on_a_pool_thread_done_on_the_loop),
		cmocka_unit_test(test_full_queue_is_busy),
		cmocka_unit_test(test_free_runs_what_was_accepted),
		cmocka_unit_test(test_free_without_short_jobs),
		cmocka_unit_test(test_new_refuses_options_without_a_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
