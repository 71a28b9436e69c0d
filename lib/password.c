/*
 * PBKDF2-HMAC-SHA256 password hashes and random tokens through OpenSSL's
 * EVP, RAND and CRYPTO interfaces. See password.h.
 */
#include "lib/password.h"

#include "lib/err.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SCHEME "pbkdf2-sha256"
#define ITER_DIGITS_MAX 8
/* base64 text of n bytes, with its NUL */
#define B64_SIZE(n) (((n) + 2) / 3 * 4 + 1)

struct parsed {
	unsigned iter;
	uint8_t salt[PASSWORD_SALT_MAX];
	size_t slen;
	uint8_t hash[PASSWORD_HASH_LEN];
};

static bool b64_char_ok(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/*
 * Decode the base64 text [s, s + len) into out (at most cap bytes). Only
 * the canonical form is taken: padded, and exactly what encoding the bytes
 * again gives, so one hash has one spelling. Returns the byte count, or
 * KF_EPARSE (not canonical base64, or more than cap bytes).
 */
static int b64_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
	uint8_t buf[PASSWORD_SALT_MAX + 3];
	char again[B64_SIZE(PASSWORD_SALT_MAX + 3)];
	size_t pad = 0;
	int n;

	if (len == 0 || len % 4 || len / 4 * 3 > sizeof(buf))
		return KF_EPARSE;
	while (pad < 2 && s[len - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < len - pad; i++)
		if (!b64_char_ok(s[i]))
			return KF_EPARSE;
	n = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)len);
	if (n < 0 || (size_t)n < pad || (size_t)n - pad > cap)
		return KF_EPARSE;
	n -= (int)pad;
	EVP_EncodeBlock((unsigned char *)again, buf, n);
	if (strlen(again) != len || memcmp(again, s, len) != 0)
		return KF_EPARSE;
	memcpy(out, buf, (size_t)n);
	return n;
}

/* Split a hash string into its parts. Returns 0 or KF_EPARSE (a fault of
 * form or of bounds, the string's length included). */
static int parse(const char *enc, struct parsed *p)
{
	size_t len = strnlen(enc, PASSWORD_ENCODED_MAX);
	const char *end = enc + len, *it, *salt, *hash;
	unsigned long v = 0;
	int n;

	if (len == PASSWORD_ENCODED_MAX || strncmp(enc, SCHEME "$", sizeof(SCHEME)) != 0)
		return KF_EPARSE;
	it = enc + sizeof(SCHEME);
	salt = memchr(it, '$', (size_t)(end - it));
	if (!salt || salt == it || salt - it > ITER_DIGITS_MAX || *it == '0')
		return KF_EPARSE;
	for (const char *c = it; c < salt; c++) {
		if (*c < '0' || *c > '9')
			return KF_EPARSE;
		v = v * 10 + (unsigned long)(*c - '0');
	}
	if (v < PASSWORD_ITER_MIN || v > PASSWORD_ITER_MAX)
		return KF_EPARSE;
	p->iter = (unsigned)v;
	salt++;
	hash = memchr(salt, '$', (size_t)(end - salt));
	if (!hash)
		return KF_EPARSE;
	n = b64_decode(salt, (size_t)(hash - salt), p->salt, sizeof(p->salt));
	if (n < PASSWORD_SALT_MIN) /* not base64, or too short a salt */
		return KF_EPARSE;
	p->slen = (size_t)n;
	hash++;
	n = b64_decode(hash, (size_t)(end - hash), p->hash, sizeof(p->hash));
	return n == PASSWORD_HASH_LEN ? 0 : KF_EPARSE;
}

static int derive(const char *pw, size_t len, const uint8_t *salt, size_t slen, unsigned iter,
		  uint8_t out[PASSWORD_HASH_LEN])
{
	if (PKCS5_PBKDF2_HMAC(pw ? pw : "", (int)len, salt, (int)slen, (int)iter, EVP_sha256(),
			      PASSWORD_HASH_LEN, out) != 1)
		return KF_EINTERNAL;
	return 0;
}

static atomic_uint default_iter = PASSWORD_ITER_DEFAULT;

int password_set_default_iterations(unsigned iterations)
{
	if (!iterations)
		iterations = PASSWORD_ITER_DEFAULT;
	if (iterations < PASSWORD_ITER_MIN || iterations > PASSWORD_ITER_MAX)
		return -EINVAL;
	atomic_store(&default_iter, iterations);
	return 0;
}

unsigned password_default_iterations(void)
{
	return atomic_load(&default_iter);
}

int password_hash(const char *pw, size_t len, unsigned iterations, char *out, size_t cap)
{
	uint8_t salt[PASSWORD_SALT_LEN], hash[PASSWORD_HASH_LEN];
	char salt64[B64_SIZE(PASSWORD_SALT_LEN)], hash64[B64_SIZE(PASSWORD_HASH_LEN)];
	int err;

	if (!iterations)
		iterations = password_default_iterations();
	if (iterations < PASSWORD_ITER_MIN || iterations > PASSWORD_ITER_MAX || len > PASSWORD_LEN_MAX)
		return -EINVAL;
	if (cap < PASSWORD_ENCODED_MAX)
		return KF_ETOOBIG;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return KF_EINTERNAL;
	err = derive(pw, len, salt, sizeof(salt), iterations, hash);
	if (err == 0) {
		EVP_EncodeBlock((unsigned char *)salt64, salt, sizeof(salt));
		EVP_EncodeBlock((unsigned char *)hash64, hash, sizeof(hash));
		snprintf(out, cap, SCHEME "$%u$%s$%s", iterations, salt64, hash64);
	}
	OPENSSL_cleanse(hash, sizeof(hash));
	OPENSSL_cleanse(hash64, sizeof(hash64));
	return err;
}

bool password_matches(const char *pw, size_t len, const char *encoded)
{
	struct parsed p;
	uint8_t got[PASSWORD_HASH_LEN];
	bool same;

	if (!encoded || len > PASSWORD_LEN_MAX || parse(encoded, &p) != 0)
		return false;
	same = derive(pw, len, p.salt, p.slen, p.iter, got) == 0 &&
	       CRYPTO_memcmp(got, p.hash, sizeof(got)) == 0;
	OPENSSL_cleanse(got, sizeof(got));
	OPENSSL_cleanse(&p, sizeof(p));
	return same;
}

bool password_encoded_is_valid(const char *encoded)
{
	struct parsed p;

	return encoded && parse(encoded, &p) == 0;
}

void password_forget(void *p, size_t n)
{
	if (p && n)
		OPENSSL_cleanse(p, n);
}

unsigned password_iterations(const char *encoded)
{
	struct parsed p;

	return encoded && parse(encoded, &p) == 0 ? p.iter : 0;
}

bool password_is_acceptable(const char *pw, size_t len)
{
	if (!pw || len == 0 || len > PASSWORD_LEN_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)pw[i] < 0x20 || pw[i] == 0x7f)
			return false;
	return true;
}

static int policy_refuse(char *why, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int policy_refuse(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (why && cap) {
		n = snprintf(why, cap, "password policy: ");
		if (n > 0 && (size_t)n < cap) {
			va_start(ap, fmt);
			vsnprintf(why + n, cap - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return KF_EPARSE;
}

/* Whether pw[0..len) holds id, ASCII letters in any case. */
static bool contains_id(const char *pw, size_t len, const char *id)
{
	size_t n = id ? strlen(id) : 0;

	for (size_t i = 0; n && i + n <= len; i++) {
		size_t k = 0;

		while (k < n && tolower((unsigned char)pw[i + k]) == tolower((unsigned char)id[k]))
			k++;
		if (k == n)
			return true;
	}
	return false;
}

int password_policy_check(const char *pw, size_t len, const char *id, char *why, size_t cap)
{
	size_t chars = 0;
	bool kind[4] = {false, false, false, false}; /* lower, upper, digit, other */
	unsigned kinds = 0;

	if (!password_is_acceptable(pw, len))
		return policy_refuse(why, cap, "1..%d bytes on one line, no control characters",
				     PASSWORD_LEN_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)pw[i];

		if ((c & 0xc0) != 0x80)
			chars++;
		kind[c >= 'a' && c <= 'z' ? 0 : c >= 'A' && c <= 'Z' ? 1 : c >= '0' && c <= '9' ? 2 : 3] =
			true;
	}
	for (size_t i = 0; i < 4; i++)
		kinds += kind[i];
	if (chars < PASSWORD_LEN_MIN)
		return policy_refuse(why, cap, "at least %d characters (this one has %zu)",
				     PASSWORD_LEN_MIN, chars);
	if (kinds < PASSWORD_CLASSES_MIN)
		return policy_refuse(why, cap,
				     "at least %d of the 4 kinds lower case, upper case, digits, "
				     "others (this one has %u)",
				     PASSWORD_CLASSES_MIN, kinds);
	if (contains_id(pw, len, id))
		return policy_refuse(why, cap, "it must not contain the agent id");
	return 0;
}

int password_token(char out[PASSWORD_TOKEN_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t raw[PASSWORD_TOKEN_HEX / 2];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return KF_EINTERNAL;
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[PASSWORD_TOKEN_HEX] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}
