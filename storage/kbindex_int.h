/*
 * Inside the search index (kbindex.c writes, kbindex_search.c reads): the
 * layout of its keys and values, shared by the two files only.
 *
 * STORE_KB_TERMS: term, 0x00, first doc of the block (8 bytes big-endian)
 *   -> varint count, then count postings, each
 *        varint doc - previous doc (0 for the first: the key's doc)
 *        the fields: most terms are in one field a few times, so
 *          byte f | (tf - 1) << 2 (under 0x80: field f, tf 1..32), then the
 *            byte length code of the field; else
 *          byte 0x80 | mask (bit f: the term is in field f), then per field
 *            in the mask varint tf and the byte length code of the field
 *        the positions, as many as the tfs add up to, varint deltas
 *   A block holds at most KBX_BLOCK_BYTES of postings (one posting more
 *   only when it is alone), so it fits a page.
 * Terms: 'c' + a Han character, 'b' + two neighbours, 'w' + a word,
 *   's' + syllable + ' ' + syllable of two neighbours, 'i' + the initials of
 *   two neighbours (a pair for every reading of each).
 * STORE_KB_DOCS: "d" + doc (8 bytes BE) -> version byte 1, then per field
 *   varint length and the folded text (what kbindex_del folds again to find
 *   the doc's terms); "t" -> the totals, KBX_TOTALS numbers of 8 bytes BE.
 */
#ifndef KEFU_STORAGE_KBINDEX_INT_H
#define KEFU_STORAGE_KBINDEX_INT_H

#include "lib/textfold.h"
#include "storage/kbindex.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KBX_BLOCK_BYTES 1900
#define KBX_FIELD_GAP 2     /* positions left free between fields */
#define KBX_TERM_MAX 128    /* bytes of one term */
#define KBX_K1 1.2
#define KBX_B 0.75
#define KBX_PINYIN_WEIGHT 0.5 /* a pinyin match's score against an exact one's */

enum kbx_total { KBX_T_DOCS, KBX_T_UNITS0, KBX_T_UNITS1, KBX_T_UNITS2, KBX_T_POSTINGS,
		 KBX_T_TERMS, KBX_T_BYTES, KBX_TOTALS };

extern const double kbindex__field_weight[KBINDEX_FIELDS];

/* A growable byte buffer; allocation failure aborts. */
struct kbx_buf {
	uint8_t *p;
	size_t len, cap;
};
void kbindex__buf_need(struct kbx_buf *b, size_t more);
void kbindex__buf_add(struct kbx_buf *b, const void *p, size_t n);
void kbindex__buf_varint(struct kbx_buf *b, uint64_t v);

/* kbindex__varint - read a varint at *p (< end), advance *p; false when
 * it runs past end or over 64 bits. Inline: postings are mostly bytes
 * under 0x80, read in the search's innermost loop. */
static inline bool kbindex__varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;

	if (*p < end && **p < 0x80) {
		*v = *(*p)++;
		return true;
	}
	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t c;

		if (*p >= end)
			return false;
		c = *(*p)++;
		x |= (uint64_t)(c & 0x7F) << shift;
		if (!(c & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

/* kbindex__varint_put - write v as a varint at o (10 bytes of room);
 * returns the bytes written. */
static inline size_t kbindex__varint_put(uint8_t *o, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		o[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	o[n++] = (uint8_t)v;
	return n;
}

/*
 * kbindex__posting_fields - read the fields of a posting at *p (after its
 * doc delta): tf[f] and code[f] per field (tf 0 where the term is not),
 * advance *p to its positions. Returns how many positions follow (the tfs
 * added up), 0 when it does not parse within end.
 */
static inline uint64_t kbindex__posting_fields(const uint8_t **p, const uint8_t *end,
					       uint64_t tf[KBINDEX_FIELDS],
					       uint8_t code[KBINDEX_FIELDS])
{
	uint64_t total = 0;
	uint8_t h;

	if (*p >= end)
		return 0;
	h = *(*p)++;
	for (int f = 0; f < KBINDEX_FIELDS; f++)
		tf[f] = 0;
	if (h < 0x80) {
		if ((h & 3) >= KBINDEX_FIELDS || *p >= end)
			return 0;
		tf[h & 3] = (h >> 2) + 1u;
		code[h & 3] = *(*p)++;
		return tf[h & 3];
	}
	if ((h & 0x7F) == 0 || (h & 0x7F) >= (1u << KBINDEX_FIELDS))
		return 0;
	for (int f = 0; f < KBINDEX_FIELDS; f++) {
		if (!(h & (1u << f)))
			continue;
		if (!kbindex__varint(p, end, &tf[f]) || tf[f] == 0 || tf[f] > (1u << 24) || *p >= end)
			return 0;
		code[f] = *(*p)++;
		total += tf[f];
	}
	return total;
}

/* kbindex__skip_varints - advance *p past n varints; false when they run
 * past end. */
static inline bool kbindex__skip_varints(const uint8_t **p, const uint8_t *end, uint64_t n)
{
	const uint8_t *q = *p;

	while (n > 0 && q < end)
		if (!(*q++ & 0x80))
			n--;
	*p = q;
	return n == 0;
}

/* kbindex__be64 / kbindex__put_be64 - 8 bytes big-endian. */
uint64_t kbindex__be64(const uint8_t *p);
void kbindex__put_be64(uint8_t *p, uint64_t v);

/* kbindex__len_code / kbindex__len_of - a field length in one byte
 * (exact to 32, then about 3% steps) and back. */
uint8_t kbindex__len_code(uint64_t len);
double kbindex__len_of(uint8_t code);

/* kbindex__blob_len - bytes of the posting after its doc delta at p, or 0
 * when it does not parse within end. */
size_t kbindex__blob_len(const uint8_t *p, const uint8_t *end);

/* kbindex__totals - read the totals into tot (zeros when absent).
 * Returns 0, KF_ECORRUPT, KF_ESTORE. */
int kbindex__totals(struct store_txn *t, uint64_t tot[KBX_TOTALS]);

/* kbindex__term_* - a term's bytes into out (KBX_TERM_MAX of room);
 * return the length. */
size_t kbindex__term_han(uint32_t cp, char *out);
size_t kbindex__term_pair(uint32_t a, uint32_t b, char *out);
size_t kbindex__term_word(const char *w, size_t len, char *out);
size_t kbindex__term_syl(const char *a, const char *b, size_t blen, char *out);
size_t kbindex__term_initials(char a, char b, char *out);

/* kbindex__syllable_usable - a syllable with a vowel (m, n, ng, hm, hng
 * are left out of queries and initials). */
bool kbindex__syllable_usable(const char *s);

#endif
