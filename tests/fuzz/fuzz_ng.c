/*
 * What kefu-sipgw reads from rtpengine: an NG reply (gateway/sipgw/ng.h,
 * on the bencode decoder of benc.h) and the SDP in it turned into the
 * black-hole answer (sdp.h). Every string a reply names must lie inside
 * the input; a black-hole SDP must fit its buffer and end in a NUL.
 */
#include "gateway/sipgw/benc.h"
#include "gateway/sipgw/ng.h"
#include "gateway/sipgw/sdp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const char *p, size_t n, const uint8_t *data, size_t size)
{
	if (p && (p < (const char *)data || p + n > (const char *)data + size))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ng_reply r;
	char out[SDP_MAX];
	int n;

	if (ng_decode((const char *)data, size, &r) == 0) {
		inside(r.cookie, r.cookie_len, data, size);
		inside(r.sdp, r.sdp_len, data, size);
		inside(r.why, r.why_len, data, size);
		if (r.sdp) {
			n = sdp_blackhole(r.sdp, r.sdp_len, out, sizeof(out));
			if (n >= 0 && ((size_t)n >= sizeof(out) || out[n] != '\0'))
				abort();
		}
	}
	n = sdp_blackhole((const char *)data, size, out, sizeof(out));
	if (n >= 0 && (size_t)n != strlen(out))
		abort();
	return 0;
}
