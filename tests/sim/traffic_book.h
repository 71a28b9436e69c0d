/*
 * traffic_book - the calling numbers of `kefu-sim traffic`, per tier.
 *
 * Reads the CUST and USER files that `kefu-sim boss` wrote (or any BOSS
 * files following /work/shared/boss-files.md) in BOSS order (stamp, kind,
 * SEQ), applies their A/M/D records to the last state of each customer and
 * user, and files every user that is not cancelled (status 4) under its
 * customer's vip_level. Records that do not parse are skipped and counted:
 * the cluster's importer is the judge of the files, not this reader.
 *
 * The book owns its arrays; traffic_book_release frees them. Numbers are
 * NUL-terminated and stay valid until then.
 */
#ifndef KEFU_SIM_TRAFFIC_BOOK_H
#define KEFU_SIM_TRAFFIC_BOOK_H

#include "tests/sim/rng.h"
#include "tests/sim/traffic_stats.h"

#include <stddef.h>
#include <stdint.h>

#define TRAFFIC_NUM_MAX 20          /* msisdn: BOSS allows 20 characters */
#define TRAFFIC_BOOK_RECORDS_MAX 50000000u /* CUST plus USER records read, at most */
#define TRAFFIC_BOOK_FILES_MAX 4096

struct traffic_book {
	char (*num[TRAFFIC_TIERS])[TRAFFIC_NUM_MAX + 1];
	size_t n[TRAFFIC_TIERS];
	uint64_t skipped;               /* lines that did not parse */
};

/*
 * traffic_book_files - the .dat files of dir whose names parse as BOSS
 * names (of the kinds in kinds_mask, bit 1 << enum boss_kind; ~0u for
 * all), in BOSS order, as "dir/name" paths into a new array of *n strings
 * (the caller frees each and the array). Returns 0, -errno (dir cannot be
 * read), KF_ETOOBIG (more than TRAFFIC_BOOK_FILES_MAX files).
 */
int traffic_book_files(const char *dir, unsigned kinds_mask, char ***paths, size_t *n);

/*
 * traffic_book_load - fill b (zeroed first) from the CUST and USER files
 * of dir. Returns 0; -errno (a file cannot be read; why names it),
 * KF_ETOOBIG (over TRAFFIC_BOOK_RECORDS_MAX records), KF_ENOTFOUND (no
 * user numbers at all).
 */
int traffic_book_load(struct traffic_book *b, const char *dir, char *why, size_t whylen);

/* traffic_book_release - free b's arrays; NULL-safe fields, b may be zeroed. */
void traffic_book_release(struct traffic_book *b);

/* traffic_book_pick - a number of tier drawn from r, or NULL when the tier has none. */
const char *traffic_book_pick(const struct traffic_book *b, unsigned tier, struct rng *r);

#endif
