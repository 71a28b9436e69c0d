/* The 4-byte length framing. See frame.h. */
#include "lib/frame.h"

#include "lib/err.h"

#include <stdlib.h>
#include <string.h>

void frame_decoder_init(struct frame_decoder *d, size_t max)
{
	memset(d, 0, sizeof(*d));
	if (max == 0 || max > FRAME_MAX_LIMIT)
		max = FRAME_MAX_LIMIT;
	d->max = max;
}

void frame_decoder_set_max(struct frame_decoder *d, size_t max)
{
	if (max == 0 || max > FRAME_MAX_LIMIT)
		max = FRAME_MAX_LIMIT;
	d->max = max;
}

void frame_decoder_release(struct frame_decoder *d)
{
	free(d->buf);
	d->buf = NULL;
	d->cap = 0;
	d->have = 0;
}

/*
 * Makes room for `more` payload bytes. The buffer grows with what has
 * arrived (doubling, capped at the announced length), so a peer that
 * announces a large frame and sends nothing costs little memory.
 */
static void frame_reserve(struct frame_decoder *d, size_t more)
{
	size_t want = d->have + more, cap = d->cap ? d->cap : 4096;

	if (want <= d->cap)
		return;
	while (cap < want)
		cap *= 2;
	if (cap > d->need)
		cap = d->need;
	d->buf = realloc(d->buf, cap);
	if (!d->buf)
		abort();
	d->cap = cap;
}

int frame_decode(struct frame_decoder *d, const void *data, size_t len, size_t *used,
		 struct frame_view *out)
{
	const uint8_t *p = data;
	size_t n = 0, take;

	*used = 0;
	if (d->err)
		return d->err;
	if (d->need == 0 && d->cap > FRAME_KEEP) {
		/* Between frames: a large frame's buffer goes back (its view has expired). */
		free(d->buf);
		d->buf = NULL;
		d->cap = 0;
	}
	if (d->need == 0) {
		take = FRAME_HEADER - d->hdr_have;
		if (take > len)
			take = len;
		memcpy(d->hdr + d->hdr_have, p, take);
		d->hdr_have += take;
		n = take;
		if (d->hdr_have < FRAME_HEADER) {
			*used = n;
			return 0;
		}
		d->need = (size_t)d->hdr[0] << 24 | (size_t)d->hdr[1] << 16 |
			  (size_t)d->hdr[2] << 8 | d->hdr[3];
		d->hdr_have = 0;
		d->have = 0;
		if (d->need == 0)
			return d->err = KF_EPROTO;
		if (d->need > d->max)
			return d->err = KF_ETOOBIG;
	}
	take = d->need - d->have;
	if (take > len - n)
		take = len - n;
	if (take == 0) {
		*used = n;
		return 0;
	}
	if (d->have == 0 && take == d->need) {
		/* The whole payload is in this piece: hand it out in place. */
		out->data = p + n;
		out->len = d->need;
	} else {
		frame_reserve(d, take);
		memcpy(d->buf + d->have, p + n, take);
		d->have += take;
		if (d->have < d->need) {
			*used = n + take;
			return 0;
		}
		out->data = d->buf;
		out->len = d->need;
	}
	*used = n + take;
	d->need = 0;
	d->have = 0;
	return 1;
}

void frame_header_put(uint8_t hdr[FRAME_HEADER], uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}

int frame_check(size_t len, size_t max, size_t out_size)
{
	if (len == 0)
		return KF_EPROTO;
	if (max > FRAME_MAX_LIMIT)
		max = FRAME_MAX_LIMIT;
	if (len > max || out_size < FRAME_HEADER || len > out_size - FRAME_HEADER)
		return KF_ETOOBIG;
	return 0;
}

int frame_encode(const void *payload, size_t len, size_t max, uint8_t *out, size_t out_size,
		 size_t *written)
{
	int r = frame_check(len, max, out_size);

	if (r)
		return r;
	frame_header_put(out, (uint32_t)len);
	memcpy(out + FRAME_HEADER, payload, len);
	*written = FRAME_HEADER + len;
	return 0;
}
