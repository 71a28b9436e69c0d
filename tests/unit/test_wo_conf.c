/*
 * Unit tests of node/workflow/conf.c: the work-order rows of kefud's
 * configuration become the settings node/workflow/ reads; the targets with
 * their factors; the escalation chain, the dispatch rules, the category
 * tree and the per-group calendars parsed or refused with the line and the
 * reason; the shipped tree covers every kind; the files named by the
 * options are read, and a missing or bad one is named.
 */
#include "lib/conf.h"
#include "lib/err.h"
#include "node/config.h"
#include "node/workflow/conf.h"
#include "tests/unit/support/shanghai.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define SEC 1000ull
#define HOUR (3600 * SEC)
#define DAY (24 * HOUR)

static struct config cfg; /* large: not on the stack */

/*
 * The options of sets ("name=value") over the defaults, parsed by the
 * table without config_check, which would refuse a bad work-order row
 * before wo_settings_from could be asked about it.
 */
static int load(const char *const *sets, size_t n)
{
	char text[4096];
	size_t len = 0;
	struct conf_err err;
	int r;

	text[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(sets[i], '=');

		assert_non_null(eq);
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%.*s = %s\n",
					(int)(eq - sets[i]), sets[i], eq + 1);
		assert_true(len < sizeof(text));
	}
	conf_defaults(config_table, config_table_len, &cfg);
	r = conf_parse(config_table, config_table_len, &cfg, text, len, &err);
	if (r)
		print_message("conf_parse: %s\n", err.msg);
	return r;
}

/* wo_settings_from on a configuration of sets that must load. */
static int settings(struct wo_settings *s, const char *const *sets, size_t n, char *why,
		    size_t cap)
{
	assert_int_equal(load(sets, n), 0);
	return wo_settings_from(&cfg, s, why, cap);
}

/* A temporary file holding text; its name into path[64]. */
static void temp_file(char *path, const char *text)
{
	int fd;

	snprintf(path, 64, "/tmp/kefu-test-wo-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(WO_KINDS, 7);
	assert_string_equal(wo_kind_name(WO_COMPLAINT), "complaint");
	assert_string_equal(wo_kind_name(WO_APPEAL), "appeal");
	assert_null(wo_kind_name(WO_KINDS));
	assert_int_equal(wo_kind_by_name("escalated"), WO_ESCALATED);
	assert_int_equal(wo_kind_by_name("suggestion"), WO_SUGGESTION);
	assert_int_equal(wo_kind_by_name("Complaint"), -1);
	assert_int_equal(wo_kind_by_name(""), -1);
	assert_int_equal(wo_kind_by_name(NULL), -1);
	for (int k = 0; k < WO_KINDS; k++)
		assert_int_equal(wo_kind_by_name(wo_kind_name((enum wo_kind)k)), k);
	assert_string_equal(wo_clock_name(WO_FIRST_RESPONSE), "first_response");
	assert_string_equal(wo_clock_name(WO_UPDATE), "update");
	assert_string_equal(wo_clock_name(WO_SOLUTION), "solution");
	assert_null(wo_clock_name(WO_CLOCKS));
	assert_int_equal(wo_clock_by_name("solution"), WO_SOLUTION);
	assert_int_equal(wo_clock_by_name("first"), -1);
	assert_string_equal(wo_action_name(WO_ACTION_SUPERVISOR), "supervisor");
	assert_int_equal(wo_action_by_name("upgrade"), WO_ACTION_UPGRADE);
	assert_int_equal(wo_action_by_name("boss"), -1);
	assert_true(wo_group_valid("backoffice"));
	assert_true(wo_group_valid("netops-cd.2_a"));
	assert_true(wo_group_valid("0123456789abcdef0123456789abcdef"));
	assert_false(wo_group_valid("0123456789abcdef0123456789abcdef0"));
	assert_false(wo_group_valid("-netops"));
	assert_false(wo_group_valid("Billing"));
	assert_false(wo_group_valid("bill ing"));
	assert_false(wo_group_valid(""));
	assert_false(wo_group_valid(NULL));
}

static void test_defaults(void **state)
{
	struct wo_settings s;
	char why[WO_WHY_MAX] = "";

	(void)state;
	if (settings(&s, NULL, 0, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_string_equal(s.province, "CN");
	assert_int_equal(s.target_ms[WO_COMPLAINT][WO_FIRST_RESPONSE], 2 * HOUR);
	assert_int_equal(s.target_ms[WO_COMPLAINT][WO_SOLUTION], 48 * HOUR);
	assert_int_equal(s.target_ms[WO_CONSULT][WO_FIRST_RESPONSE], 30 * 60 * SEC);
	assert_int_equal(s.target_ms[WO_SUGGESTION][WO_SOLUTION], 7 * DAY);
	assert_int_equal(s.target_ms[WO_REQUEST][WO_SOLUTION], 72 * HOUR);
	assert_int_equal(s.target_ms[WO_APPEAL][WO_UPDATE], 12 * HOUR);
	assert_int_equal(s.urgent_factor, 500);
	assert_int_equal(s.tier_factor[0], 1000);
	assert_int_equal(s.tier_factor[1], 900);
	assert_int_equal(s.tier_factor[4], 500);
	assert_true(s.calendar->always);
	assert_int_equal(s.ngroups, 0);
	assert_ptr_equal(wo_calendar_of(&s, "billing"), s.calendar);
	assert_string_equal(s.timezone, "Asia/Shanghai");
	assert_int_equal(s.nescalate, 3);
	assert_int_equal(s.escalate[0].percent, 80);
	assert_int_equal(s.escalate[0].action, WO_ACTION_LEAD);
	assert_int_equal(s.escalate[1].percent, 100);
	assert_int_equal(s.escalate[1].action, WO_ACTION_SUPERVISOR);
	assert_int_equal(s.escalate[2].percent, 150);
	assert_int_equal(s.escalate[2].action, WO_ACTION_UPGRADE);
	assert_int_equal(s.visit_quiet_ms, 30 * DAY);
	assert_int_equal(s.visit_delay_ms, 0);
	assert_true(wo_visit_excluded(&s, WO_CONSULT));
	assert_true(wo_visit_excluded(&s, WO_SUGGESTION));
	assert_false(wo_visit_excluded(&s, WO_COMPLAINT));
	assert_false(wo_visit_excluded(&s, WO_KINDS));
	assert_string_equal(s.default_group, "backoffice");
	assert_int_equal(s.nrules, 0);
	assert_string_equal(wo_dispatch_group(&s, WO_FAULT, "网络/无信号", "成都市"), "backoffice");
	assert_true(wo_categories_count(&s) > 50);
	wo_settings_free(&s);
	wo_settings_free(&s); /* emptied: harmless */
	wo_settings_free(NULL);
}

/* The 'd' unit and fractions in kefud's configuration. */
static void test_days_and_fractions_in_config(void **state)
{
	const char *sets[] = {"wo_visit_quiet=2d", "wo_suggestion_solution=14D",
			      "wo_urgent_factor=25%", "wo_tier3_factor=.75"};
	const char *bad[] = {"wo_urgent_factor=1.5", "wo_tier0_factor=0", "wo_tier1_factor=0.0001",
			     "wo_appeal_solution=366d", "wo_appeal_solution=0", "wo_visit_quiet=1w"};
	struct conf_err err;

	(void)state;
	assert_int_equal(load(sets, 4), 0);
	assert_int_equal(cfg.wo_visit_quiet, 2 * DAY);
	assert_int_equal(cfg.wo_suggestion_solution, 14 * DAY);
	assert_int_equal(cfg.wo_urgent_factor, 250);
	assert_int_equal(cfg.wo_tier3_factor, 750);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *all[] = {"data_dir=/tmp", bad[i]};

		if (config_load(&cfg, NULL, all, 2, &err) != KF_ECONFIG)
			fail_msg("%s was taken", bad[i]);
	}
}

static void test_targets_with_factors(void **state)
{
	const char *sets[] = {"wo_fault_first_response=10001ms", "wo_tier1_factor=0.333",
			      "wo_consult_first_response=1s", "wo_urgent_factor=0.01"};
	struct wo_settings s;
	char why[WO_WHY_MAX] = "";

	(void)state;
	assert_int_equal(settings(&s, sets, 4, why, sizeof(why)), 0);
	assert_int_equal(wo_target_ms(&s, WO_COMPLAINT, WO_SOLUTION, false, 0), 48 * HOUR);
	assert_int_equal(wo_target_ms(&s, WO_COMPLAINT, WO_SOLUTION, false, 4), 24 * HOUR);
	assert_int_equal(wo_target_ms(&s, WO_COMPLAINT, WO_SOLUTION, false, 2), 48 * HOUR * 8 / 10);
	assert_int_equal(wo_target_ms(&s, WO_COMPLAINT, WO_SOLUTION, true, 0), 48 * HOUR / 100);
	assert_int_equal(wo_target_ms(&s, WO_COMPLAINT, WO_SOLUTION, true, 4), 48 * HOUR / 200);
	/* vip_level over 4 counts as 4. */
	assert_int_equal(wo_target_ms(&s, WO_COMPLAINT, WO_SOLUTION, false, 9), 24 * HOUR);
	assert_int_equal(wo_target_ms(&s, WO_COMPLAINT, WO_SOLUTION, false, UINT32_MAX),
			 24 * HOUR);
	/* Rounded down to the ms: 10001 * 0.333 = 3330.333. */
	assert_int_equal(wo_target_ms(&s, WO_FAULT, WO_FIRST_RESPONSE, false, 1), 3330);
	/* Never under a second: 1s * 0.01 * 0.5. */
	assert_int_equal(wo_target_ms(&s, WO_CONSULT, WO_FIRST_RESPONSE, true, 4), 1000);
	assert_int_equal(wo_target_ms(&s, WO_CONSULT, WO_FIRST_RESPONSE, false, 0), 1000);
	wo_settings_free(&s);
}

/* Parses text as a chain; returns the result, levels in out[], count in *n. */
static int chain(const char *text, struct wo_level *out, size_t *n, char *why, size_t cap)
{
	return wo_escalate_parse(text, strlen(text), out, n, why, cap);
}

static void test_escalate_parse(void **state)
{
	static const char *const bad[] = {
		"80%",          "80:lead",          "%:lead",           "0%:lead",
		"1001%:lead",   "99999999999%:lead", "80%:boss",        "80%:Lead",
		"80%:lead,80%:supervisor", "100%:lead,80%:supervisor",  "80%:lead,",
		",80%:lead",    "80% :lead",        "80%: lead",        "-5%:lead",
		"80%:lead;100%:upgrade",   "80%:lead,,100%:upgrade",    "80%:lead x",
	};
	struct wo_level lv[WO_ESCALATE_MAX];
	char why[WO_WHY_MAX] = "";
	size_t n = 99;

	(void)state;
	assert_int_equal(chain(" 50%:lead , 100%:upgrade\t", lv, &n, why, sizeof(why)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(lv[0].percent, 50);
	assert_int_equal(lv[0].action, WO_ACTION_LEAD);
	assert_int_equal(lv[1].percent, 100);
	assert_int_equal(lv[1].action, WO_ACTION_UPGRADE);
	assert_int_equal(chain("1%:upgrade", lv, &n, why, sizeof(why)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(chain("1000%:lead", lv, &n, why, sizeof(why)), 0);
	assert_int_equal(lv[0].percent, 1000);
	n = 99;
	assert_int_equal(chain("", lv, &n, why, sizeof(why)), 0);
	assert_int_equal(n, 0);
	n = 99;
	assert_int_equal(chain("  ", lv, &n, why, sizeof(why)), 0);
	assert_int_equal(n, 0);
	/* Not NUL-terminated: only len bytes count. */
	assert_int_equal(wo_escalate_parse("80%:lead,90%:boss", 8, lv, &n, why, sizeof(why)), 0);
	assert_int_equal(n, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		n = 99;
		if (chain(bad[i], lv, &n, why, sizeof(why)) != KF_EPARSE || !why[0] || n != 0)
			fail_msg("\"%s\" was not refused with a reason", bad[i]);
	}
	assert_int_equal(chain("80%:lead,80%:supervisor", lv, &n, why, sizeof(why)), KF_EPARSE);
	assert_string_equal(why, "level 2: 80% is not above 80%, the level before");
	assert_int_equal(chain("80%:boss", lv, &n, why, sizeof(why)), KF_EPARSE);
	assert_string_equal(why, "level 1: \"boss\" is not an action (lead, supervisor, upgrade)");
	assert_int_equal(chain("1%:lead,2%:lead,3%:lead,4%:lead,5%:lead,6%:lead,7%:lead,8%:lead",
			       lv, &n, why, sizeof(why)), 0);
	assert_int_equal(n, WO_ESCALATE_MAX);
	assert_int_equal(chain("1%:lead,2%:lead,3%:lead,4%:lead,5%:lead,6%:lead,7%:lead,8%:lead,"
			       "9%:lead", lv, &n, why, sizeof(why)), KF_ETOOBIG);
}

static void test_escalate_from_config(void **state)
{
	const char *none[] = {"wo_escalate="};
	const char *bad[] = {"wo_escalate=100%:lead,50%:upgrade"};
	struct wo_settings s;
	char why[WO_WHY_MAX] = "";

	(void)state;
	assert_int_equal(settings(&s, none, 1, why, sizeof(why)), 0);
	assert_int_equal(s.nescalate, 0);
	wo_settings_free(&s);
	assert_int_equal(settings(&s, bad, 1, why, sizeof(why)), KF_EPARSE);
	assert_string_equal(why, "wo_escalate: level 2: 50% is not above 100%, the level before");
	assert_null(s.calendar); /* emptied */
}

#define RULES                                                   \
	"# dispatch\n"                                          \
	"fault\t网络/无信号  成都市   netops-cd\n"              \
	"fault   网络          *        netops\n"               \
	"  complaint 话费 * billing  \r\n"                      \
	"\n"                                                    \
	"* 话费/计费争议 绵阳市 billing-my\n"                   \
	"appeal * * appeals\n"                                  \
	"* * 成都市 cd-backoffice\n"

static void test_dispatch_matching(void **state)
{
	struct wo_settings s;
	char why[WO_WHY_MAX] = "";

	(void)state;
	memset(&s, 0, sizeof(s));
	snprintf(s.default_group, sizeof(s.default_group), "backoffice");
	if (wo_dispatch_parse(&s, RULES, strlen(RULES), why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_int_equal(s.nrules, 6);
	assert_int_equal(s.rules[0].kind, WO_FAULT);
	assert_string_equal(s.rules[0].category, "网络/无信号");
	assert_string_equal(s.rules[0].city, "成都市");
	assert_int_equal(s.rules[3].kind, -1);
	assert_string_equal(s.rules[4].category, "");
	/* The first rule that matches wins. */
	assert_string_equal(wo_dispatch_group(&s, WO_FAULT, "网络/无信号", "成都市"), "netops-cd");
	assert_string_equal(wo_dispatch_group(&s, WO_FAULT, "网络/无信号/室内", "成都市"),
			    "netops-cd");
	assert_string_equal(wo_dispatch_group(&s, WO_FAULT, "网络/无信号", "绵阳市"), "netops");
	assert_string_equal(wo_dispatch_group(&s, WO_FAULT, "网络", "成都市"), "netops");
	assert_string_equal(wo_dispatch_group(&s, WO_FAULT, "终端/手机故障", "成都市"),
			    "cd-backoffice");
	/* A prefix is whole levels. */
	assert_string_equal(wo_dispatch_group(&s, WO_FAULT, "网络无信号", "绵阳市"), "backoffice");
	assert_string_equal(wo_dispatch_group(&s, WO_COMPLAINT, "话费/计费争议", "绵阳市"),
			    "billing");
	assert_string_equal(wo_dispatch_group(&s, WO_ESCALATED, "话费/计费争议", "绵阳市"),
			    "billing-my");
	assert_string_equal(wo_dispatch_group(&s, WO_ESCALATED, "话费/计费争议", "绵阳"),
			    "backoffice");
	assert_string_equal(wo_dispatch_group(&s, WO_ESCALATED, "话费包", "绵阳市"), "backoffice");
	assert_string_equal(wo_dispatch_group(&s, WO_APPEAL, "工信部申诉/计费争议", "成都市"),
			    "appeals");
	assert_string_equal(wo_dispatch_group(&s, WO_REQUEST, "号码/过户", "成都市"),
			    "cd-backoffice");
	assert_string_equal(wo_dispatch_group(&s, WO_REQUEST, "号码/过户", "成都"), "backoffice");
	/* NULL matches only '*'. */
	assert_string_equal(wo_dispatch_group(&s, WO_FAULT, NULL, "成都市"), "cd-backoffice");
	assert_string_equal(wo_dispatch_group(&s, WO_APPEAL, NULL, NULL), "appeals");
	assert_string_equal(wo_dispatch_group(&s, WO_FAULT, "网络", NULL), "netops");
	assert_string_equal(wo_dispatch_group(&s, WO_CONSULT, NULL, NULL), "backoffice");
	/* Parsing again replaces the rules. */
	assert_int_equal(wo_dispatch_parse(&s, "* * * all\n", 10, why, sizeof(why)), 0);
	assert_int_equal(s.nrules, 1);
	assert_string_equal(wo_dispatch_group(&s, WO_FAULT, "网络", "成都市"), "all");
	assert_int_equal(wo_dispatch_parse(&s, "", 0, why, sizeof(why)), 0);
	assert_int_equal(s.nrules, 0);
	wo_settings_free(&s);
}

static void test_dispatch_refusals(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"fault 网络 成都市\n", "line 1: 3 columns, expected KIND CATEGORY_PREFIX CITY GROUP"},
		{"# c\nfault 网络 成都市 netops x\n",
		 "line 2: more than 4 columns (KIND CATEGORY_PREFIX CITY GROUP)"},
		{"faults 网络 成都市 netops\n", "line 1: KIND \"faults\": not a kind or *"},
		{"fault 网络 成都市 Netops\n",
		 "line 1: GROUP \"Netops\": not a group name ([a-z0-9][a-z0-9_.-]{0,31})"},
		{"fault 网络 成都市 *\n",
		 "line 1: GROUP \"*\": not a group name ([a-z0-9][a-z0-9_.-]{0,31})"},
		{"fault 网络//无信号 * netops\n",
		 "line 1: CATEGORY_PREFIX \"网络//无信号\": an empty level"},
		{"fault /网络 * netops\n", "line 1: CATEGORY_PREFIX \"/网络\": an empty level"},
		{"fault 网络/ * netops\n", "line 1: CATEGORY_PREFIX \"网络/\": an empty level"},
		{"fault a/b/c/d/e * netops\n",
		 "line 1: CATEGORY_PREFIX \"a/b/c/d/e\": more than 4 levels"},
		{"fault 网络 成都\x01市 netops\n",
		 "line 1: CITY \"成都?市\": not UTF-8 without control characters"},
		{"fault 网络 \xe6\x88 netops\n",
		 "line 1: CITY \"??\": not UTF-8 without control characters"},
		{"fault \xc0\xaf * netops\n",
		 "line 1: CATEGORY_PREFIX \"??\": not UTF-8 without control characters"},
		{"fault 网络 \xc2\x85 netops\n",
		 "line 1: CITY \"??\": not UTF-8 without control characters"},
	};
	struct wo_settings s;
	char why[WO_WHY_MAX], big[80 * 1100];
	size_t off = 0;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(wo_dispatch_parse(&s, "* * * keep\n", 11, why, sizeof(why)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(wo_dispatch_parse(&s, bad[i].text, strlen(bad[i].text), why,
						   sizeof(why)), KF_EPARSE);
		assert_string_equal(why, bad[i].why);
	}
	/* A long city and a long level. */
	snprintf(big, sizeof(big), "fault * %065d g\n", 0);
	assert_int_equal(wo_dispatch_parse(&s, big, strlen(big), why, sizeof(why)), KF_EPARSE);
	snprintf(big, sizeof(big), "fault * %064d g\n", 0);
	assert_int_equal(wo_dispatch_parse(&s, big, strlen(big), why, sizeof(why)), 0);
	snprintf(big, sizeof(big), "fault a/%065d * g\n", 0);
	assert_int_equal(wo_dispatch_parse(&s, big, strlen(big), why, sizeof(why)), KF_EPARSE);
	assert_non_null(strstr(why, "a level over 64 bytes"));
	/* More than WO_RULES_MAX rules. */
	for (int i = 0; i <= WO_RULES_MAX; i++)
		off += (size_t)snprintf(big + off, sizeof(big) - off, "* * city%d g%d\n", i, i);
	assert_int_equal(wo_dispatch_parse(&s, big, off, why, sizeof(why)), KF_ETOOBIG);
	assert_string_equal(why, "line 1025: more than 1024 rules");
	off -= strlen("* * city1024 g1024\n");
	assert_int_equal(wo_dispatch_parse(&s, big, off, why, sizeof(why)), 0);
	assert_int_equal(s.nrules, WO_RULES_MAX);
	/* A refused text leaves the rules as they were. */
	assert_int_equal(wo_dispatch_parse(&s, "* * * keep\n", 11, why, sizeof(why)), 0);
	assert_int_equal(wo_dispatch_parse(&s, "* * * ok\nbad\n", 13, why, sizeof(why)), KF_EPARSE);
	assert_int_equal(s.nrules, 1);
	assert_string_equal(s.rules[0].group, "keep");
	wo_settings_free(&s);
}

/* The full paths of kind k's lines in s, concatenated with ' ' into out. */
static void paths_of(const struct wo_settings *s, enum wo_kind k, char *out, size_t cap)
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < wo_categories_count(s); i++) {
		const char *p = wo_category_path(s, i);

		if (strncmp(p, wo_kind_name(k), strlen(wo_kind_name(k))) == 0 &&
		    p[strlen(wo_kind_name(k))] == '/')
			off += (size_t)snprintf(out + off, cap - off, "%s ", p);
	}
}

static void test_default_tree_covers_every_kind(void **state)
{
	struct wo_settings s;
	char why[WO_WHY_MAX] = "", all[8192];
	size_t per_kind[WO_KINDS] = {0};

	(void)state;
	memset(&s, 0, sizeof(s));
	if (wo_categories_parse(&s, wo_default_categories, strlen(wo_default_categories), why,
				sizeof(why)) != 0)
		fail_msg("%s", why);
	for (size_t i = 0; i < wo_categories_count(&s); i++) {
		const char *p = wo_category_path(&s, i), *slash = strchr(p, '/');
		char kind[16];
		int k;

		assert_non_null(slash);
		assert_true((size_t)(slash - p) < sizeof(kind));
		memcpy(kind, p, (size_t)(slash - p));
		kind[slash - p] = '\0';
		k = wo_kind_by_name(kind);
		assert_true(k >= 0);
		per_kind[k]++;
		assert_true(wo_category_valid(&s, (enum wo_kind)k, slash + 1));
	}
	for (int k = 0; k < WO_KINDS; k++)
		if (per_kind[k] < 5)
			fail_msg("kind %s has %zu categories", wo_kind_name((enum wo_kind)k),
				 per_kind[k]);
	assert_null(wo_category_path(&s, wo_categories_count(&s)));
	paths_of(&s, WO_COMPLAINT, all, sizeof(all));
	assert_non_null(strstr(all, "complaint/话费/计费争议 complaint/话费/扣费不明 "));
	assert_non_null(strstr(all, "complaint/业务/开通失败 complaint/业务/退订困难 "));
	assert_non_null(strstr(all, "complaint/网络/信号覆盖 complaint/网络/上网速度 "));
	assert_non_null(strstr(all, "complaint/服务/态度 complaint/服务/办理时限 "));
	assert_true(wo_category_valid(&s, WO_COMPLAINT, "话费"));
	assert_true(wo_category_valid(&s, WO_COMPLAINT, "话费/计费争议"));
	assert_false(wo_category_valid(&s, WO_COMPLAINT, "话"));
	assert_false(wo_category_valid(&s, WO_COMPLAINT, "话费/"));
	assert_false(wo_category_valid(&s, WO_COMPLAINT, "话费/计费"));
	assert_false(wo_category_valid(&s, WO_COMPLAINT, "话费/计费争议/x"));
	assert_false(wo_category_valid(&s, WO_COMPLAINT, "complaint/话费"));
	assert_false(wo_category_valid(&s, WO_COMPLAINT, ""));
	assert_false(wo_category_valid(&s, WO_COMPLAINT, NULL));
	assert_false(wo_category_valid(&s, WO_KINDS, "话费"));
	assert_true(wo_category_valid(&s, WO_FAULT, "网络/无信号"));
	assert_false(wo_category_valid(&s, WO_FAULT, "话费/计费争议"));
	assert_true(wo_category_valid(&s, WO_REQUEST, "号码/过户"));
	assert_true(wo_category_valid(&s, WO_CONSULT, "资费/套餐"));
	assert_true(wo_category_valid(&s, WO_CONSULT, "业务/办理渠道"));
	assert_true(wo_category_valid(&s, WO_SUGGESTION, "产品"));
	assert_true(wo_category_valid(&s, WO_ESCALATED, "话费/计费争议"));
	assert_true(wo_category_valid(&s, WO_APPEAL, "工信部申诉/计费争议"));
	assert_true(wo_category_valid(&s, WO_APPEAL, "通管局申诉"));
	wo_settings_free(&s);
}

static void test_categories_parse(void **state)
{
	static const char text[] = "# tree\r\n"
				   "complaint/话费/计费争议\r\n"
				   "  fault/网络/无信号/室内/地下室  \n"
				   "\n"
				   "complaint/话费\n"
				   "appeal/工信部申诉";
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"complain/话费\n", "line 1: \"complain/话费\" does not begin with a kind and '/' "
				    "(complaint/...)"},
		{"#\ncomplaint\n", "line 2: \"complaint\": no category below the kind"},
		{"complaint/\n", "line 1: \"complaint/\": an empty level"},
		{"complaint//话费\n", "line 1: \"complaint//话费\": an empty level"},
		{"fault/a/b/c/d/e\n", "line 1: \"fault/a/b/c/d/e\": more than 4 levels"},
		{"fault/网络 故障\n", "line 1: \"fault/网络 故障\": a blank inside a level"},
		{"fault/网络\x7f\n", "line 1: \"fault/网络?\": not UTF-8 without control characters"},
		{"fault/\xed\xa0\x80\n", "line 1: \"fault/???\": not UTF-8 without control characters"},
		{"fault/网络\nfault/终端\nfault/网络\n", "line 3: fault/网络 is given twice"},
	};
	struct wo_settings s;
	char why[WO_WHY_MAX], big[64 * 2100];
	size_t off = 0;

	(void)state;
	memset(&s, 0, sizeof(s));
	if (wo_categories_parse(&s, text, strlen(text), why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_int_equal(wo_categories_count(&s), 4);
	assert_string_equal(wo_category_path(&s, 0), "complaint/话费/计费争议");
	assert_string_equal(wo_category_path(&s, 1), "fault/网络/无信号/室内/地下室");
	assert_string_equal(wo_category_path(&s, 2), "complaint/话费");
	assert_string_equal(wo_category_path(&s, 3), "appeal/工信部申诉");
	assert_true(wo_category_valid(&s, WO_FAULT, "网络/无信号/室内"));
	assert_true(wo_category_valid(&s, WO_FAULT, "网络/无信号/室内/地下室"));
	assert_true(wo_category_valid(&s, WO_APPEAL, "工信部申诉"));
	assert_false(wo_category_valid(&s, WO_APPEAL, "工信部申诉/计费争议"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(wo_categories_parse(&s, bad[i].text, strlen(bad[i].text), why,
						     sizeof(why)), KF_EPARSE);
		assert_string_equal(why, bad[i].why);
	}
	assert_int_equal(wo_categories_count(&s), 4); /* unchanged */
	/* A 64-byte level, not a 65-byte one. */
	snprintf(big, sizeof(big), "fault/%064d\n", 0);
	assert_int_equal(wo_categories_parse(&s, big, strlen(big), why, sizeof(why)), 0);
	snprintf(big, sizeof(big), "fault/%065d\n", 0);
	assert_int_equal(wo_categories_parse(&s, big, strlen(big), why, sizeof(why)), KF_EPARSE);
	/* More than WO_CATEGORIES_MAX lines. */
	for (int i = 0; i <= WO_CATEGORIES_MAX; i++)
		off += (size_t)snprintf(big + off, sizeof(big) - off, "consult/c%d\n", i);
	assert_int_equal(wo_categories_parse(&s, big, off, why, sizeof(why)), KF_ETOOBIG);
	off -= strlen("consult/c2048\n");
	assert_int_equal(wo_categories_parse(&s, big, off, why, sizeof(why)), 0);
	assert_int_equal(wo_categories_count(&s), WO_CATEGORIES_MAX);
	assert_true(wo_category_valid(&s, WO_CONSULT, "c2047"));
	assert_int_equal(wo_categories_parse(&s, "", 0, why, sizeof(why)), 0);
	assert_int_equal(wo_categories_count(&s), 0);
	wo_settings_free(&s);
}

static void test_group_calendars(void **state)
{
	static const char groups[] = "# per group\n"
				     "billing: mon-fri 08:30-12:00 13:30-18:00; sat 09:00-12:00\n"
				     "netops :always\n"
				     "  vip.cd-1:\tmon-sun 08:00-22:00  \n";
	static const char holidays[] = "2026-10-01 closed\n2026-10-10 workday\n";
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"billing mon-fri 09:00-18:00\n", "line 1: expected GROUP: HOURS"},
		{"Billing: always\n", "line 1: \"Billing\" is not a group name "
				      "([a-z0-9][a-z0-9_.-]{0,31})"},
		{": always\n", "line 1: \"\" is not a group name ([a-z0-9][a-z0-9_.-]{0,31})"},
		{"a: always\n\nb: always\na: always\n", "line 4: group a is given twice"},
		{"a: always\nb: mon-fri 09:00-25:00\n",
		 "line 2: group b: \"09:00-25:00\" is not a span HH:MM-HH:MM of one day"},
		{"a:\n", "line 1: group a: no hours: always, or days and spans "
			 "(mon-fri 09:00-18:00)"},
	};
	struct wo_settings s;
	const struct calendar *b;
	char why[WO_WHY_MAX], big[16 * 70];
	size_t off = 0;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.calendar = malloc(sizeof(*s.calendar));
	assert_non_null(s.calendar);
	calendar_always(s.calendar);
	assert_int_equal(calendar_holidays(s.calendar, holidays, strlen(holidays), why,
					   sizeof(why)), 0);
	if (wo_calendars_parse(&s, groups, strlen(groups), why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_int_equal(s.ngroups, 3);
	b = wo_calendar_of(&s, "billing");
	assert_ptr_not_equal(b, s.calendar);
	assert_false(b->always);
	assert_int_equal(b->week[0].n, 2);
	assert_int_equal(b->week[5].n, 1);
	assert_int_equal(b->week[6].n, 0);
	assert_int_equal(b->ndates, 2); /* the holidays of the default */
	assert_true(wo_calendar_of(&s, "netops")->always);
	assert_int_equal(wo_calendar_of(&s, "netops")->ndates, 2);
	assert_int_equal(wo_calendar_of(&s, "vip.cd-1")->week[6].n, 1);
	assert_ptr_equal(wo_calendar_of(&s, "backoffice"), s.calendar);
	assert_ptr_equal(wo_calendar_of(&s, NULL), s.calendar);
	assert_ptr_equal(wo_calendar_of(&s, "billin"), s.calendar);
	/* Billing on Thursday 2026-10-01 (a holiday) at 10:00: closed until Friday 08:30. */
	assert_false(calendar_is_open(b, at(2026, 10, 1, 10, 0)));
	assert_int_equal(calendar_add(b, at(2026, 10, 1, 10, 0), HOUR), at(2026, 10, 2, 9, 30));
	/* Open on Saturday 2026-10-10 (a make-up working day) in the afternoon. */
	assert_true(calendar_is_open(b, at(2026, 10, 10, 14, 0)));
	assert_true(calendar_is_open(wo_calendar_of(&s, "netops"), at(2026, 10, 3, 3, 0)));
	assert_false(calendar_is_open(wo_calendar_of(&s, "netops"), at(2026, 10, 1, 3, 0)));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(wo_calendars_parse(&s, bad[i].text, strlen(bad[i].text), why,
						    sizeof(why)), KF_EPARSE);
		assert_string_equal(why, bad[i].why);
	}
	assert_int_equal(s.ngroups, 3); /* unchanged */
	for (int i = 0; i <= WO_GROUPS_MAX; i++)
		off += (size_t)snprintf(big + off, sizeof(big) - off, "g%d: always\n", i);
	assert_int_equal(wo_calendars_parse(&s, big, off, why, sizeof(why)), KF_ETOOBIG);
	assert_string_equal(why, "line 65: more than 64 groups");
	off -= strlen("g64: always\n");
	assert_int_equal(wo_calendars_parse(&s, big, off, why, sizeof(why)), 0);
	assert_int_equal(s.ngroups, WO_GROUPS_MAX);
	assert_true(wo_calendar_of(&s, "g63")->always);
	assert_ptr_equal(wo_calendar_of(&s, "billing"), s.calendar);
	wo_settings_free(&s);
}

static void test_settings_from_files(void **state)
{
	char hol[64], grp[64], dsp[64], cat[64], sets_text[6][96], why[WO_WHY_MAX] = "";
	const char *sets[6];
	struct wo_settings s;

	(void)state;
	temp_file(hol, "# 国庆\n2026-10-01 closed\n");
	temp_file(grp, "billing: mon-fri 09:00-18:00\n");
	temp_file(dsp, "complaint 话费 * billing\n");
	temp_file(cat, "complaint/话费/计费争议\nfault/网络\n");
	snprintf(sets_text[0], 96, "wo_holidays=%s", hol);
	snprintf(sets_text[1], 96, "wo_calendars=%s", grp);
	snprintf(sets_text[2], 96, "wo_dispatch=%s", dsp);
	snprintf(sets_text[3], 96, "wo_categories=%s", cat);
	snprintf(sets_text[4], 96, "wo_calendar=mon-sat 08:00-20:00");
	snprintf(sets_text[5], 96, "province=SC");
	for (int i = 0; i < 6; i++)
		sets[i] = sets_text[i];
	if (settings(&s, sets, 6, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_string_equal(s.province, "SC");
	assert_false(s.calendar->always);
	assert_int_equal(s.calendar->ndates, 1);
	assert_int_equal(s.ngroups, 1);
	assert_int_equal(wo_calendar_of(&s, "billing")->ndates, 1);
	assert_int_equal(wo_calendar_of(&s, "billing")->week[5].n, 0);
	assert_int_equal(wo_calendar_of(&s, "other")->week[5].n, 1);
	assert_string_equal(wo_dispatch_group(&s, WO_COMPLAINT, "话费/计费争议", "成都市"), "billing");
	assert_int_equal(wo_categories_count(&s), 2);
	assert_true(wo_category_valid(&s, WO_FAULT, "网络"));
	assert_false(wo_category_valid(&s, WO_FAULT, "网络/无信号")); /* not the shipped tree */
	wo_settings_free(&s);

	/* A bad line is named with the option, the file and the line. */
	unlink(dsp);
	temp_file(dsp, "complaint 话费 * billing\nfault * * Netops\n");
	snprintf(sets_text[2], 96, "wo_dispatch=%s", dsp);
	assert_int_equal(settings(&s, sets, 6, why, sizeof(why)), KF_EPARSE);
	{
		char want[WO_WHY_MAX];

		snprintf(want, sizeof(want), "wo_dispatch: %s: line 2: GROUP \"Netops\": not a "
			 "group name ([a-z0-9][a-z0-9_.-]{0,31})", dsp);
		assert_string_equal(why, want);
	}
	assert_null(s.rules);
	unlink(dsp);
	/* A missing file: -errno. */
	assert_int_equal(settings(&s, sets, 6, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "wo_dispatch: /tmp/kefu-test-wo-"));
	/* A bad holiday file: its line. */
	snprintf(sets_text[2], 96, "wo_dispatch=");
	unlink(hol);
	temp_file(hol, "2026-10-01 closed\n2026-02-30 closed\n");
	snprintf(sets_text[0], 96, "wo_holidays=%s", hol);
	assert_int_equal(settings(&s, sets, 6, why, sizeof(why)), KF_EPARSE);
	assert_non_null(strstr(why, "wo_holidays: /tmp/kefu-test-wo-"));
	assert_non_null(strstr(why, ": line 2: \"2026-02-30\" is not a date YYYY-MM-DD"));
	/* A bad per-group calendar and a bad category file. */
	unlink(hol);
	snprintf(sets_text[0], 96, "wo_holidays=");
	unlink(grp);
	temp_file(grp, "billing: mon-fri 09:00-18:00\n\nnetops: someday\n");
	snprintf(sets_text[1], 96, "wo_calendars=%s", grp);
	assert_int_equal(settings(&s, sets, 6, why, sizeof(why)), KF_EPARSE);
	assert_non_null(strstr(why, "wo_calendars: /tmp/kefu-test-wo-"));
	assert_non_null(strstr(why, ": line 3: group netops: "));
	snprintf(sets_text[1], 96, "wo_calendars=");
	unlink(cat);
	temp_file(cat, "complaint/话费\nrequest\n");
	snprintf(sets_text[3], 96, "wo_categories=%s", cat);
	assert_int_equal(settings(&s, sets, 6, why, sizeof(why)), KF_EPARSE);
	assert_non_null(strstr(why, ": line 2: \"request\": no category below the kind"));
	unlink(grp);
	unlink(cat);
}

static void test_bad_texts_are_named(void **state)
{
	static const struct {
		const char *set, *why;
	} bad[] = {
		{"wo_calendar=mon-fri 9-18",
		 "wo_calendar: \"9-18\" is not a span HH:MM-HH:MM of one day"},
		{"wo_visit_exclude=consult,bogus", "wo_visit_exclude: \"bogus\" is not a kind"},
		{"wo_visit_exclude=fault, fault", "wo_visit_exclude: fault is given twice"},
		{"wo_default_group=Back Office",
		 "wo_default_group: not a group name ([a-z0-9][a-z0-9_.-]{0,31})"},
		{"wo_timezone=Mars/Olympus_Mons", "wo_timezone: no timezone Mars/Olympus_Mons: "
		 "/usr/share/zoneinfo/Mars/Olympus_Mons is not a file (is tzdata installed?)"},
	};
	struct wo_settings s;
	char why[WO_WHY_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(settings(&s, &bad[i].set, 1, why, sizeof(why)), KF_EPARSE);
		assert_string_equal(why, bad[i].why);
	}
}

static void test_visits(void **state)
{
	const char *sets[] = {"wo_visit_exclude= complaint ,,fault ", "wo_visit_quiet=7d",
			      "wo_visit_delay=2h"};
	const char *none[] = {"wo_visit_exclude=", "wo_visit_quiet=0"};
	struct wo_settings s;
	char why[WO_WHY_MAX] = "";

	(void)state;
	assert_int_equal(settings(&s, sets, 3, why, sizeof(why)), 0);
	assert_true(wo_visit_excluded(&s, WO_COMPLAINT));
	assert_true(wo_visit_excluded(&s, WO_FAULT));
	assert_false(wo_visit_excluded(&s, WO_CONSULT));
	assert_int_equal(s.visit_quiet_ms, 7 * DAY);
	assert_int_equal(s.visit_delay_ms, 2 * HOUR);
	wo_settings_free(&s);
	assert_int_equal(settings(&s, none, 2, why, sizeof(why)), 0);
	for (int k = 0; k < WO_KINDS; k++)
		assert_false(wo_visit_excluded(&s, (enum wo_kind)k));
	assert_int_equal(s.visit_quiet_ms, 0);
	wo_settings_free(&s);
}

static void test_timezone(void **state)
{
	static const char *const bad[] = {
		"", "/etc/localtime", "../zoneinfo/Asia/Shanghai", "Asia/../Asia/Shanghai",
		"Asia/Shang hai", "Asia/Shanghai\n", "Asia", "Mars/Base",
		"Asia/Shanghai/Pudong_New_Area_Where_Nobody_Keeps_Timezones_X",
		"Asia/Shanghai/Pudong_New_Area_Where_Nobody_Keeps_Timezones_Longer",
	};
	char why[WO_WHY_MAX];

	(void)state;
	assert_int_equal(wo_timezone_apply("UTC", why, sizeof(why)), 0);
	assert_string_equal(getenv("TZ"), "UTC");
	assert_int_equal(wo_timezone_apply("Asia/Shanghai", why, sizeof(why)), 0);
	assert_string_equal(getenv("TZ"), "Asia/Shanghai");
	assert_int_equal(at(2026, 1, 1, 8, 0), 1767225600000ull); /* 00:00 UTC */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (wo_timezone_apply(bad[i], why, sizeof(why)) != KF_EPARSE || !why[0])
			fail_msg("timezone \"%s\" was taken", bad[i]);
		assert_string_equal(getenv("TZ"), "Asia/Shanghai");
	}
	assert_int_equal(wo_timezone_apply("Etc/GMT+8", why, sizeof(why)), 0);
	assert_int_equal(wo_timezone_apply("Asia/Shanghai", why, sizeof(why)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_days_and_fractions_in_config),
		cmocka_unit_test(test_targets_with_factors),
		cmocka_unit_test(test_escalate_parse),
		cmocka_unit_test(test_escalate_from_config),
		cmocka_unit_test(test_dispatch_matching),
		cmocka_unit_test(test_dispatch_refusals),
		cmocka_unit_test(test_default_tree_covers_every_kind),
		cmocka_unit_test(test_categories_parse),
		cmocka_unit_test_setup(test_group_calendars, tz_shanghai),
		cmocka_unit_test(test_settings_from_files),
		cmocka_unit_test(test_bad_texts_are_named),
		cmocka_unit_test(test_visits),
		cmocka_unit_test_setup(test_timezone, tz_shanghai),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
