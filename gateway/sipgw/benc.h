/*
 * Bencode, the encoding of rtpengine's NG control protocol: a pure encoder
 * into a bounded buffer and a pure decoder of one reply into a fixed node
 * array. No sockets, no globals (house rule 14); fuzzed by
 * tests/fuzz/fuzz_ng.c.
 */
#ifndef KEFU_SIPGW_BENC_H
#define KEFU_SIPGW_BENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits: a reply has at most BENC_NODES values, nested BENC_DEPTH deep. */
#define BENC_NODES 256
#define BENC_DEPTH 8

enum benc_type { BENC_STR, BENC_INT, BENC_LIST, BENC_DICT };

/*
 * One decoded value. Strings point into the input (not NUL-terminated: use
 * len); a list's or dict's children follow it in the array, `count` values
 * (a dict's are key, value, key, value...), `span` nodes in all including
 * the node itself, so the next sibling is at index + span.
 */
struct benc_node {
	enum benc_type type;
	const char *str;
	size_t len;
	long long num;
	size_t count;
	size_t span;
};

struct benc_doc {
	struct benc_node n[BENC_NODES];
	size_t used;
};

/*
 * benc_parse - decode the one value that fills buf[0..len) into d. Returns
 * 0; KF_EPARSE (malformed, trailing bytes, a string longer than the input,
 * an integer out of range); KF_ETOOBIG (over BENC_NODES values or nested
 * over BENC_DEPTH). d's strings point into buf: valid while buf is.
 */
int benc_parse(const char *buf, size_t len, struct benc_doc *d);

/* benc_get - the value of key in the dict at index at, or NULL (no such
 * key, or at is not a dict). Pointer valid while d is. */
const struct benc_node *benc_get(const struct benc_doc *d, size_t at, const char *key);

/* benc_is - the node is the string s. */
bool benc_is(const struct benc_node *n, const char *s);

/* An encoder into a caller's buffer; overflow sets `over` and stops writing. */
struct benc_out {
	char *buf;
	size_t cap, len;
	bool over;
};

void benc_str(struct benc_out *o, const char *s);
void benc_strn(struct benc_out *o, const char *s, size_t n);
void benc_int(struct benc_out *o, long long v);
/* benc_open: 'd' or 'l'; benc_close ends the innermost one. */
void benc_open(struct benc_out *o, char kind);
void benc_close(struct benc_out *o);

#endif
