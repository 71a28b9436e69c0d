/*
 * Unit tests of storage/custview.c: the masked ID number and address
 * (UTF-8: a multi-byte character is never cut), the ID check, the routing
 * profile a gateway gets.
 */
#include "lib/err.h"
#include "storage/custview.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

/* Whether s is well-formed UTF-8. */
static bool utf8_ok(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	while (*u) {
		size_t n = *u < 0x80 ? 1 : *u >= 0xf0 ? 4 : *u >= 0xe0 ? 3 : *u >= 0xc0 ? 2 : 0;

		if (!n)
			return false;
		for (size_t i = 1; i < n; i++)
			if ((u[i] & 0xc0) != 0x80)
				return false;
		u += n;
	}
	return true;
}

static void test_resident_id_keeps_area_only(void **state)
{
	char out[CUSTVIEW_MASK_MAX];

	(void)state;
	assert_int_equal(custview_mask_id("11010119900101123X", out, sizeof(out)), 0);
	assert_string_equal(out, "110101************");
	assert_int_equal(custview_mask_id("510104800101123", out, sizeof(out)), 0);
	assert_string_equal(out, "510104*********");
}

static void test_short_id_masked_whole(void **state)
{
	char out[CUSTVIEW_MASK_MAX];

	(void)state;
	assert_int_equal(custview_mask_id("E12345678", out, sizeof(out)), 0);
	assert_string_equal(out, "*********");
	assert_int_equal(custview_mask_id("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(custview_mask_id(NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void test_id_of_multibyte_characters(void **state)
{
	char out[CUSTVIEW_MASK_MAX];

	(void)state;
	/* 15 characters, the first six of three bytes each: kept whole. */
	assert_int_equal(custview_mask_id("川字第一二三456789012", out, sizeof(out)), 0);
	assert_string_equal(out, "川字第一二三*********");
	assert_true(utf8_ok(out));
}

static void test_mask_too_small_is_refused(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(custview_mask_id("11010119900101123X", out, sizeof(out)), KF_ETOOBIG);
	assert_string_equal(out, "");
	assert_int_equal(custview_mask_address("四川省成都市锦江区红星路88号", out, sizeof(out)),
			 KF_ETOOBIG);
	assert_string_equal(out, "");
}

static void test_address_keeps_province_and_city(void **state)
{
	char out[CUSTVIEW_MASK_MAX];

	(void)state;
	assert_int_equal(custview_mask_address("四川省成都市锦江区红星路88号|A座", out, sizeof(out)), 0);
	assert_string_equal(out, "四川省成都市****");
	assert_int_equal(custview_mask_address("北京市海淀区中关村大街1号", out, sizeof(out)), 0);
	assert_string_equal(out, "北京市****");
	assert_int_equal(custview_mask_address("四川省乐山市市中区人民路3号", out, sizeof(out)), 0);
	assert_string_equal(out, "四川省乐山市****");
	assert_int_equal(custview_mask_address("新疆维吾尔自治区乌鲁木齐市天山区", out, sizeof(out)), 0);
	assert_string_equal(out, "新疆维吾尔自治区乌鲁木齐市****");
}

static void test_address_without_city(void **state)
{
	char out[CUSTVIEW_MASK_MAX];

	(void)state;
	assert_int_equal(custview_mask_address("四川省凉山彝族自治州昭觉县", out, sizeof(out)), 0);
	assert_string_equal(out, "四川省凉山彝族自治州****");
	assert_int_equal(custview_mask_address("海南省琼中黎族苗族自治县营根镇", out, sizeof(out)), 0);
	assert_string_equal(out, "海南省****");
	assert_int_equal(custview_mask_address("12 Main Street, Springfield", out, sizeof(out)), 0);
	assert_string_equal(out, "****");
	/* A 市 past the first 16 characters is not a city prefix. */
	assert_int_equal(custview_mask_address("一二三四五六七八九十一二三四五六七市", out, sizeof(out)), 0);
	assert_string_equal(out, "****");
}

static void test_address_never_cuts_a_character(void **state)
{
	/* Bytes that are not UTF-8 are units of their own; the prefix ends on
	 * a character boundary whatever precedes it. */
	static const char *const in[] = {"\xe5\x9b\x9b\xe5\xb7\x9d\xe7\x9c\x81\xe6\x88\x90\xe9\x83\xbd\xe5\xb8\x82x",
					 "\xe5\xb8\x82", "\xe5\xb8", "a\xe5\xb8\x82\xe5"};
	char out[CUSTVIEW_MASK_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		assert_int_equal(custview_mask_address(in[i], out, sizeof(out)), 0);
		assert_true(utf8_ok(out));
	}
	custview_mask_address(in[0], out, sizeof(out));
	assert_string_equal(out, "四川省成都市****");
	custview_mask_address(in[2], out, sizeof(out));
	assert_string_equal(out, "****");
}

static void test_id_digits_are_the_last_six(void **state)
{
	(void)state;
	assert_true(custview_id_digits_match("11010119900101123X", "01123X"));
	assert_true(custview_id_digits_match("11010119900101123X", "01123x"));
	assert_false(custview_id_digits_match("11010119900101123X", "011230"));
	assert_false(custview_id_digits_match("11010119900101123X", "1123X"));
	assert_false(custview_id_digits_match("11010119900101123X", "101123X"));
	assert_false(custview_id_digits_match("11010119900101123X", "11010119900101123X"));
	assert_false(custview_id_digits_match("11010119900101123X", ""));
	assert_false(custview_id_digits_match("11010119900101123X", NULL));
	assert_false(custview_id_digits_match(NULL, "01123X"));
	assert_false(custview_id_digits_match("", ""));
	/* A shorter number is said whole. */
	assert_true(custview_id_digits_match("A123", "a123"));
	assert_false(custview_id_digits_match("A123", "123"));
}

static void test_digits_text_is_checked(void **state)
{
	(void)state;
	assert_true(custview_digits_are_valid("01123X"));
	assert_false(custview_digits_are_valid(""));
	assert_false(custview_digits_are_valid("0112 3X"));
	assert_false(custview_digits_are_valid("01123\xe5\xb8\x82"));
	assert_false(custview_digits_are_valid("012345678901234567890123456789012"));
	assert_true(custview_digits_are_valid("01234567890123456789012345678901"));
}

static void test_routing_profile_has_routing_fields_only(void **state)
{
	Kefu__Subscriber u = KEFU__SUBSCRIBER__INIT, ou;
	Kefu__Customer c = KEFU__CUSTOMER__INIT, oc;

	(void)state;
	u.user_id = "8800001";
	u.msisdn = "13800000001";
	u.cust_id = "C1";
	u.brand = "全球通";
	u.plan_id = "P0038";
	u.has_status = u.has_balance = u.has_arrears = u.has_credit_level = 1;
	u.status = 3;
	u.balance = -500;
	u.arrears = 500;
	u.credit_level = 4;
	c.cust_id = "C1";
	c.name = "张三";
	c.id_no = "11010119900101123X";
	c.address = "北京市海淀区中关村大街1号";
	c.contact_phone = "13900000000";
	c.manager_id = "MGR0001";
	c.has_vip_level = 1;
	c.vip_level = 4;
	custview_routing(&u, &c, &ou, &oc);
	assert_string_equal(ou.msisdn, "13800000001");
	assert_string_equal(ou.brand, "全球通");
	assert_true(ou.has_status && ou.status == 3);
	assert_null(ou.user_id);
	assert_null(ou.cust_id);
	assert_null(ou.plan_id);
	assert_false(ou.has_balance || ou.has_arrears || ou.has_credit_level);
	assert_true(oc.has_vip_level && oc.vip_level == 4);
	assert_null(oc.cust_id);
	assert_null(oc.name);
	assert_null(oc.id_no);
	assert_null(oc.address);
	assert_null(oc.contact_phone);
	assert_null(oc.manager_id);
	custview_routing(NULL, NULL, &ou, &oc);
	assert_null(ou.msisdn);
	assert_false(oc.has_vip_level);
}

static void test_masked_customer(void **state)
{
	Kefu__Customer c = KEFU__CUSTOMER__INIT, out;
	char id[CUSTVIEW_MASK_MAX], addr[CUSTVIEW_MASK_MAX];

	(void)state;
	c.name = "张三";
	c.id_no = "11010119900101123X";
	c.address = "北京市海淀区中关村大街1号";
	assert_int_equal(custview_masked(&c, &out, id, addr), 0);
	assert_string_equal(out.name, "张三");
	assert_string_equal(out.id_no, "110101************");
	assert_string_equal(out.address, "北京市****");
	assert_string_equal(c.id_no, "11010119900101123X");
	c.id_no = NULL;
	c.address = NULL;
	assert_int_equal(custview_masked(&c, &out, id, addr), 0);
	assert_null(out.id_no);
	assert_null(out.address);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resident_id_keeps_area_only),
		cmocka_unit_test(test_short_id_masked_whole),
		cmocka_unit_test(test_id_of_multibyte_characters),
		cmocka_unit_test(test_mask_too_small_is_refused),
		cmocka_unit_test(test_address_keeps_province_and_city),
		cmocka_unit_test(test_address_without_city),
		cmocka_unit_test(test_address_never_cuts_a_character),
		cmocka_unit_test(test_id_digits_are_the_last_six),
		cmocka_unit_test(test_digits_text_is_checked),
		cmocka_unit_test(test_routing_profile_has_routing_fields_only),
		cmocka_unit_test(test_masked_customer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
