/*
 * The etcd gateway parsers over arbitrary bytes: the stream splitter fed in
 * pieces of arbitrary sizes, every line it yields through the watch-line
 * parser, the answer parser (each kind) and the error mapper; the whole
 * input through the answer parser too.
 * Input: byte 0 seeds the piece sizes, the rest is the stream.
 */
#include "cluster/etcd_wire.h"

#include "lib/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum etcd_wire_kind kinds[] = {ETCD_WIRE_PLAIN, ETCD_WIRE_KEEPALIVE,
					    ETCD_WIRE_HEALTH};

/* A decoded answer must be self-consistent: counts match arrays, strings end. */
static void resp_check(const struct etcd_resp *r, int depth)
{
	if ((r->n_kvs && !r->kvs) || (r->n_results && !r->results) || depth > 1)
		abort();
	for (size_t i = 0; i < r->n_kvs; i++)
		if (r->kvs[i].key[r->kvs[i].key_len] || r->kvs[i].value[r->kvs[i].value_len])
			abort();
	for (size_t i = 0; i < r->n_results; i++)
		resp_check(&r->results[i], depth + 1);
}

static void parse_all(const char *p, size_t n)
{
	struct etcd_watch_msg m;
	struct etcd_resp r;
	char msg[64];
	int err;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		if (etcd_wire_resp_parse(kinds[k], p, n, &r) == 0) {
			if (kinds[k] == ETCD_WIRE_KEEPALIVE && r.ttl <= 0)
				abort();
			resp_check(&r, 0);
			etcd_wire_resp_release(&r);
		}
	}
	err = etcd_wire_watch_parse(p, n, &m);
	if (err == KF_ECOMPACTED && m.compact_revision <= 0)
		abort();
	for (size_t i = 0; i < m.n_events; i++)
		if (m.events[i].kv.key[m.events[i].kv.key_len])
			abort();
	etcd_wire_watch_release(&m);
	err = etcd_wire_error(n && p[0] & 1 ? 503 : 400, p, n, msg, sizeof(msg));
	if (err >= 0 || strlen(msg) >= sizeof(msg))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct etcd_wire_lines s;
	uint32_t rnd;
	size_t pos = 1;

	if (size < 1)
		return 0;
	rnd = data[0] * 2654435761u + 1;
	parse_all((const char *)data + 1, size - 1);
	etcd_wire_lines_init(&s, 512);
	while (pos < size) {
		const char *line;
		size_t take, len;
		int r;

		rnd = rnd * 1103515245u + 12345u;
		take = 1 + (rnd >> 16) % 64;
		if (take > size - pos)
			take = size - pos;
		if (etcd_wire_lines_feed(&s, data + pos, take) != 0)
			break;
		pos += take;
		while ((r = etcd_wire_lines_next(&s, &line, &len)) == 1) {
			if (len == 0 || len > s.max || memchr(line, '\n', len))
				abort();
			parse_all(line, len);
		}
		if (r < 0)
			break;
	}
	etcd_wire_lines_release(&s);
	return 0;
}
