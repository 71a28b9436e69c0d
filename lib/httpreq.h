/*
 * An HTTP/1.x request head parser: bytes in, the request line out. Pure:
 * no sockets, no allocation, no globals. Used by lib/httpd.c; fuzzed by
 * tests/fuzz/fuzz_httpreq.c.
 */
#ifndef KEFU_LIB_HTTPREQ_H
#define KEFU_LIB_HTTPREQ_H

#include <stddef.h>

/* What httpreq_parse found: offsets into the buffer it was given. */
struct httpreq {
	size_t method_off, method_len;  /* a token: "GET", "HEAD"... */
	size_t target_off, target_len;  /* the request target, e.g. "/metrics?x=1" */
	size_t path_len;                /* the target up to '?' (the path alone) */
	unsigned minor;                 /* HTTP/1.<minor>: 0 or 1 */
	size_t head_len;                /* bytes of the head, its blank line included */
};

/*
 * httpreq_parse - look for a whole request head (request line, header
 * lines, a blank line; lines end in CRLF or LF) in buf[0..len), of at most
 * max bytes. Returns 1 and fills *req when the head is complete and well
 * formed; 0 when more bytes are needed (len < max and nothing is wrong so
 * far); KF_ETOOBIG when no head ends within max bytes (then *req->target_len
 * is 0 if even the request line did not end: a 414 rather than a 431);
 * KF_EPARSE for a malformed request line or header line (a control
 * character, no ':', an unknown HTTP version). A body is not looked at.
 * req's offsets stay valid as long as buf does.
 */
int httpreq_parse(const char *buf, size_t len, size_t max, struct httpreq *req);

#endif
