/*
 * The frame decoder over arbitrary bytes cut into pieces of arbitrary
 * sizes, and every complete frame through frame_envelope_decode.
 * Input: byte 0 seeds the piece sizes, bytes 1-2 are the max frame size
 * (big endian; 0 = 65536), the rest is the stream.
 */
#include "proto/frame.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_decoder d;
	uint32_t rnd;
	size_t max, pos = 3;

	if (size < 3)
		return 0;
	rnd = data[0] * 2654435761u + 1;
	max = (size_t)data[1] << 8 | data[2];
	frame_decoder_init(&d, max ? max : 65536);
	while (pos < size) {
		size_t take, used;
		struct frame_view f;
		int r;

		rnd = rnd * 1103515245u + 12345u;
		take = 1 + (rnd >> 16) % 64;
		if (take > size - pos)
			take = size - pos;
		while (take > 0) {
			r = frame_decode(&d, data + pos, take, &used, &f);
			if (used > take)
				abort();
			pos += used;
			take -= used;
			if (r < 0)
				goto out;
			if (r == 1) {
				Kefu__Envelope *e;

				if (f.len == 0 || f.len > d.max)
					abort();
				if (frame_envelope_decode(f.data, f.len, &e) == 0 &&
				    e->body_case == KEFU__ENVELOPE__BODY__NOT_SET)
					abort();
				frame_envelope_free(e);
			}
		}
	}
out:
	frame_decoder_release(&d);
	return 0;
}
