/*
 * BOSS records: one line of a batch file, split, unescaped and validated
 * against its kind's schema (shared/boss-files.md, "Records").
 * A pure parser: bytes in, a struct bossrec out; no I/O, no globals.
 */
#ifndef KEFU_STORAGE_BOSSREC_H
#define KEFU_STORAGE_BOSSREC_H

#include "storage/boss.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest accepted line, bytes, without its "\n". Longer is an error. */
#define BOSSREC_LINE_MAX 16384
/* Most data fields of any kind (CUST has 10). */
#define BOSSREC_MAX_FIELDS 10

enum bossrec_type {
	BR_TEXT,   /* UTF-8 without control characters but an escaped newline, up to max_len bytes */
	BR_ID,     /* [0-9A-Za-z_.-]+, up to max_len */
	BR_PHONE,  /* digits, optional leading '+', up to max_len */
	BR_TIME,   /* YYYYMMDDHHMMSS, a valid calendar time */
	BR_DATE,   /* YYYYMMDD */
	BR_MONTH,  /* YYYYMM */
	BR_INT,    /* decimal integer in [min, max]; money in fen is BR_INT */
	BR_ENUM,   /* one of values[] */
};

struct bossrec_field {
	const char *name;      /* as in boss-files.md: "user_id" */
	enum bossrec_type type;
	uint16_t max_len;      /* bytes, for BR_TEXT/BR_ID/BR_PHONE */
	bool key;              /* part of the record's key */
	bool required;         /* must not be empty in A and M */
	int64_t min, max;      /* BR_INT bounds */
	const char *const *values; /* BR_ENUM, NULL-terminated */
};

/*
 * bossrec_schema - the fields of a kind after the operation, in file order.
 * Returns a static array and its length in *n; NULL for an invalid kind.
 */
const struct bossrec_field *bossrec_schema(enum boss_kind kind, unsigned *n);

/* bossrec_field_index - index of a field by name in kind's schema, or -1. */
int bossrec_field_index(enum boss_kind kind, const char *name);

struct bossrec {
	enum boss_kind kind;
	char op;               /* 'A', 'M' or 'D' */
	unsigned nfields;      /* schema length; fields missing in a D are empty */
	/* Unescaped values, each NUL-terminated, pointing into buf. len 0 = no value. */
	const char *val[BOSSREC_MAX_FIELDS];
	size_t len[BOSSREC_MAX_FIELDS];
	/* The value of each non-empty BR_INT field. */
	int64_t num[BOSSREC_MAX_FIELDS];
	char buf[BOSSREC_LINE_MAX + BOSSREC_MAX_FIELDS + 1];
};

struct bossrec_error {
	int field;             /* schema index of the bad field, -1 for the line as a whole */
	char reason[256];      /* e.g. "vip_level: '9' is not in 0..4" */
};

/*
 * bossrec_parse - parse one line (without "\n"; a final "\r" is dropped).
 * A and M need every field of the schema; D needs the key fields and may
 * stop after the last of them or give all fields. Empty = no value; a
 * required field may not be empty in A/M, a key field never.
 * Unescapes "\|", "\\" and "\n"; any other backslash sequence, a NUL or
 * other control byte, or invalid UTF-8 is an error.
 * Returns 0, or KF_EPARSE / KF_ETOOBIG with err filled (err may be NULL).
 * out is entirely overwritten; it holds no pointers to line.
 */
int bossrec_parse(enum boss_kind kind, const char *line, size_t len, struct bossrec *out,
		  struct bossrec_error *err);

/*
 * bossrec_escape - escape one field value for writing a record: '|' ->
 * "\|", '\' -> "\\", newline -> "\n". Writes at most cap bytes to out and
 * returns the length the full escape needs (like snprintf, no NUL added).
 */
size_t bossrec_escape(const char *in, size_t len, char *out, size_t cap);

#endif
