/* Text folded for search and split into units (textfold.h). The only
 * module that calls ICU. */
#include "lib/textfold.h"

#include "hanzi/tables.h"
#include "lib/err.h"

#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/utf16.h>

/* Non-inert code points are normalized in runs of at most this many UTF-16
 * units (a run is cut earlier where a normalization boundary allows). */
#define TF_RUN_SOFT 256
#define TF_RUN_CAP 512

static void *tf_grow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 64;

	if (need <= *cap)
		return p;
	while (c < need)
		c *= 2;
	p = realloc(p, c * size);
	if (!p)
		abort();
	*cap = c;
	return p;
}

void textfold_init(struct textfold *f)
{
	memset(f, 0, sizeof(*f));
}

void textfold_release(struct textfold *f)
{
	free(f->unit);
	free(f->word);
	free(f->u16);
	memset(f, 0, sizeof(*f));
}

int32_t textfold_utf8_next(const char *s, size_t len, size_t *n)
{
	const uint8_t *p = (const uint8_t *)s;
	uint32_t cp, min;
	size_t need;

	*n = 0;
	if (len == 0)
		return -1;
	if (p[0] < 0x80) {
		*n = 1;
		return p[0];
	}
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		need = 2;
		cp = p[0] & 0x1F;
		min = 0x80;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		need = 3;
		cp = p[0] & 0x0F;
		min = 0x800;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		need = 4;
		cp = p[0] & 0x07;
		min = 0x10000;
	} else {
		return -1;
	}
	if (len < need)
		return -1;
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return -1;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	*n = need;
	return (int32_t)cp;
}

size_t textfold_utf8_put(uint32_t cp, char *out)
{
	uint8_t *o = (uint8_t *)out;

	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (uint8_t)(0xC0 | (cp >> 6));
		o[1] = (uint8_t)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (uint8_t)(0xE0 | (cp >> 12));
		o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (uint8_t)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (uint8_t)(0xF0 | (cp >> 18));
	o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (uint8_t)(0x80 | (cp & 0x3F));
	return 4;
}

bool textfold_is_han(uint32_t cp)
{
	if (cp >= 0x4E00 && cp <= 0x9FFF)
		return true;
	if (cp < 0x3400)
		return false;
	return u_hasBinaryProperty((UChar32)cp, UCHAR_UNIFIED_IDEOGRAPH) != 0;
}

uint32_t textfold_simplify(uint32_t cp)
{
	size_t lo = 0, hi = HANZI_T2S_N;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (hanzi_t2s[mid][0] < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < HANZI_T2S_N && hanzi_t2s[lo][0] == cp ? hanzi_t2s[lo][1] : cp;
}

size_t textfold_readings(uint32_t cp, uint16_t *ids, size_t max)
{
	size_t lo = 0, hi = HANZI_PY_N, n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (hanzi_py_cp[mid] < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == HANZI_PY_N || hanzi_py_cp[lo] != cp)
		return 0;
	n = hanzi_py_first[lo + 1] - hanzi_py_first[lo];
	for (size_t i = 0; i < n && i < max; i++)
		ids[i] = hanzi_py_syl[hanzi_py_first[lo] + i];
	return n;
}

size_t textfold_syllables(void)
{
	return HANZI_SYLLABLES;
}

const char *textfold_syllable(size_t i)
{
	return i < HANZI_SYLLABLES ? hanzi_syllable[i] : "";
}

size_t textfold_syllable_find(const char *s, size_t len)
{
	size_t lo = 0, hi = HANZI_SYLLABLES;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *m = hanzi_syllable[mid];
		size_t mlen = strlen(m);
		int c = memcmp(m, s, mlen < len ? mlen : len);

		if (c < 0 || (c == 0 && mlen < len))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The splitter's state between code points. */
struct tf_state {
	unsigned flags;
	bool in_word; /* the last unit is a word still growing */
	bool after_han; /* the last code point was a Han unit */
};

static struct textfold_unit *tf_push(struct textfold *f, uint8_t kind, uint32_t src,
				     uint32_t src_end)
{
	struct textfold_unit *u;

	f->unit = tf_grow(f->unit, &f->cap, f->n + 1, sizeof(*f->unit));
	u = &f->unit[f->n++];
	memset(u, 0, sizeof(*u));
	u->kind = kind;
	u->src = src;
	u->src_end = src_end;
	return u;
}

static bool tf_is_quote(uint32_t cp)
{
	return cp == '"' || cp == 0x201C || cp == 0x201D;
}

static bool tf_is_wordchar(uint32_t cp)
{
	if (cp < 0x80)
		return (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9');
	return u_isalnum((UChar32)cp) != 0;
}

/* One folded code point, from input bytes [src, src_end). */
static void tf_emit(struct textfold *f, struct tf_state *st, uint32_t cp, uint32_t src,
		    uint32_t src_end)
{
	if (cp >= 0x3400)
		cp = textfold_simplify(cp);
	if (cp >= 0x3400 && textfold_is_han(cp)) {
		struct textfold_unit *u = tf_push(f, TEXTFOLD_HAN, src, src_end);

		u->cp = cp;
		u->joined = st->after_han;
		st->in_word = false;
		st->after_han = true;
		return;
	}
	st->after_han = false;
	if (tf_is_wordchar(cp)) {
		struct textfold_unit *u;
		char b[4];
		size_t n = textfold_utf8_put(cp, b);

		if (!st->in_word) {
			u = tf_push(f, TEXTFOLD_WORD, src, src_end);
			u->off = (uint32_t)f->wlen;
			st->in_word = true;
		}
		u = &f->unit[f->n - 1];
		u->src_end = src_end;
		if (u->len + n <= TEXTFOLD_WORD_MAX) {
			f->word = tf_grow(f->word, &f->wcap, f->wlen + n, 1);
			memcpy(f->word + f->wlen, b, n);
			f->wlen += n;
			u->len += (uint32_t)n;
		}
		return;
	}
	st->in_word = false;
	if ((st->flags & TEXTFOLD_QUOTES) && tf_is_quote(cp))
		tf_push(f, TEXTFOLD_QUOTE, src, src_end)->cp = cp;
}

/* Normalize the pending run u16[0 .. n) (input bytes [src, src_end)) and
 * emit what it becomes. */
static void tf_flush_run(struct textfold *f, struct tf_state *st, const UNormalizer2 *n2,
			 size_t n, uint32_t src, uint32_t src_end)
{
	UErrorCode err;
	int32_t outlen;
	UChar *out;

	if (n == 0)
		return;
	for (;;) {
		err = U_ZERO_ERROR;
		out = (UChar *)f->u16 + TF_RUN_CAP;
		outlen = unorm2_normalize(n2, (const UChar *)f->u16, (int32_t)n, out,
					  (int32_t)(f->u16cap - TF_RUN_CAP), &err);
		if (err != U_BUFFER_OVERFLOW_ERROR)
			break;
		f->u16 = tf_grow(f->u16, &f->u16cap, TF_RUN_CAP + (size_t)outlen + 16,
				 sizeof(*f->u16));
	}
	if (U_FAILURE(err)) {
		/* Not expected from valid input; emit the run as it was. */
		out = (UChar *)f->u16;
		outlen = (int32_t)n;
	}
	for (int32_t i = 0; i < outlen;) {
		UChar32 c;

		U16_NEXT(out, i, outlen, c);
		tf_emit(f, st, (uint32_t)c, src, src_end);
	}
}

int textfold_run(struct textfold *f, const char *text, size_t len, unsigned flags)
{
	UErrorCode err = U_ZERO_ERROR;
	const UNormalizer2 *n2 = unorm2_getNFKCCasefoldInstance(&err);
	struct tf_state st = {flags, false, false};
	size_t i = 0, run = 0;
	uint32_t run_src = 0;

	f->n = 0;
	f->wlen = 0;
	if (len > TEXTFOLD_INPUT_MAX)
		return KF_ETOOBIG;
	if (U_FAILURE(err))
		abort(); /* ICU's data is part of the library: our bug or a broken install */
	f->u16 = tf_grow(f->u16, &f->u16cap, TF_RUN_CAP * 4, sizeof(*f->u16));
	while (i < len) {
		size_t n;
		int32_t c = textfold_utf8_next(text + i, len - i, &n);
		bool inert;

		if (c < 0)
			break;
		if (c < 0x80 && (i + 1 == len || (uint8_t)text[i + 1] < 0x80))
			inert = !(c >= 'A' && c <= 'Z'); /* nothing after it can combine with it */
		else if (c >= 0x4E00 && c <= 0x9FFF)
			inert = true;
		else
			inert = unorm2_isInert(n2, c) != 0;
		if (!inert && run >= TF_RUN_SOFT &&
		    (run + 2 > TF_RUN_CAP || unorm2_hasBoundaryBefore(n2, c))) {
			tf_flush_run(f, &st, n2, run, run_src, (uint32_t)i);
			run = 0;
		}
		if (inert) {
			tf_flush_run(f, &st, n2, run, run_src, (uint32_t)i);
			run = 0;
			tf_emit(f, &st, (uint32_t)c, (uint32_t)i, (uint32_t)(i + n));
		} else {
			if (run == 0)
				run_src = (uint32_t)i;
			U16_APPEND_UNSAFE(f->u16, run, c);
		}
		i += n;
	}
	tf_flush_run(f, &st, n2, run, run_src, (uint32_t)i);
	return 0;
}
