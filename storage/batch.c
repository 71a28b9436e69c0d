/*
 * WriteBatch: ops in an arena, packed to and from kefu.WriteBatch. See batch.h.
 *
 * Keys and values are copied into chunks that never move once allocated, so
 * the views batch_op() hands out stay valid as the batch grows. batch_reset
 * keeps the chunks for the next round.
 */
#include "storage/batch.h"

#include "lib/err.h"
#include "proto/kefu.pb-c.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_CAP_DEFAULT ((size_t)64 << 20)
/* First chunk; each new chunk doubles, up to BATCH_CHUNK_MIN << BATCH_CHUNK_SHIFT_MAX. */
#define BATCH_CHUNK_MIN ((size_t)64 << 10)
#define BATCH_CHUNK_SHIFT_MAX 7

struct batch_chunk {
	uint8_t *mem;
	size_t size;
	size_t used;
};

struct batch {
	size_t cap;
	size_t bytes;                /* keys and values held */
	struct batch_chunk *chunks;
	size_t nchunks;
	size_t cur;                  /* chunk being filled */
	struct batch_op *ops;
	size_t nops;
	size_t ops_alloc;
};

/* Where a batch stood, to undo a partly appended batch_unpack. */
struct batch_mark {
	size_t nops;
	size_t bytes;
	size_t cur;
	size_t cur_used;
};

/* The value of an empty put: a valid pointer that owns nothing. */
static const uint8_t batch_empty[1];

static void *batch_xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		abort();
	return p;
}

struct batch *batch_new(size_t cap)
{
	struct batch *b = calloc(1, sizeof(*b));

	if (!b)
		abort();
	b->cap = cap ? cap : BATCH_CAP_DEFAULT;
	return b;
}

void batch_free(struct batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nchunks; i++)
		free(b->chunks[i].mem);
	free(b->chunks);
	free(b->ops);
	free(b);
}

void batch_reset(struct batch *b)
{
	for (size_t i = 0; i < b->nchunks; i++)
		b->chunks[i].used = 0;
	b->cur = 0;
	b->nops = 0;
	b->bytes = 0;
}

size_t batch_count(const struct batch *b)
{
	return b->nops;
}

size_t batch_bytes(const struct batch *b)
{
	return b->bytes;
}

struct batch_op batch_op(const struct batch *b, size_t i)
{
	assert(i < b->nops);
	return b->ops[i];
}

/*
 * batch_copy - copy n > 0 bytes into the arena. Moves to the next chunk when
 * the current one is short, replacing a reused chunk that is too small.
 */
static const uint8_t *batch_copy(struct batch *b, const void *src, size_t n)
{
	struct batch_chunk *c = b->nchunks ? &b->chunks[b->cur] : NULL;
	uint8_t *dst;

	if (!c || c->size - c->used < n) {
		if (c)
			b->cur++;
		if (b->cur == b->nchunks) {
			size_t shift = b->nchunks < BATCH_CHUNK_SHIFT_MAX ? b->nchunks
									   : BATCH_CHUNK_SHIFT_MAX;

			b->chunks = batch_xrealloc(b->chunks, (b->nchunks + 1) * sizeof(*b->chunks));
			b->chunks[b->nchunks++] = (struct batch_chunk){NULL, BATCH_CHUNK_MIN << shift, 0};
		}
		c = &b->chunks[b->cur];
		if (c->size < n) {
			free(c->mem);
			c->mem = NULL;
			c->size = n;
		}
		if (!c->mem)
			c->mem = batch_xrealloc(NULL, c->size);
		c->used = 0;
	}
	dst = c->mem + c->used;
	memcpy(dst, src, n);
	c->used += n;
	return dst;
}

/* batch_add - the one append path of put and del. */
static int batch_add(struct batch *b, enum batch_op_kind kind, enum store_table table,
		     const void *key, size_t klen, const void *val, size_t vlen)
{
	struct batch_op *op;

	if (!store_table_name((int)table) || klen == 0)
		return -EINVAL;
	if (klen > STORE_KEY_MAX || klen > b->cap - b->bytes || vlen > b->cap - b->bytes - klen)
		return KF_ETOOBIG;
	if (b->nops == b->ops_alloc) {
		b->ops_alloc = b->ops_alloc ? b->ops_alloc * 2 : 64;
		b->ops = batch_xrealloc(b->ops, b->ops_alloc * sizeof(*b->ops));
	}
	op = &b->ops[b->nops++];
	op->kind = kind;
	op->table = table;
	op->key = batch_copy(b, key, klen);
	op->klen = klen;
	op->val = kind == BATCH_DEL ? NULL : vlen ? batch_copy(b, val, vlen) : batch_empty;
	op->vlen = kind == BATCH_DEL ? 0 : vlen;
	b->bytes += klen + op->vlen;
	return 0;
}

int batch_put(struct batch *b, enum store_table table, const void *key, size_t klen,
	      const void *val, size_t vlen)
{
	return batch_add(b, BATCH_PUT, table, key, klen, val, vlen);
}

int batch_del(struct batch *b, enum store_table table, const void *key, size_t klen)
{
	return batch_add(b, BATCH_DEL, table, key, klen, NULL, 0);
}

int batch_put_msg(struct batch *b, enum store_table table, const void *key, size_t klen,
		  const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t small[512], *buf = len <= sizeof(small) ? small : malloc(len);
	int err;

	if (!buf)
		abort();
	protobuf_c_message_pack(m, buf);
	err = batch_put(b, table, key, klen, buf, len);
	if (buf != small)
		free(buf);
	return err;
}

int batch_apply_from(struct store_txn *t, const struct batch *b, size_t from)
{
	assert(from <= b->nops);
	for (size_t i = from; i < b->nops; i++) {
		const struct batch_op *op = &b->ops[i];
		int rc = op->kind == BATCH_PUT
				 ? store__put(t, op->table, op->key, op->klen, op->val, op->vlen)
				 : store__del(t, op->table, op->key, op->klen);

		if (rc)
			return rc;
	}
	return 0;
}

int batch_apply(struct store_txn *t, const struct batch *b)
{
	return batch_apply_from(t, b, 0);
}

/* The highest key of a table as batch_apply_append knows it. */
struct batch_tail {
	bool known;
	bool empty;              /* the table has no key */
	const uint8_t *key;      /* into buf or into the batch */
	size_t len;
	uint8_t buf[STORE_KEY_MAX];
};

/* batch_tail_load - read table's last key into tl (the map's copy does not
 * outlive the next write). */
static int batch_tail_load(struct store_txn *t, enum store_table table, struct batch_tail *tl)
{
	struct store_val v;
	int rc = store_last(t, table, &v);

	tl->known = true;
	tl->empty = rc == KF_ENOTFOUND;
	if (rc && rc != KF_ENOTFOUND)
		return rc;
	if (rc == 0) {
		memcpy(tl->buf, v.data, v.len);
		tl->key = tl->buf;
		tl->len = v.len;
	}
	return 0;
}

/* batch_put_tail - one put of batch_apply_append: appended when above the
 * table's tail (which it then becomes), else inserted. */
static int batch_put_tail(struct store_txn *t, const struct batch_op *op, struct batch_tail *tl)
{
	int rc;

	if (!tl->known && (rc = batch_tail_load(t, op->table, tl)))
		return rc;
	if (tl->empty || store_key_cmp(op->key, op->klen, tl->key, tl->len) > 0) {
		rc = store__append(t, op->table, op->key, op->klen, op->val, op->vlen);
		if (rc != KF_EEXISTS) {
			tl->empty = false;
			tl->key = op->key;
			tl->len = op->klen;
			return rc;
		}
	}
	return store__put(t, op->table, op->key, op->klen, op->val, op->vlen);
}

int batch_apply_append(struct store_txn *t, const struct batch *b)
{
	struct batch_tail *tails = batch_xrealloc(NULL, STORE_TABLE_SLOTS * sizeof(*tails));
	int rc = 0;

	for (int i = 0; i < STORE_TABLE_SLOTS; i++)
		tails[i].known = false;
	for (size_t i = 0; i < b->nops && rc == 0; i++) {
		const struct batch_op *op = &b->ops[i];

		/* A delete may remove the tail: read it again before the next put. */
		if (op->kind == BATCH_DEL) {
			rc = store__del(t, op->table, op->key, op->klen);
			tails[op->table].known = false;
		} else {
			rc = batch_put_tail(t, op, &tails[op->table]);
		}
	}
	free(tails);
	return rc;
}

/* ---- sorting ---- */

/* What the sort compares: table and head of the key, then the full key,
 * then the op's place, which keeps the sort stable. */
struct batch_sortent {
	struct store_key_head head;
	const struct batch_op *op;
	size_t idx;
};

static int batch_sortent_cmp(const void *pa, const void *pb)
{
	const struct batch_sortent *a = pa, *b = pb;
	int c;

	if ((c = store_key_head_cmp(&a->head, &b->head)))
		return c;
	c = store_key_cmp(a->op->key, a->op->klen, b->op->key, b->op->klen);
	if (c)
		return c;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

void batch_sort(struct batch *b)
{
	struct batch_sortent *e;
	struct batch_op *ops;

	if (b->nops < 2)
		return;
	e = batch_xrealloc(NULL, b->nops * sizeof(*e));
	for (size_t i = 0; i < b->nops; i++)
		e[i] = (struct batch_sortent){
			store_key_head(b->ops[i].table, b->ops[i].key, b->ops[i].klen), &b->ops[i], i};
	qsort(e, b->nops, sizeof(*e), batch_sortent_cmp);
	ops = batch_xrealloc(NULL, b->ops_alloc * sizeof(*ops));
	for (size_t i = 0; i < b->nops; i++)
		ops[i] = *e[i].op;
	free(b->ops);
	b->ops = ops;
	free(e);
}

/* ---- protobuf ---- */

/* Our op kinds are the wire kinds; this keeps them so. */
_Static_assert((int)BATCH_PUT == (int)KEFU__WRITE_OP__KIND__PUT &&
		       (int)BATCH_DEL == (int)KEFU__WRITE_OP__KIND__DEL,
	       "batch op kinds must match kefu.WriteOp.Kind");

int batch_pack(const struct batch *b, uint64_t group, bool group_end, const char *origin,
	       uint8_t **out, size_t *outlen)
{
	Kefu__WriteBatch msg = KEFU__WRITE_BATCH__INIT;
	Kefu__WriteOp *ops = batch_xrealloc(NULL, (b->nops ? b->nops : 1) * sizeof(*ops));
	Kefu__WriteOp **ptrs = batch_xrealloc(NULL, (b->nops ? b->nops : 1) * sizeof(*ptrs));
	uint8_t *buf;
	size_t len;

	for (size_t i = 0; i < b->nops; i++) {
		const struct batch_op *op = &b->ops[i];

		kefu__write_op__init(&ops[i]);
		ops[i].has_kind = 1;
		ops[i].kind = (Kefu__WriteOp__Kind)op->kind;
		ops[i].has_table = 1;
		ops[i].table = (uint32_t)op->table;
		ops[i].has_key = 1;
		ops[i].key = (ProtobufCBinaryData){op->klen, (uint8_t *)op->key};
		if (op->kind == BATCH_PUT) {
			ops[i].has_value = 1;
			ops[i].value = (ProtobufCBinaryData){op->vlen, (uint8_t *)op->val};
		}
		ptrs[i] = &ops[i];
	}
	msg.n_ops = b->nops;
	msg.ops = ptrs;
	msg.has_group = group != 0;
	msg.group = group;
	msg.has_group_end = group_end;
	msg.group_end = group_end;
	msg.origin = (char *)origin;

	len = kefu__write_batch__get_packed_size(&msg);
	buf = batch_xrealloc(NULL, len ? len : 1);
	kefu__write_batch__pack(&msg, buf);
	free(ptrs);
	free(ops);
	*out = buf;
	*outlen = len;
	return 0;
}

static void batch_mark(const struct batch *b, struct batch_mark *m)
{
	m->nops = b->nops;
	m->bytes = b->bytes;
	m->cur = b->cur;
	m->cur_used = b->nchunks ? b->chunks[b->cur].used : 0;
}

static void batch_rewind(struct batch *b, const struct batch_mark *m)
{
	for (size_t i = m->cur; i < b->nchunks; i++)
		b->chunks[i].used = i == m->cur ? m->cur_used : 0;
	b->cur = m->cur;
	b->nops = m->nops;
	b->bytes = m->bytes;
}

/* batch_unpack_op - check one op from the wire and append it. */
static int batch_unpack_op(struct batch *b, const Kefu__WriteOp *op)
{
	int rc;

	if (!op->has_table || op->table >= (uint32_t)STORE_TABLE_SLOTS || !store_table_name((int)op->table))
		return KF_EPARSE;
	if (!op->has_key || op->key.len == 0)
		return KF_EPARSE;
	if (op->kind == KEFU__WRITE_OP__KIND__PUT)
		rc = batch_put(b, (enum store_table)op->table, op->key.data, op->key.len,
			       op->value.data, op->has_value ? op->value.len : 0);
	else if (op->kind == KEFU__WRITE_OP__KIND__DEL && !op->has_value)
		rc = batch_del(b, (enum store_table)op->table, op->key.data, op->key.len);
	else
		return KF_EPARSE;
	return rc == -EINVAL ? KF_EPARSE : rc;
}

int batch_unpack(struct batch *b, const uint8_t *buf, size_t len, uint64_t *group,
		 bool *group_end)
{
	Kefu__WriteBatch *msg = kefu__write_batch__unpack(NULL, len, buf);
	struct batch_mark mark;
	int rc = 0;

	if (!msg)
		return KF_EPARSE;
	batch_mark(b, &mark);
	for (size_t i = 0; i < msg->n_ops && rc == 0; i++)
		rc = batch_unpack_op(b, msg->ops[i]);
	if (rc) {
		batch_rewind(b, &mark);
	} else {
		if (group)
			*group = msg->has_group ? msg->group : 0;
		if (group_end)
			*group_end = msg->has_group_end && msg->group_end;
	}
	kefu__write_batch__free_unpacked(msg, NULL);
	return rc;
}

int write_hooks_run(const struct write_hooks *h, struct store *s, store_write_fn body, void *arg)
{
	return h && h->run ? h->run(h->arg, body, arg) : store_write(s, body, arg);
}

int write_hooks_log(const struct write_hooks *h, struct store_txn *t, const struct batch *b,
		    bool last)
{
	return h && h->log ? h->log(h->arg, t, b, last) : 0;
}
