/*
 * Unit tests of node/dialing/query.c: every operator over numbers, money,
 * text and the status names; `in`; missing fields and a missing customer;
 * errors with their byte positions; the limits.
 */
#include "lib/err.h"
#include "node/dialing/query.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static struct dial_query q;

static Kefu__Subscriber sub(uint32_t status, int64_t arrears_fen, const char *brand)
{
	Kefu__Subscriber u = KEFU__SUBSCRIBER__INIT;

	u.has_status = 1;
	u.status = status;
	u.has_arrears = 1;
	u.arrears = arrears_fen;
	u.brand = (char *)brand;
	return u;
}

static bool matches(const char *text, const Kefu__Subscriber *u, const Kefu__Customer *cu)
{
	char why[DIAL_QUERY_WHY_MAX] = "";

	assert_int_equal(dial_query_parse(text, strlen(text), &q, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	return dial_query_match(&q, u, cu);
}

static void refused(const char *text, int rc, const char *want)
{
	char why[DIAL_QUERY_WHY_MAX] = "";

	assert_int_equal(dial_query_parse(text, strlen(text), &q, why, sizeof(why)), rc);
	assert_string_equal(why, want);
}

static void test_status_and_arrears(void **state)
{
	Kefu__Subscriber u = sub(3, 5001, "gotone");

	(void)state;
	assert_true(matches("status = stopped and arrears > 50", &u, NULL));
	u.arrears = 5000;
	assert_false(matches("status = stopped and arrears > 50", &u, NULL));
	assert_true(matches("arrears >= 50", &u, NULL));
	assert_true(matches("arrears <= 50.00", &u, NULL));
	assert_false(matches("arrears < 50", &u, NULL));
	assert_true(matches("arrears < 50.01", &u, NULL));
	assert_true(matches("arrears = 50.0", &u, NULL));
	assert_true(matches("arrears != 49.99", &u, NULL));
	assert_false(matches("status != stopped", &u, NULL));
	assert_true(matches("status in normal,stopped", &u, NULL));
	assert_false(matches("status in normal, suspended , cancelled", &u, NULL));
}

static void test_customer_fields(void **state)
{
	Kefu__Subscriber u = sub(1, 0, "mzone");
	Kefu__Customer cu = KEFU__CUSTOMER__INIT;

	(void)state;
	cu.has_vip_level = 1;
	cu.vip_level = 3;
	cu.cust_type = "P";
	assert_true(matches("vip_level >= 3 and brand = mzone", &u, &cu));
	assert_false(matches("vip_level > 3", &u, &cu));
	assert_true(matches("cust_type = \"P\" and brand in gotone,mzone", &u, &cu));
	assert_false(matches("brand < mzone", &u, &cu));
	assert_true(matches("brand <= mzone and brand > gotone", &u, &cu));
	/* no customer: its fields read as 0 and "" */
	assert_true(matches("vip_level = 0 and cust_type = \"\"", &u, NULL));
	/* a missing balance reads as 0; negative yuan */
	assert_true(matches("balance > -0.5 and balance < 0.01", &u, &cu));
	u.has_balance = 1;
	u.balance = -1250;
	assert_true(matches("balance = -12.5", &u, &cu));
	/* the city of the address, as kefuctl lookup --json shows it */
	cu.address = "四川省成都市锦江区春熙路1号";
	assert_true(matches("city = \"成都市\" and vip_level >= 3", &u, &cu));
	assert_false(matches("city = \"绵阳市\"", &u, &cu));
	assert_true(matches("city in \"绵阳市\",\"成都市\"", &u, &cu));
	cu.address = "无地址";
	assert_true(matches("city = \"\"", &u, &cu));
	assert_true(matches("city = \"\"", &u, NULL));
}

static void test_errors_with_positions(void **state)
{
	(void)state;
	refused("vip >= 3", KF_EPARSE, "unknown field \"vip\" at 1");
	refused("status = stopped and arrears > abc", KF_EPARSE,
		"bad value \"abc\" for arrears at 32");
	refused("arrears > 1.234", KF_EPARSE, "bad value \"1.234\" for arrears at 11");
	refused("status = closed", KF_EPARSE, "bad value \"closed\" for status at 10");
	refused("vip_level ~ 3", KF_EPARSE, "expected an operator after vip_level at 11");
	refused("vip_level = 3 or brand = x", KF_EPARSE, "expected \"and\" at 15");
	refused("vip_level =", KF_EPARSE, "missing value at 12");
	refused("", KF_EPARSE, "expected a field at 1");
	refused("brand = \"open", KF_EPARSE, "unterminated text at 9");
	refused("vip_level = 99999999999999999999", KF_EPARSE,
		"bad value \"99999999999999999999\" for vip_level at 13");
	refused("vip_level in 1,2,3,4,5,6,7,8,9", KF_ETOOBIG, "too many values at 29");
}

static void test_limits(void **state)
{
	char text[DIAL_QUERY_MAX_LEN + 64];
	size_t n = 0;

	(void)state;
	for (int i = 0; i <= DIAL_QUERY_MAX_TERMS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%svip_level = 1",
				      i ? " and " : "");
	refused(text, KF_ETOOBIG, "too many terms at 289");
	memset(text, ' ', sizeof(text));
	text[sizeof(text) - 1] = '\0';
	refused(text, KF_ETOOBIG, "query too long at 1025");
	refused("brand = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", KF_ETOOBIG,
		"word too long at 9");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_and_arrears),
		cmocka_unit_test(test_customer_fields),
		cmocka_unit_test(test_errors_with_positions),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
