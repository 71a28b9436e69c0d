/* One protobuf Envelope per frame of the wire protocol. See frame.h. */
#include "proto/frame.h"

#include "lib/err.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/*
 * protobuf-c's allocator for Envelopes from the wire. Unpacking draws on a
 * budget: every byte protobuf-c asks for, its scratch space included,
 * counts, and a request past the budget fails the unpack (protobuf-c then
 * frees what it had and returns NULL). Freed memory is not returned to the
 * budget, so the budget bounds the peak too. Blocks come from malloc, so
 * the Envelope is freed as any other (frame_envelope_free).
 */
struct unpack_budget {
	size_t left;
	bool over;
};

static void *budget_alloc(void *data, size_t size)
{
	struct unpack_budget *b = data;
	void *p;

	if (size > b->left) {
		b->over = true;
		return NULL;
	}
	p = malloc(size ? size : 1);
	if (!p)
		abort();
	b->left -= size;
	return p;
}

static void budget_free(void *data, void *p)
{
	(void)data;
	free(p);
}

int frame_envelope_encode(const Kefu__Envelope *e, size_t max, uint8_t *out, size_t out_size,
			  size_t *written)
{
	size_t len;
	int r;

	if (e->body_case == KEFU__ENVELOPE__BODY__NOT_SET)
		return KF_EPROTO;
	len = protobuf_c_message_get_packed_size(&e->base);
	r = frame_check(len, max, out_size);
	if (r)
		return r;
	frame_header_put(out, (uint32_t)len);
	if (protobuf_c_message_pack(&e->base, out + FRAME_HEADER) != len)
		return KF_EINTERNAL;
	*written = FRAME_HEADER + len;
	return 0;
}

int frame_envelope_decode(const void *data, size_t len, Kefu__Envelope **out)
{
	struct unpack_budget b = {0, false};
	ProtobufCAllocator a = {budget_alloc, budget_free, &b};
	Kefu__Envelope *e;

	*out = NULL;
	b.left = len > (SIZE_MAX - FRAME_UNPACK_SLACK) / FRAME_UNPACK_FACTOR
			 ? SIZE_MAX
			 : len * FRAME_UNPACK_FACTOR + FRAME_UNPACK_SLACK;
	e = kefu__envelope__unpack(&a, len, data);
	if (!e)
		return b.over ? KF_ETOOBIG : KF_EPARSE;
	if (e->body_case == KEFU__ENVELOPE__BODY__NOT_SET) {
		kefu__envelope__free_unpacked(e, NULL);
		return KF_EPROTO;
	}
	*out = e;
	return 0;
}

void frame_envelope_free(Kefu__Envelope *e)
{
	if (e)
		kefu__envelope__free_unpacked(e, NULL);
}

void *proto_copy(const ProtobufCMessage *m, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n ? n : 1);
	void *out;

	if (!buf)
		abort();
	protobuf_c_message_pack(m, buf);
	out = protobuf_c_message_unpack(m->descriptor, NULL, n, buf);
	free(buf);
	if (!out)
		abort(); /* packed here: only memory can fail */
	if (len)
		*len = n;
	return out;
}

char *proto_strdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		abort();
	return d;
}

void proto_set_str(char **field, const char *s)
{
	char *d = proto_strdup(s);

	free(*field);
	*field = d;
}

size_t proto_elem_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	default:
		return 4;
	}
}

bool proto_field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)m;

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
	if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(void *const *)(base + f->offset) != NULL;
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset)
		return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
	return true;
}

uint32_t proto_busy_again_ms(uint32_t prev)
{
	if (!prev)
		return PROTO_BUSY_FIRST_MS;
	return prev >= PROTO_BUSY_MAX_MS / 2 ? PROTO_BUSY_MAX_MS : prev * 2;
}
