/*
 * Unit tests of storage/audit.c: entry checks, clean text, keys in time
 * order, listing from a moment and after a cursor, and the hash chain
 * (sealing, walking, a deleted or an edited entry found), on a fresh store
 * in its own temporary directory.
 */
#include "lib/err.h"
#include "storage/audit.h"
#include "storage/batch.h"
#include "storage/store.h"
#include "tests/unit/support/tmpstore.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int setup(void **state)
{
	struct tmpstore *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(tmpstore_open(f, "audit"), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	tmpstore_close(*state);
	free(*state);
	return 0;
}

static Kefu__AuditEntry entry(uint64_t ms, uint64_t seq, const char *node, const char *subject)
{
	Kefu__AuditEntry e = KEFU__AUDIT_ENTRY__INIT;

	e.has_time_ms = e.has_seq = 1;
	e.time_ms = ms;
	e.seq = seq;
	e.node = (char *)node;
	e.agent = "a01";
	e.action = "view_bills";
	e.subject = (char *)subject;
	e.detail = "本机直查";
	return e;
}

/* Append the entries and commit them. */
static void write_all(struct tmpstore *f, const Kefu__AuditEntry *e, size_t n)
{
	struct store_txn *t;

	batch_reset(f->b);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(audit_append(f->b, &e[i], NULL, 0), 0);
	assert_int_equal(store_write_begin(f->s, &t), 0);
	assert_int_equal(batch_apply(t, f->b), 0);
	assert_int_equal(store_commit(t), 0);
}

struct seen {
	char subjects[8][32];
	uint8_t last_key[AUDIT_KEY_MAX];
	size_t last_len;
	size_t n, stop_at;
};

static int collect(void *arg, const Kefu__AuditEntry *e)
{
	struct seen *s = arg;

	snprintf(s->subjects[s->n++], sizeof(s->subjects[0]), "%s", e->subject);
	s->last_len = audit_key(e, s->last_key);
	return s->n == s->stop_at ? 1 : 0;
}

static void list(struct tmpstore *f, uint64_t since, const void *after, size_t alen, struct seen *s)
{
	struct store_txn *t;

	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(audit_list(t, since, after, alen, collect, s), 0);
	store_abort(t);
}

static void test_entries_list_in_time_order(void **state)
{
	struct tmpstore *f = *state;
	Kefu__AuditEntry e[] = {entry(3000, 0, "node1", "c"), entry(1000, 5, "node2", "a"),
				entry(2000, 1, "node1", "b")};
	struct seen s = {.n = 0};

	write_all(f, e, 3);
	list(f, 0, NULL, 0, &s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.subjects[0], "a");
	assert_string_equal(s.subjects[1], "b");
	assert_string_equal(s.subjects[2], "c");
}

static void test_one_millisecond_keeps_every_entry(void **state)
{
	struct tmpstore *f = *state;
	Kefu__AuditEntry e[] = {entry(1000, 1, "node1", "x"), entry(1000, 2, "node1", "y"),
				entry(1000, 1, "node2", "z")};
	struct seen s = {.n = 0};

	write_all(f, e, 3);
	list(f, 0, NULL, 0, &s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.subjects[0], "x");
	assert_string_equal(s.subjects[1], "z"); /* seq 1 of node2 before seq 2 of node1 */
	assert_string_equal(s.subjects[2], "y");
}

static void test_since_skips_older_entries(void **state)
{
	struct tmpstore *f = *state;
	Kefu__AuditEntry e[] = {entry(1000, 0, "node1", "a"), entry(2000, 0, "node1", "b"),
				entry(3000, 0, "node1", "c")};
	struct seen s = {.n = 0};

	write_all(f, e, 3);
	list(f, 2000, NULL, 0, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.subjects[0], "b");
	s = (struct seen){.n = 0};
	list(f, 3001, NULL, 0, &s);
	assert_int_equal(s.n, 0);
}

static void test_cursor_continues_after_the_last_seen(void **state)
{
	struct tmpstore *f = *state;
	Kefu__AuditEntry e[] = {entry(1000, 0, "node1", "a"), entry(1000, 1, "node1", "b"),
				entry(2000, 0, "node1", "c")};
	struct seen s = {.n = 0, .stop_at = 1}, rest = {.n = 0};

	write_all(f, e, 3);
	list(f, 0, NULL, 0, &s);
	assert_int_equal(s.n, 1);
	list(f, 0, s.last_key, s.last_len, &rest);
	assert_int_equal(rest.n, 2);
	assert_string_equal(rest.subjects[0], "b");
	assert_string_equal(rest.subjects[1], "c");
	/* a cursor before since does not bring back older entries */
	rest = (struct seen){.n = 0};
	list(f, 2000, s.last_key, s.last_len, &rest);
	assert_int_equal(rest.n, 1);
	assert_string_equal(rest.subjects[0], "c");
}

/* A cursor at the last entry lists nothing more; a cursor after since
 * wins over since, and one before it is no cursor. */
static void test_cursor_at_the_end_lists_nothing(void **state)
{
	struct tmpstore *f = *state;
	Kefu__AuditEntry e[] = {entry(1000, 0, "node1", "a"), entry(2000, 0, "node1", "b"),
				entry(3000, 0, "node1", "c")};
	struct seen s = {.n = 0}, rest = {.n = 0};

	write_all(f, e, 3);
	list(f, 0, NULL, 0, &s);
	assert_int_equal(s.n, 3);
	list(f, 0, s.last_key, s.last_len, &rest);
	assert_int_equal(rest.n, 0);
	/* since past the cursor: since decides */
	rest = (struct seen){.n = 0};
	list(f, 4000, s.last_key, s.last_len, &rest);
	assert_int_equal(rest.n, 0);
	s = (struct seen){.n = 0, .stop_at = 1};
	list(f, 0, NULL, 0, &s);
	rest = (struct seen){.n = 0};
	list(f, 500, s.last_key, s.last_len, &rest);
	assert_int_equal(rest.n, 2);
	assert_string_equal(rest.subjects[0], "b");
}

static void test_cursor_over_the_key_size_refused(void **state)
{
	struct tmpstore *f = *state;
	uint8_t big[AUDIT_KEY_MAX + 1] = {0};
	struct seen s = {.n = 0};
	struct store_txn *t;

	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(audit_list(t, 0, big, sizeof(big), collect, &s), KF_EPARSE);
	store_abort(t);
	assert_int_equal(s.n, 0);
}

static void test_key_is_time_seq_node(void **state)
{
	Kefu__AuditEntry e = entry(0x0102030405060708ull, 9, "n1", "s");
	uint8_t k[AUDIT_KEY_MAX];

	(void)state;
	assert_int_equal(audit_key(&e, k), 18);
	assert_memory_equal(k, "\1\2\3\4\5\6\7\x08\0\0\0\0\0\0\0\x09n1", 18);
}

static void test_incomplete_entries_refused(void **state)
{
	struct tmpstore *f = *state;
	char why[128];
	char longer[AUDIT_DETAIL_MAX + 2];
	Kefu__AuditEntry e;

	e = entry(1000, 0, "node1", "s");
	e.has_time_ms = 0;
	assert_int_equal(audit_append(f->b, &e, why, sizeof(why)), KF_EPARSE);
	assert_non_null(strstr(why, "time_ms"));
	e = entry(1000, 0, "node1", "s");
	e.action = "View-Bills";
	assert_int_equal(audit_append(f->b, &e, why, sizeof(why)), KF_EPARSE);
	assert_non_null(strstr(why, "action"));
	e = entry(1000, 0, "", "s");
	assert_int_equal(audit_append(f->b, &e, why, sizeof(why)), KF_EPARSE);
	e = entry(1000, 0, "node1", "s");
	e.agent = NULL;
	assert_int_equal(audit_append(f->b, &e, why, sizeof(why)), KF_EPARSE);
	e = entry(1000, 0, "node1", "s");
	e.detail = "two\nlines";
	assert_int_equal(audit_append(f->b, &e, why, sizeof(why)), KF_EPARSE);
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	e.detail = longer;
	assert_int_equal(audit_append(f->b, &e, why, sizeof(why)), KF_EPARSE);
	assert_int_equal(batch_count(f->b), 0);
}

static void test_text_must_be_clean_utf8(void **state)
{
	(void)state;
	assert_true(audit_text_is_valid(NULL, 10));
	assert_true(audit_text_is_valid("", 10));
	assert_true(audit_text_is_valid("张三 ok", 10));
	assert_false(audit_text_is_valid("张三 ok!!", 10));   /* 11 bytes */
	assert_false(audit_text_is_valid("\xc0\xaf", 10));     /* overlong */
	assert_false(audit_text_is_valid("\xed\xa0\x80", 10)); /* surrogate */
	assert_false(audit_text_is_valid("\xc2\x85", 10));     /* C1 control */
	assert_false(audit_text_is_valid("\xe5\xbc", 10));     /* cut short */
	assert_false(audit_text_is_valid("\xf4\x90\x80\x80", 10)); /* over U+10FFFF */
	assert_false(audit_text_is_valid("tab\there", 10));
	assert_false(audit_text_is_valid("del\x7f", 10));
	assert_true(audit_text_is_valid("\xf0\x9f\x98\x80", 10)); /* U+1F600 */
}

static void test_corrupt_value_ends_the_listing(void **state)
{
	struct tmpstore *f = *state;
	struct store_txn *t;
	struct seen s = {.n = 0};

	batch_reset(f->b);
	assert_int_equal(batch_put(f->b, STORE_AUDIT, "\0\0\0\0\0\0\0\1\0\0\0\0\0\0\0\0n", 17,
				   "\xff\xff", 2),
			 0);
	assert_int_equal(store_write_begin(f->s, &t), 0);
	assert_int_equal(batch_apply(t, f->b), 0);
	assert_int_equal(audit_list(t, 0, NULL, 0, collect, &s), KF_ECORRUPT);
	store_abort(t);
}

static void test_seq_counts_up(void **state)
{
	struct audit_seq q = {0};

	(void)state;
	assert_int_equal(audit_seq_next(&q), 0);
	assert_int_equal(audit_seq_next(&q), 1);
	assert_int_equal(audit_seq_next(&q), 2);
}


/* ---- the hash chain ---- */

#define WINDOW_MS (10 * 60 * 1000)

/* One seal, applied and committed; returns audit_seal's result. */
static int seal_hinted(struct tmpstore *f, size_t max, uint64_t unsealed, size_t *n);

static int seal(struct tmpstore *f, size_t max, size_t *n)
{
	return seal_hinted(f, max, AUDIT_UNSEALED_UNKNOWN, n);
}

static int seal_hinted(struct tmpstore *f, size_t max, uint64_t unsealed, size_t *n)
{
	struct audit_seal_opts o = {WINDOW_MS, max, unsealed};
	struct store_txn *t;
	char why[256] = "";
	int err;

	batch_reset(f->b);
	assert_int_equal(store_write_begin(f->s, &t), 0);
	err = audit_seal(t, f->b, &o, n, why, sizeof(why));
	if (err == 0)
		assert_int_equal(batch_apply(t, f->b), 0);
	if (err == 0)
		assert_int_equal(store_commit(t), 0);
	else
		store_abort(t);
	return err;
}

/* A walk to its end in chunks of chunk entries, at now_ms. */
static void walk(struct tmpstore *f, size_t chunk, uint64_t now_ms, struct audit_walk *w)
{
	memset(w, 0, sizeof(*w));
	w->now_ms = now_ms;
	w->grace_ms = 60000;
	while (!w->done) {
		struct store_txn *t;

		assert_int_equal(store_read_begin(f->s, &t), 0);
		assert_int_equal(audit_walk_step(t, w, chunk), 0);
		store_abort(t);
		assert_false(w->restart);
	}
}

static void five(struct tmpstore *f)
{
	Kefu__AuditEntry e[] = {entry(1000, 0, "node1", "a"), entry(2000, 0, "node2", "b"),
				entry(3000, 0, "node1", "c"), entry(4000, 1, "node1", "d"),
				entry(5000, 0, "node3", "e")};
	size_t n;

	write_all(f, e, 5);
	assert_int_equal(seal(f, 100, &n), 0);
	assert_int_equal(n, 5);
}

/* The stored entry at ms (node1 seq 0, or as given), unpacked; free it. */
static Kefu__AuditEntry *stored(struct tmpstore *f, uint64_t ms, uint64_t seq, const char *node,
				uint8_t key[AUDIT_KEY_MAX], size_t *klen)
{
	Kefu__AuditEntry probe = entry(ms, seq, node, "");
	Kefu__AuditEntry *e;
	struct store_txn *t;
	struct store_val v;

	*klen = audit_key(&probe, key);
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(store_get(t, STORE_AUDIT, key, *klen, &v), 0);
	e = kefu__audit_entry__unpack(NULL, v.len, v.data);
	store_abort(t);
	assert_non_null(e);
	return e;
}

static void put_raw(struct tmpstore *f, const uint8_t *key, size_t klen, const Kefu__AuditEntry *e)
{
	uint8_t val[1024];
	size_t vlen = e ? kefu__audit_entry__pack(e, val) : 0;
	struct store_txn *t;

	batch_reset(f->b);
	if (e)
		assert_int_equal(batch_put(f->b, STORE_AUDIT, key, klen, val, vlen), 0);
	else
		assert_int_equal(batch_del(f->b, STORE_AUDIT, key, klen), 0);
	assert_int_equal(store_write_begin(f->s, &t), 0);
	assert_int_equal(batch_apply(t, f->b), 0);
	assert_int_equal(store_commit(t), 0);
}

/* Delete the stored entry of (ms, seq, node). */
static void drop(struct tmpstore *f, uint64_t ms, uint64_t seq, const char *node)
{
	Kefu__AuditEntry probe = entry(ms, seq, node, "");
	uint8_t key[AUDIT_KEY_MAX];
	size_t klen = audit_key(&probe, key);

	put_raw(f, key, klen, NULL);
}

/* Set the text field at offset off of the stored entry of (ms, seq, node)
 * to to; with rehash, its own hash is recomputed to match. */
static void edit(struct tmpstore *f, uint64_t ms, uint64_t seq, const char *node, size_t off,
		 const char *to, bool rehash)
{
	uint8_t key[AUDIT_KEY_MAX];
	size_t klen;
	Kefu__AuditEntry *e = stored(f, ms, seq, node, key, &klen);
	char **field = (char **)((char *)e + off);
	char *old = *field;

	*field = (char *)to;
	if (rehash)
		audit_hash(e, e->prev_hash.data, e->hash.data);
	put_raw(f, key, klen, e);
	*field = old;
	kefu__audit_entry__free_unpacked(e, NULL);
}

/* A walk in chunks of chunk finds the chain intact, with sealed entries
 * in it and pending ones waiting. */
static void intact(struct tmpstore *f, size_t chunk, uint64_t sealed, uint64_t pending,
		   struct audit_walk *w)
{
	walk(f, chunk, 10000, w);
	assert_false(w->broken);
	assert_int_equal(w->sealed, sealed);
	assert_int_equal(w->pending, pending);
}

/* A walk in chunks of chunk finds the chain broken at the entry of ms,
 * for a reason that says why (NULL: any). */
static void broken_at(struct tmpstore *f, size_t chunk, uint64_t ms, const char *why,
		      struct audit_walk *w)
{
	walk(f, chunk, 10000, w);
	assert_true(w->broken);
	assert_int_equal(w->broken_time_ms, ms);
	if (why)
		assert_non_null(strstr(w->broken_why, why));
}

static void test_sealed_chain_is_intact(void **state)
{
	struct tmpstore *f = *state;
	struct audit_walk w;
	struct audit_head h;
	struct store_txn *t;
	uint8_t key[AUDIT_KEY_MAX], zero[AUDIT_HASH_LEN] = {0}, want[AUDIT_HASH_LEN];
	size_t klen, n;
	Kefu__AuditEntry *first, *second;

	five(f);
	intact(f, 0, 5, 0, &w);
	assert_int_equal(w.entries, 5);
	/* the same in chunks of two, one transaction each */
	intact(f, 2, 5, 0, &w);
	assert_int_equal(w.entries, 5);
	/* the first links to zeros, the second to the first */
	first = stored(f, 1000, 0, "node1", key, &klen);
	assert_true(audit_is_sealed(first));
	assert_memory_equal(first->prev_hash.data, zero, AUDIT_HASH_LEN);
	audit_hash(first, zero, want);
	assert_memory_equal(first->hash.data, want, AUDIT_HASH_LEN);
	/* the sealed value is protobuf-c's packing of the sealed entry, byte for
	 * byte (the sealer appends fields 8 and 9 to the entry packed without) */
	{
		struct store_val v;
		uint8_t repacked[1200];
		size_t rn = kefu__audit_entry__get_packed_size(first);

		assert_int_equal(store_read_begin(f->s, &t), 0);
		assert_int_equal(store_get(t, STORE_AUDIT, key, klen, &v), 0);
		assert_true(rn <= sizeof(repacked));
		kefu__audit_entry__pack(first, repacked);
		assert_int_equal(v.len, rn);
		assert_memory_equal(v.data, repacked, rn);
		store_abort(t);
	}
	second = stored(f, 2000, 0, "node2", key, &klen);
	assert_memory_equal(second->prev_hash.data, first->hash.data, AUDIT_HASH_LEN);
	kefu__audit_entry__free_unpacked(first, NULL);
	kefu__audit_entry__free_unpacked(second, NULL);
	/* the head is the last one; nothing more to seal */
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(audit_head_get(t, &h), 0);
	store_abort(t);
	assert_int_equal(h.count, 5);
	assert_memory_equal(h.hash, w.head_hash, AUDIT_HASH_LEN);
	assert_int_equal(seal(f, 100, &n), 0);
	assert_int_equal(n, 0);
}

static void test_new_entries_are_pending_then_sealed(void **state)
{
	struct tmpstore *f = *state;
	Kefu__AuditEntry e[] = {entry(6000, 0, "node1", "f"), entry(7000, 0, "node1", "g"),
				entry(8000, 0, "node1", "h")};
	struct audit_walk w;
	size_t n;

	five(f);
	write_all(f, e, 3);
	intact(f, 0, 5, 3, &w);
	/* at most two per seal: the chain stays whole in between */
	assert_int_equal(seal(f, 2, &n), 0);
	assert_int_equal(n, 2);
	intact(f, 3, 7, 1, &w);
	assert_int_equal(seal(f, 2, &n), 0);
	assert_int_equal(n, 1);
	intact(f, 0, 8, 0, &w);
}

static void test_deleted_entry_breaks_at_the_next(void **state)
{
	struct tmpstore *f = *state;
	struct audit_walk w;

	five(f);
	drop(f, 3000, 0, "node1");
	broken_at(f, 2, 4000, "missing", &w);
	assert_int_equal(w.broken_seq, 1);
	assert_string_equal(w.broken_node, "node1");
	assert_int_equal(w.entries, 3); /* 1000, 2000, then 4000 */
}

static void test_deleted_first_or_last_entry_is_found(void **state)
{
	struct tmpstore *f = *state;
	struct audit_walk w;

	five(f);
	drop(f, 5000, 0, "node3");
	broken_at(f, 0, 5000, "recorded head", &w);
	drop(f, 1000, 0, "node1");
	broken_at(f, 0, 2000, "missing", &w);
}

static void test_edited_entry_breaks_at_itself(void **state)
{
	struct tmpstore *f = *state;
	struct audit_walk w;

	five(f);
	/* hashes kept: the content no longer matches */
	edit(f, 2000, 0, "node2", offsetof(Kefu__AuditEntry, subject), "someone-else", false);
	broken_at(f, 0, 2000, "edited", &w);
	assert_string_equal(w.broken_node, "node2");
	assert_int_equal(w.entries, 2);
}

/* An edit that recomputes the entry's own hash breaks the next link. */
static void test_rehashed_edit_breaks_the_next_link(void **state)
{
	struct tmpstore *f = *state;
	struct audit_walk w;

	five(f);
	edit(f, 2000, 0, "node2", offsetof(Kefu__AuditEntry, agent), "nobody", true);
	broken_at(f, 0, 3000, "missing or was replaced", &w);
}

/* An entry that sorts before the head (another node's clock) is linked in
 * by the next seal; until then it is pending, and the chain intact. */
static void test_late_entry_is_linked_in(void **state)
{
	struct tmpstore *f = *state;
	Kefu__AuditEntry late = entry(2500, 7, "node2", "late");
	struct audit_walk w;
	size_t n;

	five(f);
	write_all(f, &late, 1);
	intact(f, 0, 5, 1, &w);
	assert_int_equal(seal(f, 100, &n), 0);
	assert_int_equal(n, 4); /* the late one, then 3000, 4000, 5000 re-linked */
	intact(f, 2, 6, 0, &w);
}

/* The count of unsealed entries says whether to look back for late ones. */
static void test_late_entry_found_by_the_count(void **state)
{
	struct tmpstore *f = *state;
	Kefu__AuditEntry late = entry(2500, 7, "node2", "late");
	Kefu__AuditEntry next = entry(9000, 0, "node1", "z");
	struct audit_walk w;
	size_t n;

	five(f);
	write_all(f, &late, 1);
	write_all(f, &next, 1);
	/* one past the head, one unsealed: nothing late, the window is not read */
	assert_int_equal(seal_hinted(f, 100, 1, &n), 0);
	assert_int_equal(n, 1);
	intact(f, 0, 6, 1, &w);
	/* one unsealed, none past the head: the late one is linked in */
	assert_int_equal(seal_hinted(f, 100, 1, &n), 0);
	assert_int_equal(n, 5);
	intact(f, 0, 7, 0, &w);
	/* nothing unsealed: nothing to do */
	assert_int_equal(seal_hinted(f, 100, 0, &n), 0);
	assert_int_equal(n, 0);
}

/* An entry without a hash inside the chain, older than the grace, was
 * inserted (or never sealed): broken at it. */
static void test_old_unsealed_entry_inside_is_broken(void **state)
{
	struct tmpstore *f = *state;
	Kefu__AuditEntry forged = entry(2500, 7, "node2", "forged");
	struct audit_walk w;

	five(f);
	write_all(f, &forged, 1);
	walk(f, 0, 10 * 60 * 1000, &w);
	assert_true(w.broken);
	assert_int_equal(w.broken_time_ms, 2500);
	assert_int_equal(w.broken_seq, 7);
	assert_non_null(strstr(w.broken_why, "no hash"));
}

/* The leader never seals over a broken link. */
static void test_seal_refuses_a_broken_chain(void **state)
{
	struct tmpstore *f = *state;
	Kefu__AuditEntry late = entry(1500, 7, "node2", "late");
	size_t n;

	five(f);
	edit(f, 3000, 0, "node1", offsetof(Kefu__AuditEntry, detail), "changed", false);
	write_all(f, &late, 1);
	assert_int_equal(seal(f, 100, &n), KF_ECORRUPT);
}

/* A walk restarts when what it has walked changed between two chunks. */
static void test_walk_restarts_when_the_walked_part_changes(void **state)
{
	struct tmpstore *f = *state;
	Kefu__AuditEntry late = entry(1500, 7, "node2", "late");
	struct audit_walk w = {.now_ms = 10000, .grace_ms = 60000};
	struct store_txn *t;
	size_t n;

	five(f);
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(audit_walk_step(t, &w, 2), 0);
	store_abort(t);
	write_all(f, &late, 1);
	assert_int_equal(seal(f, 100, &n), 0);
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(audit_walk_step(t, &w, 2), 0);
	store_abort(t);
	assert_true(w.restart);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_entries_list_in_time_order),
		T(test_one_millisecond_keeps_every_entry),
		T(test_since_skips_older_entries),
		T(test_cursor_continues_after_the_last_seen),
		T(test_cursor_at_the_end_lists_nothing),
		T(test_cursor_over_the_key_size_refused),
		cmocka_unit_test(test_key_is_time_seq_node),
		T(test_incomplete_entries_refused),
		cmocka_unit_test(test_text_must_be_clean_utf8),
		T(test_corrupt_value_ends_the_listing),
		cmocka_unit_test(test_seq_counts_up),
		T(test_sealed_chain_is_intact),
		T(test_new_entries_are_pending_then_sealed),
		T(test_deleted_entry_breaks_at_the_next),
		T(test_deleted_first_or_last_entry_is_found),
		T(test_edited_entry_breaks_at_itself),
		T(test_rehashed_edit_breaks_the_next_link),
		T(test_late_entry_is_linked_in),
		T(test_late_entry_found_by_the_count),
		T(test_old_unsealed_entry_inside_is_broken),
		T(test_seal_refuses_a_broken_chain),
		T(test_walk_restarts_when_the_walked_part_changes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
