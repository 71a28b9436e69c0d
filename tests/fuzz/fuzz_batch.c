/*
 * libFuzzer target: batch_unpack of bytes a peer could send. Whatever it
 * accepts must pack again and unpack to the same ops; whatever it refuses
 * must leave the batch empty.
 */
#include "storage/batch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A small cap so that the cap's refusal path is reached too. */
#define FUZZ_BATCH_CAP ((size_t)64 << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* same_ops - both batches hold equal ops in the same order. */
static int same_ops(const struct batch *a, const struct batch *b)
{
	if (batch_count(a) != batch_count(b) || batch_bytes(a) != batch_bytes(b))
		return 0;
	for (size_t i = 0; i < batch_count(a); i++) {
		struct batch_op x = batch_op(a, i), y = batch_op(b, i);

		if (x.kind != y.kind || x.table != y.table || x.klen != y.klen ||
		    x.vlen != y.vlen || memcmp(x.key, y.key, x.klen) != 0 ||
		    (x.vlen && memcmp(x.val, y.val, x.vlen) != 0))
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct batch *b = batch_new(FUZZ_BATCH_CAP), *again;
	uint64_t group, group2;
	bool end, end2;
	uint8_t *buf;
	size_t len;

	if (batch_unpack(b, data, size, &group, &end) != 0) {
		if (batch_count(b) != 0 || batch_bytes(b) != 0)
			abort();
		batch_free(b);
		return 0;
	}
	if (batch_pack(b, group, end, "fuzz", &buf, &len) != 0)
		abort();
	again = batch_new(FUZZ_BATCH_CAP);
	if (batch_unpack(again, buf, len, &group2, &end2) != 0 || group2 != group ||
	    end2 != end || !same_ops(b, again))
		abort();
	free(buf);
	batch_free(again);
	batch_free(b);
	return 0;
}
