/* An intrusive hash table with a fixed number of buckets. See ht.h. */
#include "lib/ht.h"

#include <errno.h>
#include <stdlib.h>

int ht_init(struct ht *t, size_t buckets)
{
	size_t n = 1;

	if (buckets == 0 || buckets > HT_BUCKETS_MAX)
		return -EINVAL;
	while (n < buckets)
		n <<= 1;
	t->bucket = calloc(n, sizeof(*t->bucket));
	if (!t->bucket)
		abort();
	t->mask = n - 1;
	t->n = 0;
	return 0;
}

void ht_release(struct ht *t)
{
	free(t->bucket);
	t->bucket = NULL;
	t->mask = 0;
	t->n = 0;
}

void ht_insert(struct ht *t, struct ht_node *n, uint64_t hash)
{
	struct ht_node **b = &t->bucket[hash & t->mask];

	n->hash = hash;
	n->next = *b;
	*b = n;
	t->n++;
}

void ht_remove(struct ht *t, struct ht_node *n)
{
	struct ht_node **pp = &t->bucket[n->hash & t->mask];

	while (*pp && *pp != n)
		pp = &(*pp)->next;
	if (!*pp)
		return; /* not in t: the caller's bug, but nothing to undo */
	*pp = n->next;
	n->next = NULL;
	t->n--;
}

struct ht_node *ht_chain(const struct ht *t, uint64_t hash)
{
	return t->bucket ? t->bucket[hash & t->mask] : NULL;
}

/* The first node of the buckets from i on, NULL past the last. */
static struct ht_node *from_bucket(const struct ht *t, size_t i)
{
	for (; t->bucket && i <= t->mask; i++)
		if (t->bucket[i])
			return t->bucket[i];
	return NULL;
}

struct ht_node *ht_first(const struct ht *t)
{
	return t->n ? from_bucket(t, 0) : NULL;
}

struct ht_node *ht_next(const struct ht *t, const struct ht_node *n)
{
	return n->next ? n->next : from_bucket(t, (size_t)(n->hash & t->mask) + 1);
}

uint64_t ht_hash_str(const char *s)
{
	uint64_t h = 14695981039346656037u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211u;
	return h;
}

/* The finaliser of splitmix64: each step (xor-shift, odd multiply) is invertible. */
uint64_t ht_hash_u64(uint64_t v)
{
	v ^= v >> 30;
	v *= 0xbf58476d1ce4e5b9u;
	v ^= v >> 27;
	v *= 0x94d049bb133111ebu;
	v ^= v >> 31;
	return v;
}
