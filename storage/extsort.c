/*
 * The external sorter: runs sorted in memory, spilled to one unnamed
 * temporary file, merged through a heap. See extsort.h.
 *
 * A run is an arena of pair bytes and an index of 24-byte entries that
 * carry the first 16 key bytes as two numbers, so the sort compares two
 * integers for almost every pair and reads the arena only on a tie. On
 * disk a pair is a 4-byte header (key and value lengths, 16 bits each)
 * followed by its bytes.
 */
#include "storage/extsort.h"

#include "lib/err.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XS_RUN_MIN ((size_t)256 << 10)
#define XS_GROW_FIRST ((size_t)64 << 10)
#define XS_WBUF ((size_t)256 << 10)
#define XS_RBUF ((size_t)64 << 10)
#define XS_HDR 4
/* The spilling thread's stack: it keeps little there, and a default stack
 * counts megabytes against a process's data limit. */
#define XS_STACK ((size_t)256 << 10)
/* Below this many entries a range is sorted by insertion. */
#define XS_SMALL 16

struct xs_ent {
	uint64_t hi, lo;     /* key bytes 0-7 and 8-15, big-endian, zero padded */
	uint32_t off;        /* of the key in the arena; the value follows */
	uint16_t klen, vlen;
};

struct xs_run {
	uint64_t off, len;
};

/* One run being merged from the file. */
struct xs_reader {
	uint64_t pos, end;   /* file bytes not yet read */
	uint8_t *buf;
	size_t cap, start, fill;
	const uint8_t *key;  /* the current pair */
	size_t klen, vlen;
	uint64_t hi, lo;     /* its first 16 key bytes, as in xs_ent */
};

/* One run's memory: pair bytes and their index. */
struct xs_set {
	uint8_t *arena;
	size_t arena_cap, arena_used;
	struct xs_ent *ents;
	size_t ents_cap, n;
	bool in_order;              /* the pairs came in ascending order */
};

struct extsort {
	char *dir;
	int fd;                     /* -1 until a run is spilled */
	size_t arena_max, ents_max; /* a run's bounds */
	struct xs_set set[2];       /* filling, and spilling (or idle) */
	struct xs_set *fill;
	/* A full run is sorted and written by a thread of its own while the
	 * next one fills: the sort costs the caller nothing on two cores. */
	pthread_t thread;
	bool busy;                  /* the thread runs, on the other set */
	int spill_rc;
	struct xs_run *runs;
	unsigned nruns, runs_cap;
	uint64_t file_end, count;
	/* reading */
	bool finished;
	size_t next;                /* in-memory: the next entry */
	struct xs_reader *rd;
	struct xs_reader **heap;
	unsigned nheap;
	bool popped;                /* heap[0]'s pair was handed out */
};

static void *xs_realloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

struct extsort *extsort_new(const char *dir, size_t run_bytes)
{
	struct extsort *x = xs_realloc(NULL, sizeof(*x));

	memset(x, 0, sizeof(*x));
	if (run_bytes < XS_RUN_MIN)
		run_bytes = XS_RUN_MIN;
	x->dir = strdup(dir);
	if (!x->dir)
		abort();
	x->fd = -1;
	/* Two runs (filling, spilling), each half pairs and half index. */
	x->arena_max = run_bytes / 4;
	x->ents_max = run_bytes / 4 / sizeof(struct xs_ent);
	if (x->ents_max > UINT32_MAX)
		x->ents_max = UINT32_MAX;
	if (x->arena_max > UINT32_MAX)
		x->arena_max = UINT32_MAX;
	x->set[0].in_order = x->set[1].in_order = true;
	x->fill = &x->set[0];
	return x;
}

static void xs_readers_free(struct extsort *x)
{
	for (unsigned i = 0; x->rd && i < x->nruns; i++)
		free(x->rd[i].buf);
	free(x->rd);
	free(x->heap);
	x->rd = NULL;
	x->heap = NULL;
	x->nheap = 0;
}

static void xs_set_free(struct xs_set *st)
{
	free(st->arena);
	free(st->ents);
	*st = (struct xs_set){NULL, 0, 0, NULL, 0, 0, true};
}

/* Wait for the spilling thread; its result. */
static int xs_wait(struct extsort *x)
{
	if (!x->busy)
		return 0;
	pthread_join(x->thread, NULL);
	x->busy = false;
	return x->spill_rc;
}

void extsort_free(struct extsort *x)
{
	if (!x)
		return;
	xs_wait(x);
	xs_readers_free(x);
	if (x->fd >= 0)
		close(x->fd);
	xs_set_free(&x->set[0]);
	xs_set_free(&x->set[1]);
	free(x->runs);
	free(x->dir);
	free(x);
}

uint64_t extsort_count(const struct extsort *x)
{
	return x->count;
}

bool extsort_is_sorted(const struct extsort *x)
{
	return !x->busy && x->nruns == 0 && x->fill->in_order; /* busy first: nruns is the thread's then */
}

unsigned extsort_runs(const struct extsort *x)
{
	return x->nruns;
}

/* ---- sorting a run ---- */

static uint64_t xs_be64(const uint8_t *p, size_t len)
{
	uint64_t v = 0;

	if (len >= 8) {
		memcpy(&v, p, 8);
		return be64toh(v);
	}

	for (size_t i = 0; i < 8; i++)
		v = v << 8 | (i < len ? p[i] : 0);
	return v;
}

static int xs_cmp(const uint8_t *arena, const struct xs_ent *a, const struct xs_ent *b)
{
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return store_key_cmp(arena + a->off, a->klen, arena + b->off, b->klen);
}

static void xs_swap(struct xs_ent *a, struct xs_ent *b)
{
	struct xs_ent t = *a;

	*a = *b;
	*b = t;
}

static void xs_insertion(const uint8_t *x, struct xs_ent *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct xs_ent v = a[i];
		size_t j = i;

		for (; j > 0 && xs_cmp(x, &v, &a[j - 1]) < 0; j--)
			a[j] = a[j - 1];
		a[j] = v;
	}
}

static void xs_sift(const uint8_t *x, struct xs_ent *a, size_t i, size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			return;
		if (c + 1 < n && xs_cmp(x, &a[c], &a[c + 1]) < 0)
			c++;
		if (xs_cmp(x, &a[i], &a[c]) >= 0)
			return;
		xs_swap(&a[i], &a[c]);
		i = c;
	}
}

/* The quicksort's way out of a bad pivot run: heapsort, n log n always. */
static void xs_heapsort(const uint8_t *x, struct xs_ent *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		xs_sift(x, a, i, n);
	for (size_t i = n; i-- > 1;) {
		xs_swap(&a[0], &a[i]);
		xs_sift(x, a, 0, i);
	}
}

/* Quicksort with a median-of-three pivot, the smaller side first by
 * recursion, a depth limit that hands over to heapsort. */
static void xs_sort(const uint8_t *x, struct xs_ent *a, size_t n, unsigned depth)
{
	while (n > XS_SMALL) {
		struct xs_ent *m = &a[n / 2], *l = &a[n - 1], pivot;
		size_t i = 0, j = n - 1;

		if (depth-- == 0) {
			xs_heapsort(x, a, n);
			return;
		}
		if (xs_cmp(x, m, a) < 0)
			xs_swap(m, a);
		if (xs_cmp(x, l, m) < 0) {
			xs_swap(l, m);
			if (xs_cmp(x, m, a) < 0)
				xs_swap(m, a);
		}
		pivot = *m;
		for (;;) {
			while (xs_cmp(x, &a[i], &pivot) < 0)
				i++;
			while (xs_cmp(x, &pivot, &a[j]) < 0)
				j--;
			if (i >= j)
				break;
			xs_swap(&a[i], &a[j]);
			i++;
			j--;
		}
		/* [0, j] <= pivot <= [j + 1, n) */
		if (j + 1 < n - j - 1) {
			xs_sort(x, a, j + 1, depth);
			a += j + 1;
			n -= j + 1;
		} else {
			xs_sort(x, a + j + 1, n - j - 1, depth);
			n = j + 1;
		}
	}
	xs_insertion(x, a, n);
}

static void xs_sort_run(struct xs_set *st)
{
	unsigned depth = 0;

	if (st->in_order)
		return;
	for (size_t n = st->n; n; n >>= 1)
		depth += 4;
	xs_sort(st->arena, st->ents, st->n, depth);
	st->in_order = true;
}

/* ---- the temporary file ---- */

/* An unnamed file in dir; where the file system has no O_TMPFILE, a named
 * one unlinked at once. */
static int xs_open(struct extsort *x)
{
	char path[4096];
	int fd = open(x->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0) {
		x->fd = fd;
		return 0;
	}
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -errno;
	if (snprintf(path, sizeof(path), "%s/.kefu-sort-XXXXXX", x->dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(path);
	x->fd = fd;
	return 0;
}

static int xs_write(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Sort a run, append it to the file and empty it. */
static int xs_spill(struct extsort *x, struct xs_set *st)
{
	uint8_t *wb;
	size_t used = 0;
	uint64_t len = 0;
	int r = 0;

	xs_sort_run(st);
	wb = xs_realloc(NULL, XS_WBUF);
	for (size_t i = 0; i < st->n && r == 0; i++) {
		const struct xs_ent *e = &st->ents[i];
		size_t n = (size_t)e->klen + e->vlen;

		if (used + XS_HDR + n > XS_WBUF) {
			r = xs_write(x->fd, wb, used);
			len += used;
			used = 0;
		}
		wb[used] = (uint8_t)(e->klen >> 8);
		wb[used + 1] = (uint8_t)e->klen;
		wb[used + 2] = (uint8_t)(e->vlen >> 8);
		wb[used + 3] = (uint8_t)e->vlen;
		memcpy(wb + used + XS_HDR, st->arena + e->off, n);
		used += XS_HDR + n;
	}
	if (r == 0 && used)
		r = xs_write(x->fd, wb, used);
	len += used;
	free(wb);
	if (r)
		return r;
	if (x->nruns == x->runs_cap) {
		x->runs_cap = x->runs_cap ? x->runs_cap * 2 : 8;
		x->runs = xs_realloc(x->runs, x->runs_cap * sizeof(*x->runs));
	}
	x->runs[x->nruns++] = (struct xs_run){x->file_end, len};
	x->file_end += len;
	st->n = 0;
	st->arena_used = 0;
	st->in_order = true;
	return 0;
}

/* The spilling thread: the set that is not filling. Only it touches the
 * file and the run list while it runs. */
static void *xs_spill_main(void *arg)
{
	struct extsort *x = arg;

	x->spill_rc = xs_spill(x, x->fill == &x->set[0] ? &x->set[1] : &x->set[0]);
	return NULL;
}

/* The filling run is full: hand it to the spilling thread (once the one
 * before is written) and fill the other set. Where no thread can be
 * started, the caller spills it. */
static int xs_rotate(struct extsort *x)
{
	pthread_attr_t a;
	int r = xs_wait(x);

	if (r)
		return r;
	if (x->fd < 0 && (r = xs_open(x)))
		return r;
	x->fill = x->fill == &x->set[0] ? &x->set[1] : &x->set[0];
	if (pthread_attr_init(&a) == 0) {
		if (pthread_attr_setstacksize(&a, XS_STACK) == 0 &&
		    pthread_create(&x->thread, &a, xs_spill_main, x) == 0)
			x->busy = true;
		pthread_attr_destroy(&a);
		if (x->busy)
			return 0;
	}
	return xs_spill(x, x->fill == &x->set[0] ? &x->set[1] : &x->set[0]);
}

/* ---- adding ---- */

/* Room for one more entry of n bytes: grow the run up to its bounds,
 * hand it over when they are reached. */
static int xs_room(struct extsort *x, size_t n)
{
	struct xs_set *st = x->fill;

	if (st->arena_used + n > x->arena_max || st->n == x->ents_max) {
		int r = xs_rotate(x);

		if (r)
			return r;
		st = x->fill;
	}
	while (st->arena_used + n > st->arena_cap) {
		st->arena_cap = st->arena_cap ? st->arena_cap * 2 : XS_GROW_FIRST;
		if (st->arena_cap > x->arena_max)
			st->arena_cap = x->arena_max;
		st->arena = xs_realloc(st->arena, st->arena_cap);
	}
	if (st->n == st->ents_cap) {
		st->ents_cap = st->ents_cap ? st->ents_cap * 2 : XS_GROW_FIRST / sizeof(*st->ents);
		if (st->ents_cap > x->ents_max)
			st->ents_cap = x->ents_max;
		st->ents = xs_realloc(st->ents, st->ents_cap * sizeof(*st->ents));
	}
	return 0;
}

int extsort_add(struct extsort *x, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct xs_set *st;
	struct xs_ent *e;
	int r;

	if (klen > STORE_KEY_MAX || vlen > EXTSORT_VAL_MAX)
		return KF_ETOOBIG;
	if ((r = xs_room(x, klen + vlen)))
		return r;
	st = x->fill;
	e = &st->ents[st->n];
	e->hi = xs_be64(key, klen);
	e->lo = klen > 8 ? xs_be64((const uint8_t *)key + 8, klen - 8) : 0;
	e->off = (uint32_t)st->arena_used;
	e->klen = (uint16_t)klen;
	e->vlen = (uint16_t)vlen;
	memcpy(st->arena + st->arena_used, key, klen);
	if (vlen)
		memcpy(st->arena + st->arena_used + klen, val, vlen);
	st->arena_used += klen + vlen;
	if (st->in_order && st->n > 0 && xs_cmp(st->arena, &st->ents[st->n - 1], e) > 0)
		st->in_order = false;
	st->n++;
	x->count++;
	return 0;
}

/* ---- merging ---- */

/* Make at least need bytes of the reader's run readable from start. */
static int xs_fill(struct extsort *x, struct xs_reader *rd, size_t need)
{
	if (rd->fill - rd->start >= need)
		return 0;
	memmove(rd->buf, rd->buf + rd->start, rd->fill - rd->start);
	rd->fill -= rd->start;
	rd->start = 0;
	if (need > rd->cap) {
		rd->cap = need;
		rd->buf = xs_realloc(rd->buf, rd->cap);
	}
	while (rd->fill < need) {
		size_t want = rd->cap - rd->fill;
		ssize_t got;

		if (want > rd->end - rd->pos)
			want = (size_t)(rd->end - rd->pos);
		if (want == 0)
			return KF_ECORRUPT;
		got = pread(x->fd, rd->buf + rd->fill, want, (off_t)rd->pos);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return KF_ECORRUPT;
		rd->fill += (size_t)got;
		rd->pos += (uint64_t)got;
	}
	return 0;
}

/* Load the reader's next pair. Returns 1, 0 at the run's end, an error. */
static int xs_load(struct extsort *x, struct xs_reader *rd)
{
	const uint8_t *h;
	int r;

	if (rd->start == rd->fill && rd->pos == rd->end)
		return 0;
	if ((r = xs_fill(x, rd, XS_HDR)))
		return r;
	h = rd->buf + rd->start;
	rd->klen = (size_t)h[0] << 8 | h[1];
	rd->vlen = (size_t)h[2] << 8 | h[3];
	if ((r = xs_fill(x, rd, XS_HDR + rd->klen + rd->vlen)))
		return r;
	rd->key = rd->buf + rd->start + XS_HDR;
	rd->hi = xs_be64(rd->key, rd->klen);
	rd->lo = rd->klen > 8 ? xs_be64(rd->key + 8, rd->klen - 8) : 0;
	return 1;
}

/* The heap's order: the first 16 bytes decide almost always. */
static bool xs_less(const struct xs_reader *a, const struct xs_reader *b)
{
	if (a->hi != b->hi)
		return a->hi < b->hi;
	if (a->lo != b->lo)
		return a->lo < b->lo;
	return store_key_cmp(a->key, a->klen, b->key, b->klen) < 0;
}

static void xs_heap_down(struct extsort *x, unsigned i)
{
	for (;;) {
		unsigned c = 2 * i + 1;
		struct xs_reader *t;

		if (c >= x->nheap)
			return;
		if (c + 1 < x->nheap && xs_less(x->heap[c + 1], x->heap[c]))
			c++;
		if (!xs_less(x->heap[c], x->heap[i]))
			return;
		t = x->heap[i];
		x->heap[i] = x->heap[c];
		x->heap[c] = t;
		i = c;
	}
}

int extsort_finish(struct extsort *x)
{
	int r = xs_wait(x);

	x->finished = true;
	if (r)
		return r;
	if (x->nruns == 0) {
		xs_sort_run(x->fill);
		return 0;
	}
	if (x->fill->n && (r = xs_spill(x, x->fill)))
		return r;
	xs_set_free(&x->set[0]);
	xs_set_free(&x->set[1]);
	x->rd = xs_realloc(NULL, x->nruns * sizeof(*x->rd));
	x->heap = xs_realloc(NULL, x->nruns * sizeof(*x->heap));
	for (unsigned i = 0; i < x->nruns; i++) {
		struct xs_reader *rd = &x->rd[i];

		*rd = (struct xs_reader){x->runs[i].off, x->runs[i].off + x->runs[i].len,
					 xs_realloc(NULL, XS_RBUF), XS_RBUF, 0, 0, NULL, 0, 0, 0, 0};
		r = xs_load(x, rd);
		if (r < 0)
			return r;
		if (r == 1)
			x->heap[x->nheap++] = rd;
	}
	for (unsigned i = x->nheap / 2; i-- > 0;)
		xs_heap_down(x, i);
	return 0;
}

int extsort_next(struct extsort *x, struct store_val *key, struct store_val *val)
{
	struct xs_reader *rd;
	int r;

	if (!x->rd) {
		const struct xs_set *st = x->fill;
		const struct xs_ent *e;

		if (x->next >= st->n)
			return 0;
		e = &st->ents[x->next++];
		*key = (struct store_val){st->arena + e->off, e->klen};
		*val = (struct store_val){st->arena + e->off + e->klen, e->vlen};
		return 1;
	}
	if (x->popped && x->nheap) {
		/* Move the reader handed out last time on to its next pair. */
		rd = x->heap[0];
		rd->start += XS_HDR + rd->klen + rd->vlen;
		r = xs_load(x, rd);
		if (r < 0)
			return r;
		if (r == 0)
			x->heap[0] = x->heap[--x->nheap];
		xs_heap_down(x, 0);
	}
	x->popped = false;
	if (x->nheap == 0)
		return 0;
	rd = x->heap[0];
	x->popped = true;
	*key = (struct store_val){rd->key, rd->klen};
	*val = (struct store_val){rd->key + rd->klen, rd->vlen};
	return 1;
}
