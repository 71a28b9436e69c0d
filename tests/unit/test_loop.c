/* The event loop wrapper: timers, signals, stop, fd watches, alarms, wakes, time. */
#include "lib/loop.h"

#include "lib/err.h"

#include <pthread.h>
#include <stdbool.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

struct counter {
	struct loop *loop;
	int ticks, stop_at, signals;
};

static void on_tick(void *arg)
{
	struct counter *c = arg;

	if (++c->ticks == c->stop_at)
		loop_stop(c->loop);
}

static void test_timer_repeats_until_stopped(void **state)
{
	struct counter c = {.stop_at = 3};
	struct loop_timer *t;

	(void)state;
	assert_int_equal(loop_new(&c.loop), 0);
	t = loop_timer_new(c.loop, 5, on_tick, &c);
	assert_int_equal(loop_run(c.loop), 0);
	assert_int_equal(c.ticks, 3);
	loop_timer_free(t);
	loop_free(c.loop);
}

static void raise_usr1(void *arg)
{
	(void)arg;
	raise(SIGUSR1);
}

static void on_signal(void *arg)
{
	struct counter *c = arg;

	c->signals++;
	loop_stop(c->loop);
}

static void test_signal_runs_callback_from_the_loop(void **state)
{
	struct counter c = {0};
	struct loop_signal *s;
	struct loop_timer *t;

	(void)state;
	assert_int_equal(loop_new(&c.loop), 0);
	assert_int_equal(loop_signal_new(c.loop, SIGUSR1, on_signal, &c, &s), 0);
	t = loop_timer_new(c.loop, 1, raise_usr1, NULL);
	assert_int_equal(loop_run(c.loop), 0);
	assert_int_equal(c.signals, 1);
	loop_timer_free(t);
	loop_signal_free(s);
	loop_free(c.loop);
}

/* A signal libevent cannot watch: an error code and no handle. */
static void test_signal_refused_sets_out_to_null(void **state)
{
	struct loop *l;
	struct loop_signal *s = (struct loop_signal *)&s;

	(void)state;
	assert_int_equal(loop_new(&l), 0);
	assert_int_equal(loop_signal_new(l, -1, on_signal, NULL, &s), KF_EINTERNAL);
	assert_null(s);
	loop_free(l);
}

static void test_run_returns_when_nothing_is_registered(void **state)
{
	struct loop *l;

	(void)state;
	assert_int_equal(loop_new(&l), 0);
	assert_int_equal(loop_run(l), 0);
	loop_free(l);
}

/* ---- fd watches ---- */

struct watch {
	struct loop *loop;
	struct loop_io *io;
	int calls, events, fd;
	bool free_inside;
};

static void on_io(void *arg, int fd, int events)
{
	struct watch *w = arg;
	char c;

	w->calls++;
	w->events = events;
	w->fd = fd;
	if (events & LOOP_READ)
		assert_int_equal(read(fd, &c, 1), 1);
	if (w->free_inside) {
		loop_io_free(w->io);
		w->io = NULL;
	}
	loop_stop(w->loop);
}

static void test_io_reports_a_readable_fd(void **state)
{
	struct watch w = {0};
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_new(&w.loop), 0);
	assert_int_equal(loop_io_new(w.loop, p[0], LOOP_READ, on_io, &w, &w.io), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_run(w.loop), 0);
	assert_int_equal(w.calls, 1);
	assert_int_equal(w.events, LOOP_READ);
	assert_int_equal(w.fd, p[0]);
	loop_io_free(w.io);
	loop_free(w.loop);
	close(p[0]);
	close(p[1]);
}

static void test_io_set_changes_what_is_watched(void **state)
{
	struct watch w = {0};
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_new(&w.loop), 0);
	/* Nothing watched yet: the loop has nothing to wait for and returns. */
	assert_int_equal(loop_io_new(w.loop, p[1], 0, on_io, &w, &w.io), 0);
	assert_int_equal(loop_run(w.loop), 0);
	assert_int_equal(w.calls, 0);
	/* An empty pipe is writable at once. */
	assert_int_equal(loop_io_set(w.io, LOOP_WRITE), 0);
	assert_int_equal(loop_run(w.loop), 0);
	assert_int_equal(w.calls, 1);
	assert_int_equal(w.events, LOOP_WRITE);
	loop_io_free(w.io);
	loop_free(w.loop);
	close(p[0]);
	close(p[1]);
}

static void test_io_free_inside_its_callback(void **state)
{
	struct watch w = {.free_inside = true};
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_new(&w.loop), 0);
	assert_int_equal(loop_io_new(w.loop, p[0], LOOP_READ, on_io, &w, &w.io), 0);
	assert_int_equal(write(p[1], "xy", 2), 2);
	assert_int_equal(loop_run(w.loop), 0);
	assert_null(w.io);
	/* Still readable, but nobody watches: nothing more runs. */
	assert_int_equal(loop_run(w.loop), 0);
	assert_int_equal(w.calls, 1);
	loop_free(w.loop);
	close(p[0]);
	close(p[1]);
}

/* ---- alarms ---- */

struct ring {
	struct loop *loop;
	struct loop_alarm *alarm;
	int rings;
	uint64_t at;
	bool rearm, free_inside;
};

static void on_ring(void *arg)
{
	struct ring *r = arg;

	r->rings++;
	r->at = loop_now_ms();
	if (r->rearm) {
		r->rearm = false;
		loop_alarm_set(r->alarm, 1);
	}
	if (r->free_inside) {
		loop_alarm_free(r->alarm);
		r->alarm = NULL;
	}
}

static void test_alarm_fires_once_after_its_delay(void **state)
{
	struct ring r = {0};
	uint64_t start;

	(void)state;
	assert_int_equal(loop_new(&r.loop), 0);
	r.alarm = loop_alarm_new(r.loop, on_ring, &r);
	start = loop_now_ms();
	loop_alarm_set(r.alarm, 30);
	/* One-shot: once it has rung, nothing is registered and the loop returns. */
	assert_int_equal(loop_run(r.loop), 0);
	assert_int_equal(r.rings, 1);
	assert_true(r.at - start >= 29);
	loop_alarm_free(r.alarm);
	loop_free(r.loop);
}

static void test_alarm_set_again_inside_fn_rings_again(void **state)
{
	struct ring r = {.rearm = true};

	(void)state;
	assert_int_equal(loop_new(&r.loop), 0);
	r.alarm = loop_alarm_new(r.loop, on_ring, &r);
	loop_alarm_set(r.alarm, 0);
	assert_int_equal(loop_run(r.loop), 0);
	assert_int_equal(r.rings, 2);
	loop_alarm_free(r.alarm);
	loop_free(r.loop);
}

static void test_alarm_cancel_and_reset_keep_only_the_last(void **state)
{
	struct ring r = {0};
	struct ring later = {0};
	uint64_t start = loop_now_ms();

	(void)state;
	assert_int_equal(loop_new(&r.loop), 0);
	r.alarm = loop_alarm_new(r.loop, on_ring, &r);
	later.alarm = loop_alarm_new(r.loop, on_ring, &later);
	loop_alarm_set(r.alarm, 5);
	loop_alarm_cancel(r.alarm);
	loop_alarm_cancel(r.alarm); /* not set: nothing happens */
	loop_alarm_set(later.alarm, 5);
	loop_alarm_set(later.alarm, 40); /* re-arming moves the deadline */
	assert_int_equal(loop_run(r.loop), 0);
	assert_int_equal(r.rings, 0);
	assert_int_equal(later.rings, 1);
	assert_true(later.at - start >= 39);
	loop_alarm_free(r.alarm);
	loop_alarm_free(later.alarm);
	loop_free(r.loop);
}

static void test_alarm_free_inside_fn(void **state)
{
	struct ring r = {.free_inside = true};

	(void)state;
	assert_int_equal(loop_new(&r.loop), 0);
	r.alarm = loop_alarm_new(r.loop, on_ring, &r);
	loop_alarm_set(r.alarm, 0);
	assert_int_equal(loop_run(r.loop), 0);
	assert_int_equal(r.rings, 1);
	assert_null(r.alarm);
	loop_free(r.loop);
}

/* ---- wakes ---- */

struct wakeup {
	struct loop *loop;
	struct loop_wake *wake;
	pthread_t loop_thread;
	int runs;
	bool on_loop_thread, keep_running;
};

static void on_wake(void *arg)
{
	struct wakeup *w = arg;

	w->runs++;
	w->on_loop_thread = pthread_equal(pthread_self(), w->loop_thread);
	if (!w->keep_running)
		loop_stop(w->loop);
}

static void stop_loop(void *arg)
{
	loop_stop(arg);
}

static void *waker(void *arg)
{
	struct wakeup *w = arg;
	struct timespec ts = {0, 20 * 1000 * 1000};

	nanosleep(&ts, NULL);
	loop_wake(w->wake);
	return NULL;
}

static void test_wake_from_another_thread_runs_fn_on_the_loop(void **state)
{
	struct wakeup w = {0};
	pthread_t t;

	(void)state;
	assert_int_equal(loop_new(&w.loop), 0);
	w.loop_thread = pthread_self();
	assert_int_equal(loop_wake_new(w.loop, on_wake, &w, &w.wake), 0);
	assert_non_null(w.wake);
	assert_int_equal(pthread_create(&t, NULL, waker, &w), 0);
	assert_int_equal(loop_run(w.loop), 0);
	pthread_join(t, NULL);
	assert_int_equal(w.runs, 1);
	assert_true(w.on_loop_thread);
	loop_wake_free(w.wake);
	loop_free(w.loop);
}

static void test_wakes_before_the_loop_runs_coalesce(void **state)
{
	struct wakeup w = {.keep_running = true};
	struct loop_alarm *end;

	(void)state;
	assert_int_equal(loop_new(&w.loop), 0);
	w.loop_thread = pthread_self();
	assert_int_equal(loop_wake_new(w.loop, on_wake, &w, &w.wake), 0);
	end = loop_alarm_new(w.loop, stop_loop, w.loop);
	for (int i = 0; i < 5; i++)
		loop_wake(w.wake);
	loop_alarm_set(end, 50);
	assert_int_equal(loop_run(w.loop), 0);
	assert_int_equal(w.runs, 1);
	loop_alarm_free(end);
	loop_wake_free(w.wake);
	loop_free(w.loop);
}

/* ---- time ---- */

static void test_now_ms_is_monotonic_and_advances(void **state)
{
	struct timespec ts = {0, 15 * 1000 * 1000};
	uint64_t a, b;

	(void)state;
	a = loop_now_ms();
	nanosleep(&ts, NULL);
	b = loop_now_ms();
	assert_true(b >= a + 14);
	assert_true(b - a < 5000);
}

static void test_free_accepts_null(void **state)
{
	(void)state;
	loop_free(NULL);
	loop_timer_free(NULL);
	loop_signal_free(NULL);
	loop_io_free(NULL);
	loop_alarm_free(NULL);
	loop_wake_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_repeats_until_stopped),
		cmocka_unit_test(test_signal_runs_callback_from_the_loop),
		cmocka_unit_test(test_signal_refused_sets_out_to_null),
		cmocka_unit_test(test_run_returns_when_nothing_is_registered),
		cmocka_unit_test(test_io_reports_a_readable_fd),
		cmocka_unit_test(test_io_set_changes_what_is_watched),
		cmocka_unit_test(test_io_free_inside_its_callback),
		cmocka_unit_test(test_alarm_fires_once_after_its_delay),
		cmocka_unit_test(test_alarm_set_again_inside_fn_rings_again),
		cmocka_unit_test(test_alarm_cancel_and_reset_keep_only_the_last),
		cmocka_unit_test(test_alarm_free_inside_fn),
		cmocka_unit_test(test_wake_from_another_thread_runs_fn_on_the_loop),
		cmocka_unit_test(test_wakes_before_the_loop_runs_coalesce),
		cmocka_unit_test(test_now_ms_is_monotonic_and_advances),
		cmocka_unit_test(test_free_accepts_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
