/*
 * kefuctl callbacks: the callback requests waiting for the dialer, oldest
 * first (storage/callback.h). Online from a node's replica, page by page
 * (CallbackListRequest), or from a database directory with --db.
 */
#include "cluster/kefuctl/ctl.h"

#include "lib/err.h"
#include "storage/callback.h"
#include "storage/store.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define CALL_TIMEOUT_MS 30000
#define S(x) ((x) ? (x) : "")

struct cb_out {
	bool json;
	size_t n;
};

static void request_print(struct cb_out *o, const Kefu__CallbackRequest *rq)
{
	char when[64];

	ctl_time_text(rq->requested_ms, when, sizeof(when));
	if (o->json) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:I}",
				      "id", S(rq->id), "ani", S(rq->ani), "user_id",
				      S(rq->user_id), "vip_level", (json_int_t)rq->vip_level,
				      "skill", S(rq->skill), "service", S(rq->service), "call_id",
				      S(rq->call_id), "gateway", S(rq->gateway), "node",
				      S(rq->node), "requested_ms", (json_int_t)rq->requested_ms,
				      "requested", when, "status",
				      callback_status_name(rq->status), "attempts",
				      (json_int_t)rq->attempts);

		if (j) {
			json_dumpf(j, stdout, JSON_COMPACT);
			putchar('\n');
			json_decref(j);
		}
	} else {
		if (o->n == 0)
			printf("%-23s %-9s %-15s %-12s %4s %-8s %-6s %s\n", "REQUESTED", "STATUS",
			       "ANI", "USER", "TIER", "SKILL", "NODE", "ID");
		printf("%-23s %-9s %-15s %-12s %4u %-8s %-6s %s\n", when,
		       callback_status_name(rq->status), S(rq->ani),
		       rq->user_id && *rq->user_id ? rq->user_id : "-", rq->vip_level,
		       rq->skill && *rq->skill ? rq->skill : "-", S(rq->node), S(rq->id));
	}
	o->n++;
}

static void cb_page(void *arg, const ProtobufCMessage *page)
{
	const Kefu__CallbackListReply *l = (const Kefu__CallbackListReply *)page;

	for (size_t i = 0; i < l->n_requests; i++)
		request_print(arg, l->requests[i]);
}

int ctl_callbacks(int argc, char **argv)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT;
	Kefu__CallbackListRequest lr = KEFU__CALLBACK_LIST_REQUEST__INIT;
	struct ctl_list_args g;
	struct cb_out o;
	int r = ctl_list_args(argc, argv, false, &g);

	if (r)
		return r;
	o = (struct cb_out){g.json, 0};
	req.body_case = KEFU__ENVELOPE__BODY_CALLBACK_LIST;
	req.callback_list = &lr;
	return ctl_request_pages(&req, KEFU__ENVELOPE__BODY_CALLBACK_LIST_REPLY, CALL_TIMEOUT_MS,
				 cb_page, &o);
}

static int cb_visit(void *arg, const Kefu__CallbackRequest *rq)
{
	request_print(arg, rq);
	return 0;
}

static int cb_run(struct store_txn *t, void *arg)
{
	return callback_list_pending(t, NULL, 0, 0, cb_visit, arg);
}

int ctl_callbacks_offline(int argc, char **argv)
{
	struct ctl_list_args g;
	struct cb_out o;
	int r = ctl_list_args(argc, argv, false, &g);

	if (r)
		return r;
	o = (struct cb_out){g.json, 0};
	return ctl_list_offline(g.db, cb_run, &o);
}
