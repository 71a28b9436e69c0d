/* Form bodies and cookies, decoded. See webform.h. */
#include "lib/webform.h"

#include "lib/err.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

int webform_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Whether s[0..n) is UTF-8 (no overlong forms, no surrogates). */
static bool utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], need, cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i <= need)
			return false;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += need + 1;
	}
	return true;
}

/* Decodes src[0..n) into out[0..size) with a NUL. */
static int decode(const char *src, size_t n, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)src[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;

			if (n - i < 3 || (hi = webform_hex_digit(src[i + 1])) < 0 ||
			    (lo = webform_hex_digit(src[i + 2])) < 0)
				return KF_EPARSE;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c == 0)
			return KF_EPARSE;
		if (o + 1 >= size)
			return KF_ETOOBIG;
		out[o++] = (char)c;
	}
	if (size == 0)
		return KF_ETOOBIG;
	out[o] = '\0';
	return utf8_ok((const unsigned char *)out, o) ? 0 : KF_EPARSE;
}

int webform_next(const char *buf, size_t len, size_t *pos, char *key, size_t ksize, char *val,
		 size_t vsize)
{
	size_t i = *pos, end, eq;
	int r;

	while (i < len && buf[i] == '&')
		i++;
	if (i >= len) {
		*pos = len;
		return 0;
	}
	end = i;
	while (end < len && buf[end] != '&')
		end++;
	eq = i;
	while (eq < end && buf[eq] != '=')
		eq++;
	*pos = end;
	if (eq == i)
		return KF_EPARSE;
	if ((r = decode(buf + i, eq - i, key, ksize)) != 0)
		return r;
	if (!key[0])
		return KF_EPARSE;
	r = decode(buf + (eq < end ? eq + 1 : end), eq < end ? end - eq - 1 : 0, val, vsize);
	return r ? r : 1;
}

int webform_cookie(const char *header, const char *name, char *out, size_t size)
{
	size_t nlen = strlen(name);
	const char *p = header;

	while (*p) {
		const char *end, *eq;

		while (*p == ' ' || *p == ';')
			p++;
		end = p;
		while (*end && *end != ';')
			end++;
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq && (size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0) {
			size_t vlen = (size_t)(end - eq - 1);

			while (vlen && eq[vlen] == ' ')
				vlen--;
			if (vlen + 1 > size)
				return KF_ETOOBIG;
			for (size_t k = 0; k < vlen; k++)
				if ((unsigned char)eq[1 + k] < 0x21 || eq[1 + k] == 0x7f)
					return KF_EPARSE;
			memcpy(out, eq + 1, vlen);
			out[vlen] = '\0';
			return 0;
		}
		p = end;
	}
	return KF_ENOTFOUND;
}
