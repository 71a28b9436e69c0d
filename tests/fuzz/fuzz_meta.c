/* Fuzz target: the etcd values (member, sync, failover). Whatever parses
 * must encode and parse again to the same struct. */
#include "cluster/meta.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[META_VALUE_MAX + 1];
	struct meta_member m, m2;
	struct meta_sync s, s2;
	struct meta_failover f, f2;
	int n;

	if (meta_member_parse((const char *)data, size, &m) == 0) {
		n = meta_member_encode(&m, out, sizeof(out));
		if (n < 0 || meta_member_parse(out, (size_t)n, &m2) != 0 || memcmp(&m, &m2, sizeof(m)))
			abort();
	}
	if (meta_sync_parse((const char *)data, size, &s) == 0) {
		n = meta_sync_encode(&s, out, sizeof(out));
		if (n < 0 || meta_sync_parse(out, (size_t)n, &s2) != 0 || memcmp(&s, &s2, sizeof(s)))
			abort();
	}
	if (meta_failover_parse((const char *)data, size, &f) == 0) {
		n = meta_failover_encode(&f, out, sizeof(out));
		if (n < 0 || meta_failover_parse(out, (size_t)n, &f2) != 0 || memcmp(&f, &f2, sizeof(f)))
			abort();
	}
	return 0;
}
