/* Leader jobs on worker threads, logged through the leader, and a small
 * pool for short jobs. See jobs.h. */
#include "node/jobs.h"

#include "lib/err.h"
#include "lib/log.h"
#include "storage/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/* A body an import thread waits on, until the loop had it run and acknowledged. */
struct logged_run {
	struct logged_run *next;
	struct jobs *j;
	store_write_fn body;
	void *body_arg;
	uint64_t epoch;
	uint64_t group;
	int rc;
	bool done;
	pthread_cond_t cv;
};

struct worker {
	struct worker *next;
	struct jobs *j;
	pthread_t thread;
	jobs_fn fn, done;
	void *arg;
	bool finished;     /* under mu */
};

/* A short job: waiting, running, then finished (its done still to run). */
struct short_job {
	struct short_job *next;
	jobs_fn fn, done;
	void *arg;
};

/* A FIFO of short jobs. */
struct short_list {
	struct short_job *head, **tail;
};

struct jobs {
	struct loop *loop;
	struct repl *repl;
	struct write_hooks hooks;
	pthread_mutex_t mu;
	struct loop_wake *wake;
	struct logged_run *runs;  /* queued for the loop, under mu */
	struct worker *workers;   /* loop thread only */
	uint64_t group_seq;       /* under mu */
	bool draining;            /* jobs_free runs the loop until the workers are gone */
	/* the short jobs' pool */
	pthread_t pool[JOBS_POOL_THREADS];
	unsigned npool;           /* threads started; loop thread only */
	pthread_cond_t pool_cv;   /* a job waits, or the pool stops */
	struct short_list waiting;  /* under mu */
	unsigned nwaiting;          /* under mu */
	struct short_list finished; /* fn ran, done to run on the loop; under mu */
	bool pool_stop;           /* under mu: threads leave once nothing waits */
	bool closing;             /* loop thread only: jobs_free has begun */
};

#define DRAIN_MS 30000

/* The logged_run whose body runs now on the writer thread: the log hook,
 * called inside that body, records the batches under its epoch and group. */
static __thread struct logged_run *tl_run;

static int run_logged_body(struct store_txn *t, uint64_t epoch, void *arg)
{
	struct logged_run *lr = arg;
	int rc;

	lr->epoch = epoch;
	tl_run = lr;
	rc = lr->body(t, lr->body_arg);
	tl_run = NULL;
	return rc;
}

static void on_logged_done(void *arg, int err, uint64_t index)
{
	struct logged_run *lr = arg;

	(void)index;
	pthread_mutex_lock(&lr->j->mu);
	lr->rc = err;
	lr->done = true;
	pthread_cond_signal(&lr->cv);
	pthread_mutex_unlock(&lr->j->mu);
}

/* hooks.run, on a worker thread. */
static int hook_run(void *arg, store_write_fn body, void *body_arg)
{
	struct jobs *j = arg;
	struct logged_run lr = {NULL, j, body, body_arg, 0, 0, 0, false, PTHREAD_COND_INITIALIZER};
	int rc;

	pthread_mutex_lock(&j->mu);
	lr.group = ++j->group_seq;
	lr.next = j->runs;
	j->runs = &lr;
	pthread_mutex_unlock(&j->mu);
	loop_wake(j->wake);
	pthread_mutex_lock(&j->mu);
	while (!lr.done)
		pthread_cond_wait(&lr.cv, &j->mu);
	rc = lr.rc;
	pthread_mutex_unlock(&j->mu);
	pthread_cond_destroy(&lr.cv);
	return rc;
}

/* hooks.log, on the writer thread inside the body's transaction. */
static int hook_log(void *arg, struct store_txn *t, const struct batch *b, bool last)
{
	struct logged_run *lr = tl_run;

	(void)arg;
	if (!lr)
		return KF_EINTERNAL; /* a logged body outside hook_run: our bug */
	return log_record_batch(t, lr->epoch, b, (lr->epoch << 24) | (lr->group & 0xffffff), last,
				"job", NULL);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_setname_np(pthread_self(), "kefu-job");
	w->fn(w->arg);
	pthread_mutex_lock(&w->j->mu);
	w->finished = true;
	pthread_mutex_unlock(&w->j->mu);
	loop_wake(w->j->wake);
	return NULL;
}

static void reap_workers(struct jobs *j, bool all)
{
	struct worker **pp = &j->workers;

	while (*pp) {
		struct worker *w = *pp;
		bool fin;

		pthread_mutex_lock(&j->mu);
		fin = w->finished;
		pthread_mutex_unlock(&j->mu);
		if (!fin && !all) {
			pp = &w->next;
			continue;
		}
		pthread_join(w->thread, NULL);
		*pp = w->next;
		if (w->done)
			w->done(w->arg);
		free(w);
	}
}

static void short_list_init(struct short_list *l)
{
	l->head = NULL;
	l->tail = &l->head;
}

static void short_list_push(struct short_list *l, struct short_job *sj)
{
	sj->next = NULL;
	*l->tail = sj;
	l->tail = &sj->next;
}

static struct short_job *short_list_pop(struct short_list *l)
{
	struct short_job *sj = l->head;

	if (sj) {
		l->head = sj->next;
		if (!l->head)
			l->tail = &l->head;
	}
	return sj;
}

/* A pool thread: the waiting jobs in order, until the pool stops and none waits. */
static void *pool_main(void *arg)
{
	struct jobs *j = arg;
	struct short_job *sj;

	pthread_setname_np(pthread_self(), "kefu-short-job");
	pthread_mutex_lock(&j->mu);
	for (;;) {
		while (!j->waiting.head && !j->pool_stop)
			pthread_cond_wait(&j->pool_cv, &j->mu);
		sj = short_list_pop(&j->waiting);
		if (!sj)
			break;
		j->nwaiting--;
		pthread_mutex_unlock(&j->mu);
		sj->fn(sj->arg);
		pthread_mutex_lock(&j->mu);
		short_list_push(&j->finished, sj);
		loop_wake(j->wake);
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

/* The done of every finished short job, in the order they finished. */
static void short_jobs_done(struct jobs *j)
{
	struct short_list done;
	struct short_job *sj;

	pthread_mutex_lock(&j->mu);
	done = j->finished;
	if (!done.head)
		done.tail = &done.head;
	short_list_init(&j->finished);
	pthread_mutex_unlock(&j->mu);
	while ((sj = short_list_pop(&done))) {
		sj->done(sj->arg);
		free(sj);
	}
}

static void on_wake(void *arg)
{
	struct jobs *j = arg;
	struct logged_run *runs;

	pthread_mutex_lock(&j->mu);
	runs = j->runs;
	j->runs = NULL;
	pthread_mutex_unlock(&j->mu);
	while (runs) {
		struct logged_run *lr = runs;
		int err;

		runs = lr->next;
		err = repl_run_logged(j->repl, run_logged_body, lr, false, on_logged_done, lr);
		if (err)
			on_logged_done(lr, err, 0);
	}
	reap_workers(j, false);
	short_jobs_done(j);
	if (j->draining && !j->workers)
		loop_stop(j->loop);
}

static void on_drain_timeout(void *arg)
{
	loop_stop(((struct jobs *)arg)->loop);
}

int jobs_new(const struct jobs_opts *o, struct jobs **out)
{
	struct jobs *j;
	int err;

	*out = NULL;
	if (!o->loop)
		return -EINVAL;
	j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->loop = o->loop;
	j->repl = o->repl;
	j->hooks = (struct write_hooks){hook_run, hook_log, j};
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->pool_cv, NULL);
	short_list_init(&j->waiting);
	short_list_init(&j->finished);
	err = loop_wake_new(j->loop, on_wake, j, &j->wake);
	if (err) {
		pthread_cond_destroy(&j->pool_cv);
		pthread_mutex_destroy(&j->mu);
		free(j);
		return err;
	}
	*out = j;
	return 0;
}

const struct write_hooks *jobs_hooks(struct jobs *j)
{
	return j->repl ? &j->hooks : NULL;
}

int jobs_spawn(struct jobs *j, jobs_fn fn, jobs_fn done, void *arg)
{
	struct worker *w = calloc(1, sizeof(*w));

	if (!w)
		abort();
	*w = (struct worker){j->workers, j, 0, fn, done, arg, false};
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		free(w);
		return -EAGAIN;
	}
	j->workers = w;
	return 0;
}

/* The pool's threads start with the first short job: a node that never
 * has one (no routing here) keeps none idle. */
static int pool_start(struct jobs *j)
{
	while (j->npool < JOBS_POOL_THREADS &&
	       pthread_create(&j->pool[j->npool], NULL, pool_main, j) == 0)
		j->npool++;
	if (j->npool < JOBS_POOL_THREADS)
		log_warn(LOG_MAIN, "short job threads started=%u of %d", j->npool,
			 JOBS_POOL_THREADS);
	return j->npool ? 0 : -EAGAIN;
}

int jobs_submit(struct jobs *j, jobs_fn fn, jobs_fn done, void *arg)
{
	struct short_job *sj;
	int err;

	if (!fn || !done)
		return -EINVAL;
	if (j->closing)
		return KF_ESTATE;
	if (!j->npool && (err = pool_start(j)) != 0)
		return err;
	pthread_mutex_lock(&j->mu);
	if (j->nwaiting >= JOBS_POOL_QUEUE) {
		pthread_mutex_unlock(&j->mu);
		return -EBUSY;
	}
	sj = malloc(sizeof(*sj));
	if (!sj)
		abort();
	*sj = (struct short_job){NULL, fn, done, arg};
	short_list_push(&j->waiting, sj);
	j->nwaiting++;
	pthread_cond_signal(&j->pool_cv);
	pthread_mutex_unlock(&j->mu);
	return 0;
}

/* The pool's threads run what waits, then leave; every done runs here. */
static void pool_stop(struct jobs *j)
{
	j->closing = true;
	pthread_mutex_lock(&j->mu);
	j->pool_stop = true;
	pthread_cond_broadcast(&j->pool_cv);
	pthread_mutex_unlock(&j->mu);
	for (unsigned i = 0; i < j->npool; i++)
		pthread_join(j->pool[i], NULL);
	short_jobs_done(j);
}

void jobs_free(struct jobs *j)
{
	if (!j)
		return;
	if (j->workers) {
		/* Workers wait on the loop (their bodies run through the writer and
		 * are acknowledged by the standbys): run it until they are done. */
		struct loop_alarm *a = loop_alarm_new(j->loop, on_drain_timeout, j);

		log_info(LOG_MAIN, "waiting for running jobs (at most %d s)", DRAIN_MS / 1000);
		j->draining = true;
		loop_alarm_set(a, DRAIN_MS);
		loop_run(j->loop);
		loop_alarm_free(a);
		if (j->workers) {
			/* Their transactions are not committed: nothing of them is applied. */
			log_err(LOG_MAIN, "jobs still running after %d s; exiting without them",
				DRAIN_MS / 1000);
			_exit(1);
		}
	}
	pool_stop(j);
	loop_wake_free(j->wake);
	pthread_cond_destroy(&j->pool_cv);
	pthread_mutex_destroy(&j->mu);
	free(j);
}
