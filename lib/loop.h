/*
 * The event loop: a small wrapper around libevent, the only code in the
 * tree that touches it (lib/net.c builds its sockets on loop__base). Timers,
 * alarms, signals, file descriptors and cross-thread wakes.
 *
 * Everything runs on the loop's thread (but loop_wake, callable from any
 * thread). Callbacks run from loop_run().
 *
 * Constructors follow docs/development.md ("Conventions: constructors and
 * errors"): the ones that can fail for a reason other than memory return 0
 * or a negative code and set *out (NULL on failure); the ones only memory
 * can fail (timers, alarms) return the object and abort when out of memory.
 * The small handles here (signals, wakes) keep their few positional
 * arguments instead of an options struct: a loop, what to watch, and the
 * callback with its arg.
 */
#ifndef KEFU_LIB_LOOP_H
#define KEFU_LIB_LOOP_H

#include <stdint.h>

struct loop;
struct loop_timer;
struct loop_signal;

typedef void (*loop_fn)(void *arg);

/*
 * loop_new - a loop with nothing registered, into *out. Returns 0, or
 * KF_EINTERNAL (libevent cannot make an event base; *out is NULL).
 */
int loop_new(struct loop **out);

/* loop_free - free l; NULL is fine. Free its timers and signals first. */
void loop_free(struct loop *l);

/*
 * loop_run - dispatch callbacks until loop_stop() is called (or nothing is
 * registered any more). Returns 0, KF_EINTERNAL (libevent failed).
 */
int loop_run(struct loop *l);

/* loop_stop - make loop_run return once the current callback is done. */
void loop_stop(struct loop *l);

/*
 * loop_timer_new - call fn(arg) every interval_ms (at least 1) until the
 * timer is freed. Never NULL: libevent fails here only when out of memory,
 * which aborts. The timer belongs to the caller; free it with
 * loop_timer_free before the loop.
 */
struct loop_timer *loop_timer_new(struct loop *l, uint64_t interval_ms, loop_fn fn, void *arg);

/* loop_timer_free - stop and free t; NULL is fine. */
void loop_timer_free(struct loop_timer *t);

/*
 * loop_signal_new - call fn(arg) from the loop each time signo arrives
 * (libevent turns the signal into a loop callback; no async-signal rules
 * apply to fn). Returns 0 and *out, or KF_EINTERNAL (libevent refused the
 * signal; *out is NULL). Free with loop_signal_free before the loop.
 */
int loop_signal_new(struct loop *l, int signo, loop_fn fn, void *arg, struct loop_signal **out);

/* loop_signal_free - remove and free s, restoring the signal's previous handling; NULL is fine. */
void loop_signal_free(struct loop_signal *s);

/* ---- file descriptors ---- */

#define LOOP_READ 1
#define LOOP_WRITE 2

struct loop_io;
typedef void (*loop_io_fn)(void *arg, int fd, int events);

/*
 * loop_io_new - watch fd for the LOOP_READ/LOOP_WRITE events in `events`
 * (0 = none yet) and call fn(arg, fd, ready events) while they are ready
 * (level-triggered). The fd stays the caller's: loop_io_free does not close
 * it. Returns 0 and *out, or KF_EINTERNAL (libevent refuses the fd;
 * *out is NULL).
 */
int loop_io_new(struct loop *l, int fd, int events, loop_io_fn fn, void *arg, struct loop_io **out);

/* loop_io_set - change the events watched. Returns 0, KF_EINTERNAL. */
int loop_io_set(struct loop_io *io, int events);

/* loop_io_free - stop watching and free; NULL is fine. Safe inside fn. */
void loop_io_free(struct loop_io *io);

/* ---- one-shot alarms ---- */

struct loop_alarm;

/* loop_alarm_new - an alarm that is not set; fn(arg) runs once per
 * loop_alarm_set. Never NULL: allocation failure aborts. */
struct loop_alarm *loop_alarm_new(struct loop *l, loop_fn fn, void *arg);

/* loop_alarm_set - (re)arm to fire in ms milliseconds (0 = on the next loop turn). */
void loop_alarm_set(struct loop_alarm *a, uint64_t ms);

/* loop_alarm_cancel - disarm; nothing happens if it was not set. */
void loop_alarm_cancel(struct loop_alarm *a);

/* loop_alarm_free - NULL is fine. Safe inside fn. */
void loop_alarm_free(struct loop_alarm *a);

/* ---- waking the loop from another thread ---- */

struct loop_wake;

/*
 * loop_wake_new - fn(arg) will run on the loop's thread after any
 * loop_wake() call, from any thread (several calls before it runs may
 * give one run). Returns 0 and *out, or -errno (eventfd failed: -EMFILE...)
 * or KF_EINTERNAL (libevent failed); then *out is NULL.
 */
int loop_wake_new(struct loop *l, loop_fn fn, void *arg, struct loop_wake **out);

/* loop_wake - async-signal-safe and thread-safe. */
void loop_wake(struct loop_wake *w);

/* loop_wake_free - NULL is fine. */
void loop_wake_free(struct loop_wake *w);

/* ---- time ---- */

/* loop_now_ms - monotonic milliseconds (CLOCK_MONOTONIC), for deadlines. */
uint64_t loop_now_ms(void);

/* loop_now_us - the same clock in microseconds, for timing short waits. */
uint64_t loop_now_us(void);

/* loop_wall_ms - the wall clock (CLOCK_REALTIME) in unix milliseconds, for
 * times that are stored or shown; never for deadlines. */
uint64_t loop_wall_ms(void);

/* For lib/ modules that build on libevent themselves (lib/net.c): the base. */
struct event_base;
struct event_base *loop__base(struct loop *l);

#endif
