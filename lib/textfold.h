/*
 * textfold - text folded for search, and split into units.
 *
 * Folding: NFKC with case folding (ICU's NFKC_Casefold: full-width letters,
 * digits and signs become their ASCII forms, letters lowercase, compatibility
 * ideographs their unified forms), then traditional Han characters to their
 * simplified forms (Unihan kSimplifiedVariant). ICU is touched by this module
 * only. The same folding runs on articles and on queries, so "話費", "话费"
 * and "ＡＢＣ" meet "话费" and "abc".
 *
 * Units: every Han character is a unit of its own; a run of other letters
 * and digits is one word (at most TEXTFOLD_WORD_MAX bytes kept); everything
 * else separates units. Each unit records where it came from in the input,
 * so an excerpt can be cut around it.
 *
 * Readings: every toneless pinyin reading of a Han character (Unihan
 * kMandarin, kHanyuPinyin, kXHC1983, kTGHZ2013), as indices into one sorted
 * syllable table ("hang", "xing", u-umlaut as v: "lv").
 *
 * The tables are generated at build time from the unicode-data package
 * (lib/hanzi_gen.sh -> build/gen/hanzi/). Everything here is pure: no
 * globals but the read-only tables and ICU's own.
 */
#ifndef KEFU_LIB_TEXTFOLD_H
#define KEFU_LIB_TEXTFOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TEXTFOLD_INPUT_MAX (4u << 20) /* bytes of one text */
#define TEXTFOLD_WORD_MAX 48          /* bytes of one word unit, the rest is dropped */
#define TEXTFOLD_READINGS_MAX 16      /* readings of one character, at most */

enum textfold_kind {
	TEXTFOLD_HAN = 0,   /* one Han character, cp */
	TEXTFOLD_WORD = 1,  /* letters and digits, folded, in word[off .. off + len) */
	TEXTFOLD_QUOTE = 2, /* a double quote (only with TEXTFOLD_QUOTES) */
};

/* textfold_run flags */
#define TEXTFOLD_QUOTES 1u /* report '"', U+201C and U+201D as QUOTE units */

struct textfold_unit {
	uint8_t kind;    /* enum textfold_kind */
	bool joined;     /* HAN: right after the previous unit, a HAN, nothing between */
	uint32_t cp;     /* HAN, QUOTE: the folded code point */
	uint32_t off;    /* WORD: its bytes in struct textfold's word buffer */
	uint32_t len;
	uint32_t src;    /* bytes [src, src_end) of the input it came from */
	uint32_t src_end;
};

/* The units of one text. Reused across runs; owns its arrays. */
struct textfold {
	struct textfold_unit *unit;
	size_t n, cap;
	char *word; /* the words' folded bytes, not NUL-terminated */
	size_t wlen, wcap;
	uint16_t *u16; /* scratch for ICU */
	size_t u16cap;
};

/* textfold_init / textfold_release - an empty fold; release frees what it
 * holds (a released fold may be initialised again). */
void textfold_init(struct textfold *f);
void textfold_release(struct textfold *f);

/*
 * textfold_run - fold text (len bytes of UTF-8) into f's units, replacing
 * what f held. Folding stops at the first byte that is not valid UTF-8: the
 * text is taken as far as it is valid. Pointers into f stay valid until the
 * next run or release. Allocation failure aborts.
 * Returns 0, KF_ETOOBIG (len over TEXTFOLD_INPUT_MAX; f is left empty).
 */
int textfold_run(struct textfold *f, const char *text, size_t len, unsigned flags);

/* textfold_is_han - cp is a unified Han ideograph. */
bool textfold_is_han(uint32_t cp);

/* textfold_simplify - the simplified form of cp, or cp itself. */
uint32_t textfold_simplify(uint32_t cp);

/*
 * textfold_readings - the readings of cp as syllable indices (sorted,
 * distinct), at most max of them into ids; returns how many there are
 * (0 for a character without a reading or not Han).
 */
size_t textfold_readings(uint32_t cp, uint16_t *ids, size_t max);

/* textfold_syllables - how many syllables the table holds. */
size_t textfold_syllables(void);

/* textfold_syllable - syllable i (< textfold_syllables()), static, ASCII. */
const char *textfold_syllable(size_t i);

/*
 * textfold_syllable_find - the index of the first syllable >= s (s of len
 * bytes) in the table's order, so the syllables starting with s are
 * indices [textfold_syllable_find(s), ...) while they start with s.
 */
size_t textfold_syllable_find(const char *s, size_t len);

/* textfold_utf8_next - decode the code point at s[0..len): its length in
 * *n (1..4); returns it, or -1 (and *n = 0) when the bytes there are not
 * valid UTF-8 (overlong forms, surrogates and truncated sequences too). */
int32_t textfold_utf8_next(const char *s, size_t len, size_t *n);

/* textfold_utf8_put - encode cp (valid) into out (4 bytes of room);
 * returns the bytes written. */
size_t textfold_utf8_put(uint32_t cp, char *out);

#endif
