/* Business calendars. See calendar.h. */
#include "lib/calendar.h"

#include "lib/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MIN 1440
#define SEARCH_DAYS 3660 /* ten years */

static const char *const day_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* ---- dates: days since 1970-01-01 of a proleptic Gregorian date ---- */

/* Counted in 400-year eras from 0000-03-01, so that the leap day ends a year. */
static int32_t day_of(int y, int m, int d)
{
	int ym = m <= 2 ? y - 1 : y;
	int era = (ym >= 0 ? ym : ym - 399) / 400;
	int yoe = ym - era * 400;                            /* 0..399 */
	int mp = (m + 9) % 12;                               /* March = 0 */
	int doy = (153 * mp + 2) / 5 + d - 1;                /* 0..365 */
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;     /* 0..146096 */

	return (int32_t)(era * 146097 + doe - 719468);
}

static void date_of(int32_t day, int *y, int *m, int *d)
{
	int z = day + 719468;
	int era = (z >= 0 ? z : z - 146096) / 146097;
	int doe = z - era * 146097;
	int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

uint32_t calendar_ymd(int32_t day)
{
	int y, m, d;

	date_of(day, &y, &m, &d);
	return (uint32_t)(y * 10000 + m * 100 + d);
}

static int weekday_of(int32_t day) /* 0 = Monday; 1970-01-01 was a Thursday */
{
	int w = (int)((day + 3) % 7);

	return w < 0 ? w + 7 : w;
}

/*
 * Local time, remembered per thread. glibc parses the zone's rule string
 * again on every conversion of a moment past the zone file's last
 * transition (every moment now, in Asia/Shanghai), and a walk converts the
 * same dates and span ends for every clock of every order. Conversions are
 * kept for the zone TZ names (all are dropped when it changes); a name too
 * long to keep is converted every time.
 */
#define LOCAL_SLOTS 64

struct local_slot {
	int32_t day;
	unsigned minute;
	uint64_t ms;
	bool set;
};

struct local_cache {
	char tz[64];
	bool valid;
	struct local_slot slot[LOCAL_SLOTS];
	int32_t day;             /* the local date of [day_from, day_to) */
	uint64_t day_from, day_to;
	bool day_set;
};

static _Thread_local struct local_cache local_cache;

/* The thread's cache for the zone in force; NULL when it cannot be kept. */
static struct local_cache *local_cache_get(void)
{
	struct local_cache *lc = &local_cache;
	const char *tz = getenv("TZ");

	if (!tz)
		tz = "";
	if (lc->valid && strcmp(lc->tz, tz) == 0)
		return lc;
	memset(lc, 0, sizeof(*lc));
	if (strlen(tz) >= sizeof(lc->tz))
		return NULL;
	memcpy(lc->tz, tz, strlen(tz) + 1);
	lc->valid = true;
	return lc;
}

/* The moment a local date's minute begins (mktime normalises 24:00 into
 * the next day, and a minute a clock change skipped into the one after). */
static uint64_t local_ms_convert(int32_t day, unsigned minute)
{
	struct tm tm = {0};
	int y, m, d;
	time_t s;

	date_of(day, &y, &m, &d);
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_min = (int)minute;
	tm.tm_isdst = -1;
	s = mktime(&tm);
	return s < 0 ? 0 : (uint64_t)s * 1000;
}

static uint64_t local_ms(int32_t day, unsigned minute)
{
	struct local_cache *lc = local_cache_get();
	struct local_slot *sl;

	if (!lc)
		return local_ms_convert(day, minute);
	sl = &lc->slot[((uint32_t)day * 31u + minute) % LOCAL_SLOTS];
	if (!sl->set || sl->day != day || sl->minute != minute)
		*sl = (struct local_slot){day, minute, local_ms_convert(day, minute), true};
	return sl->ms;
}

/* The local date of the moment t_ms. */
static int32_t local_day(uint64_t t_ms)
{
	struct local_cache *lc = local_cache_get();
	time_t s = (time_t)(t_ms / 1000);
	struct tm tm;
	int32_t day;
	uint64_t from, to;

	if (lc && lc->day_set && t_ms >= lc->day_from && t_ms < lc->day_to)
		return lc->day;
	if (!localtime_r(&s, &tm))
		return 0;
	day = day_of(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	if (lc) {
		from = local_ms(day, 0);
		to = local_ms(day + 1, 0);
		if (t_ms >= from && t_ms < to) {
			lc->day = day;
			lc->day_from = from;
			lc->day_to = to;
			lc->day_set = true;
		}
	}
	return day;
}

/* ---- the open spans of a date ---- */

static const struct calendar_date *date_find(const struct calendar *c, int32_t day)
{
	size_t lo = 0, hi = c->ndates;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->dates[mid].day == day)
			return &c->dates[mid];
		if (c->dates[mid].day < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const struct calendar_day *day_hours(const struct calendar *c, int32_t day)
{
	static const struct calendar_day closed = {.n = 0};
	static const struct calendar_day whole = {.span = {{0, DAY_MIN}}, .n = 1};
	const struct calendar_date *d = date_find(c, day);

	if (d)
		return d->workday ? (c->always ? &whole : &c->makeup) : &closed;
	return c->always ? &whole : &c->week[weekday_of(day)];
}

/*
 * Walk the open spans from the local date of a_ms on, each cut to start no
 * earlier than a_ms: visit returns true to stop. Gives up after
 * SEARCH_DAYS dates.
 */
typedef bool (*span_fn)(void *arg, uint64_t from_ms, uint64_t to_ms);

static void walk(const struct calendar *c, uint64_t a_ms, span_fn visit, void *arg)
{
	int32_t day = local_day(a_ms);

	for (int i = 0; i < SEARCH_DAYS; i++, day++) {
		const struct calendar_day *h = day_hours(c, day);

		for (size_t k = 0; k < h->n; k++) {
			uint64_t s = local_ms(day, h->span[k].from), e = local_ms(day, h->span[k].to);

			if (e <= a_ms)
				continue;
			if (visit(arg, s > a_ms ? s : a_ms, e))
				return;
		}
	}
}

struct adding {
	uint64_t left, at;
};

static bool add_visit(void *arg, uint64_t from_ms, uint64_t to_ms)
{
	struct adding *a = arg;

	if (to_ms - from_ms >= a->left) {
		a->at = from_ms + a->left;
		return true;
	}
	a->left -= to_ms - from_ms;
	return false;
}

uint64_t calendar_add(const struct calendar *c, uint64_t from_ms, uint64_t open_ms)
{
	struct adding a = {open_ms, UINT64_MAX};

	if (open_ms == 0)
		return from_ms;
	walk(c, from_ms, add_visit, &a);
	return a.at;
}

struct counting {
	uint64_t end, sum;
};

static bool count_visit(void *arg, uint64_t from_ms, uint64_t to_ms)
{
	struct counting *n = arg;

	if (from_ms >= n->end)
		return true;
	n->sum += (to_ms < n->end ? to_ms : n->end) - from_ms;
	return to_ms >= n->end;
}

uint64_t calendar_open_between(const struct calendar *c, uint64_t a_ms, uint64_t b_ms)
{
	struct counting n = {b_ms, 0};

	if (b_ms <= a_ms)
		return 0;
	walk(c, a_ms, count_visit, &n);
	return n.sum;
}

bool calendar_is_open(const struct calendar *c, uint64_t t_ms)
{
	return calendar_open_between(c, t_ms, t_ms + 1) == 1;
}

/* ---- weekly hours ---- */

void calendar_always(struct calendar *c)
{
	memset(c, 0, sizeof(*c));
	c->always = true;
}

/* The next word of [*p, end) (up to a space), into w; false when none. */
static bool word(const char **p, const char *end, char *w, size_t cap)
{
	size_t n = 0;

	while (*p < end && **p == ' ')
		(*p)++;
	while (*p < end && **p != ' ') {
		if (n + 1 < cap)
			w[n++] = **p;
		else
			n = cap; /* too long: no word matches it */
		(*p)++;
	}
	if (n >= cap)
		n = cap - 1;
	w[n] = '\0';
	return n > 0;
}

static int day_index(const char *s, size_t len)
{
	for (int i = 0; i < 7; i++)
		if (len == 3 && memcmp(s, day_names[i], 3) == 0)
			return i;
	return -1;
}

/* "HH:MM" (00:00..24:00) into minutes; -1 if it is not one. */
static int clock_min(const char *s)
{
	int h, m;

	if (strlen(s) != 5 || s[2] != ':' || s[0] < '0' || s[0] > '2' || s[1] < '0' ||
	    s[1] > '9' || s[3] < '0' || s[3] > '5' || s[4] < '0' || s[4] > '9')
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	return h > 24 || (h == 24 && m) ? -1 : h * 60 + m;
}

/* One group "DAYS SPAN..." of [g, end) into week; named[] marks its days. */
static int group_parse(const char *g, const char *end, struct calendar_day *week, bool named[7],
		       char *why, size_t cap)
{
	char w[32];
	const char *p = g, *dash;
	struct calendar_day hours = {.n = 0};
	int first, last;

	if (!word(&p, end, w, sizeof(w)))
		return kf_refuse(why, cap, "an empty group");
	dash = strchr(w, '-');
	first = day_index(w, dash ? (size_t)(dash - w) : strlen(w));
	last = dash ? day_index(dash + 1, strlen(dash + 1)) : first;
	if (first < 0 || last < 0)
		return kf_refuse(why, cap, "\"%s\" is not a day (mon..sun) or a range (mon-fri)", w);
	while (word(&p, end, w, sizeof(w))) {
		char *to = strchr(w, '-');
		int a, b;

		if (!to)
			return kf_refuse(why, cap, "\"%s\" is not a span HH:MM-HH:MM", w);
		*to++ = '\0';
		a = clock_min(w);
		b = clock_min(to);
		if (a < 0 || b < 0 || a >= b)
			return kf_refuse(why, cap, "\"%s-%s\" is not a span HH:MM-HH:MM of one day",
				      w, to);
		if (hours.n && a < hours.span[hours.n - 1].to)
			return kf_refuse(why, cap, "span %s-%s overlaps or precedes the one before",
				      w, to);
		if (hours.n == CALENDAR_SPANS_MAX)
			return kf_refuse(why, cap, "more than %d spans in a day", CALENDAR_SPANS_MAX);
		hours.span[hours.n++] = (struct calendar_span){(uint16_t)a, (uint16_t)b};
	}
	if (!hours.n)
		return kf_refuse(why, cap, "%s has no span HH:MM-HH:MM", day_names[first]);
	for (int d = first;; d = (d + 1) % 7) {
		if (named[d])
			return kf_refuse(why, cap, "%s is named twice", day_names[d]);
		named[d] = true;
		week[d] = hours;
		if (d == last)
			break;
	}
	return 0;
}

int calendar_parse(const char *text, size_t len, struct calendar *c, char *why, size_t cap)
{
	struct calendar_day week[7];
	bool named[7] = {false};
	const char *p = text, *end = text + len;
	size_t lead = 0, tail = len;
	int err, open = -1;

	while (lead < len && text[lead] == ' ')
		lead++;
	while (tail > lead && text[tail - 1] == ' ')
		tail--;
	if (len > CALENDAR_SPEC_MAX)
		return kf_refuse(why, cap, "longer than %d bytes", CALENDAR_SPEC_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] >= 0x7f)
			return kf_refuse(why, cap, "a character that is not printable ASCII");
	if (tail == lead)
		return kf_refuse(why, cap, "no hours: always, or days and spans (mon-fri 09:00-18:00)");
	if (tail - lead == 6 && memcmp(text + lead, "always", 6) == 0) {
		calendar_always(c);
		return 0;
	}
	memset(week, 0, sizeof(week));
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *g_end = semi ? semi : end;

		if ((err = group_parse(p, g_end, week, named, why, cap)))
			return err;
		p = semi ? semi + 1 : end;
	}
	for (int d = 0; d < 7 && open < 0; d++)
		if (week[d].n)
			open = d;
	if (open < 0)
		return kf_refuse(why, cap, "open no minute of the week");
	memset(c, 0, sizeof(*c));
	memcpy(c->week, week, sizeof(week));
	c->makeup = week[open];
	return 0;
}

/* ---- holidays ---- */

static int date_cmp(const void *a, const void *b)
{
	const struct calendar_date *x = a, *y = b;

	return (x->day > y->day) - (x->day < y->day);
}

static bool date_parse(const char *s, int32_t *day)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y = 0, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	for (int i = 0; i < 4; i++)
		y = y * 10 + (s[i] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1970 || y > 2200 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return false;
	*day = day_of(y, m, d);
	return true;
}

/* One line "YYYY-MM-DD closed|workday" of [p, end) into *out. */
static int line_parse(const char *p, const char *end, struct calendar_date *out, unsigned line,
		      char *why, size_t cap)
{
	char date[16], kind[16], extra[8];

	if (!word(&p, end, date, sizeof(date)) || !date_parse(date, &out->day))
		return kf_refuse(why, cap, "line %u: \"%s\" is not a date YYYY-MM-DD", line, date);
	if (!word(&p, end, kind, sizeof(kind)) ||
	    (strcmp(kind, "closed") != 0 && strcmp(kind, "workday") != 0))
		return kf_refuse(why, cap, "line %u: after the date, closed or workday", line);
	if (word(&p, end, extra, sizeof(extra)))
		return kf_refuse(why, cap, "line %u: more than a date and closed or workday", line);
	out->workday = strcmp(kind, "workday") == 0;
	return 0;
}

int calendar_holidays(struct calendar *c, const char *text, size_t len, char *why, size_t cap)
{
	struct calendar_date *dates;
	const char *p = text, *end = text + len;
	size_t n = 0;
	unsigned line = 0;
	int err = 0;

	if (len > CALENDAR_FILE_MAX) {
		kf_refuse(why, cap, "longer than %d bytes", CALENDAR_FILE_MAX);
		return KF_ETOOBIG;
	}
	dates = malloc(sizeof(*dates) * CALENDAR_DATES_MAX);
	if (!dates)
		abort();
	while (p < end && !err) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *l_end = nl ? nl : end, *q = p;

		line++;
		while (q < l_end && (*q == ' ' || *q == '\t' || *q == '\r'))
			q++;
		if (q < l_end && *q != '#') {
			const char *e = l_end;

			while (e > q && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
				e--;
			if (memchr(q, '\t', (size_t)(e - q)))
				err = kf_refuse(why, cap, "line %u: separate with spaces, not tabs", line);
			else if (n < CALENDAR_DATES_MAX)
				err = line_parse(q, e, &dates[n++], line, why, cap);
			else if (kf_refuse(why, cap, "more than %d dates", CALENDAR_DATES_MAX))
				err = KF_ETOOBIG;
		}
		p = nl ? nl + 1 : end;
	}
	if (!err) {
		qsort(dates, n, sizeof(*dates), date_cmp);
		for (size_t i = 1; i < n && !err; i++)
			if (dates[i].day == dates[i - 1].day) {
				int y, m, d;

				date_of(dates[i].day, &y, &m, &d);
				err = kf_refuse(why, cap, "%04d-%02d-%02d is listed twice", y, m, d);
			}
	}
	if (!err) {
		memcpy(c->dates, dates, n * sizeof(*dates));
		c->ndates = n;
	}
	free(dates);
	return err;
}
