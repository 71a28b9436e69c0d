/*
 * An intrusive hash table: each element embeds a struct ht_node, and the
 * table links those nodes in buckets; it never allocates or frees an
 * element. The element's key stays in the element; the table keeps only
 * each node's 64-bit hash.
 *
 *   struct agent { struct ht_node hn; char id[33]; ... };
 *   HT_DEFINE_STR(agents, struct agent, hn, id)   - typed helpers:
 *       agents_find(t, "a1"), agents_insert(t, a), agents_remove(t, a),
 *       agents_first(t), agents_next(t, a)
 *
 * The number of buckets is fixed at ht_init (a power of two): the tables
 * this serves hold a bounded number of elements (every table of the house
 * has a hard limit, known when it is made), so the bucket count is chosen
 * once for that limit. A fixed table never reallocates, so an insert
 * cannot fail and never stalls the event loop on a rehash, and an
 * iteration stays valid across inserts. Sized too small it still works,
 * with longer chains.
 *
 * Keys are unique only if the caller keeps them so: insert does not look
 * for an equal key first (find before insert). Not thread-safe: one thread
 * at a time per table.
 */
#ifndef KEFU_LIB_HT_H
#define KEFU_LIB_HT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The largest bucket count ht_init accepts. */
#define HT_BUCKETS_MAX ((size_t)1 << 24)

/* The link an element embeds; the table's, untouched by the element's owner. */
struct ht_node {
	struct ht_node *next;
	uint64_t hash;
};

struct ht {
	struct ht_node **bucket;
	size_t mask; /* buckets - 1 */
	size_t n;    /* elements */
};

/*
 * ht_init - an empty table of buckets rounded up to a power of two.
 * Returns 0, -EINVAL (buckets 0 or over HT_BUCKETS_MAX). Out of memory
 * aborts. Release with ht_release.
 */
int ht_init(struct ht *t, size_t buckets);

/* ht_release - frees the buckets, not the elements (still linked ones are
 * the caller's to free, before or after). t may be initialised again. */
void ht_release(struct ht *t);

/* ht_count - the number of elements in t. */
static inline size_t ht_count(const struct ht *t)
{
	return t->n;
}

/* ht_insert - link n under hash. n must not be in a table. O(1). */
void ht_insert(struct ht *t, struct ht_node *n, uint64_t hash);

/* ht_remove - unlink n, which must be in t. O(chain length). */
void ht_remove(struct ht *t, struct ht_node *n);

/* ht_chain - the first node of the bucket hash falls in, NULL when empty;
 * follow ->next, and compare node->hash and the key to find an element. */
struct ht_node *ht_chain(const struct ht *t, uint64_t hash);

/*
 * ht_first, ht_next - every node of t once, in bucket order (not in insertion
 * order), NULL at the end. n must be in t: to remove the current node, take
 * the next one first. Elements inserted during the walk may or may not be
 * visited. A whole walk costs O(buckets + elements).
 */
struct ht_node *ht_first(const struct ht *t);
struct ht_node *ht_next(const struct ht *t, const struct ht_node *n);

/* ht_hash_str - FNV-1a (64-bit) of the NUL-terminated s. */
uint64_t ht_hash_str(const char *s);

/* ht_hash_u64 - v mixed so that close values spread over the buckets (a
 * bijection: distinct values never collide in the hash itself). */
uint64_t ht_hash_u64(uint64_t v);

/* The element whose member is node n. */
#define ht_entry(n, type, member) ((type *)(void *)((char *)(n) - offsetof(type, member)))

/*
 * HT_DEFINE_STR(name, type, node, key) - typed helpers for elements of
 * type with a struct ht_node member node and a string member key (a char
 * array or a char pointer, NUL-terminated; not changed while linked):
 *   type *name_find(const struct ht *t, const char *k)   NULL when absent
 *   void name_insert(struct ht *t, type *e)
 *   void name_remove(struct ht *t, type *e)
 *   type *name_first(const struct ht *t), *name_next(const struct ht *t, const type *e)
 * HT_DEFINE_U64 the same for a uint64_t key. All static inline.
 */
/* Generated helpers a file may not all use (clang warns of unused static
 * inline functions defined in a .c file). */
#define HT_FN_ static inline __attribute__((unused))

#define HT_DEFINE_STR(name, type, node, key)                                                  \
	HT_DEFINE_COMMON_(name, type, node)                                                   \
	HT_FN_ type *name##_find(const struct ht *t, const char *k)                   \
	{                                                                                     \
		uint64_t h = ht_hash_str(k);                                                  \
		for (struct ht_node *n = ht_chain(t, h); n; n = n->next)                      \
			if (n->hash == h && strcmp(ht_entry(n, type, node)->key, k) == 0)     \
				return ht_entry(n, type, node);                               \
		return NULL;                                                                  \
	}                                                                                     \
	HT_FN_ void name##_insert(struct ht *t, type *e)                               \
	{                                                                                     \
		ht_insert(t, &e->node, ht_hash_str(e->key));                                  \
	}

#define HT_DEFINE_U64(name, type, node, key)                                                  \
	HT_DEFINE_COMMON_(name, type, node)                                                   \
	HT_FN_ type *name##_find(const struct ht *t, uint64_t k)                      \
	{                                                                                     \
		uint64_t h = ht_hash_u64(k);                                                  \
		for (struct ht_node *n = ht_chain(t, h); n; n = n->next)                      \
			if (n->hash == h && ht_entry(n, type, node)->key == k)                \
				return ht_entry(n, type, node);                               \
		return NULL;                                                                  \
	}                                                                                     \
	HT_FN_ void name##_insert(struct ht *t, type *e)                               \
	{                                                                                     \
		ht_insert(t, &e->node, ht_hash_u64(e->key));                                  \
	}

#define HT_DEFINE_COMMON_(name, type, node)                                                   \
	HT_FN_ void name##_remove(struct ht *t, type *e)                               \
	{                                                                                     \
		ht_remove(t, &e->node);                                                       \
	}                                                                                     \
	HT_FN_ type *name##_first(const struct ht *t)                                  \
	{                                                                                     \
		struct ht_node *n = ht_first(t);                                              \
		return n ? ht_entry(n, type, node) : NULL;                                    \
	}                                                                                     \
	HT_FN_ type *name##_next(const struct ht *t, const type *e)                    \
	{                                                                                     \
		struct ht_node *n = ht_next(t, &e->node);                                     \
		return n ? ht_entry(n, type, node) : NULL;                                    \
	}

#endif
