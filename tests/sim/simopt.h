/*
 * simopt - command-line options of kefu-sim subcommands, as a table.
 *
 * One row per option: its name, the word shown for its value, its help
 * text, whether it is required, and a setter that parses the value into
 * the subcommand's own configuration. Parsing, the required check and the
 * --help text all read the same table.
 */
#ifndef KEFU_SIM_SIMOPT_H
#define KEFU_SIM_SIMOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A setter: parse val (NULL for a flag) into ctx. Returns 0, or KF_EPARSE
 * with why set to a reason such as "'x' is not a number in 1..50000000". */
typedef int (*simopt_set_fn)(void *ctx, const char *val, char *why, size_t whylen);

struct simopt {
	const char *name;     /* without dashes: "users" for --users */
	const char *meta;     /* "N"; NULL for a flag that takes no value */
	bool required;
	simopt_set_fn set;
	const char *help;
};

#define SIMOPT_MAX 32     /* rows per table */

enum simopt_result {
	SIMOPT_OK = 0,    /* every option parsed and set */
	SIMOPT_HELP = 1,  /* --help or -h was given: the caller prints usage */
	SIMOPT_BAD = 2,   /* an error; err holds the message for the user */
};

/*
 * simopt_parse - parse argv[0..argc-1] ("--name value" or "--name=value",
 * each option at most once) through table t of n rows into ctx. On
 * SIMOPT_BAD err (cap errlen) names the option and the reason.
 */
enum simopt_result simopt_parse(const struct simopt *t, unsigned n, int argc, char **argv,
				void *ctx, char *err, size_t errlen);

/* simopt_usage - the option lines of t, one per row, to f. */
void simopt_usage(FILE *f, const struct simopt *t, unsigned n);

/*
 * simopt_u64 - val as a decimal number in [min, max] into *out: digits
 * only, no sign, no spaces. Returns 0 or KF_EPARSE with why filled.
 */
int simopt_u64(const char *val, uint64_t min, uint64_t max, uint64_t *out, char *why,
	       size_t whylen);

/*
 * SIMOPT_STR(T, field) - defines set_<field>, a setter that keeps the
 * value (a pointer into argv) in ((T *)ctx)->field.
 */
#define SIMOPT_STR(T, field)                                                         \
	static int set_##field(void *ctx, const char *val, char *why, size_t whylen) \
	{                                                                            \
		(void)why;                                                           \
		(void)whylen;                                                        \
		((T *)ctx)->field = val;                                             \
		return 0;                                                            \
	}

/*
 * SIMOPT_U64(T, field, min, max) - defines set_<field>, a setter that
 * parses the value with simopt_u64 into ((T *)ctx)->field (a uint64_t).
 */
#define SIMOPT_U64(T, field, min, max)                                               \
	static int set_##field(void *ctx, const char *val, char *why, size_t whylen) \
	{                                                                            \
		return simopt_u64(val, min, max, &((T *)ctx)->field, why, whylen);   \
	}

#endif
