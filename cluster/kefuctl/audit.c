/*
 * kefuctl audit verify: walk the audit log's hash chain (storage/audit.h)
 * on one node (AuditVerifyRequest), or offline on a node's database
 * directory (--db), and say "chain intact" or name the first broken link.
 * Exit status 1 when broken.
 */
#include "cluster/kefuctl/audit.h"

#include "cluster/kefuctl/ctl.h"
#include "lib/err.h"
#include "storage/audit.h"
#include "storage/store.h"

#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VERIFY_TIMEOUT_MS 600000 /* a big table is walked in chunks */
#define VERIFY_GRACE_MS (60 * 1000)

struct verify_args {
	const char *db;
	bool json;
};

static int verify_args(int argc, char **argv, struct verify_args *a)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"db", required_argument, NULL, 'd'},
		{"node", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': a->json = true; break;
		case 'd': a->db = optarg; break;
		case 'n':
			/* the one node to ask, as the global --node says it */
			if (strlen(optarg) >= sizeof(ctl_target.nodes[0]))
				return ctl_usage_error("--node: address too long");
			snprintf(ctl_target.nodes[0], sizeof(ctl_target.nodes[0]), "%s", optarg);
			ctl_target.nnodes = 1;
			break;
		default: return ctl_usage_error("unknown option");
		}
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument %s", argv[optind]);
	return 0;
}

static void hex(const ProtobufCBinaryData *b, char *out, size_t cap)
{
	size_t i;

	for (i = 0; i < b->len && 2 * i + 2 < cap; i++)
		snprintf(out + 2 * i, 3, "%02x", b->data[i]);
	out[2 * i] = '\0';
}

static void print_json(const Kefu__AuditVerifyReply *r)
{
	char h[2 * AUDIT_KEY_MAX + 1], when[40];
	json_t *o = json_object(), *b = json_null();
	char *text;

	json_object_set_new(o, "node", json_string(r->node ? r->node : ""));
	json_object_set_new(o, "entries", json_integer((json_int_t)r->entries));
	json_object_set_new(o, "intact", json_boolean(r->intact));
	json_object_set_new(o, "sealed", json_integer((json_int_t)r->sealed));
	json_object_set_new(o, "pending", json_integer((json_int_t)r->pending));
	hex(&r->head_hash, h, sizeof(h));
	json_object_set_new(o, "head_hash", r->has_head_hash ? json_string(h) : json_null());
	if (!r->intact) {
		b = json_object();
		hex(&r->broken_key, h, sizeof(h));
		ctl_time_text(r->broken_time_ms, when, sizeof(when));
		json_object_set_new(b, "key", json_string(h));
		json_object_set_new(b, "time_ms", json_integer((json_int_t)r->broken_time_ms));
		json_object_set_new(b, "time", json_string(when));
		json_object_set_new(b, "seq", json_integer((json_int_t)r->broken_seq));
		json_object_set_new(b, "node", json_string(r->broken_node ? r->broken_node : ""));
		json_object_set_new(b, "why", json_string(r->broken_why ? r->broken_why : ""));
	}
	json_object_set_new(o, "broken_at", b);
	text = json_dumps(o, JSON_COMPACT);
	if (text)
		puts(text);
	free(text);
	json_decref(o);
}

static int report(const Kefu__AuditVerifyReply *r, bool json)
{
	char h[2 * AUDIT_KEY_MAX + 1], when[40];

	if (json) {
		print_json(r);
	} else if (r->intact) {
		hex(&r->head_hash, h, sizeof(h));
		printf("%s: %" PRIu64 " entries checked: chain intact (%" PRIu64 " sealed, %" PRIu64
		       " pending%s%s)\n", r->node ? r->node : "", r->entries, r->sealed, r->pending,
		       r->has_head_hash ? ", head " : "", r->has_head_hash ? h : "");
	} else {
		hex(&r->broken_key, h, sizeof(h));
		ctl_time_text(r->broken_time_ms, when, sizeof(when));
		printf("%s: %" PRIu64 " entries checked: chain BROKEN at the entry of %s "
		       "seq %" PRIu64 " node %s (key %s): %s\n", r->node ? r->node : "", r->entries,
		       when, r->broken_seq, r->broken_node ? r->broken_node : "", h,
		       r->broken_why ? r->broken_why : "");
	}
	fflush(stdout);
	return r->intact ? 0 : EXIT_NEGATIVE;
}

static int verify_online(int argc, char **argv)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
	Kefu__AuditVerifyRequest vr = KEFU__AUDIT_VERIFY_REQUEST__INIT;
	struct verify_args a;
	int r = verify_args(argc, argv, &a);

	if (r)
		return r;
	req.body_case = KEFU__ENVELOPE__BODY_AUDIT_VERIFY;
	req.audit_verify = &vr;
	r = ctl_request(&req, KEFU__ENVELOPE__BODY_AUDIT_VERIFY_REPLY, VERIFY_TIMEOUT_MS, &rep);
	if (r)
		return r;
	r = report(rep->audit_verify_reply, a.json);
	kefu__envelope__free_unpacked(rep, NULL);
	return r;
}

struct verify_run {
	struct verify_args a;
	int rc;
};

/* Offline: the whole table in one read transaction. */
static int verify_run(struct store_txn *t, void *arg)
{
	struct verify_run *v = arg;
	Kefu__AuditVerifyReply rep = KEFU__AUDIT_VERIFY_REPLY__INIT;
	struct audit_walk w;
	int err;

	memset(&w, 0, sizeof(w));
	w.now_ms = (uint64_t)time(NULL) * 1000;
	w.grace_ms = VERIFY_GRACE_MS;
	w.final = true;
	err = audit_walk_step(t, &w, 0);
	if (err)
		return err;
	audit_walk_reply(&w, &rep);
	rep.node = (char *)v->a.db;
	v->rc = report(&rep, v->a.json);
	return 0;
}

static int verify_offline(int argc, char **argv)
{
	struct verify_run v = {.rc = 0};
	int r = verify_args(argc, argv, &v.a);

	if (r)
		return r;
	if (!v.a.db)
		return ctl_usage_error("verify offline needs --db DIR");
	r = ctl_list_offline(v.a.db, verify_run, &v);
	return r ? r : v.rc;
}

static bool is_verify(int argc, char **argv)
{
	return argc > 1 && strcmp(argv[1], "verify") == 0;
}

int ctl_audit_cmd(int argc, char **argv)
{
	return is_verify(argc, argv) ? verify_online(argc - 1, argv + 1) : ctl_audit(argc, argv);
}

int ctl_audit_cmd_offline(int argc, char **argv)
{
	return is_verify(argc, argv) ? verify_offline(argc - 1, argv + 1)
				     : ctl_audit_offline(argc, argv);
}
