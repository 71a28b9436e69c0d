/* Unit tests for storage/boss.c: kinds, data file names, check files. */
#include "storage/boss.h"

#include "lib/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#define SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static int parse_name(const char *s, struct boss_name *n, char *why, size_t whylen)
{
	return boss_parse_name(s, strlen(s), n, why, whylen);
}

/* name_refused - s is refused and the reason contains want. */
static void name_refused(const char *s, const char *want)
{
	struct boss_name n;
	char why[128] = "";

	assert_int_equal(parse_name(s, &n, why, sizeof(why)), KF_EPARSE);
	assert_non_null(strstr(why, want));
}

static int parse_chk(const char *s, struct boss_chk *c, char *why, size_t whylen)
{
	return boss_parse_chk(s, strlen(s), c, why, whylen);
}

static void chk_refused(const char *s, const char *want)
{
	struct boss_chk c;
	char why[160] = "";

	assert_int_equal(parse_chk(s, &c, why, sizeof(why)), KF_EPARSE);
	assert_non_null(strstr(why, want));
}

static void test_kind_names_round_trip(void **state)
{
	(void)state;
	for (unsigned k = 0; k < BOSS_KIND_COUNT; k++) {
		const char *name = boss_kind_name((enum boss_kind)k);
		enum boss_kind back;

		assert_non_null(name);
		assert_int_equal(boss_kind_parse(name, strlen(name), &back), 0);
		assert_int_equal(back, k);
	}
	assert_string_equal(boss_kind_name(BOSS_CDR), "CDR");
	assert_null(boss_kind_name(BOSS_KIND_COUNT));
}

static void test_kind_parse_is_exact(void **state)
{
	enum boss_kind k;

	(void)state;
	assert_int_equal(boss_kind_parse("cust", 4, &k), KF_EPARSE);
	assert_int_equal(boss_kind_parse("CUS", 3, &k), KF_EPARSE);
	assert_int_equal(boss_kind_parse("CUSTX", 5, &k), KF_EPARSE);
	assert_int_equal(boss_kind_parse("", 0, &k), KF_EPARSE);
	assert_int_equal(boss_kind_parse("CDRX", 3, &k), 0);
	assert_int_equal(k, BOSS_CDR);
}

static void test_stamp_forms(void **state)
{
	(void)state;
	assert_true(boss_stamp_is_valid("20240229235959", 14));
	assert_true(boss_stamp_is_valid("20240131", 8));
	assert_true(boss_stamp_is_valid("202412", 6));
	assert_false(boss_stamp_is_valid("202413", 6));
	assert_false(boss_stamp_is_valid("20240100", 8));
	assert_false(boss_stamp_is_valid("2024013", 7));
	assert_false(boss_stamp_is_valid("2024-1", 6));
}

static void test_stamp_leap_years(void **state)
{
	(void)state;
	assert_true(boss_stamp_is_valid("20000229", 8));
	assert_false(boss_stamp_is_valid("19000229", 8));
	assert_false(boss_stamp_is_valid("20230229", 8));
	assert_true(boss_stamp_is_valid("20240229", 8));
}

static void test_stamp_days_per_month(void **state)
{
	(void)state;
	assert_true(boss_stamp_is_valid("20240430", 8));
	assert_false(boss_stamp_is_valid("20240431", 8));
	assert_true(boss_stamp_is_valid("20241231", 8));
	assert_false(boss_stamp_is_valid("20241232", 8));
}

static void test_stamp_clock_limits(void **state)
{
	(void)state;
	assert_false(boss_stamp_is_valid("20240101240000", 14));
	assert_false(boss_stamp_is_valid("20240101006000", 14));
	assert_false(boss_stamp_is_valid("20240101000060", 14));
}

static void test_name_valid(void **state)
{
	struct boss_name n;

	(void)state;
	assert_int_equal(parse_name("SC_CUST_20240131235959_000001.dat", &n, NULL, 0), 0);
	assert_string_equal(n.prov, "SC");
	assert_int_equal(n.kind, BOSS_CUST);
	assert_string_equal(n.stamp, "20240131235959");
	assert_int_equal(n.seq, 1);
}

static void test_name_every_kind_and_long_prov(void **state)
{
	struct boss_name n;

	(void)state;
	assert_int_equal(parse_name("GD2024AB_CDR_20240229000000_999999.dat", &n, NULL, 0), 0);
	assert_string_equal(n.prov, "GD2024AB");
	assert_int_equal(n.kind, BOSS_CDR);
	assert_int_equal(n.seq, 999999);
	assert_int_equal(parse_name("SC_BILL_20240101000000_000002.dat", &n, NULL, 0), 0);
	assert_int_equal(n.kind, BOSS_BILL);
}

static void test_name_uses_len_not_nul(void **state)
{
	static const char s[] = "SC_PAY_20240101000000_000007.datXYZ";
	struct boss_name n;

	(void)state;
	assert_int_equal(boss_parse_name(s, sizeof(s) - 4, &n, NULL, 0), 0);
	assert_int_equal(n.seq, 7);
	assert_int_equal(boss_parse_name(s, sizeof(s) - 1, &n, NULL, 0), KF_EPARSE);
}

static void test_name_prov_too_short(void **state)
{
	(void)state;
	name_refused("S_CUST_20240101000000_000001.dat", "PROV must be 2-8");
}

static void test_name_prov_too_long(void **state)
{
	(void)state;
	name_refused("ABCDEFGHI_CUST_20240101000000_000001.dat", "PROV must be 2-8");
}

static void test_name_prov_lower_case(void **state)
{
	(void)state;
	name_refused("sc_CUST_20240101000000_000001.dat", "PROV must be 2-8");
}

static void test_name_unknown_kind(void **state)
{
	(void)state;
	name_refused("SC_ACCT_20240101000000_000001.dat", "KIND must be one of");
	name_refused("SC_cust_20240101000000_000001.dat", "KIND must be one of");
}

static void test_name_stamp_not_14_digits(void **state)
{
	(void)state;
	name_refused("SC_CUST_2024010100000_000001.dat", "timestamp must be 14 digits");
	name_refused("SC_CUST_2024010100000X_000001.dat", "timestamp must be 14 digits");
}

static void test_name_stamp_not_calendar(void **state)
{
	(void)state;
	name_refused("SC_CUST_20230229000000_000001.dat", "not a valid calendar time");
	name_refused("SC_CUST_20241301000000_000001.dat", "not a valid calendar time");
	name_refused("SC_CUST_20240101240000_000001.dat", "not a valid calendar time");
}

static void test_name_seq_zero(void **state)
{
	(void)state;
	name_refused("SC_CUST_20240101000000_000000.dat", "SEQ must be 6 digits");
}

static void test_name_seq_wrong_width(void **state)
{
	(void)state;
	name_refused("SC_CUST_20240101000000_00001.dat", "SEQ must be 6 digits");
	name_refused("SC_CUST_20240101000000_0000001.dat", "SEQ must be 6 digits");
	name_refused("SC_CUST_20240101000000_00000a.dat", "SEQ must be 6 digits");
	name_refused("SC_CUST_20240101000000_000001_1.dat", "SEQ must be 6 digits");
}

static void test_name_suffix(void **state)
{
	(void)state;
	name_refused("SC_CUST_20240101000000_000001.chk", "must end in .dat");
	name_refused("SC_CUST_20240101000000_000001", "must end in .dat");
	name_refused("SC_CUST_20240101000000_000001.DAT", "must end in .dat");
	name_refused("", "must end in .dat");
}

static void test_name_missing_parts(void **state)
{
	(void)state;
	name_refused("SC_CUST_000001.dat", "<PROV>_<KIND>");
	name_refused("SC-CUST-20240101000000-000001.dat", "<PROV>_<KIND>");
}

static void test_name_embedded_nul(void **state)
{
	char s[] = "SC_CUST_20240101000000_000001.dat";
	struct boss_name n;

	(void)state;
	s[14] = '\0';
	assert_int_equal(boss_parse_name(s, sizeof(s) - 1, &n, NULL, 0), KF_EPARSE);
	s[14] = '0';
	assert_int_equal(boss_parse_name(s, sizeof(s) - 1, &n, NULL, 0), 0);
}

static void test_name_too_long(void **state)
{
	char s[BOSS_NAME_MAX + 2];
	struct boss_name n;
	char why[64];

	(void)state;
	memset(s, 'A', sizeof(s));
	memcpy(s + sizeof(s) - 4, ".dat", 4);
	assert_int_equal(boss_parse_name(s, sizeof(s), &n, why, sizeof(why)), KF_EPARSE);
	assert_non_null(strstr(why, "longer than 255"));
}

static void test_chk_valid_without_newline(void **state)
{
	struct boss_chk c;

	(void)state;
	assert_int_equal(parse_chk("SC_USER_20240101000000_000003.dat|12|3456|" SHA, &c, NULL, 0),
			 0);
	assert_string_equal(c.name, "SC_USER_20240101000000_000003.dat");
	assert_int_equal(c.records, 12);
	assert_int_equal(c.bytes, 3456);
	assert_string_equal(c.sha256, SHA);
}

static void test_chk_valid_with_lf_and_crlf(void **state)
{
	struct boss_chk c;

	(void)state;
	assert_int_equal(parse_chk("SC_USER_20240101000000_000003.dat|0|0|" SHA "\n", &c, NULL, 0),
			 0);
	assert_int_equal(c.records, 0);
	assert_int_equal(parse_chk("SC_USER_20240101000000_000003.dat|1|2|" SHA "\r\n", &c, NULL, 0),
			 0);
	assert_int_equal(c.bytes, 2);
	assert_string_equal(c.sha256, SHA);
}

static void test_chk_count_max_and_overflow(void **state)
{
	struct boss_chk c;

	(void)state;
	assert_int_equal(parse_chk("SC_CDR_20240101000000_000001.dat|18446744073709551615|1|" SHA,
				   &c, NULL, 0),
			 0);
	assert_true(c.records == UINT64_MAX);
	chk_refused("SC_CDR_20240101000000_000001.dat|18446744073709551616|1|" SHA,
		    "record count");
	chk_refused("SC_CDR_20240101000000_000001.dat|1|99999999999999999999|" SHA, "byte count");
}

static void test_chk_count_sign_and_empty(void **state)
{
	(void)state;
	chk_refused("SC_CDR_20240101000000_000001.dat|+1|1|" SHA, "record count");
	chk_refused("SC_CDR_20240101000000_000001.dat|-1|1|" SHA, "record count");
	chk_refused("SC_CDR_20240101000000_000001.dat||1|" SHA, "record count");
	chk_refused("SC_CDR_20240101000000_000001.dat|1| 1|" SHA, "byte count");
}

static void test_chk_trailing_space(void **state)
{
	(void)state;
	chk_refused("SC_CDR_20240101000000_000001.dat|1|1|" SHA " ", "trailing spaces");
	chk_refused("SC_CDR_20240101000000_000001.dat|1|1|" SHA " \n", "trailing spaces");
	chk_refused("SC_CDR_20240101000000_000001.dat|1|1|" SHA "\t", "trailing spaces");
}

static void test_chk_one_line_only(void **state)
{
	(void)state;
	chk_refused("SC_CDR_20240101000000_000001.dat|1|1|" SHA "\n\n", "one line");
	chk_refused("SC_CDR_20240101000000_000001.dat|1|1|" SHA "\r", "one line");
	chk_refused("SC_CDR_20240101000000_000001.dat|1|1|" SHA "\nx", "one line");
	chk_refused("", "empty");
	chk_refused("\n", "empty");
}

static void test_chk_field_count(void **state)
{
	(void)state;
	chk_refused("SC_CDR_20240101000000_000001.dat|1|" SHA, "check line must be");
	chk_refused("SC_CDR_20240101000000_000001.dat|1|1|" SHA "|x", "check line must be");
}

static void test_chk_name_must_be_data_file(void **state)
{
	(void)state;
	chk_refused("SC_CDR_20240101000000_000001.chk|1|1|" SHA, "data file name: name must end");
	chk_refused("SC_CDR_20240230000000_000001.dat|1|1|" SHA, "data file name: timestamp");
}

static void test_chk_sha_form(void **state)
{
	(void)state;
	chk_refused("SC_CDR_20240101000000_000001.dat|1|1|"
		    "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
		    "sha256 must be 64 lower-case hex");
	chk_refused("SC_CDR_20240101000000_000001.dat|1|1|" SHA "0", "sha256");
	chk_refused("SC_CDR_20240101000000_000001.dat|1|1|"
		    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
		    "sha256");
	chk_refused("SC_CDR_20240101000000_000001.dat|1|1|"
		    "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		    "sha256");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_names_round_trip),
		cmocka_unit_test(test_kind_parse_is_exact),
		cmocka_unit_test(test_stamp_forms),
		cmocka_unit_test(test_stamp_leap_years),
		cmocka_unit_test(test_stamp_days_per_month),
		cmocka_unit_test(test_stamp_clock_limits),
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_name_every_kind_and_long_prov),
		cmocka_unit_test(test_name_uses_len_not_nul),
		cmocka_unit_test(test_name_prov_too_short),
		cmocka_unit_test(test_name_prov_too_long),
		cmocka_unit_test(test_name_prov_lower_case),
		cmocka_unit_test(test_name_unknown_kind),
		cmocka_unit_test(test_name_stamp_not_14_digits),
		cmocka_unit_test(test_name_stamp_not_calendar),
		cmocka_unit_test(test_name_seq_zero),
		cmocka_unit_test(test_name_seq_wrong_width),
		cmocka_unit_test(test_name_suffix),
		cmocka_unit_test(test_name_missing_parts),
		cmocka_unit_test(test_name_embedded_nul),
		cmocka_unit_test(test_name_too_long),
		cmocka_unit_test(test_chk_valid_without_newline),
		cmocka_unit_test(test_chk_valid_with_lf_and_crlf),
		cmocka_unit_test(test_chk_count_max_and_overflow),
		cmocka_unit_test(test_chk_count_sign_and_empty),
		cmocka_unit_test(test_chk_trailing_space),
		cmocka_unit_test(test_chk_one_line_only),
		cmocka_unit_test(test_chk_field_count),
		cmocka_unit_test(test_chk_name_must_be_data_file),
		cmocka_unit_test(test_chk_sha_form),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
