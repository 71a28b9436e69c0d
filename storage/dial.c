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

int dial_dnc_put(struct batch *b, const Kefu__DncEntry *e)
{
	struct key k;
	size_t n = kefu__dnc_entry__get_packed_size(e);
	uint8_t *buf;
	int err;

	if ((err = dnc_key(&k, e->msisdn)))
		return err;
	buf = malloc(n ? n : 1);
	if (!buf)
		abort();
	kefu__dnc_entry__pack(e, buf);
	err = batch_put(b, STORE_DIAL, k.b, k.len, buf, n);
	free(buf);
	return err;
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
