/*
 * kefuctl's online commands: one request (or a stream of them, for an
 * import) to a running node over mutual TLS, trying the target's nodes in
 * order until one answers.
 */
#include "cluster/kefuctl/ctl.h"

#include "cluster/rpc.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "lib/tls.h"
#include "storage/boss.h"
#include "storage/store.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CALL_TIMEOUT_MS 10000
#define IMPORT_END_TIMEOUT_MS (6 * 3600 * 1000)
#define IMPORT_CHUNK (1u << 20)

/* One session: a loop, a TLS context and a connection to the first node that answers. */
struct session {
	struct loop *loop;
	struct tls_ctx *tls;
	struct rpc *rpc;
	const char *addr;
	bool done;
	int err;
	uint8_t *reply;     /* the last reply, packed, owned */
	size_t reply_len;
	char why[256];      /* the connection's last failure, as on_state heard it */
	bool told;          /* on_state printed it */
	bool gone;          /* the connection failed or was closed */
	ctl_push_fn push;   /* unsolicited envelopes (ctl_watch); NULL: dropped */
	void *push_arg;
};

static void on_reply(void *arg, int err, const Kefu__Envelope *e)
{
	struct session *s = arg;

	s->done = true;
	s->err = err;
	free(s->reply);
	s->reply = NULL;
	if (err == 0) {
		s->reply_len = kefu__envelope__get_packed_size(e);
		s->reply = malloc(s->reply_len ? s->reply_len : 1);
		if (!s->reply)
			abort();
		kefu__envelope__pack(e, s->reply);
	}
	loop_stop(s->loop);
}

static void on_push(void *arg, const Kefu__Envelope *e)
{
	struct session *s = arg;

	if (s->push)
		s->push(s->push_arg, e);
}

static void on_state(void *arg, int err, const char *detail)
{
	struct session *s = arg;

	if (!err)
		return;
	s->gone = true;
	if (s->push)
		loop_stop(s->loop);
	snprintf(s->why, sizeof(s->why), "%s%s%s", kf_strerror(err), detail ? ": " : "",
		 detail ? detail : "");
	if (!s->done) {
		fprintf(stderr, "kefuctl: %s: %s\n", s->addr, s->why);
		s->told = true;
	}
}

/* Send req, wait for its reply; on 0 *out is the reply (free with kefu__envelope__free_unpacked). */
static int call(struct session *s, Kefu__Envelope *req, uint64_t timeout_ms, Kefu__Envelope **out)
{
	int r;

	s->done = false;
	r = rpc_call(s->rpc, req, timeout_ms, on_reply, s);
	if (r)
		return r;
	while (!s->done)
		loop_run(s->loop);
	if (s->err)
		return s->err;
	*out = kefu__envelope__unpack(NULL, s->reply_len, s->reply);
	return *out ? 0 : KF_EPROTO;
}

static void session_close(struct session *s)
{
	rpc_free(s->rpc);
	tls_ctx_free(s->tls);
	loop_free(s->loop);
	free(s->reply);
	memset(s, 0, sizeof(*s));
}

/* Connect to the first node that completes a Ping, trying the target's
 * nodes from the one at index first on (wrapping around); *which is the
 * index of the node connected to. */
static int session_open_from(struct session *s, size_t first, size_t *which)
{
	struct tls_opts to = {ctl_target.ca, ctl_target.cert, ctl_target.key, false, 0,
			      ctl_target.crl[0] ? ctl_target.crl : NULL};
	char why[256];
	int err;

	memset(s, 0, sizeof(*s));
	err = loop_new(&s->loop);
	if (err) {
		fprintf(stderr, "kefuctl: event loop: %s\n", kf_strerror(err));
		return err;
	}
	err = tls_ctx_new(&to, &s->tls, why, sizeof(why));
	if (err) {
		fprintf(stderr, "kefuctl: TLS: %s\n", why);
		loop_free(s->loop);
		s->loop = NULL;
		return err;
	}
	for (size_t i = 0; i < ctl_target.nnodes; i++) {
		struct rpc_opts ro = {.loop = s->loop, .tls = s->tls, .state = on_state,
				      .unsolicited = on_push, .arg = s};
		Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep = NULL;
		Kefu__Ping ping = KEFU__PING__INIT;
		size_t k = (first + i) % ctl_target.nnodes;

		s->addr = ctl_target.nodes[k];
		ro.addr = s->addr;
		err = rpc_new(&ro, &s->rpc);
		if (err) {
			fprintf(stderr, "kefuctl: %s: %s\n", s->addr, kf_strerror(err));
			continue;
		}
		req.body_case = KEFU__ENVELOPE__BODY_PING;
		req.ping = &ping;
		err = call(s, &req, 3000, &rep);
		if (err == 0 && rep->body_case == KEFU__ENVELOPE__BODY_PONG) {
			kefu__envelope__free_unpacked(rep, NULL);
			*which = k;
			return 0;
		}
		if (rep) {
			if (rep->body_case == KEFU__ENVELOPE__BODY_ERROR && rep->error->message)
				fprintf(stderr, "kefuctl: %s: %s\n", s->addr, rep->error->message);
			kefu__envelope__free_unpacked(rep, NULL);
		} else if (err && !s->told) {
			/* The link failed under the Ping (a TLS alert after the handshake). */
			fprintf(stderr, "kefuctl: %s: %s\n", s->addr, s->why[0] ? s->why : kf_strerror(err));
		}
		s->why[0] = '\0';
		s->told = false;
		rpc_free(s->rpc);
		s->rpc = NULL;
	}
	fprintf(stderr, "kefuctl: no node answered\n");
	session_close(s);
	return -EHOSTUNREACH;
}

static int session_open(struct session *s)
{
	size_t which;

	return session_open_from(s, 0, &which);
}

int ctl_print_error(const Kefu__Envelope *rep)
{
	const char *m = rep->error->message ? rep->error->message : kf_strerror(rep->error->code);

	fprintf(stderr, "kefuctl: %s%s%s%s\n", m, rep->error->leader ? " (leader: " : "",
		rep->error->leader ? rep->error->leader : "", rep->error->leader ? ")" : "");
	return rep->error->code == KF_ENOTFOUND ? EXIT_NEGATIVE : EXIT_USAGE;
}

/* One request, one reply of the expected body; prints errors. */
static int request(Kefu__Envelope *req, Kefu__Envelope__BodyCase want, uint64_t timeout_ms,
		   Kefu__Envelope **out)
{
	struct session s;
	int r = session_open(&s);

	*out = NULL;
	if (r)
		return EXIT_USAGE;
	r = call(&s, req, timeout_ms, out);
	session_close(&s);
	if (r) {
		fprintf(stderr, "kefuctl: %s\n", kf_strerror(r));
		return EXIT_USAGE;
	}
	if ((*out)->body_case == KEFU__ENVELOPE__BODY_ERROR) {
		r = ctl_print_error(*out);
		kefu__envelope__free_unpacked(*out, NULL);
		*out = NULL;
		return r;
	}
	if ((*out)->body_case != want) {
		fprintf(stderr, "kefuctl: unexpected answer from the node\n");
		kefu__envelope__free_unpacked(*out, NULL);
		*out = NULL;
		return EXIT_USAGE;
	}
	return 0;
}

int ctl_request(Kefu__Envelope *req, Kefu__Envelope__BodyCase want, uint64_t timeout_ms,
		Kefu__Envelope **out)
{
	return request(req, want, timeout_ms, out);
}

int ctl_watch(Kefu__Envelope *req, Kefu__Envelope__BodyCase want, uint64_t timeout_ms,
	      ctl_push_fn each, void *arg)
{
	struct session s;
	Kefu__Envelope *rep = NULL;
	int r = session_open(&s);

	if (r)
		return EXIT_USAGE;
	r = call(&s, req, timeout_ms, &rep);
	if (r) {
		fprintf(stderr, "kefuctl: %s\n", kf_strerror(r));
		session_close(&s);
		return EXIT_USAGE;
	}
	if (rep->body_case != want) {
		r = rep->body_case == KEFU__ENVELOPE__BODY_ERROR ? ctl_print_error(rep) : EXIT_USAGE;
		if (rep->body_case != KEFU__ENVELOPE__BODY_ERROR)
			fprintf(stderr, "kefuctl: unexpected answer from the node\n");
		kefu__envelope__free_unpacked(rep, NULL);
		session_close(&s);
		return r;
	}
	each(arg, rep);
	kefu__envelope__free_unpacked(rep, NULL);
	s.push = each;
	s.push_arg = arg;
	while (!s.gone)
		loop_run(s.loop);
	if (!s.told)
		fprintf(stderr, "kefuctl: %s: %s\n", s.addr, s.why[0] ? s.why : "connection closed");
	session_close(&s);
	return EXIT_USAGE;
}

int ctl_call(Kefu__Envelope *req, uint64_t timeout_ms, size_t *node, Kefu__Envelope **out)
{
	struct session s;
	int r;

	*out = NULL;
	if (ctl_target.nnodes == 0) {
		fprintf(stderr, "kefuctl: no node to ask\n");
		return -EHOSTUNREACH;
	}
	if ((r = session_open_from(&s, *node % ctl_target.nnodes, node)))
		return -EHOSTUNREACH;
	r = call(&s, req, timeout_ms, out);
	if (r) {
		if (!s.told)
			fprintf(stderr, "kefuctl: %s: %s\n", s.addr,
				s.why[0] ? s.why : kf_strerror(r));
		*out = NULL;
	}
	session_close(&s);
	return r == -EHOSTUNREACH ? -ECONNRESET : r;
}

/* The bytes field name of message m, and its has_ flag. */
static ProtobufCBinaryData *bytes_field(ProtobufCMessage *m, const char *name,
					protobuf_c_boolean **has)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);

	assert(f && f->type == PROTOBUF_C_TYPE_BYTES && f->label == PROTOBUF_C_LABEL_OPTIONAL);
	*has = (protobuf_c_boolean *)((char *)m + f->quantifier_offset);
	return (ProtobufCBinaryData *)((char *)m + f->offset);
}

/* The body of e, which is of case body. */
static ProtobufCMessage *envelope_body(const Kefu__Envelope *e, Kefu__Envelope__BodyCase body)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field(&kefu__envelope__descriptor, (unsigned)body);

	assert(f && f->type == PROTOBUF_C_TYPE_MESSAGE);
	return *(ProtobufCMessage **)((char *)e + f->offset);
}

int ctl_request_pages(Kefu__Envelope *req, Kefu__Envelope__BodyCase want, uint64_t timeout_ms,
		      ctl_page_fn each, void *arg)
{
	protobuf_c_boolean *has_after, *has_next;
	ProtobufCBinaryData *after = bytes_field(envelope_body(req, req->body_case), "after",
						 &has_after);
	uint8_t cur[CTL_CURSOR_MAX];
	size_t clen = 0;
	int r;

	for (;;) {
		Kefu__Envelope *rep;
		ProtobufCMessage *page;
		ProtobufCBinaryData *next;
		bool more;

		*has_after = clen > 0;
		after->data = cur;
		after->len = clen;
		if ((r = ctl_request(req, want, timeout_ms, &rep)))
			return r;
		page = envelope_body(rep, want);
		next = bytes_field(page, "next", &has_next);
		each(arg, page);
		/* A cursor must move forward, or a confused node would loop us. */
		more = *has_next && next->len > 0 && next->len <= sizeof(cur) &&
		       store_key_cmp(next->data, next->len, cur, clen) > 0;
		if (more) {
			memcpy(cur, next->data, next->len);
			clen = next->len;
		}
		kefu__envelope__free_unpacked(rep, NULL);
		if (!more)
			return 0;
	}
}

int ctl_admin_request(Kefu__Envelope *req, uint64_t timeout_ms)
{
	Kefu__Envelope *rep;
	int r = request(req, KEFU__ENVELOPE__BODY_ADMIN_REPLY, timeout_ms, &rep);

	if (r)
		return r;
	r = rep->admin_reply->ok ? 0 : EXIT_NEGATIVE;
	printf("%s%s\n", rep->admin_reply->ok ? "" : "refused: ",
	       rep->admin_reply->message ? rep->admin_reply->message : "");
	kefu__envelope__free_unpacked(rep, NULL);
	return r;
}

/* ---- status and members ---- */

/* The one option of status and members: *json says whether --json was
 * given. Returns 0, or ctl_usage_error's exit status (told on stderr). */
static int json_flag(int argc, char **argv, bool *json)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
	int c;

	*json = false;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'j')
			return ctl_usage_error("unknown option");
		*json = true;
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument %s", argv[optind]);
	return 0;
}

static json_t *status_json(const Kefu__StatusReply *st, bool members_only)
{
	json_t *o = json_object(), *ms = json_array(), *es = json_array();

	for (size_t i = 0; i < st->n_members; i++) {
		const Kefu__MemberStatus *m = st->members[i];

		json_array_append_new(ms, json_pack("{s:s, s:s, s:s, s:I, s:I, s:b, s:I, s:s, s:I}",
						    "name", m->name ? m->name : "", "addr",
						    m->addr ? m->addr : "", "role",
						    m->role ? m->role : "", "applied",
						    (json_int_t)m->applied, "lag", (json_int_t)m->lag,
						    "sync", m->sync, "epoch", (json_int_t)m->epoch,
						    "version", m->version ? m->version : "", "format",
						    (json_int_t)(m->has_format ? m->format : 1)));
	}
	if (members_only) {
		json_decref(o);
		json_decref(es);
		return ms;
	}
	for (size_t i = 0; i < st->n_etcd; i++)
		json_array_append_new(es, json_pack("{s:s, s:b, s:s}", "endpoint",
						    st->etcd[i]->endpoint ? st->etcd[i]->endpoint : "",
						    "healthy", st->etcd[i]->healthy, "detail",
						    st->etcd[i]->detail ? st->etcd[i]->detail : ""));
	json_object_set_new(o, "leader", json_string(st->leader ? st->leader : ""));
	json_object_set_new(o, "epoch", json_integer((json_int_t)st->epoch));
	json_object_set_new(o, "members", ms);
	json_object_set_new(o, "etcd", es);
	json_object_set_new(o, "answered_by", json_string(st->answered_by ? st->answered_by : ""));
	if (st->has_store_format)
		json_object_set_new(o, "store_format", json_integer((json_int_t)st->store_format));
	if (st->note)
		json_object_set_new(o, "note", json_string(st->note));
	if (st->has_redis_up)
		json_object_set_new(o, "redis", json_pack("{s:s, s:b, s:I, s:I, s:I}", "primary",
							  st->redis_primary ? st->redis_primary : "",
							  "up", st->redis_up, "rtt_p50_us",
							  (json_int_t)st->redis_rtt_p50_us, "rtt_p99_us",
							  (json_int_t)st->redis_rtt_p99_us, "commands",
							  (json_int_t)st->redis_commands));
	return o;
}

static void status_text(const Kefu__StatusReply *st, bool members_only)
{
	if (!members_only)
		printf("leader %s   epoch %" PRIu64 "   stored form %" PRIu64 "   (answered by %s)\n",
		       st->leader && *st->leader ? st->leader : "(none)", st->epoch,
		       st->has_store_format ? st->store_format : 1,
		       st->answered_by ? st->answered_by : "?");
	printf("%-12s %-22s %-9s %12s %8s %-4s %-6s %s\n", "NAME", "ADDR", "ROLE", "APPLIED", "LAG",
	       "SYNC", "FORMAT", "VERSION");
	for (size_t i = 0; i < st->n_members; i++) {
		const Kefu__MemberStatus *m = st->members[i];

		printf("%-12s %-22s %-9s %12" PRIu64 " %8" PRIu64 " %-4s %-6" PRIu64 " %s\n",
		       m->name ? m->name : "", m->addr ? m->addr : "", m->role ? m->role : "",
		       m->applied, m->lag, m->sync ? "sync" : "-", m->has_format ? m->format : 1,
		       m->version && *m->version ? m->version : "?");
	}
	if (members_only)
		return;
	for (size_t i = 0; i < st->n_etcd; i++)
		printf("etcd %-28s %s%s%s\n", st->etcd[i]->endpoint ? st->etcd[i]->endpoint : "",
		       st->etcd[i]->healthy ? "healthy" : "UNHEALTHY",
		       st->etcd[i]->detail && *st->etcd[i]->detail ? "  " : "",
		       st->etcd[i]->detail ? st->etcd[i]->detail : "");
	if (st->has_redis_up) {
		printf("redis %-27s %s",
		       st->redis_primary && *st->redis_primary ? st->redis_primary : "(none)",
		       st->redis_up ? "up" : "DOWN");
		if (st->redis_commands)
			printf("   round trip p50 %.2f ms, p99 %.2f ms (%" PRIu64
			       " commands, last 1-2 min, %s)",
			       (double)st->redis_rtt_p50_us / 1000, (double)st->redis_rtt_p99_us / 1000,
			       st->redis_commands, st->answered_by ? st->answered_by : "?");
		printf("\n");
	}
	if (st->note)
		printf("note: %s\n", st->note);
}

static int status_like(int argc, char **argv, bool members_only)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
	Kefu__StatusRequest sr = KEFU__STATUS_REQUEST__INIT;
	bool json;
	int r = json_flag(argc, argv, &json);

	if (r)
		return r;
	req.body_case = KEFU__ENVELOPE__BODY_STATUS;
	req.status = &sr;
	if ((r = request(&req, KEFU__ENVELOPE__BODY_STATUS_REPLY, CALL_TIMEOUT_MS, &rep)))
		return r;
	if (json) {
		json_t *o = status_json(rep->status_reply, members_only);

		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else {
		status_text(rep->status_reply, members_only);
	}
	kefu__envelope__free_unpacked(rep, NULL);
	return 0;
}

int ctl_status(int argc, char **argv)
{
	return status_like(argc, argv, false);
}

int ctl_members(int argc, char **argv)
{
	return status_like(argc, argv, true);
}

/* ---- switchover and failover ---- */

static int leader_change(int argc, char **argv, bool failover)
{
	static const struct option opts[] = {{"to", required_argument, NULL, 't'},
					     {NULL, 0, NULL, 0}};
	Kefu__Envelope req = KEFU__ENVELOPE__INIT;
	Kefu__SwitchoverRequest sw = KEFU__SWITCHOVER_REQUEST__INIT;
	Kefu__FailoverRequest fo = KEFU__FAILOVER_REQUEST__INIT;
	const char *to = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 't')
			return ctl_usage_error("unknown option");
		to = optarg;
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument %s", argv[optind]);
	if (!failover && !to)
		return ctl_usage_error("--to NAME is required");
	if (failover) {
		fo.to = (char *)to;
		req.body_case = KEFU__ENVELOPE__BODY_FAILOVER;
		req.failover = &fo;
	} else {
		sw.to = (char *)to;
		req.body_case = KEFU__ENVELOPE__BODY_SWITCHOVER;
		req.switchover = &sw;
	}
	return ctl_admin_request(&req, 60000);
}

int ctl_switchover(int argc, char **argv)
{
	return leader_change(argc, argv, false);
}

int ctl_failover(int argc, char **argv)
{
	return leader_change(argc, argv, true);
}

/* ---- skip ---- */

int ctl_online_skip(int argc, char **argv)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT;
	Kefu__SkipRequest sr = KEFU__SKIP_REQUEST__INIT;
	struct ctl_skip_args sa;
	int r = ctl_skip_args(argc, argv, &sa);

	if (r)
		return r;
	sr.prov = (char *)sa.prov;
	sr.kind = (char *)sa.kind;
	sr.reason = (char *)sa.reason;
	sr.has_seq = 1;
	sr.seq = (uint32_t)sa.seq;
	req.body_case = KEFU__ENVELOPE__BODY_SKIP;
	req.skip = &sr;
	return ctl_admin_request(&req, 60000);
}

/* ---- lookup ---- */

int ctl_online_lookup(int argc, char **argv)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
	Kefu__LookupRequest lr = KEFU__LOOKUP_REQUEST__INIT;
	struct ctl_lookup_args la;
	int r = ctl_lookup_args(argc, argv, &la);
	uint64_t months = la.months;
	bool json = la.json;

	if (r)
		return r;
	lr.msisdn = (char *)la.msisdn;
	lr.user_id = (char *)la.user_id;
	lr.has_months = 1;
	lr.months = (uint32_t)months;
	req.body_case = KEFU__ENVELOPE__BODY_LOOKUP;
	req.lookup = &lr;
	r = request(&req, KEFU__ENVELOPE__BODY_LOOKUP_REPLY, CALL_TIMEOUT_MS, &rep);
	if (r == EXIT_NEGATIVE)
		fprintf(stderr, "kefuctl: no subscriber with %s %s\n", lr.msisdn ? "msisdn" : "user_id",
			lr.msisdn ? lr.msisdn : lr.user_id);
	if (r)
		return r;
	{
		const Kefu__LookupReply *l = rep->lookup_reply;
		struct ctl_profile p = {l->user,    l->customer, l->n_payments, l->payments,
					l->n_bills, l->bills,    l->n_cdrs,     l->cdrs};

		if (!l->user) {
			fprintf(stderr, "kefuctl: the node answered without a subscriber\n");
			r = EXIT_USAGE;
		} else {
			ctl_profile_print(&p, json);
		}
	}
	kefu__envelope__free_unpacked(rep, NULL);
	return r;
}

/* ---- import ---- */

static int read_small(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap);
	close(fd);
	if (n < 0)
		return -errno;
	if ((size_t)n == cap)
		return KF_ETOOBIG;
	*len = (size_t)n;
	return 0;
}

/* Print the importer's line; returns whether it was a rejection. */
static bool print_import_reply(const Kefu__ImportReply *ir)
{
	printf("%s %s %" PRIu64 "%s%s\n", ir->outcome ? ir->outcome : "?", ir->name ? ir->name : "?",
	       ir->records, ir->reason && *ir->reason ? " " : "", ir->reason ? ir->reason : "");
	fflush(stdout);
	return ir->outcome && strcmp(ir->outcome, "rejected") == 0;
}

/* Stream one file: ImportBegin, ImportChunk..., ImportEnd -> ImportReply. */
static int import_one(struct session *s, const char *path, bool *rejected)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep = NULL;
	Kefu__ImportBegin ib = KEFU__IMPORT_BEGIN__INIT;
	Kefu__ImportChunk ic = KEFU__IMPORT_CHUNK__INIT;
	Kefu__ImportEnd ie = KEFU__IMPORT_END__INIT;
	uint8_t chk[4096];
	char chkpath[4096];
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t chklen = 0;
	struct stat st;
	uint8_t *buf;
	ssize_t n;
	int fd, r;

	snprintf(chkpath, sizeof(chkpath), "%.*s.chk", (int)(strlen(path) - 4), path);
	r = read_small(chkpath, chk, sizeof(chk), &chklen);
	if (r == -ENOENT) {
		printf("held %s 0 no .chk yet (still being written)\n", base);
		return 0;
	}
	if (r) {
		fprintf(stderr, "kefuctl: %s: %s\n", chkpath, kf_strerror(r));
		return EXIT_USAGE;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "kefuctl: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_USAGE;
	}
	ib.name = (char *)base;
	ib.has_chk = 1;
	ib.chk.data = chk;
	ib.chk.len = chklen;
	ib.has_size = 1;
	ib.size = (uint64_t)st.st_size;
	req.body_case = KEFU__ENVELOPE__BODY_IMPORT_BEGIN;
	req.import_begin = &ib;
	r = call(s, &req, CALL_TIMEOUT_MS, &rep);
	buf = malloc(IMPORT_CHUNK);
	if (!buf)
		abort();
	/* Every chunk is answered, which paces the stream to what the node takes. */
	while (r == 0 && rep->body_case == KEFU__ENVELOPE__BODY_ADMIN_REPLY && rep->admin_reply->ok) {
		kefu__envelope__free_unpacked(rep, NULL);
		rep = NULL;
		n = read(fd, buf, IMPORT_CHUNK);
		if (n < 0) {
			r = -errno;
			break;
		}
		kefu__envelope__init(&req);
		if (n == 0) {
			req.body_case = KEFU__ENVELOPE__BODY_IMPORT_END;
			req.import_end = &ie;
			r = call(s, &req, IMPORT_END_TIMEOUT_MS, &rep);
			break;
		}
		ic.has_data = 1;
		ic.data.data = buf;
		ic.data.len = (size_t)n;
		req.body_case = KEFU__ENVELOPE__BODY_IMPORT_CHUNK;
		req.import_chunk = &ic;
		r = call(s, &req, CALL_TIMEOUT_MS, &rep);
	}
	free(buf);
	close(fd);
	if (r) {
		fprintf(stderr, "kefuctl: %s: %s\n", base, kf_strerror(r));
		return EXIT_USAGE;
	}
	if (rep->body_case == KEFU__ENVELOPE__BODY_IMPORT_REPLY) {
		*rejected |= print_import_reply(rep->import_reply);
		r = 0;
	} else if (rep->body_case == KEFU__ENVELOPE__BODY_ERROR) {
		r = ctl_print_error(rep);
	} else if (rep->body_case == KEFU__ENVELOPE__BODY_ADMIN_REPLY) {
		fprintf(stderr, "kefuctl: %s: %s\n", base,
			rep->admin_reply->message ? rep->admin_reply->message : "refused");
		r = EXIT_USAGE;
	} else {
		r = EXIT_USAGE;
	}
	kefu__envelope__free_unpacked(rep, NULL);
	return r;
}

/* BOSS order: production time, then kind, then SEQ (names that do not
 * parse go first, so the node can say why). */
static int boss_order(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	const char *bx = strrchr(x, '/') ? strrchr(x, '/') + 1 : x;
	const char *by = strrchr(y, '/') ? strrchr(y, '/') + 1 : y;
	struct boss_name nx, ny;
	bool okx = boss_parse_name(bx, strlen(bx), &nx, NULL, 0) == 0;
	bool oky = boss_parse_name(by, strlen(by), &ny, NULL, 0) == 0;
	int c;

	if (okx != oky)
		return okx ? 1 : -1;
	if (!okx)
		return strcmp(bx, by);
	if ((c = strcmp(nx.stamp, ny.stamp)))
		return c;
	if (nx.kind != ny.kind)
		return nx.kind < ny.kind ? -1 : 1;
	return nx.seq < ny.seq ? -1 : nx.seq > ny.seq;
}

int ctl_online_import(int argc, char **argv)
{
	struct session s;
	bool rejected = false;
	int r = 0;

	if (argc > 1 && argv[1][0] == '-' && strcmp(argv[1], "--") != 0)
		return ctl_usage_error("%s: options other than --db need the offline import", argv[1]);
	if (argc < 2)
		return ctl_usage_error("no files given");
	for (int i = 1; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (n < 4 || strcmp(argv[i] + n - 4, ".dat") != 0)
			return ctl_usage_error("%s: give the .dat data files (the .chk is found beside each)",
					       argv[i]);
	}
	qsort(argv + 1, (size_t)(argc - 1), sizeof(char *), boss_order);
	if (session_open(&s))
		return EXIT_USAGE;
	for (int i = 1; i < argc && r == 0; i++)
		r = import_one(&s, argv[i], &rejected);
	session_close(&s);
	return r ? r : rejected ? EXIT_NEGATIVE : 0;
}

/* rep if its body is want (0, *out = rep), else exit status 1 with the
 * Error or the surprise printed and rep freed (*out NULL). */
static int expect(Kefu__Envelope *rep, Kefu__Envelope__BodyCase want, Kefu__Envelope **out)
{
	*out = rep;
	if (rep->body_case == want)
		return 0;
	if (rep->body_case == KEFU__ENVELOPE__BODY_ERROR)
		ctl_print_error(rep);
	else
		fprintf(stderr, "kefuctl: unexpected answer from the node\n");
	kefu__envelope__free_unpacked(rep, NULL);
	*out = NULL;
	return EXIT_NEGATIVE;
}

int ctl_call_expect(Kefu__Envelope *req, Kefu__Envelope__BodyCase want, uint64_t timeout_ms,
		    size_t *node, Kefu__Envelope **out)
{
	Kefu__Envelope *rep;

	*out = NULL;
	if (ctl_call(req, timeout_ms, node, &rep))
		return EXIT_NEGATIVE;
	return expect(rep, want, out);
}

static bool error_is_uncertain(const Kefu__Envelope *rep)
{
	return rep->body_case == KEFU__ENVELOPE__BODY_ERROR && rep->error->code == KF_ESTATE &&
	       rep->error->message && strstr(rep->error->message, "may or may not");
}

static void pause_1s(void)
{
	struct timespec ts = {1, 0};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int ctl_request_sure(Kefu__Envelope *req, Kefu__Envelope__BodyCase want, uint64_t timeout_ms,
		     int retries, const char *again, Kefu__Envelope **out)
{
	bool uncertain = false;
	size_t node = 0;

	for (int attempt = 0;; attempt++) {
		int r = ctl_call(req, timeout_ms, &node, out);

		if (r == 0 && ((*out)->body_case == want || !error_is_uncertain(*out)))
			return expect(*out, want, out);
		if (r == 0) {
			ctl_print_error(*out);
			kefu__envelope__free_unpacked(*out, NULL);
			*out = NULL;
		} else if (r == -EHOSTUNREACH && !uncertain) {
			return EXIT_NEGATIVE;
		}
		uncertain = true;
		if (attempt == retries) {
			fprintf(stderr, "kefuctl: no sure answer after %d attempts: %s\n", retries + 1,
				again);
			return EXIT_NEGATIVE;
		}
		fprintf(stderr, "kefuctl: sending it again (%d of %d)\n", attempt + 1, retries);
		node++;
		pause_1s();
	}
}
