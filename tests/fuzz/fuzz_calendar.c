/* Fuzz target: a business calendar's weekly hours and holiday file
 * (lib/calendar.h). The input's first line is the weekly hours,
 * the rest the holiday file. Whatever parses must be well formed (spans in
 * order within a day, dates sorted and unique), and time added to a moment
 * must measure back to the same amount. */
#include "lib/calendar.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct calendar cal;

static void check_well_formed(void)
{
	for (int d = 0; d < 7 && !cal.always; d++) {
		if (cal.week[d].n > CALENDAR_SPANS_MAX)
			abort();
		for (size_t k = 0; k < cal.week[d].n; k++) {
			const struct calendar_span *s = &cal.week[d].span[k];

			if (s->from >= s->to || s->to > 1440 ||
			    (k && s->from < cal.week[d].span[k - 1].to))
				abort();
		}
	}
	for (size_t i = 1; i < cal.ndates; i++)
		if (cal.dates[i].day <= cal.dates[i - 1].day)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nl = memchr(text, '\n', size);
	size_t first = nl ? (size_t)(nl - text) : size;
	char why[CALENDAR_WHY_MAX];
	static const uint64_t from = 1790000000000ull; /* 2026-09 */

	if (calendar_parse(text, first, &cal, why, sizeof(why)) != 0)
		return 0;
	if (nl && calendar_holidays(&cal, nl + 1, size - first - 1, why, sizeof(why)) != 0)
		return 0;
	check_well_formed();
	for (uint64_t amount = 60000; amount <= 36000000; amount *= 7) {
		uint64_t due = calendar_add(&cal, from, amount);

		if (due == UINT64_MAX)
			break;
		if (due <= from || calendar_open_between(&cal, from, due) != amount)
			abort();
	}
	return 0;
}
