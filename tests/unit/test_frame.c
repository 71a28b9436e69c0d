/* The 4-byte length framing and the Envelope codec. */
#include "lib/err.h"
#include "proto/frame.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

static void test_whole_frame_is_returned_in_place(void **state)
{
	static const uint8_t in[] = {0, 0, 0, 3, 'a', 'b', 'c'};
	struct frame_decoder d;
	struct frame_view f;
	size_t used;

	(void)state;
	frame_decoder_init(&d, 1024);
	assert_int_equal(frame_decode(&d, in, sizeof(in), &used, &f), 1);
	assert_int_equal(used, sizeof(in));
	assert_int_equal(f.len, 3);
	assert_ptr_equal(f.data, in + 4);
	assert_null(d.buf);
	frame_decoder_release(&d);
}

static void test_two_frames_in_one_read_come_out_one_by_one(void **state)
{
	static const uint8_t in[] = {0, 0, 0, 1, 'x', 0, 0, 0, 2, 'y', 'z', 0, 0};
	struct frame_decoder d;
	struct frame_view f;
	size_t used;

	(void)state;
	frame_decoder_init(&d, 1024);
	assert_int_equal(frame_decode(&d, in, sizeof(in), &used, &f), 1);
	assert_int_equal(used, 5);
	assert_memory_equal(f.data, "x", 1);
	assert_int_equal(frame_decode(&d, in + 5, sizeof(in) - 5, &used, &f), 1);
	assert_int_equal(used, 6);
	assert_int_equal(f.len, 2);
	assert_memory_equal(f.data, "yz", 2);
	assert_int_equal(frame_decode(&d, in + 11, 2, &used, &f), 0);
	assert_int_equal(used, 2);
	frame_decoder_release(&d);
}

static void test_byte_by_byte_assembles_the_frame(void **state)
{
	uint8_t in[4 + 300];
	struct frame_decoder d;
	struct frame_view f;
	size_t used;

	(void)state;
	frame_header_put(in, 300);
	for (int i = 0; i < 300; i++)
		in[4 + i] = (uint8_t)i;
	frame_decoder_init(&d, 1024);
	for (size_t i = 0; i + 1 < sizeof(in); i++) {
		assert_int_equal(frame_decode(&d, in + i, 1, &used, &f), 0);
		assert_int_equal(used, 1);
	}
	assert_int_equal(frame_decode(&d, in + sizeof(in) - 1, 1, &used, &f), 1);
	assert_int_equal(f.len, 300);
	assert_memory_equal(f.data, in + 4, 300);
	frame_decoder_release(&d);
}

static void test_oversized_header_fails_before_buffering(void **state)
{
	static const uint8_t in[] = {0, 0, 4, 1, 'a', 'b'}; /* 1025 bytes announced */
	struct frame_decoder d;
	struct frame_view f;
	size_t used;

	(void)state;
	frame_decoder_init(&d, 1024);
	assert_int_equal(frame_decode(&d, in, 3, &used, &f), 0);
	assert_int_equal(frame_decode(&d, in + 3, 3, &used, &f), KF_ETOOBIG);
	assert_null(d.buf);
	/* Sticky: the link is done. */
	assert_int_equal(frame_decode(&d, in, sizeof(in), &used, &f), KF_ETOOBIG);
	assert_int_equal(used, 0);
	frame_decoder_release(&d);
}

static void test_frame_of_exactly_max_is_accepted(void **state)
{
	uint8_t in[4 + 64];
	struct frame_decoder d;
	struct frame_view f;
	size_t used;

	(void)state;
	memset(in, 7, sizeof(in));
	frame_header_put(in, 64);
	frame_decoder_init(&d, 64);
	assert_int_equal(frame_decode(&d, in, sizeof(in), &used, &f), 1);
	assert_int_equal(f.len, 64);
	frame_decoder_release(&d);
}

static void test_zero_length_frame_is_a_protocol_error(void **state)
{
	static const uint8_t in[] = {0, 0, 0, 0, 0, 0, 0, 1, 'a'};
	struct frame_decoder d;
	struct frame_view f;
	size_t used;

	(void)state;
	frame_decoder_init(&d, 1024);
	assert_int_equal(frame_decode(&d, in, sizeof(in), &used, &f), KF_EPROTO);
	assert_int_equal(frame_decode(&d, in + 4, 5, &used, &f), KF_EPROTO);
	frame_decoder_release(&d);
}

static void test_buffer_grows_with_data_not_with_announcement(void **state)
{
	uint8_t in[4 + 10] = {0};
	struct frame_decoder d;
	struct frame_view f;
	size_t used;

	(void)state;
	frame_header_put(in, 1 << 20);
	frame_decoder_init(&d, 1 << 20);
	assert_int_equal(frame_decode(&d, in, sizeof(in), &used, &f), 0);
	assert_true(d.cap <= 4096);
	frame_decoder_release(&d);
}

static void test_init_clamps_max_to_the_hard_limit(void **state)
{
	struct frame_decoder d;

	(void)state;
	frame_decoder_init(&d, 0);
	assert_int_equal(d.max, FRAME_MAX_LIMIT);
	frame_decoder_init(&d, FRAME_MAX_LIMIT * 2);
	assert_int_equal(d.max, FRAME_MAX_LIMIT);
}

/* Many frames of varied sizes through pieces of varied sizes. */
static void test_stream_in_uneven_pieces_round_trips(void **state)
{
	enum { FRAMES = 60 };
	size_t cap = FRAMES * (4 + 700), len = 0, got = 0;
	uint8_t *stream = malloc(cap);
	struct frame_decoder d;

	(void)state;
	for (int i = 0; i < FRAMES; i++) {
		uint8_t payload[700];
		size_t n = 1 + (size_t)(i * 37) % 700, w;

		memset(payload, i, n);
		assert_int_equal(frame_encode(payload, n, 700, stream + len, cap - len, &w), 0);
		len += w;
	}
	frame_decoder_init(&d, 700);
	for (size_t pos = 0, piece = 1; pos < len; piece = piece % 13 + 1) {
		size_t take = piece < len - pos ? piece : len - pos;

		while (take > 0) {
			struct frame_view f;
			size_t used;
			int r = frame_decode(&d, stream + pos, take, &used, &f);

			assert_true(r >= 0);
			pos += used;
			take -= used;
			if (r == 1) {
				assert_int_equal(f.len, 1 + (got * 37) % 700);
				assert_int_equal(f.data[0], (uint8_t)got);
				assert_int_equal(f.data[f.len - 1], (uint8_t)got);
				got++;
			}
		}
	}
	assert_int_equal(got, FRAMES);
	frame_decoder_release(&d);
	free(stream);
}

static void test_encode_writes_big_endian_header(void **state)
{
	uint8_t payload[258], out[300];
	size_t w = 0;

	(void)state;
	memset(payload, 'p', sizeof(payload));
	assert_int_equal(frame_encode(payload, sizeof(payload), 1024, out, sizeof(out), &w), 0);
	assert_int_equal(w, 4 + 258);
	assert_memory_equal(out, "\x00\x00\x01\x02", 4);
	assert_memory_equal(out + 4, payload, 258);
}

static void test_encode_refuses_empty_oversized_and_no_room(void **state)
{
	uint8_t out[16];
	size_t w = 0;

	(void)state;
	assert_int_equal(frame_encode("x", 0, 1024, out, sizeof(out), &w), KF_EPROTO);
	assert_int_equal(frame_encode("abcd", 4, 3, out, sizeof(out), &w), KF_ETOOBIG);
	assert_int_equal(frame_encode("0123456789abc", 13, 1024, out, sizeof(out), &w),
			 KF_ETOOBIG);
	assert_int_equal(frame_encode("x", 1, 1024, out, 3, &w), KF_ETOOBIG);
	assert_int_equal(w, 0);
}

static void test_envelope_round_trips_through_a_frame(void **state)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT, *back = NULL;
	Kefu__Ping ping = KEFU__PING__INIT;
	struct frame_decoder d;
	struct frame_view f;
	uint8_t out[64];
	size_t w, used;

	(void)state;
	ping.has_nonce = 1;
	ping.nonce = 0x1122334455667788u;
	e.has_request_id = 1;
	e.request_id = 42;
	e.body_case = KEFU__ENVELOPE__BODY_PING;
	e.ping = &ping;
	assert_int_equal(frame_envelope_encode(&e, 1024, out, sizeof(out), &w), 0);
	frame_decoder_init(&d, 1024);
	assert_int_equal(frame_decode(&d, out, w, &used, &f), 1);
	assert_int_equal(frame_envelope_decode(f.data, f.len, &back), 0);
	assert_int_equal(back->request_id, 42);
	assert_int_equal(back->body_case, KEFU__ENVELOPE__BODY_PING);
	assert_int_equal(back->ping->nonce, 0x1122334455667788u);
	frame_envelope_free(back);
	frame_decoder_release(&d);
}

static void test_envelope_without_body_is_refused(void **state)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT, *back = (Kefu__Envelope *)&e;
	uint8_t packed[32], out[32];
	size_t len, w;

	(void)state;
	e.has_request_id = 1;
	e.request_id = 7;
	assert_int_equal(frame_envelope_encode(&e, 1024, out, sizeof(out), &w), KF_EPROTO);
	len = kefu__envelope__pack(&e, packed);
	assert_int_equal(frame_envelope_decode(packed, len, &back), KF_EPROTO);
	assert_null(back);
}

static void test_envelope_garbage_is_a_parse_error(void **state)
{
	static const uint8_t truncated_varint[] = {0x08, 0xff};
	Kefu__Envelope *back = NULL;

	(void)state;
	assert_int_equal(frame_envelope_decode(truncated_varint, sizeof(truncated_varint), &back),
			 KF_EPARSE);
	assert_null(back);
}

static void test_envelope_encode_respects_max(void **state)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__Error er = KEFU__ERROR__INIT;
	char msg[200];
	uint8_t out[512];
	size_t w;

	(void)state;
	memset(msg, 'm', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	er.message = msg;
	e.body_case = KEFU__ENVELOPE__BODY_ERROR;
	e.error = &er;
	assert_int_equal(frame_envelope_encode(&e, 100, out, sizeof(out), &w), KF_ETOOBIG);
	assert_int_equal(frame_envelope_encode(&e, 1024, out, 100, &w), KF_ETOOBIG);
	assert_int_equal(frame_envelope_encode(&e, 1024, out, sizeof(out), &w), 0);
}

/* Envelope field 31 (lookup_reply) holding n empty Cdr sub-messages (field 5): "2a 00" pairs. */
static uint8_t *many_empty_cdrs(size_t n, size_t *len)
{
	size_t body = 2 * n, i = 0;
	uint8_t *p = malloc(body + 16);

	assert_non_null(p);
	p[i++] = 0xfa; /* (31 << 3) | 2, as a varint */
	p[i++] = 0x01;
	for (size_t v = body; ; v >>= 7) {
		p[i++] = (uint8_t)(v & 0x7f) | (v >= 0x80 ? 0x80 : 0);
		if (v < 0x80)
			break;
	}
	for (size_t k = 0; k < n; k++) {
		p[i++] = 0x2a;
		p[i++] = 0x00;
	}
	*len = i;
	return p;
}

static void test_envelope_of_tiny_submessages_stays_within_its_budget(void **state)
{
	Kefu__Envelope *back = NULL;
	size_t len;
	uint8_t *p;

	(void)state;
	/* A few are a real (if odd) reply. */
	p = many_empty_cdrs(10, &len);
	assert_int_equal(frame_envelope_decode(p, len, &back), 0);
	assert_int_equal(back->body_case, KEFU__ENVELOPE__BODY_LOOKUP_REPLY);
	assert_int_equal(back->lookup_reply->n_cdrs, 10);
	frame_envelope_free(back);
	free(p);
	/* 60 KiB of them would unpack into megabytes: refused, nothing kept. */
	p = many_empty_cdrs(30 * 1024, &len);
	back = NULL;
	assert_int_equal(frame_envelope_decode(p, len, &back), KF_ETOOBIG);
	assert_null(back);
	free(p);
}

static void test_set_max_applies_to_the_next_header(void **state)
{
	static const uint8_t big[] = {0, 0, 0x10, 0x00};     /* 4096 */
	struct frame_decoder d;
	struct frame_view f;
	size_t used;
	uint8_t *frame = calloc(1, 4 + 4096);

	(void)state;
	assert_non_null(frame);
	frame_decoder_init(&d, 1024);
	assert_int_equal(frame_decode(&d, big, sizeof(big), &used, &f), KF_ETOOBIG);
	frame_decoder_release(&d);

	frame_decoder_init(&d, 1024);
	frame_decoder_set_max(&d, 8192);
	memcpy(frame, big, 4);
	frame[4] = 7;
	assert_int_equal(frame_decode(&d, frame, 4 + 4096, &used, &f), 1);
	assert_int_equal(f.len, 4096);
	assert_int_equal(f.data[0], 7);
	frame_decoder_set_max(&d, 100);
	assert_int_equal(frame_decode(&d, big, sizeof(big), &used, &f), KF_ETOOBIG);
	frame_decoder_release(&d);
	free(frame);
}

static void test_large_frame_buffer_is_given_back(void **state)
{
	size_t n = FRAME_KEEP * 4, used;
	uint8_t *frame = calloc(1, 4 + n);
	struct frame_decoder d;
	struct frame_view f;
	int r = 0;

	(void)state;
	assert_non_null(frame);
	frame_header_put(frame, (uint32_t)n);
	frame_decoder_init(&d, FRAME_KEEP * 8);
	/* In pieces, so the payload is gathered in the decoder's buffer. */
	for (size_t off = 0; off < 4 + n; off += used) {
		size_t piece = 4 + n - off < 1000 ? 4 + n - off : 1000;

		r = frame_decode(&d, frame + off, piece, &used, &f);
		assert_true(r >= 0);
	}
	assert_int_equal(r, 1);
	assert_int_equal(f.len, n);
	assert_true(d.cap >= n);
	/* The next frame's first byte: the big buffer is freed. */
	assert_int_equal(frame_decode(&d, frame, 1, &used, &f), 0);
	assert_int_equal(d.cap, 0);
	frame_decoder_release(&d);
	free(frame);
}

static void test_envelope_free_accepts_null(void **state)
{
	(void)state;
	frame_envelope_free(NULL);
}

/* Walking a message by its descriptor: which singular fields are set, and
 * the size of one value of each type. */
static void test_field_presence_and_sizes(void **state)
{
	Kefu__OrderList ol = KEFU__ORDER_LIST__INIT;
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	const ProtobufCMessageDescriptor *d = ol.base.descriptor;
	const ProtobufCFieldDescriptor *msisdn =
		protobuf_c_message_descriptor_get_field_by_name(d, "msisdn");
	const ProtobufCFieldDescriptor *limit =
		protobuf_c_message_descriptor_get_field_by_name(d, "limit");
	const ProtobufCFieldDescriptor *after =
		protobuf_c_message_descriptor_get_field_by_name(d, "after");
	const ProtobufCFieldDescriptor *body =
		protobuf_c_message_descriptor_get_field_by_name(e.base.descriptor, "order_list");
	const ProtobufCFieldDescriptor *ping =
		protobuf_c_message_descriptor_get_field_by_name(e.base.descriptor, "ping");

	(void)state;
	assert_non_null(msisdn);
	assert_non_null(limit);
	assert_non_null(body);
	assert_non_null(ping);
	assert_false(proto_field_present(&ol.base, msisdn));
	assert_false(proto_field_present(&ol.base, limit));
	ol.msisdn = "13800138000";
	ol.limit = 5; /* a value without its has_ flag is not set */
	assert_true(proto_field_present(&ol.base, msisdn));
	assert_false(proto_field_present(&ol.base, limit));
	ol.has_limit = 1;
	assert_true(proto_field_present(&ol.base, limit));
	e.body_case = KEFU__ENVELOPE__BODY_ORDER_LIST;
	e.order_list = &ol;
	assert_true(proto_field_present(&e.base, body));
	assert_false(proto_field_present(&e.base, ping));
	assert_int_equal(proto_elem_size(msisdn), sizeof(char *));
	assert_int_equal(proto_elem_size(limit), sizeof(uint32_t));
	assert_int_equal(proto_elem_size(after), sizeof(ProtobufCBinaryData));
	assert_int_equal(proto_elem_size(body), sizeof(void *));
}

/* A gateway's waits after busy refusals: 250 ms, doubling, never above 4 s. */
static void test_busy_again_doubles_up_to_the_cap(void **state)
{
	static const uint32_t want[] = {250, 500, 1000, 2000, 4000, 4000, 4000};
	uint32_t wait = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		wait = proto_busy_again_ms(wait);
		assert_int_equal(wait, want[i]);
	}
	/* A wait from elsewhere, odd or above the cap, stays within it. */
	assert_int_equal(proto_busy_again_ms(3000), PROTO_BUSY_MAX_MS);
	assert_int_equal(proto_busy_again_ms(UINT32_MAX), PROTO_BUSY_MAX_MS);
	assert_int_equal(proto_busy_again_ms(300), 600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_busy_again_doubles_up_to_the_cap),
		cmocka_unit_test(test_whole_frame_is_returned_in_place),
		cmocka_unit_test(test_two_frames_in_one_read_come_out_one_by_one),
		cmocka_unit_test(test_byte_by_byte_assembles_the_frame),
		cmocka_unit_test(test_oversized_header_fails_before_buffering),
		cmocka_unit_test(test_frame_of_exactly_max_is_accepted),
		cmocka_unit_test(test_zero_length_frame_is_a_protocol_error),
		cmocka_unit_test(test_buffer_grows_with_data_not_with_announcement),
		cmocka_unit_test(test_init_clamps_max_to_the_hard_limit),
		cmocka_unit_test(test_stream_in_uneven_pieces_round_trips),
		cmocka_unit_test(test_encode_writes_big_endian_header),
		cmocka_unit_test(test_encode_refuses_empty_oversized_and_no_room),
		cmocka_unit_test(test_envelope_round_trips_through_a_frame),
		cmocka_unit_test(test_envelope_without_body_is_refused),
		cmocka_unit_test(test_envelope_garbage_is_a_parse_error),
		cmocka_unit_test(test_envelope_encode_respects_max),
		cmocka_unit_test(test_envelope_free_accepts_null),
		cmocka_unit_test(test_envelope_of_tiny_submessages_stays_within_its_budget),
		cmocka_unit_test(test_set_max_applies_to_the_next_header),
		cmocka_unit_test(test_large_frame_buffer_is_given_back),
		cmocka_unit_test(test_field_presence_and_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
