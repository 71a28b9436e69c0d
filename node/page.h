/*
 * Listings in pages: the node answers a listing request (agents, audit
 * entries, callback requests...) from the local replica with copies of at
 * most PAGE_MAX records or PAGE_BYTES bytes, and says whether there is
 * more, so that a client pages through a table of any size with requests
 * of bounded cost.
 *
 * Use:
 *   struct page p;
 *   if (page_fill(peer, e, sto, my_list, &p) == 0) { build the reply from p.v[0..p.n) }
 *   page_release(&p);
 * where my_list(t, e, &p) walks its table and calls page_take for each
 * record until page_take returns 1 (the page is full: stop).
 */
#ifndef KEFU_NODE_PAGE_H
#define KEFU_NODE_PAGE_H

#include "cluster/repl.h"
#include "node/msg.h"
#include "storage/store.h"

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

#define PAGE_MAX 500
#define PAGE_BYTES (256u * 1024)

/* A page: copies of the records taken, owned by the page. */
struct page {
	ProtobufCMessage **v;
	size_t n, bytes;
	bool more;          /* the listing stopped because the page was full */
};

/* page_take - a copy of m onto p. Returns 0, or 1 (m not taken: p is full;
 * p->more is set). */
int page_take(struct page *p, const ProtobufCMessage *m);

/* Walks a table for request e, calling page_take; returns 0 or an error. */
typedef int (*page_list_fn)(struct store_txn *t, const Kefu__Envelope *e, struct page *p);

/*
 * page_fill - p filled by fn inside one read transaction of the replica.
 * Returns 0, or the error of store_read_begin or fn, which the peer has
 * then been sent as an Error reply. p is the caller's to page_release
 * either way.
 */
int page_fill(struct msg_peer *peer, const Kefu__Envelope *e, struct repl_storage *sto,
	      page_list_fn fn, struct page *p);

/* page_release - frees the copies; p may be filled again after. */
void page_release(struct page *p);

#endif
