/* Outbound dialing's table. See dial.h. */
#include "storage/dial.h"

#include "lib/err.h"
#include "storage/audit.h"
#include "storage/keys.h"
#include "storage/listing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG_DNC "n"
#define TAG_CAMPAIGN "c"
#define TAG_CONTACT "k"

bool dial_msisdn_is_valid(const char *msisdn)
{
	size_t n = msisdn ? strlen(msisdn) : 0;

	return n >= 5 && n <= DIAL_MSISDN_MAX && strspn(msisdn, "0123456789") == n;
}

int dial_dnc_check(const Kefu__DncEntry *e, char *why, size_t cap)
{
	const char *what = NULL;

	if (!dial_msisdn_is_valid(e->msisdn))
		what = "the number is 5 to 20 digits";
	else if (!e->source || (strcmp(e->source, "company") && strcmp(e->source, "customer")))
		what = "the source is company or customer";
	else if (!audit_text_is_valid(e->reason, DIAL_REASON_MAX) ||
		 !audit_text_is_valid(e->by, AUDIT_AGENT_MAX))
		what = "the reason is text of at most 256 bytes";
	if (!what)
		return 0;
	if (why && cap)
		snprintf(why, cap, "%s", what);
	return KF_EPARSE;
}

static int dnc_key(struct key *k, const char *msisdn)
{
	if (!dial_msisdn_is_valid(msisdn))
		return KF_EPARSE;
	key_init(k);
	key_add_str(k, TAG_DNC);
	key_add_str(k, msisdn);
	return 0;
}

int dial_dnc_get(struct store_txn *t, const char *msisdn, Kefu__DncEntry **out)
{
	struct key k;
	struct store_val v;
	int err;

	*out = NULL;
	if ((err = dnc_key(&k, msisdn)) || (err = store_get(t, STORE_DIAL, k.b, k.len, &v)))
		return err;
	*out = kefu__dnc_entry__unpack(NULL, v.len, v.data);
	return *out ? 0 : KF_ECORRUPT;
}

int dial_dnc_blocks(struct store_txn *t, const char *msisdn, bool *blocked)
{
	struct key k;
	struct store_val v;
	int err;

	*blocked = true;
	if ((err = dnc_key(&k, msisdn)))
		return err;
	err = store_get(t, STORE_DIAL, k.b, k.len, &v);
	if (err == KF_ENOTFOUND) {
		*blocked = false;
		return 0;
	}
	return err;
}

/* put - m packed under k. */
static int put_in(struct batch *b, enum store_table tb, const struct key *k,
		  const ProtobufCMessage *m)
{
	return batch_put_msg(b, tb, k->b, k->len, m);
}

static int put(struct batch *b, const struct key *k, const ProtobufCMessage *m)
{
	return put_in(b, STORE_DIAL, k, m);
}

int dial_dnc_put(struct batch *b, const Kefu__DncEntry *e)
{
	struct key k;
	int err = dnc_key(&k, e->msisdn);

	return err ? err : put(b, &k, &e->base);
}

int dial_dnc_del(struct batch *b, const char *msisdn)
{
	struct key k;
	int err = dnc_key(&k, msisdn);

	return err ? err : batch_del(b, STORE_DIAL, k.b, k.len);
}

struct list_ctx {
	dial_dnc_fn fn;
	void *arg;
};

static int list_one(void *arg, const ProtobufCMessage *m)
{
	struct list_ctx *c = arg;

	return c->fn(c->arg, (const Kefu__DncEntry *)m);
}

int dial_dnc_list(struct store_txn *t, const void *after, size_t alen, size_t limit,
		  dial_dnc_fn fn, void *arg)
{
	struct list_ctx c = {fn, arg};
	struct key prefix;
	struct listing l = {.table = STORE_DIAL, .after = after, .alen = after ? alen : 0,
			    .limit = limit};

	if (after && alen > DIAL_CURSOR_MAX)
		return KF_EPARSE;
	key_init(&prefix);
	key_add_str(&prefix, TAG_DNC);
	l.prefix = prefix.b;
	l.plen = prefix.len;
	return listing_scan_msgs(t, &l, &kefu__dnc_entry__descriptor, list_one, &c);
}

size_t dial_dnc_cursor(const Kefu__DncEntry *e, uint8_t out[DIAL_CURSOR_MAX])
{
	struct key k;

	if (dnc_key(&k, e->msisdn) || k.len > DIAL_CURSOR_MAX)
		return 0;
	memcpy(out, k.b, k.len);
	return k.len;
}

/* ---- campaigns ---- */

static bool one_of(const char *s, const char *const *set, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(s, set[i]) == 0)
			return true;
	return false;
}

#define ONE_OF(s, ...) one_of((s), (const char *const[]){__VA_ARGS__}, \
			      sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static Kefu__CampaignRetry *retry_new(const char *result, uint32_t max, uint64_t interval)
{
	Kefu__CampaignRetry *r = calloc(1, sizeof(*r));

	if (!r)
		abort();
	kefu__campaign_retry__init(r);
	r->result = strdup(result);
	if (!r->result)
		abort();
	r->has_max_attempts = r->has_interval_ms = 1;
	r->max_attempts = max;
	r->interval_ms = interval;
	return r;
}

void dial_campaign_defaults(Kefu__Campaign *c)
{
	if (!c->window || !*c->window) {
		free(c->window);
		c->window = strdup("08:00-21:00");
		if (!c->window)
			abort();
	}
	if (!c->has_weekdays_only && c->kind && strcmp(c->kind, "marketing") == 0) {
		c->has_weekdays_only = 1;
		c->weekdays_only = true;
	}
	if (!c->has_abandon_cap) {
		c->has_abandon_cap = 1;
		c->abandon_cap = 30;
	}
	if (!c->has_abandon_window_ms || !c->abandon_window_ms) {
		c->has_abandon_window_ms = 1;
		c->abandon_window_ms = 30ull * 86400000;
	}
	if (!c->n_retries) {
		c->retries = calloc(4, sizeof(*c->retries));
		if (!c->retries)
			abort();
		c->retries[c->n_retries++] = retry_new("busy", 3, 10 * 60000);
		c->retries[c->n_retries++] = retry_new("no_answer", 3, 60 * 60000);
		c->retries[c->n_retries++] = retry_new("machine", 2, 4 * 3600000);
		c->retries[c->n_retries++] = retry_new("failed", 2, 30 * 60000);
	}
}

int dial_window_parse(const char *w, unsigned *from, unsigned *to)
{
	unsigned v[4];

	if (!w || strlen(w) != 11 || w[2] != ':' || w[5] != '-' || w[8] != ':')
		return KF_EPARSE;
	for (int i = 0; i < 4; i++) {
		const char *p = w + (size_t)i * 3;

		if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
			return KF_EPARSE;
		v[i] = (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
	}
	if (v[0] > 23 || v[2] > 24 || v[1] > 59 || v[3] > 59 || (v[2] == 24 && v[3]))
		return KF_EPARSE;
	*from = v[0] * 60 + v[1];
	*to = v[2] * 60 + v[3];
	return *from < *to ? 0 : KF_EPARSE;
}

static bool name_ok(const char *n)
{
	size_t len = n ? strlen(n) : 0;

	if (len == 0 || len > DIAL_NAME_MAX || !((n[0] >= 'a' && n[0] <= 'z') ||
						 (n[0] >= '0' && n[0] <= '9')))
		return false;
	return strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == len;
}

int dial_campaign_check(const Kefu__Campaign *c, char *why, size_t cap)
{
	unsigned from, to;
	const char *what = NULL;

	if (!name_ok(c->name))
		what = "the name is 1 to 32 of a-z 0-9 _ . - (a letter or digit first)";
	else if (!ONE_OF(c->kind, "arrears", "visit", "care", "marketing", "callback"))
		what = "the kind is arrears, visit, care, marketing or callback";
	else if (!ONE_OF(c->mode, "preview", "progressive", "predictive"))
		what = "the mode is preview, progressive or predictive";
	else if (!ONE_OF(c->source, "query", "file", "callbacks", "visits"))
		what = "the contacts come from --query, --file, --from callbacks or --from visits";
	else if (strcmp(c->source, "query") == 0 &&
		 (!c->query || !*c->query || !audit_text_is_valid(c->query, DIAL_QUERY_MAX)))
		what = "the query is text of 1 to 1024 bytes";
	else if (dial_window_parse(c->window, &from, &to))
		what = "the window is HH:MM-HH:MM in local time, its start before its end";
	else if (c->abandon_cap > 1000)
		what = "the abandonment cap is a fraction of at most 1 (0.03 is 3%)";
	else if (c->abandon_window_ms != 86400000ull && c->abandon_window_ms != 30ull * 86400000)
		what = "the abandonment window is 24h or 30d";
	else if (c->caller_id && (!*c->caller_id || strspn(c->caller_id, "0123456789") !=
							     strlen(c->caller_id)))
		what = "the caller id is a number";
	for (size_t i = 0; !what && i < c->n_retries; i++)
		if (!ONE_OF(c->retries[i]->result, "busy", "no_answer", "machine", "failed") ||
		    c->retries[i]->max_attempts > 20)
			what = "a retry rule names busy, no_answer, machine or failed, with at most 20 "
			       "attempts";
	if (!what)
		return 0;
	if (why && cap)
		snprintf(why, cap, "%s", what);
	return KF_EPARSE;
}

static int campaign_key(struct key *k, const char *name)
{
	key_init(k);
	key_add_str(k, TAG_CAMPAIGN);
	key_add_str(k, name ? name : "");
	return key_ok(k) ? 0 : KF_ETOOBIG;
}

int dial_campaign_get(struct store_txn *t, const char *name, Kefu__Campaign **out)
{
	struct key k;
	struct store_val v;
	int err;

	*out = NULL;
	if ((err = campaign_key(&k, name)) || (err = store_get(t, STORE_DIAL, k.b, k.len, &v)))
		return err;
	*out = kefu__campaign__unpack(NULL, v.len, v.data);
	return *out ? 0 : KF_ECORRUPT;
}

int dial_campaign_put(struct batch *b, const Kefu__Campaign *c)
{
	struct key k;
	int err = campaign_key(&k, c->name);

	return err ? err : put(b, &k, &c->base);
}

struct each_ctx {
	int (*fn)(void *arg, const void *m);
	void *arg;
};

static int each_msg(void *arg, const ProtobufCMessage *m)
{
	struct each_ctx *c = arg;

	return c->fn(c->arg, m);
}

int dial_campaigns_each(struct store_txn *t, dial_campaign_fn fn, void *arg)
{
	struct each_ctx c = {(int (*)(void *, const void *))fn, arg};
	struct key prefix;
	struct listing l = {.table = STORE_DIAL};

	key_init(&prefix);
	key_add_str(&prefix, TAG_CAMPAIGN);
	l.prefix = prefix.b;
	l.plen = prefix.len;
	return listing_scan_msgs(t, &l, &kefu__campaign__descriptor, each_msg, &c);
}

static int contact_key(struct key *k, const char *campaign, uint64_t seq)
{
	char num[24];

	snprintf(num, sizeof(num), "%010llu", (unsigned long long)seq);
	key_init(k);
	key_add_str(k, TAG_CONTACT);
	key_add_str(k, campaign ? campaign : "");
	if (seq)
		key_add_str(k, num);
	return key_ok(k) ? 0 : KF_ETOOBIG;
}

int dial_contact_put(struct batch *b, const Kefu__CampaignContact *k)
{
	struct key key;
	int err = k->seq ? contact_key(&key, k->campaign, k->seq) : KF_EPARSE;

	return err ? err : put(b, &key, &k->base);
}

int dial_contacts_each(struct store_txn *t, const char *campaign, dial_contact_fn fn, void *arg)
{
	struct each_ctx c = {(int (*)(void *, const void *))fn, arg};
	struct key prefix;
	struct listing l = {.table = STORE_DIAL};
	int err = contact_key(&prefix, campaign, 0);

	if (err)
		return err;
	l.prefix = prefix.b;
	l.plen = prefix.len;
	return listing_scan_msgs(t, &l, &kefu__campaign_contact__descriptor, each_msg, &c);
}

int dial_contact_get(struct store_txn *t, const char *campaign, uint64_t seq,
		     Kefu__CampaignContact **out)
{
	struct key k;
	struct store_val v;
	int err;

	*out = NULL;
	if (!seq)
		return KF_ENOTFOUND;
	if ((err = contact_key(&k, campaign, seq)) ||
	    (err = store_get(t, STORE_DIAL, k.b, k.len, &v)))
		return err;
	*out = kefu__campaign_contact__unpack(NULL, v.len, v.data);
	return *out ? 0 : KF_ECORRUPT;
}

static int attempt_key(struct key *k, const char *campaign, const char *id)
{
	key_init(k);
	key_add_str(k, campaign ? campaign : "");
	if (id)
		key_add_str(k, id);
	return key_ok(k) ? 0 : KF_ETOOBIG;
}

int dial_attempt_get(struct store_txn *t, const char *campaign, const char *id,
		     Kefu__DialAttempt **out)
{
	struct key k;
	struct store_val v;
	int err;

	*out = NULL;
	if (!id || !*id || strlen(id) > DIAL_ATTEMPT_ID_MAX)
		return KF_ENOTFOUND;
	if ((err = attempt_key(&k, campaign, id)) ||
	    (err = store_get(t, STORE_DIAL_ATT, k.b, k.len, &v)))
		return err;
	*out = kefu__dial_attempt__unpack(NULL, v.len, v.data);
	return *out ? 0 : KF_ECORRUPT;
}

int dial_attempt_put(struct batch *b, const Kefu__DialAttempt *a)
{
	struct key k;
	int err;

	if (!a->id || !*a->id || strlen(a->id) > DIAL_ATTEMPT_ID_MAX)
		return KF_EPARSE;
	err = attempt_key(&k, a->campaign, a->id);
	return err ? err : put_in(b, STORE_DIAL_ATT, &k, &a->base);
}

int dial_attempts_each(struct store_txn *t, const char *campaign, dial_attempt_fn fn, void *arg)
{
	struct each_ctx c = {(int (*)(void *, const void *))fn, arg};
	struct key prefix;
	struct listing l = {.table = STORE_DIAL_ATT};
	int err = attempt_key(&prefix, campaign, NULL);

	if (err)
		return err;
	l.prefix = prefix.b;
	l.plen = prefix.len;
	return listing_scan_msgs(t, &l, &kefu__dial_attempt__descriptor, each_msg, &c);
}
