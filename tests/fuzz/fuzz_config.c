/*
 * kefud's own configuration over arbitrary bytes: its option table, then
 * the rules between options and the routing settings (tiers' ladders,
 * menus, strategies, plans). Whatever the text, the answer is accepted settings
 * or one terminated message; accepted settings hold what node/routing/ relies
 * on, and talk plaintext outside loopback only with allow_plaintext.
 */
#include "lib/conf.h"
#include "node/config.h"
#include "node/routing/conf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct routing_settings rs;
	struct config c;
	struct conf_err err;
	char why[CONF_ERR_MAX];

	conf_defaults(config_table, config_table_len, &c);
	if (conf_parse(config_table, config_table_len, &c, (const char *)data, size, &err) != 0 ||
	    config_check(&c, &err) != 0) {
		if (strnlen(err.msg, sizeof(err.msg)) == sizeof(err.msg))
			abort(); /* the message must be terminated */
		return 0;
	}
	if (routing_settings_from(&c, &rs, why, sizeof(why)) != 0)
		abort(); /* config_check accepted them */
	if (!c.allow_plaintext && config_plaintext_remote(&c, why, sizeof(why)))
		abort(); /* plaintext outside loopback got through */
	for (size_t i = 0; i < ROUTING_NTIERS; i++) {
		const struct routing_tier *t = &rs.tiers[i];

		if (t->nladder < 1 || t->nladder > ROUTING_LADDER_MAX || t->ladder[0].after_ms != 0 ||
		    t->ladder[t->nladder - 1].after_ms >= t->max_wait_ms || !t->at_max || !t->plan[0])
			abort();
		for (size_t s = 1; s < t->nladder; s++)
			if (t->ladder[s].after_ms <= t->ladder[s - 1].after_ms || !t->ladder[s].skill)
				abort();
		/* A menu: known skills, each key once, 0-9 * #. */
		if (t->nmenu > ROUTING_MENU_MAX)
			abort();
		for (size_t m = 0; m < t->nmenu; m++) {
			if (!t->menu[m].skill || !t->menu[m].digit ||
			    !strchr("0123456789*#", t->menu[m].digit))
				abort();
			for (size_t k = 0; k < m; k++)
				if (t->menu[k].digit == t->menu[m].digit)
					abort();
		}
	}
	for (size_t s = 0; s < ROUTING_NSKILLS; s++)
		if (!rs.strategy[s] || !routing_strategy_known(rs.strategy[s]))
			abort();
	return 0;
}
