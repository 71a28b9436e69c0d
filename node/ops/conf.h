/*
 * The operations component's settings: the length of the statistics
 * interval and each tier's targets beside its service-level threshold
 * (docs/ops.md). They are rows of kefud's configuration (node/config.c);
 * ops_settings_from checks them.
 */
#ifndef KEFU_NODE_OPS_CONF_H
#define KEFU_NODE_OPS_CONF_H

#include <stddef.h>
#include <stdint.h>

/*
 * X(tier, sl_target, answer_target) - each tier's targets as written in
 * the configuration: the share of its calls answered within its
 * <tier>_service_level, and the share answered at all (接通率). The tiers
 * are routing's (node/routing/conf.h ROUTING_TIERS), in the same order.
 */
#define OPS_TIER_TARGETS(X)            \
	X(ordinary, "0.80", "0.85")    \
	X(silver, "0.80", "0.90")      \
	X(gold, "0.85", "0.92")        \
	X(platinum, "0.90", "0.95")    \
	X(diamond, "0.90", "0.98")

#define OPS_NTIERS 5
#define OPS_INTERVAL_DEFAULT "15m"
#define OPS_INTERVAL_MIN_MS 15000u        /* when not 0 */
#define OPS_INTERVAL_MAX_MS 3600000u

struct ops_tier {
	const char *name;            /* "ordinary" ... "diamond" */
	uint32_t sl_target;          /* thousandths */
	uint32_t answer_target;      /* thousandths */
	uint64_t sl_ms;              /* <tier>_service_level */
};

struct ops_settings {
	uint64_t interval_ms;        /* stats_interval; 0 = interval statistics off */
	struct ops_tier tiers[OPS_NTIERS];   /* by vip_level */
};

struct config;

/* ops_interval_ok - ms is 0, or in [OPS_INTERVAL_MIN_MS, OPS_INTERVAL_MAX_MS]
 * and either a whole number of seconds dividing a minute (15 s, 20 s, 30 s:
 * short trials and tests) or a whole number of minutes dividing an hour.
 * Either way every interval starts on a whole second and the hour and every
 * minute an interval length divides is a boundary. */
int ops_interval_ok(uint64_t ms);

/* ops_settings_from - check the rows of c and fill out. On KF_ECONFIG,
 * why says which option and what is wrong with it. */
int ops_settings_from(const struct config *c, struct ops_settings *out, char *why, size_t cap);

#endif
