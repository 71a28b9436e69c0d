/* Table-driven configuration. See conf.h. */
#include "lib/conf.h"

#include "lib/err.h"
#include "lib/roff.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONF_WHY_MAX 160

/* A unit suffix of a number: "K" = 1024, "s" = 1000 (ms)... */
struct conf_unit {
	const char *suffix;
	int64_t mult;
};

static const struct conf_unit conf_units_int[] = {{"", 1}, {NULL, 0}};
static const struct conf_unit conf_units_size[] = {
	{"", 1},
	{"K", INT64_C(1) << 10},
	{"M", INT64_C(1) << 20},
	{"G", INT64_C(1) << 30},
	{"T", INT64_C(1) << 40},
	{NULL, 0},
};
static const struct conf_unit conf_units_duration[] = {
	{"ms", 1},
	{"s", 1000},
	{"m", 60 * 1000},
	{"h", 60 * 60 * 1000},
	{"d", 24 * 60 * 60 * 1000},
	{NULL, 0},
};

static const struct {
	const char *text;
	bool value;
} conf_bools[] = {
	{"true", true}, {"yes", true}, {"on", true}, {"1", true},
	{"false", false}, {"no", false}, {"off", false}, {"0", false},
};

struct conf_type_row;
typedef int (*conf_apply_fn)(const struct conf_type_row *t, const struct conf_option *o,
			     void *field, const char *v, char *why);
typedef int (*conf_scan_fn)(const struct conf_type_row *t, const char *v, int64_t *out);
typedef void (*conf_render_fn)(const struct conf_type_row *t, int64_t v, char *buf,
			       size_t size);

/*
 * What each type is: how a value is applied to its field, the field size
 * it needs (0: a char array of any size); for numbers, how a value is read
 * and written back, its units and whether it may be negative; for text, an
 * extra validity check.
 */
struct conf_type_row {
	const char *name;
	conf_apply_fn apply;
	size_t field_size;
	const struct conf_unit *units;
	bool negative;
	const char *expected; /* completes "... is not " */
	int (*text_ok)(const char *v, char *why);
	conf_scan_fn scan;     /* numbers only */
	conf_render_fn render; /* numbers only */
};

static int conf_apply_text(const struct conf_type_row *t, const struct conf_option *o,
			   void *field, const char *v, char *why);
static int conf_apply_number(const struct conf_type_row *t, const struct conf_option *o,
			     void *field, const char *v, char *why);
static int conf_apply_bool(const struct conf_type_row *t, const struct conf_option *o,
			   void *field, const char *v, char *why);
static int conf_path_ok(const char *v, char *why);
static int conf_address_ok(const char *v, char *why);
static int conf_scan_number(const struct conf_type_row *t, const char *v, int64_t *out);
static void conf_render_number(const struct conf_type_row *t, int64_t v, char *buf,
			       size_t size);
static int conf_scan_fraction(const struct conf_type_row *t, const char *v, int64_t *out);
static void conf_render_fraction(const struct conf_type_row *t, int64_t v, char *buf,
				 size_t size);

static const struct conf_type_row conf_types[] = {
	[CONF_STRING] = {"string", conf_apply_text, 0, NULL, false, "text", NULL, NULL, NULL},
	[CONF_INT] = {"int", conf_apply_number, sizeof(int64_t), conf_units_int, true,
		      "an integer", NULL, conf_scan_number, conf_render_number},
	[CONF_BOOL] = {"bool", conf_apply_bool, sizeof(bool), NULL, false,
		       "a boolean (true/false, yes/no, on/off, 1/0)", NULL, NULL, NULL},
	[CONF_SIZE] = {"size", conf_apply_number, sizeof(int64_t), conf_units_size, false,
		       "a size (digits with an optional K, M, G or T)", NULL, conf_scan_number,
		       conf_render_number},
	[CONF_DURATION] = {"duration", conf_apply_number, sizeof(int64_t), conf_units_duration,
			   false, "a duration (digits with a unit ms, s, m, h or d)", NULL,
			   conf_scan_number, conf_render_number},
	[CONF_ADDRESS] = {"address", conf_apply_text, 0, NULL, false, "HOST:PORT",
			  conf_address_ok, NULL, NULL},
	[CONF_PATH] = {"path", conf_apply_text, 0, NULL, false, "a path", conf_path_ok, NULL,
		       NULL},
	[CONF_FRACTION] = {"fraction", conf_apply_number, sizeof(int64_t), NULL, false,
			   "a fraction (0.5, 1.25, .75 or 50%; at most 3 decimals)", NULL,
			   conf_scan_fraction, conf_render_fraction},
};

static const struct conf_type_row *conf_type_of(const struct conf_option *o)
{
	if ((size_t)o->type >= sizeof(conf_types) / sizeof(conf_types[0]) ||
	    !conf_types[o->type].apply)
		abort(); /* a table bug */
	return &conf_types[o->type];
}

static bool conf_is_text(const struct conf_type_row *t)
{
	return t->apply == conf_apply_text;
}

/* Fills err with "line N: " (when line > 0) and the formatted reason. */
__attribute__((format(printf, 4, 5))) static int conf_fail(struct conf_err *err, int line,
							    int code, const char *fmt, ...)
{
	size_t off = 0;
	va_list ap;
	int r;

	if (!err)
		return code;
	err->line = line;
	err->msg[0] = '\0';
	if (line > 0) {
		r = snprintf(err->msg, sizeof(err->msg), "line %d: ", line);
		off = r > 0 ? (size_t)r : 0;
	}
	va_start(ap, fmt);
	vsnprintf(err->msg + off, sizeof(err->msg) - off, fmt, ap);
	va_end(ap);
	return code;
}

/* ---- numbers ---- */

/* Renders v with the largest unit that divides it exactly. */
static void conf_render_number(const struct conf_type_row *t, int64_t v, char *buf, size_t size)
{
	const struct conf_unit *best = &t->units[0];

	for (const struct conf_unit *u = t->units; u->suffix; u++)
		if (v != 0 && v % u->mult == 0)
			best = u;
	if (v == 0)
		snprintf(buf, size, "0");
	else
		snprintf(buf, size, "%" PRId64 "%s", v / best->mult, best->suffix);
}

/*
 * Reads [-]digits[unit]. A bare 0 is accepted whatever the units (so "0"
 * is a valid duration). Returns 0, KF_EPARSE (syntax), KF_ETOOBIG (overflow).
 */
static int conf_scan_number(const struct conf_type_row *t, const char *v, int64_t *out)
{
	const char *p = v;
	bool neg = false;
	uint64_t acc = 0;

	if (*p == '-' && t->negative) {
		neg = true;
		p++;
	}
	if (!isdigit((unsigned char)*p))
		return KF_EPARSE;
	for (; isdigit((unsigned char)*p); p++) {
		if (acc > (UINT64_MAX - 9) / 10)
			return KF_ETOOBIG;
		acc = acc * 10 + (uint64_t)(*p - '0');
	}
	if (acc > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
		return KF_ETOOBIG;
	if (*p == '\0' && acc == 0) {
		*out = 0;
		return 0;
	}
	for (const struct conf_unit *u = t->units; u->suffix; u++) {
		if (strcasecmp(p, u->suffix) != 0)
			continue;
		if (neg) {
			*out = acc == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)acc;
			return 0; /* only plain ints are signed, and their unit is 1 */
		}
		if (acc > (uint64_t)(INT64_MAX / u->mult))
			return KF_ETOOBIG;
		*out = (int64_t)acc * u->mult;
		return 0;
	}
	return KF_EPARSE;
}

/*
 * Reads a fraction in thousandths: digits with up to 3 decimals ("1",
 * "0.5", ".75", "1.250"), or a percentage with up to 1 decimal ("50%",
 * "12.5%"), so that every value it takes is exact. Never negative.
 * Returns 0, KF_EPARSE (syntax), KF_ETOOBIG (overflow).
 */
static int conf_scan_fraction(const struct conf_type_row *t, const char *v, int64_t *out)
{
	const char *p = v;
	uint64_t whole = 0, part = 0, scale;
	unsigned decimals = 0;
	bool digits = false;

	(void)t;
	for (; isdigit((unsigned char)*p); p++) {
		if (whole > (UINT64_MAX - 9) / 10)
			return KF_ETOOBIG;
		whole = whole * 10 + (uint64_t)(*p - '0');
		digits = true;
	}
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++) {
			if (++decimals > 3)
				return KF_EPARSE;
			part = part * 10 + (uint64_t)(*p - '0');
		}
		if (decimals == 0)
			return KF_EPARSE;
		digits = true;
	}
	if (!digits)
		return KF_EPARSE;
	scale = 1000;
	if (*p == '%') {
		if (decimals > 1)
			return KF_EPARSE;
		scale = 10;
		p++;
	}
	if (*p != '\0')
		return KF_EPARSE;
	for (; decimals < (scale == 10 ? 1u : 3u); decimals++)
		part *= 10;
	if (whole > ((uint64_t)INT64_MAX - part) / scale)
		return KF_ETOOBIG;
	*out = (int64_t)(whole * scale + part);
	return 0;
}

/* Renders thousandths as digits and no more decimals than needed: "0.5", "1.25", "2". */
static void conf_render_fraction(const struct conf_type_row *t, int64_t v, char *buf,
				 size_t size)
{
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	unsigned part = (unsigned)(u % 1000), digits = 3;

	(void)t;
	while (part && part % 10 == 0) {
		part /= 10;
		digits--;
	}
	if (part)
		snprintf(buf, size, "%s%" PRIu64 ".%0*u", v < 0 ? "-" : "", u / 1000, (int)digits,
			 part);
	else
		snprintf(buf, size, "%s%" PRIu64, v < 0 ? "-" : "", u / 1000);
}

static int conf_apply_number(const struct conf_type_row *t, const struct conf_option *o,
			     void *field, const char *v, char *why)
{
	char bound[32];
	int64_t x;
	int r = t->scan(t, v, &x);

	if (r == KF_EPARSE) {
		snprintf(why, CONF_WHY_MAX, "\"%.40s\" is not %s", v, t->expected);
		return KF_ECONFIG;
	}
	if (r == KF_ETOOBIG) {
		snprintf(why, CONF_WHY_MAX, "%.40s is out of range", v);
		return KF_ECONFIG;
	}
	if (o->min != 0 || o->max != 0) {
		if (x < o->min) {
			t->render(t, o->min, bound, sizeof(bound));
			snprintf(why, CONF_WHY_MAX, "%.40s is below the minimum %s", v, bound);
			return KF_ECONFIG;
		}
		if (x > o->max) {
			t->render(t, o->max, bound, sizeof(bound));
			snprintf(why, CONF_WHY_MAX, "%.40s is above the maximum %s", v, bound);
			return KF_ECONFIG;
		}
	}
	memcpy(field, &x, sizeof(x));
	return 0;
}

/* ---- booleans ---- */

static int conf_apply_bool(const struct conf_type_row *t, const struct conf_option *o,
			   void *field, const char *v, char *why)
{
	(void)o;
	for (size_t i = 0; i < sizeof(conf_bools) / sizeof(conf_bools[0]); i++) {
		if (strcasecmp(v, conf_bools[i].text) == 0) {
			memcpy(field, &conf_bools[i].value, sizeof(bool));
			return 0;
		}
	}
	snprintf(why, CONF_WHY_MAX, "\"%.40s\" is not %s", v, t->expected);
	return KF_ECONFIG;
}

/* ---- text ---- */

static int conf_path_ok(const char *v, char *why)
{
	for (const char *p = v; *p; p++) {
		if (iscntrl((unsigned char)*p)) {
			snprintf(why, CONF_WHY_MAX, "path contains a control character");
			return KF_ECONFIG;
		}
	}
	return 0;
}

/* HOST:PORT with HOST a DNS name, an IPv4 address or a bracketed IPv6 address. */
static int conf_address_ok(const char *v, char *why)
{
	const char *colon, *p;
	unsigned long port = 0;
	size_t hl;

	if (*v == '\0')
		return 0; /* empty: not set; conf_check decides if that is allowed */
	if (*v == '[') {
		const char *end = strchr(v, ']');
		char host[INET6_ADDRSTRLEN];
		struct in6_addr a6;

		hl = end ? (size_t)(end - v - 1) : 0;
		if (!end || hl == 0 || hl >= sizeof(host) || end[1] != ':')
			goto bad;
		memcpy(host, v + 1, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1)
			goto bad;
		colon = end + 1;
	} else {
		colon = strrchr(v, ':');
		if (!colon || colon == v || colon - v > 253)
			goto bad;
		for (p = v; p < colon; p++)
			if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
				goto bad;
	}
	p = colon + 1;
	if (*p == '\0' || strlen(p) > 5)
		goto bad;
	for (; *p; p++) {
		if (!isdigit((unsigned char)*p))
			goto bad;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	if (port == 0 || port > 65535) {
		snprintf(why, CONF_WHY_MAX, "port of \"%.60s\" is not in 1..65535", v);
		return KF_ECONFIG;
	}
	return 0;
bad:
	snprintf(why, CONF_WHY_MAX, "\"%.60s\" is not HOST:PORT", v);
	return KF_ECONFIG;
}

/* Longest text the option takes: the array less its NUL, lowered by max. */
static size_t conf_text_cap(const struct conf_option *o)
{
	size_t cap = o->size - 1;

	if (o->max > 0 && (uint64_t)o->max < cap)
		cap = (size_t)o->max;
	return cap;
}

static int conf_apply_text(const struct conf_type_row *t, const struct conf_option *o,
			   void *field, const char *v, char *why)
{
	size_t len = strlen(v), cap = conf_text_cap(o);

	if (len > cap) {
		snprintf(why, CONF_WHY_MAX, "value is %zu bytes, longer than the limit %zu", len,
			 cap);
		return KF_ECONFIG;
	}
	if (t->text_ok && t->text_ok(v, why) != 0)
		return KF_ECONFIG;
	memset(field, 0, o->size);
	memcpy(field, v, len);
	return 0;
}

/* ---- the table ---- */

static int conf_apply(const struct conf_option *o, void *target, const char *v, char *why)
{
	const struct conf_type_row *t = conf_type_of(o);

	return t->apply(t, o, (char *)target + o->offset, v, why);
}

const struct conf_option *conf_find(const struct conf_option *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

/* Like conf_find, for a name that is not NUL-terminated. */
static const struct conf_option *conf_find_n(const struct conf_option *table, size_t n,
					     const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(table[i].name) == len && memcmp(table[i].name, name, len) == 0)
			return &table[i];
	return NULL;
}

void conf_defaults(const struct conf_option *table, size_t n, void *target)
{
	char why[CONF_WHY_MAX];

	for (size_t i = 0; i < n; i++) {
		const struct conf_option *o = &table[i];
		const struct conf_type_row *t = conf_type_of(o);

		if (t->field_size ? o->size != t->field_size : o->size == 0) {
			fprintf(stderr, "conf: option %s: field size %zu does not fit type %s\n",
				o->name, o->size, t->name);
			abort();
		}
		memset((char *)target + o->offset, 0, o->size);
		if (conf_apply(o, target, o->def ? o->def : "", why) != 0) {
			fprintf(stderr, "conf: option %s: bad default: %s\n", o->name, why);
			abort();
		}
	}
}

int conf_number(enum conf_type type, const char *text, int64_t *out)
{
	if ((size_t)type >= sizeof(conf_types) / sizeof(conf_types[0]) ||
	    conf_types[type].apply != conf_apply_number)
		return -EINVAL;
	return conf_types[type].scan(&conf_types[type], text, out);
}

int conf_set(const struct conf_option *table, size_t n, void *target, const char *name,
	     const char *value, struct conf_err *err)
{
	const struct conf_option *o = conf_find(table, n, name);
	char why[CONF_WHY_MAX];

	if (!o)
		return conf_fail(err, 0, KF_ECONFIG, "unknown option \"%.64s\"", name);
	if (conf_apply(o, target, value, why) != 0)
		return conf_fail(err, 0, KF_ECONFIG, "%s: %s", o->name, why);
	return 0;
}

int conf_check(const struct conf_option *table, size_t n, const void *target,
	       struct conf_err *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct conf_option *o = &table[i];
		const char *field = (const char *)target + o->offset;

		if (conf_is_text(conf_type_of(o)) && o->min > 0 &&
		    strnlen(field, o->size) < (size_t)o->min)
			return conf_fail(err, 0, KF_ECONFIG, "%s: must be set", o->name);
	}
	return 0;
}

static bool conf_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Reads a quoted value starting after the opening quote into out (which has
 * room for len + 1 bytes). Only blanks may follow the closing quote.
 */
static int conf_unquote(const char *s, size_t len, char *out, const char **why)
{
	size_t i = 0, o = 0;

	for (;;) {
		if (i == len) {
			*why = "missing closing quote";
			return KF_EPARSE;
		}
		if (s[i] == '"')
			break;
		if (s[i] == '\\') {
			if (i + 1 == len || (s[i + 1] != '"' && s[i + 1] != '\\')) {
				*why = "only \\\" and \\\\ may follow a backslash";
				return KF_EPARSE;
			}
			i++;
		}
		out[o++] = s[i++];
	}
	out[o] = '\0';
	for (i++; i < len; i++) {
		if (!conf_is_blank(s[i])) {
			*why = "text after the closing quote";
			return KF_EPARSE;
		}
	}
	return 0;
}

/* One line, without its line end. seen[i] holds the line that set option i. */
static int conf_line(const struct conf_option *table, size_t n, void *target, const char *s,
		     size_t len, int line, int *seen, struct conf_err *err)
{
	char value[CONF_LINE_MAX + 1], why[CONF_WHY_MAX];
	const char *eq, *name, *v, *bad = NULL;
	const struct conf_option *o;
	size_t nlen, vlen;

	if (memchr(s, '\0', len))
		return conf_fail(err, line, KF_EPARSE, "contains a NUL byte");
	while (len && conf_is_blank(*s)) {
		s++;
		len--;
	}
	while (len && conf_is_blank(s[len - 1]))
		len--;
	if (len == 0 || *s == '#')
		return 0;
	eq = memchr(s, '=', len);
	name = s;
	nlen = eq ? (size_t)(eq - s) : 0;
	while (nlen && conf_is_blank(name[nlen - 1]))
		nlen--;
	if (nlen == 0)
		return conf_fail(err, line, KF_EPARSE, "expected \"name = value\"");
	v = eq + 1;
	vlen = len - (size_t)(v - s);
	while (vlen && conf_is_blank(*v)) {
		v++;
		vlen--;
	}
	o = conf_find_n(table, n, name, nlen);
	if (!o)
		return conf_fail(err, line, KF_ECONFIG, "unknown option \"%.*s\"",
				 (int)(nlen > 64 ? 64 : nlen), name);
	if (seen[o - table])
		return conf_fail(err, line, KF_ECONFIG, "%s: already set on line %d", o->name,
				 seen[o - table]);
	if (vlen && *v == '"') {
		if (conf_unquote(v + 1, vlen - 1, value, &bad) != 0)
			return conf_fail(err, line, KF_EPARSE, "%s: %s", o->name, bad);
	} else {
		memcpy(value, v, vlen);
		value[vlen] = '\0';
	}
	if (conf_apply(o, target, value, why) != 0)
		return conf_fail(err, line, KF_ECONFIG, "%s: %s", o->name, why);
	seen[o - table] = line;
	return 0;
}

int conf_parse(const struct conf_option *table, size_t n, void *target, const char *text,
	       size_t len, struct conf_err *err)
{
	size_t pos = 0;
	int line = 0, r = 0;
	int *seen;

	if (len > CONF_TEXT_MAX)
		return conf_fail(err, 0, KF_ETOOBIG,
				 "configuration is %zu bytes, over the limit %d", len,
				 CONF_TEXT_MAX);
	seen = calloc(n ? n : 1, sizeof(*seen));
	if (!seen)
		abort();
	while (pos < len && r == 0) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - s) : len - pos;

		pos += l + (nl ? 1 : 0);
		line++;
		if (l && s[l - 1] == '\r')
			l--;
		if (l > CONF_LINE_MAX)
			r = conf_fail(err, line, KF_ETOOBIG, "longer than %d bytes", CONF_LINE_MAX);
		else
			r = conf_line(table, n, target, s, l, line, seen, err);
	}
	free(seen);
	return r;
}

char *conf_format(const struct conf_option *o, const void *target, char *buf, size_t size)
{
	const struct conf_type_row *t = conf_type_of(o);
	const char *field = (const char *)target + o->offset;

	if (size == 0)
		return buf;
	if (conf_is_text(t)) {
		snprintf(buf, size, "%.*s", (int)strnlen(field, o->size), field);
	} else if (t->apply == conf_apply_bool) {
		bool b;

		memcpy(&b, field, sizeof(b));
		snprintf(buf, size, "%s", b ? "true" : "false");
	} else {
		int64_t x;

		memcpy(&x, field, sizeof(x));
		t->render(t, x, buf, size);
	}
	return buf;
}

/* One option's heading: name = "default"  (type, bounds, reloadable). */
static void conf_heading(const struct conf_option *o, char *buf, size_t size)
{
	const struct conf_type_row *t = conf_type_of(o);
	char lo[32], hi[32], bounds[80] = "";

	if (conf_is_text(t)) {
		if (o->min > 0)
			snprintf(bounds, sizeof(bounds), ", required");
	} else if (t->scan && (o->min != 0 || o->max != 0)) {
		t->render(t, o->min, lo, sizeof(lo));
		t->render(t, o->max, hi, sizeof(hi));
		snprintf(bounds, sizeof(bounds), ", %s..%s", lo, hi);
	}
	snprintf(buf, size, "%s = \"%s\"  (%s%s%s)", o->name, o->def ? o->def : "", t->name,
		 bounds, o->reloadable ? ", reloadable" : "");
}

void conf_write_quoted(FILE *f, const char *v)
{
	fputc('"', f);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			fputc('\\', f);
		fputc(*v, f);
	}
	fputc('"', f);
}

void conf_help(const struct conf_option *table, size_t n, FILE *out)
{
	char head[CONF_LINE_MAX];

	for (size_t i = 0; i < n; i++) {
		conf_heading(&table[i], head, sizeof(head));
		fprintf(out, "  %s\n      %s\n", head, table[i].help ? table[i].help : "");
	}
}

void conf_man(const struct conf_option *table, size_t n, FILE *out)
{
	char head[CONF_LINE_MAX];

	for (size_t i = 0; i < n; i++) {
		conf_heading(&table[i], head, sizeof(head));
		roff_item(out, head, table[i].help ? table[i].help : "");
	}
}

size_t conf_reload(const struct conf_option *table, size_t n, void *current, const void *fresh,
		   conf_change_fn fn, void *arg)
{
	size_t refused = 0;

	for (size_t i = 0; i < n; i++) {
		const struct conf_option *o = &table[i];
		char *cur = (char *)current + o->offset;
		const char *neu = (const char *)fresh + o->offset;
		bool same = conf_is_text(conf_type_of(o)) ? strncmp(cur, neu, o->size) == 0
							  : memcmp(cur, neu, o->size) == 0;

		if (same)
			continue;
		if (o->reloadable)
			memcpy(cur, neu, o->size);
		else
			refused++;
		if (fn)
			fn(arg, o, o->reloadable);
	}
	return refused;
}
