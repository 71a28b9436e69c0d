/*
 * stamp - BOSS times (YYYYMMDDHHMMSS) as plain second counts.
 *
 * The simulator never reads the clock: every time it writes is derived
 * from a start stamp by adding seconds. Times are naive local times (no
 * zone, no leap seconds); a count is the seconds since 1970-01-01 00:00:00
 * of the same naive calendar, so arithmetic and formatting are exact and
 * identical on every machine.
 */
#ifndef KEFU_SIM_STAMP_H
#define KEFU_SIM_STAMP_H

#include <stdint.h>

#define STAMP_LEN 14      /* YYYYMMDDHHMMSS */
#define STAMP_DAY 86400

/*
 * stamp_parse - 14 digits naming a valid calendar time in years 1970..9999
 * into *out. Returns 0 or KF_EPARSE.
 */
int stamp_parse(const char *s, int64_t *out);

/* stamp_format - t (>= 0) as YYYYMMDDHHMMSS plus a NUL. */
void stamp_format(int64_t t, char out[STAMP_LEN + 1]);

/* stamp_month - the month of t as YYYYMM plus a NUL. */
void stamp_month(int64_t t, char out[7]);

/* stamp_month_index - year * 12 + month - 1 of t: months as one counter. */
int64_t stamp_month_index(int64_t t);

/* stamp_month_start - the first second of the month with that index. */
int64_t stamp_month_start(int64_t month_index);

/* stamp_from_civil - the count of a calendar time; fields are not checked. */
int64_t stamp_from_civil(int y, int mon, int d, int h, int mi, int s);

#endif
