/*
 * The local customer database: BOSS records to tables, and lookups.
 *
 * Everything kind-specific is data: kind_tab says where each kind lives,
 * index_tab which secondary indexes it keeps, ref_tab what it refers to,
 * child_tab what a user's deletion takes along. The code below reads the
 * tables; adding an index is one row.
 */
#include "storage/custdb.h"

#include "lib/err.h"
#include "storage/keys.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CUSTDB_PACK_MAX (BOSSREC_LINE_MAX + 512)

struct kind_desc {
	enum store_table table;
	const ProtobufCMessageDescriptor *msg;
};

static const struct kind_desc kind_tab[BOSS_KIND_COUNT] = {
	[BOSS_CUST] = {STORE_CUST, &kefu__customer__descriptor},
	[BOSS_USER] = {STORE_USER, &kefu__subscriber__descriptor},
	[BOSS_PAY] = {STORE_PAY, &kefu__payment__descriptor},
	[BOSS_CHG] = {STORE_CHG, &kefu__change__descriptor},
	[BOSS_BILL] = {STORE_BILL, &kefu__bill__descriptor},
	[BOSS_CDR] = {STORE_CDR, &kefu__cdr__descriptor},
};

#define INDEX_PARTS_MAX 3

/* A secondary index: key made of parts (field names), value one field or
 * empty. active_only: kept only while the user is not cancelled. holder:
 * the index is unique, a key held by another record (named by the value,
 * e.g. "user 8800012") refuses the record. */
struct index_desc {
	enum boss_kind kind;
	enum store_table table;
	const char *parts[INDEX_PARTS_MAX];
	const char *value;
	bool active_only;
	const char *holder;
};

static const struct index_desc index_tab[] = {
	{BOSS_CUST, STORE_CUST_BY_IDNO, {"id_type", "id_no", "cust_id"}, NULL, false, NULL},
	{BOSS_USER, STORE_USER_BY_MSISDN, {"msisdn"}, "user_id", true, "user"},
	{BOSS_USER, STORE_CUST_USERS, {"cust_id", "user_id"}, NULL, false, NULL},
	{BOSS_PAY, STORE_USER_PAY, {"user_id", "pay_time", "pay_id"}, NULL, false, NULL},
	{BOSS_CHG, STORE_USER_CHG, {"user_id", "chg_time", "chg_id"}, NULL, false, NULL},
	{BOSS_BILL, STORE_BILL_BY_MONTH, {"bill_month", "user_id", "item_code"}, NULL, false, NULL},
	{BOSS_CDR, STORE_CDR_BY_TIME, {"start_time", "user_id", "other_party"}, NULL, false, NULL},
};
#define INDEX_COUNT (sizeof(index_tab) / sizeof(index_tab[0]))

/* A reference: field of kind must name an existing record of target. */
struct ref_desc {
	enum boss_kind kind;
	const char *field;
	enum boss_kind target;
};

static const struct ref_desc ref_tab[] = {
	{BOSS_USER, "cust_id", BOSS_CUST},
	{BOSS_PAY, "user_id", BOSS_USER},
	{BOSS_CHG, "user_id", BOSS_USER},
	{BOSS_BILL, "user_id", BOSS_USER},
	{BOSS_CDR, "user_id", BOSS_USER},
};
#define REF_COUNT (sizeof(ref_tab) / sizeof(ref_tab[0]))

/* What a user's deletion takes along: the records of kind found by
 * scanning table with the prefix user_id; the primary key is the scanned
 * key itself (pk_part < 0) or its part pk_part. */
struct child_desc {
	enum boss_kind kind;
	enum store_table table;
	int pk_part;
};

static const struct child_desc child_tab[] = {
	{BOSS_PAY, STORE_USER_PAY, 2},
	{BOSS_CHG, STORE_USER_CHG, 2},
	{BOSS_BILL, STORE_BILL, -1},
	{BOSS_CDR, STORE_CDR, -1},
};
#define CHILD_COUNT (sizeof(child_tab) / sizeof(child_tab[0]))

/* Field descriptors resolved once from the names in the tables above. */
static struct {
	const ProtobufCFieldDescriptor *field[BOSS_KIND_COUNT][BOSSREC_MAX_FIELDS];
	unsigned nfields[BOSS_KIND_COUNT];
	int key[BOSS_KIND_COUNT][INDEX_PARTS_MAX]; /* schema indexes of key fields */
	unsigned nkey[BOSS_KIND_COUNT];
	const ProtobufCFieldDescriptor *ipart[INDEX_COUNT][INDEX_PARTS_MAX];
	const ProtobufCFieldDescriptor *ivalue[INDEX_COUNT];
	int ipart0_index[INDEX_COUNT]; /* schema index of the first part */
	const ProtobufCFieldDescriptor *ref[REF_COUNT];
	int ref_index[REF_COUNT];
	const ProtobufCFieldDescriptor *user_status;
} rs;
static pthread_once_t rs_once = PTHREAD_ONCE_INIT;

static const ProtobufCFieldDescriptor *fd_named(enum boss_kind kind, const char *name)
{
	const ProtobufCFieldDescriptor *fd =
		protobuf_c_message_descriptor_get_field_by_name(kind_tab[kind].msg, name);

	if (!fd) {
		/* The schema and the .proto disagree: a build-time bug. */
		fprintf(stderr, "custdb: %s has no field %s\n", kind_tab[kind].msg->name, name);
		abort();
	}
	return fd;
}

static void rs_init(void)
{
	for (int k = 0; k < BOSS_KIND_COUNT; k++) {
		unsigned n;
		const struct bossrec_field *sc = bossrec_schema((enum boss_kind)k, &n);

		rs.nfields[k] = n;
		for (unsigned i = 0; i < n; i++) {
			rs.field[k][i] = fd_named((enum boss_kind)k, sc[i].name);
			if (sc[i].key && rs.nkey[k] < INDEX_PARTS_MAX)
				rs.key[k][rs.nkey[k]++] = (int)i;
		}
	}
	for (size_t i = 0; i < INDEX_COUNT; i++) {
		for (int p = 0; p < INDEX_PARTS_MAX && index_tab[i].parts[p]; p++)
			rs.ipart[i][p] = fd_named(index_tab[i].kind, index_tab[i].parts[p]);
		if (index_tab[i].value)
			rs.ivalue[i] = fd_named(index_tab[i].kind, index_tab[i].value);
		rs.ipart0_index[i] = bossrec_field_index(index_tab[i].kind, index_tab[i].parts[0]);
	}
	for (size_t i = 0; i < REF_COUNT; i++) {
		rs.ref[i] = fd_named(ref_tab[i].kind, ref_tab[i].field);
		rs.ref_index[i] = bossrec_field_index(ref_tab[i].kind, ref_tab[i].field);
	}
	rs.user_status = fd_named(BOSS_USER, "status");
}

/* Any of the six record messages, so one can live on the stack. */
union anymsg {
	ProtobufCMessage base;
	Kefu__Customer cust;
	Kefu__Subscriber user;
	Kefu__Payment pay;
	Kefu__Change chg;
	Kefu__Bill bill;
	Kefu__Cdr cdr;
};

static const char *msg_str(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd)
{
	const char *s = *(const char *const *)((const char *)m + fd->offset);

	return (s && *s) ? s : NULL;
}

static bool msg_uint(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd, uint32_t *v)
{
	if (!*(const protobuf_c_boolean *)((const char *)m + fd->quantifier_offset))
		return false;
	*v = *(const uint32_t *)((const char *)m + fd->offset);
	return true;
}

/* Fill m (of rec's kind) from the record: strings point into rec. */
static void msg_from_rec(union anymsg *m, const struct bossrec *rec)
{
	protobuf_c_message_init(kind_tab[rec->kind].msg, m);
	for (unsigned i = 0; i < rs.nfields[rec->kind]; i++) {
		const ProtobufCFieldDescriptor *fd = rs.field[rec->kind][i];
		char *at = (char *)m + fd->offset;

		if (rec->len[i] == 0)
			continue;
		switch (fd->type) {
		case PROTOBUF_C_TYPE_STRING:
			*(const char **)at = rec->val[i];
			continue;
		case PROTOBUF_C_TYPE_UINT32:
			*(uint32_t *)at = (uint32_t)rec->num[i];
			break;
		case PROTOBUF_C_TYPE_INT64:
			*(int64_t *)at = rec->num[i];
			break;
		default:
			abort(); /* a field type the .proto does not use */
		}
		*(protobuf_c_boolean *)((char *)m + fd->quantifier_offset) = 1;
	}
}

static bool user_is_active(const ProtobufCMessage *m)
{
	uint32_t status;

	return !msg_uint(m, rs.user_status, &status) || status != 4;
}

static int pk_of(enum boss_kind kind, const ProtobufCMessage *m, struct key *k)
{
	key_init(k);
	for (unsigned i = 0; i < rs.nkey[kind]; i++) {
		const char *s = msg_str(m, rs.field[kind][rs.key[kind][i]]);

		key_add_str(k, s ? s : "");
	}
	return key_ok(k) ? 0 : KF_ETOOBIG;
}

/* "user_id 8800012" or "user_id 1, bill_month 202610, item_code X". */
static void pk_describe(enum boss_kind kind, const ProtobufCMessage *m, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < rs.nkey[kind] && n < cap; i++) {
		const ProtobufCFieldDescriptor *fd = rs.field[kind][rs.key[kind][i]];
		const char *s = msg_str(m, fd);
		int r = snprintf(out + n, cap - n, "%s%s %s", i ? ", " : "", fd->name, s ? s : "");

		if (r < 0)
			break;
		n += (size_t)r;
	}
}

static int reject(struct custdb_reject *rj, int code, int field, const struct bossrec *rec,
		  const char *what)
{
	rj->field = field;
	snprintf(rj->reason, sizeof(rj->reason), "%s %c: %s", boss_kind_name(rec->kind), rec->op,
		 what);
	return code;
}

/*
 * index_key - the key of index i for message m. Returns 1 with k filled,
 * 0 when m has no entry in it (an optional part is empty, or the index
 * keeps active users only), KF_ETOOBIG.
 */
static int index_key(size_t i, const ProtobufCMessage *m, struct key *k)
{
	if (index_tab[i].active_only && !user_is_active(m))
		return 0;
	key_init(k);
	for (int p = 0; p < INDEX_PARTS_MAX && rs.ipart[i][p]; p++) {
		const char *s = msg_str(m, rs.ipart[i][p]);

		if (!s)
			return 0;
		key_add_str(k, s);
	}
	return key_ok(k) ? 1 : KF_ETOOBIG;
}

/* Delete the secondary index entries of one record. */
static int index_dels(enum boss_kind kind, const ProtobufCMessage *m, struct batch *b)
{
	for (size_t i = 0; i < INDEX_COUNT; i++) {
		struct key k;
		int r;

		if (index_tab[i].kind != kind || (r = index_key(i, m, &k)) == 0)
			continue;
		if (r < 0 || (r = batch_del(b, index_tab[i].table, k.b, k.len)))
			return r;
	}
	return 0;
}

/*
 * record_puts - the puts that add message m of kind under primary key pk:
 * its secondary index entries, then the record itself, each handed to fn.
 * The one place that says what an added record writes, for the batch of
 * custdb_record and for the bulk load of custdb_record_add alike.
 */
static int record_puts(enum boss_kind kind, const ProtobufCMessage *m, const struct key *pk,
		       custdb_put_fn fn, void *arg)
{
	uint8_t packed[CUSTDB_PACK_MAX];
	size_t n;

	for (size_t i = 0; i < INDEX_COUNT; i++) {
		const char *val = NULL;
		struct key k;
		int r;

		if (index_tab[i].kind != kind || (r = index_key(i, m, &k)) == 0)
			continue;
		if (r < 0)
			return r;
		if (rs.ivalue[i])
			val = msg_str(m, rs.ivalue[i]);
		r = fn(arg, index_tab[i].table, k.b, k.len, val ? val : "", val ? strlen(val) : 0);
		if (r)
			return r;
	}
	n = protobuf_c_message_get_packed_size(m);
	if (n > sizeof(packed))
		return KF_ETOOBIG;
	protobuf_c_message_pack(m, packed);
	return fn(arg, kind_tab[kind].table, pk->b, pk->len, packed, n);
}

static int batch_put_fn(void *arg, enum store_table table, const void *key, size_t klen,
			const void *val, size_t vlen)
{
	return batch_put(arg, table, key, klen, val, vlen);
}

static int msg_unpack(enum boss_kind kind, const struct store_val *v, ProtobufCMessage **out)
{
	*out = protobuf_c_message_unpack(kind_tab[kind].msg, NULL, v->len, v->data);
	return *out ? 0 : KF_ECORRUPT;
}

/* Delete one stored record of kind with primary key pk, and its indexes. */
static int delete_stored(const struct store_view *vw, enum boss_kind kind, const void *pk,
			 size_t pklen, struct batch *b)
{
	struct store_val v;
	ProtobufCMessage *old;
	int r = vw->get(vw->src, kind_tab[kind].table, pk, pklen, &v);

	if (r == KF_ENOTFOUND)
		return 0;
	if (r || (r = msg_unpack(kind, &v, &old)))
		return r;
	r = index_dels(kind, old, b);
	protobuf_c_message_free_unpacked(old, NULL);
	return r ? r : batch_del(b, kind_tab[kind].table, pk, pklen);
}

struct collect {
	struct key *keys;
	size_t n, cap;
	int pk_part;
};

static int collect_key(void *arg, const struct store_val *k, const struct store_val *v)
{
	struct collect *c = arg;
	const uint8_t *p = k->data;
	size_t plen = k->len;

	(void)v;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->keys = realloc(c->keys, c->cap * sizeof(*c->keys));
		if (!c->keys)
			abort();
	}
	if (c->pk_part >= 0) {
		if (key_part(k->data, k->len, (unsigned)c->pk_part, &p, &plen))
			return KF_ECORRUPT;
		key_init(&c->keys[c->n]);
		key_add(&c->keys[c->n], p, plen);
	} else {
		if (plen > sizeof(c->keys[c->n].b))
			return KF_ECORRUPT;
		c->keys[c->n].len = plen;
		c->keys[c->n].overflow = false;
		memcpy(c->keys[c->n].b, p, plen);
	}
	c->n++;
	return 0;
}

/* A user's deletion takes its payments, changes, bills and CDRs along. */
static int delete_children(const struct store_view *vw, const char *user_id, struct batch *b)
{
	struct key prefix;
	int r = 0;

	key_init(&prefix);
	if (key_add_str(&prefix, user_id))
		return KF_ETOOBIG;
	for (size_t i = 0; i < CHILD_COUNT && r == 0; i++) {
		struct collect c = {NULL, 0, 0, child_tab[i].pk_part};

		r = vw->scan(vw->src, child_tab[i].table, prefix.b, prefix.len, NULL, 0, false,
			     collect_key, &c);
		for (size_t j = 0; j < c.n && r == 0; j++)
			r = delete_stored(vw, child_tab[i].kind, c.keys[j].b, c.keys[j].len, b);
		free(c.keys);
	}
	return r;
}

static int first_key(void *arg, const struct store_val *k, const struct store_val *v)
{
	(void)v;
	return collect_key(arg, k, v) ? KF_ECORRUPT : 1;
}

/* The key of the record that reference i of nm names; false when the
 * field is empty (an optional reference). */
static bool ref_key(size_t i, const ProtobufCMessage *nm, struct key *k)
{
	const char *id = msg_str(nm, rs.ref[i]);

	if (!id)
		return false;
	key_init(k);
	key_add_str(k, id);
	return true;
}

/* Checks that need reads: references, unique indexes, users of a customer. */
static int check_rules(const struct store_view *vw, const struct bossrec *rec,
		       const ProtobufCMessage *nm, struct custdb_reject *rj)
{
	struct store_val v;
	struct key k;
	char what[200];
	int r;

	for (size_t i = 0; i < REF_COUNT && rec->op != 'D'; i++) {
		if (ref_tab[i].kind != rec->kind || !ref_key(i, nm, &k))
			continue;
		r = vw->get(vw->src, kind_tab[ref_tab[i].target].table, k.b, k.len, &v);
		if (r == KF_ENOTFOUND) {
			snprintf(what, sizeof(what), "%s %s does not exist", ref_tab[i].field,
				 msg_str(nm, rs.ref[i]));
			return reject(rj, KF_EREF, rs.ref_index[i], rec, what);
		}
		if (r)
			return r;
	}
	for (size_t i = 0; i < INDEX_COUNT && rec->op != 'D'; i++) {
		const char *own;

		if (index_tab[i].kind != rec->kind || !index_tab[i].holder ||
		    (r = index_key(i, nm, &k)) == 0)
			continue;
		if (r < 0)
			return r;
		own = rs.ivalue[i] && msg_str(nm, rs.ivalue[i]) ? msg_str(nm, rs.ivalue[i]) : "";
		r = vw->get(vw->src, index_tab[i].table, k.b, k.len, &v);
		if (r == 0 && (v.len != strlen(own) || memcmp(v.data, own, v.len) != 0)) {
			snprintf(what, sizeof(what), "%s %s already belongs to %s %.*s",
				 index_tab[i].parts[0], msg_str(nm, rs.ipart[i][0]),
				 index_tab[i].holder, (int)(v.len < 64 ? v.len : 64),
				 (const char *)v.data);
			return reject(rj, KF_EEXISTS, rs.ipart0_index[i], rec, what);
		}
		if (r && r != KF_ENOTFOUND)
			return r;
	}
	if (rec->kind == BOSS_CUST && rec->op == 'D') {
		struct collect c = {NULL, 0, 0, 1};

		key_init(&k);
		key_add_str(&k, rec->val[0]);
		r = vw->scan(vw->src, STORE_CUST_USERS, k.b, k.len, NULL, 0, false, first_key, &c);
		if (r == 0 && c.n > 0) {
			snprintf(what, sizeof(what), "cust_id %s still has users (first: %.*s)",
				 rec->val[0], (int)(c.keys[0].len ? c.keys[0].len - 1 : 0),
				 (const char *)c.keys[0].b);
			r = reject(rj, KF_ESTATE, 0, rec, what);
		}
		free(c.keys);
		if (r)
			return r;
	}
	return 0;
}

int custdb_record_reads(const struct bossrec *rec, custdb_read_fn fn, void *arg)
{
	union anymsg nm;
	struct key k;
	int r;

	pthread_once(&rs_once, rs_init);
	msg_from_rec(&nm, rec);
	if (pk_of(rec->kind, &nm.base, &k) == 0 &&
	    (r = fn(arg, kind_tab[rec->kind].table, k.b, k.len)))
		return r;
	for (size_t i = 0; i < REF_COUNT && rec->op != 'D'; i++) {
		if (ref_tab[i].kind == rec->kind && ref_key(i, &nm.base, &k) &&
		    (r = fn(arg, kind_tab[ref_tab[i].target].table, k.b, k.len)))
			return r;
	}
	for (size_t i = 0; i < INDEX_COUNT && rec->op != 'D'; i++) {
		if (index_tab[i].kind == rec->kind && index_tab[i].holder &&
		    index_key(i, &nm.base, &k) == 1 &&
		    (r = fn(arg, index_tab[i].table, k.b, k.len)))
			return r;
	}
	return 0;
}

int custdb_record_view(const struct store_view *vw, const struct bossrec *rec, struct batch *b,
		       struct custdb_reject *rj)
{
	const struct kind_desc *kd;
	union anymsg nm;
	ProtobufCMessage *old = NULL;
	struct store_val v;
	struct key pk;
	char what[160], reason[200];
	int r, corrupt;

	pthread_once(&rs_once, rs_init);
	rj->field = -1;
	rj->reason[0] = '\0';
	kd = &kind_tab[rec->kind];
	msg_from_rec(&nm, rec);
	if ((r = pk_of(rec->kind, &nm.base, &pk)))
		return r;

	r = vw->get(vw->src, kd->table, pk.b, pk.len, &v);
	if (r && r != KF_ENOTFOUND)
		return r;
	if (rec->op == 'A' && r == 0) {
		pk_describe(rec->kind, &nm.base, what, sizeof(what));
		snprintf(reason, sizeof(reason), "%s already exists", what);
		return reject(rj, KF_EEXISTS, rs.key[rec->kind][0], rec, reason);
	}
	if (rec->op != 'A' && r == KF_ENOTFOUND) {
		pk_describe(rec->kind, &nm.base, what, sizeof(what));
		snprintf(reason, sizeof(reason), "%s does not exist", what);
		return reject(rj, KF_ENOTFOUND, rs.key[rec->kind][0], rec, reason);
	}
	/* The old record is unpacked before the rules read on: a view's value
	 * need not outlive its next read. A corrupt one still counts only
	 * after the rules, as it always has. */
	corrupt = rec->op != 'A' ? msg_unpack(rec->kind, &v, &old) : 0;
	r = check_rules(vw, rec, &nm.base, rj);
	if (r == 0)
		r = corrupt;
	if (r == 0 && old)
		r = index_dels(rec->kind, old, b);
	if (old)
		protobuf_c_message_free_unpacked(old, NULL);
	if (r)
		return r;
	if (rec->op == 'D') {
		if (rec->kind == BOSS_USER && (r = delete_children(vw, rec->val[0], b)))
			return r;
		return batch_del(b, kd->table, pk.b, pk.len);
	}
	return record_puts(rec->kind, &nm.base, &pk, batch_put_fn, b);
}

int custdb_record_add(const struct bossrec *rec, custdb_put_fn put, custdb_read_fn ref,
		      void *arg)
{
	union anymsg nm;
	struct key k;
	int r;

	pthread_once(&rs_once, rs_init);
	if (rec->op != 'A')
		return KF_EPARSE;
	msg_from_rec(&nm, rec);
	for (size_t i = 0; i < REF_COUNT; i++) {
		if (ref_tab[i].kind == rec->kind && ref_key(i, &nm.base, &k) &&
		    (r = ref(arg, kind_tab[ref_tab[i].target].table, k.b, k.len)))
			return r;
	}
	if ((r = pk_of(rec->kind, &nm.base, &k)))
		return r;
	return record_puts(rec->kind, &nm.base, &k, put, arg);
}

int custdb_record(struct store_txn *t, const struct bossrec *rec, struct batch *b,
		  struct custdb_reject *rj)
{
	struct store_view vw = store_txn_view(t);

	return custdb_record_view(&vw, rec, b, rj);
}

/* ---- lookups ---- */

static int get_msg(struct store_txn *t, enum boss_kind kind, const void *key, size_t klen,
		   ProtobufCMessage **out)
{
	struct store_val v;
	int r = store_get(t, kind_tab[kind].table, key, klen, &v);

	return r ? r : msg_unpack(kind, &v, out);
}

static int get_msg_id(struct store_txn *t, enum boss_kind kind, const char *id,
		      ProtobufCMessage **out)
{
	struct key k;

	key_init(&k);
	if (key_add_str(&k, id))
		return KF_ENOTFOUND;
	return get_msg(t, kind, k.b, k.len, out);
}

struct pay_scan {
	struct store_txn *t;
	struct custdb_profile *p;
	size_t max;
};

static int pay_visit(void *arg, const struct store_val *k, const struct store_val *v)
{
	struct pay_scan *s = arg;
	const uint8_t *id;
	size_t idlen;
	ProtobufCMessage *m;
	struct key pk;
	int r;

	(void)v;
	if (s->p->npay >= s->max || s->p->npay >= CUSTDB_MAX_PAYMENTS)
		return 1;
	if (key_part(k->data, k->len, 2, &id, &idlen))
		return KF_ECORRUPT;
	key_init(&pk);
	key_add(&pk, id, idlen);
	r = get_msg(s->t, BOSS_PAY, pk.b, pk.len, &m);
	if (r == KF_ENOTFOUND)
		return KF_ECORRUPT; /* index without its record */
	if (r)
		return r;
	s->p->pay[s->p->npay++] = (Kefu__Payment *)m;
	return 0;
}

struct bill_scan {
	struct custdb_profile *p;
	size_t months_left;
	char month[8];
};

static int bill_visit(void *arg, const struct store_val *k, const struct store_val *v)
{
	struct bill_scan *s = arg;
	const uint8_t *month;
	size_t mlen;
	ProtobufCMessage *m;
	int r;

	if (key_part(k->data, k->len, 1, &month, &mlen) || mlen >= sizeof(s->month))
		return KF_ECORRUPT;
	if (mlen != strlen(s->month) || memcmp(month, s->month, mlen) != 0) {
		if (s->months_left == 0)
			return 1;
		s->months_left--;
		memcpy(s->month, month, mlen);
		s->month[mlen] = '\0';
	}
	if (s->p->nbill >= CUSTDB_MAX_BILLS)
		return 1;
	if ((r = msg_unpack(BOSS_BILL, v, &m)))
		return r;
	s->p->bill[s->p->nbill++] = (Kefu__Bill *)m;
	return 0;
}

struct user_each {
	struct store_txn *t;
	custdb_user_fn fn;
	void *arg;
};

static int user_visit(void *arg, const struct store_val *k, const struct store_val *v)
{
	struct user_each *e = arg;
	ProtobufCMessage *um, *cm = NULL;
	int r;

	(void)k;
	if ((r = msg_unpack(BOSS_USER, v, &um)))
		return r;
	if (((Kefu__Subscriber *)um)->cust_id) {
		r = get_msg_id(e->t, BOSS_CUST, ((Kefu__Subscriber *)um)->cust_id, &cm);
		if (r == KF_ENOTFOUND)
			r = 0;
	}
	if (!r)
		r = e->fn(e->arg, (Kefu__Subscriber *)um, (Kefu__Customer *)cm);
	protobuf_c_message_free_unpacked(um, NULL);
	if (cm)
		protobuf_c_message_free_unpacked(cm, NULL);
	return r;
}

int custdb_each_user(struct store_txn *t, custdb_user_fn fn, void *arg)
{
	struct user_each e = {t, fn, arg};

	return store_scan(t, STORE_USER, NULL, 0, NULL, 0, false, user_visit, &e);
}

int custdb_lookup_user(struct store_txn *t, const char *user_id, size_t max_pay,
		       size_t bill_months, struct custdb_profile *p)
{
	ProtobufCMessage *m;
	struct key prefix;
	int r;

	memset(p, 0, sizeof(*p));
	if ((r = get_msg_id(t, BOSS_USER, user_id, &m)))
		return r;
	p->user = (Kefu__Subscriber *)m;
	if (p->user->cust_id) {
		r = get_msg_id(t, BOSS_CUST, p->user->cust_id, &m);
		if (r == 0)
			p->cust = (Kefu__Customer *)m;
		else if (r != KF_ENOTFOUND)
			goto fail;
	}
	key_init(&prefix);
	key_add_str(&prefix, user_id);
	{
		struct pay_scan ps = {t, p, max_pay};

		r = store_scan(t, STORE_USER_PAY, prefix.b, prefix.len, NULL, 0, true, pay_visit, &ps);
		if (r)
			goto fail;
	}
	if (bill_months > 0) {
		struct bill_scan bs = {p, bill_months, ""};

		r = store_scan(t, STORE_BILL, prefix.b, prefix.len, NULL, 0, true, bill_visit, &bs);
		if (r)
			goto fail;
	}
	return 0;
fail:
	custdb_profile_release(p);
	return r;
}

int custdb_lookup_msisdn(struct store_txn *t, const char *msisdn, size_t max_pay,
			 size_t bill_months, struct custdb_profile *p)
{
	struct store_val v;
	struct key k;
	char uid[128];
	int r;

	memset(p, 0, sizeof(*p));
	pthread_once(&rs_once, rs_init);
	key_init(&k);
	if (key_add_str(&k, msisdn))
		return KF_ENOTFOUND;
	if ((r = store_get(t, STORE_USER_BY_MSISDN, k.b, k.len, &v)))
		return r;
	if (v.len == 0 || v.len >= sizeof(uid))
		return KF_ECORRUPT;
	memcpy(uid, v.data, v.len);
	uid[v.len] = '\0';
	r = custdb_lookup_user(t, uid, max_pay, bill_months, p);
	return r == KF_ENOTFOUND ? KF_ECORRUPT : r;
}

void custdb_profile_release(struct custdb_profile *p)
{
	if (p->user)
		protobuf_c_message_free_unpacked(&p->user->base, NULL);
	if (p->cust)
		protobuf_c_message_free_unpacked(&p->cust->base, NULL);
	for (size_t i = 0; i < p->npay; i++)
		protobuf_c_message_free_unpacked(&p->pay[i]->base, NULL);
	for (size_t i = 0; i < p->nbill; i++)
		protobuf_c_message_free_unpacked(&p->bill[i]->base, NULL);
	memset(p, 0, sizeof(*p));
}

/* ---- a user's CDRs ---- */

struct cdr_scan {
	struct custdb_cdrs *out;
	const char *from;
	size_t limit;
};

static int cdr_visit(void *arg, const struct store_val *k, const struct store_val *v)
{
	struct cdr_scan *s = arg;
	const uint8_t *start;
	size_t slen, flen = s->from ? strlen(s->from) : 0;
	ProtobufCMessage *m;
	int r;

	if (s->out->n >= s->limit)
		return 1;
	if (key_part(k->data, k->len, 1, &start, &slen))
		return KF_ECORRUPT;
	/* Newest first: the first one before from ends the range. */
	if (flen && store_key_cmp(start, slen, s->from, flen) < 0)
		return 1;
	if ((r = msg_unpack(BOSS_CDR, v, &m)))
		return r;
	s->out->cdr[s->out->n++] = (Kefu__Cdr *)m;
	return 0;
}

int custdb_list_cdrs(struct store_txn *t, const char *user_id, const char *from, const char *to,
		     size_t limit, struct custdb_cdrs *out)
{
	struct cdr_scan s = {out, from, limit < CUSTDB_MAX_CDRS ? limit : CUSTDB_MAX_CDRS};
	struct key prefix, start;
	int r;

	memset(out, 0, sizeof(*out));
	key_init(&prefix);
	if (!user_id || key_add_str(&prefix, user_id))
		return 0; /* no such key can exist */
	if (s.limit == 0)
		return 0;
	/* A reverse scan starts at the last key <= start: user_id, to is
	 * before every key of a CDR that started at to or later. */
	start = prefix;
	if (to && *to && key_add_str(&start, to))
		return 0;
	r = store_scan(t, STORE_CDR, prefix.b, prefix.len, to && *to ? start.b : NULL,
		       to && *to ? start.len : 0, true, cdr_visit, &s);
	if (r)
		custdb_cdrs_release(out);
	return r;
}

void custdb_cdrs_release(struct custdb_cdrs *c)
{
	for (size_t i = 0; i < c->n; i++)
		protobuf_c_message_free_unpacked(&c->cdr[i]->base, NULL);
	memset(c, 0, sizeof(*c));
}

/* ---- retention ---- */

static int parse_digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return KF_EPARSE;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int custdb_months_back(const char *yyyymm, unsigned n, char out[7])
{
	unsigned y, m;
	long idx;

	if (strlen(yyyymm) != 6 || parse_digits(yyyymm, 4, &y) || parse_digits(yyyymm + 4, 2, &m) ||
	    m < 1 || m > 12)
		return KF_EPARSE;
	idx = (long)y * 12 + (long)(m - 1) - (long)n;
	if (idx < 0)
		return KF_EPARSE;
	snprintf(out, 7, "%04ld%02ld", idx / 12 % 10000, idx % 12 + 1);
	return 0;
}

#define PRUNE_CHUNK 5000

struct prune_job {
	enum store_table by_time;   /* index ordered by time, part 0 the time */
	enum boss_kind kind;
	int pk_parts[3];            /* parts of the index key forming the primary key, in order */
	char cutoff[16];            /* index part 0 below this is pruned */
	struct batch *b;
	uint64_t done;              /* records deleted by the last body run */
	const struct write_hooks *hooks;
};

struct prune_scan {
	struct collect c;
	const char *cutoff;
};

static int prune_visit(void *arg, const struct store_val *k, const struct store_val *v)
{
	struct prune_scan *s = arg;
	const uint8_t *t0;
	size_t l0;

	if (key_part(k->data, k->len, 0, &t0, &l0))
		return KF_ECORRUPT;
	if (l0 > strlen(s->cutoff) || memcmp(t0, s->cutoff, l0) >= 0 || s->c.n >= PRUNE_CHUNK)
		return 1;
	return collect_key(&s->c, k, v);
}

static int prune_body(struct store_txn *t, void *arg)
{
	struct prune_job *j = arg;
	struct prune_scan s = {{NULL, 0, 0, -1}, j->cutoff};
	struct store_view vw = store_txn_view(t);
	int r;

	batch_reset(j->b);
	j->done = 0;
	r = store_scan(t, j->by_time, NULL, 0, NULL, 0, false, prune_visit, &s);
	for (size_t i = 0; i < s.c.n && r == 0; i++) {
		struct key pk;

		key_init(&pk);
		for (int p = 0; p < 3; p++) {
			const uint8_t *part;
			size_t plen;

			if (key_part(s.c.keys[i].b, s.c.keys[i].len, (unsigned)j->pk_parts[p], &part,
				     &plen)) {
				r = KF_ECORRUPT;
				break;
			}
			key_add(&pk, part, plen);
		}
		if (r == 0)
			r = delete_stored(&vw, j->kind, pk.b, pk.len, j->b);
	}
	free(s.c.keys);
	if (r == 0 && s.c.n == 0)
		return 0; /* nothing to prune: no empty entry in the log */
	if (r == 0)
		r = batch_apply(t, j->b);
	if (r == 0)
		r = write_hooks_log(j->hooks, t, j->b, true);
	if (r == 0)
		j->done = s.c.n;
	return r;
}

static int prune_run(struct store *s, struct prune_job *j, uint64_t *count)
{
	int r;

	do {
		if ((r = write_hooks_run(j->hooks, s, prune_body, j)))
			return r;
		*count += j->done;
	} while (j->done > 0);
	return 0;
}

int custdb_prune(struct store *s, const struct write_hooks *hooks, const char *today,
		 struct custdb_prune_stats *st)
{
	struct prune_job cdr = {STORE_CDR_BY_TIME, BOSS_CDR, {1, 0, 2}, "", NULL, 0, hooks};
	struct prune_job bill = {STORE_BILL_BY_MONTH, BOSS_BILL, {1, 0, 2}, "", NULL, 0, hooks};
	char month[7], this_month[7] = "";
	unsigned day = 1, y = 0, m = 1;
	static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int r;

	pthread_once(&rs_once, rs_init);
	memset(st, 0, sizeof(*st));
	if (strlen(today) != 8 || !boss_stamp_is_valid(today, 8))
		return KF_EPARSE;
	memcpy(this_month, today, 6);
	parse_digits(today + 6, 2, &day);
	if ((r = custdb_months_back(this_month, CUSTDB_CDR_KEEP_MONTHS, month)))
		return r;
	parse_digits(month, 4, &y);
	parse_digits(month + 4, 2, &m);
	{
		unsigned last = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));

		if (day > last)
			day = last;
	}
	snprintf(cdr.cutoff, sizeof(cdr.cutoff), "%s%02u000000", month, day);
	if ((r = custdb_months_back(this_month, CUSTDB_BILL_KEEP_MONTHS - 1, bill.cutoff)))
		return r;
	cdr.b = batch_new(0);
	bill.b = batch_new(0);
	r = prune_run(s, &cdr, &st->cdrs);
	if (r == 0)
		r = prune_run(s, &bill, &st->bills);
	batch_free(cdr.b);
	batch_free(bill.b);
	return r;
}

/* The first "市", "州", "盟" or "地区" after the province ends the city. */
void custdb_city(const char *address, char *out, size_t cap)
{
	static const char *const ends[] = {"市", "州", "盟", "地区"};
	static const char *const provs[] = {"省", "自治区"};
	const char *s = address ? address : "", *best = NULL;
	size_t blen = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(provs) / sizeof(provs[0]); i++) {
		const char *p = strstr(s, provs[i]);

		if (p && p - s <= 24) {
			s = p + strlen(provs[i]);
			break;
		}
	}
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		const char *p = strstr(s, ends[i]);

		if (p && (!best || p < best)) {
			best = p;
			blen = strlen(ends[i]);
		}
	}
	if (best && (size_t)(best - s) + blen < cap && best > s)
		snprintf(out, cap, "%.*s", (int)(best - s + (ptrdiff_t)blen), s);
}
