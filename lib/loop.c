/* The event loop over libevent. See loop.h. */
#include "lib/loop.h"

#include "lib/err.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

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

int loop_new(struct loop **out)
{
	struct loop *l = malloc(sizeof(*l));

	*out = NULL;
	if (!l)
		abort();
	l->base = event_base_new();
	if (!l->base) {
		free(l);
		return KF_EINTERNAL;
	}
	*out = l;
	return 0;
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

/* libevent fails to make or add a timer only when out of memory: abort. */
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
	if (!t->ev || event_add(t->ev, &tv) != 0)
		abort();
	return t;
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

int loop_signal_new(struct loop *l, int signo, loop_fn fn, void *arg, struct loop_signal **out)
{
	struct loop_signal *s = malloc(sizeof(*s));

	*out = NULL;
	if (!s)
		abort();
	s->fn = fn;
	s->arg = arg;
	s->ev = evsignal_new(l->base, signo, loop_signal_cb, s);
	if (!s->ev)
		goto fail_free;
	if (event_add(s->ev, NULL) != 0)
		goto fail_event;
	*out = s;
	return 0;
fail_event:
	event_free(s->ev);
fail_free:
	free(s);
	return KF_EINTERNAL;
}

void loop_signal_free(struct loop_signal *s)
{
	if (!s)
		return;
	event_free(s->ev);
	free(s);
}

struct event_base *loop__base(struct loop *l)
{
	return l->base;
}

uint64_t loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t loop_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t loop_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void ms_to_tv(uint64_t ms, struct timeval *tv)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

/* ---- file descriptors ---- */

struct loop_io {
	struct loop *l;
	struct event *ev;
	int fd;
	loop_io_fn fn;
	void *arg;
};

static void loop_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop_io *io = arg;
	int ev = ((what & EV_READ) ? LOOP_READ : 0) | ((what & EV_WRITE) ? LOOP_WRITE : 0);

	io->fn(io->arg, (int)fd, ev);
}

int loop_io_set(struct loop_io *io, int events)
{
	short what = EV_PERSIST | ((events & LOOP_READ) ? EV_READ : 0) |
		     ((events & LOOP_WRITE) ? EV_WRITE : 0);

	if (io->ev) {
		event_del(io->ev);
		if (event_assign(io->ev, io->l->base, io->fd, what, loop_io_cb, io) != 0)
			return KF_EINTERNAL;
	} else {
		io->ev = event_new(io->l->base, io->fd, what, loop_io_cb, io);
		if (!io->ev)
			return KF_EINTERNAL;
	}
	if (events && event_add(io->ev, NULL) != 0)
		return KF_EINTERNAL;
	return 0;
}

int loop_io_new(struct loop *l, int fd, int events, loop_io_fn fn, void *arg, struct loop_io **out)
{
	struct loop_io *io = calloc(1, sizeof(*io));
	int r;

	*out = NULL;
	if (!io)
		abort();
	io->l = l;
	io->fd = fd;
	io->fn = fn;
	io->arg = arg;
	r = loop_io_set(io, events);
	if (r) {
		loop_io_free(io);
		return r;
	}
	*out = io;
	return 0;
}

void loop_io_free(struct loop_io *io)
{
	if (!io)
		return;
	if (io->ev)
		event_free(io->ev);
	free(io);
}

/* ---- alarms ---- */

struct loop_alarm {
	struct event *ev;
	loop_fn fn;
	void *arg;
};

static void loop_alarm_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop_alarm *a = arg;

	(void)fd;
	(void)what;
	a->fn(a->arg);
}

struct loop_alarm *loop_alarm_new(struct loop *l, loop_fn fn, void *arg)
{
	struct loop_alarm *a = malloc(sizeof(*a));

	if (!a)
		abort();
	a->fn = fn;
	a->arg = arg;
	a->ev = evtimer_new(l->base, loop_alarm_cb, a);
	if (!a->ev)
		abort(); /* only when out of memory */
	return a;
}

void loop_alarm_set(struct loop_alarm *a, uint64_t ms)
{
	struct timeval tv;

	ms_to_tv(ms, &tv);
	evtimer_add(a->ev, &tv);
}

void loop_alarm_cancel(struct loop_alarm *a)
{
	evtimer_del(a->ev);
}

void loop_alarm_free(struct loop_alarm *a)
{
	if (!a)
		return;
	event_free(a->ev);
	free(a);
}

/* ---- wake ---- */

struct loop_wake {
	struct loop_io *io;
	int fd;
	loop_fn fn;
	void *arg;
};

static void loop_wake_cb(void *arg, int fd, int events)
{
	struct loop_wake *w = arg;
	uint64_t n;

	(void)events;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	w->fn(w->arg);
}

int loop_wake_new(struct loop *l, loop_fn fn, void *arg, struct loop_wake **out)
{
	struct loop_wake *w = malloc(sizeof(*w));
	int r;

	*out = NULL;
	if (!w)
		abort();
	w->fn = fn;
	w->arg = arg;
	w->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->fd < 0) {
		r = -errno;
		goto fail_free;
	}
	r = loop_io_new(l, w->fd, LOOP_READ, loop_wake_cb, w, &w->io);
	if (r)
		goto fail_fd;
	*out = w;
	return 0;
fail_fd:
	close(w->fd);
fail_free:
	free(w);
	return r;
}

void loop_wake(struct loop_wake *w)
{
	uint64_t one = 1;

	if (write(w->fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, a wake is pending anyway. */
	}
}

void loop_wake_free(struct loop_wake *w)
{
	if (!w)
		return;
	loop_io_free(w->io);
	close(w->fd);
	free(w);
}
