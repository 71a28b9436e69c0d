/* Counters and the JSON summary of `kefu-sim traffic`. See traffic_stats.h. */
#include "tests/sim/traffic_stats.h"

#include "lib/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void traffic_stats_init(struct traffic_stats *s, const uint64_t sl_ms[TRAFFIC_TIERS])
{
	memset(s, 0, sizeof(*s));
	memcpy(s->sl_ms, sl_ms, sizeof(s->sl_ms));
}

void traffic_stats_release(struct traffic_stats *s)
{
	free(s->lat);
	s->lat = NULL;
	s->nlat = s->caplat = 0;
}

void traffic_stats_answered(struct traffic_stats *s, unsigned tier, uint64_t wait_ms)
{
	struct traffic_tier_stats *t = &s->tier[tier < TRAFFIC_TIERS ? tier : 0];

	t->answered++;
	t->wait_ms += wait_ms;
	t->answered_in_sl += wait_ms <= s->sl_ms[tier < TRAFFIC_TIERS ? tier : 0];
}

void traffic_stats_latency(struct traffic_stats *s, uint64_t ms)
{
	traffic_stats_latency_us(s, ms * 1000, false);
}

void traffic_stats_latency_us(struct traffic_stats *s, uint64_t us, bool at_once)
{
	if (us > s->lat_max)
		s->lat_max = us;
	if (s->nlat == s->caplat) {
		if (s->caplat == TRAFFIC_LATENCY_MAX)
			return;
		s->caplat = s->caplat ? s->caplat * 2 : 1024;
		s->lat = realloc(s->lat, s->caplat * sizeof(*s->lat));
		if (!s->lat)
			abort();
	}
	s->lat[s->nlat++] = us;
	s->lat_at_once += at_once;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int traffic_stats_percentile_us(struct traffic_stats *s, unsigned permille, uint64_t *out)
{
	size_t rank;

	if (s->nlat == 0)
		return KF_ENOTFOUND;
	qsort(s->lat, s->nlat, sizeof(*s->lat), cmp_u64);
	/* Nearest rank: the smallest sample with at least permille/1000 of them at or below. */
	rank = (s->nlat * (permille > 1000 ? 1000 : permille) + 999) / 1000;
	*out = s->lat[rank ? rank - 1 : 0];
	return 0;
}

static uint64_t us_to_ms(uint64_t us)
{
	return (us + 500) / 1000;
}

int traffic_stats_percentile(struct traffic_stats *s, unsigned permille, uint64_t *out)
{
	int r = traffic_stats_percentile_us(s, permille, out);

	if (r == 0)
		*out = us_to_ms(*out);
	return r;
}

static json_t *ratio_or_null(uint64_t num, uint64_t den)
{
	return den ? json_real((double)num / (double)den) : json_null();
}

static json_t *tier_json(const struct traffic_tier_stats *t)
{
	return json_pack("{s:I, s:I, s:I, s:o, s:o, s:I, s:I}", "offered", (json_int_t)t->offered,
			 "answered", (json_int_t)t->answered, "abandoned", (json_int_t)t->abandoned,
			 "service_level", ratio_or_null(t->answered_in_sl, t->offered), "asa_ms",
			 t->answered ? json_integer((json_int_t)(t->wait_ms / t->answered))
				     : json_null(),
			 "overflowed", (json_int_t)t->overflowed, "queued", (json_int_t)t->queued);
}

static json_t *percentile_json(struct traffic_stats *s, unsigned permille, bool us)
{
	uint64_t v;

	if (traffic_stats_percentile_us(s, permille, &v))
		return json_null();
	return json_integer((json_int_t)(us ? v : us_to_ms(v)));
}

/* {p50, p90, p99, max, samples, at_once} in us: the figures behind route_latency_ms. */
static json_t *latency_us_json(struct traffic_stats *s)
{
	json_t *j = json_pack("{s:o, s:o, s:o, s:o, s:I, s:I}", "p50", percentile_json(s, 500, true),
			      "p90", percentile_json(s, 900, true), "p99",
			      percentile_json(s, 990, true), "max",
			      s->nlat ? json_integer((json_int_t)s->lat_max) : json_null(), "samples",
			      (json_int_t)s->nlat, "at_once", (json_int_t)s->lat_at_once);

	if (!j)
		abort();
	return j;
}

json_t *traffic_stats_json(struct traffic_stats *s)
{
	json_t *tiers = json_object(), *j;
	char key[4];

	if (!tiers)
		abort();
	for (unsigned i = 0; i < TRAFFIC_TIERS; i++) {
		snprintf(key, sizeof(key), "%u", i);
		if (json_object_set_new(tiers, key, tier_json(&s->tier[i])))
			abort();
	}
	j = json_pack("{s:o, s:{s:o, s:o, s:o, s:I}, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		      "s:I}",
		      "tiers", tiers, "route_latency_ms", "p50", percentile_json(s, 500, false), "p99",
		      percentile_json(s, 990, false), "max",
		      s->nlat ? json_integer((json_int_t)us_to_ms(s->lat_max)) : json_null(), "samples",
		      (json_int_t)s->nlat, "route_latency_us", latency_us_json(s),
		      "lost_calls", (json_int_t)s->lost_calls, "double_offers",
		      (json_int_t)s->double_offers, "offers", (json_int_t)s->offers, "no_answers",
		      (json_int_t)s->no_answers, "busy_offers", (json_int_t)s->busy_offers,
		      "tier_mismatches", (json_int_t)s->tier_mismatches, "errors",
		      (json_int_t)s->errors, "reconnects", (json_int_t)s->reconnects, "busy",
		      (json_int_t)s->busy);
	if (!j)
		abort();
	return j;
}
