/*
 * The writer thread: the one owner of the node's LMDB write transactions.
 *
 * Callers submit jobs from one thread (the loop's). The writer runs each
 * job's body inside a write transaction (through store_write, so a full map
 * is grown and the body rerun), commits, and queues the job as completed;
 * then it calls notify_fn from the writer thread. The caller answers by
 * calling writer_reap on its own thread, which runs each completed job's
 * done(arg, rc) there, in submission order, exactly once.
 *
 * storage/ does not include lib/loop.h: notify_fn is a plain callback, so
 * the writer works with any caller (the node passes a function that calls
 * loop_wake; the tests a condition variable).
 *
 * Group commit. Consecutive WRITER_GROUPABLE jobs (at most WRITER_GROUP_MAX)
 * share one transaction and one fsync. When one body of a group fails, the
 * transaction is aborted, that job completes with the body's error, and the
 * others run again, without it, in a fresh transaction. A failed commit fails
 * every job of the group with its error. A job without the flag runs alone
 * (imports, follower groups that wait for input).
 *
 * Lazy durability. A job with WRITER_LAZY completes as soon as its
 * transaction commits, before that commit is durable: the transaction's
 * pages are synced but its meta page is not (store_write_lazy). It becomes
 * durable with the next commit that writes pages, when more jobs wait, or
 * with a sync of its own, when none does. writer_durable_id says how far
 * jobs are durable, and the writer calls notify when that moves. A busy
 * writer thus syncs once a transaction instead of twice. Every other job
 * completes durable, as before: its transaction is synced at once.
 *
 * Bodies run more than once: after a full map (store.h) and when another body
 * of their group fails. Each run starts on a fresh transaction that sees
 * nothing of the previous run, so a body must rebuild any state kept in arg
 * from the start of every run (store_txn_attempt() is not a reliable counter
 * across a group's reruns).
 *
 * Waiting bodies. A body may wait for input that another thread provides (a
 * follower applying a group's chunks as frames arrive), with writer_wait. The
 * waiting body holds the write transaction open, so it must run alone (no
 * WRITER_GROUPABLE) and wait with a timeout. A rerun after a full map starts
 * the body from scratch: it must replay every input it consumed, so its
 * feeder keeps inputs until the job completes.
 */
#ifndef KEFU_STORAGE_WRITER_H
#define KEFU_STORAGE_WRITER_H

#include "storage/store.h"

#include <stdbool.h>
#include <stdint.h>

/* Jobs sharing one transaction at most. */
#define WRITER_GROUP_MAX 1024
/* Jobs queued and not yet reaped at most; writer_submit refuses beyond. */
#define WRITER_QUEUE_MAX 65536

/* Job flags. */
#define WRITER_GROUPABLE 1u
#define WRITER_LAZY 2u /* complete at commit; durable by writer_durable_id */

/* The body: runs in the write transaction t; 0 to commit, negative to fail
 * the job (the transaction is aborted). */
typedef int (*writer_body_fn)(struct store_txn *t, void *arg);
/* Completion, on the thread that calls writer_reap (or writer_free). */
typedef void (*writer_done_fn)(void *arg, int rc);
/* Called from the writer thread after jobs completed: wake the reaper. */
typedef void (*writer_notify_fn)(void *arg);

/* A job as submitted; writer_submit copies it. arg must stay valid until
 * done has been called. done may be NULL. */
struct writer_job {
	writer_body_fn body;
	writer_done_fn done;
	void *arg;
	unsigned flags;
};

struct writer;

struct writer_opts {
	struct store *store;       /* must outlive the writer */
	/* Called from the writer thread when jobs completed (may be NULL):
	 * must be thread-safe and stay valid, with its arg, until writer_free
	 * returns. */
	writer_notify_fn notify;
	void *notify_arg;
};

/*
 * writer_new - start the writer thread on o->store (o is read during the
 * call) into *out. Returns 0, -EINVAL (no store), or -EAGAIN and the other
 * errors of pthread_create (the thread cannot start); then *out is NULL.
 * Free with writer_free.
 */
int writer_new(const struct writer_opts *o, struct writer **out);

/*
 * writer_free - stop the writer. The jobs of the transaction in progress are
 * cancelled: those not started yet do not run, a writer_wait returns
 * KF_ECANCELED, and a body that does not wait runs to its end and commits.
 * Queued jobs complete with KF_ECANCELED without running. Every done not
 * yet called runs here, on the caller's thread, in order. NULL is fine.
 * Not from a body or a done.
 */
void writer_free(struct writer *w);

/*
 * writer_submit - queue a job. On 0, *id (may be NULL) names it for
 * writer_cancel; ids start at 1 and increase. Returns 0, KF_ETOOBIG (queue
 * full), KF_ESTATE (the writer is stopping), -EINVAL (no body).
 */
int writer_submit(struct writer *w, const struct writer_job *job, uint64_t *id);

/*
 * writer_cancel - cancel job id: a queued job completes with KF_ECANCELED
 * without running; a running job's writer_wait returns KF_ECANCELED (at
 * once if it waits now), and its transaction is aborted if the body
 * returns that. Returns 0, KF_ENOTFOUND (completed, or unknown).
 */
int writer_cancel(struct writer *w, uint64_t id);

/*
 * writer_reap - run done(arg, rc) for every job completed since the last
 * reap, in submission order, on the caller's thread. Returns how many ran.
 * Not from a body.
 */
size_t writer_reap(struct writer *w);

/*
 * writer_wait - from a body, on the writer thread: wait until cond(cond_arg)
 * is true, the job is cancelled, or timeout_ms passes. cond is evaluated
 * with the writer's lock held; it may only read the state that other
 * threads change between writer_lock and writer_unlock, and may not call
 * the writer. Returns 0 (cond true), KF_ECANCELED, -ETIMEDOUT.
 */
typedef bool (*writer_cond_fn)(void *arg);
int writer_wait(struct writer *w, writer_cond_fn cond, void *cond_arg, uint64_t timeout_ms);

/*
 * writer_lock / writer_unlock - from any thread but the writer's, around a
 * change of the state a waiting body's cond reads; writer_unlock wakes the
 * body to evaluate cond again.
 */
void writer_lock(struct writer *w);
void writer_unlock(struct writer *w);

struct writer_stats {
	uint64_t jobs;     /* jobs completed, whatever their result */
	uint64_t commits;  /* transactions committed */
	uint64_t syncs;    /* syncs of their own (a commit that no next one
			    * carried to disk) */
	uint64_t reruns;   /* group runs repeated because one body failed */
	/* Time the thread spent on transactions (bodies, commits with their
	 * sync, reruns) and, of that, in the bodies: the rest is LMDB's commit. */
	uint64_t busy_ns;
	uint64_t body_ns;
};

/* writer_durable_id - every job with an id up to this one (writer_submit's)
 * is durable, WRITER_LAZY ones included; any thread. */
uint64_t writer_durable_id(struct writer *w);

/* writer_stats_get - counters so far; any thread. */
void writer_stats_get(struct writer *w, struct writer_stats *st);

#endif
