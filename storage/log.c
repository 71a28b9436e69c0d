/*
 * The replicated log: entries in STORE_LOG, state in STORE_META. See log.h.
 *
 * Every change is built into a struct batch and applied with batch_apply:
 * the entry's batch first, then one small batch with the entry itself and
 * the state keys that changed.
 */
#include "storage/log.h"

#include "storage/kb.h"

#include "lib/err.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define LOG_META_PREFIX_LEN (sizeof(LOG_META_PREFIX) - 1)

/* The state keys: one row per field of struct log_state. */
static const struct {
	const char *key;
	size_t off;
	uint64_t absent; /* value of a key never written */
} log_meta_tab[] = {
	{LOG_META_PREFIX "applied_index", offsetof(struct log_state, applied_index), 0},
	{LOG_META_PREFIX "applied_epoch", offsetof(struct log_state, applied_epoch), 0},
	{LOG_META_PREFIX "epoch_seen", offsetof(struct log_state, epoch_seen), 0},
	{LOG_META_PREFIX "log_start", offsetof(struct log_state, log_start), 1},
	{LOG_META_PREFIX "open_group", offsetof(struct log_state, open_group), 0},
};
#define LOG_META_COUNT (sizeof(log_meta_tab) / sizeof(log_meta_tab[0]))

static uint64_t log_field_get(const struct log_state *st, size_t i)
{
	return *(const uint64_t *)((const char *)st + log_meta_tab[i].off);
}

static void log_field_set(struct log_state *st, size_t i, uint64_t v)
{
	*(uint64_t *)((char *)st + log_meta_tab[i].off) = v;
}

static void log_be64_put(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

static uint64_t log_be64_get(const uint8_t in[8])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return v;
}

int log_state(struct store_txn *t, struct log_state *st)
{
	for (size_t i = 0; i < LOG_META_COUNT; i++) {
		const char *key = log_meta_tab[i].key;
		struct store_val v;
		int rc = store_get(t, STORE_META, key, strlen(key), &v);

		if (rc == KF_ENOTFOUND) {
			log_field_set(st, i, log_meta_tab[i].absent);
			continue;
		}
		if (rc)
			return rc;
		if (v.len != 8)
			return KF_ECORRUPT;
		log_field_set(st, i, log_be64_get(v.data));
	}
	return 0;
}

/* log_state_put - add to b a put of every state key whose value differs
 * between old and now. */
static int log_state_put(struct batch *b, const struct log_state *old, const struct log_state *now)
{
	for (size_t i = 0; i < LOG_META_COUNT; i++) {
		uint64_t v = log_field_get(now, i);
		uint8_t buf[8];
		int rc;

		if (v == log_field_get(old, i))
			continue;
		log_be64_put(buf, v);
		rc = batch_put(b, STORE_META, log_meta_tab[i].key, strlen(log_meta_tab[i].key), buf,
			       sizeof(buf));
		if (rc)
			return rc;
	}
	return 0;
}

/* log_state_write - apply the state keys that changed from old to now. */
static int log_state_write(struct store_txn *t, const struct log_state *old,
			   const struct log_state *now)
{
	struct batch *b = batch_new(0);
	int rc = log_state_put(b, old, now);

	if (rc == 0)
		rc = batch_apply(t, b);
	batch_free(b);
	return rc;
}

/* log_batch_is_allowed - a replicated batch may not write the log's own keys. */
static bool log_batch_is_allowed(const struct batch *b)
{
	for (size_t i = 0; i < batch_count(b); i++) {
		struct batch_op op = batch_op(b, i);

		if (op.table == STORE_LOG || op.table == STORE_KB_TERMS ||
		    op.table == STORE_KB_DOCS)
			return false;
		if (op.table == STORE_META && op.klen >= LOG_META_PREFIX_LEN &&
		    memcmp(op.key, LOG_META_PREFIX, LOG_META_PREFIX_LEN) == 0)
			return false;
	}
	return true;
}

/*
 * log_write - the one path of every new entry, leader's and follower's:
 * check b against the state, apply it, then store the entry {index, epoch,
 * packed} and the new state. leader_epoch raises epoch_seen.
 */
static int log_write(struct store_txn *t, const struct log_state *st, uint64_t leader_epoch,
		     uint64_t epoch, const struct batch *b, const uint8_t *packed, size_t len,
		     uint64_t group, bool group_end, bool apply)
{
	Kefu__LogEntry e = KEFU__LOG_ENTRY__INIT;
	struct log_state now = *st;
	struct batch *rec;
	uint8_t key[8], *val;
	size_t vlen;
	int rc;

	if (st->open_group && group != st->open_group)
		return KF_ESTATE;
	if (!log_batch_is_allowed(b))
		return KF_EPROTO;
	/* kb_apply: batch_apply, and the knowledge base's index derived here. */
	rc = apply ? kb_apply(t, b) : 0;
	if (rc)
		return rc;

	now.applied_index = st->applied_index + 1;
	now.applied_epoch = epoch;
	if (leader_epoch > now.epoch_seen)
		now.epoch_seen = leader_epoch;
	now.open_group = group && !group_end ? group : 0;

	e.has_index = e.has_epoch = e.has_batch = 1;
	e.index = now.applied_index;
	e.epoch = epoch;
	e.batch = (ProtobufCBinaryData){len, (uint8_t *)packed};
	vlen = kefu__log_entry__get_packed_size(&e);
	val = malloc(vlen);
	if (!val)
		abort();
	kefu__log_entry__pack(&e, val);
	log_be64_put(key, now.applied_index);

	rec = batch_new(0);
	rc = batch_put(rec, STORE_LOG, key, sizeof(key), val, vlen);
	free(val);
	if (rc == 0)
		rc = log_state_put(rec, st, &now);
	if (rc == 0)
		rc = batch_apply(t, rec);
	batch_free(rec);
	return rc;
}

/* log_write_packed - unpack a replicated WriteBatch and write it as the next entry. */
static int log_write_packed(struct store_txn *t, const struct log_state *st,
			    uint64_t leader_epoch, uint64_t epoch, const uint8_t *packed,
			    size_t len)
{
	struct batch *b = batch_new(0);
	uint64_t group;
	bool group_end;
	int rc = batch_unpack(b, packed, len, &group, &group_end);

	if (rc == 0)
		rc = log_write(t, st, leader_epoch, epoch, b, packed, len, group, group_end, true);
	batch_free(b);
	return rc;
}

/* log_leader_state - the state, when a leader of epoch may append. */
static int log_leader_state(struct store_txn *t, uint64_t epoch, struct log_state *st)
{
	int rc;

	if (epoch == 0)
		return -EINVAL;
	rc = log_state(t, st);
	if (rc == 0 && epoch < st->epoch_seen)
		rc = KF_ESTATE;
	return rc;
}

int log_append(struct store_txn *t, uint64_t epoch, const uint8_t *packed, size_t len,
	       uint64_t *index)
{
	struct log_state st;
	int rc = log_leader_state(t, epoch, &st);

	if (rc)
		return rc;
	rc = log_write_packed(t, &st, epoch, epoch, packed, len);
	if (rc == 0 && index)
		*index = st.applied_index + 1;
	return rc;
}

static int log_local_batch(struct store_txn *t, uint64_t epoch, const struct batch *b,
			   uint64_t group, bool group_end, const char *origin, uint64_t *index,
			   bool apply)
{
	struct log_state st;
	uint8_t *packed;
	size_t len;
	int rc = log_leader_state(t, epoch, &st);

	if (rc)
		return rc;
	rc = batch_pack(b, group, group_end, origin, &packed, &len);
	if (rc)
		return rc;
	rc = log_write(t, &st, epoch, epoch, b, packed, len, group, group_end, apply);
	free(packed);
	if (rc == 0 && index)
		*index = st.applied_index + 1;
	return rc;
}

int log_append_batch(struct store_txn *t, uint64_t epoch, const struct batch *b, uint64_t group,
		     bool group_end, const char *origin, uint64_t *index)
{
	return log_local_batch(t, epoch, b, group, group_end, origin, index, true);
}

int log_record_batch(struct store_txn *t, uint64_t epoch, const struct batch *b, uint64_t group,
		     bool group_end, const char *origin, uint64_t *index)
{
	return log_local_batch(t, epoch, b, group, group_end, origin, index, false);
}

int log_apply_entry(struct store_txn *t, uint64_t leader_epoch, const Kefu__LogEntry *e)
{
	struct log_state st;
	int rc;

	if (!e->has_index || !e->has_epoch || e->epoch == 0 || e->epoch > leader_epoch)
		return KF_EPROTO;
	rc = log_state(t, &st);
	if (rc)
		return rc;
	if (e->index != st.applied_index + 1 || leader_epoch < st.epoch_seen)
		return KF_ESTATE;
	if (e->epoch < st.applied_epoch)
		return KF_EPROTO;
	return log_write_packed(t, &st, leader_epoch, e->epoch, e->batch.data, e->batch.len);
}

bool log_entry_is_group_end(const Kefu__LogEntry *e)
{
	Kefu__WriteBatch *wb = kefu__write_batch__unpack(NULL, e->batch.len, e->batch.data);
	bool end = true;

	if (wb) {
		end = !wb->has_group || wb->group == 0 || (wb->has_group_end && wb->group_end);
		kefu__write_batch__free_unpacked(wb, NULL);
	}
	return end;
}

int log_set_epoch_seen(struct store_txn *t, uint64_t epoch)
{
	struct log_state st, now;
	int rc = log_state(t, &st);

	if (rc || epoch <= st.epoch_seen)
		return rc;
	now = st;
	now.epoch_seen = epoch;
	return log_state_write(t, &st, &now);
}

int log_restart(struct store_txn *t)
{
	struct log_state st, now;
	struct batch *b;
	int rc = log_state(t, &st);

	if (rc)
		return rc;
	if (st.open_group)
		return KF_ESTATE;
	b = batch_new(0);
	for (uint64_t i = st.log_start; i <= st.applied_index && rc == 0; i++) {
		uint8_t key[8];

		log_be64_put(key, i);
		rc = batch_del(b, STORE_LOG, key, sizeof(key));
		if (rc == 0 && batch_count(b) >= LOG_TRUNCATE_MAX) {
			rc = batch_apply(t, b);
			batch_reset(b);
		}
	}
	now = st;
	now.applied_epoch = 0;
	now.epoch_seen = 0;
	now.log_start = st.applied_index + 1;
	if (rc == 0)
		rc = log_state_put(b, &st, &now);
	if (rc == 0)
		rc = batch_apply(t, b);
	batch_free(b);
	return rc;
}

/* ---- reading ---- */

struct log_reader {
	uint64_t next;      /* index expected next */
	bool given;         /* at least one entry went to fn */
	size_t room;        /* bytes left under max_bytes */
	log_read_fn fn;
	void *arg;
};

/* log_entry_parse - decode a stored entry and check it is the one under index. */
static int log_entry_parse(uint64_t index, const struct store_val *v, Kefu__LogEntry **out)
{
	Kefu__LogEntry *e = kefu__log_entry__unpack(NULL, v->len, v->data);

	if (!e)
		return KF_ECORRUPT;
	if (!e->has_index || e->index != index || !e->has_epoch) {
		kefu__log_entry__free_unpacked(e, NULL);
		return KF_ECORRUPT;
	}
	*out = e;
	return 0;
}

static int log_read_one(void *arg, const struct store_val *key, const struct store_val *val)
{
	struct log_reader *r = arg;
	Kefu__LogEntry *e;
	int rc;

	if (key->len != 8 || log_be64_get(key->data) != r->next)
		return KF_ECORRUPT;
	if (r->given && val->len > r->room)
		return 1;
	rc = log_entry_parse(r->next, val, &e);
	if (rc)
		return rc;
	rc = r->fn(r->arg, e, val->data, val->len);
	kefu__log_entry__free_unpacked(e, NULL);
	r->room = val->len < r->room ? r->room - val->len : 0;
	r->given = true;
	r->next++;
	return rc;
}

int log_read(struct store_txn *t, uint64_t from_index, size_t max_bytes, log_read_fn fn,
	     void *arg)
{
	struct log_reader r = {from_index, false, max_bytes, fn, arg};
	struct log_state st;
	uint8_t start[8];
	int rc = log_state(t, &st);

	if (rc)
		return rc;
	if (from_index < st.log_start)
		return KF_ENOTFOUND;
	if (from_index > st.applied_index)
		return 0;
	log_be64_put(start, from_index);
	return store_scan(t, STORE_LOG, NULL, 0, start, sizeof(start), false, log_read_one, &r);
}

int log_entry_epoch(struct store_txn *t, uint64_t index, uint64_t *epoch)
{
	struct log_state st;
	struct store_val v;
	Kefu__LogEntry *e;
	uint8_t key[8];
	int rc;

	if (index == 0) {
		*epoch = 0;
		return 0;
	}
	rc = log_state(t, &st);
	if (rc)
		return rc;
	if (index == st.applied_index) {
		*epoch = st.applied_epoch;
		return 0;
	}
	if (index < st.log_start || index > st.applied_index)
		return KF_ENOTFOUND;
	log_be64_put(key, index);
	rc = store_get(t, STORE_LOG, key, sizeof(key), &v);
	if (rc == KF_ENOTFOUND)
		return KF_ECORRUPT; /* inside the retained range: must be there */
	if (rc)
		return rc;
	rc = log_entry_parse(index, &v, &e);
	if (rc)
		return rc;
	*epoch = e->epoch;
	kefu__log_entry__free_unpacked(e, NULL);
	return 0;
}

int log_truncate(struct store_txn *t, uint64_t upto, bool *more)
{
	struct log_state st, now;
	struct batch *b;
	uint64_t end, stop;
	int rc = log_state(t, &st);

	if (more)
		*more = false;
	if (rc)
		return rc;
	end = upto < st.applied_index + 1 ? upto : st.applied_index + 1;
	if (end <= st.log_start)
		return 0;
	stop = end - st.log_start > LOG_TRUNCATE_MAX ? st.log_start + LOG_TRUNCATE_MAX : end;

	b = batch_new(0);
	for (uint64_t i = st.log_start; i < stop && rc == 0; i++) {
		uint8_t key[8];

		log_be64_put(key, i);
		rc = batch_del(b, STORE_LOG, key, sizeof(key));
	}
	now = st;
	now.log_start = stop;
	if (rc == 0)
		rc = log_state_put(b, &st, &now);
	if (rc == 0)
		rc = batch_apply(t, b);
	batch_free(b);
	if (rc == 0 && more)
		*more = stop < end;
	return rc;
}
