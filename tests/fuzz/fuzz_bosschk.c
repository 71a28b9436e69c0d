/*
 * libFuzzer target for boss_parse_chk. A parsed check line must name a
 * valid data file and a well-formed hash, and writing it back canonically
 * must parse to the same values.
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
	struct boss_chk c, again;
	struct boss_name n;
	char why[128], line[BOSS_NAME_MAX + 2 * 21 + BOSS_SHA256_HEX + 8];
	int len;

	why[0] = '\0';
	if (boss_parse_chk((const char *)data, size, &c, why, sizeof(why)) != 0) {
		if (why[0] == '\0' || memchr(why, '\0', sizeof(why)) == NULL)
			abort();
		return 0;
	}
	if (memchr(c.name, '\0', sizeof(c.name)) == NULL ||
	    boss_parse_name(c.name, strlen(c.name), &n, NULL, 0) != 0)
		abort();
	if (strlen(c.sha256) != BOSS_SHA256_HEX || strspn(c.sha256, "0123456789abcdef") != BOSS_SHA256_HEX)
		abort();
	if (size < strlen(c.name) + 3 + 2 + BOSS_SHA256_HEX)
		abort();

	len = snprintf(line, sizeof(line), "%s|%llu|%llu|%s\n", c.name,
		       (unsigned long long)c.records, (unsigned long long)c.bytes, c.sha256);
	if (len < 0 || (size_t)len >= sizeof(line))
		abort();
	if (boss_parse_chk(line, (size_t)len, &again, NULL, 0) != 0)
		abort();
	if (strcmp(again.name, c.name) != 0 || again.records != c.records ||
	    again.bytes != c.bytes || strcmp(again.sha256, c.sha256) != 0)
		abort();
	return 0;
}
