/* The stored form the cluster writes. See format.h. */
#include "storage/format.h"

#include "lib/err.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int store_format_get(struct store_txn *t, uint64_t *out)
{
	int err = store_get_decimal(t, STORE_META, STORE_FORMAT_META, strlen(STORE_FORMAT_META), out);

	if (err == KF_ENOTFOUND) {
		*out = 1;
		return 0;
	}
	if (err == 0 && *out == 0)
		err = KF_ECORRUPT;
	if (err)
		*out = 1;
	return err;
}

int store_format_read(struct store *s, uint64_t *out)
{
	struct store_txn *t;
	int err = store_read_begin(s, &t);

	*out = 1;
	if (err)
		return err;
	err = store_format_get(t, out);
	store_abort(t);
	return err;
}

int store_format_put(struct batch *b, uint64_t f)
{
	char s[24];
	int n;

	if (f == 0)
		return KF_EPARSE;
	n = snprintf(s, sizeof(s), "%" PRIu64, f);
	return batch_put(b, STORE_META, STORE_FORMAT_META, strlen(STORE_FORMAT_META), s, (size_t)n);
}
