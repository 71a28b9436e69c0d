/* Table-driven command-line options. See simopt.h. */
#include "tests/sim/simopt.h"

#include "lib/err.h"

#include <string.h>

int simopt_u64(const char *val, uint64_t min, uint64_t max, uint64_t *out, char *why,
	       size_t whylen)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; val[i]; i++) {
		unsigned d = (unsigned)(val[i] - '0');

		if (val[i] < '0' || val[i] > '9' || v > (UINT64_MAX - d) / 10)
			break;
		v = v * 10 + d;
	}
	if (i == 0 || val[i] || v < min || v > max) {
		snprintf(why, whylen, "'%s' is not a number in %llu..%llu", val,
			 (unsigned long long)min, (unsigned long long)max);
		return KF_EPARSE;
	}
	*out = v;
	return 0;
}

static const struct simopt *find(const struct simopt *t, unsigned n, const char *name, size_t len)
{
	for (unsigned i = 0; i < n; i++)
		if (strlen(t[i].name) == len && memcmp(t[i].name, name, len) == 0)
			return &t[i];
	return NULL;
}

enum simopt_result simopt_parse(const struct simopt *t, unsigned n, int argc, char **argv,
				void *ctx, char *err, size_t errlen)
{
	bool seen[SIMOPT_MAX] = {false};
	char why[256];

	if (n > SIMOPT_MAX) {
		snprintf(err, errlen, "too many options in the table");
		return SIMOPT_BAD;
	}
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *eq, *val;
		const struct simopt *o;
		size_t len;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return SIMOPT_HELP;
		if (strncmp(a, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument '%s'", a);
			return SIMOPT_BAD;
		}
		a += 2;
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a) : strlen(a);
		o = find(t, n, a, len);
		if (!o) {
			snprintf(err, errlen, "unknown option '--%.*s'", (int)len, a);
			return SIMOPT_BAD;
		}
		if (seen[o - t]) {
			snprintf(err, errlen, "--%s given twice", o->name);
			return SIMOPT_BAD;
		}
		seen[o - t] = true;
		if (!o->meta) {
			if (eq) {
				snprintf(err, errlen, "--%s takes no value", o->name);
				return SIMOPT_BAD;
			}
			val = NULL;
		} else if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			snprintf(err, errlen, "--%s needs a value (%s)", o->name, o->meta);
			return SIMOPT_BAD;
		}
		why[0] = '\0';
		if (o->set(ctx, val, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "--%s: %s", o->name, why[0] ? why : "invalid value");
			return SIMOPT_BAD;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		if (t[i].required && !seen[i]) {
			snprintf(err, errlen, "--%s is required", t[i].name);
			return SIMOPT_BAD;
		}
	}
	return SIMOPT_OK;
}

void simopt_usage(FILE *f, const struct simopt *t, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		char left[64];

		snprintf(left, sizeof(left), "--%s%s%s", t[i].name, t[i].meta ? " " : "",
			 t[i].meta ? t[i].meta : "");
		fprintf(f, "  %-28s %s%s\n", left, t[i].help, t[i].required ? " (required)" : "");
	}
}
