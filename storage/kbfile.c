/* The knowledge base's import format. See kbfile.h. */
#include "storage/kbfile.h"

#include "lib/err.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WORDS_MAX 32

static int num(const char *s, size_t n, unsigned *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return KF_EPARSE;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return 0;
}

static bool leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int kbfile_time(const char *s, size_t n, uint64_t *ms)
{
	static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned y, mo, d, h, mi, sec, frac = 0, oh = 0, om = 0;
	size_t i = 19;
	int sign = 0;
	int64_t days, t;

	if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    s[13] != ':' || s[16] != ':' || num(s, 4, &y) || num(s + 5, 2, &mo) ||
	    num(s + 8, 2, &d) || num(s + 11, 2, &h) || num(s + 14, 2, &mi) ||
	    num(s + 17, 2, &sec))
		return KF_EPARSE;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && leap(y) ? 1u : 0u) || h > 23 || mi > 59 || sec > 60)
		return KF_EPARSE;
	if (s[i] == '.') {
		size_t digits = 0;

		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++)
			if (digits < 3)
				frac = frac * 10 + (unsigned)(s[i] - '0');
		if (digits == 0)
			return KF_EPARSE;
		for (; digits < 3; digits++)
			frac *= 10;
	}
	if (i < n && (s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
		sign = 0;
	} else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':' &&
		   !num(s + i + 1, 2, &oh) && !num(s + i + 4, 2, &om) && oh <= 23 && om <= 59) {
		sign = s[i] == '+' ? 1 : -1;
	} else {
		return KF_EPARSE;
	}
	/* Days since 1970-01-01 of the civil date. */
	days = 0;
	for (unsigned yy = 1970; yy < y; yy++)
		days += leap(yy) ? 366 : 365;
	for (unsigned m = 1; m < mo; m++)
		days += mdays[m - 1] + (m == 2 && leap(y) ? 1 : 0);
	days += d - 1;
	t = days * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + (sec > 59 ? 59 : sec);
	t -= sign * ((int64_t)oh * 3600 + (int64_t)om * 60);
	if (t < 0 || y > 9999)
		return KF_EPARSE;
	*ms = (uint64_t)t * 1000 + frac;
	return 0;
}

__attribute__((format(printf, 3, 4)))
static int refuse(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (why && cap) {
		va_start(ap, fmt);
		vsnprintf(why, cap, fmt, ap);
		va_end(ap);
	}
	return KF_EPARSE;
}

static char *dup_str(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (!d)
		abort();
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* A string value without NUL bytes. */
static int text(json_t *v, const char *key, char **out, char *why, size_t cap)
{
	const char *s;
	size_t n;

	if (!json_is_string(v))
		return refuse(why, cap, "\"%s\" is not a string", key);
	s = json_string_value(v);
	n = json_string_length(v);
	if (memchr(s, '\0', n))
		return refuse(why, cap, "\"%s\" holds a NUL character", key);
	*out = dup_str(s, n);
	return 0;
}

static int words(json_t *v, const char *key, char ***out, size_t *n, char *why, size_t cap)
{
	size_t i;
	json_t *w;
	int err;

	if (!json_is_array(v))
		return refuse(why, cap, "\"%s\" is not a list of strings", key);
	if (json_array_size(v) > WORDS_MAX)
		return refuse(why, cap, "\"%s\" has more than %d entries", key, WORDS_MAX);
	*out = calloc(json_array_size(v) + 1, sizeof(**out));
	if (!*out)
		abort();
	json_array_foreach(v, i, w) {
		if ((err = text(w, key, &(*out)[i], why, cap)))
			return err;
		(*n)++;
	}
	return 0;
}

static int when(json_t *v, const char *key, uint64_t *ms, char *why, size_t cap)
{
	if (json_is_null(v)) {
		*ms = 0;
		return 0;
	}
	if (!json_is_string(v) ||
	    kbfile_time(json_string_value(v), json_string_length(v), ms))
		return refuse(why, cap, "\"%s\" is not an RFC 3339 time such as "
			      "2026-12-01T08:00:00+08:00", key);
	return 0;
}

static int field(Kefu__KbArticleIn *a, const char *key, json_t *v, char *why, size_t cap)
{
	if (strcmp(key, "title") == 0)
		return text(v, key, &a->title, why, cap);
	if (strcmp(key, "body") == 0)
		return text(v, key, &a->body, why, cap);
	if (strcmp(key, "category") == 0)
		return text(v, key, &a->category, why, cap);
	if (strcmp(key, "state") == 0)
		return text(v, key, &a->state, why, cap);
	if (strcmp(key, "author") == 0)
		return text(v, key, &a->author, why, cap);
	if (strcmp(key, "ref") == 0)
		return text(v, key, &a->client_ref, why, cap);
	if (strcmp(key, "keywords") == 0)
		return words(v, key, &a->keywords, &a->n_keywords, why, cap);
	if (strcmp(key, "tags") == 0)
		return words(v, key, &a->tags, &a->n_tags, why, cap);
	if (strcmp(key, "cities") == 0)
		return words(v, key, &a->cities, &a->n_cities, why, cap);
	if (strcmp(key, "valid_from") == 0)
		return when(v, key, &a->valid_from_ms, why, cap);
	if (strcmp(key, "valid_to") == 0)
		return when(v, key, &a->valid_to_ms, why, cap);
	if (strcmp(key, "review_by") == 0)
		return when(v, key, &a->review_by_ms, why, cap);
	if (strcmp(key, "id") == 0) {
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			return refuse(why, cap, "\"id\" is not an article id (a number from 1)");
		a->id = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (strcmp(key, "tiers") == 0) {
		size_t i;
		json_t *t;

		if (!json_is_array(v) || json_array_size(v) > WORDS_MAX)
			return refuse(why, cap, "\"tiers\" is not a list of at most %d tier numbers",
				      WORDS_MAX);
		a->tiers = calloc(json_array_size(v) + 1, sizeof(*a->tiers));
		if (!a->tiers)
			abort();
		json_array_foreach(v, i, t) {
			if (!json_is_integer(t) || json_integer_value(t) < 0 ||
			    json_integer_value(t) > 99)
				return refuse(why, cap, "\"tiers\" holds %s, not a tier number 0..99",
					      json_is_integer(t) ? "a number out of range"
								 : "something else");
			a->tiers[a->n_tiers++] = (uint32_t)json_integer_value(t);
		}
		return 0;
	}
	return refuse(why, cap, "\"%.40s\" is not a key of the import format", key);
}

int kbfile_line(const char *line, size_t len, Kefu__KbArticleIn **out, char *why, size_t cap)
{
	Kefu__KbArticleIn *a;
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	int err = 0;

	*out = NULL;
	if (len > KBFILE_LINE_MAX) {
		refuse(why, cap, "the line is over %d KiB", KBFILE_LINE_MAX / 1024);
		return KF_ETOOBIG;
	}
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!root)
		return refuse(why, cap, "not JSON: %s (column %d)", jerr.text, jerr.column);
	if (!json_is_object(root)) {
		json_decref(root);
		return refuse(why, cap, "not a JSON object");
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		abort();
	kefu__kb_article_in__init(a);
	json_object_foreach(root, key, v) {
		if ((err = field(a, key, v, why, cap)))
			break;
	}
	json_decref(root);
	if (!err && (!a->title || !*a->title))
		err = refuse(why, cap, "\"title\" is required");
	if (!err && (!a->body || !*a->body))
		err = refuse(why, cap, "\"body\" is required");
	if (!err && (!a->category || !*a->category))
		err = refuse(why, cap, "\"category\" is required");
	if (!err && a->state && strcmp(a->state, "draft") && strcmp(a->state, "review") &&
	    strcmp(a->state, "published"))
		err = refuse(why, cap, "\"state\" is draft, review or published");
	if (!err && a->valid_from_ms && a->valid_to_ms && a->valid_to_ms <= a->valid_from_ms)
		err = refuse(why, cap, "\"valid_to\" is not after \"valid_from\"");
	a->has_id = a->id != 0;
	a->has_valid_from_ms = a->valid_from_ms != 0;
	a->has_valid_to_ms = a->valid_to_ms != 0;
	a->has_review_by_ms = a->review_by_ms != 0;
	if (err) {
		kefu__kb_article_in__free_unpacked(a, NULL);
		return err;
	}
	*out = a;
	return 0;
}
