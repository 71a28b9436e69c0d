/*
 * The bulk load of a file of A records. See bulk.h.
 *
 * A stream starts "direct" when its first key is above the table's last
 * key and stays so while each key is above the one before; from the first
 * key out of order on, the stream's keys go to its sorter. The keys that
 * went direct are in t before any sorted key is checked, so a sorted key
 * equal to one of them is found in the table like any other taken key.
 */
#include "storage/bulk.h"

#include "lib/digest.h"
#include "lib/err.h"
#include "lib/log.h"
#include "storage/bossrec.h"
#include "storage/custdb.h"
#include "storage/extsort.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BULK_READ (1u << 20)

#define BULK_RUN_DEFAULT ((size_t)8 << 20)
#define BULK_BATCH_DEFAULT ((size_t)4 << 20)
/* A put stream proves it comes in order with this many keys before it
 * goes direct: one random key above the table's end is no proof, and keys
 * written below it could no longer be appended. */
#define BULK_PROBE 4096

struct bulk_stream {
	bool used;
	bool direct;               /* keys go straight into b while they rise */
	bool may_direct;           /* a put stream whose first key is above the table's last */
	size_t prevlen;
	uint8_t prev[STORE_KEY_MAX]; /* the last key that went direct */
	struct extsort *xs;        /* the keys that did not; NULL until one */
};

/*
 * A ref whose key is the first part of a put key of the same record (a
 * user's cust_id, first part of its cust_users entry) is checked when that
 * put is written, in the put stream's key order, instead of in a stream of
 * its own. cover[U] = T says the first part of every key put in table U is
 * checked in table T; a record whose put does not carry its ref sends the
 * ref down the ref stream as usual. Checking a key that no ref asked for
 * can only decline, never let a record through.
 */
struct bulk_cover {
	enum store_table table;    /* 0: the table covers no ref */
	size_t prevlen;
	uint8_t prev[STORE_KEY_MAX]; /* the part checked last */
};

/* The ref of the record being taken apart, until its puts are seen. */
struct bulk_pending {
	bool set, covered;
	enum store_table table;
	size_t klen;
	uint8_t key[STORE_KEY_MAX];
};

/*
 * The pass and the checks run on a worker thread while the transaction's
 * thread applies what they produce: LMDB binds a write transaction to the
 * thread that began it, and the file's parsing, splitting and sorting cost
 * more than the appends. The worker fills a batch; a full one goes to the
 * queue and the worker takes an empty one (two in flight bound memory).
 */
#define BULK_QUEUE 1
/* The stack of the load's threads: what they keep there is small, and a
 * default stack counts megabytes against a process's data limit. */
#define BULK_STACK ((size_t)512 << 10)

struct bulk_queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct batch *full[BULK_QUEUE + 1]; /* ring, applied in order */
	unsigned head, nfull;
	struct batch *spare[BULK_QUEUE + 1];
	unsigned nspare;
	bool done;                 /* the worker has queued its last batch */
	int apply_rc;              /* the applier failed: the worker stops */
};

struct bulk {
	struct store_txn *t;
	/* What the checks read: a read transaction beside t while the worker
	 * runs (it sees t's tables as they were before the load: a table is
	 * read only where this load wrote nothing yet, or where the file
	 * declines anyway), t itself afterwards. */
	struct store_txn *rt;
	struct batch *b;
	struct bulk_queue *q;      /* NULL: b is applied to t in place */
	bool written[STORE_TABLE_SLOTS]; /* a put went to the table */
	const struct bulk_opts *o;
	const struct bulk_file *f;
	struct bulk_stream put[STORE_TABLE_SLOTS];
	struct bulk_stream ref[STORE_TABLE_SLOTS];
	struct bulk_cover cover[STORE_TABLE_SLOTS];
	bool referenced[STORE_TABLE_SLOTS];
	struct bulk_pending pend;
	char *why;
	size_t whylen;
};

static int decline(struct bulk *bk, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* pthread_create with a BULK_STACK stack; 0 or an errno value. */
static int bulk_thread_start(pthread_t *th, void *(*fn)(void *), void *arg)
{
	pthread_attr_t a;
	int r = pthread_attr_init(&a);

	if (r)
		return r;
	r = pthread_attr_setstacksize(&a, BULK_STACK);
	if (r == 0)
		r = pthread_create(th, &a, fn, arg);
	pthread_attr_destroy(&a);
	return r;
}

static int decline(struct bulk *bk, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(bk->why, bk->whylen, fmt, ap);
	va_end(ap);
	return BULK_DECLINED;
}

/* Apply b to t, hand it to the log, empty it. */
static int bulk_apply(struct bulk *bk, struct batch *b)
{
	int r = batch_apply_append(bk->t, b);

	if (r == 0 && batch_count(b) > 0)
		r = write_hooks_log(bk->o->hooks, bk->t, b, false);
	batch_reset(b);
	return r;
}

/* The worker's batch to the applier, an empty one back. Returns 0, or
 * KF_ECANCELED when the applier failed (its error is the load's). */
static int bulk_hand_over(struct bulk *bk)
{
	struct bulk_queue *q = bk->q;
	int r;

	pthread_mutex_lock(&q->mu);
	q->full[(q->head + q->nfull++) % (BULK_QUEUE + 1)] = bk->b;
	pthread_cond_broadcast(&q->cv);
	while (q->nspare == 0 && !q->apply_rc)
		pthread_cond_wait(&q->cv, &q->mu);
	r = q->apply_rc ? KF_ECANCELED : 0;
	bk->b = r ? NULL : q->spare[--q->nspare];
	pthread_mutex_unlock(&q->mu);
	return r;
}

static int bulk_flush(struct bulk *bk)
{
	if (!bk->b)
		return KF_ECANCELED;
	if (!bk->q)
		return bulk_apply(bk, bk->b);
	return batch_count(bk->b) ? bulk_hand_over(bk) : 0;
}

/* A referenced key: it must exist (its table is never written here). */
static int ref_check(struct bulk *bk, enum store_table table, const void *key, size_t klen)
{
	struct store_val v;
	int r = store_get(bk->rt, table, key, klen, &v);

	if (r == KF_ENOTFOUND)
		return decline(bk, "a referenced %s is missing", store_table_name((int)table));
	return r;
}

/* The ref a put to a covering table carries: its key's first part. */
static int cover_check(struct bulk *bk, struct bulk_cover *cv, const uint8_t *key, size_t klen)
{
	const uint8_t *nul = memchr(key, 0, klen);
	size_t plen = nul ? (size_t)(nul - key) + 1 : klen;

	if (plen == cv->prevlen && memcmp(key, cv->prev, plen) == 0)
		return 0;
	memcpy(cv->prev, key, plen);
	cv->prevlen = plen;
	return ref_check(bk, cv->table, key, plen);
}

/* Every put that is written comes here, in its table's key order. */
static int bulk_batch_put(struct bulk *bk, enum store_table table, const void *key, size_t klen,
			  const void *val, size_t vlen)
{
	int r = bk->cover[table].table ? cover_check(bk, &bk->cover[table], key, klen) : 0;

	bk->written[table] = true;
	if (r == 0)
		r = bk->b ? batch_put(bk->b, table, key, klen, val, vlen) : KF_ECANCELED;

	if (r == 0 && batch_bytes(bk->b) >= bk->o->batch_bytes)
		r = bulk_flush(bk);
	return r;
}

/* Whether key is above the table's last key (true for an empty table). */
static int above_last(struct store_txn *t, enum store_table table, const void *key, size_t klen,
		      bool *above)
{
	struct store_val last;
	int r = store_last(t, table, &last);

	if (r == KF_ENOTFOUND) {
		*above = true;
		return 0;
	}
	if (r == 0)
		*above = store_key_cmp(key, klen, last.data, last.len) > 0;
	return r;
}

/*
 * ref_step - route one key of a ref stream: returns 1 when it is checked
 * now (keys have not fallen so far; *same when it is the one before),
 * 0 when it goes to the sorter.
 */
static int ref_step(struct bulk_stream *st, const void *key, size_t klen, bool *same)
{
	int c = 0;

	*same = false;
	if (!st->used) {
		st->used = true;
		st->direct = true;
	} else if (st->direct) {
		c = store_key_cmp(key, klen, st->prev, st->prevlen);
		st->direct = c >= 0;
		*same = c == 0;
	}
	if (!st->direct)
		return 0;
	memcpy(st->prev, key, klen);
	st->prevlen = klen;
	return 1;
}

static struct extsort *stream_sorter(struct bulk *bk, struct bulk_stream *st)
{
	if (!st->xs)
		st->xs = extsort_new(bk->o->tmp_dir, bk->o->run_bytes);
	return st->xs;
}

/*
 * probe_end - BULK_PROBE keys of a put stream are in its sorter: when they
 * came in order from above the table's end, write them and let the rest
 * of the stream go direct.
 */
static int probe_end(struct bulk *bk, enum store_table table, struct bulk_stream *st)
{
	struct store_val k, v;
	int r;

	if (!extsort_is_sorted(st->xs))
		return 0;
	r = extsort_finish(st->xs);
	while (r == 0 && (r = extsort_next(st->xs, &k, &v)) == 1) {
		memcpy(st->prev, k.data, k.len);
		st->prevlen = k.len;
		r = bulk_batch_put(bk, table, k.data, k.len, v.data, v.len);
	}
	extsort_free(st->xs);
	st->xs = NULL;
	st->direct = r == 0;
	return r;
}

/* A ref that no put of its record covers: checked now or sorted. */
static int ref_route(struct bulk *bk, enum store_table table, const void *key, size_t klen)
{
	struct bulk_stream *st = &bk->ref[table];
	bool same;

	if (ref_step(st, key, klen, &same))
		return same ? 0 : ref_check(bk, table, key, klen);
	return extsort_add(stream_sorter(bk, st), key, klen, NULL, 0);
}

/* A ref waits for the puts of its record (custdb_record_add names refs
 * first): one of them may cover it. */
static int on_ref(void *arg, enum store_table table, const void *key, size_t klen)
{
	struct bulk *bk = arg;
	struct bulk_pending *p = &bk->pend;
	int r;

	if (p->set && !p->covered && (r = ref_route(bk, p->table, p->key, p->klen)))
		return r;
	bk->referenced[table] = true;
	p->set = true;
	p->covered = false;
	p->table = table;
	p->klen = klen;
	memcpy(p->key, key, klen);
	return 0;
}

/* The record's puts are all seen: a ref none of them covered goes its way. */
static int pending_end(struct bulk *bk)
{
	struct bulk_pending *p = &bk->pend;
	bool route = p->set && !p->covered;

	p->set = false;
	return route ? ref_route(bk, p->table, p->key, p->klen) : 0;
}

/* Whether this put covers the pending ref. */
static void pending_cover(struct bulk *bk, enum store_table table, const void *key, size_t klen)
{
	struct bulk_pending *p = &bk->pend;
	struct bulk_cover *cv = &bk->cover[table];

	if (!p->set || p->covered || klen <= p->klen || memcmp(key, p->key, p->klen) != 0 ||
	    p->key[p->klen - 1] != 0 || memchr(p->key, 0, p->klen) != p->key + p->klen - 1)
		return;
	if (cv->table == 0)
		cv->table = p->table;
	p->covered = cv->table == p->table;
}

static int on_put(void *arg, enum store_table table, const void *key, size_t klen,
		  const void *val, size_t vlen)
{
	struct bulk *bk = arg;
	struct bulk_stream *st = &bk->put[table];
	int r;

	pending_cover(bk, table, key, klen);
	if (st->direct) {
		if (store_key_cmp(key, klen, st->prev, st->prevlen) > 0) {
			memcpy(st->prev, key, klen);
			st->prevlen = klen;
			return bulk_batch_put(bk, table, key, klen, val, vlen);
		}
		st->direct = false; /* out of order: the rest is sorted */
	} else if (!st->used) {
		st->used = true;
		if ((r = above_last(bk->rt, table, key, klen, &st->may_direct)))
			return r;
	}
	if ((r = extsort_add(stream_sorter(bk, st), key, klen, val, vlen)))
		return r;
	if (st->may_direct && extsort_count(st->xs) == BULK_PROBE) {
		st->may_direct = false; /* decided now, once */
		return probe_end(bk, table, st);
	}
	return 0;
}

/* Errors of the store end the load (a full map grows and reruns it);
 * any other sends the file the record-by-record way. */
static int classify(struct bulk *bk, int r)
{
	if (r < 0 && r != KF_ESTORE && r != KF_EMAPFULL)
		return decline(bk, "%s", kf_strerror(r));
	return r;
}

/* One line of the file. */
static int bulk_line(struct bulk *bk, struct bossrec *rec, const char *line, size_t len,
		     uint64_t lineno)
{
	int r;

	if (len > BOSSREC_LINE_MAX || bossrec_parse(bk->f->kind, line, len, rec, NULL))
		return decline(bk, "line %llu does not parse", (unsigned long long)lineno);
	if (rec->op != 'A')
		return decline(bk, "line %llu is a %c", (unsigned long long)lineno, rec->op);
	bk->pend.set = false;
	r = custdb_record_add(rec, on_put, on_ref, bk);
	if (r == 0)
		r = pending_end(bk);
	return classify(bk, r);
}

/* The file's SHA-256 and size, taken by a thread of its own while the
 * lines are parsed (the file is read twice, from the page cache). */
struct bulk_hash {
	const char *path;
	uint64_t bytes;
	int err;
	char hex[DIGEST_SHA256_HEX + 1];
};

static void *bulk_hash_main(void *arg)
{
	struct bulk_hash *h = arg;
	struct digest *d = digest_sha256_new();
	char *buf = malloc(BULK_READ);
	ssize_t n = 0;
	int fd = open(h->path, O_RDONLY | O_CLOEXEC);

	if (!buf)
		abort();
	h->err = fd < 0 ? -errno : 0;
	while (fd >= 0 && (n = read(fd, buf, BULK_READ)) > 0) {
		digest_update(d, buf, (size_t)n);
		h->bytes += (uint64_t)n;
	}
	if (n < 0)
		h->err = -errno;
	if (fd >= 0)
		close(fd);
	digest_final_hex(d, h->hex);
	digest_free(d);
	free(buf);
	return NULL;
}

/* Read, count and take apart every line; then compare with the .chk. */
static int bulk_read(struct bulk *bk, uint64_t *records)
{
	struct bulk_hash h = {bk->f->path, 0, 0, ""};
	struct bossrec *rec = malloc(sizeof(*rec));
	char *buf = malloc(BULK_READ + BOSSREC_LINE_MAX + 2);
	uint64_t lineno = 0;
	size_t have = 0;
	ssize_t n = 0;
	pthread_t hasher;
	bool threaded = bulk_thread_start(&hasher, bulk_hash_main, &h) == 0;
	int fd = open(bk->f->path, O_RDONLY | O_CLOEXEC), r = 0;

	if (!rec || !buf)
		abort();
	if (fd < 0)
		r = decline(bk, "cannot read: %s", strerror(errno));
	while (r == 0 && (n = read(fd, buf + have, BULK_READ)) > 0) {
		char *p = buf, *end = buf + have + (size_t)n, *nl;

		while (r == 0 && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			r = bulk_line(bk, rec, p, (size_t)(nl - p), ++lineno);
			p = nl + 1;
			if (r == 0 && bk->o->progress && lineno % bk->o->progress_every == 0)
				fprintf(stderr, "progress %s %llu\n", bk->f->name,
					(unsigned long long)lineno);
		}
		have = (size_t)(end - p);
		if (r == 0 && have > BOSSREC_LINE_MAX + 1)
			r = decline(bk, "line %llu is too long", (unsigned long long)lineno + 1);
		memmove(buf, p, have);
	}
	if (r == 0 && n < 0)
		r = decline(bk, "cannot read: %s", strerror(errno));
	if (r == 0 && have > 0)
		r = bulk_line(bk, rec, buf, have, ++lineno);
	if (fd >= 0)
		close(fd);
	free(buf);
	free(rec);
	if (threaded)
		pthread_join(hasher, NULL);
	else
		bulk_hash_main(&h);
	if (r)
		return r;
	if (h.err)
		return decline(bk, "cannot read: %s", kf_strerror(h.err));
	if (h.bytes != bk->f->bytes || lineno != bk->f->records || strcmp(h.hex, bk->f->sha256) != 0)
		return decline(bk, "the file does not match its .chk");
	*records = lineno;
	return 0;
}

/* The sorted keys of a ref stream: each distinct one must exist. */
static int merge_refs(struct bulk *bk, enum store_table table, struct bulk_stream *st)
{
	struct store_val k, v;
	int r = extsort_finish(st->xs);

	st->prevlen = 0;
	while (r == 0 && (r = extsort_next(st->xs, &k, &v)) == 1) {
		if (st->prevlen == k.len && memcmp(k.data, st->prev, k.len) == 0) {
			r = 0;
			continue;
		}
		memcpy(st->prev, k.data, k.len);
		st->prevlen = k.len;
		r = ref_check(bk, table, k.data, k.len);
	}
	return r;
}

/* The sorted puts of a table: none may repeat or find its key taken. Only
 * keys up to the table's last before the merge can be taken: the merge
 * itself writes each key after every smaller one. */
static int merge_puts(struct bulk *bk, enum store_table table, struct bulk_stream *st)
{
	struct store_val k, v, got;
	uint8_t last[STORE_KEY_MAX];
	size_t lastlen = 0;
	bool above = false;
	int r = store_last(bk->rt, table, &got);

	if (r == KF_ENOTFOUND)
		above = true;
	else if (r)
		return r;
	else
		memcpy(last, got.data, lastlen = got.len);
	r = extsort_finish(st->xs);
	st->prevlen = 0;
	while (r == 0 && (r = extsort_next(st->xs, &k, &v)) == 1) {
		if (st->prevlen == k.len && memcmp(k.data, st->prev, k.len) == 0)
			return decline(bk, "a %s key comes twice", store_table_name((int)table));
		memcpy(st->prev, k.data, k.len);
		st->prevlen = k.len;
		above = above || store_key_cmp(k.data, k.len, last, lastlen) > 0;
		if (!above && (r = store_get(bk->rt, table, k.data, k.len, &got)) != KF_ENOTFOUND)
			return r ? r : decline(bk, "a %s key is taken", store_table_name((int)table));
		r = bulk_batch_put(bk, table, k.data, k.len, v.data, v.len);
	}
	return r;
}

/*
 * After the pass: the sorted streams, refs first (they write nothing).
 * all false (the worker) leaves the put streams of tables the pass wrote
 * to: their keys must be checked against t, which holds those writes.
 */
static int bulk_merge(struct bulk *bk, bool all)
{
	int r = bulk_flush(bk);

	for (int i = 0; i < STORE_TABLE_SLOTS && r == 0; i++) {
		if (bk->referenced[i] && bk->put[i].used)
			return decline(bk, "the file refers to its own %s",
				       store_table_name(i));
		if (bk->ref[i].xs)
			r = merge_refs(bk, (enum store_table)i, &bk->ref[i]);
		extsort_free(bk->ref[i].xs);
		bk->ref[i].xs = NULL;
	}
	for (int i = 0; i < STORE_TABLE_SLOTS && r == 0; i++) {
		if (!bk->put[i].xs || (!all && bk->written[i]))
			continue;
		r = merge_puts(bk, (enum store_table)i, &bk->put[i]);
		extsort_free(bk->put[i].xs);
		bk->put[i].xs = NULL;
	}
	if (r == 0)
		r = bulk_flush(bk);
	return classify(bk, r);
}

/* The worker: the pass, then what can be checked without t. */
struct bulk_work {
	struct bulk *bk;
	uint64_t *records;
	int rc;
};

static void *bulk_work_main(void *arg)
{
	struct bulk_work *w = arg;
	struct bulk_queue *q = w->bk->q;

	w->rc = bulk_read(w->bk, w->records);
	if (w->rc == 0)
		w->rc = bulk_merge(w->bk, false);
	pthread_mutex_lock(&q->mu);
	q->done = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* The transaction's thread: apply the worker's batches in order until it
 * is done. After an error the worker is stopped and the rest dropped. */
static int bulk_apply_queue(struct bulk *bk)
{
	struct bulk_queue *q = bk->q;
	int r = 0;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		struct batch *b;

		while (q->nfull == 0 && !q->done)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->nfull == 0)
			break;
		b = q->full[q->head];
		q->head = (q->head + 1) % (BULK_QUEUE + 1);
		q->nfull--;
		pthread_mutex_unlock(&q->mu);
		if (r == 0)
			r = bulk_apply(bk, b);
		else
			batch_reset(b);
		pthread_mutex_lock(&q->mu);
		q->spare[q->nspare++] = b;
		if (r && !q->apply_rc)
			q->apply_rc = r;
		pthread_cond_broadcast(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
	return r;
}

/*
 * bulk_run_threaded - the pass and the merges that need no t on a worker,
 * the appends here. *ran false: no worker could start, nothing was done.
 * Returns the load's result so far.
 */
static int bulk_run_threaded(struct bulk *bk, uint64_t *records, bool *ran)
{
	struct bulk_queue q = {.nspare = 0};
	struct bulk_work w = {bk, records, 0};
	struct batch *own = bk->b, *extra[BULK_QUEUE];
	pthread_t worker;
	int r;

	*ran = false;
	if (store_read_beside(bk->t, &bk->rt))
		return 0;
	pthread_mutex_init(&q.mu, NULL);
	pthread_cond_init(&q.cv, NULL);
	for (unsigned i = 0; i < BULK_QUEUE; i++)
		q.spare[q.nspare++] = extra[i] = batch_new(0);
	bk->q = &q;
	r = bulk_thread_start(&worker, bulk_work_main, &w);
	if (r == 0) {
		*ran = true;
		r = bulk_apply_queue(bk);
		pthread_join(worker, NULL);
		r = r ? r : w.rc;
	}
	bk->q = NULL;
	bk->b = own;
	batch_reset(own);
	for (unsigned i = 0; i < BULK_QUEUE; i++)
		batch_free(extra[i]);
	pthread_cond_destroy(&q.cv);
	pthread_mutex_destroy(&q.mu);
	store_abort(bk->rt);
	bk->rt = bk->t;
	return r;
}

static double bulk_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int bulk_load(struct store_txn *t, struct batch *b, const struct bulk_opts *opts,
	      const struct bulk_file *f, uint64_t *records, char *why, size_t whylen)
{
	struct bulk_opts o = *opts;
	struct bulk *bk = calloc(1, sizeof(*bk));
	double t0, t1, t2;
	bool ran;
	int r;

	if (!bk)
		abort();
	if (!o.run_bytes)
		o.run_bytes = BULK_RUN_DEFAULT;
	if (!o.batch_bytes)
		o.batch_bytes = BULK_BATCH_DEFAULT;
	if (!o.progress_every)
		o.progress_every = 100000;
	why[0] = '\0';
	*bk = (struct bulk){.t = t, .rt = t, .b = b, .o = &o, .f = f, .why = why, .whylen = whylen};
	t0 = bulk_now_ms();
	batch_reset(b);
	r = bulk_run_threaded(bk, records, &ran);
	if (!ran)
		r = bulk_read(bk, records);
	t1 = bulk_now_ms();
	if (r == 0)
		r = bulk_merge(bk, true);
	t2 = bulk_now_ms();
	/* pass_ms: the worker's pass and merges; merge_ms: those left to t. */
	log_debug(LOG_BOSS, "bulk load name=%s pass_ms=%.0f merge_ms=%.0f", f->name, t1 - t0,
		  t2 - t1);
	for (int i = 0; i < STORE_TABLE_SLOTS; i++) {
		extsort_free(bk->put[i].xs);
		extsort_free(bk->ref[i].xs);
	}
	free(bk);
	batch_reset(b);
	return r;
}
