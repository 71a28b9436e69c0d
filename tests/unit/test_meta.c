/* etcd values: round trips, and refusal of what a broken or hostile etcd
 * entry could hold. */
#include "cluster/meta.h"
#include "lib/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define P(s) (s), strlen(s)

static void test_member_round_trip(void **state)
{
	struct meta_member m = {"node1", "127.0.0.1:7401", "leader", 18446744073709551615ULL, 7, 9,
				"0.1.0+g5b7ff69", 2};
	struct meta_member back;
	char buf[512];
	int n;

	(void)state;
	n = meta_member_encode(&m, buf, sizeof(buf));
	assert_true(n > 0);
	assert_non_null(strstr(buf, "\"applied\":\"18446744073709551615\""));
	assert_non_null(strstr(buf, "\"format\":\"2\""));
	assert_int_equal(meta_member_parse(buf, (size_t)n, &back), 0);
	assert_memory_equal(&m, &back, sizeof(m));
}

/* A member record of a build before the version and the stored form (a
 * rolling upgrade reads both): parsed, version "", form 1; a version or a
 * form of the wrong type, or a version too long, is refused like any other
 * field. */
static void test_member_without_version(void **state)
{
	static const char old[] = "{\"name\":\"node2\",\"addr\":\"127.0.0.1:7402\",\"role\":"
				  "\"follower\",\"applied\":\"5\",\"applied_epoch\":\"2\","
				  "\"epoch\":\"2\"}";
	static const char bad[] = "{\"name\":\"node2\",\"addr\":\"a\",\"role\":\"follower\","
				  "\"applied\":\"5\",\"applied_epoch\":\"2\",\"epoch\":\"2\","
				  "\"version\":7}";
	static const char badf[] = "{\"name\":\"node2\",\"addr\":\"a\",\"role\":\"follower\","
				   "\"applied\":\"5\",\"applied_epoch\":\"2\",\"epoch\":\"2\","
				   "\"format\":\"two\"}";
	struct meta_member m;
	char longv[200];

	(void)state;
	assert_int_equal(meta_member_parse(old, sizeof(old) - 1, &m), 0);
	assert_string_equal(m.name, "node2");
	assert_string_equal(m.version, "");
	assert_int_equal(m.format, 1);
	assert_int_equal(meta_member_parse(bad, sizeof(bad) - 1, &m), KF_EPARSE);
	assert_int_equal(meta_member_parse(badf, sizeof(badf) - 1, &m), KF_EPARSE);
	memset(longv, 'v', sizeof(longv));
	snprintf(longv, sizeof(longv), "{\"name\":\"n\",\"addr\":\"a\",\"role\":\"follower\","
		 "\"applied\":\"5\",\"applied_epoch\":\"2\",\"epoch\":\"2\",\"version\":"
		 "\"%060d\"}", 1);
	assert_int_equal(meta_member_parse(longv, strlen(longv), &m), KF_EPARSE);
}

static void test_sync_round_trip_and_has(void **state)
{
	struct meta_sync s = {"node1", 12, 2, {"node2", "node3"}};
	struct meta_sync back;
	char buf[512];
	int n;

	(void)state;
	n = meta_sync_encode(&s, buf, sizeof(buf));
	assert_string_equal(buf, "{\"epoch\":\"12\",\"leader\":\"node1\",\"standbys\":[\"node2\",\"node3\"]}");
	assert_int_equal(meta_sync_parse(buf, (size_t)n, &back), 0);
	assert_memory_equal(&s, &back, sizeof(s));
	assert_true(meta_sync_has(&back, "node3"));
	assert_false(meta_sync_has(&back, "node1"));
}

static void test_numbers_may_be_integers(void **state)
{
	struct meta_sync s;

	(void)state;
	assert_int_equal(meta_sync_parse(P("{\"leader\":\"n1\",\"epoch\":5,\"standbys\":[]}"), &s), 0);
	assert_int_equal(s.epoch, 5);
	assert_int_equal(s.nstandbys, 0);
}

static void test_bad_values_refused(void **state)
{
	static const char *bad[] = {
		"", "[", "{}", "null", "{\"to\":\"\"}", "{\"to\":\"a b\"}", "{\"to\":5}",
		"{\"to\":\"x\",\"to\":\"y\"}",
		"{\"leader\":\"n1\",\"epoch\":\"-1\",\"standbys\":[]}",
		"{\"leader\":\"n1\",\"epoch\":-1,\"standbys\":[]}",
		"{\"leader\":\"n1\",\"epoch\":\"1x\",\"standbys\":[]}",
		"{\"leader\":\"n1\",\"epoch\":\"99999999999999999999\",\"standbys\":[]}",
		"{\"leader\":\"n1\",\"epoch\":\"1\",\"standbys\":\"n2\"}",
		"{\"leader\":\"n1\",\"epoch\":\"1\",\"standbys\":[\"n/2\"]}",
		"{\"leader\":\"n1\",\"epoch\":\"1\",\"standbys\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]}",
		"{\"name\":\"n1\",\"addr\":\"a\",\"role\":\"leader\",\"applied\":\"1\",\"applied_epoch\":\"1\"}",
	};
	struct meta_sync s;
	struct meta_failover f;
	struct meta_member m;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(meta_sync_parse(P(bad[i]), &s), KF_EPARSE);
		assert_int_equal(meta_failover_parse(P(bad[i]), &f), KF_EPARSE);
		assert_int_equal(meta_member_parse(P(bad[i]), &m), KF_EPARSE);
	}
}

static void test_names(void **state)
{
	(void)state;
	assert_true(meta_name_ok("node-1.a_b"));
	assert_false(meta_name_ok(""));
	assert_false(meta_name_ok("张三"));
	assert_false(meta_name_ok("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_member_round_trip),
		cmocka_unit_test(test_member_without_version),
		cmocka_unit_test(test_sync_round_trip_and_has),
		cmocka_unit_test(test_numbers_may_be_integers),
		cmocka_unit_test(test_bad_values_refused),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
