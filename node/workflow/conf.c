/* The work orders' settings from kefud's configuration. See conf.h. */
#include "node/workflow/conf.h"

#include "lib/err.h"
#include "lib/file.h"
#include "node/config_table.h"
#include "storage/accounts.h"
#include "storage/audit.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ZONEINFO "/usr/share/zoneinfo/"
#define SHOWN_MAX 48 /* bytes of input quoted in a reason */

static const char *const kind_names[WO_KINDS] = {
#define KIND_NAME_(name, id, first_response, update, solution) [id] = #name,
	WO_KIND_LIST(KIND_NAME_)
#undef KIND_NAME_
};

#define NAME_(name, id) [id] = #name,
static const char *const clock_names[WO_CLOCKS] = {WO_CLOCK_LIST(NAME_)};
static const char *const action_names[WO_ACTIONS] = {WO_ACTION_LIST(NAME_)};
#undef NAME_

/* ---- names ---- */

/* The index of s[0..len) in names[0..n), or -1. */
static int name_index(const char *const *names, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
			return (int)i;
	return -1;
}

const char *wo_kind_name(enum wo_kind k)
{
	return (unsigned)k < WO_KINDS ? kind_names[k] : NULL;
}

int wo_kind_by_name(const char *name)
{
	return name ? name_index(kind_names, WO_KINDS, name, strlen(name)) : -1;
}

const char *wo_clock_name(enum wo_clock c)
{
	return (unsigned)c < WO_CLOCKS ? clock_names[c] : NULL;
}

int wo_clock_by_name(const char *name)
{
	return name ? name_index(clock_names, WO_CLOCKS, name, strlen(name)) : -1;
}

const char *wo_action_name(enum wo_level_action a)
{
	return (unsigned)a < WO_ACTIONS ? action_names[a] : NULL;
}

int wo_action_by_name(const char *name)
{
	return name ? name_index(action_names, WO_ACTIONS, name, strlen(name)) : -1;
}

/* ---- text ---- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * s[0..n) as quoted in a reason, into buf: at most SHOWN_MAX bytes, cut at
 * a character boundary, control characters as '?', and every byte over
 * 0x7f as '?' too when what is left is not UTF-8.
 */
static const char *shown(const char *s, size_t n, char *buf, size_t cap)
{
	size_t k = n < cap - 1 ? n : cap - 1;

	if (k > SHOWN_MAX)
		k = SHOWN_MAX;
	while (k < n && k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--;
	for (size_t i = 0; i < k; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[k] = '\0';
	if (!audit_bytes_are_text(buf, k))
		for (size_t i = 0; i < k; i++)
			if ((unsigned char)buf[i] > 0x7f)
				buf[i] = '?';
	return buf;
}

/* Whether s[0..n) is a group name: the accounts' rule (storage/accounts.h). */
static bool group_ok(const char *s, size_t n)
{
	char g[WO_GROUP_MAX];

	if (n == 0 || n >= sizeof(g) || memchr(s, '\0', n))
		return false;
	memcpy(g, s, n);
	g[n] = '\0';
	return accounts_group_is_valid(g);
}

bool wo_group_valid(const char *name)
{
	return accounts_group_is_valid(name);
}

/*
 * Whether s[0..n) is a category without its kind: 1..WO_LEVELS_MAX levels
 * separated by '/', each 1..WO_COMPONENT_MAX bytes of UTF-8 without
 * blanks or control characters. On false, *reason says why (static).
 */
static bool category_ok(const char *s, size_t n, const char **reason)
{
	const char *end = s + n;
	size_t levels = 0;

	if (!audit_bytes_are_text(s, n)) {
		*reason = "not UTF-8 without control characters";
		return false;
	}
	for (;;) {
		const char *slash = memchr(s, '/', (size_t)(end - s));
		const char *e = slash ? slash : end;

		if (e == s) {
			*reason = "an empty level";
			return false;
		}
		if (e - s > WO_COMPONENT_MAX) {
			*reason = "a level over 64 bytes";
			return false;
		}
		if (memchr(s, ' ', (size_t)(e - s)) || memchr(s, '\t', (size_t)(e - s))) {
			*reason = "a blank inside a level";
			return false;
		}
		if (++levels > WO_LEVELS_MAX) {
			*reason = "more than 4 levels";
			return false;
		}
		if (!slash)
			return true;
		s = slash + 1;
	}
}

/* The lines of a file that are neither blank nor comments, numbered. */
struct lines {
	const char *p, *end;
	unsigned no;
};

/* The next such line, blanks and '\r' trimmed, into *s, *n; false at the end. */
static bool lines_next(struct lines *it, const char **s, size_t *n)
{
	while (it->p < it->end) {
		const char *b = it->p, *nl = memchr(b, '\n', (size_t)(it->end - b));
		const char *e = nl ? nl : it->end;

		it->p = nl ? nl + 1 : it->end;
		it->no++;
		while (b < e && (is_blank(*b) || *b == '\r'))
			b++;
		while (e > b && (is_blank(e[-1]) || e[-1] == '\r'))
			e--;
		if (b == e || *b == '#')
			continue;
		*s = b;
		*n = (size_t)(e - b);
		return true;
	}
	return false;
}

/* The next blank-separated word of [*p, end) into *w, *n; false when none. */
static bool next_word(const char **p, const char *end, const char **w, size_t *n)
{
	while (*p < end && is_blank(**p))
		(*p)++;
	*w = *p;
	while (*p < end && !is_blank(**p))
		(*p)++;
	*n = (size_t)(*p - *w);
	return *n > 0;
}

/* A refusal for a text over WO_FILE_MAX bytes. */
static int too_big(char *why, size_t cap)
{
	kf_why(why, cap, "longer than %d bytes", WO_FILE_MAX);
	return KF_ETOOBIG;
}

/* ---- clocks ---- */

uint64_t wo_target_ms(const struct wo_settings *s, enum wo_kind k, enum wo_clock c, bool urgent,
		      unsigned vip_level)
{
	uint64_t t;

	assert((unsigned)k < WO_KINDS && (unsigned)c < WO_CLOCKS);
	/* At most 365 days in ms times two factors of at most 1000: no overflow. */
	t = s->target_ms[k][c] * (urgent ? s->urgent_factor : 1000u) *
	    s->tier_factor[vip_level < WO_TIERS ? vip_level : WO_TIERS - 1] / 1000000u;
	return t < 1000 ? 1000 : t;
}

int wo_escalate_parse(const char *text, size_t len, struct wo_level *out, size_t *n, char *why,
		      size_t cap)
{
	const char *p = text, *end = text + len;
	char w[SHOWN_MAX + 1];
	size_t count = 0;

	*n = 0;
	while (p < end && is_blank(*p))
		p++;
	if (p == end)
		return 0;
	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *s = p, *e = comma ? comma : end, *q;
		uint32_t pct = 0;
		int a;

		while (s < e && is_blank(*s))
			s++;
		while (e > s && is_blank(e[-1]))
			e--;
		if (s == e)
			return kf_refuse(why, cap, "level %zu is empty", count + 1);
		if (count == WO_ESCALATE_MAX) {
			kf_why(why, cap, "more than %d levels", WO_ESCALATE_MAX);
			return KF_ETOOBIG;
		}
		for (q = s; q < e && *q >= '0' && *q <= '9'; q++)
			pct = pct > WO_PERCENT_MAX ? pct : pct * 10 + (uint32_t)(*q - '0');
		if (q == s || e - q < 2 || q[0] != '%' || q[1] != ':')
			return kf_refuse(why, cap, "level %zu \"%s\" is not P%%:ACTION", count + 1,
					 shown(s, (size_t)(e - s), w, sizeof(w)));
		if (pct < 1 || pct > WO_PERCENT_MAX)
			return kf_refuse(why, cap, "level %zu: %.*s is not in 1%%..%d%%", count + 1,
					 (int)(q - s < 8 ? q - s : 8), s, WO_PERCENT_MAX);
		a = name_index(action_names, WO_ACTIONS, q + 2, (size_t)(e - q - 2));
		if (a < 0)
			return kf_refuse(why, cap,
					 "level %zu: \"%s\" is not an action (lead, supervisor, upgrade)",
					 count + 1, shown(q + 2, (size_t)(e - q - 2), w, sizeof(w)));
		if (count && pct <= out[count - 1].percent)
			return kf_refuse(why, cap, "level %zu: %u%% is not above %u%%, the level before",
					 count + 1, pct, out[count - 1].percent);
		out[count].percent = pct;
		out[count++].action = (enum wo_level_action)a;
		if (!comma)
			break;
		p = comma + 1;
	}
	*n = count;
	return 0;
}

/* ---- calendars ---- */

int wo_calendars_parse(struct wo_settings *s, const char *text, size_t len, char *why,
		       size_t cap)
{
	struct wo_group_calendar groups[WO_GROUPS_MAX];
	struct lines it = {text, text + len, 0};
	char w[SHOWN_MAX + 1], cwhy[CALENDAR_WHY_MAX];
	const char *l;
	size_t n = 0, ln;
	int err = 0;

	if (len > WO_FILE_MAX)
		return too_big(why, cap);
	while (!err && lines_next(&it, &l, &ln)) {
		const char *colon = memchr(l, ':', ln), *h, *e = l + ln;
		size_t gl;
		struct calendar *cal;

		for (gl = colon ? (size_t)(colon - l) : 0; gl && is_blank(l[gl - 1]);)
			gl--;
		if (!colon || memchr(l, ' ', gl) || memchr(l, '\t', gl)) {
			err = kf_refuse(why, cap, "line %u: expected GROUP: HOURS", it.no);
			break;
		}
		if (!group_ok(l, gl)) {
			err = kf_refuse(why, cap,
					"line %u: \"%s\" is not a group name ([a-z0-9][a-z0-9_.-]{0,31})",
					it.no, shown(l, gl, w, sizeof(w)));
			break;
		}
		for (size_t i = 0; i < n && !err; i++)
			if (strlen(groups[i].group) == gl && memcmp(groups[i].group, l, gl) == 0)
				err = kf_refuse(why, cap, "line %u: group %s is given twice", it.no,
						groups[i].group);
		if (err)
			break;
		if (n == WO_GROUPS_MAX) {
			kf_why(why, cap, "line %u: more than %d groups", it.no, WO_GROUPS_MAX);
			err = KF_ETOOBIG;
			break;
		}
		for (h = colon + 1; h < e && is_blank(*h);)
			h++;
		cal = malloc(sizeof(*cal));
		if (!cal)
			abort();
		if (calendar_parse(h, (size_t)(e - h), cal, cwhy, sizeof(cwhy)) != 0) {
			free(cal);
			err = kf_refuse(why, cap, "line %u: group %.*s: %s", it.no, (int)gl, l, cwhy);
			break;
		}
		if (s->calendar) {
			memcpy(cal->dates, s->calendar->dates,
			       s->calendar->ndates * sizeof(cal->dates[0]));
			cal->ndates = s->calendar->ndates;
		}
		memcpy(groups[n].group, l, gl);
		groups[n].group[gl] = '\0';
		groups[n++].cal = cal;
	}
	if (err) {
		for (size_t i = 0; i < n; i++)
			free(groups[i].cal);
		return err;
	}
	for (size_t i = 0; i < s->ngroups; i++)
		free(s->groups[i].cal);
	memcpy(s->groups, groups, n * sizeof(groups[0]));
	s->ngroups = n;
	return 0;
}

const struct calendar *wo_calendar_of(const struct wo_settings *s, const char *group)
{
	for (size_t i = 0; group && i < s->ngroups; i++)
		if (strcmp(s->groups[i].group, group) == 0)
			return s->groups[i].cal;
	return s->calendar;
}

/* Whether tz names a timezone file under ZONEINFO; KF_EPARSE with why if not. */
static int timezone_check(const char *tz, char *why, size_t cap)
{
	char path[sizeof(ZONEINFO) + WO_TIMEZONE_MAX], w[SHOWN_MAX + 1];
	size_t n = tz ? strlen(tz) : 0;
	struct stat st;

	if (n == 0 || n >= WO_TIMEZONE_MAX)
		return kf_refuse(why, cap, "a timezone name is 1..%d bytes (e.g. Asia/Shanghai)",
				 WO_TIMEZONE_MAX - 1);
	for (size_t i = 0; i < n; i++) {
		char c = tz[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '+' || c == '/' || c == '-'))
			return kf_refuse(why, cap, "\"%s\" is not a timezone name (letters, digits, "
					 "_ + / -; e.g. Asia/Shanghai)", shown(tz, n, w, sizeof(w)));
	}
	if (tz[0] == '/' || strstr(tz, ".."))
		return kf_refuse(why, cap, "\"%s\" is not a timezone name (e.g. Asia/Shanghai)", tz);
	snprintf(path, sizeof(path), ZONEINFO "%s", tz);
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return kf_refuse(why, cap, "no timezone %s: %s is not a file (is tzdata installed?)",
				 tz, path);
	return 0;
}

int wo_timezone_apply(const char *tz, char *why, size_t cap)
{
	int err = timezone_check(tz, why, cap);

	if (err)
		return err;
	if (setenv("TZ", tz, 1) != 0)
		abort(); /* only ENOMEM: the name was checked */
	tzset();
	return 0;
}

/* ---- dispatch ---- */

/* One column of a dispatch rule into r; KF_EPARSE with why if it is wrong. */
static int rule_column(struct wo_rule *r, int col, const char *w, size_t n, unsigned line,
		       char *why, size_t cap)
{
	static const char *const names[] = {"KIND", "CATEGORY_PREFIX", "CITY", "GROUP"};
	char q[SHOWN_MAX + 1];
	const char *reason = NULL;

	if (col < 3 && n == 1 && *w == '*') {
		if (col == 0)
			r->kind = -1;
		return 0;
	}
	switch (col) {
	case 0:
		r->kind = name_index(kind_names, WO_KINDS, w, n);
		if (r->kind < 0)
			reason = "not a kind or *";
		break;
	case 1:
		if (category_ok(w, n, &reason))
			memcpy(r->category, w, n);
		break;
	case 2:
		if (n >= WO_CITY_MAX)
			reason = "longer than 64 bytes";
		else if (!audit_bytes_are_text(w, n))
			reason = "not UTF-8 without control characters";
		else
			memcpy(r->city, w, n);
		break;
	default:
		if (group_ok(w, n))
			memcpy(r->group, w, n);
		else
			reason = "not a group name ([a-z0-9][a-z0-9_.-]{0,31})";
		break;
	}
	if (reason)
		return kf_refuse(why, cap, "line %u: %s \"%s\": %s", line, names[col],
				 shown(w, n, q, sizeof(q)), reason);
	return 0;
}

int wo_dispatch_parse(struct wo_settings *s, const char *text, size_t len, char *why,
		      size_t cap)
{
	struct lines it = {text, text + len, 0};
	struct wo_rule *rules = NULL;
	size_t n = 0, room = 0, ln;
	const char *l;
	int err = 0;

	if (len > WO_FILE_MAX)
		return too_big(why, cap);
	while (!err && lines_next(&it, &l, &ln)) {
		const char *p = l, *w;
		size_t wn;
		int col = 0;

		if (n == WO_RULES_MAX) {
			kf_why(why, cap, "line %u: more than %d rules", it.no, WO_RULES_MAX);
			err = KF_ETOOBIG;
			break;
		}
		if (n == room) {
			room = room ? 2 * room : 16;
			rules = realloc(rules, room * sizeof(*rules));
			if (!rules)
				abort();
		}
		memset(&rules[n], 0, sizeof(rules[n]));
		for (; !err && next_word(&p, l + ln, &w, &wn); col++)
			err = col < 4 ? rule_column(&rules[n], col, w, wn, it.no, why, cap)
				      : kf_refuse(why, cap, "line %u: more than 4 columns (KIND "
						  "CATEGORY_PREFIX CITY GROUP)", it.no);
		if (!err && col < 4)
			err = kf_refuse(why, cap, "line %u: %d columns, expected KIND "
				       "CATEGORY_PREFIX CITY GROUP", it.no, col);
		n++;
	}
	if (err) {
		free(rules);
		return err;
	}
	free(s->rules);
	s->rules = rules;
	s->nrules = n;
	return 0;
}

/* Whether a rule's category prefix (never NULL; "" = any) matches category. */
static bool prefix_matches(const char *prefix, const char *category)
{
	size_t n = strlen(prefix);

	if (n == 0)
		return true;
	return category && strncmp(category, prefix, n) == 0 &&
	       (category[n] == '\0' || category[n] == '/');
}

const char *wo_dispatch_group(const struct wo_settings *s, enum wo_kind k, const char *category,
			      const char *city)
{
	for (size_t i = 0; i < s->nrules; i++) {
		const struct wo_rule *r = &s->rules[i];

		if ((r->kind < 0 || r->kind == (int)k) && prefix_matches(r->category, category) &&
		    (!r->city[0] || (city && strcmp(r->city, city) == 0)))
			return r->group;
	}
	return s->default_group;
}

/* ---- categories ---- */

/* For finding lines given twice: a line's path and number. */
struct seen {
	const char *path;
	unsigned line;
};

static int seen_cmp(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* KF_EPARSE naming the first line given twice in cats[0..n), or 0. */
static int categories_unique(const struct wo_category *cats, const unsigned *lines, size_t n,
			     char *why, size_t cap)
{
	struct seen *v = malloc((n ? n : 1) * sizeof(*v));
	const struct seen *twice = NULL;
	int err = 0;

	if (!v)
		abort();
	for (size_t i = 0; i < n; i++)
		v[i] = (struct seen){cats[i].path, lines[i]};
	qsort(v, n, sizeof(*v), seen_cmp);
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[i].path, v[i - 1].path) == 0 && (!twice || v[i].line < twice->line))
			twice = &v[i];
	if (twice)
		err = kf_refuse(why, cap, "line %u: %s is given twice", twice->line, twice->path);
	free(v);
	return err;
}

int wo_categories_parse(struct wo_settings *s, const char *text, size_t len, char *why,
			size_t cap)
{
	struct lines it = {text, text + len, 0};
	struct wo_category *cats = NULL;
	unsigned *lines = NULL;
	size_t n = 0, room = 0, ln;
	char w[SHOWN_MAX + 1];
	const char *l, *reason;
	int err = 0;

	if (len > WO_FILE_MAX)
		return too_big(why, cap);
	while (!err && lines_next(&it, &l, &ln)) {
		const char *slash = memchr(l, '/', ln);
		int k = name_index(kind_names, WO_KINDS, l, slash ? (size_t)(slash - l) : ln);

		if (k < 0) {
			err = kf_refuse(why, cap, "line %u: \"%s\" does not begin with a kind and '/' "
					"(complaint/...)", it.no, shown(l, ln, w, sizeof(w)));
			break;
		}
		if (!slash || !category_ok(slash + 1, (size_t)(l + ln - slash - 1), &reason)) {
			err = kf_refuse(why, cap, "line %u: \"%s\": %s", it.no,
					shown(l, ln, w, sizeof(w)),
					slash ? reason : "no category below the kind");
			break;
		}
		if (n == WO_CATEGORIES_MAX) {
			kf_why(why, cap, "line %u: more than %d categories", it.no, WO_CATEGORIES_MAX);
			err = KF_ETOOBIG;
			break;
		}
		if (n == room) {
			room = room ? 2 * room : 64;
			cats = realloc(cats, room * sizeof(*cats));
			lines = realloc(lines, room * sizeof(*lines));
			if (!cats || !lines)
				abort();
		}
		cats[n].kind = (enum wo_kind)k;
		memcpy(cats[n].path, l, ln); /* a kind, '/' and a category: under WO_PATH_MAX */
		cats[n].path[ln] = '\0';
		lines[n++] = it.no;
	}
	if (!err)
		err = categories_unique(cats, lines, n, why, cap);
	free(lines);
	if (err) {
		free(cats);
		return err;
	}
	free(s->categories);
	s->categories = cats;
	s->ncategories = n;
	return 0;
}

size_t wo_categories_count(const struct wo_settings *s)
{
	return s->ncategories;
}

const char *wo_category_path(const struct wo_settings *s, size_t i)
{
	return i < s->ncategories ? s->categories[i].path : NULL;
}

bool wo_category_valid(const struct wo_settings *s, enum wo_kind k, const char *category)
{
	size_t n, kl;

	if ((unsigned)k >= WO_KINDS || !category || !category[0])
		return false;
	n = strlen(category);
	kl = strlen(kind_names[k]) + 1;
	for (size_t i = 0; i < s->ncategories; i++) {
		const char *rest = s->categories[i].path + kl;

		if (s->categories[i].kind == k && strncmp(rest, category, n) == 0 &&
		    (rest[n] == '\0' || rest[n] == '/'))
			return true;
	}
	return false;
}

/* ---- return visits ---- */

bool wo_visit_excluded(const struct wo_settings *s, enum wo_kind k)
{
	return (unsigned)k < WO_KINDS && s->visit_exclude[k];
}

/* "kind,kind,..." (blanks trimmed, empty items skipped) into out. */
static int exclude_parse(const char *text, bool out[WO_KINDS], char *why, size_t cap)
{
	char w[SHOWN_MAX + 1];

	for (const char *p = text; *p;) {
		const char *b = p, *e = strchr(p, ',');
		int k;

		if (!e)
			e = p + strlen(p);
		p = *e ? e + 1 : e;
		while (b < e && is_blank(*b))
			b++;
		while (e > b && is_blank(e[-1]))
			e--;
		if (b == e)
			continue;
		k = name_index(kind_names, WO_KINDS, b, (size_t)(e - b));
		if (k < 0)
			return kf_refuse(why, cap, "\"%s\" is not a kind", shown(b, (size_t)(e - b), w,
										   sizeof(w)));
		if (out[k])
			return kf_refuse(why, cap, "%s is given twice", kind_names[k]);
		out[k] = true;
	}
	return 0;
}

/* ---- from the configuration ---- */

typedef int (*file_parse_fn)(struct wo_settings *s, const char *text, size_t len, char *why,
			     size_t cap);

static int holidays_parse(struct wo_settings *s, const char *text, size_t len, char *why,
			  size_t cap)
{
	return calendar_holidays(s->calendar, text, len, why, cap);
}

/* The file of option key, at path, through parse; why names both. */
static int from_file(struct wo_settings *s, const char *key, const char *path,
		     file_parse_fn parse, char *why, size_t cap)
{
	char reason[WO_WHY_MAX];
	char *text = NULL;
	size_t len = 0;
	int err = file_read_all(path, WO_FILE_MAX, &text, &len);

	if (err == KF_ETOOBIG)
		kf_why(reason, sizeof(reason), "longer than %d bytes", WO_FILE_MAX);
	else if (err)
		kf_why(reason, sizeof(reason), "%s", kf_strerror(err));
	if (!err) {
		err = parse(s, text, len, reason, sizeof(reason));
		free(text);
	}
	if (err)
		kf_why(why, cap, "%s: %s: %s", key, path, reason);
	return err;
}

/* The numbers of cfg: targets and factors, each checked against its bounds. */
static int numbers_from(const struct config *cfg, struct wo_settings *s, char *why, size_t cap)
{
	char key[48];
	int64_t v;

	for (int k = 0; k < WO_KINDS; k++) {
		for (int c = 0; c < WO_CLOCKS; c++) {
			snprintf(key, sizeof(key), "wo_%s_%s", kind_names[k], clock_names[c]);
			v = config_table_number(cfg, key);
			if (v < WO_TARGET_MIN_MS || v > WO_TARGET_MAX_MS)
				return kf_refuse(why, cap, "%s: out of 1s..365d", key);
			s->target_ms[k][c] = (uint64_t)v;
		}
	}
	/* The urgent factor, then the tiers'. */
	for (int t = -1; t < WO_TIERS; t++) {
		uint32_t *f = t < 0 ? &s->urgent_factor : &s->tier_factor[t];

		if (t < 0)
			snprintf(key, sizeof(key), "wo_urgent_factor");
		else
			snprintf(key, sizeof(key), "wo_tier%d_factor", t);
		v = config_table_number(cfg, key);
		if (v < WO_FACTOR_MIN || v > WO_FACTOR_MAX)
			return kf_refuse(why, cap, "%s: out of 0.01..1", key);
		*f = (uint32_t)v;
	}
	v = config_table_number(cfg, "wo_visit_quiet");
	s->visit_quiet_ms = v > 0 ? (uint64_t)v : 0;
	v = config_table_number(cfg, "wo_visit_delay");
	s->visit_delay_ms = v > 0 ? (uint64_t)v : 0;
	return 0;
}

/* The texts of cfg without a file: province, calendar, timezone, chain, visits, group. */
static int texts_from(const struct config *cfg, struct wo_settings *s, char *why, size_t cap)
{
	const char *province = config_table_text(cfg, "province");
	const char *hours = config_table_text(cfg, "wo_calendar");
	const char *tz = config_table_text(cfg, "wo_timezone");
	const char *chain = config_table_text(cfg, "wo_escalate");
	const char *group = config_table_text(cfg, "wo_default_group");
	char reason[WO_WHY_MAX];
	int err;

	if (strlen(province) != 2 || province[0] < 'A' || province[0] > 'Z' || province[1] < 'A' ||
	    province[1] > 'Z')
		return kf_refuse(why, cap, "province: \"%.8s\" is not two uppercase letters (e.g. SC)",
				 province);
	memcpy(s->province, province, 3);
	s->calendar = malloc(sizeof(*s->calendar));
	if (!s->calendar)
		abort();
	if ((err = calendar_parse(hours, strlen(hours), s->calendar, reason, sizeof(reason))))
		return kf_refuse(why, cap, "wo_calendar: %s", reason);
	if ((err = timezone_check(tz, reason, sizeof(reason))))
		return kf_refuse(why, cap, "wo_timezone: %s", reason);
	snprintf(s->timezone, sizeof(s->timezone), "%s", tz);
	if ((err = wo_escalate_parse(chain, strlen(chain), s->escalate, &s->nescalate, reason,
				     sizeof(reason)))) {
		kf_why(why, cap, "wo_escalate: %s", reason);
		return err;
	}
	if ((err = exclude_parse(config_table_text(cfg, "wo_visit_exclude"), s->visit_exclude,
				 reason, sizeof(reason))))
		return kf_refuse(why, cap, "wo_visit_exclude: %s", reason);
	if (!wo_group_valid(group))
		return kf_refuse(why, cap, "wo_default_group: not a group name "
				 "([a-z0-9][a-z0-9_.-]{0,31})");
	snprintf(s->default_group, sizeof(s->default_group), "%s", group);
	return 0;
}

int wo_settings_from(const struct config *cfg, struct wo_settings *s, char *why, size_t cap)
{
	static const struct {
		const char *key;
		file_parse_fn parse;
	} files[] = {
		/* Holidays first: the group calendars take the default's dates. */
		{"wo_holidays", holidays_parse},
		{"wo_calendars", wo_calendars_parse},
		{"wo_dispatch", wo_dispatch_parse},
		{"wo_categories", wo_categories_parse},
	};
	const char *cats = config_table_text(cfg, "wo_categories");
	int err;

	memset(s, 0, sizeof(*s));
	if ((err = numbers_from(cfg, s, why, cap)) || (err = texts_from(cfg, s, why, cap)))
		goto fail;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const char *path = config_table_text(cfg, files[i].key);

		if (path[0] && (err = from_file(s, files[i].key, path, files[i].parse, why, cap)))
			goto fail;
	}
	if (!cats[0] && wo_categories_parse(s, wo_default_categories,
					    strlen(wo_default_categories), why, cap) != 0) {
		fprintf(stderr, "workflow: the shipped category tree is refused: %s\n", why);
		abort(); /* the program's own text: a bug */
	}
	return 0;
fail:
	wo_settings_free(s);
	return err;
}

void wo_settings_free(struct wo_settings *s)
{
	if (!s)
		return;
	free(s->calendar);
	for (size_t i = 0; i < s->ngroups; i++)
		free(s->groups[i].cal);
	free(s->rules);
	free(s->categories);
	memset(s, 0, sizeof(*s));
}
