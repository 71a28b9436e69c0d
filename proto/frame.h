/*
 * The wire framing of the cluster protocol: each frame (lib/frame.h: a
 * 4-byte big-endian length, then the payload) carries one protobuf
 * Envelope (proto/kefu.proto) that has a body.
 *
 * This header includes lib/frame.h, so the decoder and the plain encoder
 * (frame_decode, frame_encode, ...) come with it; what lives here is the
 * Envelope on top of them.
 */
#ifndef KEFU_PROTO_FRAME_H
#define KEFU_PROTO_FRAME_H

#include "lib/frame.h"
#include "proto/kefu.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The allocation budget of one unpack: a small multiple of its payload. */
#define FRAME_UNPACK_FACTOR 16
#define FRAME_UNPACK_SLACK ((size_t)64 * 1024)

/*
 * frame_envelope_encode - pack e as one frame into out[0..out_size), like
 * frame_encode. Returns 0, KF_EPROTO (e has no body), KF_ETOOBIG.
 */
int frame_envelope_encode(const Kefu__Envelope *e, size_t max, uint8_t *out, size_t out_size,
			  size_t *written);

/*
 * frame_envelope_decode - unpack one frame's payload into an Envelope.
 * On 0, *out is owned by the caller: free it with frame_envelope_free; it
 * does not point into data. Returns 0, KF_EPARSE (not a valid Envelope),
 * KF_EPROTO (no body, or a body this build does not know), KF_ETOOBIG
 * (unpacking would allocate more than FRAME_UNPACK_FACTOR * len +
 * FRAME_UNPACK_SLACK bytes: a payload of many tiny sub-messages cannot
 * expand into a memory exhaustion).
 */
int frame_envelope_decode(const void *data, size_t len, Kefu__Envelope **out);

/* frame_envelope_free - free an Envelope from frame_envelope_decode; NULL is fine. */
void frame_envelope_free(Kefu__Envelope *e);

/*
 * proto_copy - a deep copy of m (packed and unpacked again, with the
 * default allocator: free it with its type's free_unpacked). *len, when
 * len is not NULL, gets its packed size. Aborts when memory runs out,
 * the only way it can fail.
 */
void *proto_copy(const ProtobufCMessage *m, size_t *len);

/*
 * proto_strdup - a copy of s ("" for NULL) as protobuf-c's default
 * allocator frees it (free_unpacked). Aborts when memory runs out.
 * proto_set_str - replace the string *field of an unpacked (or built)
 * message with a copy of s, freeing the old one.
 */
char *proto_strdup(const char *s);

/*
 * Walking a message by its descriptor (the console's JSON, kefu-sim's):
 * proto_elem_size - bytes of one value of field f (an element of a repeated
 * field); proto_field_present - whether singular field f of m is set (a
 * oneof's member chosen, a string or message not NULL, an optional scalar's
 * has_ flag; a scalar without one always is).
 */
size_t proto_elem_size(const ProtobufCFieldDescriptor *f);
bool proto_field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f);
void proto_set_str(char **field, const char *s);

/*
 * proto_busy_again_ms - how long a gateway waits before it presents a call
 * again after a node refused it as busy (Error -EBUSY: the node's queue to
 * Redis is full): PROTO_BUSY_FIRST_MS after the first refusal, twice the
 * wait before after each next one, at most PROTO_BUSY_MAX_MS. prev is the
 * wait before (0: this is the first refusal). Every gateway backs off
 * alike, so that an overloaded cluster spends its time on calls it can
 * take rather than on refusing the same calls again.
 */
#define PROTO_BUSY_FIRST_MS 250u
#define PROTO_BUSY_MAX_MS 4000u
uint32_t proto_busy_again_ms(uint32_t prev);

#endif
