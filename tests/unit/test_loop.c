/* The event loop wrapper: periodic timers, signals, stop. */
#include "lib/loop.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
	c.loop = loop_new();
	assert_non_null(c.loop);
	t = loop_timer_new(c.loop, 5, on_tick, &c);
	assert_non_null(t);
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
	c.loop = loop_new();
	s = loop_signal_new(c.loop, SIGUSR1, on_signal, &c);
	assert_non_null(s);
	t = loop_timer_new(c.loop, 1, raise_usr1, NULL);
	assert_int_equal(loop_run(c.loop), 0);
	assert_int_equal(c.signals, 1);
	loop_timer_free(t);
	loop_signal_free(s);
	loop_free(c.loop);
}

static void test_run_returns_when_nothing_is_registered(void **state)
{
	struct loop *l = loop_new();

	(void)state;
	assert_int_equal(loop_run(l), 0);
	loop_free(l);
}

static void test_free_accepts_null(void **state)
{
	(void)state;
	loop_free(NULL);
	loop_timer_free(NULL);
	loop_signal_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_repeats_until_stopped),
		cmocka_unit_test(test_signal_runs_callback_from_the_loop),
		cmocka_unit_test(test_run_returns_when_nothing_is_registered),
		cmocka_unit_test(test_free_accepts_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
