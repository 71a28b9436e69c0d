/*
 * The contact query (query.h): a hand-written scanner over bytes and a
 * field table that both the parser and the evaluator read.
 */
#include "node/dialing/query.h"

#include "lib/err.h"
#include "storage/custdb.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum kind { K_NUM, K_MONEY, K_TEXT, K_NAME };

struct field {
	const char *name;
	enum kind kind;
	/* the value of the field: numbers in num, text in *text */
	void (*get)(const Kefu__Subscriber *u, const Kefu__Customer *cu, int64_t *num,
		    const char **text);
};

#define STR(x) ((x) ? (x) : "")

static void get_status(const Kefu__Subscriber *u, const Kefu__Customer *cu, int64_t *n,
		       const char **t)
{
	(void)cu, (void)t;
	*n = u->has_status ? u->status : 0;
}
static void get_arrears(const Kefu__Subscriber *u, const Kefu__Customer *cu, int64_t *n,
			const char **t)
{
	(void)cu, (void)t;
	*n = u->has_arrears ? u->arrears : 0;
}
static void get_balance(const Kefu__Subscriber *u, const Kefu__Customer *cu, int64_t *n,
			const char **t)
{
	(void)cu, (void)t;
	*n = u->has_balance ? u->balance : 0;
}
static void get_credit(const Kefu__Subscriber *u, const Kefu__Customer *cu, int64_t *n,
		       const char **t)
{
	(void)cu, (void)t;
	*n = u->has_credit_level ? u->credit_level : 0;
}
static void get_vip(const Kefu__Subscriber *u, const Kefu__Customer *cu, int64_t *n,
		    const char **t)
{
	(void)u, (void)t;
	*n = cu && cu->has_vip_level ? cu->vip_level : 0;
}
static void get_brand(const Kefu__Subscriber *u, const Kefu__Customer *cu, int64_t *n,
		      const char **t)
{
	(void)cu, (void)n;
	*t = STR(u->brand);
}
static void get_plan(const Kefu__Subscriber *u, const Kefu__Customer *cu, int64_t *n,
		     const char **t)
{
	(void)cu, (void)n;
	*t = STR(u->plan_id);
}
static void get_msisdn(const Kefu__Subscriber *u, const Kefu__Customer *cu, int64_t *n,
		       const char **t)
{
	(void)cu, (void)n;
	*t = STR(u->msisdn);
}
static void get_open(const Kefu__Subscriber *u, const Kefu__Customer *cu, int64_t *n,
		     const char **t)
{
	(void)cu, (void)n;
	*t = STR(u->open_time);
}
static void get_ctype(const Kefu__Subscriber *u, const Kefu__Customer *cu, int64_t *n,
		      const char **t)
{
	(void)u, (void)n;
	*t = cu ? STR(cu->cust_type) : "";
}
static void get_manager(const Kefu__Subscriber *u, const Kefu__Customer *cu, int64_t *n,
			const char **t)
{
	(void)u, (void)n;
	*t = cu ? STR(cu->manager_id) : "";
}

/* The city of the customer's address (custdb_city), in a buffer of this
 * thread's that lasts until the next call. */
static void get_city(const Kefu__Subscriber *u, const Kefu__Customer *cu, int64_t *n,
		     const char **t)
{
	static _Thread_local char city[DIAL_QUERY_TEXT_MAX];

	(void)u, (void)n;
	custdb_city(cu ? cu->address : NULL, city, sizeof(city));
	*t = city;
}

static const struct field fields[] = {
	{"status", K_NAME, get_status},      {"arrears", K_MONEY, get_arrears},
	{"balance", K_MONEY, get_balance},   {"credit_level", K_NUM, get_credit},
	{"brand", K_TEXT, get_brand},        {"plan_id", K_TEXT, get_plan},
	{"msisdn", K_TEXT, get_msisdn},      {"open_time", K_TEXT, get_open},
	{"vip_level", K_NUM, get_vip},       {"cust_type", K_TEXT, get_ctype},
	{"manager_id", K_TEXT, get_manager}, {"city", K_TEXT, get_city},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* Subscriber.status codes by name (proto/kefu.proto). */
static const char *const status_names[] = {NULL, "normal", "suspended", "stopped", "cancelled"};

struct scan {
	const char *s;
	size_t len, pos;
	char *why;
	size_t cap;
};

static void skip_space(struct scan *sc)
{
	while (sc->pos < sc->len && (sc->s[sc->pos] == ' ' || sc->s[sc->pos] == '\t' ||
				     sc->s[sc->pos] == '\n' || sc->s[sc->pos] == '\r'))
		sc->pos++;
}

static bool is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

/* fail - set why to the message and the 1-based position at, return rc. */
__attribute__((format(printf, 4, 5))) static int fail(struct scan *sc, int rc, size_t at,
							  const char *fmt, ...)
{
	char msg[DIAL_QUERY_WHY_MAX];
	va_list ap;

	if (sc->cap) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		snprintf(sc->why, sc->cap, "%s at %zu", msg, at + 1);
	}
	return rc;
}

/* word - the next bare word or quoted text into out (cap bytes); *at its start. */
static int word(struct scan *sc, char *out, size_t cap, size_t *at, bool *quoted)
{
	size_t n = 0;

	skip_space(sc);
	*at = sc->pos;
	*quoted = false;
	if (sc->pos < sc->len && sc->s[sc->pos] == '"') {
		*quoted = true;
		sc->pos++;
		while (sc->pos < sc->len && sc->s[sc->pos] != '"') {
			if (sc->s[sc->pos] == '\0')
				return fail(sc, KF_EPARSE, sc->pos, "NUL in text");
			if (n + 1 >= cap)
				return fail(sc, KF_ETOOBIG, *at, "text too long");
			out[n++] = sc->s[sc->pos++];
		}
		if (sc->pos >= sc->len)
			return fail(sc, KF_EPARSE, *at, "unterminated text");
		sc->pos++;
	} else {
		while (sc->pos < sc->len && is_word(sc->s[sc->pos])) {
			if (n + 1 >= cap)
				return fail(sc, KF_ETOOBIG, *at, "word too long");
			out[n++] = sc->s[sc->pos++];
		}
	}
	out[n] = '\0';
	return 0;
}

/* parse_int - a decimal integer, optional sign, no overflow. */
static bool parse_int(const char *w, int64_t *v)
{
	bool neg = *w == '-';
	int64_t x = 0;

	if (*w == '-' || *w == '+')
		w++;
	if (!*w)
		return false;
	for (; *w; w++) {
		if (*w < '0' || *w > '9' || x > (INT64_MAX - 9) / 10)
			return false;
		x = x * 10 + (*w - '0');
	}
	*v = neg ? -x : x;
	return true;
}

/* parse_money - yuan with at most two decimals into fen. */
static bool parse_money(const char *w, int64_t *fen)
{
	char whole[24];
	const char *dot = strchr(w, '.');
	size_t wl = dot ? (size_t)(dot - w) : strlen(w);
	int64_t y, c = 0;

	if (wl == 0 || wl >= sizeof(whole))
		return false;
	memcpy(whole, w, wl);
	whole[wl] = '\0';
	if (!parse_int(whole, &y) || y > INT64_MAX / 100 || y < -(INT64_MAX / 100))
		return false;
	if (dot) {
		size_t dl = strlen(dot + 1);

		if (dl < 1 || dl > 2)
			return false;
		for (size_t i = 0; i < 2; i++) {
			char d = i < dl ? dot[1 + i] : '0';

			if (d < '0' || d > '9')
				return false;
			c = c * 10 + (d - '0');
		}
	}
	*fen = y * 100 + (whole[0] == '-' ? -c : c);
	return true;
}

static int value(struct scan *sc, const struct field *f, struct dial_term *t)
{
	char w[DIAL_QUERY_TEXT_MAX];
	size_t at;
	bool quoted, ok = true;
	unsigned i = t->nvals;
	int rc = word(sc, w, sizeof(w), &at, &quoted);

	if (rc < 0)
		return rc;
	if (!quoted && !w[0])
		return fail(sc, KF_EPARSE, at, "missing value");
	switch (f->kind) {
	case K_NUM:
		ok = !quoted && parse_int(w, &t->num[i]);
		break;
	case K_MONEY:
		ok = !quoted && parse_money(w, &t->num[i]);
		break;
	case K_NAME:
		ok = false;
		for (size_t k = 1; k < sizeof(status_names) / sizeof(status_names[0]); k++)
			if (!strcmp(w, status_names[k])) {
				t->num[i] = (int64_t)k;
				ok = true;
			}
		break;
	case K_TEXT:
		memcpy(t->text[i], w, sizeof(w));
		break;
	}
	if (!ok)
		return fail(sc, KF_EPARSE, at, "bad value \"%s\" for %s", w, f->name);
	t->nvals++;
	return 0;
}

static const struct {
	const char *text;
	enum dial_op op;
} ops[] = {{"!=", DIAL_NE}, {"<=", DIAL_LE}, {">=", DIAL_GE}, {"=", DIAL_EQ},
	   {"<", DIAL_LT},  {">", DIAL_GT},  {"in", DIAL_IN}};

static int term(struct scan *sc, struct dial_term *t)
{
	char w[DIAL_QUERY_TEXT_MAX];
	size_t at, k;
	bool quoted;
	const struct field *f = NULL;
	int rc = word(sc, w, sizeof(w), &at, &quoted);

	if (rc < 0)
		return rc;
	if (!w[0] && !quoted)
		return fail(sc, KF_EPARSE, at, "expected a field");
	for (k = 0; k < NFIELDS; k++)
		if (!quoted && !strcmp(w, fields[k].name))
			f = &fields[k];
	if (!f)
		return fail(sc, KF_EPARSE, at, "unknown field \"%s\"", w);
	memset(t, 0, sizeof(*t));
	t->field = (unsigned)(f - fields);
	skip_space(sc);
	at = sc->pos;
	for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		size_t n = strlen(ops[k].text);

		if (sc->len - sc->pos >= n && !memcmp(sc->s + sc->pos, ops[k].text, n) &&
		    (ops[k].op != DIAL_IN || sc->pos + n == sc->len || !is_word(sc->s[sc->pos + n])))
			break;
	}
	if (k == sizeof(ops) / sizeof(ops[0]))
		return fail(sc, KF_EPARSE, at, "expected an operator after %s", f->name);
	t->op = ops[k].op;
	sc->pos += strlen(ops[k].text);
	if ((rc = value(sc, f, t)) < 0)
		return rc;
	while (t->op == DIAL_IN) {
		skip_space(sc);
		if (sc->pos >= sc->len || sc->s[sc->pos] != ',')
			break;
		if (t->nvals == DIAL_QUERY_MAX_IN)
			return fail(sc, KF_ETOOBIG, sc->pos, "too many values");
		sc->pos++;
		if ((rc = value(sc, f, t)) < 0)
			return rc;
	}
	return 0;
}

int dial_query_parse(const char *text, size_t len, struct dial_query *q, char *why, size_t cap)
{
	struct scan sc = {.s = text, .len = len, .why = why, .cap = cap};
	char w[DIAL_QUERY_TEXT_MAX];
	size_t at;
	bool quoted;
	int rc;

	if (cap)
		why[0] = '\0';
	q->nterms = 0;
	if (len > DIAL_QUERY_MAX_LEN)
		return fail(&sc, KF_ETOOBIG, DIAL_QUERY_MAX_LEN, "query too long");
	for (;;) {
		skip_space(&sc);
		if (q->nterms == DIAL_QUERY_MAX_TERMS)
			return fail(&sc, KF_ETOOBIG, sc.pos, "too many terms");
		if ((rc = term(&sc, &q->terms[q->nterms])) < 0)
			return rc;
		q->nterms++;
		skip_space(&sc);
		if (sc.pos == len)
			return 0;
		if ((rc = word(&sc, w, sizeof(w), &at, &quoted)) < 0)
			return rc;
		if (quoted || strcmp(w, "and"))
			return fail(&sc, KF_EPARSE, at, "expected \"and\"");
	}
}

static bool cmp_ok(enum dial_op op, int c)
{
	switch (op) {
	case DIAL_EQ:
	case DIAL_IN:
		return c == 0;
	case DIAL_NE:
		return c != 0;
	case DIAL_LT:
		return c < 0;
	case DIAL_LE:
		return c <= 0;
	case DIAL_GT:
		return c > 0;
	case DIAL_GE:
		return c >= 0;
	}
	return false;
}

static bool term_match(const struct dial_term *t, const Kefu__Subscriber *u,
		       const Kefu__Customer *cu)
{
	const struct field *f = &fields[t->field];
	int64_t n = 0;
	const char *s = "";

	f->get(u, cu, &n, &s);
	for (unsigned i = 0; i < t->nvals; i++) {
		int c = f->kind == K_TEXT ? strcmp(s, t->text[i])
					  : (n > t->num[i]) - (n < t->num[i]);

		if (t->op == DIAL_IN) {
			if (c == 0)
				return true;
		} else {
			return cmp_ok(t->op, c);
		}
	}
	return false;
}

bool dial_query_match(const struct dial_query *q, const Kefu__Subscriber *u,
		      const Kefu__Customer *cu)
{
	for (unsigned i = 0; i < q->nterms; i++)
		if (!term_match(&q->terms[i], u, cu))
			return false;
	return true;
}
