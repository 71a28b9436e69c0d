/*
 * libFuzzer target for boss_parse_name and boss_stamp_is_valid. A data file
 * name has one spelling, so a parsed name written back must give exactly
 * the input. A valid time's date and month prefixes must be valid too.
 */
#include "storage/boss.h"

#include "lib/err.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct boss_name n;
	char why[128], back[BOSS_NAME_MAX + 1];
	int len;

	if (size >= 14 && boss_stamp_is_valid(s, 14) &&
	    !(boss_stamp_is_valid(s, 8) && boss_stamp_is_valid(s, 6)))
		abort();
	if (size >= 8 && boss_stamp_is_valid(s, 8) && !boss_stamp_is_valid(s, 6))
		abort();

	why[0] = '\0';
	if (boss_parse_name(s, size, &n, why, sizeof(why)) != 0) {
		if (why[0] == '\0' || memchr(why, '\0', sizeof(why)) == NULL)
			abort();
		return 0;
	}
	if (n.seq < 1 || n.seq > 999999 || !boss_stamp_is_valid(n.stamp, strlen(n.stamp)) ||
	    strlen(n.prov) < 2 || strlen(n.prov) > BOSS_PROV_MAX || !boss_kind_name(n.kind))
		abort();
	len = snprintf(back, sizeof(back), "%s_%s_%s_%06u.dat", n.prov, boss_kind_name(n.kind),
		       n.stamp, (unsigned)n.seq);
	if (len < 0 || (size_t)len != size || memcmp(back, s, size) != 0)
		abort();
	return 0;
}
