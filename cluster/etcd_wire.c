/* The etcd gateway's JSON: request bodies, answers, watch lines. See etcd_wire.h. */
#include "cluster/etcd_wire.h"

#include "lib/err.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETCD_TXN_MAX 128 /* etcd's default --max-txn-ops */

/* Names on the wire, indexed by our enums. */
static const struct {
	const char *request;
	const char *response;
} wire_ops[] = {
	[ETCD_OP_RANGE] = {"request_range", "response_range"},
	[ETCD_OP_PUT] = {"request_put", "response_put"},
	[ETCD_OP_DELETE] = {"request_delete_range", "response_delete_range"},
};

static const struct {
	const char *name;
	const char *field;
} wire_targets[] = {
	[ETCD_TARGET_VERSION] = {"VERSION", "version"},
	[ETCD_TARGET_CREATE] = {"CREATE", "create_revision"},
	[ETCD_TARGET_MOD] = {"MOD", "mod_revision"},
	[ETCD_TARGET_VALUE] = {"VALUE", "value"},
	[ETCD_TARGET_LEASE] = {"LEASE", "lease"},
};

static const char *const wire_results[] = {
	[ETCD_CMP_EQUAL] = "EQUAL",
	[ETCD_CMP_GREATER] = "GREATER",
	[ETCD_CMP_LESS] = "LESS",
	[ETCD_CMP_NOT_EQUAL] = "NOT_EQUAL",
};

static const char *const wire_events[] = {
	[ETCD_EVENT_PUT] = "PUT",
	[ETCD_EVENT_DELETE] = "DELETE",
};

/* gRPC status codes carried in error answers, and what they mean to us. */
static const struct {
	int grpc;
	int err;
} wire_codes[] = {
	{1, KF_ECANCELED},   /* Canceled */
	{2, -EIO},           /* Unknown */
	{4, -EIO},           /* DeadlineExceeded */
	{5, KF_ENOTFOUND},   /* NotFound */
	{8, -EIO},           /* ResourceExhausted */
	{11, KF_ECOMPACTED}, /* OutOfRange: required revision compacted */
	{13, -EIO},          /* Internal */
	{14, -EIO},          /* Unavailable */
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- base64 ---- */

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static json_t *b64_json(const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t out_len = (n + 2) / 3 * 4, o = 0;
	char *out = malloc(out_len + 1);
	json_t *j;

	if (!out)
		abort();
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[o++] = b64_chars[v >> 18 & 63];
		out[o++] = b64_chars[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64_chars[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64_chars[v & 63] : '=';
	}
	j = json_stringn(out, out_len);
	free(out);
	if (!j)
		abort();
	return j;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64_chars, c) : NULL;

	return p ? (int)(p - b64_chars) : -1;
}

/* Strict decoding (length a multiple of 4, padding only at the end) into a
 * malloc'd NUL-terminated buffer. */
static int b64_decode(const char *s, size_t n, char **out, size_t *out_len)
{
	size_t pad = 0, o = 0;
	char *buf;

	if (n % 4)
		return KF_EPARSE;
	if (n && s[n - 1] == '=')
		pad = n >= 2 && s[n - 2] == '=' ? 2 : 1;
	buf = malloc(n / 4 * 3 + 1);
	if (!buf)
		abort();
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;

		for (size_t k = 0; k < 4; k++) {
			int d = b64_value(s[i + k]);

			if (d < 0 && !(s[i + k] == '=' && i + k >= n - pad)) {
				free(buf);
				return KF_EPARSE;
			}
			v = v << 6 | (uint32_t)(d < 0 ? 0 : d);
		}
		buf[o++] = (char)(v >> 16);
		if (i + 4 < n || pad < 2)
			buf[o++] = (char)(v >> 8 & 255);
		if (i + 4 < n || pad < 1)
			buf[o++] = (char)(v & 255);
	}
	buf[o] = '\0';
	*out = buf;
	*out_len = o;
	return 0;
}

/* ---- request bodies ---- */

static json_t *i64_json(int64_t v)
{
	char s[24];
	json_t *j;

	snprintf(s, sizeof(s), "%" PRId64, v);
	j = json_string(s);
	if (!j)
		abort();
	return j;
}

static void set_new(json_t *o, const char *name, json_t *v)
{
	if (json_object_set_new(o, name, v) != 0)
		abort();
}

static void append_new(json_t *a, json_t *v)
{
	if (json_array_append_new(a, v) != 0)
		abort();
}

static json_t *obj_new(void)
{
	json_t *o = json_object();

	if (!o)
		abort();
	return o;
}

static json_t *arr_new(void)
{
	json_t *a = json_array();

	if (!a)
		abort();
	return a;
}

static int key_check(const char *key)
{
	if (!key || !*key)
		return -EINVAL;
	return strnlen(key, ETCD_KEY_MAX + 1) > ETCD_KEY_MAX ? KF_ETOOBIG : 0;
}

static int value_check(const void *value, size_t len)
{
	if (!value && len)
		return -EINVAL;
	return len > ETCD_VALUE_MAX ? KF_ETOOBIG : 0;
}

/* {"key": k} and, for a prefix, "range_end": the key with its last byte
 * below 0xff incremented and the rest cut ("\0" = every key). */
static json_t *key_json(const char *key, bool prefix)
{
	json_t *o = obj_new();
	size_t n = strlen(key);

	set_new(o, "key", b64_json(key, n));
	if (prefix) {
		unsigned char end[ETCD_KEY_MAX];

		memcpy(end, key, n);
		while (n > 0 && end[n - 1] == 0xff)
			n--;
		if (n == 0)
			end[n++] = 0;
		else
			end[n - 1]++;
		set_new(o, "range_end", b64_json(end, n));
	}
	return o;
}

static json_t *op_json(const struct etcd_op *op, int *err)
{
	json_t *o;

	if ((unsigned)op->type >= COUNT(wire_ops)) {
		*err = -EINVAL;
		return NULL;
	}
	if ((*err = key_check(op->key)) != 0)
		return NULL;
	if (op->type == ETCD_OP_PUT && (*err = value_check(op->value, op->value_len)) != 0)
		return NULL;
	o = key_json(op->key, op->prefix && op->type != ETCD_OP_PUT);
	if (op->type == ETCD_OP_PUT) {
		set_new(o, "value", b64_json(op->value, op->value_len));
		if (op->lease)
			set_new(o, "lease", i64_json(op->lease));
	}
	return o;
}

static char *dump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	if (!s)
		abort();
	return s;
}

char *etcd_wire_op(const struct etcd_op *op, int *err)
{
	json_t *o = op_json(op, err);

	return o ? dump(o) : NULL;
}

static json_t *cmp_json(const struct etcd_cmp *c, int *err)
{
	json_t *o;

	if ((unsigned)c->target >= COUNT(wire_targets) || (unsigned)c->result >= COUNT(wire_results)) {
		*err = -EINVAL;
		return NULL;
	}
	if ((*err = key_check(c->key)) != 0)
		return NULL;
	if (c->target == ETCD_TARGET_VALUE && (*err = value_check(c->value, c->value_len)) != 0)
		return NULL;
	o = key_json(c->key, false);
	set_new(o, "target", json_string(wire_targets[c->target].name));
	set_new(o, "result", json_string(wire_results[c->result]));
	set_new(o, wire_targets[c->target].field,
		c->target == ETCD_TARGET_VALUE ? b64_json(c->value, c->value_len) : i64_json(c->num));
	return o;
}

/* An array of {"request_<op>": {...}}; NULL with *err on a bad op. */
static json_t *ops_json(const struct etcd_op *ops, size_t n, int *err)
{
	json_t *a = arr_new();

	for (size_t i = 0; i < n; i++) {
		json_t *op = op_json(&ops[i], err), *w;

		if (!op) {
			json_decref(a);
			return NULL;
		}
		w = obj_new();
		set_new(w, wire_ops[ops[i].type].request, op);
		append_new(a, w);
	}
	return a;
}

char *etcd_wire_txn(const struct etcd_txn *t, int *err)
{
	json_t *o, *cmps, *succ, *fail;

	if ((t->n_cmp && !t->cmp) || (t->n_success && !t->success) || (t->n_failure && !t->failure)) {
		*err = -EINVAL;
		return NULL;
	}
	if (t->n_cmp > ETCD_TXN_MAX || t->n_success > ETCD_TXN_MAX || t->n_failure > ETCD_TXN_MAX) {
		*err = KF_ETOOBIG;
		return NULL;
	}
	o = obj_new();
	cmps = arr_new();
	set_new(o, "compare", cmps);
	for (size_t i = 0; i < t->n_cmp; i++) {
		json_t *c = cmp_json(&t->cmp[i], err);

		if (!c)
			goto fail;
		append_new(cmps, c);
	}
	if (!(succ = ops_json(t->success, t->n_success, err)))
		goto fail;
	set_new(o, "success", succ);
	if (!(fail = ops_json(t->failure, t->n_failure, err)))
		goto fail;
	set_new(o, "failure", fail);
	return dump(o);
fail:
	json_decref(o);
	return NULL;
}

char *etcd_wire_watch(const char *key, bool prefix, int64_t start_rev, int *err)
{
	json_t *o, *c;

	if ((*err = key_check(key)) != 0)
		return NULL;
	if (start_rev < 0) {
		*err = -EINVAL;
		return NULL;
	}
	c = key_json(key, prefix);
	if (start_rev)
		set_new(c, "start_revision", i64_json(start_rev));
	o = obj_new();
	set_new(o, "create_request", c);
	return dump(o);
}

char *etcd_wire_int(const char *name, int64_t v, bool physical)
{
	json_t *o = obj_new();

	set_new(o, name, i64_json(v));
	if (physical)
		set_new(o, "physical", json_true());
	return dump(o);
}

/* ---- answers ---- */

/* A member that is absent is 0; a string must be a whole decimal int64. */
static int get_i64(const json_t *o, const char *name, int64_t *out)
{
	const json_t *j = json_object_get(o, name);
	const char *s;
	char *end;
	long long v;

	*out = 0;
	if (!j)
		return 0;
	if (json_is_integer(j)) {
		*out = json_integer_value(j);
		return 0;
	}
	if (!json_is_string(j))
		return KF_EPARSE;
	s = json_string_value(j);
	if (*s != '-' && (*s < '0' || *s > '9'))
		return KF_EPARSE;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || end == s || (size_t)(end - s) != json_string_length(j))
		return KF_EPARSE;
	*out = v;
	return 0;
}

static int get_bool(const json_t *o, const char *name, bool *out)
{
	const json_t *j = json_object_get(o, name);

	*out = false;
	if (!j)
		return 0;
	if (!json_is_boolean(j))
		return KF_EPARSE;
	*out = json_is_true(j);
	return 0;
}

/* An optional object member: NULL if absent, *bad if present but not an object. */
static const json_t *get_obj(const json_t *o, const char *name, bool *bad)
{
	const json_t *j = json_object_get(o, name);

	if (j && !json_is_object(j))
		*bad = true;
	return json_is_object(j) ? j : NULL;
}

/* An optional base64 member, decoded; absent = empty (still allocated). */
static int get_b64(const json_t *o, const char *name, char **out, size_t *len)
{
	const json_t *j = json_object_get(o, name);

	if (!j)
		return b64_decode("", 0, out, len);
	if (!json_is_string(j))
		return KF_EPARSE;
	return b64_decode(json_string_value(j), json_string_length(j), out, len);
}

static void kv_release(struct etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
}

static int kv_parse(const json_t *j, struct etcd_kv *kv)
{
	int r;

	memset(kv, 0, sizeof(*kv));
	if (!json_is_object(j))
		return KF_EPARSE;
	if ((r = get_b64(j, "key", &kv->key, &kv->key_len)) != 0)
		return r;
	if ((r = get_b64(j, "value", &kv->value, &kv->value_len)) != 0 ||
	    (r = get_i64(j, "create_revision", &kv->create_revision)) != 0 ||
	    (r = get_i64(j, "mod_revision", &kv->mod_revision)) != 0 ||
	    (r = get_i64(j, "version", &kv->version)) != 0 ||
	    (r = get_i64(j, "lease", &kv->lease)) != 0) {
		kv_release(kv);
		memset(kv, 0, sizeof(*kv));
		return r;
	}
	return 0;
}

static int header_revision(const json_t *o, int64_t *rev)
{
	bool bad = false;
	const json_t *h = get_obj(o, "header", &bad);

	*rev = 0;
	if (bad)
		return KF_EPARSE;
	return h ? get_i64(h, "revision", rev) : 0;
}

/* The gRPC code and message of an error answer, in either of the
 * gateway's two shapes: {"error": "text", "code": N, "message": "text"}
 * for a plain call, {"error": {"grpc_code": N, "message": "text"}} in a
 * stream. Returns the mapped error, or 0 when o carries no code. */
static int error_of(const json_t *o, char *msg, size_t cap)
{
	const json_t *e = json_object_get(o, "error"), *m;
	int64_t code = 0;
	int has;

	if (!e)
		return 0;
	if (json_is_object(e)) {
		has = json_object_get(e, "grpc_code") != NULL;
		if (get_i64(e, "grpc_code", &code) != 0)
			return KF_EPARSE;
		m = json_object_get(e, "message");
	} else {
		has = json_object_get(o, "code") != NULL;
		if (get_i64(o, "code", &code) != 0)
			return KF_EPARSE;
		m = json_is_string(e) ? e : json_object_get(o, "message");
	}
	if (msg && cap)
		snprintf(msg, cap, "%s", json_is_string(m) ? json_string_value(m) : "");
	if (!has)
		return KF_EPROTO;
	for (size_t i = 0; i < COUNT(wire_codes); i++)
		if (wire_codes[i].grpc == code)
			return wire_codes[i].err;
	return KF_EPROTO;
}

/*
 * The prelude of every array in an answer: absent or empty is no items,
 * anything but an array is an error; else a zeroed array of *count items
 * of size each, to free by the caller whatever follows.
 */
static int array_alloc(const json_t *arr, size_t size, void **out, size_t *count)
{
	*out = NULL;
	*count = 0;
	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return KF_EPARSE;
	*count = json_array_size(arr);
	if (!*count)
		return 0;
	*out = calloc(*count, size);
	if (!*out)
		abort();
	return 0;
}

static int kvs_parse(const json_t *arr, struct etcd_kv **out, size_t *n)
{
	size_t count;
	void *items;
	int r;

	*n = 0;
	r = array_alloc(arr, sizeof(**out), &items, &count);
	*out = items;
	if (r)
		return r;
	for (size_t i = 0; i < count; i++) {
		if ((r = kv_parse(json_array_get(arr, i), &(*out)[i])) != 0)
			return r;
		(*n)++;
	}
	return 0;
}

static int resp_fill(const json_t *o, struct etcd_resp *r, bool top);

/* A txn's "responses": [{"response_range": {...}}, ...]. */
static int results_parse(const json_t *arr, struct etcd_resp *r)
{
	size_t count;
	void *items;
	int err = array_alloc(arr, sizeof(*r->results), &items, &count);

	r->results = items;
	if (err)
		return err;
	for (size_t i = 0; i < count; i++) {
		const json_t *w = json_array_get(arr, i), *inner = NULL;
		struct etcd_resp *res = &r->results[i];

		for (size_t t = 0; t < COUNT(wire_ops) && !inner; t++) {
			inner = json_object_get(w, wire_ops[t].response);
			res->type = (enum etcd_op_type)t;
		}
		if (!json_is_object(inner))
			return KF_EPARSE;
		r->n_results++;
		if ((err = resp_fill(inner, res, false)) != 0)
			return err;
	}
	return 0;
}

/* Every field an answer may hold; absent ones stay 0. Only a top-level
 * answer (a txn) may hold nested results. On failure r holds what was
 * parsed so far, for etcd_wire_resp_release. */
static int resp_fill(const json_t *o, struct etcd_resp *r, bool top)
{
	int err;

	if ((err = header_revision(o, &r->revision)) != 0 ||
	    (err = kvs_parse(json_object_get(o, "kvs"), &r->kvs, &r->n_kvs)) != 0 ||
	    (err = get_i64(o, "count", &r->count)) != 0 ||
	    (err = get_bool(o, "more", &r->more)) != 0 ||
	    (err = get_i64(o, "deleted", &r->deleted)) != 0 ||
	    (err = get_bool(o, "succeeded", &r->succeeded)) != 0 ||
	    (err = get_i64(o, "ID", &r->lease_id)) != 0 ||
	    (err = get_i64(o, "TTL", &r->ttl)) != 0)
		return err;
	if (!top)
		return json_object_get(o, "responses") ? KF_EPARSE : 0;
	return results_parse(json_object_get(o, "responses"), r);
}

static json_t *load(const char *body, size_t len)
{
	json_error_t jerr;
	json_t *o = json_loadb(body, len, 0, &jerr);

	if (o && !json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int etcd_wire_resp_parse(enum etcd_wire_kind kind, const char *body, size_t len,
			 struct etcd_resp *r)
{
	json_t *o = load(body, len);
	const json_t *res = o;
	int err;

	memset(r, 0, sizeof(*r));
	if (!o)
		return KF_EPARSE;
	if ((err = error_of(o, NULL, 0)) != 0)
		goto out;
	if (kind == ETCD_WIRE_HEALTH) {
		const json_t *h = json_object_get(o, "health");

		err = json_is_string(h) ? 0 : KF_EPARSE;
		r->healthy = json_is_string(h) && strcmp(json_string_value(h), "true") == 0;
		goto out;
	}
	if (kind == ETCD_WIRE_KEEPALIVE) {
		res = json_object_get(o, "result");
		if (!json_is_object(res)) {
			err = KF_EPARSE;
			goto out;
		}
	}
	err = resp_fill(res, r, true);
	if (!err && kind == ETCD_WIRE_KEEPALIVE && r->ttl <= 0)
		err = KF_ENOTFOUND;
out:
	json_decref(o);
	if (err)
		etcd_wire_resp_release(r);
	return err;
}

void etcd_wire_resp_release(struct etcd_resp *r)
{
	for (size_t i = 0; i < r->n_kvs; i++)
		kv_release(&r->kvs[i]);
	free(r->kvs);
	for (size_t i = 0; i < r->n_results; i++)
		etcd_wire_resp_release(&r->results[i]);
	free(r->results);
	memset(r, 0, sizeof(*r));
}

int etcd_wire_error(long http_status, const char *body, size_t len, char *msg, size_t cap)
{
	json_t *o;
	int err;

	if (msg && cap)
		msg[0] = '\0';
	o = load(body, len);
	err = o ? error_of(o, msg, cap) : 0;
	json_decref(o);
	if (err && err != KF_EPARSE && (err != KF_EPROTO || http_status < 500))
		return err;
	return http_status >= 500 ? -EIO : KF_EPROTO;
}

static int events_parse(const json_t *arr, struct etcd_watch_msg *m)
{
	size_t count;
	void *items;
	int r = array_alloc(arr, sizeof(*m->events), &items, &count);

	m->events = items;
	if (r)
		return r;
	for (size_t i = 0; i < count; i++) {
		const json_t *ev = json_array_get(arr, i), *type = json_object_get(ev, "type");
		struct etcd_event *out = &m->events[m->n_events];
		size_t t = 0;
		int err;

		if (type) {
			if (!json_is_string(type))
				return KF_EPARSE;
			while (t < COUNT(wire_events) && strcmp(json_string_value(type), wire_events[t]))
				t++;
			if (t == COUNT(wire_events))
				return KF_EPARSE;
		}
		if ((err = kv_parse(json_object_get(ev, "kv"), &out->kv)) != 0)
			return err;
		out->type = (enum etcd_event_type)t;
		m->n_events++;
	}
	return 0;
}

int etcd_wire_watch_parse(const char *line, size_t len, struct etcd_watch_msg *m)
{
	json_t *o = load(line, len);
	const json_t *res;
	int err;

	memset(m, 0, sizeof(*m));
	if (!o)
		return KF_EPARSE;
	/* A stream error is not a cancel message: it has no compact revision. */
	if ((err = error_of(o, NULL, 0)) != 0) {
		if (err == KF_ECOMPACTED || err == KF_ECANCELED)
			err = KF_EPROTO;
		goto out;
	}
	res = json_object_get(o, "result");
	if (!json_is_object(res)) {
		err = KF_EPARSE;
		goto out;
	}
	if ((err = header_revision(res, &m->revision)) != 0 ||
	    (err = get_i64(res, "watch_id", &m->watch_id)) != 0 ||
	    (err = get_bool(res, "created", &m->created)) != 0 ||
	    (err = get_bool(res, "canceled", &m->canceled)) != 0 ||
	    (err = get_i64(res, "compact_revision", &m->compact_revision)) != 0 ||
	    (err = events_parse(json_object_get(res, "events"), m)) != 0)
		goto out;
	if (m->canceled)
		err = m->compact_revision > 0 ? KF_ECOMPACTED : KF_ECANCELED;
out:
	json_decref(o);
	if (err && err != KF_ECOMPACTED && err != KF_ECANCELED)
		etcd_wire_watch_release(m);
	return err;
}

void etcd_wire_watch_release(struct etcd_watch_msg *m)
{
	for (size_t i = 0; i < m->n_events; i++)
		kv_release(&m->events[i].kv);
	free(m->events);
	memset(m, 0, sizeof(*m));
}

/* ---- the stream splitter ---- */

void etcd_wire_lines_init(struct etcd_wire_lines *s, size_t max_line)
{
	memset(s, 0, sizeof(*s));
	s->max = max_line;
}

void etcd_wire_lines_release(struct etcd_wire_lines *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

int etcd_wire_lines_feed(struct etcd_wire_lines *s, const void *p, size_t n)
{
	const char *nl;

	if (s->off) {
		memmove(s->buf, s->buf + s->off, s->len - s->off);
		s->len -= s->off;
		s->off = 0;
	}
	nl = n ? memrchr(p, '\n', n) : NULL;
	if (!nl && s->tail + n > s->max)
		return KF_ETOOBIG;
	if (s->len + n > s->size) {
		size_t size = s->size ? s->size : 4096;

		while (size < s->len + n)
			size *= 2;
		s->buf = realloc(s->buf, size);
		if (!s->buf)
			abort();
		s->size = size;
	}
	if (n)
		memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->tail = nl ? (size_t)((const char *)p + n - nl - 1) : s->tail + n;
	return s->tail > s->max ? KF_ETOOBIG : 0;
}

int etcd_wire_lines_next(struct etcd_wire_lines *s, const char **line, size_t *len)
{
	while (s->off < s->len) {
		char *start = s->buf + s->off;
		char *nl = memchr(start, '\n', s->len - s->off);
		size_t n;

		if (!nl)
			return 0;
		n = (size_t)(nl - start);
		s->off += n + 1;
		if (n && start[n - 1] == '\r')
			n--;
		if (n > s->max)
			return KF_ETOOBIG;
		if (n) {
			*line = start;
			*len = n;
			return 1;
		}
	}
	return 0;
}
