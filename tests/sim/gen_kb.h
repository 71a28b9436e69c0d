/*
 * gen_kb - knowledge-base articles of a telecom operator's service desk, as
 * the import takes them (docs/kb.md): one JSON object a line with title,
 * body, category ("话费/查询"), keywords [], tags [], valid_from, valid_to,
 * review_by (RFC 3339, +08:00; absent when unbounded) and state ("draft"
 * or "published").
 *
 * Topics: bills and balance (话费, 账单), packages (套餐), roaming (漫游),
 * number porting (携号转网), broadband (宽带), complaints (投诉), 4G/5G,
 * phones (iPhone) and more. About 95% are published, 5% drafts; 6% have a
 * validity window, 30% a review date.
 *
 * Article i is a pure function of (seed, i) through tests/sim/rng.h: the
 * same arguments give byte-identical files and memory stays constant.
 */
#ifndef KEFU_SIM_GEN_KB_H
#define KEFU_SIM_GEN_KB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define GEN_KB_ARTICLES_MAX 10000000ULL
#define GEN_KB_TEXT_MAX 4096 /* bytes of a title or body, at most */
#define GEN_KB_LIST_MAX 4    /* keywords or tags of one article */
#define GEN_KB_TIME_LEN 25   /* "2026-12-01T08:00:00+08:00" */
#define GEN_KB_TIME_SIZE 32  /* room for one with a NUL */

struct gen_kb_article {
	char title[GEN_KB_TEXT_MAX];
	char body[GEN_KB_TEXT_MAX];
	const char *category;
	const char *keywords[GEN_KB_LIST_MAX];
	size_t nkeywords;
	const char *tags[GEN_KB_LIST_MAX];
	size_t ntags;
	char valid_from[GEN_KB_TIME_SIZE]; /* "" when unbounded */
	char valid_to[GEN_KB_TIME_SIZE];
	char review_by[GEN_KB_TIME_SIZE];
	const char *state; /* "published" or "draft" */
};

/* gen_kb_article - article i of seed into a (pointers are static strings
 * or a's own buffers). */
void gen_kb_article(uint64_t seed, uint64_t i, struct gen_kb_article *a);

/*
 * gen_kb_write - articles [0, n) of seed to f as JSON lines. Returns 0,
 * -errno when f could not be written; *bytes (may be NULL) the bytes
 * written.
 */
int gen_kb_write(FILE *f, uint64_t seed, uint64_t n, uint64_t *bytes);

#endif
