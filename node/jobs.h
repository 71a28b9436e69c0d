/*
 * Leader jobs: work that writes much or long (BOSS imports, retention,
 * SEQ skips) runs on a worker thread of its own, so the event loop keeps
 * serving (and keeps the lease alive) meanwhile. In a cluster each of its
 * transactions goes through the leader's log: jobs_hooks() gives the
 * write_hooks (storage/batch.h) that run a body on the writer thread via
 * repl_run_logged and record its batches as one group; the worker waits
 * until the group is acknowledged by the sync standbys.
 */
#ifndef KEFU_NODE_JOBS_H
#define KEFU_NODE_JOBS_H

#include "cluster/repl.h"
#include "lib/loop.h"
#include "storage/batch.h"

struct jobs;

/* jobs_new - repl may be NULL (a node alone: hooks are NULL, bodies run with store_write). */
struct jobs *jobs_new(struct loop *l, struct repl *repl);

/* jobs_free - waits for running workers (their bodies complete or fail). NULL is fine. */
void jobs_free(struct jobs *j);

/* jobs_hooks - for import_opts.hooks, custdb_prune, import_skip; NULL for a node alone. */
const struct write_hooks *jobs_hooks(struct jobs *j);

/* A worker: fn(arg) on its own thread, then done(arg) on the loop. */
typedef void (*jobs_fn)(void *arg);
int jobs_spawn(struct jobs *j, jobs_fn fn, jobs_fn done, void *arg);

#endif
