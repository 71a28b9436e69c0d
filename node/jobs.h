/*
 * Work off the event loop, in two kinds.
 *
 * Leader jobs: work that writes much or long (BOSS imports, retention,
 * SEQ skips) runs on a worker thread of its own, so the event loop keeps
 * serving (and keeps the lease alive) meanwhile. In a cluster each of its
 * transactions goes through the leader's log: jobs_hooks() gives the
 * write_hooks (storage/batch.h) that run a body on the writer thread via
 * repl_run_logged and record its batches as one group; the worker waits
 * until the group is acknowledged by the sync standbys.
 *
 * Short jobs: CPU work of some milliseconds that must not stall the loop
 * (a password hash to check) runs on a small pool of JOBS_POOL_THREADS
 * threads with a queue of at most JOBS_POOL_QUEUE jobs waiting; a full
 * queue refuses the job, so a burst costs no more threads and no more
 * memory than that (jobs_submit).
 */
#ifndef KEFU_NODE_JOBS_H
#define KEFU_NODE_JOBS_H

#include "cluster/repl.h"
#include "lib/loop.h"
#include "storage/batch.h"

struct jobs;

struct jobs_opts {
	struct loop *loop;   /* must outlive the jobs */
	struct repl *repl;   /* NULL on a node alone (hooks are NULL, bodies run
			      * with store_write); else must outlive the jobs */
};

/*
 * jobs_new - the leader jobs and the short-job pool (no thread yet), into
 * *out. Returns 0, or (*out NULL) -EINVAL (no loop) or the error of
 * loop_wake_new. Free with jobs_free.
 */
int jobs_new(const struct jobs_opts *o, struct jobs **out);

/* jobs_free - waits for running workers (their bodies complete or fail) and
 * for the short jobs accepted (each one's fn, then its done, from here).
 * From the loop's thread. NULL is fine. */
void jobs_free(struct jobs *j);

/* jobs_hooks - for import_opts.hooks, custdb_prune, import_skip; NULL for a node alone. */
const struct write_hooks *jobs_hooks(struct jobs *j);

/* A worker: fn(arg) on its own thread, then done(arg) on the loop. */
typedef void (*jobs_fn)(void *arg);
int jobs_spawn(struct jobs *j, jobs_fn fn, jobs_fn done, void *arg);

#define JOBS_POOL_THREADS 4   /* threads of the short jobs, started with the first */
#define JOBS_POOL_QUEUE 64    /* short jobs waiting for a thread, at most */

/*
 * jobs_submit - a short job: fn(arg) on a pool thread, later done(arg) on
 * the loop (never from inside this call). Jobs start in submission order.
 * fn must not touch what the loop uses without a lock; arg is the caller's
 * until done runs, and done runs once for every accepted job, also when
 * the jobs are freed (jobs_free). From the loop's thread. Returns 0;
 * -EBUSY (JOBS_POOL_QUEUE jobs wait already: nothing is queued, done will
 * not run; try later), -EINVAL (fn or done NULL), KF_ESTATE (jobs_free
 * has begun), -EAGAIN (no pool thread could be started).
 */
int jobs_submit(struct jobs *j, jobs_fn fn, jobs_fn done, void *arg);

#endif
