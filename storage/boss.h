/*
 * BOSS batch files: kinds, file names and check files (shared/boss-files.md).
 * Pure parsers: bytes in, structs out; no I/O, no globals.
 */
#ifndef KEFU_STORAGE_BOSS_H
#define KEFU_STORAGE_BOSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* X(enum, name). Order is the order of dependence: CUST before USER before
 * the kinds that refer to users. */
#define BOSS_KINDS(X)        \
	X(BOSS_CUST, "CUST") \
	X(BOSS_USER, "USER") \
	X(BOSS_PAY, "PAY")   \
	X(BOSS_CHG, "CHG")   \
	X(BOSS_BILL, "BILL") \
	X(BOSS_CDR, "CDR")

enum boss_kind {
#define BOSS_KIND_ENUM_(e, name) e,
	BOSS_KINDS(BOSS_KIND_ENUM_)
#undef BOSS_KIND_ENUM_
	BOSS_KIND_COUNT
};

#define BOSS_PROV_MAX 8
#define BOSS_NAME_MAX 255   /* a file name, as on Linux */
#define BOSS_SHA256_HEX 64

/* boss_kind_name - "CUST"...; static; NULL for an invalid kind. */
const char *boss_kind_name(enum boss_kind kind);

/* boss_kind_parse - exact, case-sensitive. Returns 0 or KF_EPARSE. */
int boss_kind_parse(const char *s, size_t len, enum boss_kind *out);

/*
 * boss_stamp_is_valid - s[0..len) is a valid calendar time written as
 * YYYYMMDDHHMMSS (len 14), YYYYMMDD (len 8) or YYYYMM (len 6): digits only,
 * month 1..12, day within the month (Gregorian leap years), hour < 24,
 * minute and second < 60. Any other len is false.
 */
bool boss_stamp_is_valid(const char *s, size_t len);

/* A parsed data file name: <PROV>_<KIND>_<YYYYMMDDHHMMSS>_<SEQ>.dat */
struct boss_name {
	char prov[BOSS_PROV_MAX + 1];
	enum boss_kind kind;
	char stamp[15];   /* YYYYMMDDHHMMSS, a valid calendar time */
	uint32_t seq;     /* 1 .. 999999 */
};

/*
 * boss_parse_name - parse a data file's base name (no directory), which must
 * end in ".dat". On KF_EPARSE, why (may be NULL) receives a reason such as
 * "SEQ must be 6 digits from 000001".
 * Returns 0, KF_EPARSE.
 */
int boss_parse_name(const char *name, size_t len, struct boss_name *out, char *why, size_t whylen);

/* The one line of a .chk file: <data file name>|<records>|<bytes>|<sha256> */
struct boss_chk {
	char name[BOSS_NAME_MAX + 1];
	uint64_t records;
	uint64_t bytes;
	char sha256[BOSS_SHA256_HEX + 1]; /* lower-case hex */
};

/*
 * boss_parse_chk - parse the contents of a .chk file: exactly one line,
 * optionally ended by "\n" (or "\r\n"), no spaces, decimal counts without
 * sign or leading '+', sha256 as 64 lower-case hex digits.
 * Returns 0, KF_EPARSE (why says what is wrong).
 */
int boss_parse_chk(const char *buf, size_t len, struct boss_chk *out, char *why, size_t whylen);

#endif
