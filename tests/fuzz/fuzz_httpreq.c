/*
 * The HTTP request head parser (lib/httpreq.h) over arbitrary bytes: a
 * complete head's offsets lie inside the input, a head needing more never
 * fills the limit, and the limit is honoured. Input: byte 0 picks the
 * limit (1..4096), the rest is the stream.
 */
#include "lib/err.h"
#include "lib/httpreq.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpreq req;
	size_t max, len;
	int r;

	if (size < 1)
		return 0;
	max = 1 + (size_t)data[0] * 16;
	len = size - 1;
	r = httpreq_parse((const char *)data + 1, len, max, &req);
	if (r == 1) {
		if (req.head_len == 0 || req.head_len > len || req.head_len > max ||
		    req.method_len == 0 || req.target_off + req.target_len > req.head_len ||
		    req.path_len > req.target_len || req.minor > 1)
			abort();
	} else if (r == 0) {
		if (len >= max)
			abort();
	} else if (r != KF_EPARSE && r != KF_ETOOBIG) {
		abort();
	}
	return 0;
}
