/* `kefu-sim kb`: options table, then gen_kb_write. See cmd_kb.h. */
#include "tests/sim/cmd_kb.h"

#include "tests/sim/gen_kb.h"
#include "tests/sim/simopt.h"

#include "lib/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct kb_config {
	const char *out;
	uint64_t articles;
	uint64_t seed;
};

SIMOPT_STR(struct kb_config, out)
SIMOPT_U64(struct kb_config, articles, 1, GEN_KB_ARTICLES_MAX)
SIMOPT_U64(struct kb_config, seed, 0, UINT64_MAX)

static const struct simopt kb_opts[] = {
	{"out", "FILE", true, set_out, "file to write (JSON lines); replaced if it exists"},
	{"articles", "N", true, set_articles, "articles to write, 1..10000000"},
	{"seed", "S", true, set_seed, "seed: the same arguments give byte-identical files"},
};

#define KB_NOPTS (sizeof(kb_opts) / sizeof(kb_opts[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: kefu-sim kb --out FILE --articles N --seed S\n"
		   "Writes knowledge-base articles in the import format: one JSON object a line\n"
		   "(title, body, category, keywords, tags, valid_from, valid_to, review_by, state).\n\n"
		   "options:\n");
	simopt_usage(f, kb_opts, KB_NOPTS);
}

int cmd_kb_main(int argc, char **argv)
{
	struct kb_config cfg = {NULL, 0, 0};
	char err[512], tmp[4096];
	uint64_t bytes = 0;
	FILE *f;
	int rc;

	switch (simopt_parse(kb_opts, KB_NOPTS, argc - 1, argv + 1, &cfg, err, sizeof(err))) {
	case SIMOPT_HELP:
		usage(stdout);
		return 0;
	case SIMOPT_BAD:
		fprintf(stderr, "kefu-sim kb: %s\n(kefu-sim kb --help for the options)\n", err);
		return 2;
	case SIMOPT_OK:
		break;
	}
	if (!cfg.out[0]) {
		fprintf(stderr, "kefu-sim kb: --out: the file name is empty\n");
		return 2;
	}
	/* Written under a temporary name, renamed into place when complete. */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", cfg.out) >= sizeof(tmp)) {
		fprintf(stderr, "kefu-sim kb: the file name is too long\n");
		return 2;
	}
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "kefu-sim kb: %s: %s\n", tmp, strerror(errno));
		return 1;
	}
	rc = gen_kb_write(f, cfg.seed, cfg.articles, &bytes);
	if (fclose(f) != 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, cfg.out) != 0)
		rc = -errno;
	if (rc) {
		fprintf(stderr, "kefu-sim kb: %s: %s\n", cfg.out, kf_strerror(rc));
		remove(tmp);
		return 1;
	}
	printf("wrote %s %llu %llu\n", cfg.out, (unsigned long long)cfg.articles,
	       (unsigned long long)bytes);
	return 0;
}
