/*
 * The etcd client's transport: libcurl's multi interface on the loop.
 * See etcd.h for the contract and etcd_wire.h for the JSON.
 *
 * curl tells us which sockets to watch (on_socket) and when to call it
 * back (on_timer); the loop calls drive(), which lets curl work, then
 * hands finished requests and watch messages to their callbacks. No user
 * callback ever runs inside a curl callback: the watch write callback only
 * parses lines into a queue that drive() delivers afterwards.
 *
 * User callbacks may free what drive() is walking (etcd_free,
 * etcd_watch_cancel). While drive() runs (e->busy) such frees only mark
 * the object; sweep() frees it once drive() is done.
 */
#include "cluster/etcd.h"

#include "cluster/etcd_wire.h"
#include "lib/err.h"
#include "lib/list.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/secret.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ETCD_TIMEOUT_DEFAULT 1000
#define ETCD_RESPONSE_DEFAULT (4u << 20)
/* A private key in PEM is a few KiB at most; this is room for an RSA 16384 one. */
#define ETCD_KEY_FILE_MAX (64u << 10)

enum etcd_call {
	CALL_RANGE,
	CALL_PUT,
	CALL_DELETE,
	CALL_TXN,
	CALL_GRANT,
	CALL_KEEPALIVE,
	CALL_REVOKE,
	CALL_COMPACT,
	CALL_HEALTH,
	CALL_WATCH,
};

/* One row per gateway call: where it goes and how its answer reads.
 * A call without a body is a GET. */
static const struct {
	const char *path;
	enum etcd_wire_kind kind;
} etcd_calls[] = {
	[CALL_RANGE] = {"/v3/kv/range", ETCD_WIRE_PLAIN},
	[CALL_PUT] = {"/v3/kv/put", ETCD_WIRE_PLAIN},
	[CALL_DELETE] = {"/v3/kv/deleterange", ETCD_WIRE_PLAIN},
	[CALL_TXN] = {"/v3/kv/txn", ETCD_WIRE_PLAIN},
	[CALL_GRANT] = {"/v3/lease/grant", ETCD_WIRE_PLAIN},
	[CALL_KEEPALIVE] = {"/v3/lease/keepalive", ETCD_WIRE_KEEPALIVE},
	[CALL_REVOKE] = {"/v3/lease/revoke", ETCD_WIRE_PLAIN},
	[CALL_COMPACT] = {"/v3/kv/compaction", ETCD_WIRE_PLAIN},
	[CALL_HEALTH] = {"/health", ETCD_WIRE_HEALTH},
	[CALL_WATCH] = {"/v3/watch", ETCD_WIRE_PLAIN},
};

static const enum etcd_call op_calls[] = {
	[ETCD_OP_RANGE] = CALL_RANGE,
	[ETCD_OP_PUT] = CALL_PUT,
	[ETCD_OP_DELETE] = CALL_DELETE,
};

/* curl's transport failures as our errors; anything else is -EIO. */
static const struct {
	CURLcode code;
	int err;
} curl_errs[] = {
	{CURLE_OPERATION_TIMEDOUT, -ETIMEDOUT},
	{CURLE_COULDNT_CONNECT, -ECONNREFUSED},
	{CURLE_COULDNT_RESOLVE_HOST, -EHOSTUNREACH},
	{CURLE_SEND_ERROR, -ECONNRESET},
	{CURLE_RECV_ERROR, -ECONNRESET},
	{CURLE_GOT_NOTHING, -ECONNRESET},
	{CURLE_PARTIAL_FILE, -ECONNRESET},
	{CURLE_SSL_CONNECT_ERROR, KF_ETLS},
	{CURLE_PEER_FAILED_VERIFICATION, KF_ETLS},
	{CURLE_SSL_CERTPROBLEM, KF_ETLS},
	{CURLE_SSL_CACERT_BADFILE, KF_ETLS},
	{CURLE_SSL_CIPHER, KF_ETLS},
};

/* Errors that say "this endpoint is not serving": the next request goes elsewhere. */
static const int rotating_errs[] = {-ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH,
				    -ECONNRESET, -EIO, KF_ETLS};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct etcd_sock {
	struct etcd *e;
	struct loop_io *io;
	struct etcd_sock *prev, *next;
};

/* One HTTP request in flight: a plain call or a watch's stream. */
struct etcd_req {
	struct etcd *e;
	struct etcd_req *prev, *next;
	CURL *h;
	enum etcd_call call;
	size_t endpoint;
	bool pinned; /* health: a chosen endpoint, failures do not rotate */
	char *body;
	char *resp;
	size_t resp_len, resp_size;
	bool too_big;
	etcd_fn cb;
	void *arg;
	struct etcd_watch *w;
	char errbuf[CURL_ERROR_SIZE];
};

/* A parsed watch line waiting for delivery; err != 0 ends the watch. */
struct etcd_wmsg {
	struct etcd_wmsg *next;
	int err;
	size_t bytes;
	struct etcd_watch_msg m;
};

struct etcd_watch {
	struct etcd *e;
	struct etcd_watch *prev, *next;
	struct etcd_req *req; /* the stream; NULL once it ended */
	struct etcd_wire_lines lines;
	struct etcd_wmsg *head, **tailp;
	size_t queued;       /* bytes of lines queued */
	bool end_queued;     /* the final error is in the queue */
	bool done;           /* the final error was delivered */
	bool created;
	bool gone;           /* cancelled; freed by sweep() */
	struct loop_alarm *deadline; /* "created" must arrive before it */
	etcd_watch_fn cb;
	void *arg;
};

struct etcd {
	struct loop *loop;
	CURLM *multi;
	struct loop_alarm *timer;
	struct curl_slist *headers;
	char urls[ETCD_ENDPOINTS_MAX][ETCD_URL_MAX + 1];
	size_t n_urls, cur;
	uint32_t timeout_ms;
	size_t max_response;
	char *ca_file, *cert_file, *crl_file;
	char *key;         /* key_file's PEM, read once (lib/secret.h); wiped at the end */
	size_t key_len;
	struct etcd_req *reqs;
	struct etcd_watch *watches;
	struct etcd_sock *socks;
	int busy;
	bool closing;
};

static struct log_ratelimit etcd_rl = LOG_RATELIMIT_INIT(1000, 5);

static void drive(struct etcd *e, curl_socket_t fd, int ev);
static void deliver(struct etcd *e);
static void sweep(struct etcd *e);

/* ---- curl's sockets and timer on the loop ---- */

static void sock_free(struct etcd_sock *s)
{
	LIST_UNLINK(s->e->socks, s);
	loop_io_free(s->io);
	free(s);
}

static void on_io(void *arg, int fd, int events)
{
	struct etcd_sock *s = arg;
	int ev = (events & LOOP_READ ? CURL_CSELECT_IN : 0) |
		 (events & LOOP_WRITE ? CURL_CSELECT_OUT : 0);

	drive(s->e, fd, ev);
}

static int on_socket(CURL *h, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct etcd *e = arg;
	struct etcd_sock *s = sockp;
	int ev = (what & CURL_POLL_IN ? LOOP_READ : 0) | (what & CURL_POLL_OUT ? LOOP_WRITE : 0);

	(void)h;
	if (what == CURL_POLL_REMOVE) {
		if (s)
			sock_free(s);
		return 0;
	}
	if (s)
		return loop_io_set(s->io, ev) ? -1 : 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->e = e;
	if (loop_io_new(e->loop, fd, ev, on_io, s, &s->io) != 0) {
		free(s);
		return -1;
	}
	LIST_LINK(e->socks, s);
	curl_multi_assign(e->multi, fd, s);
	return 0;
}

static int on_timer(CURLM *m, long ms, void *arg)
{
	struct etcd *e = arg;

	(void)m;
	if (ms < 0)
		loop_alarm_cancel(e->timer);
	else
		loop_alarm_set(e->timer, (uint64_t)ms);
	return 0;
}

static void on_alarm(void *arg)
{
	drive(arg, CURL_SOCKET_TIMEOUT, 0);
}

/* ---- requests ---- */

/* Take a request off curl and the client (its connection goes back to
 * curl's cache for the next request). */
static void req_detach(struct etcd_req *q)
{
	struct etcd *e = q->e;

	LIST_UNLINK(e->reqs, q);
	curl_multi_remove_handle(e->multi, q->h);
	curl_easy_cleanup(q->h);
	if (q->w)
		q->w->req = NULL;
}

/* Stop a request without a callback and free it. */
static void req_free(struct etcd_req *q)
{
	req_detach(q);
	free(q->body);
	free(q->resp);
	free(q);
}

static int err_of_curl(CURLcode c)
{
	for (size_t i = 0; i < COUNT(curl_errs); i++)
		if (curl_errs[i].code == c)
			return curl_errs[i].err;
	return -EIO;
}

static bool err_rotates(int err)
{
	for (size_t i = 0; i < COUNT(rotating_errs); i++)
		if (rotating_errs[i] == err)
			return true;
	return false;
}

/* A failure at endpoint idx: note it, and move on if it is still the current one. */
static void endpoint_failed(struct etcd_req *q, int err, const char *detail)
{
	struct etcd *e = q->e;

	log_ratelimited(&etcd_rl, LOG_CLUSTER, LOG_LVL_WARN,
			"etcd request failed endpoint=%s path=%s err=%s detail=\"%s\"",
			e->urls[q->endpoint], etcd_calls[q->call].path, kf_errname(err), detail);
	if (q->pinned || !err_rotates(err) || e->cur != q->endpoint)
		return;
	e->cur = (q->endpoint + 1) % e->n_urls;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg);

/* Queue a call to the current endpoint (or `pinned`, when >= 0). Takes body. */
static struct etcd_req *req_start(struct etcd *e, enum etcd_call call, char *body, long pinned,
				  etcd_fn cb, void *arg)
{
	struct etcd_req *q = calloc(1, sizeof(*q));
	char url[ETCD_URL_MAX + 32];

	if (!q)
		abort();
	q->e = e;
	q->call = call;
	q->pinned = pinned >= 0;
	q->endpoint = q->pinned ? (size_t)pinned : e->cur;
	q->body = body;
	q->cb = cb;
	q->arg = arg;
	q->h = curl_easy_init();
	if (!q->h)
		abort();
	snprintf(url, sizeof(url), "%s%s", e->urls[q->endpoint], etcd_calls[call].path);
	curl_easy_setopt(q->h, CURLOPT_URL, url);
	curl_easy_setopt(q->h, CURLOPT_PRIVATE, q);
	curl_easy_setopt(q->h, CURLOPT_ERRORBUFFER, q->errbuf);
	curl_easy_setopt(q->h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(q->h, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(q->h, CURLOPT_HTTPHEADER, e->headers);
	curl_easy_setopt(q->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(q->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(q->h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(q->h, CURLOPT_CONNECTTIMEOUT_MS, (long)e->timeout_ms);
	curl_easy_setopt(q->h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(q->h, CURLOPT_TCP_KEEPIDLE, 2L);
	curl_easy_setopt(q->h, CURLOPT_TCP_KEEPINTVL, 1L);
	if (call != CALL_WATCH)
		curl_easy_setopt(q->h, CURLOPT_TIMEOUT_MS, (long)e->timeout_ms);
	if (body) {
		curl_easy_setopt(q->h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(q->h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (e->ca_file)
		curl_easy_setopt(q->h, CURLOPT_CAINFO, e->ca_file);
	if (e->cert_file)
		curl_easy_setopt(q->h, CURLOPT_SSLCERT, e->cert_file);
	if (e->key) {
		struct curl_blob key = {e->key, e->key_len, CURL_BLOB_NOCOPY};

		curl_easy_setopt(q->h, CURLOPT_SSLKEY_BLOB, &key);
	}
	if (e->crl_file) {
		curl_easy_setopt(q->h, CURLOPT_CRLFILE, e->crl_file);
		/* Read at each new connection, so a CRL published since counts. */
		curl_easy_setopt(q->h, CURLOPT_CA_CACHE_TIMEOUT, 0L);
	}
	LIST_LINK(e->reqs, q);
	if (curl_multi_add_handle(e->multi, q->h) != CURLM_OK) {
		req_free(q);
		return NULL;
	}
	return q;
}

/* Queue a call whose body is built already (NULL body = build error in err). */
static int call(struct etcd *e, enum etcd_call c, char *body, int err, etcd_fn cb, void *arg)
{
	if (!body)
		return err;
	if (!cb) {
		free(body);
		return -EINVAL;
	}
	return req_start(e, c, body, -1, cb, arg) ? 0 : KF_EINTERNAL;
}

/* ---- watches: the stream's bytes to queued messages ---- */

static void wmsg_push(struct etcd_watch *w, int err, const struct etcd_watch_msg *m, size_t bytes)
{
	struct etcd_wmsg *x = calloc(1, sizeof(*x));

	if (!x)
		abort();
	x->err = err;
	x->bytes = bytes;
	if (m)
		x->m = *m;
	*w->tailp = x;
	w->tailp = &x->next;
	w->queued += bytes;
	if (err)
		w->end_queued = true;
}

static void wmsg_free(struct etcd_wmsg *x)
{
	etcd_wire_watch_release(&x->m);
	free(x);
}

/* Bytes of a watch stream: split into lines, parse each into the queue.
 * Returns false to make curl stop the transfer (the watch has ended). */
static bool watch_data(struct etcd_watch *w, const char *p, size_t n)
{
	const char *line;
	size_t len;
	int r;

	if (w->end_queued)
		return false;
	r = etcd_wire_lines_feed(&w->lines, p, n);
	while (r == 0 && (r = etcd_wire_lines_next(&w->lines, &line, &len)) == 1) {
		struct etcd_watch_msg m;

		r = etcd_wire_watch_parse(line, len, &m);
		if (r == 0 && w->queued + len > w->e->max_response) {
			etcd_wire_watch_release(&m);
			r = KF_ETOOBIG;
		}
		if (r == 0 || r == KF_ECOMPACTED || r == KF_ECANCELED)
			wmsg_push(w, r, &m, len);
		if (m.created)
			w->created = true;
	}
	if (r < 0 && !w->end_queued)
		wmsg_push(w, r, NULL, 0);
	return !w->end_queued;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct etcd_req *q = arg;
	size_t len = size * n;

	if (q->w)
		return watch_data(q->w, p, len) ? len : 0;
	if (len > q->e->max_response - q->resp_len) {
		q->too_big = true;
		return 0;
	}
	if (q->resp_len + len + 1 > q->resp_size) {
		size_t sz = q->resp_size ? q->resp_size : 1024;

		while (sz < q->resp_len + len + 1)
			sz *= 2;
		q->resp = realloc(q->resp, sz);
		if (!q->resp)
			abort();
		q->resp_size = sz;
	}
	memcpy(q->resp + q->resp_len, p, len);
	q->resp_len += len;
	return len;
}

/* The watch's stream is over (err says why): stop it and queue the end. */
static void watch_end(struct etcd_watch *w, int err)
{
	if (w->req)
		req_free(w->req);
	loop_alarm_cancel(w->deadline);
	if (!w->end_queued)
		wmsg_push(w, err, NULL, 0);
}

static void on_watch_deadline(void *arg)
{
	struct etcd_watch *w = arg;
	struct etcd *e = w->e;

	if (w->created || !w->req)
		return;
	e->busy++;
	endpoint_failed(w->req, -ETIMEDOUT, "no watch confirmation");
	watch_end(w, -ETIMEDOUT);
	deliver(e);
	if (--e->busy == 0)
		sweep(e);
}

/* Hand queued watch messages to their callbacks; the final one ends the watch. */
static void deliver(struct etcd *e)
{
	for (struct etcd_watch *w = e->watches; w && !e->closing; w = w->next) {
		while (w->head && !w->gone && !e->closing) {
			struct etcd_wmsg *x = w->head;
			bool has_msg = x->err == 0 || x->err == KF_ECOMPACTED || x->err == KF_ECANCELED;

			w->head = x->next;
			if (!w->head)
				w->tailp = &w->head;
			w->queued -= x->bytes;
			if (x->err)
				w->done = true;
			w->cb(w->arg, x->err, has_msg ? &x->m : NULL);
			wmsg_free(x);
		}
	}
}

/* ---- finishing requests ---- */

/* A finished request: a call's error and answer to its callback, or the
 * end of a watch's stream. */
static void finish(struct etcd_req *q, CURLcode code)
{
	struct etcd_resp r;
	long status = 0;
	int err;

	curl_easy_getinfo(q->h, CURLINFO_RESPONSE_CODE, &status);
	if (q->w) {
		err = code == CURLE_OK ? -EPIPE : err_of_curl(code);
		if (code != CURLE_OK && !q->w->end_queued)
			endpoint_failed(q, err, q->errbuf);
		watch_end(q->w, err);
		return;
	}
	memset(&r, 0, sizeof(r));
	if (code == CURLE_WRITE_ERROR && q->too_big) {
		err = KF_ETOOBIG;
	} else if (code != CURLE_OK) {
		err = err_of_curl(code);
		endpoint_failed(q, err, q->errbuf);
	} else if (status == 200 || (q->call == CALL_HEALTH && status == 503)) {
		err = etcd_wire_resp_parse(etcd_calls[q->call].kind, q->resp ? q->resp : "",
					   q->resp_len, &r);
	} else {
		char msg[160];

		err = etcd_wire_error(status, q->resp ? q->resp : "", q->resp_len, msg, sizeof(msg));
		if (err_rotates(err))
			endpoint_failed(q, err, msg);
	}
	req_detach(q);
	q->cb(q->arg, err, err ? NULL : &r);
	etcd_wire_resp_release(&r);
	free(q->body);
	free(q->resp);
	free(q);
}

static void reap(struct etcd *e)
{
	CURLMsg *m;
	int left;

	while (!e->closing && (m = curl_multi_info_read(e->multi, &left))) {
		CURLcode code = m->data.result;
		char *q = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &q);
		finish((struct etcd_req *)q, code);
	}
}

static void watch_free(struct etcd_watch *w)
{
	struct etcd *e = w->e;

	if (w->req)
		req_free(w->req);
	while (w->head) {
		struct etcd_wmsg *x = w->head;

		w->head = x->next;
		wmsg_free(x);
	}
	LIST_UNLINK(e->watches, w);
	loop_alarm_free(w->deadline);
	etcd_wire_lines_release(&w->lines);
	free(w);
}

static void destroy(struct etcd *e)
{
	while (e->watches)
		watch_free(e->watches);
	while (e->reqs)
		req_free(e->reqs);
	curl_multi_cleanup(e->multi);
	while (e->socks)
		sock_free(e->socks);
	loop_alarm_free(e->timer);
	curl_slist_free_all(e->headers);
	free(e->ca_file);
	free(e->cert_file);
	free(e->crl_file);
	secret_free(e->key, e->key_len);
	free(e);
	curl_global_cleanup();
}

/* Free what callbacks cancelled while drive() ran; then the client, if freed. */
static void sweep(struct etcd *e)
{
	struct etcd_watch *w = e->watches, *next;

	if (e->closing) {
		destroy(e);
		return;
	}
	for (; w; w = next) {
		next = w->next;
		if (w->gone)
			watch_free(w);
	}
}

/* Let curl act on fd (or its timers for CURL_SOCKET_TIMEOUT), then run
 * the callbacks of whatever finished. */
static void drive(struct etcd *e, curl_socket_t fd, int ev)
{
	int running;

	e->busy++;
	curl_multi_socket_action(e->multi, fd, ev, &running);
	reap(e);
	deliver(e);
	if (--e->busy == 0)
		sweep(e);
}

/* ---- the public calls ---- */

static char *dup_opt(const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		abort();
	return d;
}

/* Split "url,url,..." into e->urls. Returns 0 or KF_ECONFIG. */
static int endpoints_parse(struct etcd *e, const char *list)
{
	const char *p = list;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		while (n && (*p == ' ' || *p == '\t'))
			p++, n--;
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '/'))
			n--;
		if (n) {
			if (e->n_urls == ETCD_ENDPOINTS_MAX || n > ETCD_URL_MAX ||
			    !(strncmp(p, "http://", 7) == 0 || strncmp(p, "https://", 8) == 0))
				return KF_ECONFIG;
			memcpy(e->urls[e->n_urls], p, n);
			e->urls[e->n_urls++][n] = '\0';
		}
		p = end ? end + 1 : NULL;
	}
	return e->n_urls ? 0 : KF_ECONFIG;
}

int etcd_new(const struct etcd_opts *o, struct etcd **out)
{
	struct etcd *e;
	static const char *const headers[] = {
		"Content-Type: application/json",
		"Grpc-Metadata-hasleader: true",
		"Expect:",
	};

	*out = NULL;
	if (!o->loop)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	if (endpoints_parse(e, o->endpoints) != 0) {
		log_err(LOG_CLUSTER, "etcd bad endpoints list=\"%s\"", o->endpoints ? o->endpoints : "");
		free(e);
		return KF_ECONFIG;
	}
	e->loop = o->loop;
	e->timeout_ms = o->timeout_ms ? o->timeout_ms : ETCD_TIMEOUT_DEFAULT;
	e->max_response = o->max_response ? o->max_response : ETCD_RESPONSE_DEFAULT;
	if (o->key_file) {
		char why[SECRET_WHY_MAX];
		int r = secret_file_read(o->key_file, "etcd_key", ETCD_KEY_FILE_MAX, &e->key,
					 &e->key_len, why, sizeof(why));

		if (r) {
			log_err(LOG_CLUSTER, "etcd client refused: %s", why);
			free(e);
			return r == KF_ETOOBIG ? KF_ECONFIG : r;
		}
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		secret_free(e->key, e->key_len);
		free(e);
		return KF_EINTERNAL;
	}
	e->ca_file = dup_opt(o->ca_file);
	e->cert_file = dup_opt(o->cert_file);
	e->crl_file = dup_opt(o->crl_file);
	for (size_t i = 0; i < COUNT(headers); i++) {
		struct curl_slist *h = curl_slist_append(e->headers, headers[i]);

		if (!h)
			abort();
		e->headers = h;
	}
	e->timer = loop_alarm_new(e->loop, on_alarm, e);
	e->multi = curl_multi_init();
	if (!e->multi) {
		destroy(e);
		return KF_EINTERNAL;
	}
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	*out = e;
	return 0;
}

void etcd_free(struct etcd *e)
{
	if (!e)
		return;
	e->closing = true;
	if (!e->busy)
		destroy(e);
}

void etcd_set_timeout(struct etcd *e, uint32_t timeout_ms)
{
	e->timeout_ms = timeout_ms ? timeout_ms : ETCD_TIMEOUT_DEFAULT;
}

size_t etcd_endpoint_count(const struct etcd *e)
{
	return e->n_urls;
}

size_t etcd_endpoint_current(const struct etcd *e)
{
	return e->cur;
}

const char *etcd_endpoint_url(const struct etcd *e, size_t index)
{
	return index < e->n_urls ? e->urls[index] : NULL;
}

static int op_call(struct etcd *e, const struct etcd_op *op, etcd_fn cb, void *arg)
{
	int err = 0;
	char *body = etcd_wire_op(op, &err);

	return call(e, op_calls[op->type], body, err, cb, arg);
}

int etcd_get(struct etcd *e, const char *key, bool prefix, etcd_fn cb, void *arg)
{
	struct etcd_op op = {.type = ETCD_OP_RANGE, .key = key, .prefix = prefix};

	return op_call(e, &op, cb, arg);
}

int etcd_put(struct etcd *e, const char *key, const void *val, size_t len, int64_t lease,
	     etcd_fn cb, void *arg)
{
	struct etcd_op op = {.type = ETCD_OP_PUT, .key = key, .value = val, .value_len = len,
			     .lease = lease};

	return op_call(e, &op, cb, arg);
}

int etcd_delete(struct etcd *e, const char *key, bool prefix, etcd_fn cb, void *arg)
{
	struct etcd_op op = {.type = ETCD_OP_DELETE, .key = key, .prefix = prefix};

	return op_call(e, &op, cb, arg);
}

int etcd_txn(struct etcd *e, const struct etcd_txn *t, etcd_fn cb, void *arg)
{
	int err = 0;
	char *body = etcd_wire_txn(t, &err);

	return call(e, CALL_TXN, body, err, cb, arg);
}

int etcd_lease_grant(struct etcd *e, int64_t ttl_s, etcd_fn cb, void *arg)
{
	if (ttl_s <= 0)
		return -EINVAL;
	return call(e, CALL_GRANT, etcd_wire_int("TTL", ttl_s, false), 0, cb, arg);
}

int etcd_lease_keepalive(struct etcd *e, int64_t id, etcd_fn cb, void *arg)
{
	if (id <= 0)
		return -EINVAL;
	return call(e, CALL_KEEPALIVE, etcd_wire_int("ID", id, false), 0, cb, arg);
}

int etcd_lease_revoke(struct etcd *e, int64_t id, etcd_fn cb, void *arg)
{
	if (id <= 0)
		return -EINVAL;
	return call(e, CALL_REVOKE, etcd_wire_int("ID", id, false), 0, cb, arg);
}

int etcd_compact(struct etcd *e, int64_t rev, etcd_fn cb, void *arg)
{
	if (rev <= 0)
		return -EINVAL;
	return call(e, CALL_COMPACT, etcd_wire_int("revision", rev, true), 0, cb, arg);
}

int etcd_health(struct etcd *e, size_t index, etcd_fn cb, void *arg)
{
	if (index >= e->n_urls || !cb)
		return -EINVAL;
	return req_start(e, CALL_HEALTH, NULL, (long)index, cb, arg) ? 0 : KF_EINTERNAL;
}

int etcd_watch(struct etcd *e, const char *key, bool prefix, int64_t start_rev, etcd_watch_fn cb,
	       void *arg, struct etcd_watch **out)
{
	struct etcd_watch *w;
	int err = -EINVAL;
	char *body = cb ? etcd_wire_watch(key, prefix, start_rev, &err) : NULL;

	*out = NULL;
	if (!body)
		return err;
	w = calloc(1, sizeof(*w));
	if (!w)
		abort();
	w->e = e;
	w->cb = cb;
	w->arg = arg;
	w->tailp = &w->head;
	etcd_wire_lines_init(&w->lines, e->max_response);
	w->deadline = loop_alarm_new(e->loop, on_watch_deadline, w);
	LIST_LINK(e->watches, w);
	w->req = req_start(e, CALL_WATCH, body, -1, NULL, NULL);
	if (!w->req) {
		watch_free(w);
		return KF_EINTERNAL;
	}
	w->req->w = w;
	loop_alarm_set(w->deadline, e->timeout_ms);
	*out = w;
	return 0;
}

void etcd_watch_cancel(struct etcd_watch *w)
{
	if (!w)
		return;
	if (w->req)
		req_free(w->req);
	loop_alarm_cancel(w->deadline);
	w->gone = true;
	if (!w->e->busy)
		watch_free(w);
}
