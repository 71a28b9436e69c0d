/*
 * The operations component's settings (node/ops/conf.h).
 */
#include "node/ops/conf.h"

#include "lib/err.h"
#include "node/config_table.h"

#include <stdio.h>

int ops_interval_ok(uint64_t ms)
{
	if (ms == 0)
		return 0;
	if (ms < OPS_INTERVAL_MIN_MS || ms > OPS_INTERVAL_MAX_MS || ms % 1000)
		return KF_ECONFIG;
	if (ms < 60000 ? 60000 % ms : ms % 60000 || OPS_INTERVAL_MAX_MS % ms)
		return KF_ECONFIG;
	return 0;
}

int ops_settings_from(const struct config *c, struct ops_settings *out, char *why, size_t cap)
{
	static const char *const names[OPS_NTIERS] = {
#define OPS_NAME_(t, sl, ans) #t,
		OPS_TIER_TARGETS(OPS_NAME_)
#undef OPS_NAME_
	};
	char key[64];

	out->interval_ms = (uint64_t)config_table_number(c, "stats_interval");
	if (ops_interval_ok(out->interval_ms)) {
		snprintf(why, cap, "stats_interval: %llu ms is neither 0 (off), nor 15s, 20s or 30s, "
			 "nor a whole number of minutes from 1m to 60m that divides an hour",
			 (unsigned long long)out->interval_ms);
		return KF_ECONFIG;
	}
	for (size_t i = 0; i < OPS_NTIERS; i++) {
		struct ops_tier *t = &out->tiers[i];

		t->name = names[i];
		snprintf(key, sizeof(key), "%s_sl_target", names[i]);
		t->sl_target = (uint32_t)config_table_number(c, key);
		snprintf(key, sizeof(key), "%s_answer_target", names[i]);
		t->answer_target = (uint32_t)config_table_number(c, key);
		snprintf(key, sizeof(key), "%s_service_level", names[i]);
		t->sl_ms = (uint64_t)config_table_number(c, key);
	}
	return 0;
}
