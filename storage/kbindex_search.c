/*
 * The search index's read side (kbindex.h): queries parsed into clauses,
 * postings read and scored (BM25 over the fields), the best hits admitted
 * by the caller, and excerpts. Layouts in kbindex_int.h.
 *
 * A query is an AND of clauses; a clause is an OR of alternatives (the text
 * as written, or read as pinyin); an alternative is an AND of groups; a
 * group is a sequence of constraints that must sit at consecutive
 * positions (a phrase, a pinyin sequence; a lone constraint has no
 * position to keep); a constraint is an OR of terms (a pinyin syllable
 * typed in part stands for every syllable it starts).
 */
#include "storage/kbindex.h"

#include "lib/err.h"
#include "lib/textfold.h"
#include "storage/kbindex_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define KBX_QTERMS 1024
#define KBX_QBYTES (16 * KBX_QTERMS)
#define KBX_QCONS 512
#define KBX_QGROUPS 256
#define KBX_QALTS 96
#define KBX_QCLAUSES 64
#define KBX_SEGS_MAX 8          /* pinyin segmentations tried per letters */
#define KBX_SEG_STEPS 2000      /* work of finding them, at most */
#define KBX_PINYIN_LETTERS 48   /* longer letter runs are not read as pinyin */
#define KBX_INITIALS_MAX 10     /* letters read as initials, at most */
#define KBX_PREFIX_MAX 32       /* syllables one typed prefix stands for */
#define KBX_SYL_MAX 6           /* letters of the longest syllable */

struct kbx_qcons {
	uint32_t t0, nt; /* terms [t0, t0 + nt) */
	uint32_t off;    /* position in its group */
};

struct kbx_qgroup {
	uint32_t c0, nc; /* constraints */
};

struct kbx_qalt {
	uint32_t g0, ng; /* groups */
	bool exact;
};

struct kbx_qclause {
	uint32_t a0, na; /* alternatives */
};

struct kbx_query {
	char bytes[KBX_QBYTES];
	size_t nbytes;
	uint32_t toff[KBX_QTERMS];
	uint8_t tlen[KBX_QTERMS];
	size_t nterms;
	struct kbx_qcons cons[KBX_QCONS];
	size_t ncons;
	struct kbx_qgroup group[KBX_QGROUPS];
	size_t ngroups;
	struct kbx_qalt alt[KBX_QALTS];
	size_t nalts;
	struct kbx_qclause clause[KBX_QCLAUSES];
	size_t nclauses;
	bool full; /* a limit was reached: the alternative being built is dropped */
};

/* ---- building a query ---- */

static void q_term(struct kbx_query *q, const char *t, size_t len)
{
	if (q->full || q->nterms == KBX_QTERMS || q->nbytes + len > KBX_QBYTES) {
		q->full = true;
		return;
	}
	q->toff[q->nterms] = (uint32_t)q->nbytes;
	q->tlen[q->nterms++] = (uint8_t)len;
	memcpy(q->bytes + q->nbytes, t, len);
	q->nbytes += len;
	q->cons[q->ncons - 1].nt++;
}

static void q_cons(struct kbx_query *q, uint32_t off)
{
	if (q->full || q->ncons == KBX_QCONS) {
		q->full = true;
		return;
	}
	q->cons[q->ncons++] = (struct kbx_qcons){(uint32_t)q->nterms, 0, off};
	q->group[q->ngroups - 1].nc++;
}

static void q_group(struct kbx_query *q)
{
	if (q->full || q->ngroups == KBX_QGROUPS) {
		q->full = true;
		return;
	}
	q->group[q->ngroups++] = (struct kbx_qgroup){(uint32_t)q->ncons, 0};
	q->alt[q->nalts - 1].ng++;
}

/* Begin an alternative of the last clause; q_alt_end keeps or drops it. */
struct q_mark {
	size_t nbytes, nterms, ncons, ngroups, nalts;
};

static struct q_mark q_alt(struct kbx_query *q, bool exact)
{
	struct q_mark m = {q->nbytes, q->nterms, q->ncons, q->ngroups, q->nalts};

	q->full = q->nalts == KBX_QALTS;
	if (!q->full) {
		q->alt[q->nalts++] = (struct kbx_qalt){(uint32_t)q->ngroups, 0, exact};
		q->clause[q->nclauses - 1].na++;
	}
	return m;
}

static void q_alt_end(struct kbx_query *q, struct q_mark m)
{
	bool empty = !q->full && q->nalts > m.nalts && q->alt[q->nalts - 1].ng == 0;

	for (size_t c = m.ncons; !q->full && c < q->ncons; c++)
		if (q->cons[c].nt == 0)
			empty = true;
	if (q->full || empty) {
		if (q->nalts > m.nalts)
			q->clause[q->nclauses - 1].na--;
		q->nbytes = m.nbytes;
		q->nterms = m.nterms;
		q->ncons = m.ncons;
		q->ngroups = m.ngroups;
		q->nalts = m.nalts;
	}
	q->full = false;
}

static bool q_clause(struct kbx_query *q)
{
	if (q->nclauses == KBX_QCLAUSES)
		return false;
	q->clause[q->nclauses++] = (struct kbx_qclause){(uint32_t)q->nalts, 0};
	return true;
}

/* Drop the last clause when no alternative of it was kept. */
static void q_clause_end(struct kbx_query *q)
{
	if (q->nclauses && q->clause[q->nclauses - 1].na == 0)
		q->nclauses--;
}

/* ---- pinyin ---- */

/* Is s[0..len) a syllable a query may use? */
static bool kbx_is_syllable(const char *s, size_t len)
{
	size_t i = textfold_syllable_find(s, len);
	const char *y = textfold_syllable(i);

	return i < textfold_syllables() && strlen(y) == len && memcmp(y, s, len) == 0 &&
	       kbindex__syllable_usable(y);
}

/* The terms of constraint "syllable a, then a syllable starting with b". */
static void kbx_syl_terms(struct kbx_query *q, const char *a, size_t alen, const char *b,
			  size_t blen, bool b_prefix)
{
	char term[KBX_TERM_MAX], sa[KBX_SYL_MAX + 1];
	size_t n = 0;

	memcpy(sa, a, alen);
	sa[alen] = '\0';
	if (!b_prefix) {
		q_term(q, term, kbindex__term_syl(sa, b, blen, term));
		return;
	}
	for (size_t i = textfold_syllable_find(b, blen); i < textfold_syllables() && n < KBX_PREFIX_MAX;
	     i++) {
		const char *y = textfold_syllable(i);

		if (strncmp(y, b, blen) != 0)
			break;
		if (!kbindex__syllable_usable(y))
			continue;
		q_term(q, term, kbindex__term_syl(sa, y, strlen(y), term));
		n++;
	}
}

struct kbx_segs {
	uint8_t start[KBX_SEGS_MAX][KBX_PINYIN_LETTERS + 1];
	uint8_t nseg[KBX_SEGS_MAX];
	size_t n;
	unsigned steps;
};

/* Every way to cut L[at..n) into syllables, the last possibly typed in
 * part; cuts[0..k) are the starts found so far. Longer syllables first. */
static void kbx_segment(const char *L, size_t n, size_t at, uint8_t *cuts, size_t k,
			struct kbx_segs *out)
{
	size_t i;

	if (out->n == KBX_SEGS_MAX || ++out->steps > KBX_SEG_STEPS)
		return;
	cuts[k] = (uint8_t)at;
	/* The rest as the start of one syllable ends a segmentation. */
	i = textfold_syllable_find(L + at, n - at);
	for (; k > 0 && i < textfold_syllables(); i++) {
		const char *y = textfold_syllable(i);

		if (strncmp(y, L + at, n - at) != 0)
			break;
		if (kbindex__syllable_usable(y)) {
			memcpy(out->start[out->n], cuts, k + 1);
			out->nseg[out->n++] = (uint8_t)(k + 1);
			break;
		}
	}
	for (size_t len = KBX_SYL_MAX; len > 0; len--)
		if (at + len < n && kbx_is_syllable(L + at, len))
			kbx_segment(L, n, at + len, cuts, k + 1, out);
}

/* Letters L[0..n) (a-z) as full pinyin and as initials: alternatives of
 * the current clause. */
static void kbx_pinyin_alts(struct kbx_query *q, const char *L, size_t n)
{
	struct kbx_segs segs;
	uint8_t cuts[KBX_PINYIN_LETTERS + 1];
	char term[KBX_TERM_MAX];
	struct q_mark m;

	if (n < 2 || n > KBX_PINYIN_LETTERS)
		return;
	segs.n = 0;
	segs.steps = 0;
	kbx_segment(L, n, 0, cuts, 0, &segs);
	for (size_t s = 0; s < segs.n; s++) {
		const uint8_t *st = segs.start[s];
		size_t ns = segs.nseg[s];

		m = q_alt(q, false);
		q_group(q);
		for (size_t k = 0; k + 1 < ns; k++) {
			size_t blen = (k + 2 < ns ? st[k + 2] : n) - st[k + 1];

			q_cons(q, (uint32_t)k);
			kbx_syl_terms(q, L + st[k], st[k + 1] - st[k], L + st[k + 1], blen, k + 2 == ns);
		}
		q_alt_end(q, m);
	}
	if (n > KBX_INITIALS_MAX || strpbrk(L, "iuv") != NULL)
		return;
	m = q_alt(q, false);
	q_group(q);
	for (size_t k = 0; k + 1 < n; k++) {
		q_cons(q, (uint32_t)k);
		q_term(q, term, kbindex__term_initials(L[k], L[k + 1], term));
	}
	q_alt_end(q, m);
}

/* ---- parsing ---- */

/* Units u[a..b) of a quoted phrase: one group at consecutive positions. */
static void kbx_phrase(struct kbx_query *q, const struct textfold *f, size_t a, size_t b)
{
	char term[KBX_TERM_MAX];
	struct q_mark m;

	if (a == b || !q_clause(q))
		return;
	m = q_alt(q, true);
	q_group(q);
	for (size_t i = a; i < b; i++) {
		const struct textfold_unit *u = &f->unit[i];
		bool pair = i + 1 < b && f->unit[i + 1].kind == TEXTFOLD_HAN && f->unit[i + 1].joined;

		if (u->kind == TEXTFOLD_WORD) {
			q_cons(q, (uint32_t)(i - a));
			q_term(q, term, kbindex__term_word(f->word + u->off, u->len, term));
		} else if (u->kind == TEXTFOLD_HAN && pair) {
			q_cons(q, (uint32_t)(i - a));
			q_term(q, term, kbindex__term_pair(u->cp, f->unit[i + 1].cp, term));
		} else if (u->kind == TEXTFOLD_HAN && !u->joined) {
			/* alone: the pair before it covers a joined last character */
			q_cons(q, (uint32_t)(i - a));
			q_term(q, term, kbindex__term_han(u->cp, term));
		}
	}
	q_alt_end(q, m);
	q_clause_end(q);
}

/* A run of joined Han units u[a..b): one character, or pairs that cover
 * the run without overlap (the last overlapping when the run is odd). */
static void kbx_han_run(struct kbx_query *q, const struct textfold *f, size_t a, size_t b)
{
	char term[KBX_TERM_MAX];
	struct q_mark m;

	if (!q_clause(q))
		return;
	m = q_alt(q, true);
	if (b - a == 1) {
		q_group(q);
		q_cons(q, 0);
		q_term(q, term, kbindex__term_han(f->unit[a].cp, term));
	}
	for (size_t i = a; b - a > 1 && i + 1 < b; i += 2) {
		q_group(q);
		q_cons(q, 0);
		q_term(q, term, kbindex__term_pair(f->unit[i].cp, f->unit[i + 1].cp, term));
	}
	if (b - a > 1 && (b - a) % 2 == 1) {
		q_group(q);
		q_cons(q, 0);
		q_term(q, term, kbindex__term_pair(f->unit[b - 2].cp, f->unit[b - 1].cp, term));
	}
	q_alt_end(q, m);
	q_clause_end(q);
}

/* A run of words u[a..b): all of them as written, or (letters only) the
 * letters together as pinyin. */
static void kbx_word_run(struct kbx_query *q, const struct textfold *f, size_t a, size_t b)
{
	char term[KBX_TERM_MAX], L[KBX_PINYIN_LETTERS + 1];
	size_t n = 0;
	bool letters = true;
	struct q_mark m;

	if (!q_clause(q))
		return;
	m = q_alt(q, true);
	for (size_t i = a; i < b; i++) {
		const struct textfold_unit *u = &f->unit[i];

		q_group(q);
		q_cons(q, 0);
		q_term(q, term, kbindex__term_word(f->word + u->off, u->len, term));
		for (size_t k = 0; k < u->len; k++) {
			char c = f->word[u->off + k];

			if (c < 'a' || c > 'z' || n == KBX_PINYIN_LETTERS)
				letters = false;
			else
				L[n++] = c;
		}
	}
	q_alt_end(q, m);
	L[n] = '\0';
	if (letters)
		kbx_pinyin_alts(q, L, n);
	q_clause_end(q);
}

/* Is unit i a word of ASCII letters only? */
static bool kbx_is_letters(const struct textfold *f, size_t i)
{
	const struct textfold_unit *u = &f->unit[i];

	if (u->kind != TEXTFOLD_WORD)
		return false;
	for (size_t k = 0; k < u->len; k++)
		if (f->word[u->off + k] < 'a' || f->word[u->off + k] > 'z')
			return false;
	return true;
}

static int kbx_parse(struct kbx_query *q, const struct textfold *f)
{
	size_t i = 0;

	q->nbytes = 0;
	q->nterms = q->ncons = q->ngroups = q->nalts = q->nclauses = 0;
	q->full = false;
	while (i < f->n) {
		const struct textfold_unit *u = &f->unit[i];
		size_t j = i + 1;

		if (u->kind == TEXTFOLD_QUOTE) {
			while (j < f->n && f->unit[j].kind != TEXTFOLD_QUOTE)
				j++;
			if (j == f->n)
				return KF_EINVAL; /* unclosed quote */
			kbx_phrase(q, f, i + 1, j);
			i = j + 1;
			continue;
		}
		if (u->kind == TEXTFOLD_HAN) {
			while (j < f->n && f->unit[j].kind == TEXTFOLD_HAN && f->unit[j].joined)
				j++;
			kbx_han_run(q, f, i, j);
		} else {
			/* A word that is one syllable goes with the words of letters
			 * after it (`hua fei`, `xi an`: pinyin typed spaced); any
			 * other word (`iphone`, `taocan`, `4g`) stands alone. */
			while (j < f->n && kbx_is_letters(f, j) && kbx_is_letters(f, j - 1) &&
			       kbx_is_syllable(f->word + f->unit[j - 1].off, f->unit[j - 1].len))
				j++;
			kbx_word_run(q, f, i, j);
		}
		i = j;
	}
	return q->nclauses ? 0 : KF_EINVAL;
}

/* ---- postings, scored ---- */

/* Docs with a score each, ascending by doc. */
struct kbx_res {
	size_t n, cap;
	uint64_t *doc;
	double *score;
	bool *exact;
};

static void res_need(struct kbx_res *r, size_t n)
{
	if (n <= r->cap)
		return;
	r->cap = n < 256 ? 256 : n;
	r->doc = realloc(r->doc, r->cap * sizeof(*r->doc));
	r->score = realloc(r->score, r->cap * sizeof(*r->score));
	r->exact = realloc(r->exact, r->cap * sizeof(*r->exact));
	if (!r->doc || !r->score || !r->exact)
		abort();
}

static void res_free(struct kbx_res *r)
{
	free(r->doc);
	free(r->score);
	free(r->exact);
	memset(r, 0, sizeof(*r));
}

static void res_swap(struct kbx_res *a, struct kbx_res *b)
{
	struct kbx_res t = *a;

	*a = *b;
	*b = t;
}

/* The postings of a constraint: per doc the weighted term frequency and,
 * when asked, the positions as stored (varint deltas), decoded only for
 * the docs every constraint of a group holds. */
struct kbx_list {
	size_t n, cap;
	uint64_t *doc;
	double *tfw;
	uint32_t *poff, *plen;
	uint8_t *pos;
	size_t npos, poscap;
	double idf;
};

static void list_need(struct kbx_list *l, size_t n)
{
	if (n <= l->cap)
		return;
	l->cap = l->cap ? 2 * l->cap : 1024;
	if (l->cap < n)
		l->cap = n;
	l->doc = realloc(l->doc, l->cap * sizeof(*l->doc));
	l->tfw = realloc(l->tfw, l->cap * sizeof(*l->tfw));
	l->poff = realloc(l->poff, l->cap * sizeof(*l->poff));
	l->plen = realloc(l->plen, l->cap * sizeof(*l->plen));
	if (!l->doc || !l->tfw || !l->poff || !l->plen)
		abort();
}

static void list_pos_need(struct kbx_list *l, size_t n)
{
	if (l->npos + n <= l->poscap)
		return;
	while (l->poscap < l->npos + n)
		l->poscap = l->poscap ? 2 * l->poscap : 4096;
	l->pos = realloc(l->pos, l->poscap);
	if (!l->pos)
		abort();
}

static void list_free(struct kbx_list *l)
{
	free(l->doc);
	free(l->tfw);
	free(l->poff);
	free(l->plen);
	free(l->pos);
	memset(l, 0, sizeof(*l));
}

/* A constraint's list, kept for the rest of the search: pinyin
 * segmentations of one query share many of them. */
struct kbx_cached {
	char *key; /* the constraint's terms, each followed by a 0 byte */
	size_t klen;
	bool pos;
	struct kbx_list l;
};

/* A search's state. */
struct kbx_search {
	struct store_txn *t;
	double docs;
	double norm[KBINDEX_FIELDS][256]; /* field weight / length normalisation */
	struct kbx_cached **cache; /* each apart: lists handed out stay put */
	size_t ncache, cachecap;
	struct kbx_list b, c;             /* scratch of unions */
	uint32_t *pa, *pb;                /* scratch of decoded positions */
	size_t pacap, pbcap;
	struct kbx_res r1, r2, r3, alt, clause, query;
};

struct kbx_load {
	struct kbx_search *s;
	struct kbx_list *l;
	size_t tlen;
	bool pos;
};

static int kbx_load_visit(void *arg, const struct store_val *key, const struct store_val *val)
{
	struct kbx_load *ld = arg;
	struct kbx_list *l = ld->l;
	const uint8_t *p = val->data, *end = p + val->len;
	uint64_t count, doc;

	if (key->len != ld->tlen + 9 || !kbindex__varint(&p, end, &count) || count > val->len)
		return KF_ECORRUPT;
	doc = kbindex__be64((const uint8_t *)key->data + ld->tlen + 1);
	list_need(l, l->n + count);
	if (ld->pos)
		list_pos_need(l, val->len);
	for (uint64_t i = 0; i < count; i++) {
		uint64_t delta, tf[KBINDEX_FIELDS], npos;
		uint8_t code[KBINDEX_FIELDS];
		const uint8_t *at;
		size_t plen;
		double tfw = 0;

		if (!kbindex__varint(&p, end, &delta))
			return KF_ECORRUPT;
		doc += delta;
		if ((npos = kbindex__posting_fields(&p, end, tf, code)) == 0)
			return KF_ECORRUPT;
		for (int f = 0; f < KBINDEX_FIELDS; f++)
			if (tf[f])
				tfw += (double)tf[f] * ld->s->norm[f][code[f]];
		at = p;
		if (!kbindex__skip_varints(&p, end, npos))
			return KF_ECORRUPT;
		plen = (size_t)(p - at);
		p = at;
		l->doc[l->n] = doc;
		l->tfw[l->n] = tfw;
		l->poff[l->n] = (uint32_t)l->npos;
		l->plen[l->n] = 0;
		if (ld->pos) {
			memcpy(l->pos + l->npos, p, (size_t)plen);
			l->npos += (size_t)plen;
			l->plen[l->n] = (uint32_t)plen;
		}
		p += plen;
		l->n++;
	}
	return 0;
}

/* Load one term's postings into l (emptied first). */
static int kbx_load_term(struct kbx_search *s, const char *term, size_t tlen, bool pos,
			 struct kbx_list *l)
{
	uint8_t prefix[KBX_TERM_MAX + 1];
	struct kbx_load ld = {s, l, tlen, pos};

	l->n = 0;
	l->npos = 0;
	memcpy(prefix, term, tlen);
	prefix[tlen] = 0;
	return store_scan(s->t, STORE_KB_TERMS, prefix, tlen + 1, NULL, 0, false, kbx_load_visit, &ld);
}

/* Decode the positions of l's posting i into *buf; returns how many. */
static size_t kbx_positions(const struct kbx_list *l, size_t i, uint32_t **buf, size_t *cap)
{
	const uint8_t *p = l->pos + l->poff[i], *end = p + l->plen[i];
	uint64_t v, at = 0;
	size_t n = 0;

	if (*cap < l->plen[i]) {
		*cap = l->plen[i] + 64;
		*buf = realloc(*buf, *cap * sizeof(**buf));
		if (!*buf)
			abort();
	}
	while (p < end && kbindex__varint(&p, end, &v)) {
		at += v;
		(*buf)[n++] = (uint32_t)at;
	}
	return n;
}

/* out = a OR b (tfw summed, positions merged). */
static void kbx_list_union(struct kbx_search *s, const struct kbx_list *a, const struct kbx_list *b,
			   struct kbx_list *out, bool pos)
{
	size_t i = 0, j = 0;

	out->n = 0;
	out->npos = 0;
	list_need(out, a->n + b->n);
	while (i < a->n || j < b->n) {
		bool ta = j == b->n || (i < a->n && a->doc[i] <= b->doc[j]);
		bool tb = i == a->n || (j < b->n && b->doc[j] <= a->doc[i]);
		size_t k = out->n++;

		out->doc[k] = ta ? a->doc[i] : b->doc[j];
		out->tfw[k] = (ta ? a->tfw[i] : 0) + (tb ? b->tfw[j] : 0);
		out->poff[k] = (uint32_t)out->npos;
		out->plen[k] = 0;
		if (pos) {
			size_t na = ta ? kbx_positions(a, i, &s->pa, &s->pacap) : 0;
			size_t nb = tb ? kbx_positions(b, j, &s->pb, &s->pbcap) : 0, x = 0, y = 0;
			uint32_t prev = 0;

			list_pos_need(out, 10 * (na + nb));
			while (x < na || y < nb) {
				uint32_t v;
				size_t w;

				if (y == nb || (x < na && s->pa[x] < s->pb[y]))
					v = s->pa[x++];
				else if (x == na || s->pb[y] < s->pa[x])
					v = s->pb[y++];
				else
					v = s->pa[x++], y++;
				w = kbindex__varint_put(out->pos + out->npos, v - prev);
				prev = v;
				out->npos += w;
				out->plen[k] += (uint32_t)w;
			}
		}
		i += ta;
		j += tb;
	}
}

/* The list of constraint c of q (the OR of its terms), from the cache or
 * loaded into it; *out points into the cache until the search ends. */
static int kbx_cons_list(struct kbx_search *s, const struct kbx_query *q, size_t c, bool pos,
			 const struct kbx_list **out)
{
	uint32_t t0 = q->cons[c].t0, nt = q->cons[c].nt;
	struct kbx_cached *e;
	struct kbx_buf key = {0};
	int rc;

	for (uint32_t k = 0; k < nt; k++) {
		kbindex__buf_add(&key, q->bytes + q->toff[t0 + k], q->tlen[t0 + k]);
		kbindex__buf_add(&key, "", 1);
	}
	for (size_t i = 0; i < s->ncache; i++) {
		e = s->cache[i];
		if (e->klen == key.len && (e->pos || !pos) && memcmp(e->key, key.p, key.len) == 0) {
			free(key.p);
			*out = &e->l;
			return 0;
		}
	}
	if (s->ncache == s->cachecap) {
		s->cachecap = s->cachecap ? 2 * s->cachecap : 16;
		s->cache = realloc(s->cache, s->cachecap * sizeof(*s->cache));
		if (!s->cache)
			abort();
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	s->cache[s->ncache++] = e;
	e->key = (char *)key.p;
	e->klen = key.len;
	e->pos = pos;
	rc = kbx_load_term(s, q->bytes + q->toff[t0], q->tlen[t0], pos, &e->l);
	for (uint32_t k = 1; k < nt && !rc; k++) {
		struct kbx_list tmp;

		if ((rc = kbx_load_term(s, q->bytes + q->toff[t0 + k], q->tlen[t0 + k], pos, &s->b)))
			break;
		if (s->b.n == 0)
			continue;
		kbx_list_union(s, &e->l, &s->b, &s->c, pos);
		tmp = e->l;
		e->l = s->c;
		s->c = tmp;
	}
	e->l.idf = log(1.0 + (s->docs - (double)e->l.n + 0.5) / ((double)e->l.n + 0.5));
	*out = &e->l;
	return rc;
}

/* BM25 of a doc's weighted term frequency in list l. */
static inline double kbx_bm25(const struct kbx_list *l, double tfw)
{
	return l->idf * tfw * (KBX_K1 + 1.0) / (tfw + KBX_K1);
}

static int kbx_u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool kbx_has_pos(const uint32_t *p, size_t n, uint32_t want)
{
	return n > 0 && bsearch(&want, p, n, sizeof(*p), kbx_u32_cmp) != NULL;
}

/* The first index >= at of l whose doc is >= doc (galloping). */
static size_t kbx_seek_doc(const struct kbx_list *l, size_t at, uint64_t doc)
{
	size_t step = 1, lo = at, hi;

	if (at >= l->n || l->doc[at] >= doc)
		return at;
	while (lo + step < l->n && l->doc[lo + step] < doc) {
		lo += step;
		step *= 2;
	}
	hi = lo + step < l->n ? lo + step : l->n;
	while (lo + 1 < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->doc[mid] < doc)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

/* Does the doc at at[k] of every list hold constraint k at p + off_k for
 * one position p of constraint 0? */
static bool kbx_in_sequence(struct kbx_search *s, const struct kbx_query *q, uint32_t c0,
			    uint32_t nc, const struct kbx_list *const *L, const size_t *at)
{
	size_t n0 = kbx_positions(L[0], at[0], &s->pa, &s->pacap);

	for (size_t x = 0; x < n0; x++) {
		bool found = true;

		for (uint32_t k = 1; k < nc && found; k++) {
			uint32_t want = s->pa[x] + q->cons[c0 + k].off - q->cons[c0].off;
			size_t nk = kbx_positions(L[k], at[k], &s->pb, &s->pbcap);

			found = kbx_has_pos(s->pb, nk, want);
		}
		if (found)
			return true;
	}
	return false;
}

/* Group g: its docs and scores (times weight) into out. */
static int kbx_eval_group(struct kbx_search *s, const struct kbx_query *q, size_t g, double weight,
			  bool exact, struct kbx_res *out)
{
	uint32_t c0 = q->group[g].c0, nc = q->group[g].nc, d = 0;
	const struct kbx_list *L[KBX_QCONS];
	size_t at[KBX_QCONS];
	bool pos = nc > 1;
	int rc;

	out->n = 0;
	for (uint32_t k = 0; k < nc; k++) {
		if ((rc = kbx_cons_list(s, q, c0 + k, pos, &L[k])))
			return rc;
		if (L[k]->n == 0)
			return 0;
		if (L[k]->n < L[d]->n)
			d = k;
		at[k] = 0;
	}
	res_need(out, L[d]->n);
	/* The shortest list leads; the others are sought in it. */
	for (size_t i = 0; i < L[d]->n; i++) {
		uint64_t doc = L[d]->doc[i];
		double score = 0;
		bool all = true;

		at[d] = i;
		for (uint32_t k = 0; k < nc && all; k++) {
			if (k == d)
				continue;
			at[k] = kbx_seek_doc(L[k], at[k], doc);
			all = at[k] < L[k]->n && L[k]->doc[at[k]] == doc;
		}
		if (!all || (pos && !kbx_in_sequence(s, q, c0, nc, L, at)))
			continue;
		for (uint32_t k = 0; k < nc; k++)
			score += kbx_bm25(L[k], L[k]->tfw[at[k]]);
		out->doc[out->n] = doc;
		out->score[out->n] = score * weight;
		out->exact[out->n] = exact;
		out->n++;
	}
	return 0;
}

/* out = a AND b, scores summed, exact when both are. */
static void kbx_res_and(const struct kbx_res *a, const struct kbx_res *b, struct kbx_res *out)
{
	size_t i = 0, j = 0;

	out->n = 0;
	res_need(out, a->n < b->n ? a->n : b->n);
	while (i < a->n && j < b->n) {
		if (a->doc[i] < b->doc[j]) {
			i++;
		} else if (b->doc[j] < a->doc[i]) {
			j++;
		} else {
			out->doc[out->n] = a->doc[i];
			out->score[out->n] = a->score[i] + b->score[j];
			out->exact[out->n] = a->exact[i] && b->exact[j];
			out->n++;
			i++;
			j++;
		}
	}
}

/* out = a OR b, the better score, exact when either match is. */
static void kbx_res_or(const struct kbx_res *a, const struct kbx_res *b, struct kbx_res *out)
{
	size_t i = 0, j = 0;

	out->n = 0;
	res_need(out, a->n + b->n);
	while (i < a->n || j < b->n) {
		bool ta = j == b->n || (i < a->n && a->doc[i] <= b->doc[j]);
		bool tb = i == a->n || (j < b->n && b->doc[j] <= a->doc[i]);
		double sa = ta ? a->score[i] : 0, sb = tb ? b->score[j] : 0;

		out->doc[out->n] = ta ? a->doc[i] : b->doc[j];
		out->score[out->n] = sa > sb ? sa : sb;
		out->exact[out->n] = (ta && a->exact[i]) || (tb && b->exact[j]);
		out->n++;
		i += ta;
		j += tb;
	}
}

/* Alternative a: the AND of its groups, weighted, into s->alt. */
static int kbx_eval_alt(struct kbx_search *s, const struct kbx_query *q, size_t a)
{
	double w = q->alt[a].exact ? 1.0 : KBX_PINYIN_WEIGHT;
	int rc;

	s->alt.n = 0;
	for (uint32_t g = 0; g < q->alt[a].ng; g++) {
		if ((rc = kbx_eval_group(s, q, q->alt[a].g0 + g, w, q->alt[a].exact,
					 g ? &s->r1 : &s->alt)))
			return rc;
		if (g) {
			kbx_res_and(&s->alt, &s->r1, &s->r2);
			res_swap(&s->alt, &s->r2);
		}
		if (s->alt.n == 0)
			return 0;
	}
	return 0;
}

/* The whole query into s->query. */
static int kbx_eval(struct kbx_search *s, const struct kbx_query *q)
{
	int rc;

	s->query.n = 0;
	for (size_t c = 0; c < q->nclauses; c++) {
		s->clause.n = 0;
		for (uint32_t a = 0; a < q->clause[c].na; a++) {
			if ((rc = kbx_eval_alt(s, q, q->clause[c].a0 + a)))
				return rc;
			if (a == 0) {
				res_swap(&s->clause, &s->alt);
				continue;
			}
			kbx_res_or(&s->clause, &s->alt, &s->r3);
			res_swap(&s->clause, &s->r3);
		}
		if (c == 0) {
			res_swap(&s->query, &s->clause);
		} else {
			kbx_res_and(&s->query, &s->clause, &s->r3);
			res_swap(&s->query, &s->r3);
		}
		if (s->query.n == 0)
			return 0;
	}
	return 0;
}

/* ---- the best hits ---- */

/* Does hit x rank above hit y? Exact first, then score, then the lower doc. */
static bool kbx_above(bool xe, double xs, uint64_t xd, bool ye, double ys, uint64_t yd)
{
	if (xe != ye)
		return xe;
	if (xs != ys)
		return xs > ys;
	return xd < yd;
}

/* A candidate: its rank as one number (exact ones above every other),
 * its doc, its place in the result list. */
#define KBX_EXACT_RANK 1e12
#define KBX_SORTED_MIN 64 /* candidates put in order before the rest */

struct kbx_cand {
	double key;
	uint64_t doc;
	size_t i;
};

static bool cand_above(const struct kbx_cand *x, const struct kbx_cand *y)
{
	return x->key > y->key || (x->key == y->key && x->doc < y->doc);
}

static int cand_cmp(const void *a, const void *b)
{
	const struct kbx_cand *x = a, *y = b;

	return cand_above(x, y) ? -1 : cand_above(y, x) ? 1 : 0;
}

static void cand_swap(struct kbx_cand *c, size_t x, size_t y)
{
	struct kbx_cand tmp = c[x];

	c[x] = c[y];
	c[y] = tmp;
}

/* Put the best m of c[0..n) first (in no order): Hoare's partition around
 * the median of the first, middle and last, on the side that holds m. */
static void cand_select(struct kbx_cand *c, size_t n, size_t m)
{
	size_t lo = 0, hi = n;

	while (hi - lo > 16) {
		size_t mid = lo + (hi - lo) / 2, i = lo - 1, j = hi;
		struct kbx_cand pivot;

		if (cand_above(&c[mid], &c[lo]))
			cand_swap(c, mid, lo);
		if (cand_above(&c[hi - 1], &c[lo]))
			cand_swap(c, hi - 1, lo);
		if (cand_above(&c[hi - 1], &c[mid]))
			cand_swap(c, hi - 1, mid);
		pivot = c[mid];
		for (;;) {
			do
				i++;
			while (cand_above(&c[i], &pivot));
			do
				j--;
			while (cand_above(&pivot, &c[j]));
			if (i >= j)
				break;
			cand_swap(c, i, j);
		}
		if (m <= j)
			hi = j + 1;
		else
			lo = j + 1;
	}
}

static bool hit_above(const struct kbindex_hit *x, const struct kbindex_hit *y)
{
	return kbx_above(x->exact, x->score, x->doc, y->exact, y->score, y->doc);
}

/* Min-heap of hits (worst on top). */
static void hit_down(struct kbindex_hit *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, worst = i;
		struct kbindex_hit tmp;

		if (l < n && hit_above(&h[worst], &h[l]))
			worst = l;
		if (l + 1 < n && hit_above(&h[worst], &h[l + 1]))
			worst = l + 1;
		if (worst == i)
			return;
		tmp = h[i];
		h[i] = h[worst];
		h[worst] = tmp;
		i = worst;
	}
}

static void hit_up(struct kbindex_hit *h, size_t i)
{
	while (i > 0 && hit_above(&h[(i - 1) / 2], &h[i])) {
		struct kbindex_hit tmp = h[i];

		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = tmp;
		i = (i - 1) / 2;
	}
}

static int hit_cmp(const void *a, const void *b)
{
	const struct kbindex_hit *x = a, *y = b;

	return hit_above(x, y) ? -1 : hit_above(y, x) ? 1 : 0;
}

/*
 * The best limit hits of r. admit is asked only of a candidate that could
 * still enter the results with the largest boost. The best candidates by
 * their own score are taken in order, and the walk ends at the first that
 * could not enter; past them (the boosts kept every one of them in the
 * running) the rest are taken in the list's order, each checked alike.
 */
static size_t kbx_top(const struct kbx_res *r, size_t limit, kbindex_admit_fn admit, void *arg,
		      struct kbindex_hit *out)
{
	struct kbx_cand *c = malloc((r->n ? r->n : 1) * sizeof(*c));
	size_t n = 0, m = KBX_SORTED_MIN > 8 * limit ? KBX_SORTED_MIN : 8 * limit;

	if (!c)
		abort();
	for (size_t i = 0; i < r->n; i++)
		c[i] = (struct kbx_cand){r->score[i] + (r->exact[i] ? KBX_EXACT_RANK : 0), r->doc[i], i};
	if (m > r->n)
		m = r->n;
	cand_select(c, r->n, m);
	qsort(c, m, sizeof(*c), cand_cmp);
	for (size_t k = 0; k < r->n; k++) {
		size_t i = c[k].i;
		struct kbindex_hit hit = {r->doc[i], r->score[i], r->exact[i]};
		double f = 1.0;

		if (n == limit) {
			struct kbindex_hit best = hit;

			best.score *= KBINDEX_BOOST_MAX;
			if (!hit_above(&best, &out[0])) {
				if (k < m)
					break; /* in order: none after it can enter */
				continue;
			}
		}
		if (admit) {
			f = admit(arg, hit.doc);
			if (f < 0)
				continue;
			f = f < 1.0 ? 1.0 : f > KBINDEX_BOOST_MAX ? KBINDEX_BOOST_MAX : f;
		}
		hit.score *= f;
		if (n < limit) {
			out[n] = hit;
			hit_up(out, n++);
		} else if (hit_above(&hit, &out[0])) {
			out[0] = hit;
			hit_down(out, n, 0);
		}
	}
	free(c);
	qsort(out, n, sizeof(*out), hit_cmp);
	return n;
}

static void kbx_search_free(struct kbx_search *s)
{
	for (size_t i = 0; i < s->ncache; i++) {
		free(s->cache[i]->key);
		list_free(&s->cache[i]->l);
		free(s->cache[i]);
	}
	free(s->cache);
	list_free(&s->b);
	list_free(&s->c);
	free(s->pa);
	free(s->pb);
	res_free(&s->r1);
	res_free(&s->r2);
	res_free(&s->r3);
	res_free(&s->alt);
	res_free(&s->clause);
	res_free(&s->query);
}

int kbindex_search(struct store_txn *t, const char *query, size_t qlen, size_t limit,
		   kbindex_admit_fn admit, void *arg, struct kbindex_hit *out, size_t *n)
{
	struct kbx_query *q;
	struct kbx_search s;
	struct textfold f;
	uint64_t tot[KBX_TOTALS];
	int rc;

	*n = 0;
	if (!query || qlen == 0 || qlen > KBINDEX_QUERY_MAX || limit == 0 || limit > KBINDEX_LIMIT_MAX)
		return KF_EINVAL;
	q = malloc(sizeof(*q));
	if (!q)
		abort();
	textfold_init(&f);
	textfold_run(&f, query, qlen, TEXTFOLD_QUOTES);
	rc = kbx_parse(q, &f);
	textfold_release(&f);
	if (!rc)
		rc = kbindex__totals(t, tot);
	if (rc || tot[KBX_T_DOCS] == 0) {
		free(q);
		return rc;
	}
	memset(&s, 0, sizeof(s));
	s.t = t;
	s.docs = (double)tot[KBX_T_DOCS];
	for (int fl = 0; fl < KBINDEX_FIELDS; fl++) {
		double avg = (double)tot[KBX_T_UNITS0 + fl] / s.docs;

		for (int c = 0; c < 256; c++) {
			double len = kbindex__len_of((uint8_t)c);

			s.norm[fl][c] = kbindex__field_weight[fl] /
					(1.0 - KBX_B + (avg > 0 ? KBX_B * len / avg : 0));
		}
	}
	rc = kbx_eval(&s, q);
	if (!rc)
		*n = kbx_top(&s.query, limit, admit, arg, out);
	kbx_search_free(&s);
	free(q);
	return rc;
}

/* ---- excerpts ---- */

/* The start of the code point before byte i of text (valid UTF-8). */
static size_t kbx_prev_char(const char *text, size_t i)
{
	while (i > 0 && ((uint8_t)text[--i] & 0xC0) == 0x80)
		;
	return i;
}

/* The first unit of the text's fold that a unit of the query's matches:
 * a Han character or a word; its first byte, or 0. */
static size_t kbx_first_match(const struct textfold *qf, const struct textfold *tf)
{
	for (size_t i = 0; i < tf->n; i++) {
		const struct textfold_unit *u = &tf->unit[i];

		for (size_t k = 0; k < qf->n; k++) {
			const struct textfold_unit *v = &qf->unit[k];

			if (u->kind != v->kind)
				continue;
			if (u->kind == TEXTFOLD_HAN && u->cp == v->cp)
				return u->src;
			if (u->kind == TEXTFOLD_WORD && u->len == v->len &&
			    memcmp(tf->word + u->off, qf->word + v->off, u->len) == 0)
				return u->src;
		}
	}
	return 0;
}

#define KBX_SNIPPET_BEFORE 8 /* characters kept before the match */

size_t kbindex_snippet(const char *query, size_t qlen, const char *text, size_t len, char *out,
		       size_t cap)
{
	static const char ell[] = "\xE2\x80\xA6"; /* U+2026 */
	struct textfold qf, tf;
	size_t valid = 0, s, e, room, w = 0, nb;
	bool lead, trail = false;

	if (cap == 0)
		return 0;
	while (valid < len && textfold_utf8_next(text + valid, len - valid, &nb) >= 0)
		valid += nb;
	textfold_init(&qf);
	textfold_init(&tf);
	s = 0;
	if (qlen <= KBINDEX_QUERY_MAX && textfold_run(&qf, query, qlen, 0) == 0 && qf.n > 0 &&
	    textfold_run(&tf, text, valid, 0) == 0)
		s = kbx_first_match(&qf, &tf);
	textfold_release(&qf);
	textfold_release(&tf);
	for (int k = 0; k < KBX_SNIPPET_BEFORE && s > 0; k++)
		s = kbx_prev_char(text, s);
	room = cap - 1;
	lead = s > 0 && room >= 6;
	if (lead)
		room -= 3;
	for (e = s; e < valid;) {
		textfold_utf8_next(text + e, valid - e, &nb);
		if (e + nb - s > room)
			break;
		e += nb;
	}
	if (e < valid && room >= 3) {
		trail = true;
		while (e > s && e - s + 3 > room)
			e = kbx_prev_char(text, e);
	}
	if (lead) {
		memcpy(out, ell, 3);
		w = 3;
	}
	for (size_t i = s; i < e; i++)
		out[w++] = text[i] == '\n' || text[i] == '\r' || text[i] == '\t' ? ' ' : text[i];
	if (trail) {
		memcpy(out + w, ell, 3);
		w += 3;
	}
	out[w] = '\0';
	return w;
}
