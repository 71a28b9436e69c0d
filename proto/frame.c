/* One protobuf Envelope per frame of the wire protocol. See frame.h. */
#include "proto/frame.h"

#include "lib/err.h"

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
	Kefu__Envelope *e = kefu__envelope__unpack(NULL, len, data);

	*out = NULL;
	if (!e)
		return KF_EPARSE;
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
