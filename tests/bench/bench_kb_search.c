/*
 * bench_kb_search - the knowledge base's search index (storage/kbindex.h):
 * how fast it is built, how large it is, and how long a search takes,
 * against a plain substring scan of the same articles.
 *
 *   bench_kb_search --corpus FILE --db DIR [--rounds R]
 *
 * FILE holds articles as `kefu-sim kb` writes them (JSON lines). DIR must
 * not exist: a fresh store is made there and removed at the end.
 *
 *   1. Every article is read (title, keywords joined by spaces, body),
 *      stored as the node stores it (storage/kb.h: the article, its live
 *      version) and indexed as that version's document through one builder,
 *      all in one write transaction committed with its fsync: articles per
 *      second (the records' own writing included).
 *   2. The index's size: its keys and values (kbindex_stat) and the pages
 *      the environment uses, against the bytes of the articles' text.
 *   3. Queries of each kind (one character, quoted phrase, pinyin initials,
 *      full pinyin, traditional characters, full-width forms, mixed), R
 *      rounds of each kind's list (default 20) after one round not timed,
 *      each search in a fresh read transaction, 10 hits, through kb_search
 *      as a node answers an agent: every candidate that could enter the
 *      results is read and checked (state, validity) and boosted by its
 *      use: p50 and p99 per kind.
 *   4. Baseline, in the same run: the one-character and phrase queries as
 *      a substring scan (memmem) over every article's text, each once per
 *      round for 3 rounds: p50 and p99.
 *
 * Prints: articles=N index_s=X index_rate=N text_bytes=N index_bytes=N
 *         db_bytes=N terms=N postings=N <kind>_p50_us=X <kind>_p99_us=X ... scan_p50_us=X
 *         scan_p99_us=X (one line)
 * Exit 0 on success, 1 when a kind's queries find nothing, 2 on bad usage,
 * a corpus that does not parse, or a storage error. With BENCH_KB_KEEP_DB
 * set in the environment, DIR is kept.
 */
#include "lib/err.h"
#include "storage/batch.h"
#include "storage/kb.h"
#include "storage/kbindex.h"
#include "storage/store.h"
#include "tests/bench/bench_util.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCAN_ROUNDS 3

struct article {
	char *text[KBINDEX_FIELDS];
	size_t len[KBINDEX_FIELDS];
};

struct kind {
	const char *name;
	const char *queries[8];
	bool scan; /* Han text a substring scan can look for as it is */
};

static const struct kind kinds[] = {
	{"one_char", {"费", "网", "套", "宽", "卡", "号", "漫", "投"}, true},
	{"phrase",
	 {"\"话费查询\"", "\"携号转网\"", "\"国际漫游\"", "\"宽带故障\"", "\"套餐变更\"",
	  "\"电子发票\"", "\"授权码\"", "\"光猫\""},
	 true},
	{"initials", {"hfcx", "xhzw", "gjmy", "kdgz", "tcbg", "hf", "kd", "myll"}, false},
	{"pinyin",
	 {"huafei", "xiehaozhuanwang", "kuandai", "manyou", "taocan biangeng", "huaf", "guangmao",
	  "shouquanma"},
	 false},
	{"traditional", {"話費", "寬帶", "漫遊", "攜號轉網", "套餐變更", "帳單", "費", "網路"}, false},
	{"fullwidth", {"４Ｇ", "５Ｇ套餐", "ＩＰＨＯＮＥ", "ＡＰＮ", "ｅＳＩＭ", "５Ｇ", "ＶｏＬＴＥ", "ＧＢ"},
	 false},
	{"mixed",
	 {"4G 套餐", "iphone 携号转网", "5G 信号", "eSIM 办理", "iphone 5G", "app 话费", "5G 漫游",
	  "GB 流量"},
	 false},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))
#define NQ 8

static int usage(void)
{
	fprintf(stderr, "usage: bench_kb_search --corpus FILE --db DIR [--rounds R]\n");
	return 2;
}

static char *dup_str(const char *s, size_t *len)
{
	char *d;

	*len = strlen(s);
	d = malloc(*len + 1);
	if (!d)
		abort();
	memcpy(d, s, *len + 1);
	return d;
}

/* Read the corpus: every article's three fields. */
static int load(const char *path, struct article **out, size_t *n, uint64_t *bytes)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, ncap = 0;
	ssize_t len;

	*out = NULL;
	*n = 0;
	*bytes = 0;
	if (!f) {
		fprintf(stderr, "bench_kb_search: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		json_error_t err;
		json_t *o = json_loadb(line, (size_t)len, 0, &err), *kw;
		struct article *a;
		char kwbuf[1024];
		size_t w = 0, i;
		json_t *k;

		if (!o || !json_is_string(json_object_get(o, "title")) ||
		    !json_is_string(json_object_get(o, "body"))) {
			fprintf(stderr, "bench_kb_search: %s:%zu: not an article\n", path, *n + 1);
			json_decref(o);
			free(line);
			fclose(f);
			return -1;
		}
		if (*n == ncap) {
			ncap = ncap ? 2 * ncap : 1024;
			*out = realloc(*out, ncap * sizeof(**out));
			if (!*out)
				abort();
		}
		a = &(*out)[(*n)++];
		a->text[KBINDEX_TITLE] = dup_str(json_string_value(json_object_get(o, "title")),
						 &a->len[KBINDEX_TITLE]);
		a->text[KBINDEX_BODY] = dup_str(json_string_value(json_object_get(o, "body")),
						&a->len[KBINDEX_BODY]);
		kwbuf[0] = '\0';
		kw = json_object_get(o, "keywords");
		json_array_foreach(kw, i, k) {
			if (json_is_string(k) && w < sizeof(kwbuf))
				w += (size_t)snprintf(kwbuf + w, sizeof(kwbuf) - w, "%s%s", i ? " " : "",
						      json_string_value(k));
		}
		a->text[KBINDEX_KEYWORDS] = dup_str(kwbuf, &a->len[KBINDEX_KEYWORDS]);
		for (int fl = 0; fl < KBINDEX_FIELDS; fl++)
			*bytes += a->len[fl];
		json_decref(o);
	}
	free(line);
	fclose(f);
	return *n ? 0 : -1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of v[0..n) (sorted in place), in microseconds. */
static double pct_us(uint64_t *v, size_t n, double p)
{
	size_t k;

	qsort(v, n, sizeof(*v), cmp_u64);
	k = (size_t)(p * (double)n + 0.999999);
	k = k ? k - 1 : 0;
	return (double)v[k < n ? k : n - 1] / 1000.0;
}

/* Article i as the node stores it: the article and its live version. */
static int put_records(struct batch *b, const struct article *a, uint64_t id)
{
	Kefu__KbVersion v = KEFU__KB_VERSION__INIT;
	Kefu__KbArticle ar = KEFU__KB_ARTICLE__INIT;
	Kefu__KbStats st = KEFU__KB_STATS__INIT;
	char *kw = a->text[KBINDEX_KEYWORDS];
	int rc;

	v.has_article = v.has_version = v.has_approved_ms = 1;
	v.article = id;
	v.version = 1;
	v.title = a->text[KBINDEX_TITLE];
	v.body = a->text[KBINDEX_BODY];
	v.category = "知识库";
	v.keywords = &kw;
	v.n_keywords = 1;
	v.state = "published";
	v.approved_ms = 1764547200000ull;
	ar.has_id = ar.has_latest = ar.has_live = 1;
	ar.id = id;
	ar.latest = ar.live = 1;
	ar.state = "published";
	ar.title = v.title;
	/* Some use, so that the popularity boost is computed as on a node. */
	st.has_views = st.has_hot = st.has_hot_ms = 1;
	st.views = id % 50;
	st.hot = (double)(id % 50);
	st.hot_ms = 1764547200000ull;
	if ((rc = kb_version_put(b, &v)) || (rc = kb_article_put(b, &ar)) ||
	    (rc = kb_admit_record(b, &v)))
		return rc;
	return kb_stats_put(b, id, &st);
}

static int build(struct store *s, const struct article *arts, size_t n)
{
	struct kbindex_build *b = kbindex_build_new();
	struct batch *recs = batch_new(0);
	struct store_txn *t;
	int rc = store_write_begin(s, &t);

	for (size_t i = 0; i < n && !rc; i++) {
		struct kbindex_text tx;

		for (int f = 0; f < KBINDEX_FIELDS; f++) {
			tx.field[f] = arts[i].text[f];
			tx.len[f] = arts[i].len[f];
		}
		rc = put_records(recs, &arts[i], i + 1);
		if (!rc && (batch_count(recs) >= 30000 || i + 1 == n)) {
			rc = batch_apply(t, recs);
			batch_reset(recs);
		}
		if (!rc)
			rc = kbindex_build_add(b, t, kb_doc(i + 1, 1), &tx);
	}
	if (!rc)
		rc = kbindex_build_flush(b, t);
	kbindex_build_free(b);
	batch_free(recs);
	if (rc) {
		store_abort(t);
		return rc;
	}
	return store_commit(t);
}

/* A query without its quotes, for the scan. */
static size_t unquote(const char *q, char *out, size_t cap)
{
	size_t w = 0;

	for (; *q && w + 1 < cap; q++)
		if (*q != '"')
			out[w++] = *q;
	out[w] = '\0';
	return w;
}

static size_t scan(const struct article *arts, size_t n, const char *needle, size_t nlen)
{
	size_t found = 0;

	for (size_t i = 0; i < n; i++)
		for (int f = 0; f < KBINDEX_FIELDS; f++)
			if (memmem(arts[i].text[f], arts[i].len[f], needle, nlen)) {
				found++;
				break;
			}
	return found;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"corpus", required_argument, NULL, 'c'},
		{"db", required_argument, NULL, 'd'},
		{"rounds", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	const char *corpus = NULL, *db = NULL;
	uint64_t rounds = 20, text_bytes, t0, t1, *lat, *scan_lat;
	struct store_opts so = {.map_size = (size_t)4 << 30};
	struct article *arts;
	struct store *s;
	struct store_txn *t;
	struct kbindex_stats st;
	struct store_stats ss;
	size_t n, nscan = 0;
	int c, rc, status = 0;
	char path[4200];

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': corpus = optarg; break;
		case 'd': db = optarg; break;
		case 'r':
			if (bench_parse_num(optarg, 1, 100000, &rounds))
				return usage();
			break;
		default: return usage();
		}
	}
	if (!corpus || !db || optind != argc)
		return usage();
	if (access(db, F_OK) == 0) {
		fprintf(stderr, "bench_kb_search: %s exists\n", db);
		return 2;
	}
	if (load(corpus, &arts, &n, &text_bytes))
		return 2;
	if (mkdir(db, 0700) != 0 || (rc = store_open(db, &so, &s)) != 0) {
		fprintf(stderr, "bench_kb_search: cannot open a store in %s\n", db);
		return 2;
	}
	fprintf(stderr, "bench_kb_search: indexing %zu articles (%llu bytes of text)\n", n,
		(unsigned long long)text_bytes);
	t0 = now_ns();
	rc = build(s, arts, n);
	t1 = now_ns();
	if (rc || store_read_begin(s, &t) || kbindex_stat(t, &st) || store_stat(s, &ss)) {
		fprintf(stderr, "bench_kb_search: indexing failed: %s\n", kf_strerror(rc));
		status = 2;
		goto out;
	}
	store_abort(t);
	printf("articles=%zu index_s=%.2f index_rate=%.0f text_bytes=%llu index_bytes=%llu "
	       "db_bytes=%zu terms=%llu postings=%llu",
	       n, (double)(t1 - t0) / 1e9, (double)n / ((double)(t1 - t0) / 1e9),
	       (unsigned long long)text_bytes, (unsigned long long)st.bytes, ss.used_bytes,
	       (unsigned long long)st.terms, (unsigned long long)st.postings);

	lat = malloc(rounds * NQ * sizeof(*lat));
	scan_lat = malloc(SCAN_ROUNDS * 2 * NQ * sizeof(*scan_lat));
	if (!lat || !scan_lat)
		abort();
	for (size_t k = 0; k < NKINDS && !status; k++) {
		size_t m = 0, hits_total = 0;

		for (uint64_t r = 0; r <= rounds && !status; r++) {
			for (size_t i = 0; i < NQ; i++) {
				struct kb_hit hits[10];
				struct kb_filter f = {.now_ms = 1764547200000ull + 86400000};
				const char *q = kinds[k].queries[i];
				size_t nh = 0;
				uint64_t a0 = now_ns();

				if (store_read_begin(s, &t) ||
				    kb_search(t, q, strlen(q), &f, 10, hits, &nh) != 0) {
					fprintf(stderr, "bench_kb_search: search '%s' failed\n", q);
					status = 2;
					break;
				}
				kb_hits_release(hits, nh);
				store_abort(t);
				if (r == 0) { /* the round not timed */
					hits_total += nh;
					continue;
				}
				lat[m++] = now_ns() - a0;
			}
		}
		if (status)
			break;
		if (hits_total == 0) {
			fprintf(stderr, "bench_kb_search: no %s query found anything\n", kinds[k].name);
			status = 1;
		}
		printf(" %s_p50_us=%.0f %s_p99_us=%.0f", kinds[k].name, pct_us(lat, m, 0.50),
		       kinds[k].name, pct_us(lat, m, 0.99));
		for (size_t r = 0; kinds[k].scan && r < SCAN_ROUNDS; r++) {
			for (size_t i = 0; i < NQ; i++) {
				char needle[64];
				size_t nl = unquote(kinds[k].queries[i], needle, sizeof(needle));
				uint64_t a0 = now_ns();

				if (scan(arts, n, needle, nl) == 0 && r == 0)
					fprintf(stderr, "bench_kb_search: scan '%s' found nothing\n", needle);
				scan_lat[nscan++] = now_ns() - a0;
			}
		}
	}
	if (nscan)
		printf(" scan_p50_us=%.0f scan_p99_us=%.0f", pct_us(scan_lat, nscan, 0.50),
		       pct_us(scan_lat, nscan, 0.99));
	printf("\n");
	free(lat);
	free(scan_lat);
out:
	store_free(s);
	for (size_t i = 0; i < n; i++)
		for (int f = 0; f < KBINDEX_FIELDS; f++)
			free(arts[i].text[f]);
	free(arts);
	if (getenv("BENCH_KB_KEEP_DB"))
		return status; /* kept for a look (kefuctl stat --db DIR) */
	/* LMDB's two files, then the folder. */
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", db, i ? "lock.mdb" : "data.mdb");
		unlink(path);
	}
	if (rmdir(db) != 0)
		fprintf(stderr, "bench_kb_search: could not remove %s: %s\n", db, strerror(errno));
	return status;
}
