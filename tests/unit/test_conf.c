/* The table-driven configuration parser. */
#include "lib/conf.h"
#include "lib/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tcfg {
	char name[16];
	int64_t port;
	bool verbose;
	int64_t cache;
	int64_t timeout;
	char peer[64];
	char data_dir[64];
	int64_t offset;
	int64_t factor;
};

#define ROW(field, name, type, def, min, max, reload) \
	CONF_ROW(struct tcfg, field, name, type, def, min, max, reload, "help for " name)

static const struct conf_option table[] = {
	ROW(name, "name", CONF_STRING, "node", 1, 0, true),
	ROW(port, "listen_port", CONF_INT, "7400", 1, 65535, false),
	ROW(verbose, "verbose", CONF_BOOL, "no", 0, 0, true),
	ROW(cache, "cache_size", CONF_SIZE, "64M", 1024, INT64_C(1) << 40, true),
	ROW(timeout, "timeout", CONF_DURATION, "5s", 100, 3600000, false),
	ROW(peer, "peer", CONF_ADDRESS, "127.0.0.1:7400", 0, 0, false),
	ROW(data_dir, "data_dir", CONF_PATH, NULL, 1, 0, false),
	ROW(offset, "offset", CONF_INT, "-5", 0, 0, true),
	ROW(factor, "factor", CONF_FRACTION, "0.5", 10, 1000, true),
};
#define N (sizeof(table) / sizeof(table[0]))

static int parse(struct tcfg *c, const char *text, struct conf_err *err)
{
	conf_defaults(table, N, c);
	return conf_parse(table, N, c, text, strlen(text), err);
}

/* Sets one option from a one-line file; returns conf_parse's result. */
static int parse_one(const char *name, const char *value, struct tcfg *c, struct conf_err *err)
{
	char line[256];

	snprintf(line, sizeof(line), "%s = %s\n", name, value);
	return parse(c, line, err);
}

static void test_defaults_fill_every_field(void **state)
{
	struct tcfg c;

	(void)state;
	memset(&c, 0xab, sizeof(c));
	conf_defaults(table, N, &c);
	assert_string_equal(c.name, "node");
	assert_int_equal(c.port, 7400);
	assert_false(c.verbose);
	assert_int_equal(c.cache, 64 << 20);
	assert_int_equal(c.timeout, 5000);
	assert_string_equal(c.peer, "127.0.0.1:7400");
	assert_string_equal(c.data_dir, "");
	assert_int_equal(c.offset, -5);
	assert_int_equal(c.factor, 500);
}

static void test_file_with_comments_quotes_and_crlf(void **state)
{
	static const char text[] = "# kefu test\n"
				   "\n"
				   "   name = alpha   \r\n"
				   "listen_port=8080\n"
				   "\t# indented comment\n"
				   "verbose = On\n"
				   "cache_size = 2G\n"
				   "timeout = 90s\n"
				   "peer = [::1]:9000\n"
				   "data_dir = \"/var/lib/kefu \\\"x\\\" \\\\ # not a comment\"  \n"
				   "offset = -42";
	struct tcfg c;
	struct conf_err err;

	(void)state;
	if (parse(&c, text, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(c.name, "alpha");
	assert_int_equal(c.port, 8080);
	assert_true(c.verbose);
	assert_int_equal(c.cache, INT64_C(2) << 30);
	assert_int_equal(c.timeout, 90000);
	assert_string_equal(c.peer, "[::1]:9000");
	assert_string_equal(c.data_dir, "/var/lib/kefu \"x\" \\ # not a comment");
	assert_int_equal(c.offset, -42);
}

static void test_hash_after_value_is_part_of_it(void **state)
{
	struct tcfg c;
	struct conf_err err;

	(void)state;
	assert_int_equal(parse(&c, "name = a#b\n", &err), 0);
	assert_string_equal(c.name, "a#b");
}

static void test_value_forms_by_type(void **state)
{
	static const struct {
		const char *name, *value;
		bool ok;
	} cases[] = {
		{"verbose", "yes", true},      {"verbose", "OFF", true},
		{"verbose", "1", true},        {"verbose", "0", true},
		{"verbose", "maybe", false},   {"verbose", "", false},
		{"cache_size", "4096", true},  {"cache_size", "1k", true},
		{"cache_size", "3T", false},   {"cache_size", "1.5G", false},
		{"cache_size", "-1K", false},  {"cache_size", "10X", false},
		{"cache_size", "", false},     {"timeout", "250ms", true},
		{"timeout", "2m", true},       {"timeout", "1h", true},
		{"timeout", "5", false},       {"timeout", "2h", false},
		{"timeout", "99ms", false},    {"timeout", "1d", false},
		{"listen_port", "65535", true}, {"listen_port", "0", false},
		{"listen_port", "+5", false},  {"listen_port", "12ab", false},
		{"peer", "kefu-a.example:7400", true}, {"peer", "10.0.0.1:1", true},
		{"peer", "", true},            {"peer", "[fe80::1]:80", true},
		{"peer", "10.0.0.1", false},   {"peer", ":7400", false},
		{"peer", "host:0", false},     {"peer", "host:65536", false},
		{"peer", "host:12x", false},   {"peer", "::1:80", false},
		{"peer", "[nothex]:80", false}, {"peer", "a b:80", false},
		{"offset", "-9223372036854775808", true},
		{"offset", "9223372036854775807", true},
		{"offset", "9223372036854775808", false},
		{"offset", "99999999999999999999999", false},
	};
	struct tcfg c;
	struct conf_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = parse_one(cases[i].name, cases[i].value, &c, &err);

		if ((r == 0) != cases[i].ok)
			fail_msg("%s = \"%s\": expected %s, got %d (%s)", cases[i].name,
				 cases[i].value, cases[i].ok ? "ok" : "an error", r, err.msg);
		if (!cases[i].ok)
			assert_int_equal(r, KF_ECONFIG);
	}
}

static void test_duration_zero_needs_no_unit(void **state)
{
	static const struct conf_option t0[] = {
		CONF_ROW(struct tcfg, timeout, "timeout", CONF_DURATION, "0", 0, 0, false, ""),
	};
	struct tcfg c;
	struct conf_err err;

	(void)state;
	conf_defaults(t0, 1, &c);
	assert_int_equal(c.timeout, 0);
	assert_int_equal(conf_parse(t0, 1, &c, "timeout = 3s", 12, &err), 0);
	assert_int_equal(c.timeout, 3000);
}

/* Days are a duration unit, and the largest exact one when formatted. */
static void test_duration_days(void **state)
{
	static const struct conf_option t0[] = {
		CONF_ROW(struct tcfg, timeout, "timeout", CONF_DURATION, "7d", 0, 0, false, ""),
	};
	struct tcfg c;
	struct conf_err err;
	char buf[32];
	int64_t ms;

	(void)state;
	conf_defaults(t0, 1, &c);
	assert_int_equal(c.timeout, INT64_C(7) * 86400000);
	assert_string_equal(conf_format(&t0[0], &c, buf, sizeof(buf)), "7d");
	assert_int_equal(conf_parse(t0, 1, &c, "timeout = 2D", 12, &err), 0);
	assert_int_equal(c.timeout, INT64_C(2) * 86400000);
	c.timeout = 25 * 3600000;
	assert_string_equal(conf_format(&t0[0], &c, buf, sizeof(buf)), "25h");
	c.timeout = 24 * 3600000;
	assert_string_equal(conf_format(&t0[0], &c, buf, sizeof(buf)), "1d");
	assert_int_equal(conf_number(CONF_DURATION, "365d", &ms), 0);
	assert_int_equal(ms, INT64_C(365) * 86400000);
	assert_int_equal(conf_number(CONF_DURATION, "1.5d", &ms), KF_EPARSE);
	assert_int_equal(conf_number(CONF_DURATION, "106751991168d", &ms), KF_ETOOBIG);
}

/* Fractions in thousandths: decimals, a bare point, percentages, their bounds. */
static void test_fraction_forms(void **state)
{
	static const struct {
		const char *text;
		int64_t value; /* -1: refused */
	} cases[] = {
		{"0.5", 500},    {"1", 1000},   {"1.25", -1},    {".75", 750},
		{"50%", 500},    {"12.5%", 125}, {"100%", 1000}, {"0.010", 10},
		{"0.01", 10},    {"1%", 10},    {"0.009", -1},   {"0.9%", -1},
		{"0", -1},       {"", -1},      {".", -1},       {"1.", -1},
		{"0.1234", -1},  {"12.25%", -1}, {"-0.5", -1},   {"+0.5", -1},
		{"0,5", -1},     {"50 %", -1},  {"%", -1},       {"0.5x", -1},
		{"99999999999999999999", -1},
	};
	struct tcfg c;
	struct conf_err err;
	int64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = parse_one("factor", cases[i].text, &c, &err);

		if (cases[i].value < 0 ? r != KF_ECONFIG : (r != 0 || c.factor != cases[i].value))
			fail_msg("factor = \"%s\": got %d, %lld (%s)", cases[i].text, r,
				 (long long)c.factor, r ? err.msg : "");
	}
	/* Out of the row's bounds, not of the type's: conf_number takes them. */
	assert_int_equal(conf_number(CONF_FRACTION, "1.25", &v), 0);
	assert_int_equal(v, 1250);
	assert_int_equal(conf_number(CONF_FRACTION, "0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(conf_number(CONF_FRACTION, "250%", &v), 0);
	assert_int_equal(v, 2500);
	assert_int_equal(conf_number(CONF_FRACTION, "1.2345", &v), KF_EPARSE);
	assert_int_equal(conf_number(CONF_FRACTION, "9223372036854776", &v), KF_ETOOBIG);
	assert_int_equal(parse_one("factor", "2", &c, &err), KF_ECONFIG);
	assert_string_equal(err.msg, "line 1: factor: 2 is above the maximum 1");
	assert_int_equal(parse_one("factor", "0.005", &c, &err), KF_ECONFIG);
	assert_string_equal(err.msg, "line 1: factor: 0.005 is below the minimum 0.01");
	assert_int_equal(parse_one("factor", "half", &c, &err), KF_ECONFIG);
	assert_non_null(strstr(err.msg, "is not a fraction"));
}

static void test_above_maximum_names_line_option_and_bound(void **state)
{
	struct tcfg c;
	struct conf_err err;

	(void)state;
	assert_int_equal(parse(&c, "# x\n\nname = a\nlisten_port = 70000\n", &err), KF_ECONFIG);
	assert_int_equal(err.line, 4);
	assert_string_equal(err.msg, "line 4: listen_port: 70000 is above the maximum 65535");
}

static void test_bounds_are_shown_in_the_type_units(void **state)
{
	struct tcfg c;
	struct conf_err err;

	(void)state;
	assert_int_equal(parse_one("timeout", "50ms", &c, &err), KF_ECONFIG);
	assert_string_equal(err.msg, "line 1: timeout: 50ms is below the minimum 100ms");
	assert_int_equal(parse_one("cache_size", "2T", &c, &err), KF_ECONFIG);
	assert_string_equal(err.msg, "line 1: cache_size: 2T is above the maximum 1T");
}

static void test_unknown_option_is_refused(void **state)
{
	struct tcfg c;
	struct conf_err err;

	(void)state;
	assert_int_equal(parse(&c, "name = a\nlisten_prot = 1\n", &err), KF_ECONFIG);
	assert_int_equal(err.line, 2);
	assert_string_equal(err.msg, "line 2: unknown option \"listen_prot\"");
}

static void test_duplicate_option_is_refused(void **state)
{
	struct tcfg c;
	struct conf_err err;

	(void)state;
	assert_int_equal(parse(&c, "name = a\nverbose = 1\nname = b\n", &err), KF_ECONFIG);
	assert_string_equal(err.msg, "line 3: name: already set on line 1");
}

static void test_syntax_errors(void **state)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{"name\n", "line 1: expected \"name = value\""},
		{"= x\n", "line 1: expected \"name = value\""},
		{"name = \"open\n", "line 1: name: missing closing quote"},
		{"name = \"a\\n\"\n", "line 1: name: only \\\" and \\\\ may follow a backslash"},
		{"name = \"a\" b\n", "line 1: name: text after the closing quote"},
	};
	struct tcfg c;
	struct conf_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(&c, cases[i].text, &err), KF_EPARSE);
		assert_string_equal(err.msg, cases[i].msg);
	}
}

static void test_nul_byte_is_refused(void **state)
{
	static const char text[] = "name = a\0b\n";
	struct tcfg c;
	struct conf_err err;

	(void)state;
	conf_defaults(table, N, &c);
	assert_int_equal(conf_parse(table, N, &c, text, sizeof(text) - 1, &err), KF_EPARSE);
	assert_string_equal(err.msg, "line 1: contains a NUL byte");
}

static void test_string_longer_than_its_field_is_refused(void **state)
{
	struct tcfg c;
	struct conf_err err;

	(void)state;
	assert_int_equal(parse_one("name", "0123456789abcde", &c, &err), 0);
	assert_string_equal(c.name, "0123456789abcde");
	assert_int_equal(parse_one("name", "0123456789abcdef", &c, &err), KF_ECONFIG);
	assert_string_equal(err.msg, "line 1: name: value is 16 bytes, longer than the limit 15");
}

static void test_path_with_control_character_is_refused(void **state)
{
	struct tcfg c;
	struct conf_err err;

	(void)state;
	assert_int_equal(parse(&c, "data_dir = /a\tb\n", &err), KF_ECONFIG);
	assert_string_equal(err.msg, "line 1: data_dir: path contains a control character");
}

static void test_line_length_limit(void **state)
{
	char *text = malloc(CONF_LINE_MAX + 3);
	struct tcfg c;
	struct conf_err err;

	(void)state;
	memset(text, ' ', CONF_LINE_MAX + 2);
	text[0] = '#';
	text[CONF_LINE_MAX] = '\n';
	conf_defaults(table, N, &c);
	assert_int_equal(conf_parse(table, N, &c, text, CONF_LINE_MAX + 1, &err), 0);
	text[CONF_LINE_MAX] = ' ';
	text[CONF_LINE_MAX + 1] = '\n';
	assert_int_equal(conf_parse(table, N, &c, text, CONF_LINE_MAX + 2, &err), KF_ETOOBIG);
	assert_string_equal(err.msg, "line 1: longer than 4096 bytes");
	free(text);
}

static void test_text_size_limit(void **state)
{
	char *text = malloc(CONF_TEXT_MAX + 1);
	struct tcfg c;
	struct conf_err err;

	(void)state;
	memset(text, '\n', CONF_TEXT_MAX + 1);
	conf_defaults(table, N, &c);
	assert_int_equal(conf_parse(table, N, &c, text, CONF_TEXT_MAX, &err), 0);
	assert_int_equal(conf_parse(table, N, &c, text, CONF_TEXT_MAX + 1, &err), KF_ETOOBIG);
	assert_int_equal(err.line, 0);
	free(text);
}

static void test_set_overrides_and_reports_without_line(void **state)
{
	struct tcfg c;
	struct conf_err err;

	(void)state;
	conf_defaults(table, N, &c);
	assert_int_equal(conf_set(table, N, &c, "listen_port", "9000", &err), 0);
	assert_int_equal(c.port, 9000);
	assert_int_equal(conf_set(table, N, &c, "name", "\"quoted\"", &err), 0);
	assert_string_equal(c.name, "\"quoted\"");
	assert_int_equal(conf_set(table, N, &c, "listen_port", "70000", &err), KF_ECONFIG);
	assert_string_equal(err.msg, "listen_port: 70000 is above the maximum 65535");
	assert_int_equal(c.port, 9000);
	assert_int_equal(conf_set(table, N, &c, "nope", "1", &err), KF_ECONFIG);
	assert_string_equal(err.msg, "unknown option \"nope\"");
}

static void test_check_requires_required_options(void **state)
{
	struct tcfg c;
	struct conf_err err;

	(void)state;
	conf_defaults(table, N, &c);
	assert_int_equal(conf_check(table, N, &c, &err), KF_ECONFIG);
	assert_string_equal(err.msg, "data_dir: must be set");
	assert_int_equal(conf_set(table, N, &c, "data_dir", "/d", &err), 0);
	assert_int_equal(conf_check(table, N, &c, &err), 0);
	assert_int_equal(parse(&c, "data_dir = \"\"\n", &err), 0);
	assert_int_equal(conf_check(table, N, &c, &err), KF_ECONFIG);
}

static void test_format_uses_largest_exact_unit(void **state)
{
	struct tcfg c;
	char buf[64];

	(void)state;
	conf_defaults(table, N, &c);
	assert_string_equal(conf_format(&table[3], &c, buf, sizeof(buf)), "64M");
	assert_string_equal(conf_format(&table[4], &c, buf, sizeof(buf)), "5s");
	c.timeout = 60000;
	assert_string_equal(conf_format(&table[4], &c, buf, sizeof(buf)), "1m");
	c.timeout = 1500;
	assert_string_equal(conf_format(&table[4], &c, buf, sizeof(buf)), "1500ms");
	c.cache = 1025;
	assert_string_equal(conf_format(&table[3], &c, buf, sizeof(buf)), "1025");
	assert_string_equal(conf_format(&table[2], &c, buf, sizeof(buf)), "false");
	assert_string_equal(conf_format(&table[7], &c, buf, sizeof(buf)), "-5");
	assert_string_equal(conf_format(&table[5], &c, buf, 8), "127.0.0");
	assert_string_equal(conf_format(&table[8], &c, buf, sizeof(buf)), "0.5");
	c.factor = 1250;
	assert_string_equal(conf_format(&table[8], &c, buf, sizeof(buf)), "1.25");
	c.factor = 1000;
	assert_string_equal(conf_format(&table[8], &c, buf, sizeof(buf)), "1");
	c.factor = 1;
	assert_string_equal(conf_format(&table[8], &c, buf, sizeof(buf)), "0.001");
	c.factor = 2030;
	assert_string_equal(conf_format(&table[8], &c, buf, sizeof(buf)), "2.03");
}

static void test_help_lists_every_option(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	conf_help(table, N, f);
	fclose(f);
	for (size_t i = 0; i < N; i++) {
		char help[64];

		assert_non_null(strstr(text, table[i].name));
		snprintf(help, sizeof(help), "help for %s\n", table[i].name);
		assert_non_null(strstr(text, help));
	}
	assert_non_null(strstr(text, "listen_port = \"7400\"  (int, 1..65535)"));
	assert_non_null(strstr(text, "timeout = \"5s\"  (duration, 100ms..1h)"));
	assert_non_null(strstr(text, "data_dir = \"\"  (path, required)"));
	assert_non_null(strstr(text, "name = \"node\"  (string, required, reloadable)"));
	assert_non_null(strstr(text, "factor = \"0.5\"  (fraction, 0.01..1, reloadable)"));
	free(text);
}

struct changes {
	int applied, refused;
	char names[128];
};

static void note_change(void *arg, const struct conf_option *opt, bool applied)
{
	struct changes *ch = arg;
	size_t used = strlen(ch->names);

	*(applied ? &ch->applied : &ch->refused) += 1;
	snprintf(ch->names + used, sizeof(ch->names) - used, "%s%s ", applied ? "+" : "-",
		 opt->name);
}

static void test_reload_applies_only_reloadable_options(void **state)
{
	struct tcfg cur, fresh;
	struct changes ch = {0};
	struct conf_err err;

	(void)state;
	assert_int_equal(parse(&cur, "data_dir = /d\n", &err), 0);
	assert_int_equal(parse(&fresh, "data_dir = /e\nname = b\nlisten_port = 1\n"
					"cache_size = 1G\n", &err), 0);
	assert_int_equal(conf_reload(table, N, &cur, &fresh, note_change, &ch), 2);
	assert_int_equal(ch.applied, 2);
	assert_int_equal(ch.refused, 2);
	assert_string_equal(ch.names, "+name -listen_port +cache_size -data_dir ");
	assert_string_equal(cur.name, "b");
	assert_int_equal(cur.cache, 1 << 30);
	assert_int_equal(cur.port, 7400);
	assert_string_equal(cur.data_dir, "/d");
	/* Nothing left to change but the refused ones. */
	assert_int_equal(conf_reload(table, N, &cur, &fresh, NULL, NULL), 2);
}

static void test_failed_parse_keeps_earlier_lines_only(void **state)
{
	struct tcfg c;
	struct conf_err err;

	(void)state;
	assert_int_equal(parse(&c, "name = a\nverbose = x\nlisten_port = 1\n", &err),
			 KF_ECONFIG);
	assert_int_equal(err.line, 2);
	assert_string_equal(c.name, "a");
	assert_int_equal(c.port, 7400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_fill_every_field),
		cmocka_unit_test(test_file_with_comments_quotes_and_crlf),
		cmocka_unit_test(test_hash_after_value_is_part_of_it),
		cmocka_unit_test(test_value_forms_by_type),
		cmocka_unit_test(test_duration_zero_needs_no_unit),
		cmocka_unit_test(test_duration_days),
		cmocka_unit_test(test_fraction_forms),
		cmocka_unit_test(test_above_maximum_names_line_option_and_bound),
		cmocka_unit_test(test_bounds_are_shown_in_the_type_units),
		cmocka_unit_test(test_unknown_option_is_refused),
		cmocka_unit_test(test_duplicate_option_is_refused),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_nul_byte_is_refused),
		cmocka_unit_test(test_string_longer_than_its_field_is_refused),
		cmocka_unit_test(test_path_with_control_character_is_refused),
		cmocka_unit_test(test_line_length_limit),
		cmocka_unit_test(test_text_size_limit),
		cmocka_unit_test(test_set_overrides_and_reports_without_line),
		cmocka_unit_test(test_check_requires_required_options),
		cmocka_unit_test(test_format_uses_largest_exact_unit),
		cmocka_unit_test(test_help_lists_every_option),
		cmocka_unit_test(test_reload_applies_only_reloadable_options),
		cmocka_unit_test(test_failed_parse_keeps_earlier_lines_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
