/*
 * The writer thread. See writer.h.
 *
 * Jobs move through three lists, all under one mutex: the queue (submitted,
 * not started), the run (the jobs of the transaction in progress, an array
 * on the writer's stack) and the done list (completed, not yet reaped). Each
 * move keeps submission order, so done callbacks run in that order.
 *
 * Commits are lazy (store_write_lazy): a transaction's pages are synced, its
 * meta page is written but not synced. The meta page becomes durable with
 * the next commit that writes pages, or with store_sync. A run of
 * WRITER_LAZY jobs completes at its commit and is durable by the end of the
 * next one when more jobs wait; durable_id says how far. Any other run, and
 * every commit after which no job waits, is synced at once: its jobs
 * complete durable, as they always did.
 */
#include "storage/writer.h"

#include "lib/err.h"
#include "lib/log.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct writer_item {
	struct writer_job job;
	uint64_t id;
	int rc;
	bool cancelled;  /* under the lock */
	bool finished;   /* rc is final; writer thread only */
	struct writer_item *next;
};

/* A singly linked FIFO of items. */
struct writer_list {
	struct writer_item *head;
	struct writer_item *tail;
};

struct writer {
	struct store *s;
	writer_notify_fn notify;
	void *notify_arg;
	pthread_t thread;
	pthread_mutex_t mu;      /* guards everything below */
	pthread_cond_t work_cv;  /* the writer waits for jobs or stop */
	pthread_cond_t body_cv;  /* a waiting body waits for input or cancel */
	struct writer_list queue;
	struct writer_list done;
	struct writer_item **run; /* the transaction in progress: nrun items */
	size_t nrun;
	struct writer_item *current; /* the body running now */
	size_t count;            /* items submitted and not yet reaped */
	uint64_t next_id;
	uint64_t last_taken;     /* id of the last job taken to run */
	uint64_t committed_id;   /* jobs up to this id are committed */
	uint64_t durable_id;     /* and up to this one durable */
	bool stopping;
	struct writer_stats stats;
};

/* One transaction's worth of jobs, the argument of writer_run_body. */
struct writer_run {
	struct writer *w;
	struct writer_item **items;
	size_t n;
	size_t failed; /* the body that failed in the last run; n: none */
	uint64_t body_ns; /* time in bodies, every run */
};

static uint64_t writer_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void writer_list_push(struct writer_list *l, struct writer_item *it)
{
	it->next = NULL;
	if (l->tail)
		l->tail->next = it;
	else
		l->head = it;
	l->tail = it;
}

static struct writer_item *writer_list_pop(struct writer_list *l)
{
	struct writer_item *it = l->head;

	if (it) {
		l->head = it->next;
		if (!l->head)
			l->tail = NULL;
	}
	return it;
}

/* ---- running jobs (writer thread) ---- */

/* writer_item_start - mark it as the running body. Returns 0, or
 * KF_ECANCELED (it was cancelled: it does not run). */
static int writer_item_start(struct writer *w, struct writer_item *it)
{
	int rc = 0;

	pthread_mutex_lock(&w->mu);
	if (it->cancelled)
		rc = KF_ECANCELED;
	else
		w->current = it;
	pthread_mutex_unlock(&w->mu);
	return rc;
}

static void writer_item_stop(struct writer *w)
{
	pthread_mutex_lock(&w->mu);
	w->current = NULL;
	pthread_mutex_unlock(&w->mu);
}

/* writer_run_body - the store_write body of one transaction: every job of
 * the run that has no final result yet, in order. */
static int writer_run_body(struct store_txn *t, void *arg)
{
	struct writer_run *r = arg;
	uint64_t start = writer_now_ns();
	int rc = 0;

	r->failed = r->n;
	for (size_t i = 0; i < r->n && rc == 0; i++) {
		struct writer_item *it = r->items[i];
		int started;

		if (it->finished)
			continue;
		if ((started = writer_item_start(r->w, it)) != 0) {
			it->rc = started;
			it->finished = true;
			continue;
		}
		rc = it->job.body(t, it->job.arg);
		writer_item_stop(r->w);
		if (rc)
			r->failed = i;
	}
	r->body_ns += writer_now_ns() - start;
	return rc;
}

static bool writer_run_has_pending(const struct writer_run *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (!r->items[i]->finished)
			return true;
	return false;
}

/* writer_run_finish - give every job still pending the result rc. */
static void writer_run_finish(struct writer_run *r, int rc)
{
	for (size_t i = 0; i < r->n; i++) {
		if (!r->items[i]->finished) {
			r->items[i]->rc = rc;
			r->items[i]->finished = true;
		}
	}
}

/*
 * writer_execute - run the jobs in one transaction. A failed body takes
 * itself out and the rest run again; a failed commit fails them all.
 */
static bool writer_execute(struct writer *w, struct writer_item **items, size_t n)
{
	struct writer_run r = {w, items, n, n, 0};
	uint64_t start = writer_now_ns();
	bool wrote = false;

	while (writer_run_has_pending(&r)) {
		int rc;

		r.failed = n;
		rc = store_write_lazy(w->s, writer_run_body, &r, &wrote);
		if (rc == 0) {
			writer_run_finish(&r, 0);
			pthread_mutex_lock(&w->mu);
			w->stats.commits++;
			pthread_mutex_unlock(&w->mu);
			break;
		}
		if (r.failed == n) {
			writer_run_finish(&r, rc);
			break;
		}
		items[r.failed]->rc = rc;
		items[r.failed]->finished = true;
		if (writer_run_has_pending(&r)) {
			log_debug(LOG_STORE, "writer group rerun jobs=%zu err=%s", n, kf_errname(rc));
			pthread_mutex_lock(&w->mu);
			w->stats.reruns++;
			pthread_mutex_unlock(&w->mu);
		}
	}
	pthread_mutex_lock(&w->mu);
	w->stats.busy_ns += writer_now_ns() - start;
	w->stats.body_ns += r.body_ns;
	pthread_mutex_unlock(&w->mu);
	return wrote;
}

/*
 * writer_settle - on the writer thread, without the lock: sync, so that
 * every committed job is durable. Should the sync fail, the jobs it was for
 * stay short of durable_id (and the jobs of run, if any, fail with its
 * error): their writes are in the store but might not survive a crash of
 * the machine, and the next sync tries again.
 */
static void writer_settle(struct writer *w, struct writer_item **run, size_t n)
{
	uint64_t start = writer_now_ns(), upto;
	int rc;

	pthread_mutex_lock(&w->mu);
	upto = w->committed_id;
	pthread_mutex_unlock(&w->mu);
	rc = store_sync(w->s);
	if (rc)
		log_err(LOG_STORE, "sync failed error=\"%s\"", kf_strerror(rc));
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < n && rc; i++)
		if (run[i]->rc == 0)
			run[i]->rc = rc;
	if (rc == 0 && upto > w->durable_id)
		w->durable_id = upto;
	w->stats.syncs++;
	w->stats.busy_ns += writer_now_ns() - start;
	pthread_mutex_unlock(&w->mu);
}

/* writer_run_lazy - every job of the run is WRITER_LAZY. */
static bool writer_run_lazy(struct writer_item **run, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(run[i]->job.flags & WRITER_LAZY))
			return false;
	return true;
}

/*
 * writer_take - with the lock held: move cancelled jobs at the queue's head
 * (all of them when stopping) to the done list, then take the next run: one
 * job, or consecutive groupable ones. Returns the run's length (0: none).
 */
static size_t writer_take(struct writer *w, struct writer_item **run)
{
	struct writer_item *it;
	size_t n = 0;

	while ((it = w->queue.head) && (it->cancelled || w->stopping)) {
		writer_list_pop(&w->queue);
		it->rc = KF_ECANCELED;
		it->finished = true;
		writer_list_push(&w->done, it);
		w->stats.jobs++;
	}
	if (!it)
		return 0;
	run[n++] = writer_list_pop(&w->queue);
	if (it->job.flags & WRITER_GROUPABLE)
		while (n < WRITER_GROUP_MAX && (it = w->queue.head) && !it->cancelled &&
		       (it->job.flags & WRITER_GROUPABLE))
			run[n++] = writer_list_pop(&w->queue);
	w->last_taken = run[n - 1]->id;
	return n;
}

static void writer_notify(struct writer *w)
{
	if (w->notify)
		w->notify(w->notify_arg);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct writer_item **run = calloc(WRITER_GROUP_MAX, sizeof(*run));
	bool stop = false;

	/* Named for top -H and perf: the thread every replicated write waits on. */
	pthread_setname_np(pthread_self(), "kefu-writer");
	if (!run)
		abort();
	while (!stop) {
		struct writer_item *before;
		bool moved, settle = false;
		size_t n;

		pthread_mutex_lock(&w->mu);
		while (!w->queue.head && !w->stopping)
			pthread_cond_wait(&w->work_cv, &w->mu);
		before = w->done.tail;
		n = writer_take(w, run);
		moved = w->done.tail != before;
		stop = n == 0 && w->stopping;
		w->run = run;
		w->nrun = n;
		pthread_mutex_unlock(&w->mu);

		if (n) {
			bool wrote = writer_execute(w, run, n), lazy = writer_run_lazy(run, n);

			pthread_mutex_lock(&w->mu);
			/* This commit's sync carried the meta page of the one before. */
			if (wrote)
				w->durable_id = w->committed_id;
			else if (w->durable_id == w->committed_id)
				w->durable_id = w->last_taken; /* nothing of it to sync */
			w->committed_id = w->last_taken;
			settle = w->committed_id > w->durable_id &&
				 (!lazy || !w->queue.head || w->stopping);
			pthread_mutex_unlock(&w->mu);
			/* A run that is not lazy completes durable, and so does the
			 * last run before the writer idles. */
			if (settle)
				writer_settle(w, lazy ? NULL : run, lazy ? 0 : n);
			pthread_mutex_lock(&w->mu);
			for (size_t i = 0; i < n; i++)
				writer_list_push(&w->done, run[i]);
			w->stats.jobs += n;
			w->nrun = 0;
			pthread_mutex_unlock(&w->mu);
		} else {
			/* The jobs queued behind the last commit were cancelled. */
			pthread_mutex_lock(&w->mu);
			settle = w->committed_id > w->durable_id;
			pthread_mutex_unlock(&w->mu);
			if (settle)
				writer_settle(w, NULL, 0);
		}
		if (n || moved || settle)
			writer_notify(w);
	}
	free(run);
	return NULL;
}

/* ---- the caller's side ---- */

int writer_new(const struct writer_opts *o, struct writer **out)
{
	struct writer *w;
	pthread_condattr_t ca;
	int rc;

	*out = NULL;
	if (!o->store)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		abort();
	w->s = o->store;
	w->notify = o->notify;
	w->notify_arg = o->notify_arg;
	w->next_id = 1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->work_cv, &ca);
	pthread_cond_init(&w->body_cv, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&w->thread, NULL, writer_main, w);
	if (rc != 0) {
		log_err(LOG_STORE, "writer thread did not start error=\"%s\"", kf_strerror(-rc));
		pthread_cond_destroy(&w->body_cv);
		pthread_cond_destroy(&w->work_cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return -rc;
	}
	*out = w;
	return 0;
}

void writer_free(struct writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	for (size_t i = 0; i < w->nrun; i++)
		w->run[i]->cancelled = true;
	pthread_cond_broadcast(&w->work_cv);
	pthread_cond_broadcast(&w->body_cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	writer_reap(w);
	assert(w->count == 0);
	pthread_cond_destroy(&w->body_cv);
	pthread_cond_destroy(&w->work_cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

int writer_submit(struct writer *w, const struct writer_job *job, uint64_t *id)
{
	struct writer_item *it;

	if (!job->body)
		return -EINVAL;
	pthread_mutex_lock(&w->mu);
	if (w->stopping || w->count >= WRITER_QUEUE_MAX) {
		int rc = w->stopping ? KF_ESTATE : KF_ETOOBIG;

		pthread_mutex_unlock(&w->mu);
		return rc;
	}
	it = calloc(1, sizeof(*it));
	if (!it)
		abort();
	it->job = *job;
	it->id = w->next_id++;
	writer_list_push(&w->queue, it);
	w->count++;
	if (id)
		*id = it->id;
	pthread_cond_signal(&w->work_cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

int writer_cancel(struct writer *w, uint64_t id)
{
	struct writer_item *found = NULL;

	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < w->nrun && !found; i++)
		if (w->run[i]->id == id)
			found = w->run[i];
	for (struct writer_item *it = w->queue.head; it && !found; it = it->next)
		if (it->id == id)
			found = it;
	if (found) {
		found->cancelled = true;
		pthread_cond_broadcast(&w->body_cv);
		pthread_cond_signal(&w->work_cv);
	}
	pthread_mutex_unlock(&w->mu);
	return found ? 0 : KF_ENOTFOUND;
}

size_t writer_reap(struct writer *w)
{
	struct writer_list l;
	struct writer_item *it;
	size_t n = 0;

	pthread_mutex_lock(&w->mu);
	l = w->done;
	w->done.head = w->done.tail = NULL;
	pthread_mutex_unlock(&w->mu);
	while ((it = writer_list_pop(&l))) {
		if (it->job.done)
			it->job.done(it->job.arg, it->rc);
		free(it);
		n++;
	}
	pthread_mutex_lock(&w->mu);
	w->count -= n;
	pthread_mutex_unlock(&w->mu);
	return n;
}

/* ---- waiting bodies ---- */

int writer_wait(struct writer *w, writer_cond_fn cond, void *cond_arg, uint64_t timeout_ms)
{
	struct timespec until;
	int rc;

	assert(pthread_equal(pthread_self(), w->thread));
	/* Jobs committed lazily before this body do not wait for its input. */
	pthread_mutex_lock(&w->mu);
	rc = w->committed_id > w->durable_id;
	pthread_mutex_unlock(&w->mu);
	if (rc) {
		writer_settle(w, NULL, 0);
		writer_notify(w);
	}
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(timeout_ms / 1000);
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->mu);
	assert(w->current);
	for (;;) {
		if (w->current->cancelled) {
			rc = KF_ECANCELED;
			break;
		}
		if (cond(cond_arg)) {
			rc = 0;
			break;
		}
		if (pthread_cond_timedwait(&w->body_cv, &w->mu, &until) == ETIMEDOUT) {
			rc = w->current->cancelled ? KF_ECANCELED : cond(cond_arg) ? 0 : -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&w->mu);
	return rc;
}

void writer_lock(struct writer *w)
{
	pthread_mutex_lock(&w->mu);
}

void writer_unlock(struct writer *w)
{
	pthread_cond_broadcast(&w->body_cv);
	pthread_mutex_unlock(&w->mu);
}

uint64_t writer_durable_id(struct writer *w)
{
	uint64_t id;

	pthread_mutex_lock(&w->mu);
	id = w->durable_id;
	pthread_mutex_unlock(&w->mu);
	return id;
}

void writer_stats_get(struct writer *w, struct writer_stats *st)
{
	pthread_mutex_lock(&w->mu);
	*st = w->stats;
	pthread_mutex_unlock(&w->mu);
}
