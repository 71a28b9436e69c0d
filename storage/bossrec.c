/*
 * BOSS records (bossrec.h): one line split on unescaped '|', unescaped,
 * checked for UTF-8 and control bytes, then each field checked against its
 * kind's schema. The schemas are the tables below; the parser is the same
 * code for every kind.
 *
 * bossrec_parse is on the import hot path: it reads the line once, copying
 * and unescaping into out->buf as it goes, and allocates nothing.
 */
#include "storage/bossrec.h"

#include "lib/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define BR_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *const br_cust_types[] = {"P", "E", NULL};
static const char *const br_channels[] = {"HALL", "WEB", "APP", "BANK", "CARD", NULL};
static const char *const br_chg_types[] = {"PLAN", "STATUS", "OWNER", "NUMBER", "SERVICE", NULL};
static const char *const br_call_types[] = {"MO", "MT", "SMS", "DATA", NULL};

/*
 * One row per field: name, type, limits and presence. Presence is KEY (part
 * of the record's key, never empty), REQ (may not be empty in A and M) or
 * OPT (may be empty). D records check only that the key fields are present.
 */
#define KEY true, true
#define REQ false, true
#define OPT false, false
#define F_TEXT(n, max, pres)   {n, BR_TEXT, max, pres, 0, 0, NULL}
#define F_ID(n, max, pres)     {n, BR_ID, max, pres, 0, 0, NULL}
#define F_PHONE(n, max, pres)  {n, BR_PHONE, max, pres, 0, 0, NULL}
#define F_TIME(n, pres)        {n, BR_TIME, 14, pres, 0, 0, NULL}
#define F_MONTH(n, pres)       {n, BR_MONTH, 6, pres, 0, 0, NULL}
#define F_INT(n, lo, hi, pres) {n, BR_INT, 0, pres, lo, hi, NULL}
#define F_ENUM(n, vals, pres)  {n, BR_ENUM, 0, pres, 0, 0, vals}

/*
 * Presence decisions (what the service center cannot work without is REQ):
 * - CUST: name, cust_type, vip_level and create_time are required; the
 *   identity document, address, contact phone and account manager may be
 *   unknown. id_no is TEXT, not ID, because foreign and Hong Kong/Macao
 *   documents carry characters such as '(' and ')'.
 * - USER: everything but brand is required: status, credit level, balance
 *   and arrears are what an agent answers with. brand is TEXT because brand
 *   names are often Chinese. balance may be negative; arrears may not.
 * - PAY: all required; amount is any int64 (refunds are negative).
 * - CHG: detail is optional free text (newlines come as "\n").
 * - BILL: item_name is optional; amount is any int64 (credits are negative).
 * - CDR: location is optional. other_party is TEXT up to 32 bytes, not
 *   PHONE: DATA records name an access point (e.g. "CMNET") and SMS may come
 *   from alphanumeric senders; short codes fit either way. duration_s fits
 *   an int32.
 */
static const struct bossrec_field br_cust[] = {
	F_ID("cust_id", 32, KEY),
	F_TEXT("name", 128, REQ),
	F_ENUM("cust_type", br_cust_types, REQ),
	F_ID("id_type", 16, OPT),
	F_TEXT("id_no", 32, OPT),
	F_TEXT("address", 256, OPT),
	F_PHONE("contact_phone", 20, OPT),
	F_INT("vip_level", 0, 4, REQ),
	F_ID("manager_id", 32, OPT),
	F_TIME("create_time", REQ),
};

static const struct bossrec_field br_user[] = {
	F_ID("user_id", 32, KEY),
	F_PHONE("msisdn", 20, REQ),
	F_ID("cust_id", 32, REQ),
	F_TEXT("brand", 32, OPT),
	F_ID("plan_id", 32, REQ),
	F_INT("status", 1, 4, REQ),
	F_TIME("open_time", REQ),
	F_INT("credit_level", 0, 5, REQ),
	F_INT("balance", INT64_MIN, INT64_MAX, REQ),
	F_INT("arrears", 0, INT64_MAX, REQ),
};

static const struct bossrec_field br_pay[] = {
	F_ID("pay_id", 32, KEY),
	F_ID("user_id", 32, REQ),
	F_INT("amount", INT64_MIN, INT64_MAX, REQ),
	F_TIME("pay_time", REQ),
	F_ENUM("channel", br_channels, REQ),
};

static const struct bossrec_field br_chg[] = {
	F_ID("chg_id", 32, KEY),
	F_ID("user_id", 32, REQ),
	F_ENUM("chg_type", br_chg_types, REQ),
	F_TIME("chg_time", REQ),
	F_TEXT("detail", 512, OPT),
};

static const struct bossrec_field br_bill[] = {
	F_ID("user_id", 32, KEY),
	F_MONTH("bill_month", KEY),
	F_ID("item_code", 32, KEY),
	F_TEXT("item_name", 128, OPT),
	F_INT("amount", INT64_MIN, INT64_MAX, REQ),
};

static const struct bossrec_field br_cdr[] = {
	F_ID("user_id", 32, KEY),
	F_TIME("start_time", KEY),
	F_INT("duration_s", 0, INT32_MAX, REQ),
	F_TEXT("other_party", 32, KEY),
	F_ENUM("call_type", br_call_types, REQ),
	F_TEXT("location", 64, OPT),
	F_INT("fee", 0, INT64_MAX, REQ),
};

#undef KEY
#undef REQ
#undef OPT
#undef F_TEXT
#undef F_ID
#undef F_PHONE
#undef F_TIME
#undef F_MONTH
#undef F_INT
#undef F_ENUM

static const struct {
	const struct bossrec_field *f;
	unsigned n;
} br_schemas[BOSS_KIND_COUNT] = {
	[BOSS_CUST] = {br_cust, BR_LEN(br_cust)}, [BOSS_USER] = {br_user, BR_LEN(br_user)},
	[BOSS_PAY] = {br_pay, BR_LEN(br_pay)},    [BOSS_CHG] = {br_chg, BR_LEN(br_chg)},
	[BOSS_BILL] = {br_bill, BR_LEN(br_bill)}, [BOSS_CDR] = {br_cdr, BR_LEN(br_cdr)},
};

_Static_assert(BR_LEN(br_cust) <= BOSSREC_MAX_FIELDS && BR_LEN(br_user) <= BOSSREC_MAX_FIELDS &&
		       BR_LEN(br_pay) <= BOSSREC_MAX_FIELDS && BR_LEN(br_chg) <= BOSSREC_MAX_FIELDS &&
		       BR_LEN(br_bill) <= BOSSREC_MAX_FIELDS && BR_LEN(br_cdr) <= BOSSREC_MAX_FIELDS,
	       "a schema has more fields than struct bossrec holds");

/* How a time-like type is named in reasons. */
static const char *const br_stamp_form[] = {
	[BR_TIME] = "YYYYMMDDHHMMSS time",
	[BR_DATE] = "YYYYMMDD date",
	[BR_MONTH] = "YYYYMM month",
};

const struct bossrec_field *bossrec_schema(enum boss_kind kind, unsigned *n)
{
	if ((unsigned)kind >= BOSS_KIND_COUNT)
		return NULL;
	*n = br_schemas[kind].n;
	return br_schemas[kind].f;
}

int bossrec_field_index(enum boss_kind kind, const char *name)
{
	unsigned n;
	const struct bossrec_field *f = bossrec_schema(kind, &n);

	for (unsigned i = 0; f && i < n; i++)
		if (strcmp(f[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* br_fail - fill err (when given) and return KF_EPARSE. */
__attribute__((format(printf, 3, 4))) static int br_fail(struct bossrec_error *err, int field,
							  const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->field = field;
		va_start(ap, fmt);
		vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
		va_end(ap);
	}
	return KF_EPARSE;
}

/*
 * br_quote - a value as it goes between quotes in a reason: at most 40
 * bytes, cut on a character boundary (the value is valid UTF-8 here) and
 * marked "..." when cut; newlines shown as '?' so a reason stays one line.
 */
static void br_quote(const char *v, size_t len, char *out, size_t cap)
{
	size_t n = len, w = 0;

	if (n > 40) {
		n = 40;
		while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n && w + 1 < cap; i++)
		out[w++] = (unsigned char)v[i] < 0x20 ? '?' : v[i];
	if (n < len)
		for (size_t i = 0; i < 3 && w + 1 < cap; i++)
			out[w++] = '.';
	out[w] = '\0';
}

/*
 * br_utf8_seq - length of the valid UTF-8 sequence at s (n bytes left, the
 * first byte >= 0x80), or 0 with *why saying what is wrong.
 */
static size_t br_utf8_seq(const unsigned char *s, size_t n, const char **why)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t more;

	if (c < 0xC0) {
		*why = "stray continuation byte";
		return 0;
	}
	if (c < 0xC2) {
		*why = "overlong encoding";
		return 0;
	}
	if (c < 0xE0) {
		more = 1;
	} else if (c < 0xF0) {
		more = 2;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c < 0xF5) {
		more = 3;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		*why = c < 0xF8 ? "code point above U+10FFFF" : "byte never valid in UTF-8";
		return 0;
	}
	if (n < 2 || s[1] < 0x80 || s[1] > 0xBF) {
		*why = "truncated sequence";
		return 0;
	}
	if (s[1] < lo) {
		*why = "overlong encoding";
		return 0;
	}
	if (s[1] > hi) {
		*why = c == 0xED ? "UTF-16 surrogate" : "code point above U+10FFFF";
		return 0;
	}
	for (size_t i = 2; i <= more; i++) {
		if (i >= n || s[i] < 0x80 || s[i] > 0xBF) {
			*why = "truncated sequence";
			return 0;
		}
	}
	return more + 1;
}

/*
 * br_decode - copy one field from line[*p] up to the next unescaped '|' (or
 * the end) into w, unescaping, and refusing control bytes, unknown escapes
 * and invalid UTF-8. Leaves *p on the '|' or at len and the bytes written
 * in *wlen. Returns 0 or KF_EPARSE with err filled.
 */
static int br_decode(const char *line, size_t len, size_t *p, char *w, size_t *wlen,
		     const char *fname, int field, struct bossrec_error *err)
{
	const unsigned char *s = (const unsigned char *)line;
	size_t i = *p, o = 0, k;
	const char *why;

	while (i < len) {
		unsigned char c = s[i];

		if (c >= 0x20 && c < 0x7F && c != '|' && c != '\\') {
			w[o++] = (char)c;
			i++;
		} else if (c == '|') {
			break;
		} else if (c == '\\') {
			if (i + 1 >= len)
				return br_fail(err, field, "%s: lone backslash at end of line", fname);
			c = s[i + 1];
			if (c == 'n')
				w[o++] = '\n';
			else if (c == '|' || c == '\\')
				w[o++] = (char)c;
			else if (c > 0x20 && c < 0x7F)
				return br_fail(err, field, "%s: unknown escape \\%c", fname, c);
			else
				return br_fail(err, field, "%s: unknown escape, backslash + byte 0x%02x",
					       fname, c);
			i += 2;
		} else if (c < 0x80) {
			return br_fail(err, field, "%s: control byte 0x%02x", fname, c);
		} else {
			k = br_utf8_seq(s + i, len - i, &why);
			if (k == 0)
				return br_fail(err, field, "%s: invalid UTF-8 (%s)", fname, why);
			memcpy(w + o, s + i, k);
			o += k;
			i += k;
		}
	}
	*p = i;
	*wlen = o;
	return 0;
}

/*
 * br_int - decimal integer, optional '-', no '+', no spaces.
 * Returns 0, 1 (not an integer) or 2 (beyond int64).
 */
static int br_int(const char *s, size_t len, int64_t *out)
{
	bool neg = len > 0 && s[0] == '-';
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
	size_t i = neg ? 1 : 0;

	if (i == len)
		return 1;
	for (; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (s[i] < '0' || s[i] > '9')
			return 1;
		if (v > (limit - d) / 10)
			return 2;
		v = v * 10 + d;
	}
	if (!neg)
		*out = (int64_t)v;
	else
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	return 0;
}

static bool br_is_id_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       c == '_' || c == '.' || c == '-';
}

static bool br_is_phone(const char *v, size_t len)
{
	size_t i = v[0] == '+' ? 1 : 0;

	if (i == len)
		return false;
	for (; i < len; i++)
		if (v[i] < '0' || v[i] > '9')
			return false;
	return true;
}

/* br_enum_fail - "channel: 'ATM' is not one of HALL, WEB, APP, BANK, CARD". */
static int br_enum_fail(struct bossrec_error *err, int field, const struct bossrec_field *f,
			const char *q)
{
	char list[128];
	size_t w = 0;

	list[0] = '\0';
	for (unsigned i = 0; f->values[i] && w < sizeof(list); i++) {
		int n = snprintf(list + w, sizeof(list) - w, "%s%s", i ? ", " : "", f->values[i]);

		if (n < 0)
			break;
		w += (size_t)n;
	}
	return br_fail(err, field, "%s: '%s' is not one of %s", f->name, q, list);
}

/*
 * br_check - check one non-empty value against its field; store the number
 * of a BR_INT in *num.
 */
static int br_check(const struct bossrec_field *f, int field, const char *v, size_t len,
		    int64_t *num, struct bossrec_error *err)
{
	char q[48];
	int rc;

	switch (f->type) {
	case BR_TEXT:
		if (len > f->max_len)
			return br_fail(err, field, "%s: longer than %u bytes", f->name, f->max_len);
		return 0;
	case BR_ID:
		if (len > f->max_len)
			return br_fail(err, field, "%s: longer than %u bytes", f->name, f->max_len);
		for (size_t i = 0; i < len; i++)
			if (!br_is_id_char(v[i]))
				return br_fail(err, field,
					       "%s: must be letters, digits, '_', '.' or '-'",
					       f->name);
		return 0;
	case BR_PHONE:
		if (len > f->max_len)
			return br_fail(err, field, "%s: longer than %u bytes", f->name, f->max_len);
		if (!br_is_phone(v, len))
			return br_fail(err, field, "%s: must be digits, optionally after '+'",
				       f->name);
		return 0;
	case BR_TIME:
	case BR_DATE:
	case BR_MONTH:
		if (len != f->max_len || !boss_stamp_is_valid(v, len)) {
			br_quote(v, len, q, sizeof(q));
			return br_fail(err, field, "%s: '%s' is not a valid %s", f->name, q,
				       br_stamp_form[f->type]);
		}
		return 0;
	case BR_INT:
		rc = br_int(v, len, num);
		br_quote(v, len, q, sizeof(q));
		if (rc == 1)
			return br_fail(err, field, "%s: '%s' is not an integer", f->name, q);
		if (rc == 0 && *num >= f->min && *num <= f->max)
			return 0;
		if (f->min == INT64_MIN && f->max == INT64_MAX)
			return br_fail(err, field, "%s: '%s' is out of range", f->name, q);
		if (f->max == INT64_MAX)
			return br_fail(err, field, "%s: '%s' must be at least %lld", f->name, q,
				       (long long)f->min);
		return br_fail(err, field, "%s: '%s' is not in %lld..%lld", f->name, q,
			       (long long)f->min, (long long)f->max);
	case BR_ENUM:
		for (unsigned i = 0; f->values[i]; i++)
			if (strlen(f->values[i]) == len && memcmp(f->values[i], v, len) == 0)
				return 0;
		br_quote(v, len, q, sizeof(q));
		return br_enum_fail(err, field, f, q);
	}
	return br_fail(err, field, "%s: field of unknown type", f->name);
}

int bossrec_parse(enum boss_kind kind, const char *line, size_t len, struct bossrec *out,
		  struct bossrec_error *err)
{
	const struct bossrec_field *f;
	unsigned n, given = 0, keyend = 0;
	size_t p, w = 0;
	const char *kname;
	char op;

	f = bossrec_schema(kind, &n);
	if (!f)
		return br_fail(err, -1, "unknown record kind %d", (int)kind);
	kname = boss_kind_name(kind);
	for (unsigned i = 0; i < n; i++)
		if (f[i].key)
			keyend = i + 1;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > BOSSREC_LINE_MAX) {
		if (err) {
			err->field = -1;
			snprintf(err->reason, sizeof(err->reason), "line longer than %d bytes",
				 BOSSREC_LINE_MAX);
		}
		return KF_ETOOBIG;
	}
	if (len == 0)
		return br_fail(err, -1, "empty line");
	op = line[0];
	if ((op != 'A' && op != 'M' && op != 'D') || (len > 1 && line[1] != '|'))
		return br_fail(err, -1, "operation must be A, M or D");

	out->kind = kind;
	out->op = op;
	out->nfields = n;

	/* Split and unescape every field into buf; each value gets a NUL. */
	for (p = 2; p <= len; p++) {
		size_t got = 0;

		if (given == n)
			return br_fail(err, -1, "too many fields: %s %c has %u", kname, op, n);
		if (br_decode(line, len, &p, out->buf + w, &got, f[given].name, (int)given, err))
			return KF_EPARSE;
		out->val[given] = out->buf + w;
		out->len[given] = got;
		w += got;
		out->buf[w++] = '\0';
		given++;
	}

	if (given != n && (op != 'D' || given != keyend)) {
		if (op == 'D')
			return br_fail(err, -1, "wrong field count %u: %s D needs %u (key) or %u",
				       given, kname, keyend, n);
		return br_fail(err, -1, "too few fields: %u, %s %c needs %u", given, kname, op, n);
	}
	/* Fields a short D leaves out point at an empty string; slots past the
	 * schema are NULL. */
	out->buf[w] = '\0';
	for (unsigned i = given; i < BOSSREC_MAX_FIELDS; i++) {
		out->val[i] = i < n ? out->buf + w : NULL;
		out->len[i] = 0;
	}

	/* Check each value against its field. */
	for (unsigned i = 0; i < n; i++) {
		out->num[i] = 0;
		if (out->len[i] == 0) {
			if (f[i].key)
				return br_fail(err, (int)i, "%s: must not be empty (key)", f[i].name);
			if (f[i].required && op != 'D')
				return br_fail(err, (int)i, "%s: must not be empty", f[i].name);
			continue;
		}
		if (br_check(&f[i], (int)i, out->val[i], out->len[i], &out->num[i], err) != 0)
			return KF_EPARSE;
	}
	for (unsigned i = n; i < BOSSREC_MAX_FIELDS; i++)
		out->num[i] = 0;
	return 0;
}

size_t bossrec_escape(const char *in, size_t len, char *out, size_t cap)
{
	size_t need = 0;

	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		char e = c == '|' ? '|' : c == '\\' ? '\\' : c == '\n' ? 'n' : 0;

		if (e) {
			if (need < cap)
				out[need] = '\\';
			need++;
			c = e;
		}
		if (need < cap)
			out[need] = c;
		need++;
	}
	return need;
}
