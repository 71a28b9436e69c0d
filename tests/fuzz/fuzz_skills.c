/* Fuzz target: the agent skills text ("skill:level,..."). Whatever parses
 * must format back to the very same bytes (the grammar has one spelling)
 * and parse again to the same skills. */
#include "storage/accounts.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct accounts_skills sk, again;
	char out[ACCOUNTS_SKILLS_TEXT_MAX + 1], why[ACCOUNTS_WHY_MAX];
	int n;

	if (accounts_skills_parse((const char *)data, size, &sk, why, sizeof(why)) != 0)
		return 0;
	if (sk.n > ACCOUNTS_SKILLS_MAX)
		abort();
	for (size_t i = 0; i < sk.n; i++)
		if (sk.v[i].level < ACCOUNTS_LEVEL_MIN || sk.v[i].level > ACCOUNTS_LEVEL_MAX ||
		    strlen(sk.v[i].name) == 0 || strlen(sk.v[i].name) > ACCOUNTS_SKILL_NAME_MAX)
			abort();
	n = accounts_skills_format(&sk, out, sizeof(out));
	if (n < 0 || (size_t)n != size || memcmp(out, data, size) != 0)
		abort();
	if (accounts_skills_parse(out, (size_t)n, &again, why, sizeof(why)) != 0 || again.n != sk.n)
		abort();
	for (size_t i = 0; i < sk.n; i++)
		if (strcmp(again.v[i].name, sk.v[i].name) || again.v[i].level != sk.v[i].level)
			abort();
	return 0;
}
