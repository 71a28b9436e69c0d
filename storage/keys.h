/*
 * Composite keys. A key is a sequence of parts, each followed by a 0x00
 * byte, so that ordering is part by part and a prefix of whole parts
 * selects exactly the keys that start with those parts ("8800012\0" never
 * matches user "88000123"). Parts therefore never contain 0x00; the BOSS
 * record parser refuses NUL bytes.
 *
 *   struct key k;
 *   key_init(&k);
 *   key_add(&k, user_id, len); key_add(&k, month, 6);
 *   if (key_ok(&k)) store_get(t, STORE_BILL, k.b, k.len, &v);
 */
#ifndef KEFU_STORAGE_KEYS_H
#define KEFU_STORAGE_KEYS_H

#include "storage/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct key {
	size_t len;
	bool overflow; /* a part did not fit: the key must not be used */
	uint8_t b[STORE_KEY_MAX];
};

void key_init(struct key *k);

/* key_add - append one part; on overflow sets k->overflow and returns KF_ETOOBIG. */
int key_add(struct key *k, const void *part, size_t len);

/* key_add_str - key_add of a NUL-terminated string. */
int key_add_str(struct key *k, const char *s);

static inline bool key_ok(const struct key *k)
{
	return !k->overflow;
}

/* Numbers in raw keys, big-endian so that they sort as numbers. */
static inline void key_be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}
static inline uint64_t key_be64_get(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}
static inline void key_be32_put(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}
static inline uint32_t key_be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * key_part - the i-th part (0-based) of an encoded key, without its
 * terminator. Returns 0, or KF_ENOTFOUND when there are fewer parts.
 * *part points into buf.
 */
int key_part(const void *buf, size_t len, unsigned i, const uint8_t **part, size_t *plen);

#endif
