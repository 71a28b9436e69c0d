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
 * The default count is OWASP's minimum for PBKDF2-HMAC-SHA256, 600,000;
 * a hash of fewer is upgraded by the node at the next good login.
 *
 * Hashing is slow on purpose (~150 ms at the default count): call it where
 * blocking is acceptable (kefuctl, a worker thread), never on the loop.
 * The one state kept is the process's default iteration count
 * (password_set_default_iterations: kefud's configuration sets it at
 * start). Every function is thread-safe.
 */
#ifndef KEFU_LIB_PASSWORD_H
#define KEFU_LIB_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_ITER_DEFAULT 600000u
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
/* The policy of a new password (password_policy_check): characters at
 * least, kinds of characters at least (of lower case, upper case, digits,
 * others), and the earlier passwords of the agent it may not be. */
#define PASSWORD_LEN_MIN 12
#define PASSWORD_CLASSES_MIN 3
#define PASSWORD_HISTORY 5
/* A session token: 32 random bytes as 64 lowercase hex digits. */
#define PASSWORD_TOKEN_HEX 64

/*
 * password_set_default_iterations - the rounds password_hash uses when
 * given 0 (PASSWORD_ITER_DEFAULT until set; 0 sets that again). Returns 0
 * or -EINVAL (outside PASSWORD_ITER_MIN..MAX). kefud sets it from its
 * configuration (password_iterations, or the test-only
 * test_password_iterations) before any thread starts.
 */
int password_set_default_iterations(unsigned iterations);
unsigned password_default_iterations(void);

/*
 * password_hash - hash the len bytes of pw with a fresh random salt and
 * iterations rounds (0: password_default_iterations) into out, NUL-terminated.
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
 * password_is_acceptable - a new password's form: 1 to PASSWORD_LEN_MAX
 * bytes, no control characters (no NUL, no newline). What a client checks
 * before sending it; the rules are password_policy_check's, on the node.
 */
bool password_is_acceptable(const char *pw, size_t len);

/*
 * password_policy_check - the rules a new password of agent id must pass,
 * but the history (the node checks that against the stored hashes): its
 * form (password_is_acceptable), at least PASSWORD_LEN_MIN characters
 * (UTF-8 code points), at least PASSWORD_CLASSES_MIN of the four kinds
 * lower case, upper case, digits and others (any other character), and
 * not the agent id inside it, in any case. Returns 0, or KF_EPARSE with
 * why naming the rule that failed ("password policy: ...").
 */
int password_policy_check(const char *pw, size_t len, const char *id, char *why, size_t cap);

/* password_forget - overwrite n bytes of secret at p (a password, a key)
 * in a way the compiler keeps. */
void password_forget(void *p, size_t n);

/* password_iterations - the iteration count of a valid hash string, 0 when
 * encoded is not one. */
unsigned password_iterations(const char *encoded);

/*
 * password_token - a fresh session token: PASSWORD_TOKEN_HEX hex digits and
 * a NUL into out. Returns 0 or KF_EINTERNAL (no randomness).
 */
int password_token(char out[PASSWORD_TOKEN_HEX + 1]);

#endif
