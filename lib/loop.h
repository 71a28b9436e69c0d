/*
 * The event loop: a small wrapper around libevent, the only code in the
 * tree that touches it. Subsystems get periodic timers and signal handlers
 * here; sockets come later through the same wrapper.
 *
 * Everything runs on the loop's thread. Callbacks run from loop_run().
 */
#ifndef KEFU_LIB_LOOP_H
#define KEFU_LIB_LOOP_H

#include <stdint.h>

struct loop;
struct loop_timer;
struct loop_signal;

typedef void (*loop_fn)(void *arg);

/* loop_new - a loop with nothing registered. Returns NULL if libevent fails. */
struct loop *loop_new(void);

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
 * timer is freed. Returns NULL if libevent fails. The timer belongs to the
 * caller; free it with loop_timer_free before the loop.
 */
struct loop_timer *loop_timer_new(struct loop *l, uint64_t interval_ms, loop_fn fn, void *arg);

/* loop_timer_free - stop and free t; NULL is fine. */
void loop_timer_free(struct loop_timer *t);

/*
 * loop_signal_new - call fn(arg) from the loop each time signo arrives
 * (libevent turns the signal into a loop callback; no async-signal rules
 * apply to fn). Returns NULL if libevent fails. Free before the loop.
 */
struct loop_signal *loop_signal_new(struct loop *l, int signo, loop_fn fn, void *arg);

/* loop_signal_free - remove and free s, restoring the signal's previous handling; NULL is fine. */
void loop_signal_free(struct loop_signal *s);

#endif
