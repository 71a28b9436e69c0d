/*
 * libFuzzer target for bossrec_parse. The first byte chooses the kind
 * (modulo the number of kinds: '0' CUST ... '5' CDR), the rest is the line.
 * A parsed record must hold its schema's promises, and escaping its values
 * back must give the same line, which must parse to the same record.
 */
#include "storage/bossrec.h"

#include "lib/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bossrec rec, again;
static char line2[BOSSREC_LINE_MAX + 1];

/* A refusal names a real field (or the line) and gives a reason; only a
 * line over the limit is KF_ETOOBIG. */
static void check_error(int rc, size_t len, const struct bossrec_error *err, unsigned n)
{
	if (rc != KF_EPARSE && rc != KF_ETOOBIG)
		abort();
	if (rc == KF_ETOOBIG && len <= BOSSREC_LINE_MAX)
		abort();
	if (err->field < -1 || err->field >= (int)n)
		abort();
	if (memchr(err->reason, '\0', sizeof(err->reason)) == NULL || err->reason[0] == '\0')
		abort();
}

/* What a parsed record promises: values in buf, NUL-terminated without
 * inner NULs, keys and required fields present, numbers in bounds. */
static void check_record(const struct bossrec *r, const struct bossrec_field *f, unsigned n)
{
	if (r->nfields != n || (r->op != 'A' && r->op != 'M' && r->op != 'D'))
		abort();
	for (unsigned i = 0; i < n; i++) {
		const char *v = r->val[i];

		if (v < r->buf || v + r->len[i] >= r->buf + sizeof(r->buf) || v[r->len[i]] != '\0' ||
		    memchr(v, '\0', r->len[i]) != NULL)
			abort();
		if (r->len[i] == 0 && (f[i].key || (f[i].required && r->op != 'D')))
			abort();
		if (f[i].type == BR_INT && r->len[i] > 0 && (r->num[i] < f[i].min || r->num[i] > f[i].max))
			abort();
	}
}

/* Escape every value back into line2; trailing non-key fields left empty
 * in a D are left out, as the shortest form of the line. */
static size_t rebuild(const struct bossrec *r, const struct bossrec_field *f, unsigned n)
{
	unsigned m = n, keyend = 0;
	size_t w = 0;

	for (unsigned i = 0; i < n; i++)
		if (f[i].key)
			keyend = i + 1;
	if (r->op == 'D') {
		m = keyend;
		for (unsigned i = keyend; i < n; i++)
			if (r->len[i] > 0)
				m = n;
	}
	line2[w++] = r->op;
	for (unsigned i = 0; i < m; i++) {
		size_t need;

		line2[w++] = '|';
		need = bossrec_escape(r->val[i], r->len[i], line2 + w, sizeof(line2) - w);
		if (need > sizeof(line2) - w)
			abort();
		w += need;
	}
	return w;
}

/* bossrec_escape reports the full length and stays within a short cap. */
static void check_escape_cap(const char *v, size_t len)
{
	size_t need = bossrec_escape(v, len, NULL, 0), cap = need / 2;
	char *small = malloc(cap ? cap : 1);

	if (!small)
		abort();
	if (bossrec_escape(v, len, small, cap) != need)
		abort();
	free(small);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum boss_kind kind;
	struct bossrec_error err = {0, ""};
	const struct bossrec_field *f;
	const char *line;
	size_t len, len2;
	unsigned n;
	int rc;

	if (size < 1)
		return 0;
	kind = (enum boss_kind)(data[0] % BOSS_KIND_COUNT);
	line = (const char *)data + 1;
	len = size - 1;
	f = bossrec_schema(kind, &n);

	rc = bossrec_parse(kind, line, len, &rec, &err);
	if (rc != 0) {
		check_error(rc, len, &err, n);
		return 0;
	}
	if (len > BOSSREC_LINE_MAX + 1)
		abort();
	check_record(&rec, f, n);

	/* The line is exactly the escaped values (less a final '\r' and the
	 * empty tail of a D given in full). */
	if (len > 0 && line[len - 1] == '\r')
		len--;
	len2 = rebuild(&rec, f, n);
	if (len2 > len || memcmp(line2, line, len2) != 0)
		abort();
	for (size_t i = len2; i < len; i++)
		if (line[i] != '|')
			abort();

	if (bossrec_parse(kind, line2, len2, &again, &err) != 0)
		abort();
	if (again.op != rec.op || again.nfields != rec.nfields)
		abort();
	for (unsigned i = 0; i < n; i++) {
		if (again.len[i] != rec.len[i] || memcmp(again.val[i], rec.val[i], rec.len[i]) != 0 ||
		    again.num[i] != rec.num[i])
			abort();
		check_escape_cap(rec.val[i], rec.len[i]);
	}
	return 0;
}
