/*
 * The console's two translations, both read off protobuf-c's descriptors
 * of proto/kefu.proto, so that a new message needs nothing here: a form
 * into the Envelope of a named body (the request a browser makes), and an
 * Envelope into JSON (what the browser is told). See console_int.h.
 */
#include "node/console/console_int.h"

#include "lib/err.h"
#include "lib/webform.h"
#include "proto/frame.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_DEPTH 4
#define REPEATED_MAX 64

static void *zalloc(size_t n)
{
	void *p = calloc(1, n);

	if (!p)
		abort();
	return p;
}

/* A sub-message of descriptor d, initialised, from the heap. */
static ProtobufCMessage *msg_new(const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = zalloc(d->sizeof_message);

	d->message_init(m);
	return m;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return KF_EPARSE;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10)
			return KF_EPARSE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	uint64_t u;
	bool neg = *s == '-';

	if (parse_u64(s + neg, neg ? (uint64_t)max + 1 : (uint64_t)max, &u) != 0)
		return KF_EPARSE;
	*out = neg ? (int64_t)(0 - u) : (int64_t)u;
	return *out < min ? KF_EPARSE : 0;
}

/* The scalar of field f from text into the storage at p. */
static int scalar_set(const ProtobufCFieldDescriptor *f, void *p, const char *v)
{
	uint64_t u;
	int64_t i;

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		*(char **)p = strdup(v);
		if (!*(char **)p)
			abort();
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
			*(protobuf_c_boolean *)p = 1;
		else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
			*(protobuf_c_boolean *)p = 0;
		else
			return KF_EPARSE;
		return 0;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (parse_u64(v, UINT32_MAX, &u) != 0)
			return KF_EPARSE;
		*(uint32_t *)p = (uint32_t)u;
		return 0;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (parse_u64(v, UINT64_MAX, &u) != 0)
			return KF_EPARSE;
		*(uint64_t *)p = u;
		return 0;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if (parse_i64(v, INT32_MIN, INT32_MAX, &i) != 0)
			return KF_EPARSE;
		*(int32_t *)p = (int32_t)i;
		return 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if (parse_i64(v, INT64_MIN, INT64_MAX, &i) != 0)
			return KF_EPARSE;
		*(int64_t *)p = i;
		return 0;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumDescriptor *ed = f->descriptor;
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(ed, v);

		if (!ev && parse_i64(v, INT32_MIN, INT32_MAX, &i) == 0)
			ev = protobuf_c_enum_descriptor_get_value(ed, (int)i);
		if (!ev)
			return KF_EPARSE;
		*(int *)p = ev->value;
		return 0;
	}
	default:
		return KF_EPARSE; /* bytes, floats: no console form sends them */
	}
}

/* Sets path (a.b.c) of m to v; nested messages are made on the way. */
static int field_set(ProtobufCMessage *m, const char *path, const char *v, char *why, size_t wsize)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *dot = strchr(path, '.');
	char name[64];
	size_t n = dot ? (size_t)(dot - path) : strlen(path);
	const ProtobufCFieldDescriptor *f;
	char *base = (char *)m;

	if (n >= sizeof(name))
		return kf_refuse(why, wsize, "field name too long");
	memcpy(name, path, n);
	name[n] = '\0';
	f = protobuf_c_message_descriptor_get_field_by_name(d, name);
	if (!f)
		return kf_refuse(why, wsize, "%s has no field %s", d->name, name);
	if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
		ProtobufCMessage **sub = (ProtobufCMessage **)(base + f->offset);

		if (!dot || f->label == PROTOBUF_C_LABEL_REPEATED)
			return kf_refuse(why, wsize, "field %s is a message: name one of its fields", name);
		if (!*sub)
			*sub = msg_new(f->descriptor);
		return field_set(*sub, dot + 1, v, why, wsize);
	}
	if (dot)
		return kf_refuse(why, wsize, "field %s has no fields", name);
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t *count = (size_t *)(base + f->quantifier_offset);
		void **arr = (void **)(base + f->offset);
		size_t sz = f->type == PROTOBUF_C_TYPE_STRING ? sizeof(char *)
			  : f->type == PROTOBUF_C_TYPE_UINT64 || f->type == PROTOBUF_C_TYPE_INT64 ||
				    f->type == PROTOBUF_C_TYPE_SINT64 || f->type == PROTOBUF_C_TYPE_FIXED64 ||
				    f->type == PROTOBUF_C_TYPE_SFIXED64
			      ? 8
			  : f->type == PROTOBUF_C_TYPE_BOOL ? sizeof(protobuf_c_boolean)
							    : 4;
		char *grown;

		if (*count >= REPEATED_MAX)
			return kf_refuse(why, wsize, "field %s: at most %d values", name, REPEATED_MAX);
		grown = realloc(*arr, (*count + 1) * sz);
		if (!grown)
			abort();
		memset(grown + *count * sz, 0, sz);
		*arr = grown;
		if (scalar_set(f, grown + *count * sz, v) != 0)
			return kf_refuse(why, wsize, "field %s: bad value", name);
		(*count)++;
		return 0;
	}
	if (f->type == PROTOBUF_C_TYPE_STRING && *(char **)(base + f->offset)) {
		free(*(char **)(base + f->offset));
		*(char **)(base + f->offset) = NULL;
	}
	if (scalar_set(f, base + f->offset, v) != 0)
		return kf_refuse(why, wsize, "field %s: bad value", name);
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
	    !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && f->type != PROTOBUF_C_TYPE_STRING)
		*(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
	return 0;
}

int console__form_envelope(const char *name, const char *form, size_t len, uint64_t request_id,
			   uint8_t **out, size_t *outlen, char *why, size_t wsize)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(&kefu__envelope__descriptor, name);
	Kefu__Envelope *e;
	ProtobufCMessage *body;
	char key[64], val[CONSOLE_VALUE_MAX];
	size_t pos = 0;
	int r;

	*out = NULL;
	if (!f || !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || f->type != PROTOBUF_C_TYPE_MESSAGE)
		return kf_refuse(why, wsize, "no message %s", name);
	e = zalloc(sizeof(*e));
	kefu__envelope__init(e);
	body = msg_new(f->descriptor);
	*(ProtobufCMessage **)((char *)e + f->offset) = body;
	*(uint32_t *)((char *)e + f->quantifier_offset) = f->id;
	e->has_request_id = 1;
	e->request_id = request_id;
	while ((r = webform_next(form, len, &pos, key, sizeof(key), val, sizeof(val))) == 1) {
		if (strcmp(key, "csrf") == 0)
			continue;
		if ((r = field_set(body, key, val, why, wsize)) != 0)
			goto done;
	}
	if (r != 0) {
		r = kf_refuse(why, wsize, "the form is malformed (%s)", kf_strerror(r));
		goto done;
	}
	*outlen = kefu__envelope__get_packed_size(e);
	*out = zalloc(*outlen + 1);
	kefu__envelope__pack(e, *out);
done:
	protobuf_c_message_free_unpacked(&e->base, NULL);
	return r;
}

/* ---- Envelope to JSON ---- */

static json_t *msg_json(const ProtobufCMessage *m, int depth);

static json_t *value_json(const ProtobufCFieldDescriptor *f, const void *p, int depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		return json_string(*(char *const *)p ? *(char *const *)p : "");
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer((json_int_t) * (const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return json_integer((json_int_t) * (const uint64_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return json_integer(*(const int64_t *)p);
	case PROTOBUF_C_TYPE_FLOAT:
		return json_real(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_real(*(const double *)p);
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)p);

		return ev ? json_string(ev->name) : json_integer(*(const int *)p);
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		char *hex = zalloc(b->len * 2 + 1);
		json_t *j;

		for (size_t i = 0; i < b->len; i++)
			snprintf(hex + 2 * i, 3, "%02x", b->data[i]);
		j = json_string(hex);
		free(hex);
		return j;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(ProtobufCMessage *const *)p ? msg_json(*(ProtobufCMessage *const *)p, depth + 1)
						      : json_null();
	}
	return json_null();
}

/* Every field set in m: repeated ones as arrays, unset optional ones left out. */
static json_t *msg_json(const ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	json_t *o = json_object();

	if (!o)
		abort();
	if (depth > 16)
		return o; /* the schema nests far less: a bug of ours otherwise */
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const void *p = base + f->offset;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			const char *arr = *(char *const *)p;
			json_t *a = json_array();

			for (size_t k = 0; k < n; k++)
				json_array_append_new(a, value_json(f, arr + k * proto_elem_size(f), depth));
			json_object_set_new(o, f->name, a);
			continue;
		}
		if (proto_field_present(m, f))
			json_object_set_new(o, f->name, value_json(f, p, depth));
	}
	return o;
}

char *console__envelope_json(const Kefu__Envelope *e)
{
	const ProtobufCFieldDescriptor *f = NULL;
	json_t *o = json_object(), *body = NULL;
	char *text;

	if (!o)
		abort();
	for (unsigned i = 0; i < kefu__envelope__descriptor.n_fields; i++)
		if (kefu__envelope__descriptor.fields[i].id == (uint32_t)e->body_case)
			f = &kefu__envelope__descriptor.fields[i];
	if (f) {
		body = value_json(f, (const char *)e + f->offset, 0);
		json_object_set_new(o, "type", json_string(f->name));
		json_object_set_new(o, "body", body);
	} else {
		json_object_set_new(o, "type", json_string(""));
	}
	json_object_set_new(o, "request_id", json_integer((json_int_t)e->request_id));
	text = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (!text)
		abort();
	return text;
}
