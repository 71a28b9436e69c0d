/*
 * DTMF events as rtpengine reports them with --dtmf-log-dest: one JSON
 * object per UDP datagram, e.g. {"callid": "...", "source_tag": "caller",
 * "type": "DTMF", "event": 1, ...}. Pure (fuzzed by tests/fuzz/fuzz_dtmf.c).
 */
#ifndef KEFU_SIPGW_DTMF_H
#define KEFU_SIPGW_DTMF_H

#include <stddef.h>

#define DTMF_MSG_MAX 2048

struct dtmf_event {
	char call_id[64];
	char digit;      /* '0'..'9', '*', '#', 'A'..'D' */
};

/* dtmf_parse - read one datagram. Returns 0, KF_EPARSE (not JSON, no
 * callid, an event that is no digit), KF_ETOOBIG (over DTMF_MSG_MAX or a
 * call id over its size). */
int dtmf_parse(const char *buf, size_t len, struct dtmf_event *out);

#endif
