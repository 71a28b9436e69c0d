/*
 * Fuzz target: the knowledge base's query parser and search
 * (storage/kbindex.h) over a tiny index, with lib/textfold.h under it.
 * The first byte is the limit (modulo 12; 0 must be refused), the rest the
 * query. A search answers 0 or KF_EINVAL (KF_EINVAL always for a query over
 * KBINDEX_QUERY_MAX), never more hits than asked, best first, exact ones
 * before the rest, only docs of the index. The input as text folds into
 * units that lie inside it in order, and an excerpt of it is valid UTF-8
 * within its cap.
 */
#include "lib/err.h"
#include "lib/textfold.h"
#include "storage/kbindex.h"
#include "storage/store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const docs[][3] = {
	{"话费查询", "话费 账单", "如何查询本月话费和账单"},
	{"4G套餐介绍", "套餐", "4G 套餐资费说明"},
	{"携号转网办理", "iphone", "iPhone 用户携号转网须知"},
	{"银行网点", "", "步行到营业厅"},
	{"長城寬帶", "", "ＡＢＣ／４Ｇ 宽带报装"},
};
#define NDOCS (sizeof(docs) / sizeof(docs[0]))

static struct store *st;
static char dir[] = "/tmp/kefu-fuzz-kbquery-XXXXXX";
static struct textfold fold;

static void cleanup(void)
{
	store_free(st);
	textfold_release(&fold);
}

/* Unlink the store's files and folder at once: the open environment goes
 * on working, and a run that is killed (libFuzzer ends without exit
 * handlers) leaves nothing behind. */
static void unlink_store(void)
{
	static const char *const files[] = {"data.mdb", "lock.mdb"};
	char path[64];

	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* The tiny index, made on the first call. */
static void setup(void)
{
	struct store_txn *t;

	if (!mkdtemp(dir) || store_open(dir, NULL, &st) || store_write_begin(st, &t))
		abort();
	for (size_t i = 0; i < NDOCS; i++) {
		struct kbindex_text tx;

		for (int f = 0; f < KBINDEX_FIELDS; f++) {
			tx.field[f] = docs[i][f];
			tx.len[f] = strlen(docs[i][f]);
		}
		if (kbindex_put(t, i + 1, &tx))
			abort();
	}
	if (store_commit(t))
		abort();
	unlink_store();
	textfold_init(&fold);
	atexit(cleanup);
}

static void check_utf8(const char *s, size_t n)
{
	size_t nb;

	for (size_t i = 0; i < n; i += nb)
		if (textfold_utf8_next(s + i, n - i, &nb) < 0)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kbindex_hit hits[KBINDEX_LIMIT_MAX];
	struct store_txn *t;
	const char *q = (const char *)data + 1;
	size_t limit, qlen, n = 0;
	char snip[40];
	uint32_t last = 0;
	int rc;

	if (!st)
		setup();
	if (size < 1)
		return 0;
	limit = data[0] % 12;
	qlen = size - 1;
	if (store_read_begin(st, &t))
		abort();
	rc = kbindex_search(t, q, qlen, limit, NULL, NULL, hits, &n);
	store_abort(t);
	if (rc != 0 && rc != KF_EINVAL)
		abort();
	if ((limit == 0 || qlen > KBINDEX_QUERY_MAX) && rc != KF_EINVAL)
		abort();
	if (rc != 0 && n != 0)
		abort();
	if (n > limit)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (hits[i].doc < 1 || hits[i].doc > NDOCS || !(hits[i].score > 0))
			abort();
		if (i > 0 && (hits[i].exact > hits[i - 1].exact ||
			      (hits[i].exact == hits[i - 1].exact && hits[i].score > hits[i - 1].score)))
			abort();
	}
	/* The input as text. */
	if (textfold_run(&fold, q, qlen, TEXTFOLD_QUOTES) != 0)
		abort();
	for (size_t i = 0; i < fold.n; i++) {
		const struct textfold_unit *u = &fold.unit[i];

		if (u->src < last || u->src >= u->src_end || u->src_end > qlen)
			abort();
		if (u->kind == TEXTFOLD_WORD && (u->len == 0 || u->len > TEXTFOLD_WORD_MAX))
			abort();
		last = u->src;
	}
	n = kbindex_snippet("话费", 6, q, qlen, snip, sizeof(snip));
	if (n >= sizeof(snip) || snip[n] != '\0')
		abort();
	check_utf8(snip, n);
	n = kbindex_snippet(q, qlen, docs[0][2], strlen(docs[0][2]), snip, sizeof(snip));
	if (n >= sizeof(snip))
		abort();
	check_utf8(snip, n);
	return 0;
}
