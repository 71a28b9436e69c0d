/* SHA-256 against known vectors, streamed and one-shot. */
#include "lib/digest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_MILLION_A "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

static void test_empty_input_matches_vector(void **state)
{
	char hex[DIGEST_SHA256_HEX + 1];

	(void)state;
	digest_sha256_hex("", 0, hex);
	assert_string_equal(hex, SHA_EMPTY);
}

static void test_abc_matches_vector(void **state)
{
	char hex[DIGEST_SHA256_HEX + 1];

	(void)state;
	digest_sha256_hex("abc", 3, hex);
	assert_string_equal(hex, SHA_ABC);
}

static void test_stream_in_pieces_matches_vector(void **state)
{
	struct digest *d = digest_sha256_new();
	char chunk[2000], hex[DIGEST_SHA256_HEX + 1];

	(void)state;
	memset(chunk, 'a', sizeof(chunk));
	/* 1000 * 997 + 3000 bytes in odd-sized pieces = one million 'a'. */
	for (int i = 0; i < 1000; i++)
		digest_update(d, chunk, 997);
	digest_update(d, chunk, 1000);
	digest_update(d, chunk, 1);
	digest_update(d, chunk, 0);
	digest_update(d, chunk, 1999);
	digest_final_hex(d, hex);
	assert_string_equal(hex, SHA_MILLION_A);
	digest_free(d);
}

static void test_context_resets_after_final(void **state)
{
	struct digest *d = digest_sha256_new();
	char hex[DIGEST_SHA256_HEX + 1];

	(void)state;
	digest_update(d, "xyz", 3);
	digest_final_hex(d, hex);
	digest_update(d, "abc", 3);
	digest_final_hex(d, hex);
	assert_string_equal(hex, SHA_ABC);
	digest_final_hex(d, hex);
	assert_string_equal(hex, SHA_EMPTY);
	digest_free(d);
}

/* The binary digest is the hex one's bytes, and resets the context too. */
static void test_binary_final_matches_hex(void **state)
{
	static const uint8_t abc[DIGEST_SHA256_LEN] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
		0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
		0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
	struct digest *d = digest_sha256_new();
	uint8_t md[DIGEST_SHA256_LEN];
	char hex[DIGEST_SHA256_HEX + 1];

	(void)state;
	digest_update(d, "ab", 2);
	digest_update(d, "c", 1);
	digest_final(d, md);
	assert_memory_equal(md, abc, sizeof(abc));
	digest_final_hex(d, hex);
	assert_string_equal(hex, SHA_EMPTY);
	digest_free(d);
}

static void test_free_accepts_null(void **state)
{
	(void)state;
	digest_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_input_matches_vector),
		cmocka_unit_test(test_abc_matches_vector),
		cmocka_unit_test(test_stream_in_pieces_matches_vector),
		cmocka_unit_test(test_context_resets_after_final),
		cmocka_unit_test(test_binary_final_matches_hex),
		cmocka_unit_test(test_free_accepts_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
