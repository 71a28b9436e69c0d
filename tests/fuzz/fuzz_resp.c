/*
 * The RESP reader (cluster/redis.h) over arbitrary bytes cut into pieces of
 * arbitrary sizes, with a small size cap so the cap paths run too.
 * Input: byte 0 seeds the piece sizes, byte 1 picks the cap (64 bytes to
 * 16 KiB), the rest is the stream. Every reply returned must be well formed.
 */
#include "cluster/redis.h"

#include "lib/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks a reply's shape; aborts (a finding) when it is broken. */
static void reply_check(const struct redis_reply *r, int depth)
{
	if (!r || depth > 8 || !redis_type_name(r->type) || redis_type_name(r->type)[0] == '?')
		abort();
	switch (r->type) {
	case REDIS_TYPE_ARRAY:
		for (size_t i = 0; i < r->n; i++)
			reply_check(r->elem[i], depth + 1);
		break;
	case REDIS_TYPE_STRING:
	case REDIS_TYPE_STATUS:
	case REDIS_TYPE_ERROR:
		if (!r->str || r->str[r->len] != '\0')
			abort();
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct redis_reader *rd;
	uint32_t rnd;
	size_t pos = 2;
	int rc = 0;

	if (size < 2)
		return 0;
	rnd = data[0] * 2654435761u + 1;
	rd = redis_reader_new((size_t)64 << (data[1] % 9));
	while (pos < size && rc >= 0) {
		struct redis_reply *r;
		size_t take;

		rnd = rnd * 1103515245u + 12345u;
		take = 1 + (rnd >> 16) % 64;
		if (take > size - pos)
			take = size - pos;
		rc = redis_reader_feed(rd, data + pos, take);
		pos += take;
		while (rc >= 0 && (rc = redis_reader_next(rd, &r)) == 1) {
			reply_check(r, 0);
			redis_reply_free(r);
		}
		if (rc < 0 && rc != KF_EPROTO && rc != KF_ETOOBIG)
			abort();
	}
	if (rc < 0 && redis_reader_feed(rd, "+OK\r\n", 5) != rc)
		abort(); /* a dead reader stays dead */
	redis_reader_free(rd);
	return 0;
}
