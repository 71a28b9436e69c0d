/* Callback requests, the dialer's work list. See callback.h. */
#include "storage/callback.h"

#include "lib/err.h"
#include "storage/audit.h"
#include "storage/keys.h"
#include "storage/listing.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG_RECORD "r"
#define TAG_PENDING "p"
#define PACK_MAX 2048 /* the largest valid request packs to well under 1 KiB */

static int refuse(char *why, size_t cap, const char *field)
{
	if (why && cap)
		snprintf(why, cap, "callback request: bad or missing %s", field);
	return KF_EPARSE;
}

static bool status_ok(Kefu__CallbackRequest__Status st)
{
	return st == KEFU__CALLBACK_REQUEST__STATUS__PENDING ||
	       st == KEFU__CALLBACK_REQUEST__STATUS__DIALED ||
	       st == KEFU__CALLBACK_REQUEST__STATUS__DONE ||
	       st == KEFU__CALLBACK_REQUEST__STATUS__CANCELLED;
}

/* id is exactly gateway ":" call_id, both non-empty. */
static bool id_ok(const Kefu__CallbackRequest *rq)
{
	size_t n = rq->id ? strnlen(rq->id, CALLBACK_ID_MAX + 1) : 0;
	size_t g = rq->gateway ? strlen(rq->gateway) : 0;

	if (n == 0 || n > CALLBACK_ID_MAX || !g || !rq->call_id || !*rq->call_id ||
	    !audit_text_is_valid(rq->id, CALLBACK_ID_MAX))
		return false;
	return n == g + 1 + strlen(rq->call_id) && memcmp(rq->id, rq->gateway, g) == 0 &&
	       rq->id[g] == ':' && strcmp(rq->id + g + 1, rq->call_id) == 0;
}

int callback_check(const Kefu__CallbackRequest *rq, char *why, size_t cap)
{
	static const struct {
		size_t off;
		bool required;
		const char *name;
	} texts[] = {
		{offsetof(Kefu__CallbackRequest, ani), true, "ani"},
		{offsetof(Kefu__CallbackRequest, node), true, "node"},
		{offsetof(Kefu__CallbackRequest, user_id), false, "user_id"},
		{offsetof(Kefu__CallbackRequest, skill), false, "skill"},
		{offsetof(Kefu__CallbackRequest, service), false, "service"},
	};

	if (!id_ok(rq))
		return refuse(why, cap, "id, gateway or call_id");
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		const char *s = *(char *const *)((const char *)rq + texts[i].off);

		if ((texts[i].required && (!s || !*s)) ||
		    !audit_text_is_valid(s, CALLBACK_TEXT_MAX))
			return refuse(why, cap, texts[i].name);
	}
	if (!rq->has_requested_ms || rq->requested_ms == 0)
		return refuse(why, cap, "requested_ms");
	if (rq->has_vip_level && rq->vip_level > CALLBACK_VIP_MAX)
		return refuse(why, cap, "vip_level");
	if (rq->has_status && !status_ok(rq->status))
		return refuse(why, cap, "status");
	return 0;
}

static int record_key(struct key *k, const char *id)
{
	key_init(k);
	key_add_str(k, TAG_RECORD);
	return key_add_str(k, id);
}

static void pending_key(struct key *k, const Kefu__CallbackRequest *rq)
{
	char ms[24];

	snprintf(ms, sizeof(ms), "%020" PRIu64, rq->requested_ms);
	key_init(k);
	key_add_str(k, TAG_PENDING);
	key_add_str(k, ms);
	key_add_str(k, rq->id);
}

size_t callback_cursor(const Kefu__CallbackRequest *rq, uint8_t out[CALLBACK_CURSOR_MAX])
{
	struct key k;

	if (callback_check(rq, NULL, 0))
		return 0;
	pending_key(&k, rq);
	if (!key_ok(&k) || k.len > CALLBACK_CURSOR_MAX)
		return 0;
	memcpy(out, k.b, k.len);
	return k.len;
}

/* Put rq's record, and its pending key when it is pending. */
static int put_request(struct batch *b, const Kefu__CallbackRequest *rq)
{
	uint8_t val[PACK_MAX];
	size_t vlen = kefu__callback_request__get_packed_size(rq);
	struct key k;
	int err;

	if (vlen > sizeof(val))
		return KF_ETOOBIG;
	kefu__callback_request__pack(rq, val);
	record_key(&k, rq->id);
	if ((err = batch_put(b, STORE_CALLBACK, k.b, k.len, val, vlen)))
		return err;
	if (rq->status != KEFU__CALLBACK_REQUEST__STATUS__PENDING)
		return 0;
	pending_key(&k, rq);
	return batch_put(b, STORE_CALLBACK, k.b, k.len, "", 0);
}

int callback_add(struct store_txn *t, const Kefu__CallbackRequest *rq, struct batch *b, char *why,
		 size_t cap)
{
	Kefu__CallbackRequest nr = *rq;
	struct store_val v;
	struct key k;
	int err = callback_check(rq, why, cap);

	if (err)
		return err;
	record_key(&k, rq->id);
	err = store_get(t, STORE_CALLBACK, k.b, k.len, &v);
	if (err == 0)
		return KF_EEXISTS;
	if (err != KF_ENOTFOUND)
		return err;
	nr.has_status = nr.has_attempts = nr.has_updated_ms = 1;
	nr.status = KEFU__CALLBACK_REQUEST__STATUS__PENDING;
	nr.attempts = 0;
	nr.updated_ms = rq->requested_ms;
	return put_request(b, &nr);
}

static int unpack(const struct store_val *v, Kefu__CallbackRequest **out)
{
	*out = kefu__callback_request__unpack(NULL, v->len, v->data);
	return *out ? 0 : KF_ECORRUPT;
}

int callback_get(struct store_txn *t, const char *id, Kefu__CallbackRequest **out)
{
	struct store_val v;
	struct key k;
	int err;

	if (!id || record_key(&k, id))
		return KF_ENOTFOUND;
	if ((err = store_get(t, STORE_CALLBACK, k.b, k.len, &v)))
		return err;
	return unpack(&v, out);
}

static bool is_final(Kefu__CallbackRequest__Status st)
{
	return st == KEFU__CALLBACK_REQUEST__STATUS__DONE ||
	       st == KEFU__CALLBACK_REQUEST__STATUS__CANCELLED;
}

int callback_set_status(struct store_txn *t, const char *id, Kefu__CallbackRequest__Status status,
			uint64_t now_ms, struct batch *b)
{
	Kefu__CallbackRequest *rq;
	struct key k;
	int err;

	if (!status_ok(status))
		return KF_EPARSE;
	if ((err = callback_get(t, id, &rq)))
		return err;
	if (is_final(rq->status)) {
		err = KF_ESTATE;
		goto out;
	}
	if (rq->status == KEFU__CALLBACK_REQUEST__STATUS__PENDING &&
	    status != KEFU__CALLBACK_REQUEST__STATUS__PENDING) {
		pending_key(&k, rq);
		if ((err = batch_del(b, STORE_CALLBACK, k.b, k.len)))
			goto out;
	}
	rq->has_status = rq->has_attempts = rq->has_updated_ms = 1;
	rq->status = status;
	rq->attempts += status == KEFU__CALLBACK_REQUEST__STATUS__DIALED;
	rq->updated_ms = now_ms;
	err = put_request(b, rq);
out:
	kefu__callback_request__free_unpacked(rq, NULL);
	return err;
}

struct list_ctx {
	struct store_txn *t;
	callback_list_fn fn;
	void *arg;
};

/* One pending key: its request, unless the key is a leftover (skipped). */
static int list_visit(void *arg, const struct store_val *k, const struct store_val *v)
{
	struct list_ctx *c = arg;
	const uint8_t *id;
	size_t idlen;
	char ids[CALLBACK_ID_MAX + 1];
	Kefu__CallbackRequest *rq;
	struct key pk;
	int rc;

	(void)v;
	if (key_part(k->data, k->len, 2, &id, &idlen) || idlen > CALLBACK_ID_MAX)
		return KF_ECORRUPT;
	memcpy(ids, id, idlen);
	ids[idlen] = '\0';
	rc = callback_get(c->t, ids, &rq);
	if (rc == KF_ENOTFOUND)
		return KF_ECORRUPT; /* a pending key without its request */
	if (rc)
		return rc;
	/* A leftover of a raced duplicate: the request is not this key's. */
	pending_key(&pk, rq);
	if (rq->status != KEFU__CALLBACK_REQUEST__STATUS__PENDING ||
	    store_key_cmp(pk.b, pk.len, k->data, k->len) != 0)
		rc = LISTING_SKIP;
	else
		rc = c->fn(c->arg, rq);
	kefu__callback_request__free_unpacked(rq, NULL);
	return rc;
}

int callback_list_pending(struct store_txn *t, const void *after, size_t alen, size_t limit,
			  callback_list_fn fn, void *arg)
{
	struct list_ctx c = {t, fn, arg};
	struct key prefix;
	struct listing l = {.table = STORE_CALLBACK, .after = after, .alen = after ? alen : 0,
			    .limit = limit};

	if (after && alen > CALLBACK_CURSOR_MAX)
		return KF_EPARSE;
	key_init(&prefix);
	key_add_str(&prefix, TAG_PENDING);
	l.prefix = prefix.b;
	l.plen = prefix.len;
	return listing_scan(t, &l, list_visit, &c);
}

const char *callback_status_name(Kefu__CallbackRequest__Status status)
{
	static const char *const names[] = {"pending", "dialed", "done", "cancelled"};

	return status_ok(status) ? names[status] : "?";
}
