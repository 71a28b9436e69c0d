/* Bencode for rtpengine's NG protocol. See benc.h. */
#include "gateway/sipgw/benc.h"

#include "lib/err.h"

#include <stdio.h>
#include <string.h>

struct rd {
	const char *p, *end;
	struct benc_doc *d;
};

/* A decimal number up to the byte stop; digits only but for a leading '-' when neg. */
static int rd_number(struct rd *r, char stop, bool neg, long long *out)
{
	bool minus = false;
	long long v = 0;
	size_t digits = 0;

	if (neg && r->p < r->end && *r->p == '-') {
		minus = true;
		r->p++;
	}
	while (r->p < r->end && *r->p != stop) {
		if (*r->p < '0' || *r->p > '9' || digits >= 18)
			return KF_EPARSE;
		v = v * 10 + (*r->p - '0');
		digits++;
		r->p++;
	}
	if (r->p == r->end || digits == 0)
		return KF_EPARSE;
	r->p++; /* stop */
	*out = minus ? -v : v;
	return 0;
}

static int rd_value(struct rd *r, int depth)
{
	struct benc_node *n;
	size_t at;
	int err;

	if (r->p >= r->end)
		return KF_EPARSE;
	if (r->d->used >= BENC_NODES || depth > BENC_DEPTH)
		return KF_ETOOBIG;
	at = r->d->used++;
	n = &r->d->n[at];
	memset(n, 0, sizeof(*n));
	n->span = 1;
	if (*r->p == 'i') {
		r->p++;
		n->type = BENC_INT;
		return rd_number(r, 'e', true, &n->num);
	}
	if (*r->p == 'l' || *r->p == 'd') {
		bool dict = *r->p == 'd';

		r->p++;
		n->type = dict ? BENC_DICT : BENC_LIST;
		while (r->p < r->end && *r->p != 'e') {
			/* A dict's keys (its even places) are strings. */
			if (dict && r->d->n[at].count % 2 == 0 &&
			    (*r->p < '0' || *r->p > '9'))
				return KF_EPARSE;
			if ((err = rd_value(r, depth + 1)) != 0)
				return err;
			r->d->n[at].count++;
		}
		if (r->p == r->end || (dict && r->d->n[at].count % 2))
			return KF_EPARSE;
		r->p++;
		r->d->n[at].span = r->d->used - at;
		return 0;
	}
	{
		long long len;

		n->type = BENC_STR;
		if ((err = rd_number(r, ':', false, &len)) != 0)
			return err;
		if (len > r->end - r->p)
			return KF_EPARSE;
		n->str = r->p;
		n->len = (size_t)len;
		r->p += len;
	}
	return 0;
}

int benc_parse(const char *buf, size_t len, struct benc_doc *d)
{
	struct rd r = {buf, buf + len, d};
	int err;

	d->used = 0;
	if ((err = rd_value(&r, 0)) != 0)
		return err;
	return r.p == r.end ? 0 : KF_EPARSE;
}

bool benc_is(const struct benc_node *n, const char *s)
{
	return n && n->type == BENC_STR && n->len == strlen(s) && memcmp(n->str, s, n->len) == 0;
}

const struct benc_node *benc_get(const struct benc_doc *d, size_t at, const char *key)
{
	size_t i, k;

	if (at >= d->used || d->n[at].type != BENC_DICT)
		return NULL;
	for (i = at + 1, k = 0; k < d->n[at].count; k += 2) {
		size_t v = i + d->n[i].span;

		if (benc_is(&d->n[i], key))
			return &d->n[v];
		i = v + d->n[v].span;
	}
	return NULL;
}

static void put(struct benc_out *o, const char *s, size_t n)
{
	if (o->over || n > o->cap - o->len) {
		o->over = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

void benc_strn(struct benc_out *o, const char *s, size_t n)
{
	char head[24];
	int h = snprintf(head, sizeof(head), "%zu:", n);

	put(o, head, (size_t)h);
	put(o, s, n);
}

void benc_str(struct benc_out *o, const char *s)
{
	benc_strn(o, s, strlen(s));
}

void benc_int(struct benc_out *o, long long v)
{
	char b[32];
	int h = snprintf(b, sizeof(b), "i%llde", v);

	put(o, b, (size_t)h);
}

void benc_open(struct benc_out *o, char kind)
{
	put(o, kind == 'l' ? "l" : "d", 1);
}

void benc_close(struct benc_out *o)
{
	put(o, "e", 1);
}
