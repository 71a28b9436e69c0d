/*
 * Table-driven configuration.
 *
 * A program describes its options as one array of struct conf_option rows;
 * parsing, validation, defaults, --help text and reload all read that one
 * table. Values land in the caller's own struct at each row's offset:
 *
 *   type           field in the target struct       min / max bound
 *   CONF_STRING    char[size]                      length in bytes
 *   CONF_PATH      char[size], no control chars    length in bytes
 *   CONF_ADDRESS   char[size], "HOST:PORT"         length in bytes
 *   CONF_INT       int64_t                         value
 *   CONF_BOOL      bool                            (unused)
 *   CONF_SIZE      int64_t bytes                   value in bytes
 *   CONF_DURATION  int64_t milliseconds            value in ms
 *   CONF_FRACTION  int64_t thousandths             value in thousandths
 *
 * For numbers, min == max == 0 means "no bounds" (sizes, durations and
 * fractions are never negative). For the three text types the value must
 * fit size - 1 bytes; max (if not 0) lowers that, and min > 0 makes the
 * option required: conf_check() refuses it while empty.
 *
 * Values as text:
 *   bool       true/false, yes/no, on/off, 1/0 (any case)
 *   size       digits with an optional K, M, G or T suffix (binary: 1K = 1024)
 *   duration   digits with a required unit ms, s, m, h or d ("0" alone is allowed)
 *   fraction   digits with at most 3 decimals ("1", "0.5", "1.25", ".75"), or a
 *              percentage with at most 1 decimal ("50%" = 0.5, "12.5%")
 *   address    HOST:PORT, HOST a name, IPv4 address or [IPv6], PORT 1..65535
 *
 * File format: one "name = value" per line; blank lines; lines whose first
 * non-blank character is '#' are comments (a '#' after a value is part of
 * the value). A value may be wrapped in double quotes, inside which \" and
 * \\ stand for a quote and a backslash; surrounding blanks are trimmed
 * otherwise. "\r\n" line ends are accepted. Limits: CONF_LINE_MAX bytes per
 * line, CONF_TEXT_MAX bytes in all.
 *
 * All functions are pure over their arguments: no files, no globals. A table
 * whose rows disagree with their field sizes is a programming error and
 * aborts (assert).
 */
#ifndef KEFU_LIB_CONF_H
#define KEFU_LIB_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONF_LINE_MAX 4096
#define CONF_TEXT_MAX (1024 * 1024)
#define CONF_ERR_MAX 256

/* X(enum, name shown in --help) */
#define CONF_TYPES(X)                   \
	X(CONF_STRING, "string")        \
	X(CONF_INT, "int")              \
	X(CONF_BOOL, "bool")            \
	X(CONF_SIZE, "size")            \
	X(CONF_DURATION, "duration")    \
	X(CONF_ADDRESS, "address")      \
	X(CONF_PATH, "path")            \
	X(CONF_FRACTION, "fraction")

enum conf_type {
#define CONF_TYPE_ENUM_(id, name) id,
	CONF_TYPES(CONF_TYPE_ENUM_)
#undef CONF_TYPE_ENUM_
};

struct conf_option {
	const char *name;       /* [a-z0-9_]+ */
	enum conf_type type;
	const char *def;        /* default, as it would be written in a file; NULL = "" */
	int64_t min, max;       /* bounds, see above */
	bool reloadable;        /* conf_reload may change it in a running program */
	size_t offset;          /* offsetof(target struct, field) */
	size_t size;            /* sizeof the field */
	const char *help;       /* one line */
};

/* Row helper: CONF_ROW(struct cfg, field, "name", CONF_INT, "10", 1, 100, false, "help") */
#define CONF_ROW(stype, field, name, type, def, min, max, reload, help) \
	{(name), (type), (def), (min), (max), (reload), offsetof(stype, field), \
	 sizeof(((stype *)0)->field), (help)}

/*
 * Why a call failed. line is the 1-based file line, 0 when the error is not
 * tied to a line (conf_set, conf_check, size of the whole text). msg is one
 * line such as "line 4: listen_port: 70000 is above the maximum 65535".
 */
struct conf_err {
	int line;
	char msg[CONF_ERR_MAX];
};

/*
 * conf_defaults - set every option of target to its default. Defaults are
 * part of the program and must parse; one that does not aborts.
 */
void conf_defaults(const struct conf_option *table, size_t n, void *target);

/*
 * conf_parse - apply the options named in text[0..len) on top of what
 * target holds (normally its defaults). text need not be NUL-terminated.
 * Options not named keep their value. On error target may hold some of the
 * file's values: parse into a scratch copy when that matters (see
 * conf_reload).
 * Returns 0, or, with err filled:
 *   KF_ETOOBIG  text over CONF_TEXT_MAX, or a line over CONF_LINE_MAX
 *   KF_EPARSE   a line that is not "name = value", a bad quote or escape, a NUL byte
 *   KF_ECONFIG  an unknown name, a name given twice, a value that is wrong or out of bounds
 */
int conf_parse(const struct conf_option *table, size_t n, void *target, const char *text,
	       size_t len, struct conf_err *err);

/*
 * conf_set - set one option from a NUL-terminated value, as given on a
 * command line (no quote processing). A later conf_set of the same name
 * wins. Returns 0, KF_ECONFIG (unknown name, bad value) with err filled.
 */
int conf_set(const struct conf_option *table, size_t n, void *target, const char *name,
	     const char *value, struct conf_err *err);

/*
 * conf_check - what conf_parse cannot see line by line: required options
 * (min > 0 on a text type) that are still empty.
 * Returns 0, KF_ECONFIG with err filled.
 */
int conf_check(const struct conf_option *table, size_t n, const void *target,
	       struct conf_err *err);

/*
 * conf_number - one value of a number type (CONF_INT, CONF_SIZE,
 * CONF_DURATION, CONF_FRACTION) as it would be written in a file, for
 * values inside a larger text of the program's own ("general:0s,billing:2m").
 * Returns 0, KF_EPARSE (not such a number), KF_ETOOBIG (out of range),
 * -EINVAL (type is not a number type).
 */
int conf_number(enum conf_type type, const char *text, int64_t *out);

/*
 * conf_find - the row named name, or NULL.
 */
const struct conf_option *conf_find(const struct conf_option *table, size_t n, const char *name);

/*
 * conf_format - write opt's current value in target as text (as it would be
 * written in a file, sizes and durations with the largest exact unit,
 * fractions with no more decimals than needed) into buf[size]; truncates
 * to fit. Returns buf.
 */
char *conf_format(const struct conf_option *opt, const void *target, char *buf, size_t size);

/*
 * conf_write_quoted - v written to f as a double-quoted value, \ and "
 * escaped, so that conf_parse reads back exactly v.
 */
void conf_write_quoted(FILE *f, const char *v);

/*
 * conf_help - print one block per option: name, type, default, bounds,
 * "reloadable" when it is, and the help line.
 */
void conf_help(const struct conf_option *table, size_t n, FILE *out);

/* conf_man - the same blocks as conf_help, as roff tagged paragraphs (lib/roff.h). */
void conf_man(const struct conf_option *table, size_t n, FILE *out);

/* Called by conf_reload for each option whose value differs. */
typedef void (*conf_change_fn)(void *arg, const struct conf_option *opt, bool applied);

/*
 * conf_reload - bring a running configuration current to a freshly built
 * and checked one (fresh: defaults, then the file, then any overrides, then
 * conf_check, all done by the caller on its own copy). For every option
 * whose value differs, reloadable ones are copied into current and fn is
 * told applied = true; the others are left alone and fn is told applied =
 * false (they need a restart). fn may be NULL.
 * Returns the number of changed options that were not applied.
 */
size_t conf_reload(const struct conf_option *table, size_t n, void *current, const void *fresh,
		   conf_change_fn fn, void *arg);

#endif
