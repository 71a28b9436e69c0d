/* Unit tests for storage/bossrec.c: splitting, unescaping, UTF-8 and schemas. */
#include "storage/bossrec.h"

#include "lib/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define CUST_OK "A|C001|张三|P|01|110105194912310026|四川省成都市|13800138000|3|M01|20240101120000"
#define CUST_TAIL "|P|01|X1|addr|13800138000|3|M01|20240101120000"
#define USER_OK "A|U001|13800138000|C001|GOTONE|PLAN88|1|20240101120000|3|-1500|0"
#define PAY_OK "A|P001|U001|5000|20240115093000|APP"
#define CHG_OK "A|G001|U001|PLAN|20240201000000|from PLAN58 to PLAN88"
#define BILL_OK "A|U001|202401|BASE|月租|5800"
#define CDR_OK "A|U001|20240115093000|125|10086|MO|成都|30"

static struct bossrec rec;

static int parse(enum boss_kind kind, const char *line, struct bossrec_error *err)
{
	return bossrec_parse(kind, line, strlen(line), &rec, err);
}

static void accepted(enum boss_kind kind, const char *line)
{
	struct bossrec_error err = {0, ""};

	if (parse(kind, line, &err) != 0)
		fail_msg("refused: %s", err.reason);
}

/* refused - the line is refused, blaming field (-1: the line) with exactly reason. */
static void refused(enum boss_kind kind, const char *line, int field, const char *reason)
{
	struct bossrec_error err = {-2, ""};

	assert_int_equal(parse(kind, line, &err), KF_EPARSE);
	assert_int_equal(err.field, field);
	assert_string_equal(err.reason, reason);
}

static int idx(enum boss_kind kind, const char *name)
{
	int i = bossrec_field_index(kind, name);

	assert_true(i >= 0);
	return i;
}

static void test_schema_lengths_and_keys(void **state)
{
	static const unsigned want_n[BOSS_KIND_COUNT] = {10, 10, 5, 5, 5, 7};
	static const unsigned want_keys[BOSS_KIND_COUNT] = {1, 1, 1, 1, 3, 3};

	(void)state;
	for (unsigned k = 0; k < BOSS_KIND_COUNT; k++) {
		unsigned n, keys = 0;
		const struct bossrec_field *f = bossrec_schema((enum boss_kind)k, &n);

		assert_non_null(f);
		assert_int_equal(n, want_n[k]);
		assert_true(n <= BOSSREC_MAX_FIELDS);
		for (unsigned i = 0; i < n; i++)
			keys += f[i].key;
		assert_int_equal(keys, want_keys[k]);
	}
	assert_null(bossrec_schema(BOSS_KIND_COUNT, &(unsigned){0}));
}

static void test_schema_composite_keys(void **state)
{
	unsigned n;
	const struct bossrec_field *bill = bossrec_schema(BOSS_BILL, &n);
	const struct bossrec_field *cdr = bossrec_schema(BOSS_CDR, &n);

	(void)state;
	assert_true(bill[idx(BOSS_BILL, "user_id")].key);
	assert_true(bill[idx(BOSS_BILL, "bill_month")].key);
	assert_true(bill[idx(BOSS_BILL, "item_code")].key);
	assert_true(cdr[idx(BOSS_CDR, "user_id")].key);
	assert_true(cdr[idx(BOSS_CDR, "start_time")].key);
	assert_true(cdr[idx(BOSS_CDR, "other_party")].key);
	assert_false(cdr[idx(BOSS_CDR, "duration_s")].key);
}

static void test_field_index(void **state)
{
	(void)state;
	assert_int_equal(bossrec_field_index(BOSS_CUST, "cust_id"), 0);
	assert_int_equal(bossrec_field_index(BOSS_CUST, "create_time"), 9);
	assert_int_equal(bossrec_field_index(BOSS_CDR, "fee"), 6);
	assert_int_equal(bossrec_field_index(BOSS_CDR, "nope"), -1);
	assert_int_equal(bossrec_field_index(BOSS_KIND_COUNT, "fee"), -1);
}

static void test_cust_valid(void **state)
{
	(void)state;
	accepted(BOSS_CUST, CUST_OK);
	assert_int_equal(rec.kind, BOSS_CUST);
	assert_int_equal(rec.op, 'A');
	assert_int_equal(rec.nfields, 10);
	assert_string_equal(rec.val[0], "C001");
	assert_string_equal(rec.val[1], "张三");
	assert_int_equal(rec.len[1], strlen("张三"));
	assert_int_equal(rec.num[idx(BOSS_CUST, "vip_level")], 3);
	assert_string_equal(rec.val[9], "20240101120000");
}

static void test_user_valid(void **state)
{
	(void)state;
	accepted(BOSS_USER, USER_OK);
	assert_string_equal(rec.val[idx(BOSS_USER, "msisdn")], "13800138000");
	assert_int_equal(rec.num[idx(BOSS_USER, "status")], 1);
	assert_int_equal(rec.num[idx(BOSS_USER, "balance")], -1500);
	assert_int_equal(rec.num[idx(BOSS_USER, "arrears")], 0);
	assert_int_equal(rec.len[idx(BOSS_USER, "arrears")], 1);
}

static void test_pay_valid(void **state)
{
	(void)state;
	accepted(BOSS_PAY, PAY_OK);
	assert_int_equal(rec.num[idx(BOSS_PAY, "amount")], 5000);
	assert_string_equal(rec.val[idx(BOSS_PAY, "channel")], "APP");
	accepted(BOSS_PAY, "M|P002|U001|-300|20240115093000|HALL");
	assert_int_equal(rec.op, 'M');
	assert_int_equal(rec.num[idx(BOSS_PAY, "amount")], -300);
}

static void test_chg_valid(void **state)
{
	(void)state;
	accepted(BOSS_CHG, CHG_OK);
	assert_string_equal(rec.val[idx(BOSS_CHG, "detail")], "from PLAN58 to PLAN88");
	accepted(BOSS_CHG, "A|G002|U001|STATUS|20240201000000|");
	assert_int_equal(rec.len[idx(BOSS_CHG, "detail")], 0);
	assert_string_equal(rec.val[idx(BOSS_CHG, "detail")], "");
}

static void test_bill_valid(void **state)
{
	(void)state;
	accepted(BOSS_BILL, BILL_OK);
	assert_string_equal(rec.val[idx(BOSS_BILL, "bill_month")], "202401");
	assert_string_equal(rec.val[idx(BOSS_BILL, "item_name")], "月租");
	assert_int_equal(rec.num[idx(BOSS_BILL, "amount")], 5800);
}

static void test_cdr_valid(void **state)
{
	(void)state;
	accepted(BOSS_CDR, CDR_OK);
	assert_int_equal(rec.num[idx(BOSS_CDR, "duration_s")], 125);
	assert_string_equal(rec.val[idx(BOSS_CDR, "other_party")], "10086");
	accepted(BOSS_CDR, "A|U001|20240115093000|0|CMNET|DATA||0");
	assert_string_equal(rec.val[idx(BOSS_CDR, "other_party")], "CMNET");
}

static void test_chinese_and_four_byte_utf8_accepted(void **state)
{
	(void)state;
	accepted(BOSS_CUST, "A|C1|欧阳娜娜𠀀" CUST_TAIL);
	assert_string_equal(rec.val[1], "欧阳娜娜𠀀");
}

static void test_utf8_overlong_refused(void **state)
{
	(void)state;
	refused(BOSS_CUST, "A|C1|\xC0\xAF" CUST_TAIL, 1, "name: invalid UTF-8 (overlong encoding)");
	refused(BOSS_CUST, "A|C1|\xE0\x80\xAF" CUST_TAIL, 1,
		"name: invalid UTF-8 (overlong encoding)");
	refused(BOSS_CUST, "A|C1|\xF0\x80\x80\xAF" CUST_TAIL, 1,
		"name: invalid UTF-8 (overlong encoding)");
}

static void test_utf8_surrogate_refused(void **state)
{
	(void)state;
	refused(BOSS_CUST, "A|C1|\xED\xA0\x80" CUST_TAIL, 1, "name: invalid UTF-8 (UTF-16 surrogate)");
}

static void test_utf8_above_max_refused(void **state)
{
	(void)state;
	refused(BOSS_CUST, "A|C1|\xF4\x90\x80\x80" CUST_TAIL, 1,
		"name: invalid UTF-8 (code point above U+10FFFF)");
	refused(BOSS_CUST, "A|C1|\xF5\x80\x80\x80" CUST_TAIL, 1,
		"name: invalid UTF-8 (code point above U+10FFFF)");
}

static void test_utf8_stray_continuation_refused(void **state)
{
	(void)state;
	refused(BOSS_CUST, "A|C1|a\x80" CUST_TAIL, 1, "name: invalid UTF-8 (stray continuation byte)");
}

static void test_utf8_truncated_refused(void **state)
{
	(void)state;
	refused(BOSS_CUST, "A|C1|\xE5\xBC" CUST_TAIL, 1, "name: invalid UTF-8 (truncated sequence)");
	refused(BOSS_CHG, "A|G1|U1|PLAN|20240201000000|\xE5\xBC", 4,
		"detail: invalid UTF-8 (truncated sequence)");
}

static void test_utf8_never_valid_byte_refused(void **state)
{
	(void)state;
	refused(BOSS_CUST, "A|C1|\xFF" CUST_TAIL, 1, "name: invalid UTF-8 (byte never valid in UTF-8)");
}

static void test_control_bytes_refused(void **state)
{
	static const char nul_line[] = "A|G1|U1|PLAN|20240201000000|a\0b";
	struct bossrec_error err;

	(void)state;
	refused(BOSS_CUST, "A|C1|a\tb" CUST_TAIL, 1, "name: control byte 0x09");
	refused(BOSS_CUST, "A|C1|a\x1f" CUST_TAIL, 1, "name: control byte 0x1f");
	refused(BOSS_CUST, "A|C1|a\x7f" CUST_TAIL, 1, "name: control byte 0x7f");
	refused(BOSS_CUST, "A|C1|a\rb" CUST_TAIL, 1, "name: control byte 0x0d");
	assert_int_equal(bossrec_parse(BOSS_CHG, nul_line, sizeof(nul_line) - 1, &rec, &err),
			 KF_EPARSE);
	assert_string_equal(err.reason, "detail: control byte 0x00");
}

static void test_escapes_unescaped(void **state)
{
	(void)state;
	accepted(BOSS_CHG, "A|G1|U1|PLAN|20240201000000|a\\|b\\\\c\\nd");
	assert_string_equal(rec.val[4], "a|b\\c\nd");
	assert_int_equal(rec.len[4], 7);
}

static void test_unknown_escape_refused(void **state)
{
	(void)state;
	refused(BOSS_CHG, "A|G1|U1|PLAN|20240201000000|a\\tb", 4, "detail: unknown escape \\t");
	refused(BOSS_CHG, "A|G1|U1|PLAN|20240201000000|a\\\x01", 4,
		"detail: unknown escape, backslash + byte 0x01");
}

static void test_lone_trailing_backslash_refused(void **state)
{
	(void)state;
	refused(BOSS_CHG, "A|G1|U1|PLAN|20240201000000|abc\\", 4,
		"detail: lone backslash at end of line");
}

static void test_newline_only_in_text(void **state)
{
	(void)state;
	refused(BOSS_CHG, "A|G\\n1|U1|PLAN|20240201000000|", 0,
		"chg_id: must be letters, digits, '_', '.' or '-'");
}

static void test_escape_round_trip(void **state)
{
	static const char *const vals[] = {"G|1", "a\\b", "x\ny|z\\", "\\|\n", "普通|文本"};
	char line[512], esc[64];

	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		size_t n = bossrec_escape(vals[i], strlen(vals[i]), esc, sizeof(esc));

		assert_true(n < sizeof(esc));
		esc[n] = '\0';
		snprintf(line, sizeof(line), "A|G1|U1|PLAN|20240201000000|%s", esc);
		accepted(BOSS_CHG, line);
		assert_int_equal(rec.len[4], strlen(vals[i]));
		assert_string_equal(rec.val[4], vals[i]);
	}
}

static void test_escape_length_and_cap(void **state)
{
	char out[8];

	(void)state;
	memset(out, '#', sizeof(out));
	assert_int_equal(bossrec_escape("a|b\\c\nd", 7, out, 4), 10);
	assert_memory_equal(out, "a\\|b####", 8);
	assert_int_equal(bossrec_escape("abc", 3, NULL, 0), 3);
	assert_int_equal(bossrec_escape("", 0, out, sizeof(out)), 0);
}

static void test_final_cr_dropped(void **state)
{
	(void)state;
	accepted(BOSS_PAY, PAY_OK "\r");
	assert_string_equal(rec.val[4], "APP");
	assert_int_equal(rec.len[4], 3);
}

static void test_too_few_fields(void **state)
{
	(void)state;
	refused(BOSS_PAY, "A|P001|U001|5000|20240115093000", -1, "too few fields: 4, PAY A needs 5");
	refused(BOSS_PAY, "A", -1, "too few fields: 0, PAY A needs 5");
}

static void test_too_many_fields(void **state)
{
	(void)state;
	refused(BOSS_PAY, PAY_OK "|x", -1, "too many fields: PAY A has 5");
	refused(BOSS_PAY, PAY_OK "|", -1, "too many fields: PAY A has 5");
}

static void test_delete_with_key_only(void **state)
{
	(void)state;
	accepted(BOSS_CDR, "D|U001|20240115093000||10086");
	assert_int_equal(rec.op, 'D');
	assert_int_equal(rec.nfields, 7);
	assert_string_equal(rec.val[3], "10086");
	assert_non_null(rec.val[6]);
	assert_string_equal(rec.val[6], "");
	assert_int_equal(rec.len[6], 0);
}

static void test_delete_with_all_fields(void **state)
{
	(void)state;
	accepted(BOSS_USER, "D|U001|||||||||");
	assert_string_equal(rec.val[0], "U001");
	accepted(BOSS_CDR, "D|U001|20240115093000|125|10086|MO|成都|30");
	assert_int_equal(rec.num[6], 30);
}

static void test_delete_with_other_count_refused(void **state)
{
	(void)state;
	refused(BOSS_USER, "D|U001|13800138000", -1, "wrong field count 2: USER D needs 1 (key) or 10");
	refused(BOSS_CDR, "D|U001|20240115093000", -1, "wrong field count 2: CDR D needs 4 (key) or 7");
}

static void test_delete_with_empty_key_refused(void **state)
{
	(void)state;
	refused(BOSS_CUST, "D|", 0, "cust_id: must not be empty (key)");
	refused(BOSS_CDR, "D|U001|20240115093000||", 3, "other_party: must not be empty (key)");
}

static void test_delete_still_checks_given_values(void **state)
{
	(void)state;
	refused(BOSS_BILL, "D|U001|202413|BASE", 1, "bill_month: '202413' is not a valid YYYYMM month");
}

static void test_unknown_op_refused(void **state)
{
	(void)state;
	refused(BOSS_PAY, "X|P001|U001|5000|20240115093000|APP", -1, "operation must be A, M or D");
	refused(BOSS_PAY, "a|P001|U001|5000|20240115093000|APP", -1, "operation must be A, M or D");
	refused(BOSS_PAY, "AM|P001|U001|5000|20240115093000|APP", -1, "operation must be A, M or D");
	refused(BOSS_PAY, "", -1, "empty line");
	refused(BOSS_PAY, "\r", -1, "empty line");
}

static void test_empty_key_refused(void **state)
{
	(void)state;
	refused(BOSS_PAY, "A||U001|5000|20240115093000|APP", 0, "pay_id: must not be empty (key)");
	refused(BOSS_BILL, "M|U001|202401||x|1", 2, "item_code: must not be empty (key)");
}

static void test_required_empty_refused(void **state)
{
	(void)state;
	refused(BOSS_CUST, "A|C1|" CUST_TAIL, 1, "name: must not be empty");
	refused(BOSS_PAY, "M|P001|U001||20240115093000|APP", 2, "amount: must not be empty");
}

static void test_optional_empty_accepted(void **state)
{
	(void)state;
	accepted(BOSS_CUST, "A|C1|张三|E|||||3||20240101120000");
	assert_int_equal(rec.len[idx(BOSS_CUST, "address")], 0);
	accepted(BOSS_CDR, "A|U001|20240115093000|125|10086|MO||30");
}

static void test_int_out_of_bounds(void **state)
{
	(void)state;
	refused(BOSS_CUST, "A|C1|n|P|||||9||20240101120000", 7, "vip_level: '9' is not in 0..4");
	refused(BOSS_USER, "A|U1|138|C1||PL|0|20240101120000|0|0|0", 5, "status: '0' is not in 1..4");
	refused(BOSS_CDR, "A|U001|20240115093000|2147483648|10086|MO||30", 2,
		"duration_s: '2147483648' is not in 0..2147483647");
}

static void test_int_lower_bound_only(void **state)
{
	(void)state;
	refused(BOSS_USER, "A|U1|138|C1||PL|1|20240101120000|0|0|-1", 9,
		"arrears: '-1' must be at least 0");
	refused(BOSS_CDR, "A|U001|20240115093000|1|10086|MO||-5", 6, "fee: '-5' must be at least 0");
}

static void test_int_not_an_integer(void **state)
{
	(void)state;
	refused(BOSS_PAY, "A|P1|U1|+5|20240115093000|APP", 2, "amount: '+5' is not an integer");
	refused(BOSS_PAY, "A|P1|U1|5a|20240115093000|APP", 2, "amount: '5a' is not an integer");
	refused(BOSS_PAY, "A|P1|U1|-|20240115093000|APP", 2, "amount: '-' is not an integer");
	refused(BOSS_PAY, "A|P1|U1| 5|20240115093000|APP", 2, "amount: ' 5' is not an integer");
}

static void test_int64_limits(void **state)
{
	(void)state;
	accepted(BOSS_PAY, "A|P1|U1|-9223372036854775808|20240115093000|APP");
	assert_true(rec.num[2] == INT64_MIN);
	accepted(BOSS_PAY, "A|P1|U1|9223372036854775807|20240115093000|APP");
	assert_true(rec.num[2] == INT64_MAX);
	refused(BOSS_PAY, "A|P1|U1|9223372036854775808|20240115093000|APP", 2,
		"amount: '9223372036854775808' is out of range");
	refused(BOSS_PAY, "A|P1|U1|-9223372036854775809|20240115093000|APP", 2,
		"amount: '-9223372036854775809' is out of range");
}

static void test_long_value_quoted_short(void **state)
{
	char line[256], want[128], nines[101];

	(void)state;
	memset(nines, '9', 100);
	nines[100] = '\0';
	snprintf(line, sizeof(line), "A|P1|U1|%s|20240115093000|APP", nines);
	snprintf(want, sizeof(want), "amount: '%.40s...' is out of range", nines);
	refused(BOSS_PAY, line, 2, want);
}

static void test_enum_refused(void **state)
{
	(void)state;
	refused(BOSS_PAY, "A|P1|U1|1|20240115093000|ATM", 4,
		"channel: 'ATM' is not one of HALL, WEB, APP, BANK, CARD");
	refused(BOSS_CUST, "A|C1|n|p|||||0||20240101120000", 2, "cust_type: 'p' is not one of P, E");
	refused(BOSS_CDR, "A|U001|20240115093000|1|10086|MOO||0", 4,
		"call_type: 'MOO' is not one of MO, MT, SMS, DATA");
}

static void test_phone(void **state)
{
	(void)state;
	accepted(BOSS_USER, "A|U1|+8613800138000|C1||PL|1|20240101120000|0|0|0");
	refused(BOSS_USER, "A|U1|138-0013|C1||PL|1|20240101120000|0|0|0", 1,
		"msisdn: must be digits, optionally after '+'");
	refused(BOSS_USER, "A|U1|+|C1||PL|1|20240101120000|0|0|0", 1,
		"msisdn: must be digits, optionally after '+'");
	refused(BOSS_USER, "A|U1|123456789012345678901|C1||PL|1|20240101120000|0|0|0", 1,
		"msisdn: longer than 20 bytes");
}

static void test_id(void **state)
{
	(void)state;
	accepted(BOSS_PAY, "A|P-1_a.Z|U1|1|20240115093000|APP");
	refused(BOSS_PAY, "A|P 1|U1|1|20240115093000|APP", 0,
		"pay_id: must be letters, digits, '_', '.' or '-'");
	refused(BOSS_PAY, "A|P1|用户|1|20240115093000|APP", 1,
		"user_id: must be letters, digits, '_', '.' or '-'");
	refused(BOSS_PAY, "A|123456789012345678901234567890123|U1|1|20240115093000|APP", 0,
		"pay_id: longer than 32 bytes");
}

static void test_text_too_long(void **state)
{
	char line[1024];
	size_t w;

	(void)state;
	/* 43 three-byte characters: 129 bytes, one over the name limit. */
	w = (size_t)snprintf(line, sizeof(line), "A|C1|");
	for (int i = 0; i < 43; i++)
		w += (size_t)snprintf(line + w, sizeof(line) - w, "张");
	snprintf(line + w, sizeof(line) - w, "%s", CUST_TAIL);
	refused(BOSS_CUST, line, 1, "name: longer than 128 bytes");
}

static void test_time_and_month(void **state)
{
	(void)state;
	refused(BOSS_PAY, "A|P1|U1|1|20240230093000|APP", 3,
		"pay_time: '20240230093000' is not a valid YYYYMMDDHHMMSS time");
	refused(BOSS_PAY, "A|P1|U1|1|2024011509300|APP", 3,
		"pay_time: '2024011509300' is not a valid YYYYMMDDHHMMSS time");
	refused(BOSS_BILL, "A|U001|202400|BASE||1", 1, "bill_month: '202400' is not a valid YYYYMM month");
	accepted(BOSS_PAY, "A|P1|U1|1|20240229235959|APP");
}

static void test_line_too_long(void **state)
{
	char *line = malloc(BOSSREC_LINE_MAX + 2);
	struct bossrec_error err;

	(void)state;
	assert_non_null(line);
	memset(line, 'a', BOSSREC_LINE_MAX + 2);
	memcpy(line, "A|", 2);
	assert_int_equal(bossrec_parse(BOSS_CHG, line, BOSSREC_LINE_MAX + 1, &rec, &err), KF_ETOOBIG);
	assert_int_equal(err.field, -1);
	assert_string_equal(err.reason, "line longer than 16384 bytes");
	/* At the limit the line is parsed (and refused for what it holds). */
	assert_int_equal(bossrec_parse(BOSS_CHG, line, BOSSREC_LINE_MAX, &rec, &err), KF_EPARSE);
	line[BOSSREC_LINE_MAX] = '\r';
	assert_int_equal(bossrec_parse(BOSS_CHG, line, BOSSREC_LINE_MAX + 1, &rec, &err), KF_EPARSE);
	free(line);
}

static void test_longest_line_fills_buffer(void **state)
{
	/* Ten fields of plain bytes filling the longest line: the most buf holds. */
	char *line = malloc(BOSSREC_LINE_MAX);
	struct bossrec_error err;
	size_t w = 0;

	(void)state;
	assert_non_null(line);
	line[w++] = 'D';
	for (size_t f = 1; f <= 10; f++) {
		line[w++] = '|';
		while (w < f * (BOSSREC_LINE_MAX / 10))
			line[w++] = 'x';
	}
	while (w < BOSSREC_LINE_MAX)
		line[w++] = 'x';
	assert_int_equal(bossrec_parse(BOSS_CUST, line, w, &rec, &err), KF_EPARSE);
	assert_int_equal(err.field, 0);
	assert_string_equal(err.reason, "cust_id: longer than 32 bytes");
	assert_int_equal(rec.len[9], BOSSREC_LINE_MAX - 9 * (BOSSREC_LINE_MAX / 10) - 1);
	free(line);
}

static void test_err_may_be_null(void **state)
{
	(void)state;
	assert_int_equal(bossrec_parse(BOSS_PAY, "X", 1, &rec, NULL), KF_EPARSE);
	assert_int_equal(bossrec_parse(BOSS_PAY, "A|\xff", 3, &rec, NULL), KF_EPARSE);
	assert_int_equal(bossrec_parse(BOSS_PAY, PAY_OK, strlen(PAY_OK), &rec, NULL), 0);
}

static void test_values_do_not_point_into_line(void **state)
{
	char *line = strdup(BILL_OK);

	(void)state;
	assert_non_null(line);
	assert_int_equal(bossrec_parse(BOSS_BILL, line, strlen(line), &rec, NULL), 0);
	memset(line, 'z', strlen(line));
	free(line);
	for (unsigned i = 0; i < rec.nfields; i++)
		assert_true(rec.val[i] >= rec.buf && rec.val[i] < rec.buf + sizeof(rec.buf));
	assert_string_equal(rec.val[3], "月租");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_lengths_and_keys),
		cmocka_unit_test(test_schema_composite_keys),
		cmocka_unit_test(test_field_index),
		cmocka_unit_test(test_cust_valid),
		cmocka_unit_test(test_user_valid),
		cmocka_unit_test(test_pay_valid),
		cmocka_unit_test(test_chg_valid),
		cmocka_unit_test(test_bill_valid),
		cmocka_unit_test(test_cdr_valid),
		cmocka_unit_test(test_chinese_and_four_byte_utf8_accepted),
		cmocka_unit_test(test_utf8_overlong_refused),
		cmocka_unit_test(test_utf8_surrogate_refused),
		cmocka_unit_test(test_utf8_above_max_refused),
		cmocka_unit_test(test_utf8_stray_continuation_refused),
		cmocka_unit_test(test_utf8_truncated_refused),
		cmocka_unit_test(test_utf8_never_valid_byte_refused),
		cmocka_unit_test(test_control_bytes_refused),
		cmocka_unit_test(test_escapes_unescaped),
		cmocka_unit_test(test_unknown_escape_refused),
		cmocka_unit_test(test_lone_trailing_backslash_refused),
		cmocka_unit_test(test_newline_only_in_text),
		cmocka_unit_test(test_escape_round_trip),
		cmocka_unit_test(test_escape_length_and_cap),
		cmocka_unit_test(test_final_cr_dropped),
		cmocka_unit_test(test_too_few_fields),
		cmocka_unit_test(test_too_many_fields),
		cmocka_unit_test(test_delete_with_key_only),
		cmocka_unit_test(test_delete_with_all_fields),
		cmocka_unit_test(test_delete_with_other_count_refused),
		cmocka_unit_test(test_delete_with_empty_key_refused),
		cmocka_unit_test(test_delete_still_checks_given_values),
		cmocka_unit_test(test_unknown_op_refused),
		cmocka_unit_test(test_empty_key_refused),
		cmocka_unit_test(test_required_empty_refused),
		cmocka_unit_test(test_optional_empty_accepted),
		cmocka_unit_test(test_int_out_of_bounds),
		cmocka_unit_test(test_int_lower_bound_only),
		cmocka_unit_test(test_int_not_an_integer),
		cmocka_unit_test(test_int64_limits),
		cmocka_unit_test(test_long_value_quoted_short),
		cmocka_unit_test(test_enum_refused),
		cmocka_unit_test(test_phone),
		cmocka_unit_test(test_id),
		cmocka_unit_test(test_text_too_long),
		cmocka_unit_test(test_time_and_month),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_longest_line_fills_buffer),
		cmocka_unit_test(test_err_may_be_null),
		cmocka_unit_test(test_values_do_not_point_into_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
