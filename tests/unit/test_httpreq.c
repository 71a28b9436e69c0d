/*
 * Unit tests of lib/httpreq.c: a whole head parses (CRLF or LF), a partial
 * one asks for more, the limit gives KF_ETOOBIG (the request line unended:
 * target_len 0), malformed lines are KF_EPARSE.
 */
#include "lib/err.h"
#include "lib/httpreq.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static int parse(const char *s, size_t max, struct httpreq *req)
{
	return httpreq_parse(s, strlen(s), max, req);
}

static void test_whole_head(void **state)
{
	const char *s = "GET /metrics?a=b HTTP/1.1\r\nHost: x:1\r\nAccept:\t*/*\r\n\r\nbody";
	struct httpreq req;

	(void)state;
	assert_int_equal(parse(s, 4096, &req), 1);
	assert_int_equal(req.method_len, 3);
	assert_memory_equal(s + req.target_off, "/metrics?a=b", req.target_len);
	assert_int_equal(req.path_len, strlen("/metrics"));
	assert_int_equal(req.minor, 1);
	assert_int_equal(req.head_len, strlen(s) - 4);
	assert_int_equal(parse("HEAD / HTTP/1.0\n\n", 4096, &req), 1);
	assert_int_equal(req.minor, 0);
}

static void test_needs_more_and_limits(void **state)
{
	struct httpreq req;

	(void)state;
	assert_int_equal(parse("", 4096, &req), 0);
	assert_int_equal(parse("GET /metr", 4096, &req), 0);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\n", 4096, &req), 0);
	assert_int_equal(parse("GET /aaaaaaaa", 8, &req), KF_ETOOBIG);
	assert_int_equal(req.target_len, 0);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: xxxxxxx", 24, &req), KF_ETOOBIG);
	assert_int_not_equal(req.target_len, 0);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"GET / HTTP/2.0\r\n\r\n", "GET  / HTTP/1.1\r\n\r\n", "GET /\r\n\r\n",
		" / HTTP/1.1\r\n\r\n",   "G(T / HTTP/1.1\r\n\r\n",  "GET / HTTP/1.1 \r\n\r\n",
		"GET / HTTP/1.1\r\nNoColon\r\n\r\n", "GET / HTTP/1.1\r\n: x\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\001b\r\n\r\n",
	};
	struct httpreq req;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], 4096, &req), KF_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_head),
		cmocka_unit_test(test_needs_more_and_limits),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
