/* Listings from a cursor. See listing.h. */
#include "storage/listing.h"

#include "lib/err.h"

#include <stdint.h>

struct walk {
	const void *after;   /* NULL once no key can be at or before it */
	size_t alen;
	size_t left;         /* records still to take; SIZE_MAX: no limit */
	listing_fn fn;
	void *arg;
};

/* One key of the scan: past the cursor, through the visitor, counted. */
static int walk_visit(void *arg, const struct store_val *k, const struct store_val *v)
{
	struct walk *w = arg;
	int rc;

	if (w->after) {
		if (store_key_cmp(k->data, k->len, w->after, w->alen) <= 0)
			return 0;
		w->after = NULL; /* keys come in order: the rest are past it */
	}
	rc = w->fn(w->arg, k, v);
	if (rc == LISTING_SKIP)
		return 0;
	if (rc != 0)
		return rc < 0 ? rc : LISTING_STOP;
	if (w->left != SIZE_MAX && --w->left == 0)
		return LISTING_STOP;
	return 0;
}

/* later - *s becomes k when k sorts after it (a NULL *s sorts first). */
static void later(const void **s, size_t *slen, const void *k, size_t klen)
{
	if (k && (!*s || store_key_cmp(k, klen, *s, *slen) > 0)) {
		*s = k;
		*slen = klen;
	}
}

int listing_scan(struct store_txn *t, const struct listing *l, listing_fn fn, void *arg)
{
	struct walk w = {NULL, 0, l->limit ? l->limit : SIZE_MAX, fn, arg};
	const void *start = NULL;
	size_t slen = 0;

	later(&start, &slen, l->plen ? l->prefix : NULL, l->plen);
	later(&start, &slen, l->from, l->flen);
	/* The cursor counts only when it is at or past where the listing would
	 * start anyway; then the scan starts at it and passes it over. */
	if (l->after && (!start || store_key_cmp(l->after, l->alen, start, slen) >= 0)) {
		w.after = l->after;
		w.alen = l->alen;
		start = l->after;
		slen = l->alen;
	}
	return store_scan(t, l->table, l->prefix, l->plen, start, slen, false, walk_visit, &w);
}

struct msgs {
	const ProtobufCMessageDescriptor *desc;
	listing_msg_fn fn;
	void *arg;
};

static int msgs_visit(void *arg, const struct store_val *k, const struct store_val *v)
{
	struct msgs *m = arg;
	ProtobufCMessage *msg = protobuf_c_message_unpack(m->desc, NULL, v->len, v->data);
	int rc;

	(void)k;
	if (!msg)
		return KF_ECORRUPT;
	rc = m->fn(m->arg, msg);
	protobuf_c_message_free_unpacked(msg, NULL);
	return rc;
}

int listing_scan_msgs(struct store_txn *t, const struct listing *l,
		      const ProtobufCMessageDescriptor *desc, listing_msg_fn fn, void *arg)
{
	struct msgs m = {desc, fn, arg};

	return listing_scan(t, l, msgs_visit, &m);
}
