/* Calling numbers per tier from BOSS files. See traffic_book.h. */
#include "tests/sim/traffic_book.h"

#include "lib/err.h"
#include "storage/boss.h"
#include "storage/bossrec.h"

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_MAX 32

struct cust_rec {
	char id[ID_MAX + 1];
	uint64_t ord;        /* reading order: later records win */
	uint8_t vip;
	char op;
};

struct user_rec {
	char id[ID_MAX + 1];
	char msisdn[TRAFFIC_NUM_MAX + 1];
	char cust[ID_MAX + 1];
	uint64_t ord;
	uint8_t status;
	char op;
};

/* One growing array of records, capped by the shared record count. */
struct vec {
	void *p;
	size_t n, cap, size;
};

static void *vec_push(struct vec *v)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 1024;
		v->p = realloc(v->p, v->cap * v->size);
		if (!v->p)
			abort();
	}
	return (char *)v->p + v->n++ * v->size;
}

struct named {
	char *path;
	struct boss_name bn;
};

static int named_order(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->bn.stamp, y->bn.stamp);

	if (c)
		return c;
	if (x->bn.kind != y->bn.kind)
		return x->bn.kind < y->bn.kind ? -1 : 1;
	return x->bn.seq < y->bn.seq ? -1 : x->bn.seq > y->bn.seq;
}

int traffic_book_files(const char *dir, unsigned kinds_mask, char ***paths, size_t *n)
{
	DIR *d = opendir(dir);
	struct named *v = NULL;
	struct dirent *de;
	size_t nv = 0;
	int r = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct boss_name bn;
		size_t len = strlen(de->d_name), plen;

		if (boss_parse_name(de->d_name, len, &bn, NULL, 0) != 0 ||
		    !(kinds_mask & (1u << bn.kind)))
			continue;
		if (nv == TRAFFIC_BOOK_FILES_MAX) {
			r = KF_ETOOBIG;
			break;
		}
		v = realloc(v, (nv + 1) * sizeof(*v));
		plen = strlen(dir) + 1 + len + 1;
		if (!v || !(v[nv].path = malloc(plen)))
			abort();
		snprintf(v[nv].path, plen, "%s/%s", dir, de->d_name);
		v[nv++].bn = bn;
	}
	closedir(d);
	if (r) {
		for (size_t i = 0; i < nv; i++)
			free(v[i].path);
		free(v);
		return r;
	}
	if (nv)
		qsort(v, nv, sizeof(*v), named_order);
	*paths = calloc(nv ? nv : 1, sizeof(char *));
	if (!*paths)
		abort();
	for (size_t i = 0; i < nv; i++)
		(*paths)[i] = v[i].path;
	*n = nv;
	free(v);
	return 0;
}

/* The value of field name of rec into out (cap), "" when absent. */
static void field(const struct bossrec *rec, const char *name, char *out, size_t cap)
{
	int i = bossrec_field_index(rec->kind, name);

	snprintf(out, cap, "%s", i >= 0 && rec->len[i] ? rec->val[i] : "");
}

static int64_t field_num(const struct bossrec *rec, const char *name)
{
	int i = bossrec_field_index(rec->kind, name);

	return i >= 0 && rec->len[i] ? rec->num[i] : 0;
}

/* Read one file's records into the customer or user vector. */
static int read_file(const char *path, enum boss_kind kind, struct vec *cv, struct vec *uv,
		     uint64_t *ord, uint64_t *skipped)
{
	FILE *f = fopen(path, "r");
	struct bossrec *rec = malloc(sizeof(*rec));
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int r = 0;

	if (!rec)
		abort();
	if (!f) {
		free(rec);
		return -errno;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			len--;
		if (bossrec_parse(kind, line, (size_t)len, rec, NULL) != 0) {
			(*skipped)++;
			continue;
		}
		if (++*ord > TRAFFIC_BOOK_RECORDS_MAX) {
			r = KF_ETOOBIG;
			break;
		}
		if (kind == BOSS_CUST) {
			struct cust_rec *c = vec_push(cv);

			field(rec, "cust_id", c->id, sizeof(c->id));
			c->vip = (uint8_t)field_num(rec, "vip_level");
			c->ord = *ord;
			c->op = rec->op;
		} else {
			struct user_rec *u = vec_push(uv);

			field(rec, "user_id", u->id, sizeof(u->id));
			field(rec, "msisdn", u->msisdn, sizeof(u->msisdn));
			field(rec, "cust_id", u->cust, sizeof(u->cust));
			u->status = (uint8_t)field_num(rec, "status");
			u->ord = *ord;
			u->op = rec->op;
		}
	}
	free(line);
	free(rec);
	fclose(f);
	return r;
}

/* Both record structs start with id then ord: sort by id, then reading order. */
static int cust_order(const void *a, const void *b)
{
	const struct cust_rec *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c ? c : x->ord < y->ord ? -1 : x->ord > y->ord;
}

static int user_order(const void *a, const void *b)
{
	const struct user_rec *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c ? c : x->ord < y->ord ? -1 : x->ord > y->ord;
}

/*
 * Keep the last record of each id, dropping ids whose last record is a D,
 * in place; returns the count kept. Records are size bytes, id first.
 */
static size_t keep_last(void *p, size_t n, size_t size, size_t op_off)
{
	char *base = p;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		char *rec = base + i * size;

		if (i + 1 < n && strcmp(rec, base + (i + 1) * size) == 0)
			continue;
		if (rec[op_off] == 'D')
			continue;
		memmove(base + k++ * size, rec, size);
	}
	return k;
}

static int cust_by_id(const void *key, const void *elem)
{
	return strcmp(key, ((const struct cust_rec *)elem)->id);
}

int traffic_book_load(struct traffic_book *b, const char *dir, char *why, size_t whylen)
{
	struct vec cv = {NULL, 0, 0, sizeof(struct cust_rec)}, uv = {NULL, 0, 0, sizeof(struct user_rec)};
	size_t cap[TRAFFIC_TIERS] = {0}, nf = 0, total = 0;
	uint64_t ord = 0;
	char **paths = NULL;
	int r;

	memset(b, 0, sizeof(*b));
	r = traffic_book_files(dir, 1u << BOSS_CUST | 1u << BOSS_USER, &paths, &nf);
	if (r) {
		snprintf(why, whylen, "%s: %s", dir, kf_strerror(r));
		return r;
	}
	for (size_t i = 0; i < nf && r == 0; i++) {
		const char *base = strrchr(paths[i], '/') + 1;
		struct boss_name bn;

		boss_parse_name(base, strlen(base), &bn, NULL, 0);
		if ((r = read_file(paths[i], bn.kind, &cv, &uv, &ord, &b->skipped)))
			snprintf(why, whylen, "%s: %s", paths[i], kf_strerror(r));
	}
	for (size_t i = 0; i < nf; i++)
		free(paths[i]);
	free(paths);
	if (r == 0) {
		if (cv.n)
			qsort(cv.p, cv.n, cv.size, cust_order);
		if (uv.n)
			qsort(uv.p, uv.n, uv.size, user_order);
		cv.n = keep_last(cv.p, cv.n, cv.size, offsetof(struct cust_rec, op));
		uv.n = keep_last(uv.p, uv.n, uv.size, offsetof(struct user_rec, op));
		for (size_t i = 0; i < uv.n; i++) {
			const struct user_rec *u = (const struct user_rec *)uv.p + i;
			const struct cust_rec *c = cv.n ? bsearch(u->cust, cv.p, cv.n, cv.size, cust_by_id) : NULL;
			unsigned t;

			if (u->status == 4 || !c || !u->msisdn[0])
				continue;
			t = c->vip < TRAFFIC_TIERS ? c->vip : 0;
			if (b->n[t] == cap[t]) {
				cap[t] = cap[t] ? cap[t] * 2 : 256;
				b->num[t] = realloc(b->num[t], cap[t] * sizeof(*b->num[t]));
				if (!b->num[t])
					abort();
			}
			memcpy(b->num[t][b->n[t]++], u->msisdn, sizeof(u->msisdn));
			total++;
		}
		if (total == 0) {
			r = KF_ENOTFOUND;
			snprintf(why, whylen, "%s: no CUST/USER records with a subscriber in service", dir);
		}
	}
	free(cv.p);
	free(uv.p);
	if (r)
		traffic_book_release(b);
	return r;
}

void traffic_book_release(struct traffic_book *b)
{
	for (unsigned t = 0; t < TRAFFIC_TIERS; t++) {
		free(b->num[t]);
		b->num[t] = NULL;
		b->n[t] = 0;
	}
}

const char *traffic_book_pick(const struct traffic_book *b, unsigned tier, struct rng *r)
{
	if (tier >= TRAFFIC_TIERS || b->n[tier] == 0)
		return NULL;
	return b->num[tier][rng_below(r, b->n[tier])];
}
