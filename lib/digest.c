/*
 * SHA-256 through OpenSSL's EVP interface. See digest.h.
 *
 * OpenSSL failures here can only mean an out-of-memory condition or a broken
 * library build (SHA-256 is always available), so they abort like any other
 * allocation failure.
 */
#include "lib/digest.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>

struct digest {
	EVP_MD_CTX *ctx;
};

/* SHA-256 fetched from the default provider once: EVP_sha256() makes every
 * EVP_DigestInit_ex look the implementation up again (OpenSSL 3), which
 * cost more than hashing an audit entry. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!sha256_md)
		abort();
}

/* n bytes of md as lower-case hex into out, NUL-terminated. */
static void digest_hex(const unsigned char *md, unsigned int n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (unsigned int i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

static void digest_restart(struct digest *d)
{
	pthread_once(&sha256_once, sha256_fetch);
	if (EVP_DigestInit_ex(d->ctx, sha256_md, NULL) != 1)
		abort();
}

struct digest *digest_sha256_new(void)
{
	struct digest *d = malloc(sizeof(*d));

	if (!d)
		abort();
	d->ctx = EVP_MD_CTX_new();
	if (!d->ctx)
		abort();
	digest_restart(d);
	return d;
}

void digest_update(struct digest *d, const void *data, size_t len)
{
	if (len && EVP_DigestUpdate(d->ctx, data, len) != 1)
		abort();
}

void digest_final(struct digest *d, unsigned char out[DIGEST_SHA256_LEN])
{
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(d->ctx, out, &n) != 1 || n != DIGEST_SHA256_LEN)
		abort();
	digest_restart(d);
}

void digest_final_hex(struct digest *d, char out[DIGEST_SHA256_HEX + 1])
{
	unsigned char md[DIGEST_SHA256_LEN];

	digest_final(d, md);
	digest_hex(md, DIGEST_SHA256_LEN, out);
}

void digest_free(struct digest *d)
{
	if (!d)
		return;
	EVP_MD_CTX_free(d->ctx);
	free(d);
}

void digest_sha256_hex(const void *data, size_t len, char out[DIGEST_SHA256_HEX + 1])
{
	struct digest *d = digest_sha256_new();

	digest_update(d, data, len);
	digest_final_hex(d, out);
	digest_free(d);
}

void digest_sha1_hex(const void *data, size_t len, char out[DIGEST_SHA1_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest(data, len, md, &n, EVP_sha1(), NULL) != 1 || n * 2 != DIGEST_SHA1_HEX)
		abort();
	digest_hex(md, n, out);
}
