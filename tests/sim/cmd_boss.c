/* `kefu-sim boss`: options table, then gen_boss_run. See cmd_boss.h. */
#include "tests/sim/cmd_boss.h"

#include "tests/sim/gen_boss.h"
#include "tests/sim/simopt.h"
#include "tests/sim/stamp.h"

#include "lib/err.h"

#include <stdio.h>
#include <string.h>

static int set_out(void *ctx, const char *val, char *why, size_t whylen)
{
	struct gen_boss_config *c = ctx;

	if (!val[0]) {
		snprintf(why, whylen, "the folder name is empty");
		return KF_EPARSE;
	}
	c->out_dir = val;
	return 0;
}

static int set_users(void *ctx, const char *val, char *why, size_t whylen)
{
	struct gen_boss_config *c = ctx;

	return simopt_u64(val, 1, GEN_BOSS_USERS_MAX, &c->users, why, whylen);
}

static int set_custs(void *ctx, const char *val, char *why, size_t whylen)
{
	struct gen_boss_config *c = ctx;

	return simopt_u64(val, 1, GEN_BOSS_CUSTS_MAX, &c->custs, why, whylen);
}

static int set_seed(void *ctx, const char *val, char *why, size_t whylen)
{
	struct gen_boss_config *c = ctx;

	return simopt_u64(val, 0, UINT64_MAX, &c->seed, why, whylen);
}

static int set_months(void *ctx, const char *val, char *why, size_t whylen)
{
	struct gen_boss_config *c = ctx;
	uint64_t v;
	int rc = simopt_u64(val, 1, GEN_BOSS_MONTHS_MAX, &v, why, whylen);

	if (!rc)
		c->months = (unsigned)v;
	return rc;
}

static int set_cdrs(void *ctx, const char *val, char *why, size_t whylen)
{
	struct gen_boss_config *c = ctx;
	uint64_t v;
	int rc = simopt_u64(val, 0, GEN_BOSS_CDRS_MAX, &v, why, whylen);

	if (!rc)
		c->cdrs_per_user = (unsigned)v;
	return rc;
}

static int set_prov(void *ctx, const char *val, char *why, size_t whylen)
{
	struct gen_boss_config *c = ctx;
	size_t n = strlen(val);

	for (size_t i = 0; i < n; i++)
		if (!((val[i] >= 'A' && val[i] <= 'Z') || (val[i] >= '0' && val[i] <= '9')))
			n = 0;
	if (n < 2 || n > BOSS_PROV_MAX) {
		snprintf(why, whylen, "'%s' is not 2 to 8 of A-Z and 0-9", val);
		return KF_EPARSE;
	}
	memcpy(c->prov, val, n + 1);
	return 0;
}

static int set_start(void *ctx, const char *val, char *why, size_t whylen)
{
	struct gen_boss_config *c = ctx;
	int64_t t, lo;

	stamp_parse(GEN_BOSS_START_MIN, &lo);
	if (strlen(val) != STAMP_LEN || stamp_parse(val, &t) != 0 || t < lo ||
	    memcmp(val, "9999", 4) == 0) {
		snprintf(why, whylen, "'%s' is not a valid time YYYYMMDDHHMMSS in years %.4s..9998", val,
			 GEN_BOSS_START_MIN);
		return KF_EPARSE;
	}
	c->start = t;
	return 0;
}

static int set_kinds(void *ctx, const char *val, char *why, size_t whylen)
{
	struct gen_boss_config *c = ctx;
	const char *p = val;

	c->kinds = 0;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		enum boss_kind k;

		if (boss_kind_parse(p, len, &k) != 0) {
			snprintf(why, whylen, "'%.*s' is not one of CUST, USER, PAY, CHG, BILL, CDR",
				 (int)len, p);
			return KF_EPARSE;
		}
		c->kinds |= 1u << k;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

static int set_no_changes(void *ctx, const char *val, char *why, size_t whylen)
{
	struct gen_boss_config *c = ctx;

	(void)val;
	(void)why;
	(void)whylen;
	c->changes = false;
	return 0;
}

static const struct simopt boss_opts[] = {
	{"out", "DIR", true, set_out, "folder to write into; created if missing"},
	{"users", "N", true, set_users, "users (subscribers) in the first files, 1..50000000"},
	{"seed", "S", true, set_seed, "seed: the same arguments give byte-identical files"},
	{"prov", "SC", false, set_prov, "province code in the file names (default SC; GD known too)"},
	{"custs", "M", false, set_custs, "customers (default ceil(N*0.8))"},
	{"months", "K", false, set_months, "months of bills, and of CDRs up to 6 (default 3)"},
	{"cdrs-per-user", "C", false, set_cdrs, "CDRs per user in the first file (default 5)"},
	{"start", "YYYYMMDDHHMMSS", false, set_start,
	 "stamp of the first files; the second ones are a day later (default " GEN_BOSS_START_DEFAULT ")"},
	{"kinds", "CUST,USER,...", false, set_kinds, "kinds to write (default all six)"},
	{"no-changes", NULL, false, set_no_changes, "write only the 000001 files, no modification files"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: kefu-sim boss --out DIR --users N --seed S [options]\n"
		   "Writes BOSS batch files (.dat and .chk) as the billing system delivers them:\n"
		   "<PROV>_<KIND>_<stamp>_000001 with A records, then <PROV>_<KIND>_<stamp+1d>_000002\n"
		   "with the next day's changes.\n\noptions:\n");
	simopt_usage(f, boss_opts, sizeof(boss_opts) / sizeof(boss_opts[0]));
}

static void print_wrote(void *arg, const char *name, uint64_t records)
{
	(void)arg;
	printf("wrote %s %llu\n", name, (unsigned long long)records);
	fflush(stdout);
}

int cmd_boss_main(int argc, char **argv)
{
	struct gen_boss_config cfg;
	char err[512];
	int rc;

	gen_boss_config_init(&cfg);
	switch (simopt_parse(boss_opts, sizeof(boss_opts) / sizeof(boss_opts[0]), argc - 1, argv + 1,
			     &cfg, err, sizeof(err))) {
	case SIMOPT_HELP:
		usage(stdout);
		return 0;
	case SIMOPT_BAD:
		fprintf(stderr, "kefu-sim boss: %s\n(kefu-sim boss --help for the options)\n", err);
		return 2;
	case SIMOPT_OK:
		break;
	}
	err[0] = '\0';
	rc = gen_boss_run(&cfg, print_wrote, NULL, err, sizeof(err));
	if (rc == KF_ECONFIG) {
		fprintf(stderr, "kefu-sim boss: %s\n", err);
		return 2;
	}
	if (rc) {
		fprintf(stderr, "kefu-sim boss: %s\n", err[0] ? err : kf_strerror(rc));
		return 1;
	}
	return 0;
}
