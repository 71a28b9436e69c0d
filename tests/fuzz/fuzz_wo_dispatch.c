/*
 * Fuzz target: the work orders' dispatch rules (node/workflow/conf.h,
 * wo_dispatch_parse). Whatever the text, the answer is rules or one
 * terminated reason. Accepted rules are well formed (a kind or any, a
 * category prefix of whole levels, a UTF-8 city, a group name), and an
 * order that looks like a rule is dispatched by that rule or one before it.
 */
#include "lib/err.h"
#include "node/workflow/conf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wo_settings s;

/* The index of the first rule whose group is g, or SIZE_MAX. */
static size_t first_with_group(const char *g)
{
	for (size_t i = 0; i < s.nrules; i++)
		if (strcmp(s.rules[i].group, g) == 0)
			return i;
	return SIZE_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[WO_WHY_MAX];
	int r;

	memset(&s, 0, sizeof(s));
	memcpy(s.default_group, "fallback", sizeof("fallback"));
	why[0] = '\0';
	r = wo_dispatch_parse(&s, (const char *)data, size, why, sizeof(why));
	if (r != 0) {
		if ((r != KF_EPARSE && r != KF_ETOOBIG) || !why[0] ||
		    strnlen(why, sizeof(why)) == sizeof(why) || s.rules)
			abort();
		return 0;
	}
	if (s.nrules > WO_RULES_MAX)
		abort();
	for (size_t i = 0; i < s.nrules; i++) {
		const struct wo_rule *rule = &s.rules[i];
		enum wo_kind k = rule->kind < 0 ? WO_COMPLAINT : (enum wo_kind)rule->kind;
		const char *cat = rule->category[0] ? rule->category : "任意/类别";
		const char *city = rule->city[0] ? rule->city : "任意市";
		const char *g;
		size_t j;

		if (rule->kind < -1 || rule->kind >= WO_KINDS || !wo_group_valid(rule->group) ||
		    strlen(rule->category) >= WO_CATEGORY_MAX || strlen(rule->city) >= WO_CITY_MAX ||
		    rule->category[0] == '/' || strstr(rule->category, "//"))
			abort();
		g = wo_dispatch_group(&s, k, cat, city);
		j = first_with_group(g);
		if (j > i)
			abort(); /* rule i matches, so it or an earlier one must win */
		if (wo_dispatch_group(&s, k, cat, city) != g)
			abort();
	}
	if (strcmp(wo_dispatch_group(&s, WO_FAULT, NULL, NULL), "fallback") != 0 &&
	    first_with_group(wo_dispatch_group(&s, WO_FAULT, NULL, NULL)) == SIZE_MAX)
		abort();
	wo_settings_free(&s);
	return 0;
}
