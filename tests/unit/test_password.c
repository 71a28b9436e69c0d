/*
 * Unit tests of lib/password.c: the hash string's form, verification
 * against a published PBKDF2-HMAC-SHA256 vector, refusal of malformed
 * strings, the bounds, the password policy and session tokens.
 */
#include "lib/err.h"
#include "lib/password.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

/* Fast enough for tests; the smallest count the module accepts. */
#define ITER PASSWORD_ITER_MIN

/* PBKDF2-HMAC-SHA256, P = "passwordPASSWORDpassword",
 * S = "saltSALTsaltSALTsaltSALTsaltSALTsalt", c = 4096, the first 32 bytes
 * of the published 40-byte answer 348c89db...dd53e1c6... */
static const char vector[] = "pbkdf2-sha256$4096$c2FsdFNBTFRzYWx0U0FMVHNhbHRTQUxUc2FsdFNBTFRzYWx0$"
			     "NIyJ28vTKy8y2BS4EW6EzysXNH68GAAYHE4qH7jdU+E=";

static void test_published_vector_matches(void **state)
{
	(void)state;
	assert_true(password_matches("passwordPASSWORDpassword", 24, vector));
}

static void test_published_vector_refuses_other_password(void **state)
{
	(void)state;
	assert_false(password_matches("passwordPASSWORDpassworD", 24, vector));
	assert_false(password_matches("passwordPASSWORDpasswor", 23, vector));
}

static void test_hash_then_matches(void **state)
{
	char h[PASSWORD_ENCODED_MAX];

	(void)state;
	assert_int_equal(password_hash("secret-pass", 11, ITER, h, sizeof(h)), 0);
	assert_true(password_matches("secret-pass", 11, h));
	assert_false(password_matches("secret-pasS", 11, h));
	assert_false(password_matches("", 0, h));
}

static void test_hash_string_names_scheme_count_and_parts(void **state)
{
	char h[PASSWORD_ENCODED_MAX];
	const char *salt, *hash;

	(void)state;
	assert_int_equal(password_hash("secret-pass", 11, ITER, h, sizeof(h)), 0);
	assert_memory_equal(h, "pbkdf2-sha256$1000$", 19);
	salt = h + 19;
	hash = strchr(salt, '$');
	assert_non_null(hash);
	assert_int_equal(hash - salt, 24);      /* 16 bytes */
	assert_int_equal(strlen(hash + 1), 44); /* 32 bytes */
	assert_true(password_encoded_is_valid(h));
}

static void test_same_password_gets_new_salt(void **state)
{
	char a[PASSWORD_ENCODED_MAX], b[PASSWORD_ENCODED_MAX];

	(void)state;
	assert_int_equal(password_hash("secret-pass", 11, ITER, a, sizeof(a)), 0);
	assert_int_equal(password_hash("secret-pass", 11, ITER, b, sizeof(b)), 0);
	assert_string_not_equal(a, b);
	assert_true(password_matches("secret-pass", 11, b));
}

static void test_zero_iterations_means_default(void **state)
{
	char h[PASSWORD_ENCODED_MAX];

	(void)state;
	assert_int_equal(password_hash("secret-pass", 11, 0, h, sizeof(h)), 0);
	assert_memory_equal(h, "pbkdf2-sha256$600000$", 21);
	assert_int_equal(password_iterations(h), 600000);
}

/* OWASP's minimum by default; a process may set another count (kefud from
 * its configuration), within the bounds; 0 sets the default again. */
static void test_default_iterations_settable(void **state)
{
	char h[PASSWORD_ENCODED_MAX];

	(void)state;
	assert_int_equal(PASSWORD_ITER_DEFAULT, 600000);
	assert_int_equal(password_default_iterations(), 600000);
	assert_int_equal(password_set_default_iterations(ITER), 0);
	assert_int_equal(password_hash("secret-pass", 11, 0, h, sizeof(h)), 0);
	assert_int_equal(password_iterations(h), ITER);
	assert_true(password_matches("secret-pass", 11, h));
	assert_int_equal(password_set_default_iterations(PASSWORD_ITER_MIN - 1), -EINVAL);
	assert_int_equal(password_default_iterations(), ITER);
	assert_int_equal(password_set_default_iterations(0), 0);
	assert_int_equal(password_default_iterations(), PASSWORD_ITER_DEFAULT);
	assert_int_equal(password_iterations("not a hash"), 0);
	assert_int_equal(password_iterations(vector), 4096);
}

static void test_iterations_out_of_bounds_refused(void **state)
{
	char h[PASSWORD_ENCODED_MAX];

	(void)state;
	assert_int_equal(password_hash("secret-pass", 11, PASSWORD_ITER_MIN - 1, h, sizeof(h)), -EINVAL);
	assert_int_equal(password_hash("secret-pass", 11, PASSWORD_ITER_MAX + 1, h, sizeof(h)), -EINVAL);
}

static void test_password_over_the_cap_refused(void **state)
{
	static char pw[PASSWORD_LEN_MAX + 1];
	char h[PASSWORD_ENCODED_MAX] = "untouched";

	(void)state;
	memset(pw, 'x', sizeof(pw));
	assert_int_equal(password_hash(pw, sizeof(pw), ITER, h, sizeof(h)), -EINVAL);
	assert_string_equal(h, "untouched");
	assert_int_equal(password_hash(pw, PASSWORD_LEN_MAX, ITER, h, sizeof(h)), 0);
	assert_true(password_matches(pw, PASSWORD_LEN_MAX, h));
	assert_false(password_matches(pw, sizeof(pw), h));
}

static void test_short_output_buffer_refused(void **state)
{
	char h[PASSWORD_ENCODED_MAX - 1];

	(void)state;
	assert_int_equal(password_hash("secret-pass", 11, ITER, h, sizeof(h)), KF_ETOOBIG);
}

static void test_malformed_strings_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"pbkdf2-sha256",
		"pbkdf2-sha1$4096$c2FsdFNBTFRzYWx0U0FMVHNhbHRTQUxUc2FsdFNBTFRzYWx0$"
		"NIyJ28vTKy8y2BS4EW6EzysXNH68GAAYHE4qH7jdU+E=",
		/* leading zero, too few and too many iterations */
		"pbkdf2-sha256$04096$c2FsdFNBTFRzYWx0U0FMVHNhbHRTQUxUc2FsdFNBTFRzYWx0$"
		"NIyJ28vTKy8y2BS4EW6EzysXNH68GAAYHE4qH7jdU+E=",
		"pbkdf2-sha256$999$c2FsdFNBTFRzYWx0U0FMVHNhbHRTQUxUc2FsdFNBTFRzYWx0$"
		"NIyJ28vTKy8y2BS4EW6EzysXNH68GAAYHE4qH7jdU+E=",
		"pbkdf2-sha256$99999999$c2FsdFNBTFRzYWx0U0FMVHNhbHRTQUxUc2FsdFNBTFRzYWx0$"
		"NIyJ28vTKy8y2BS4EW6EzysXNH68GAAYHE4qH7jdU+E=",
		/* salt of 4 bytes */
		"pbkdf2-sha256$4096$c2FsdA==$NIyJ28vTKy8y2BS4EW6EzysXNH68GAAYHE4qH7jdU+E=",
		/* hash of 31 bytes */
		"pbkdf2-sha256$4096$c2FsdFNBTFRzYWx0U0FMVHNhbHRTQUxUc2FsdFNBTFRzYWx0$"
		"NIyJ28vTKy8y2BS4EW6EzysXNH68GAAYHE4qH7jdUw==",
		/* non-canonical padding bits, missing padding, a space, a fifth part */
		"pbkdf2-sha256$4096$c2FsdFNBTFRzYWx0U0FMVHNhbHRTQUxUc2FsdFNBTFRzYWx0$"
		"NIyJ28vTKy8y2BS4EW6EzysXNH68GAAYHE4qH7jdU+F=",
		"pbkdf2-sha256$4096$c2FsdFNBTFRzYWx0U0FMVHNhbHRTQUxUc2FsdFNBTFRzYWx0$"
		"NIyJ28vTKy8y2BS4EW6EzysXNH68GAAYHE4qH7jdU+E",
		"pbkdf2-sha256$4096$c2FsdFNBTFRzYWx0U0FMVHNhbHRTQUxUc2FsdFNBTFRzYWx0$"
		" NIyJ28vTKy8y2BS4EW6EzysXNH68GAAYHE4qH7jdU+E=",
		"pbkdf2-sha256$4096$c2FsdFNBTFRzYWx0U0FMVHNhbHRTQUxUc2FsdFNBTFRzYWx0$"
		"NIyJ28vTKy8y2BS4EW6EzysXNH68GAAYHE4qH7jdU+E=$",
	};

	(void)state;
	assert_true(password_encoded_is_valid(vector));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (password_encoded_is_valid(bad[i]))
			fail_msg("accepted: %s", bad[i]);
		assert_false(password_matches("passwordPASSWORDpassword", 24, bad[i]));
	}
	assert_false(password_encoded_is_valid(NULL));
}

static void test_form_wants_one_line(void **state)
{
	(void)state;
	assert_false(password_is_acceptable("", 0));
	assert_true(password_is_acceptable("12345678", 8));
	assert_false(password_is_acceptable("1234\n5678", 9));
	assert_false(password_is_acceptable("1234\0" "5678", 9));
	assert_true(password_is_acceptable("密码很长很长", strlen("密码很长很长")));
}

/* policy(pw, id): 0, or KF_EPARSE with the rule named in why. */
static void expect_policy(const char *pw, const char *id, const char *rule)
{
	char why[160] = "";
	int err = password_policy_check(pw, strlen(pw), id, why, sizeof(why));

	if (!rule) {
		if (err)
			fail_msg("refused %s: %s", pw, why);
		return;
	}
	assert_int_equal(err, KF_EPARSE);
	if (!strstr(why, rule) || strncmp(why, "password policy: ", 17) != 0)
		fail_msg("%s: why \"%s\" does not name \"%s\"", pw, why, rule);
}

static void test_policy_length_classes_and_id(void **state)
{
	(void)state;
	/* at least 12 characters */
	expect_policy("Ab1-efgh", "a01", "at least 12 characters (this one has 8)");
	expect_policy("Ab1-efghijk", "a01", "at least 12 characters (this one has 11)");
	expect_policy("Ab1-efghijkl", "a01", NULL);
	/* characters, not bytes: 6 Chinese characters are 18 bytes */
	expect_policy("密码很长很长Ab1", "a01", "at least 12 characters (this one has 9)");
	expect_policy("密码很长很长很长很长Ab", "a01", NULL); /* lower, upper, other */
	/* 3 of 4 kinds */
	expect_policy("abcdefghijklmn", "a01", "at least 3 of the 4 kinds");
	expect_policy("abcdefghijk123", "a01", "(this one has 2)");
	expect_policy("ABCDEFGHIJ-123", "a01", NULL);
	expect_policy("abcdefghij-123", "a01", NULL);
	expect_policy("abcdefghiJKLMN", "a01", "(this one has 2)");
	expect_policy("abcdefghiJKL12", "a01", NULL);
	/* not the agent id, in any case */
	expect_policy("x-Agent007-x-1", "agent007", "must not contain the agent id");
	expect_policy("x-AGENT007-x-1", "agent007", "must not contain the agent id");
	expect_policy("x-Agent008-x-1", "agent007", NULL);
	/* the form first */
	expect_policy("Abcdefgh-123\nx", "a01", "no control characters");
}

static void test_tokens_are_hex_and_fresh(void **state)
{
	char a[PASSWORD_TOKEN_HEX + 1], b[PASSWORD_TOKEN_HEX + 1];

	(void)state;
	assert_int_equal(password_token(a), 0);
	assert_int_equal(password_token(b), 0);
	assert_int_equal(strlen(a), PASSWORD_TOKEN_HEX);
	assert_int_equal(strspn(a, "0123456789abcdef"), PASSWORD_TOKEN_HEX);
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_published_vector_matches),
		cmocka_unit_test(test_published_vector_refuses_other_password),
		cmocka_unit_test(test_hash_then_matches),
		cmocka_unit_test(test_hash_string_names_scheme_count_and_parts),
		cmocka_unit_test(test_same_password_gets_new_salt),
		cmocka_unit_test(test_zero_iterations_means_default),
		cmocka_unit_test(test_default_iterations_settable),
		cmocka_unit_test(test_iterations_out_of_bounds_refused),
		cmocka_unit_test(test_password_over_the_cap_refused),
		cmocka_unit_test(test_short_output_buffer_refused),
		cmocka_unit_test(test_malformed_strings_refused),
		cmocka_unit_test(test_form_wants_one_line),
		cmocka_unit_test(test_policy_length_classes_and_id),
		cmocka_unit_test(test_tokens_are_hex_and_fresh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
