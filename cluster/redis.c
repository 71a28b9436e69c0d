/*
 * The Redis client. See redis.h for the contract.
 *
 * Parts, bottom up:
 *   - the reader: hiredis's RESP parser with reply objects of our own
 *     (struct redis_reply), which also enforce max_size while a reply is
 *     being built, so no peer-announced count ever sizes an allocation;
 *   - requests: one formatted command, its callback and its deadline alarm;
 *   - links: one connection (lib/net.h raw) with a reader and the FIFO of
 *     requests sent on it. Four links, one row each in link_kinds: the
 *     primary (commands), the subscriber (pub/sub), the sentinel query
 *     (finding the primary) and the sentinel watch (+switch-master);
 *   - discovery: WAIT -> QUERY (a sentinel) -> CONNECT (AUTH, ROLE) -> UP.
 *
 * Reentrancy: user callbacks run while links are being walked. Links are
 * never reopened from inside their own callbacks: every "down" handler
 * only schedules an alarm, so a link's connection pointer tells whether
 * the connection being processed is still the current one.
 */
#include "cluster/redis.h"

#include "lib/digest.h"
#include "lib/err.h"
#include "lib/hist.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/net.h"
#include "lib/tls.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REDIS_TIMEOUT_DEFAULT 1000u
#define REDIS_CONNECT_DEFAULT 1000u
#define REDIS_RETRY_DEFAULT 200u
#define REDIS_QUEUE_DEFAULT 65536u
#define REDIS_CHANNEL_MAX 1024
/* What the reader counts for each element besides its string. */
#define READER_NODE_COST 64

/* ---- replies ---- */

static const char *const redis_type_names[] = {
#define REDIS_TYPE_NAME_(id, name) [id] = name,
	REDIS_TYPES(REDIS_TYPE_NAME_)
#undef REDIS_TYPE_NAME_
};

const char *redis_type_name(enum redis_type t)
{
	return (size_t)t < sizeof(redis_type_names) / sizeof(redis_type_names[0]) ? redis_type_names[t]
										  : "?";
}

bool redis_reply_is_error(const struct redis_reply *reply, const char *code)
{
	size_t n = strlen(code);

	return reply && reply->type == REDIS_TYPE_ERROR && reply->len >= n &&
	       memcmp(reply->str, code, n) == 0 && (reply->len == n || reply->str[n] == ' ');
}

/* True when reply is a bulk or status string equal to s. */
static bool reply_is_text(const struct redis_reply *reply, const char *s)
{
	return reply && (reply->type == REDIS_TYPE_STRING || reply->type == REDIS_TYPE_STATUS) &&
	       reply->len == strlen(s) && memcmp(reply->str, s, reply->len) == 0;
}

void redis_reply_free(struct redis_reply *reply)
{
	if (!reply)
		return;
	if (reply->type == REDIS_TYPE_ARRAY) {
		for (size_t i = 0; i < reply->n; i++)
			redis_reply_free(reply->elem[i]);
		free(reply->elem);
	}
	free(reply);
}

/* ---- the reader ---- */

struct redis_reader {
	redisReader *hr;
	size_t max;
	size_t used; /* counted so far for the reply being built */
	int err;
	char why[REDIS_DETAIL_MAX];
};

/* Records the reader's first error; returns it. */
static int reader_fail(struct redis_reader *rd, int err, const char *why)
{
	if (!rd->err) {
		rd->err = err;
		snprintf(rd->why, sizeof(rd->why), "%s", why);
	}
	return rd->err;
}

/*
 * A new reply object for task t of `extra` bytes more than the node,
 * counted against the cap and hung under its parent array. NULL (and the
 * reader's error) when over the cap or outside what the parent announced.
 */
static struct redis_reply *reply_new(const redisReadTask *t, enum redis_type type, size_t extra)
{
	struct redis_reader *rd = t->privdata;
	struct redis_reply *parent = t->parent ? t->parent->obj : NULL;
	struct redis_reply *obj;

	if (extra > rd->max || rd->used + READER_NODE_COST + extra > rd->max) {
		reader_fail(rd, KF_ETOOBIG, "reply over max_size");
		return NULL;
	}
	if (t->parent && (!parent || parent->type != REDIS_TYPE_ARRAY || t->idx < 0 ||
			  (size_t)t->idx >= parent->n)) {
		reader_fail(rd, KF_EPROTO, "array element outside the announced count");
		return NULL;
	}
	rd->used += READER_NODE_COST + extra;
	obj = calloc(1, sizeof(*obj) + (type == REDIS_TYPE_ARRAY ? 0 : extra));
	if (!obj)
		abort();
	obj->type = type;
	if (parent)
		parent->elem[t->idx] = obj;
	return obj;
}

static void *reader_string(const redisReadTask *t, char *s, size_t len)
{
	enum redis_type type = t->type == REDIS_REPLY_STATUS  ? REDIS_TYPE_STATUS
			       : t->type == REDIS_REPLY_ERROR ? REDIS_TYPE_ERROR
							      : REDIS_TYPE_STRING;
	struct redis_reply *obj = reply_new(t, type, len + 1);
	char *buf;

	if (!obj)
		return NULL;
	buf = (char *)(obj + 1);
	memcpy(buf, s, len);
	buf[len] = '\0';
	obj->str = buf;
	obj->len = len;
	return obj;
}

static void *reader_array(const redisReadTask *t, int elements)
{
	struct redis_reply *obj;

	if (elements < 0) {
		reader_fail(t->privdata, KF_EPROTO, "negative array length");
		return NULL;
	}
	obj = reply_new(t, REDIS_TYPE_ARRAY, (size_t)elements * sizeof(struct redis_reply *));
	if (!obj)
		return NULL;
	obj->elem = calloc(elements ? (size_t)elements : 1, sizeof(*obj->elem));
	if (!obj->elem)
		abort();
	obj->n = (size_t)elements;
	return obj;
}

static void *reader_integer(const redisReadTask *t, long long v)
{
	struct redis_reply *obj = reply_new(t, REDIS_TYPE_INTEGER, 0);

	if (obj)
		obj->integer = v;
	return obj;
}

static void *reader_nil(const redisReadTask *t)
{
	return reply_new(t, REDIS_TYPE_NIL, 0);
}

static void reader_free_object(void *obj)
{
	redis_reply_free(obj);
}

static redisReplyObjectFunctions reader_functions = {
	reader_string, reader_array, reader_integer, reader_nil, reader_free_object,
};

struct redis_reader *redis_reader_new(size_t max_size)
{
	struct redis_reader *rd = calloc(1, sizeof(*rd));

	if (!rd)
		abort();
	rd->max = max_size ? max_size : REDIS_MAX_SIZE_DEFAULT;
	rd->hr = redisReaderCreateWithFunctions(&reader_functions);
	if (!rd->hr)
		abort();
	rd->hr->privdata = rd;
	return rd;
}

void redis_reader_free(struct redis_reader *rd)
{
	if (!rd)
		return;
	redisReaderFree(rd->hr);
	free(rd);
}

/* Bytes held for the reply not yet complete: built so far plus unparsed input. */
static size_t reader_held(const struct redis_reader *rd)
{
	return rd->used + (rd->hr->len - rd->hr->pos);
}

int redis_reader_feed(struct redis_reader *rd, const void *data, size_t len)
{
	if (rd->err)
		return rd->err;
	if (reader_held(rd) > rd->max)
		return reader_fail(rd, KF_ETOOBIG, "reply over max_size");
	if (redisReaderFeed(rd->hr, data, len) != REDIS_OK)
		return reader_fail(rd, KF_EPROTO, rd->hr->errstr);
	return 0;
}

int redis_reader_next(struct redis_reader *rd, struct redis_reply **out)
{
	void *obj = NULL;

	*out = NULL;
	if (rd->err)
		return rd->err;
	if (redisReaderGetReply(rd->hr, &obj) != REDIS_OK)
		return reader_fail(rd, KF_EPROTO, rd->hr->errstr[0] ? rd->hr->errstr : "bad reply");
	if (!obj)
		return reader_held(rd) > rd->max ? reader_fail(rd, KF_ETOOBIG, "reply over max_size")
						 : 0;
	rd->used = 0;
	*out = obj;
	return 1;
}

const char *redis_reader_error(const struct redis_reader *rd)
{
	return rd->why;
}

/* ---- the client's parts ---- */

struct redis_req;

/* A list of requests, in order. */
struct req_list {
	struct redis_req *head, *tail;
};

enum link_kind { LINK_PRIMARY, LINK_SUB, LINK_QUERY, LINK_WATCH };

/* One connection, its reader and the requests sent on it awaiting replies. */
struct redis_link {
	struct redis *r;
	enum link_kind kind;
	struct net_conn *conn; /* NULL while closed */
	bool open;             /* connected (else still connecting) */
	struct redis_reader *rd;
	struct req_list sent;
	char addr[REDIS_ADDR_MAX];
};

struct redis_req {
	struct redis_req *prev, *next;
	struct redis *r;
	redis_reply_fn cb;
	void *arg;
	char *cmd; /* formatted by hiredis */
	size_t len;
	const struct redis_script *script; /* EVALSHA: reloaded once on NOSCRIPT */
	bool user;                         /* counted against max_queue */
	bool retried;
	struct loop_alarm *alarm; /* the deadline */
	struct redis_link *link;  /* sent on it; NULL while queued */
	uint64_t sent_us;         /* handed to the primary's connection, monotonic µs */
};

struct redis_script {
	struct redis_script *next;
	char *name;
	char *source;
	char sha[DIGEST_SHA1_HEX + 1];
};

struct redis_sub {
	char *channel;
	bool pattern;
};

enum redis_phase { PHASE_WAIT, PHASE_QUERY, PHASE_CONNECT, PHASE_UP };

struct redis {
	struct loop *loop;
	struct redis_opts o; /* strings point at the copies below */
	char *master_name, *password, *sentinel_password;
	char sentinels[REDIS_SENTINELS_MAX][REDIS_ADDR_MAX];
	size_t n_sentinels;
	size_t next_sentinel; /* the one the next query goes to */
	size_t tried;         /* sentinels tried in this round */
	size_t watch_sentinel;
	char fixed[REDIS_ADDR_MAX];
	struct net_opts net;

	enum redis_phase phase;
	bool up, freeing;
	char last_up[REDIS_ADDR_MAX]; /* the primary the client was last up on */
	int why;                      /* the last failure, for queued commands that expire */
	bool reported_up;
	int reported_why;

	struct redis_link primary, sub, query, watch;
	struct req_list queue; /* commands not sent yet */
	size_t n_user;         /* user commands queued or in flight */
	struct loop_alarm *resolve_alarm, *sub_alarm, *watch_alarm;
	struct redis_script *scripts;
	struct redis_sub subs[REDIS_SUBS_MAX];
	size_t n_subs;
	/* Round trips of the commands on the primary link (sent → reply), in
	 * µs: rtt[0] since rtt_since_ms, rtt[1] the window of RTT_WINDOW_MS before. */
	struct hist rtt[2];
	uint64_t rtt_since_ms;
	struct hist rtt_total; /* the same since the client started, never reset */
};

/* ---- request lists ---- */

static void list_push(struct req_list *l, struct redis_req *q)
{
	q->next = NULL;
	q->prev = l->tail;
	if (l->tail)
		l->tail->next = q;
	else
		l->head = q;
	l->tail = q;
}

static void list_remove(struct req_list *l, struct redis_req *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else
		l->head = q->next;
	if (q->next)
		q->next->prev = q->prev;
	else
		l->tail = q->prev;
	q->prev = q->next = NULL;
}

static struct redis_req *list_pop(struct req_list *l)
{
	struct redis_req *q = l->head;

	if (q)
		list_remove(l, q);
	return q;
}

/* ---- requests ---- */

static void req_deadline(void *arg);

/*
 * A request for argv into *out. Returns 0, KF_ETOOBIG (over max_size),
 * -EINVAL (hiredis refused to format it); then *out is NULL.
 */
static int req_new(struct redis *r, int argc, const char *const *argv, const size_t *argvlen,
		   redis_reply_fn cb, void *arg, struct redis_req **out)
{
	struct redis_req *q;
	char *cmd = NULL;
	long long len = redisFormatCommandArgv(&cmd, argc, (const char **)argv, argvlen);

	*out = NULL;
	if (len < 0 || !cmd)
		return -EINVAL;
	if ((size_t)len > r->o.max_size) {
		redisFreeCommand(cmd);
		return KF_ETOOBIG;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		abort();
	q->r = r;
	q->cb = cb;
	q->arg = arg;
	q->cmd = cmd;
	q->len = (size_t)len;
	q->alarm = loop_alarm_new(r->loop, req_deadline, q);
	loop_alarm_set(q->alarm, r->o.command_timeout_ms);
	*out = q;
	return 0;
}

/* Ends a request (already out of every list): its callback, then its memory. */
static void req_finish(struct redis_req *q, int err, const struct redis_reply *reply)
{
	if (q->user)
		q->r->n_user--;
	loop_alarm_free(q->alarm);
	redisFreeCommand(q->cmd);
	q->cb(q->arg, err, err ? NULL : reply);
	free(q);
}

static void queue_flush(struct redis *r);
static void link_fail(struct redis_link *k, int reason, const char *detail);

/* A request's deadline: a sent one takes its connection down with it. */
static void req_deadline(void *arg)
{
	struct redis_req *q = arg;
	struct redis *r = q->r;

	if (q->link) {
		link_fail(q->link, -ETIMEDOUT, "no reply within command_timeout_ms");
		return;
	}
	list_remove(&r->queue, q);
	req_finish(q, r->why ? r->why : -ETIMEDOUT, NULL);
}

/* ---- links ---- */

static void primary_opened(struct redis_link *k);
static void primary_down(struct redis_link *k, int reason, const char *detail);
static void sub_opened(struct redis_link *k);
static void sub_down(struct redis_link *k, int reason, const char *detail);
static void sub_push(struct redis_link *k, const struct redis_reply *reply);
static void query_opened(struct redis_link *k);
static void query_down(struct redis_link *k, int reason, const char *detail);
static void watch_opened(struct redis_link *k);
static void watch_down(struct redis_link *k, int reason, const char *detail);
static void watch_push(struct redis_link *k, const struct redis_reply *reply);

/* One row per link: what runs when it opens and when it fails, and who
 * takes replies that answer no request (pub/sub messages); NULL push = a
 * protocol error. */
static const struct {
	const char *name;
	void (*opened)(struct redis_link *k);
	void (*down)(struct redis_link *k, int reason, const char *detail);
	void (*push)(struct redis_link *k, const struct redis_reply *reply);
} link_kinds[] = {
	[LINK_PRIMARY] = {"primary", primary_opened, primary_down, NULL},
	[LINK_SUB] = {"subscriber", sub_opened, sub_down, sub_push},
	[LINK_QUERY] = {"sentinel", query_opened, query_down, NULL},
	[LINK_WATCH] = {"sentinel-watch", watch_opened, watch_down, watch_push},
};

/*
 * Closes k's connection (if any) and fails what was sent on it with reason;
 * with notify, the link's down handler runs first (it sees the link closed).
 */
static void link_close(struct redis_link *k, int reason, const char *detail, bool notify)
{
	struct req_list sent = k->sent;
	struct redis_req *q;
	char why[REDIS_DETAIL_MAX];

	if (!k->conn)
		return;
	snprintf(why, sizeof(why), "%s", detail);
	net_conn_close(k->conn);
	k->conn = NULL;
	k->open = false;
	redis_reader_free(k->rd);
	k->rd = NULL;
	k->sent.head = k->sent.tail = NULL;
	for (q = sent.head; q; q = q->next)
		q->link = NULL;
	if (notify)
		link_kinds[k->kind].down(k, reason, why);
	while ((q = list_pop(&sent)))
		req_finish(q, reason, NULL);
}

static void link_fail(struct redis_link *k, int reason, const char *detail)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(1000, 20);

	if (!k->conn)
		return;
	log_ratelimited(&rl, LOG_CLUSTER, LOG_LVL_INFO,
			"redis connection lost link=%s addr=%s reason=%s detail=\"%s\"",
			link_kinds[k->kind].name, k->addr, kf_errname(reason), detail);
	link_close(k, reason, detail, true);
}

static void link_on_open(void *arg, struct net_conn *c)
{
	struct redis_link *k = arg;

	(void)c;
	k->open = true;
	link_kinds[k->kind].opened(k);
}

static void link_on_close(void *arg, struct net_conn *c, int reason, const char *detail)
{
	struct redis_link *k = arg;

	(void)c;
	link_fail(k, reason ? reason : -ECONNRESET, reason ? detail : "server closed the connection");
}

static void link_on_writable(void *arg, struct net_conn *c)
{
	struct redis_link *k = arg;

	(void)c;
	if (k->kind == LINK_PRIMARY)
		queue_flush(k->r);
}

static void script_reload(struct redis_req *q);

#define RTT_WINDOW_MS 60000

/* Moves the round-trip windows on to now_ms (the current one becomes the previous). */
static void rtt_roll(struct redis *r, uint64_t now_ms)
{
	if (now_ms - r->rtt_since_ms < RTT_WINDOW_MS)
		return;
	if (now_ms - r->rtt_since_ms < 2 * RTT_WINDOW_MS)
		r->rtt[1] = r->rtt[0];
	else
		memset(&r->rtt[1], 0, sizeof(r->rtt[1]));
	memset(&r->rtt[0], 0, sizeof(r->rtt[0]));
	r->rtt_since_ms = now_ms;
}

/* One reply off the wire: to the oldest request sent, or a pub/sub push. */
static void link_dispatch(struct redis_link *k, const struct redis_reply *reply)
{
	struct redis_req *q = list_pop(&k->sent);
	struct net_conn *c = k->conn;
	bool readonly;

	if (!q) {
		if (link_kinds[k->kind].push)
			link_kinds[k->kind].push(k, reply);
		else
			link_fail(k, KF_EPROTO, "reply without a command");
		return;
	}
	q->link = NULL;
	if (q->sent_us) {
		uint64_t now = loop_now_us();

		rtt_roll(k->r, now / 1000);
		hist_add(&k->r->rtt[0], now > q->sent_us ? now - q->sent_us : 0);
		hist_add(&k->r->rtt_total, now > q->sent_us ? now - q->sent_us : 0);
	}
	if (q->script && !q->retried && redis_reply_is_error(reply, "NOSCRIPT")) {
		script_reload(q);
		return;
	}
	readonly = k->kind == LINK_PRIMARY && redis_reply_is_error(reply, "READONLY");
	req_finish(q, 0, reply);
	if (readonly && k->conn == c)
		link_fail(k, -EROFS, reply->str);
}

static void link_on_data(void *arg, struct net_conn *c, const uint8_t *data, size_t len)
{
	struct redis_link *k = arg;
	struct redis_reply *reply;
	int rc = redis_reader_feed(k->rd, data, len);

	while (rc == 0 && k->conn == c && (rc = redis_reader_next(k->rd, &reply)) == 1) {
		link_dispatch(k, reply);
		redis_reply_free(reply);
		rc = 0;
	}
	if (rc < 0 && k->conn == c)
		link_fail(k, rc, redis_reader_error(k->rd));
}

/* Dials addr for k; a failure at once goes to the link's down handler. */
static void link_open(struct redis_link *k, const char *addr)
{
	static const struct net_conn_cbs cbs = {
		.open = link_on_open,
		.frame = link_on_data,
		.writable = link_on_writable,
		.close = link_on_close,
	};
	struct redis *r = k->r;
	struct net_dial_opts d = {r->loop, addr, r->o.tls, &r->net, &cbs, k};
	int err;

	snprintf(k->addr, sizeof(k->addr), "%s", addr);
	if (!r->o.tls && r->o.plain_loopback_only && !net_addr_is_loopback(addr)) {
		link_kinds[k->kind].down(k, KF_ECONFIG,
					 "plaintext outside loopback refused: set redis_tls = true "
					 "(or allow_plaintext = true)");
		return;
	}
	k->rd = redis_reader_new(r->o.max_size);
	err = net_connect_raw(&d, &k->conn);
	if (err) {
		redis_reader_free(k->rd);
		k->rd = NULL;
		link_kinds[k->kind].down(k, err, "cannot dial the address");
	}
}

/*
 * Sends argv on open link k; the reply goes to cb(k). Returns 0, or the
 * error of req_new or net_conn_write, with which the link has failed.
 */
static int link_call(struct redis_link *k, int argc, const char *const *argv, redis_reply_fn cb)
{
	struct redis_req *q;
	int err = req_new(k->r, argc, argv, NULL, cb, k, &q);

	if (err == 0 && (err = net_conn_write(k->conn, q->cmd, q->len)) == 0) {
		q->link = k;
		list_push(&k->sent, q);
		return 0;
	}
	if (q) {
		q->cb = NULL;
		loop_alarm_free(q->alarm);
		redisFreeCommand(q->cmd);
		free(q);
	}
	link_fail(k, err, "cannot send a command");
	return err;
}

/* Sends argv on open link k with no reply expected as an answer (pub/sub). */
static void link_send(struct redis_link *k, int argc, const char *const *argv)
{
	char *cmd = NULL;
	long long len = redisFormatCommandArgv(&cmd, argc, (const char **)argv, NULL);
	int err = len < 0 ? -EINVAL : net_conn_write(k->conn, cmd, (size_t)len);

	redisFreeCommand(cmd);
	if (err)
		link_fail(k, err, "cannot send a command");
}

/* The reply to AUTH on any link: a refusal takes the link down with -EACCES. */
static void auth_checked(void *arg, int err, const struct redis_reply *reply)
{
	struct redis_link *k = arg;

	if (!err && reply->type == REDIS_TYPE_ERROR)
		link_fail(k, -EACCES, reply->str);
}

/* AUTH with password on k when there is one. Returns 0, or the error of
 * link_call, with which the link has failed. */
static int link_auth(struct redis_link *k, const char *password)
{
	const char *argv[] = {"AUTH", password};

	return password ? link_call(k, 2, argv, auth_checked) : 0;
}

/* ---- the client's state ---- */

/* Tells the user the client is up, or down for a new reason. */
static void state_report(struct redis *r, bool up, const char *addr, int why, const char *detail)
{
	if (up == r->reported_up && (up || why == r->reported_why))
		return;
	r->reported_up = up;
	r->reported_why = why;
	if (up)
		log_info(LOG_CLUSTER, "redis up primary=%s", addr);
	else
		log_warn(LOG_CLUSTER, "redis down addr=%s reason=%s detail=\"%s\"", addr,
			 kf_errname(why), detail);
	if (r->o.state)
		r->o.state(r->o.arg, up, addr, why, detail);
}

/* A failed step: remember why, tell the user, try again after ms. */
static void resolve_later(struct redis *r, uint64_t ms, const char *addr, int why,
			  const char *detail)
{
	r->phase = PHASE_WAIT;
	r->why = why;
	state_report(r, false, addr, why, detail);
	loop_alarm_set(r->resolve_alarm, ms);
}

static void primary_connect(struct redis *r, const char *addr)
{
	r->phase = PHASE_CONNECT;
	link_open(&r->primary, addr);
}

/* Starts a resolution: ask the next sentinel, or dial the fixed address. */
static void resolve_run(void *arg)
{
	struct redis *r = arg;

	if (r->phase != PHASE_WAIT || r->freeing)
		return;
	if (!r->n_sentinels) {
		primary_connect(r, r->fixed);
		return;
	}
	r->phase = PHASE_QUERY;
	link_open(&r->query, r->sentinels[r->next_sentinel]);
}

static void query_answered(void *arg, int err, const struct redis_reply *reply)
{
	struct redis_link *k = arg;
	struct redis *r = k->r;
	char addr[REDIS_ADDR_MAX];
	int n;

	if (err)
		return; /* the link is down already: query_down had it */
	if (reply->type != REDIS_TYPE_ARRAY || reply->n != 2 ||
	    reply->elem[0]->type != REDIS_TYPE_STRING || reply->elem[1]->type != REDIS_TYPE_STRING) {
		link_fail(k, KF_ENOTFOUND,
			  reply->type == REDIS_TYPE_ERROR ? reply->str : "sentinel knows no such master");
		return;
	}
	n = snprintf(addr, sizeof(addr), strchr(reply->elem[0]->str, ':') ? "[%s]:%s" : "%s:%s",
		     reply->elem[0]->str, reply->elem[1]->str);
	if (n < 0 || (size_t)n >= sizeof(addr)) {
		link_fail(k, KF_EPROTO, "sentinel named an address too long");
		return;
	}
	log_debug(LOG_CLUSTER, "redis sentinel names primary sentinel=%s primary=%s", k->addr,
		  addr);
	link_close(k, 0, "done", false);
	r->tried = 0;
	primary_connect(r, addr);
}

static void query_opened(struct redis_link *k)
{
	struct redis *r = k->r;
	const char *argv[] = {"SENTINEL", "get-master-addr-by-name", r->master_name};

	if (link_auth(k, r->sentinel_password) == 0)
		(void)link_call(k, 3, argv, query_answered);
}

/* A sentinel failed us: the next one, or a pause after a whole round. */
static void query_down(struct redis_link *k, int reason, const char *detail)
{
	struct redis *r = k->r;

	r->next_sentinel = (r->next_sentinel + 1) % r->n_sentinels;
	if (++r->tried < r->n_sentinels) {
		r->phase = PHASE_WAIT;
		r->why = reason;
		loop_alarm_set(r->resolve_alarm, 0);
		return;
	}
	r->tried = 0;
	resolve_later(r, r->o.retry_ms, k->addr, reason, detail);
}

/* The primary answered ROLE as master: up. */
static void primary_up(struct redis *r)
{
	const char *addr = r->primary.addr;
	char from[REDIS_ADDR_MAX];
	bool moved = r->last_up[0] && strcmp(r->last_up, addr) != 0;

	snprintf(from, sizeof(from), "%s", r->last_up);
	snprintf(r->last_up, sizeof(r->last_up), "%s", addr);
	r->phase = PHASE_UP;
	r->up = true;
	r->why = 0;
	state_report(r, true, addr, 0, "");
	if (moved) {
		log_warn(LOG_CLUSTER, "redis primary moved from=%s to=%s", from, addr);
		if (r->o.moved)
			r->o.moved(r->o.arg, from, addr);
	}
	if (r->up)
		queue_flush(r);
	if (r->up && r->n_subs)
		loop_alarm_set(r->sub_alarm, 0);
}

static void role_checked(void *arg, int err, const struct redis_reply *reply)
{
	struct redis_link *k = arg;
	char why[REDIS_DETAIL_MAX];
	const struct redis_reply *role = reply && reply->type == REDIS_TYPE_ARRAY && reply->n
						 ? reply->elem[0]
						 : NULL;

	if (err)
		return;
	if (reply_is_text(role, "master")) {
		primary_up(k->r);
		return;
	}
	snprintf(why, sizeof(why), "ROLE says %s",
		 reply->type == REDIS_TYPE_ERROR ? reply->str
		 : role && role->type == REDIS_TYPE_STRING ? role->str
							    : "something else");
	link_fail(k, reply->type == REDIS_TYPE_ERROR ? KF_EPROTO : -EROFS, why);
}

static void primary_opened(struct redis_link *k)
{
	const char *argv[] = {"ROLE"};

	if (link_auth(k, k->r->password) == 0)
		(void)link_call(k, 1, argv, role_checked);
}

/* The primary link failed: resolve again, at once if it was up. */
static void primary_down(struct redis_link *k, int reason, const char *detail)
{
	struct redis *r = k->r;
	bool was_up = r->up;

	r->up = false;
	link_close(&r->sub, reason, detail, false);
	loop_alarm_cancel(r->sub_alarm);
	resolve_later(r, was_up ? 0 : r->o.retry_ms, k->addr, reason, detail);
}

/* Sends what is queued, in order, while up and the connection takes it. */
static void queue_flush(struct redis *r)
{
	struct redis_req *q;

	while (r->up && (q = r->queue.head)) {
		int err = net_conn_write(r->primary.conn, q->cmd, q->len);

		if (err == KF_ETOOBIG)
			return; /* link_on_writable calls again */
		if (err) {
			link_fail(&r->primary, err, "cannot send a command");
			return;
		}
		list_remove(&r->queue, q);
		q->link = &r->primary;
		q->sent_us = loop_now_us();
		list_push(&r->primary.sent, q);
	}
}

/* ---- the sentinel watch: +switch-master ---- */

static void watch_run(void *arg)
{
	struct redis *r = arg;

	if (!r->watch.conn && !r->freeing)
		link_open(&r->watch, r->sentinels[r->watch_sentinel]);
}

static void watch_opened(struct redis_link *k)
{
	const char *argv[] = {"SUBSCRIBE", "+switch-master"};

	if (link_auth(k, k->r->sentinel_password) == 0)
		link_send(k, 2, argv);
}

static void watch_down(struct redis_link *k, int reason, const char *detail)
{
	struct redis *r = k->r;

	(void)reason;
	(void)detail;
	r->watch_sentinel = (r->watch_sentinel + 1) % r->n_sentinels;
	loop_alarm_set(r->watch_alarm, r->o.retry_ms);
}

/* A sentinel announced a new primary: resolve now unless already there. */
static void primary_hint(struct redis *r, const char *addr)
{
	log_info(LOG_CLUSTER, "redis sentinel announced a new primary primary=%s", addr);
	if (r->phase == PHASE_UP && strcmp(addr, r->primary.addr) != 0) {
		link_fail(&r->primary, KF_ESTATE, "a sentinel announced another primary");
	} else if (r->phase == PHASE_WAIT) {
		r->tried = 0;
		loop_alarm_set(r->resolve_alarm, 0);
	}
}

/* "+switch-master" payload: "<name> <old-ip> <old-port> <new-ip> <new-port>". */
static void watch_push(struct redis_link *k, const struct redis_reply *reply)
{
	struct redis *r = k->r;
	const char *words[5], *p;
	size_t lens[5], n = 0;
	char addr[REDIS_ADDR_MAX];
	int w;

	if (reply->type != REDIS_TYPE_ARRAY || reply->n != 3 ||
	    !reply_is_text(reply->elem[0], "message") ||
	    reply->elem[2]->type != REDIS_TYPE_STRING)
		return;
	for (p = reply->elem[2]->str; *p && n < 5; n++) {
		words[n] = p;
		lens[n] = strcspn(p, " ");
		p += lens[n];
		p += strspn(p, " ");
	}
	if (n != 5 || lens[0] != strlen(r->master_name) ||
	    memcmp(words[0], r->master_name, lens[0]) != 0)
		return;
	w = snprintf(addr, sizeof(addr), memchr(words[3], ':', lens[3]) ? "[%.*s]:%.*s" : "%.*s:%.*s",
		     (int)lens[3], words[3], (int)lens[4], words[4]);
	if (w > 0 && (size_t)w < sizeof(addr))
		primary_hint(r, addr);
}

/* ---- the subscriber ---- */

static void sub_run(void *arg)
{
	struct redis *r = arg;

	if (r->up && r->n_subs && !r->sub.conn && !r->freeing)
		link_open(&r->sub, r->primary.addr);
}

static void sub_send(struct redis_link *k, const struct redis_sub *s, bool on)
{
	static const char *const verbs[2][2] = {{"UNSUBSCRIBE", "PUNSUBSCRIBE"},
						{"SUBSCRIBE", "PSUBSCRIBE"}};
	const char *argv[] = {verbs[on][s->pattern], s->channel};

	link_send(k, 2, argv);
}

static void sub_opened(struct redis_link *k)
{
	struct redis *r = k->r;

	if (link_auth(k, r->password) != 0)
		return;
	for (size_t i = 0; i < r->n_subs && k->conn; i++)
		sub_send(k, &r->subs[i], true);
}

static void sub_down(struct redis_link *k, int reason, const char *detail)
{
	struct redis *r = k->r;

	(void)reason;
	(void)detail;
	if (r->up)
		loop_alarm_set(r->sub_alarm, r->o.retry_ms);
}

/* "message" channel payload, or "pmessage" pattern channel payload; the rest are confirmations. */
static void sub_push(struct redis_link *k, const struct redis_reply *reply)
{
	struct redis *r = k->r;
	struct redis_reply *const *e = reply->elem;

	if (reply->type != REDIS_TYPE_ARRAY || !r->o.message)
		return;
	for (size_t i = 0; i < reply->n; i++)
		if (e[i]->type != REDIS_TYPE_STRING)
			return;
	if (reply->n == 3 && reply_is_text(e[0], "message"))
		r->o.message(r->o.arg, e[1]->str, NULL, e[2]->str, e[2]->len);
	else if (reply->n == 4 && reply_is_text(e[0], "pmessage"))
		r->o.message(r->o.arg, e[2]->str, e[1]->str, e[3]->str, e[3]->len);
}

/* ---- scripts ---- */

static void script_loaded(void *arg, int err, const struct redis_reply *reply)
{
	const struct redis_script *s = arg;

	if (err || reply->type == REDIS_TYPE_ERROR)
		log_warn(LOG_CLUSTER, "redis script load failed script=%s error=\"%s\"", s->name,
			 err ? kf_strerror(err) : reply->str);
}

/* NOSCRIPT: SCRIPT LOAD, then the same EVALSHA again (once), both in order at the queue's end. */
static void script_reload(struct redis_req *q)
{
	struct redis *r = q->r;
	const char *argv[] = {"SCRIPT", "LOAD", q->script->source};
	struct redis_req *load;

	(void)req_new(r, 3, argv, NULL, script_loaded, (void *)q->script, &load);
	log_info(LOG_CLUSTER, "redis script reloaded script=%s", q->script->name);
	q->retried = true;
	if (load)
		list_push(&r->queue, load);
	list_push(&r->queue, q);
	queue_flush(r);
}

int redis_script_define(struct redis *r, const char *name, const char *source,
			struct redis_script **out)
{
	struct redis_script *s;

	*out = NULL;
	if (!name || !*name || !source || !*source)
		return -EINVAL;
	if (strlen(source) + 64 > r->o.max_size)
		return KF_ETOOBIG;
	s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->name = strdup(name);
	s->source = strdup(source);
	if (!s->name || !s->source)
		abort();
	digest_sha1_hex(source, strlen(source), s->sha);
	s->next = r->scripts;
	r->scripts = s;
	*out = s;
	return 0;
}

const char *redis_script_sha(const struct redis_script *s)
{
	return s->sha;
}

/* ---- the API ---- */

/* Queues a user command built from argv (a copy is formatted). */
static int command_submit(struct redis *r, int argc, const char *const *argv, const size_t *argvlen,
			  const struct redis_script *script, redis_reply_fn cb, void *arg)
{
	struct redis_req *q;
	int err = 0;

	if (r->freeing)
		return KF_ESTATE;
	if (argc < 1 || !argv || !cb)
		return -EINVAL;
	if (r->n_user >= r->o.max_queue)
		return KF_ETOOBIG;
	if ((err = req_new(r, argc, argv, argvlen, cb, arg, &q)) != 0)
		return err;
	q->user = true;
	q->script = script;
	r->n_user++;
	list_push(&r->queue, q);
	queue_flush(r);
	return 0;
}

int redis_command(struct redis *r, int argc, const char *const *argv, const size_t *argvlen,
		  redis_reply_fn cb, void *arg)
{
	if (argc >= 1 && argv && argv[0] &&
	    (strcasecmp(argv[0], "SUBSCRIBE") == 0 || strcasecmp(argv[0], "PSUBSCRIBE") == 0))
		return -EINVAL;
	return command_submit(r, argc, argv, argvlen, NULL, cb, arg);
}

int redis_evalsha(struct redis *r, const struct redis_script *s, int nkeys, int argc,
		  const char *const *argv, const size_t *argvlen, redis_reply_fn cb, void *arg)
{
	const char **v;
	size_t *lens;
	char nk[24];
	int rc;

	if (!s || nkeys < 0 || argc < nkeys || (argc && !argv) || argc > INT32_MAX - 3)
		return -EINVAL;
	v = calloc((size_t)argc + 3, sizeof(*v));
	lens = calloc((size_t)argc + 3, sizeof(*lens));
	if (!v || !lens)
		abort();
	snprintf(nk, sizeof(nk), "%d", nkeys);
	v[0] = "EVALSHA";
	v[1] = s->sha;
	v[2] = nk;
	for (int i = 0; i < 3; i++)
		lens[i] = strlen(v[i]);
	for (int i = 0; i < argc; i++) {
		v[i + 3] = argv[i];
		lens[i + 3] = argvlen ? argvlen[i] : strlen(argv[i]);
	}
	rc = command_submit(r, argc + 3, v, lens, s, cb, arg);
	free(v);
	free(lens);
	return rc;
}

bool redis_is_up(const struct redis *r)
{
	return r->up;
}

const char *redis_primary_addr(const struct redis *r)
{
	return r->up ? r->primary.addr : NULL;
}

const struct hist *redis_rtt_total(const struct redis *r)
{
	return &r->rtt_total;
}

void redis_rtt(struct redis *r, uint64_t *p50_us, uint64_t *p99_us, uint64_t *count)
{
	struct hist h;

	rtt_roll(r, loop_now_ms());
	h = r->rtt[1];
	hist_merge(&h, &r->rtt[0]);
	*p50_us = hist_quantile(&h, 500);
	*p99_us = hist_quantile(&h, 990);
	*count = h.count;
}

static struct redis_sub *sub_find(struct redis *r, const char *channel, bool pattern)
{
	for (size_t i = 0; i < r->n_subs; i++)
		if (r->subs[i].pattern == pattern && strcmp(r->subs[i].channel, channel) == 0)
			return &r->subs[i];
	return NULL;
}

int redis_subscribe(struct redis *r, const char *channel, bool pattern)
{
	struct redis_sub *s;

	if (r->freeing)
		return KF_ESTATE;
	if (!channel || !*channel || !r->o.message)
		return -EINVAL;
	if (sub_find(r, channel, pattern))
		return KF_EEXISTS;
	if (r->n_subs >= REDIS_SUBS_MAX || strlen(channel) > REDIS_CHANNEL_MAX)
		return KF_ETOOBIG;
	s = &r->subs[r->n_subs++];
	s->channel = strdup(channel);
	if (!s->channel)
		abort();
	s->pattern = pattern;
	if (r->sub.open)
		sub_send(&r->sub, s, true);
	else if (r->up && !r->sub.conn)
		loop_alarm_set(r->sub_alarm, 0);
	return 0;
}

int redis_unsubscribe(struct redis *r, const char *channel, bool pattern)
{
	struct redis_sub *s = channel ? sub_find(r, channel, pattern) : NULL;

	if (!s)
		return KF_ENOTFOUND;
	if (r->sub.open)
		sub_send(&r->sub, s, false);
	free(s->channel);
	*s = r->subs[--r->n_subs];
	return 0;
}

/* Splits the comma-separated sentinel list into r->sentinels. */
static int sentinels_parse(struct redis *r, const char *list)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");

		if (n == 0 || n >= REDIS_ADDR_MAX || r->n_sentinels == REDIS_SENTINELS_MAX)
			return KF_ECONFIG;
		memcpy(r->sentinels[r->n_sentinels], p, n);
		r->sentinels[r->n_sentinels++][n] = '\0';
		p += n;
		if (*p == ',' && !*++p)
			return KF_ECONFIG;
	}
	return r->n_sentinels ? 0 : KF_ECONFIG;
}

static char *dup_or_null(const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		abort();
	return d;
}

int redis_new(const struct redis_opts *o, struct redis **out)
{
	struct redis *r;

	*out = NULL;
	if (!o->loop)
		return -EINVAL;
	if (!o->sentinels == !o->addr || (o->sentinels && (!o->master_name || !*o->master_name)) ||
	    (o->addr && strlen(o->addr) >= REDIS_ADDR_MAX) || (o->tls && tls_ctx_is_server(o->tls)))
		return KF_ECONFIG;
	r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	if (o->sentinels && sentinels_parse(r, o->sentinels) != 0) {
		free(r);
		return KF_ECONFIG;
	}
	r->loop = o->loop;
	r->o = *o;
	r->o.command_timeout_ms = o->command_timeout_ms ? o->command_timeout_ms : REDIS_TIMEOUT_DEFAULT;
	r->o.connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : REDIS_CONNECT_DEFAULT;
	r->o.retry_ms = o->retry_ms ? o->retry_ms : REDIS_RETRY_DEFAULT;
	r->o.max_size = o->max_size ? o->max_size : REDIS_MAX_SIZE_DEFAULT;
	r->o.max_queue = o->max_queue ? o->max_queue : REDIS_QUEUE_DEFAULT;
	r->master_name = dup_or_null(o->master_name);
	r->password = dup_or_null(o->password);
	r->sentinel_password = dup_or_null(o->sentinel_password);
	r->o.sentinels = r->o.addr = r->o.master_name = r->o.password = r->o.sentinel_password = NULL;
	if (o->addr)
		snprintf(r->fixed, sizeof(r->fixed), "%s", o->addr);
	r->net.handshake_ms = r->o.connect_timeout_ms;
	r->net.max_out = 2 * r->o.max_size + 65536;
	r->primary = (struct redis_link){.r = r, .kind = LINK_PRIMARY};
	r->sub = (struct redis_link){.r = r, .kind = LINK_SUB};
	r->query = (struct redis_link){.r = r, .kind = LINK_QUERY};
	r->watch = (struct redis_link){.r = r, .kind = LINK_WATCH};
	r->resolve_alarm = loop_alarm_new(r->loop, resolve_run, r);
	r->sub_alarm = loop_alarm_new(r->loop, sub_run, r);
	r->watch_alarm = loop_alarm_new(r->loop, watch_run, r);
	r->phase = PHASE_WAIT;
	loop_alarm_set(r->resolve_alarm, 0);
	if (r->n_sentinels)
		loop_alarm_set(r->watch_alarm, 0);
	*out = r;
	return 0;
}

void redis_free(struct redis *r)
{
	struct redis_req *q;
	struct redis_script *s;

	if (!r)
		return;
	struct redis_link *links[] = {&r->primary, &r->sub, &r->query, &r->watch};
	r->freeing = true;
	r->up = false;
	loop_alarm_free(r->resolve_alarm);
	loop_alarm_free(r->sub_alarm);
	loop_alarm_free(r->watch_alarm);
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		link_close(links[i], KF_ECANCELED, "client freed", false);
	while ((q = list_pop(&r->queue)))
		req_finish(q, KF_ECANCELED, NULL);
	while ((s = r->scripts)) {
		r->scripts = s->next;
		free(s->name);
		free(s->source);
		free(s);
	}
	for (size_t i = 0; i < r->n_subs; i++)
		free(r->subs[i].channel);
	free(r->master_name);
	free(r->password);
	free(r->sentinel_password);
	free(r);
}
