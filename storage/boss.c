/*
 * BOSS batch files: kinds, data file names and check files (boss.h).
 * Every function here is pure: it reads the bytes it is given and writes
 * only its out parameters.
 */
#include "storage/boss.h"

#include "lib/err.h"

#include <stdio.h>
#include <string.h>

static const char *const boss_kind_names[BOSS_KIND_COUNT] = {
#define BOSS_KIND_NAME_(e, name) [e] = name,
	BOSS_KINDS(BOSS_KIND_NAME_)
#undef BOSS_KIND_NAME_
};

static const char boss_name_form[] = "name must be <PROV>_<KIND>_<YYYYMMDDHHMMSS>_<SEQ>.dat";

static bool boss_is_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* boss_digits_value - value of len decimal digits already checked. */
static unsigned boss_digits_value(const char *s, size_t len)
{
	unsigned v = 0;

	for (size_t i = 0; i < len; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	return v;
}

const char *boss_kind_name(enum boss_kind kind)
{
	if ((unsigned)kind >= BOSS_KIND_COUNT)
		return NULL;
	return boss_kind_names[kind];
}

int boss_kind_parse(const char *s, size_t len, enum boss_kind *out)
{
	for (unsigned k = 0; k < BOSS_KIND_COUNT; k++) {
		if (strlen(boss_kind_names[k]) == len && memcmp(boss_kind_names[k], s, len) == 0) {
			*out = (enum boss_kind)k;
			return 0;
		}
	}
	return KF_EPARSE;
}

bool boss_stamp_is_valid(const char *s, size_t len)
{
	static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned year, month, day, maxday;

	if ((len != 14 && len != 8 && len != 6) || !boss_is_digits(s, len))
		return false;
	year = boss_digits_value(s, 4);
	month = boss_digits_value(s + 4, 2);
	if (month < 1 || month > 12)
		return false;
	if (len == 6)
		return true;
	day = boss_digits_value(s + 6, 2);
	maxday = mdays[month - 1];
	if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
		maxday = 29;
	if (day < 1 || day > maxday)
		return false;
	if (len == 8)
		return true;
	return boss_digits_value(s + 8, 2) < 24 && boss_digits_value(s + 10, 2) < 60 &&
	       boss_digits_value(s + 12, 2) < 60;
}

/*
 * boss_next_field - end of the field starting at from: the index of the next
 * sep, or len when there is none.
 */
static size_t boss_next_field(const char *s, size_t len, size_t from, char sep)
{
	const char *p = from < len ? memchr(s + from, sep, len - from) : NULL;

	return p ? (size_t)(p - s) : len;
}

int boss_parse_name(const char *name, size_t len, struct boss_name *out, char *why, size_t whylen)
{
	static const char suffix[] = ".dat";
	const size_t sufflen = sizeof(suffix) - 1;
	struct boss_name n;
	size_t u1, u2, u3, seqlen;

	memset(&n, 0, sizeof(n));
	if (len > BOSS_NAME_MAX)
		return kf_refuse(why, whylen, "name is longer than %d bytes", BOSS_NAME_MAX);
	if (len < sufflen || memcmp(name + len - sufflen, suffix, sufflen) != 0)
		return kf_refuse(why, whylen, "name must end in .dat");
	len -= sufflen;

	u1 = boss_next_field(name, len, 0, '_');
	u2 = boss_next_field(name, len, u1 + 1, '_');
	u3 = boss_next_field(name, len, u2 + 1, '_');
	if (u3 >= len)
		return kf_refuse(why, whylen, "%s", boss_name_form);

	if (u1 < 2 || u1 > BOSS_PROV_MAX)
		return kf_refuse(why, whylen, "PROV must be 2-8 upper-case letters or digits");
	for (size_t i = 0; i < u1; i++) {
		char c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return kf_refuse(why, whylen,
					 "PROV must be 2-8 upper-case letters or digits");
	}
	memcpy(n.prov, name, u1);

	if (boss_kind_parse(name + u1 + 1, u2 - u1 - 1, &n.kind) != 0)
		return kf_refuse(why, whylen, "KIND must be one of CUST, USER, PAY, CHG, BILL, CDR");

	if (u3 - u2 - 1 != sizeof(n.stamp) - 1 || !boss_is_digits(name + u2 + 1, u3 - u2 - 1))
		return kf_refuse(why, whylen, "timestamp must be 14 digits YYYYMMDDHHMMSS");
	if (!boss_stamp_is_valid(name + u2 + 1, u3 - u2 - 1))
		return kf_refuse(why, whylen, "timestamp %.14s is not a valid calendar time",
				 name + u2 + 1);
	memcpy(n.stamp, name + u2 + 1, sizeof(n.stamp) - 1);

	seqlen = len - u3 - 1;
	if (seqlen != 6 || !boss_is_digits(name + u3 + 1, 6) ||
	    (n.seq = boss_digits_value(name + u3 + 1, 6)) == 0)
		return kf_refuse(why, whylen, "SEQ must be 6 digits from 000001");

	*out = n;
	return 0;
}

/* boss_parse_u64 - decimal digits only, at least one, no overflow. */
static bool boss_parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || !boss_is_digits(s, len))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

int boss_parse_chk(const char *buf, size_t len, struct boss_chk *out, char *why, size_t whylen)
{
	static const char form[] = "check line must be <data file>|<records>|<bytes>|<sha256>";
	struct boss_chk c;
	struct boss_name dn;
	char sub[128];
	size_t b1, b2, b3;

	memset(&c, 0, sizeof(c));
	if (len > 0 && buf[len - 1] == '\n') {
		len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
	}
	if (len == 0)
		return kf_refuse(why, whylen, "check file is empty");
	if (memchr(buf, '\n', len) || memchr(buf, '\r', len))
		return kf_refuse(why, whylen, "check file must be exactly one line");
	if (buf[len - 1] == ' ' || buf[len - 1] == '\t')
		return kf_refuse(why, whylen, "check line has trailing spaces");

	b1 = boss_next_field(buf, len, 0, '|');
	b2 = boss_next_field(buf, len, b1 + 1, '|');
	b3 = boss_next_field(buf, len, b2 + 1, '|');
	if (b3 >= len || boss_next_field(buf, len, b3 + 1, '|') != len)
		return kf_refuse(why, whylen, "%s", form);

	if (boss_parse_name(buf, b1, &dn, sub, sizeof(sub)) != 0)
		return kf_refuse(why, whylen, "data file name: %s", sub);
	memcpy(c.name, buf, b1);
	if (!boss_parse_u64(buf + b1 + 1, b2 - b1 - 1, &c.records))
		return kf_refuse(why, whylen, "record count must be a decimal number below 2^64");
	if (!boss_parse_u64(buf + b2 + 1, b3 - b2 - 1, &c.bytes))
		return kf_refuse(why, whylen, "byte count must be a decimal number below 2^64");

	if (len - b3 - 1 != BOSS_SHA256_HEX)
		return kf_refuse(why, whylen, "sha256 must be 64 lower-case hex digits");
	for (size_t i = b3 + 1; i < len; i++) {
		char h = buf[i];

		if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f')))
			return kf_refuse(why, whylen, "sha256 must be 64 lower-case hex digits");
	}
	memcpy(c.sha256, buf + b3 + 1, BOSS_SHA256_HEX);

	*out = c;
	return 0;
}
