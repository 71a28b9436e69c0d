/*
 * gen_boss - writes realistic BOSS batch files (shared/boss-files.md) for a
 * simulated province: customers, users, payments, changes, bills and CDRs.
 *
 * Two rounds of files are written into the output folder:
 *   round 1, stamp = start:          <PROV>_<KIND>_<start>_000001.dat, 'A' records
 *   round 2, stamp = start + 1 day:  <PROV>_<KIND>_<start+1d>_000002.dat,
 *       CUST: M for ~2% of customers, A for new customers
 *       USER: M (plan, status, balance) for ~5% of users, A for ~0.5% new users
 *       PAY:  D of ~0.5% of earlier payments, A for the day's payments
 *       CHG:  A for every plan and status change of the USER M records
 *       BILL: M (re-rated items of the last month) for ~1% of users
 *       CDR:  A for the day's calls
 * Applied in (stamp, kind) order the files obey every rule of the interface:
 * no A of an existing key, no M/D of a missing key, references exist, and
 * msisdns are unique (all msisdns are distinct by construction).
 *
 * Everything is derived from (seed, entity index) through tests/sim/rng.h,
 * never from the clock, so the same configuration gives byte-identical
 * files, and a record of round 2 is rebuilt from its index instead of being
 * remembered: memory stays constant whatever the number of users.
 * Each .dat is streamed through a 1 MiB buffer; its .chk is written after
 * it (through a temporary name and a rename) and an old .chk of the same
 * name is removed before the .dat is rewritten.
 */
#ifndef KEFU_SIM_GEN_BOSS_H
#define KEFU_SIM_GEN_BOSS_H

#include "storage/boss.h"

#include <stdbool.h>
#include <stdint.h>

#define GEN_BOSS_USERS_MAX 50000000ULL
#define GEN_BOSS_CUSTS_MAX 50000000ULL
#define GEN_BOSS_MONTHS_MAX 24
#define GEN_BOSS_CDRS_MAX 1000
#define GEN_BOSS_START_DEFAULT "20261101020000"
/* The earliest start: customers are created from 2003 on, 60 days before start at the latest. */
#define GEN_BOSS_START_MIN "20050101000000"
#define GEN_BOSS_ALL_KINDS ((1u << BOSS_KIND_COUNT) - 1)

struct gen_boss_config {
	const char *out_dir;        /* created if missing; borrowed, not freed */
	char prov[BOSS_PROV_MAX + 1]; /* 2..8 of [A-Z0-9] */
	uint64_t users;             /* 1 .. GEN_BOSS_USERS_MAX */
	uint64_t custs;             /* 1 .. GEN_BOSS_CUSTS_MAX; 0 = ceil(users * 0.8) */
	uint64_t seed;
	unsigned months;            /* months of bills, and of CDRs up to 6; 1 .. 24 */
	unsigned cdrs_per_user;     /* 0 .. GEN_BOSS_CDRS_MAX */
	int64_t start;              /* round-1 stamp as a tests/sim/stamp.h count */
	unsigned kinds;             /* bit (1u << enum boss_kind) per kind to write */
	bool changes;               /* write the round-2 files too */
};

/* gen_boss_config_init - the defaults: SC, seed 1, 3 months, 5 CDRs per
 * user, start 20261101020000, all kinds, both rounds; out_dir NULL and
 * users 0, which the caller must set. */
void gen_boss_config_init(struct gen_boss_config *cfg);

/* Called once per file after its .chk is in place; name is the .dat's
 * base name, valid only during the call. */
typedef void (*gen_boss_wrote_fn)(void *arg, const char *name, uint64_t records);

/*
 * gen_boss_run - write the files of cfg into cfg->out_dir, calling wrote
 * (may be NULL) after each one. Files are written in (stamp, kind) order.
 * Returns 0; KF_ECONFIG when cfg is out of bounds (why, if not NULL,
 * receives the reason); -errno for a file system failure (why names the
 * path).
 */
int gen_boss_run(const struct gen_boss_config *cfg, gen_boss_wrote_fn wrote, void *arg,
		 char *why, size_t whylen);

#endif
