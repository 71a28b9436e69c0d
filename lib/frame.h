/*
 * The 4-byte length framing: every frame is a 4-byte big-endian payload
 * length, then that many payload bytes. What a payload holds is the
 * caller's business (on the cluster wire it is one protobuf Envelope,
 * packed and unpacked by proto/frame.h).
 *
 * The decoder is a pure parser: bytes in, frames out, no sockets and no
 * event loop. Feed it whatever a read returned, in pieces of any size:
 *
 *   while (len > 0) {
 *           struct frame_view f;
 *           size_t used;
 *           int r = frame_decode(&d, p, len, &used, &f);
 *           if (r < 0)
 *                   close the link, after telling the peer kf_strerror(r);
 *           p += used;
 *           len -= used;
 *           if (r == 1)
 *                   handle f.data[0..f.len);
 *   }
 *
 * Limits: a frame may carry at most the decoder's max bytes (itself at most
 * FRAME_MAX_LIMIT); a header announcing more fails at once with KF_ETOOBIG,
 * before any of the payload is buffered, and a zero-length frame fails with
 * KF_EPROTO. Buffered memory never exceeds the announced length of the
 * frame in progress, so at most max bytes per decoder; a buffer over
 * FRAME_KEEP bytes is freed once its frame has been handed out, so a
 * link that once carried a large frame does not keep its memory.
 */
#ifndef KEFU_LIB_FRAME_H
#define KEFU_LIB_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_HEADER 4
/* No decoder or encoder takes a max above this (64 MiB). */
#define FRAME_MAX_LIMIT ((size_t)64 * 1024 * 1024)
/* A decoder keeps a buffer of at most this many bytes between frames. */
#define FRAME_KEEP ((size_t)64 * 1024)

/* A complete frame's payload. Where it points is said where it is returned. */
struct frame_view {
	const uint8_t *data;
	size_t len;
};

/* Decoder state; embed it and treat the fields as private. */
struct frame_decoder {
	size_t max;                  /* payload limit */
	uint8_t hdr[FRAME_HEADER];   /* header bytes so far */
	size_t hdr_have;
	size_t need;                 /* announced payload length, 0 while reading the header */
	uint8_t *buf;                /* payload bytes so far (owned) */
	size_t have;
	size_t cap;                  /* allocated size of buf */
	int err;                     /* first error; sticky */
};

/*
 * frame_decoder_init - set d up for frames of at most max payload bytes
 * (clamped to 1..FRAME_MAX_LIMIT). Allocates nothing yet.
 */
void frame_decoder_init(struct frame_decoder *d, size_t max);

/*
 * frame_decoder_set_max - change d's payload limit (clamped as for init)
 * for the frames whose header has not been read yet: a frame in progress
 * keeps the length it announced. For links whose trust changes (a peer
 * that logs in may then send larger frames).
 */
void frame_decoder_set_max(struct frame_decoder *d, size_t max);

/* frame_decoder_release - free d's buffer; d may be initialised again. */
void frame_decoder_release(struct frame_decoder *d);

/*
 * frame_decode - consume bytes of data[0..len) up to the end of the next
 * frame. *used says how many were consumed (all of them unless a frame
 * completed first). Returns:
 *   1           a frame is complete: *out holds its payload. It points into
 *               data (when the frame arrived in one piece) or into d's
 *               buffer, and is valid until the next frame_decode or
 *               frame_decoder_release on d, and no longer than data itself.
 *   0           all of data was consumed; more bytes are needed.
 *   KF_ETOOBIG  a header announced more than max bytes.
 *   KF_EPROTO   a header announced an empty frame.
 * Errors are sticky: every later call returns the same error and consumes
 * nothing; the link must be closed.
 */
int frame_decode(struct frame_decoder *d, const void *data, size_t len, size_t *used,
		 struct frame_view *out);

/* frame_header_put - write the header for a payload of len bytes. */
void frame_header_put(uint8_t hdr[FRAME_HEADER], uint32_t len);

/*
 * frame_check - may a payload of len bytes be sent as one frame of at most
 * max payload bytes (max above FRAME_MAX_LIMIT counts as FRAME_MAX_LIMIT)
 * into out_size bytes, header included? For encoders that write the
 * payload in place after a frame_header_put. Returns 0, KF_EPROTO
 * (len == 0), KF_ETOOBIG (len over max, or out_size too small).
 */
int frame_check(size_t len, size_t max, size_t out_size);

/*
 * frame_encode - write header and payload[0..len) into out[0..out_size).
 * *written gets FRAME_HEADER + len. Returns 0, or frame_check's error
 * (KF_EPROTO, KF_ETOOBIG), in which case nothing is written.
 */
int frame_encode(const void *payload, size_t len, size_t max, uint8_t *out, size_t out_size,
		 size_t *written);

#endif
