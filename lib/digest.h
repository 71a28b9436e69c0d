/*
 * SHA-256, streaming, and a one-shot SHA-1, through OpenSSL's EVP interface. The only place
 * outside the TLS code that touches OpenSSL.
 */
#ifndef KEFU_LIB_DIGEST_H
#define KEFU_LIB_DIGEST_H

#include <stddef.h>

#define DIGEST_SHA256_HEX 64
#define DIGEST_SHA256_LEN 32

struct digest;

/* digest_sha256_new - a fresh SHA-256 context. Never NULL: allocation
 * failure aborts. */
struct digest *digest_sha256_new(void);

/* digest_update - feed len bytes. */
void digest_update(struct digest *d, const void *data, size_t len);

/* digest_final_hex - finish into 64 lower-case hex digits + NUL; the context
 * is reset and may be reused. */
void digest_final_hex(struct digest *d, char out[DIGEST_SHA256_HEX + 1]);

/* digest_final - finish into the 32 bytes of the digest; the context is
 * reset and may be reused. */
void digest_final(struct digest *d, unsigned char out[DIGEST_SHA256_LEN]);

/* digest_free - NULL is fine. */
void digest_free(struct digest *d);

/* digest_sha256_hex - one-shot convenience. */
void digest_sha256_hex(const void *data, size_t len, char out[DIGEST_SHA256_HEX + 1]);

#define DIGEST_SHA1_HEX 40

/* digest_sha1_hex - SHA-1 of data, one shot, as 40 lower-case hex digits + NUL
 * (for names the outside world computes with SHA-1, like Redis script ids;
 * not for security). */
void digest_sha1_hex(const void *data, size_t len, char out[DIGEST_SHA1_HEX + 1]);

#endif
