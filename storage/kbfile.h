/*
 * The knowledge base's import format (docs/kb.md): JSON lines, one article
 * a line, as `kefuctl kb import FILE` reads them:
 *
 *   {"title": "...", "body": "...", "category": "话费/查询",
 *    "keywords": ["..."], "tags": ["..."],
 *    "valid_from": "2026-12-01T08:00:00+08:00", "valid_to": ..., "review_by": ...,
 *    "state": "draft" | "review" | "published"}
 *
 * with, optionally, "id" (a new version of that article), "tiers" [1, 2],
 * "cities" ["028"], "author" and "ref" (the line's reference: an article
 * sent again with it is not made twice). Times are RFC 3339 with a zone
 * (Z or ±HH:MM); an absent or null time is unbounded. A key the format does
 * not have is refused, so a misspelt one is never silently dropped.
 *
 * The parser is pure (bytes in, a message or a reason out) and fuzzed.
 */
#ifndef KEFU_STORAGE_KBFILE_H
#define KEFU_STORAGE_KBFILE_H

#include "proto/kefu.pb-c.h"

#include <stddef.h>
#include <stdint.h>

#define KBFILE_LINE_MAX (512 * 1024) /* bytes of one line */
#define KBFILE_WHY_MAX 160

/*
 * kbfile_time - an RFC 3339 date-time ("2026-12-01T08:00:00+08:00",
 * "2026-12-01T00:00:00.250Z"; 't' and ' ' for 'T' too) in s[0..n) into unix
 * ms. Returns 0 or KF_EPARSE (not that form, a field out of range, before 1970).
 */
int kbfile_time(const char *s, size_t n, uint64_t *ms);

/*
 * kbfile_line - one line (len bytes, without its newline) into *out, a
 * KbArticleIn to free with kefu__kb_article_in__free_unpacked(*out, NULL).
 * Returns 0, or KF_EPARSE / KF_ETOOBIG with why (a sentence naming the
 * key) and *out NULL.
 */
int kbfile_line(const char *line, size_t len, Kefu__KbArticleIn **out, char *why, size_t cap);

#endif
