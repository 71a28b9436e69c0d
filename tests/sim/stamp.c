/*
 * BOSS times as second counts. See stamp.h. The day conversions are the
 * usual proleptic Gregorian era arithmetic (400-year cycles of 146097 days,
 * years counted from March so the leap day falls at the end).
 */
#include "tests/sim/stamp.h"

#include "lib/err.h"

#include <stdbool.h>

static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int64_t stamp_from_civil(int y, int mon, int d, int h, int mi, int s)
{
	return days_from_civil(y, mon, d) * STAMP_DAY + h * 3600 + mi * 60 + s;
}

/* digits - the decimal value of s[0..n-1], or -1 if one is not a digit. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int stamp_parse(const char *s, int64_t *out)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mon, d, h, mi, sec, dim;

	for (int i = 0; i < STAMP_LEN; i++)
		if (s[i] < '0' || s[i] > '9')
			return KF_EPARSE;
	if (s[STAMP_LEN] != '\0')
		return KF_EPARSE;
	y = digits(s, 4);
	mon = digits(s + 4, 2);
	d = digits(s + 6, 2);
	h = digits(s + 8, 2);
	mi = digits(s + 10, 2);
	sec = digits(s + 12, 2);
	if (y < 1970 || mon < 1 || mon > 12 || h > 23 || mi > 59 || sec > 59)
		return KF_EPARSE;
	dim = mdays[mon - 1] + (mon == 2 && is_leap(y));
	if (d < 1 || d > dim)
		return KF_EPARSE;
	*out = stamp_from_civil(y, mon, d, h, mi, sec);
	return 0;
}

static void put_digits(char *p, unsigned v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

void stamp_format(int64_t t, char out[STAMP_LEN + 1])
{
	int64_t days = t / STAMP_DAY, sec = t % STAMP_DAY;
	int y, m, d;

	civil_from_days(days, &y, &m, &d);
	put_digits(out, (unsigned)y, 4);
	put_digits(out + 4, (unsigned)m, 2);
	put_digits(out + 6, (unsigned)d, 2);
	put_digits(out + 8, (unsigned)(sec / 3600), 2);
	put_digits(out + 10, (unsigned)(sec / 60 % 60), 2);
	put_digits(out + 12, (unsigned)(sec % 60), 2);
	out[STAMP_LEN] = '\0';
}

void stamp_month(int64_t t, char out[7])
{
	char full[STAMP_LEN + 1];

	stamp_format(t, full);
	for (int i = 0; i < 6; i++)
		out[i] = full[i];
	out[6] = '\0';
}

int64_t stamp_month_index(int64_t t)
{
	int y, m, d;

	civil_from_days(t / STAMP_DAY, &y, &m, &d);
	return (int64_t)y * 12 + m - 1;
}

int64_t stamp_month_start(int64_t month_index)
{
	return stamp_from_civil((int)(month_index / 12), (int)(month_index % 12) + 1, 1, 0, 0, 0);
}
