/*
 * rtpengine's NG control protocol: "COOKIE <bencoded dict>" datagrams over
 * UDP, each answered with the same cookie. The pure half builds a command
 * and reads a reply (ng_encode, ng_decode: fuzzed by tests/fuzz/fuzz_ng.c);
 * the client half sends commands from the gateway's loop, sends again a
 * command not answered in NG_RESEND_MS (rtpengine answers a repeated cookie
 * from its cache, so a command is never done twice) and gives up after
 * NG_TIMEOUT_MS.
 */
#ifndef KEFU_SIPGW_NG_H
#define KEFU_SIPGW_NG_H

#include "lib/loop.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NG_MSG_MAX 16384
#define NG_COOKIE_MAX 32
#define NG_RESEND_MS 500
#define NG_TIMEOUT_MS 2500

/* One command; NULL fields are left out. */
struct ng_cmd {
	const char *command;  /* "offer", "answer", "play media", "stop media", "delete" */
	const char *call_id;
	const char *from_tag;
	const char *to_tag;
	const char *sdp;
	const char *file;     /* play media: the WAV to play */
	bool latch;           /* offer/answer: flags ["port latching"], ICE removed */
};

/* A reply; strings point into the datagram (valid while it is). */
struct ng_reply {
	const char *cookie;
	size_t cookie_len;
	bool ok;              /* "result": "ok" (or "pong") */
	const char *sdp;      /* NULL when absent */
	size_t sdp_len;
	const char *why;      /* "error-reason", NULL when absent */
	size_t why_len;
	long long duration_ms; /* play media: -1 when absent */
};

/*
 * ng_encode - "cookie <dict>" of c into buf (cap bytes). Returns the
 * length, or KF_ETOOBIG when it does not fit, KF_EINVAL without a command
 * or with a cookie holding a space or over NG_COOKIE_MAX.
 */
int ng_encode(const struct ng_cmd *c, const char *cookie, char *buf, size_t cap);

/* ng_decode - read one reply datagram. Returns 0, KF_EPARSE, KF_ETOOBIG. */
int ng_decode(const char *buf, size_t len, struct ng_reply *r);

struct ng;

/* The answer to one command: err 0 and the reply, or err (KF_EPARSE...,
 * -ETIMEDOUT) and NULL. r and its strings are valid during the call. */
typedef void (*ng_fn)(void *arg, int err, const struct ng_reply *r);

/* ng_new - a client of rtpengine at addr ("IP:PORT"). Returns 0 and *out,
 * KF_ECONFIG (bad address), -errno (socket). Free with ng_free. */
int ng_new(struct loop *loop, const char *addr, struct ng **out);

/* ng_free - pending commands are dropped without their callback. NULL is fine. */
void ng_free(struct ng *n);

/*
 * ng_send - send c; fn(arg, ...) is called exactly once, never before
 * ng_send returns, unless ng_cancel(n, arg) drops every pending command of
 * arg first. Returns 0 or ng_encode's error (then fn is not called).
 */
int ng_send(struct ng *n, const struct ng_cmd *c, ng_fn fn, void *arg);

/* ng_cancel - drop the pending commands of arg (their owner is going). */
void ng_cancel(struct ng *n, void *arg);

#endif
