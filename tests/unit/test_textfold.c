/*
 * Unit tests of lib/textfold.c: NFKC with case folding (full-width forms,
 * upper case, compatibility ideographs), traditional to simplified, units
 * with their source ranges (Han one by one, words of letters and digits,
 * quotes when asked), every reading of polyphonic characters, the syllable
 * table's order and prefixes, invalid UTF-8 taken as far as it is valid,
 * and the size limit.
 */
#include "lib/err.h"
#include "lib/textfold.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The units of text as "H:话 H+费 W:4g Q" (H+ a Han joined to the one before). */
static const char *units(const char *text, unsigned flags)
{
	static char out[512];
	struct textfold f;
	size_t w = 0;

	textfold_init(&f);
	assert_int_equal(textfold_run(&f, text, strlen(text), flags), 0);
	out[0] = '\0';
	for (size_t i = 0; i < f.n; i++) {
		const struct textfold_unit *u = &f.unit[i];
		char b[5] = {0};

		if (i)
			out[w++] = ' ';
		if (u->kind == TEXTFOLD_HAN) {
			b[textfold_utf8_put(u->cp, b)] = '\0';
			w += (size_t)snprintf(out + w, sizeof(out) - w, "H%c%s", u->joined ? '+' : ':', b);
		} else if (u->kind == TEXTFOLD_WORD) {
			w += (size_t)snprintf(out + w, sizeof(out) - w, "W:%.*s", (int)u->len, f.word + u->off);
		} else {
			w += (size_t)snprintf(out + w, sizeof(out) - w, "Q");
		}
	}
	out[w] = '\0';
	textfold_release(&f);
	return out;
}

/* A text, the flags of its fold, and the units it folds into. */
static const struct {
	const char *text;
	unsigned flags;
	const char *units;
} unit_cases[] = {
	{"话费查询", 0, "H:话 H+费 H+查 H+询"},
	{"4G套餐", 0, "W:4g H:套 H+餐"},
	{"iPhone 15 携号转网", 0, "W:iphone W:15 H:携 H+号 H+转 H+网"},
	{"话，费", 0, "H:话 H:费"},
	{"“话费”", 0, "H:话 H+费"},
	{"“话费” \"a\"", TEXTFOLD_QUOTES, "Q H:话 H+费 Q Q W:a Q"},
	{"", 0, ""},
	{" ,.;", 0, ""},
	/* Full-width forms and case. */
	{"ＡＢＣ／４Ｇ", 0, "W:abc W:4g"},
	{"IPHONE", 0, "W:iphone"},
	/* Traditional to simplified. */
	{"話費查詢", 0, "H:话 H+费 H+查 H+询"},
	{"長城寬帶", 0, "H:长 H+城 H+宽 H+带"},
	/* A compatibility ideograph becomes its unified form (U+F900 is 豈),
	 * then simplified. */
	{"\xEF\xA4\x80", 0, "H:岂"},
	/* Accents compose (e + combining acute is é) and stay in the word. */
	{"Cafe\xCC\x81 ok", 0, "W:caf\xC3\xA9 W:ok"},
};

static void test_units(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(unit_cases) / sizeof(unit_cases[0]); i++)
		assert_string_equal(units(unit_cases[i].text, unit_cases[i].flags), unit_cases[i].units);
}

static void test_fold(void **state)
{
	(void)state;
	assert_int_equal(textfold_simplify(0x8A71), 0x8BDD);
	assert_int_equal(textfold_simplify(0x8BDD), 0x8BDD);
	assert_true(textfold_is_han(0x4E2D));
	assert_true(textfold_is_han(0x20000));
	assert_false(textfold_is_han('a'));
	assert_false(textfold_is_han(0x3042));
}

static void test_sources(void **state)
{
	struct textfold f;
	const char *t = "ab 话Ｘ";

	(void)state;
	textfold_init(&f);
	assert_int_equal(textfold_run(&f, t, strlen(t), 0), 0);
	assert_int_equal(f.n, 3);
	assert_int_equal(f.unit[0].src, 0);
	assert_int_equal(f.unit[0].src_end, 2);
	assert_int_equal(f.unit[1].src, 3);
	assert_int_equal(f.unit[1].src_end, 6);
	assert_int_equal(f.unit[2].src, 6);
	assert_int_equal(f.unit[2].src_end, 9);
	/* A word over the limit keeps its first TEXTFOLD_WORD_MAX bytes. */
	{
		char w[200];

		memset(w, 'x', sizeof(w));
		assert_int_equal(textfold_run(&f, w, sizeof(w), 0), 0);
		assert_int_equal(f.n, 1);
		assert_int_equal(f.unit[0].len, TEXTFOLD_WORD_MAX);
		assert_int_equal(f.unit[0].src_end, sizeof(w));
	}
	/* Invalid UTF-8: as far as it is valid. */
	assert_int_equal(textfold_run(&f, "话\xC0\x80费", 8, 0), 0);
	assert_int_equal(f.n, 1);
	assert_int_equal(textfold_run(&f, "a\xED\xA0\x80" "b", 5, 0), 0);
	assert_int_equal(f.n, 1);
	assert_int_equal(textfold_run(&f, "话\xE8\xB4", 5, 0), 0);
	assert_int_equal(f.n, 1);
	assert_int_equal(textfold_run(&f, "x", TEXTFOLD_INPUT_MAX + 1, 0), KF_ETOOBIG);
	assert_int_equal(f.n, 0);
	textfold_release(&f);
}

static bool has_reading(uint32_t cp, const char *syl)
{
	uint16_t ids[TEXTFOLD_READINGS_MAX];
	size_t n = textfold_readings(cp, ids, TEXTFOLD_READINGS_MAX);

	for (size_t i = 0; i < n && i < TEXTFOLD_READINGS_MAX; i++)
		if (strcmp(textfold_syllable(ids[i]), syl) == 0)
			return true;
	return false;
}

static void test_readings(void **state)
{
	(void)state;
	assert_true(has_reading(0x884C, "hang")); /* 行 */
	assert_true(has_reading(0x884C, "xing"));
	assert_true(has_reading(0x957F, "chang")); /* 长 */
	assert_true(has_reading(0x957F, "zhang"));
	assert_true(has_reading(0x8BDD, "hua")); /* 话 */
	assert_true(has_reading(0x7565, "lve")); /* 略: u-umlaut as v */
	assert_true(has_reading(0x91CD, "chong")); /* 重 */
	assert_true(has_reading(0x91CD, "zhong"));
	assert_false(has_reading(0x8BDD, "xing"));
	assert_int_equal(textfold_readings('a', NULL, 0), 0);
}

static void test_syllables(void **state)
{
	size_t n = textfold_syllables(), i;

	(void)state;
	assert_true(n > 380 && n < 500);
	for (i = 1; i < n; i++)
		assert_true(strcmp(textfold_syllable(i - 1), textfold_syllable(i)) < 0);
	for (i = 0; i < n; i++) {
		const char *s = textfold_syllable(i);

		assert_true(strlen(s) >= 1 && strlen(s) <= 6);
		assert_int_equal(strspn(s, "abcdefghijklmnopqrstuvwxyz"), strlen(s));
	}
	i = textfold_syllable_find("fe", 2);
	assert_string_equal(textfold_syllable(i), "fei");
	i = textfold_syllable_find("zuo", 3);
	assert_string_equal(textfold_syllable(i), "zuo");
	assert_int_equal(textfold_syllable_find("zzz", 3), n);
	assert_string_equal(textfold_syllable(n), "");
}

static void test_utf8(void **state)
{
	size_t n;
	char b[4];

	(void)state;
	assert_int_equal(textfold_utf8_next("\xE4\xB8\xAD", 3, &n), 0x4E2D);
	assert_int_equal(n, 3);
	assert_int_equal(textfold_utf8_next("\xF0\x9F\x98\x80", 4, &n), 0x1F600);
	assert_int_equal(textfold_utf8_next("\xC1\xBF", 2, &n), -1); /* overlong */
	assert_int_equal(n, 0);
	assert_int_equal(textfold_utf8_next("\xF4\x90\x80\x80", 4, &n), -1); /* over U+10FFFF */
	assert_int_equal(textfold_utf8_next("\xE4\xB8", 2, &n), -1);
	assert_int_equal(textfold_utf8_next("", 0, &n), -1);
	assert_int_equal(textfold_utf8_put(0x1F600, b), 4);
	assert_memory_equal(b, "\xF0\x9F\x98\x80", 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_sources),
		cmocka_unit_test(test_readings),
		cmocka_unit_test(test_syllables),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
