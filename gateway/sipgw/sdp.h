/*
 * The little SDP the gateway writes itself. Pure (fuzzed by
 * tests/fuzz/fuzz_ng.c, as the input is rtpengine's).
 */
#ifndef KEFU_SIPGW_SDP_H
#define KEFU_SIPGW_SDP_H

#include <stddef.h>

#define SDP_MAX 4096

/*
 * sdp_blackhole - the answer of a party that is not there yet: audio to
 * 127.0.0.1 port 9 (discard) in the first codec of offer (its rtpmap line
 * kept) and the offer's telephone-event, if any (so that rtpengine reports
 * the caller's key presses), so rtpengine can answer the caller and play to
 * it before any agent exists. Writes a NUL-terminated SDP into out. Returns its length,
 * KF_EPARSE (offer has no audio line with a payload type), KF_ETOOBIG.
 */
int sdp_blackhole(const char *offer, size_t len, char *out, size_t cap);

#endif
