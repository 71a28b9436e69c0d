/* The event loop over libevent. See loop.h. */
#include "lib/loop.h"

#include "lib/err.h"

#include <event2/event.h>
#include <stdlib.h>

struct loop {
	struct event_base *base;
};

/* A timer and a signal handler are both one libevent event and a callback. */
struct loop_timer {
	struct event *ev;
	loop_fn fn;
	void *arg;
};

struct loop_signal {
	struct event *ev;
	loop_fn fn;
	void *arg;
};

struct loop *loop_new(void)
{
	struct loop *l = malloc(sizeof(*l));

	if (!l)
		abort();
	l->base = event_base_new();
	if (!l->base) {
		free(l);
		return NULL;
	}
	return l;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	event_base_free(l->base);
	free(l);
}

int loop_run(struct loop *l)
{
	return event_base_dispatch(l->base) < 0 ? KF_EINTERNAL : 0;
}

void loop_stop(struct loop *l)
{
	event_base_loopbreak(l->base);
}

static void loop_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop_timer *t = arg;

	(void)fd;
	(void)what;
	t->fn(t->arg);
}

struct loop_timer *loop_timer_new(struct loop *l, uint64_t interval_ms, loop_fn fn, void *arg)
{
	struct loop_timer *t = malloc(sizeof(*t));
	struct timeval tv;

	if (!t)
		abort();
	if (interval_ms == 0)
		interval_ms = 1;
	tv.tv_sec = (time_t)(interval_ms / 1000);
	tv.tv_usec = (suseconds_t)(interval_ms % 1000) * 1000;
	t->fn = fn;
	t->arg = arg;
	t->ev = event_new(l->base, -1, EV_PERSIST, loop_timer_cb, t);
	if (!t->ev)
		goto fail_free;
	if (event_add(t->ev, &tv) != 0)
		goto fail_event;
	return t;
fail_event:
	event_free(t->ev);
fail_free:
	free(t);
	return NULL;
}

void loop_timer_free(struct loop_timer *t)
{
	if (!t)
		return;
	event_free(t->ev);
	free(t);
}

static void loop_signal_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop_signal *s = arg;

	(void)fd;
	(void)what;
	s->fn(s->arg);
}

struct loop_signal *loop_signal_new(struct loop *l, int signo, loop_fn fn, void *arg)
{
	struct loop_signal *s = malloc(sizeof(*s));

	if (!s)
		abort();
	s->fn = fn;
	s->arg = arg;
	s->ev = evsignal_new(l->base, signo, loop_signal_cb, s);
	if (!s->ev)
		goto fail_free;
	if (event_add(s->ev, NULL) != 0)
		goto fail_event;
	return s;
fail_event:
	event_free(s->ev);
fail_free:
	free(s);
	return NULL;
}

void loop_signal_free(struct loop_signal *s)
{
	if (!s)
		return;
	event_free(s->ev);
	free(s);
}
