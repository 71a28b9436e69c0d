/*
 * Password hashes and session tokens.
 *
 * A password is stored as one self-describing string:
 *
 *   pbkdf2-sha256$ITER$SALT_B64$HASH_B64
 *
 * PBKDF2-HMAC-SHA256 with ITER iterations over a random salt (16 bytes
 * when we make it; 8..64 accepted), a 32-byte hash, both in standard
 * base64 with padding. The iteration count travels with the hash, so it
 * can be raised later without invalidating stored passwords.
 *
 * Hashing is slow on purpose (~50 ms at the default count): call it where
 * blocking is acceptable (kefuctl, a worker thread), never on the loop.
 * Nothing here keeps state; every function is thread-safe.
 */
#ifndef KEFU_LIB_PASSWORD_H
#define KEFU_LIB_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_ITER_DEFAULT 100000u
#define PASSWORD_ITER_MIN 1000u
#define PASSWORD_ITER_MAX 10000000u
#define PASSWORD_SALT_LEN 16
#define PASSWORD_SALT_MIN 8
#define PASSWORD_SALT_MAX 64
#define PASSWORD_HASH_LEN 32
/* Longest encoded string, with its NUL. */
#define PASSWORD_ENCODED_MAX 160
/* Password length accepted by password_hash and password_matches, bytes. */
#define PASSWORD_LEN_MAX 1024
/* What password_is_acceptable asks of a new password. */
#define PASSWORD_LEN_MIN 8
/* A session token: 32 random bytes as 64 lowercase hex digits. */
#define PASSWORD_TOKEN_HEX 64

/*
 * password_hash - hash the len bytes of pw with a fresh random salt and
 * iterations rounds (0: PASSWORD_ITER_DEFAULT) into out, NUL-terminated.
 * Returns 0; -EINVAL (iterations outside PASSWORD_ITER_MIN..MAX, len over
 * PASSWORD_LEN_MAX); KF_ETOOBIG (cap under PASSWORD_ENCODED_MAX);
 * KF_EINTERNAL (no randomness, or the KDF failed). out is untouched unless
 * 0 is returned.
 */
int password_hash(const char *pw, size_t len, unsigned iterations, char *out, size_t cap);

/*
 * password_matches - whether pw hashes to encoded. The comparison takes
 * the same time wherever the hashes differ. false also when encoded is not
 * a valid hash string (password_encoded_is_valid) or len is over the cap.
 */
bool password_matches(const char *pw, size_t len, const char *encoded);

/*
 * password_encoded_is_valid - encoded is a well-formed hash string: the
 * scheme, an iteration count in bounds without leading zeros, a canonical
 * base64 salt of PASSWORD_SALT_MIN..MAX bytes and a 32-byte hash. For the
 * node, which stores hashes that kefuctl made.
 */
bool password_encoded_is_valid(const char *encoded);

/*
 * password_is_acceptable - a new password's policy: PASSWORD_LEN_MIN to
 * PASSWORD_LEN_MAX bytes, no control characters (no NUL, no newline).
 */
bool password_is_acceptable(const char *pw, size_t len);

/*
 * password_token - a fresh session token: PASSWORD_TOKEN_HEX hex digits and
 * a NUL into out. Returns 0 or KF_EINTERNAL (no randomness).
 */
int password_token(char out[PASSWORD_TOKEN_HEX + 1]);

#endif
