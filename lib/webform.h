/*
 * The parts of an HTTP request the console reads beyond its head: an
 * application/x-www-form-urlencoded body, pair by pair, and one cookie of
 * a Cookie header. Pure: bytes in, decoded text out; no allocation, no
 * globals. Fuzzed by tests/fuzz/fuzz_webform.c.
 */
#ifndef KEFU_LIB_WEBFORM_H
#define KEFU_LIB_WEBFORM_H

#include <stddef.h>

/* webform_hex_digit - the value of hex digit c (either case), or -1. */
int webform_hex_digit(char c);

/*
 * webform_next - the pair of buf[0..len) that starts at *pos ("k=v",
 * pairs joined by '&', '+' a space, %XX a byte), decoded into key[0..ksize)
 * and val[0..vsize), both NUL-terminated; *pos moves past it. Empty pairs
 * ("&&") are skipped; a pair without '=' has an empty value. Returns 1 (a
 * pair), 0 (no more), KF_EPARSE (a bad %-escape, a NUL byte, text that is
 * not UTF-8, an empty key), KF_ETOOBIG (key or value over its buffer).
 */
int webform_next(const char *buf, size_t len, size_t *pos, char *key, size_t ksize, char *val,
		 size_t vsize);

/*
 * webform_cookie - the value of cookie name in a Cookie header's value
 * (pairs "n=v" joined by "; "), copied into out[0..size) with its NUL (no
 * decoding: the console's cookies are hex). Returns 0, KF_ENOTFOUND,
 * KF_ETOOBIG (over size), KF_EPARSE (a control character in it).
 */
int webform_cookie(const char *header, const char *name, char *out, size_t size);

#endif
