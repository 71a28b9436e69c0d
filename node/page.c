/* Listings in pages. See page.h. */
#include "node/page.h"

#include "lib/err.h"
#include "proto/frame.h"

#include <stdlib.h>

static void page_init(struct page *p)
{
	p->v = calloc(PAGE_MAX, sizeof(*p->v));
	if (!p->v)
		abort();
	p->n = p->bytes = 0;
	p->more = false;
}

int page_take(struct page *p, const ProtobufCMessage *m)
{
	size_t len;

	if (p->n >= PAGE_MAX || p->bytes >= PAGE_BYTES) {
		p->more = true;
		return 1;
	}
	p->v[p->n++] = proto_copy(m, &len);
	p->bytes += len;
	return 0;
}

int page_fill(struct msg_peer *peer, const Kefu__Envelope *e, struct repl_storage *sto,
	      page_list_fn fn, struct page *p)
{
	struct store_txn *t;
	int err;

	page_init(p);
	err = store_read_begin(sto->store, &t);
	if (err == 0) {
		err = fn(t, e, p);
		store_abort(t);
	}
	if (err)
		msg_error(peer, e->request_id, err, kf_strerror(err));
	return err;
}

void page_release(struct page *p)
{
	for (size_t i = 0; i < p->n; i++)
		protobuf_c_message_free_unpacked(p->v[i], NULL);
	free(p->v);
	p->v = NULL;
	p->n = 0;
}
