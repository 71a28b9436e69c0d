/*
 * The console's HTTP side: pages and assets, login and resume, the
 * requests a page makes (each one message of the table, run on the
 * session's local peer), and the event stream. See console_int.h and
 * docs/console.md.
 */
#include "node/console/console_int.h"

#include "console/assets.h"
#include "lib/err.h"
#include "lib/list.h"
#include "lib/log.h"
#include "lib/webform.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

HT_DEFINE_STR(sids, struct csess, hn, sid)

#define COOKIE "__Host-kefu"
#define PRE_COOKIE "__Host-kefu-pre"

static void reply_text(struct webd_req *r, int status, const char *ctype, const char *text)
{
	webd_reply(r, status, ctype, text, strlen(text));
}

/* {"error": msg} with status. */
static void reply_error(struct webd_req *r, int status, const char *msg)
{
	json_t *o = json_pack("{s:s}", "error", msg);
	char *t = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);

	if (!t)
		abort();
	reply_text(r, status, "application/json", t);
	free(t);
	json_decref(o);
}

static void reply_json(struct webd_req *r, json_t *o)
{
	char *t = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);

	if (!t)
		abort();
	reply_text(r, 200, "application/json", t);
	free(t);
}

/* ---- sessions ---- */

static struct csess *sess_new(struct console *c)
{
	struct csess *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	s->c = c;
	s->seen_ms = loop_now_ms();
	LIST_LINK(c->all, s);
	c->nsess++;
	return s;
}

static void sess_kill(struct csess *s)
{
	s->dead = true;
	loop_alarm_set(s->c->reap, 0);
}

/* The session of the request's cookie, NULL when none is live here. */
static struct csess *sess_of(struct console *c, struct webd_req *r)
{
	const char *h = webd_header(r, "Cookie");
	char sid[PASSWORD_TOKEN_HEX + 1];
	struct csess *s;

	if (!h || webform_cookie(h, COOKIE, sid, sizeof(sid)) != 0)
		return NULL;
	s = sids_find(&c->by_sid, sid);
	if (!s || s->dead)
		return NULL;
	s->seen_ms = loop_now_ms();
	return s;
}

/* One event of the stream: its data the JSON of an Envelope ({"type", "body"}),
 * dispatched by the page on its type. */
static void stream_event(struct webd_req *st, const char *json)
{
	webd_stream_send(st, "data: ", 6);
	webd_stream_send(st, json, strlen(json));
	webd_stream_send(st, "\n\n", 2);
}

/* An event for the page: to its stream, or kept (the oldest dropped). */
static void sess_push(struct csess *s, char *json)
{
	if (s->stream) {
		stream_event(s->stream, json);
		free(json);
		return;
	}
	if (s->qn == CONSOLE_QUEUE_MAX) {
		free(s->queue[s->qfirst]);
		s->qfirst = (s->qfirst + 1) % CONSOLE_QUEUE_MAX;
		s->qn--;
	}
	s->queue[(s->qfirst + s->qn) % CONSOLE_QUEUE_MAX] = json;
	s->qn++;
}

static void pend_drop(struct csess *s, size_t i)
{
	s->pend[i] = s->pend[--s->npend];
}

void console__sess_free(struct csess *s)
{
	struct console *c = s->c;

	for (size_t i = 0; i < s->npend; i++)
		reply_error(s->pend[i].req, 503, "the session ended");
	s->npend = 0;
	if (s->stream) {
		struct webd_req *st = s->stream;

		s->stream = NULL;
		webd_on_gone(st, NULL, NULL);
		webd_stream_end(st);
	}
	for (size_t i = 0; i < s->qn; i++)
		free(s->queue[(s->qfirst + i) % CONSOLE_QUEUE_MAX]);
	if (s->live)
		sids_remove(&c->by_sid, s);
	msg_local_free(s->peer);
	LIST_UNLINK(c->all, s);
	c->nsess--;
	free(s);
}

void console__reap(void *arg)
{
	struct console *c = arg;

	for (struct csess *s = c->all, *next; s; s = next) {
		next = s->next;
		if (s->dead)
			console__sess_free(s);
	}
}

static const char *cookie_attrs = "; Path=/; Secure; HttpOnly; SameSite=Strict";

/* A LoginReply for a login or resume: the session is live from now on. */
static void login_done(struct csess *s, struct webd_req *r, const Kefu__Envelope *e, char *json)
{
	struct console *c = s->c;
	json_t *o = json_loads(json, 0, NULL), *nodes;
	char cookie[160];

	free(json);
	if (e->body_case != KEFU__ENVELOPE__BODY_LOGIN_REPLY || !o ||
	    !msg_peer_session(s->peer)[0] || password_token(s->sid) != 0 ||
	    password_token(s->csrf) != 0) {
		const char *msg = o ? json_string_value(json_object_get(
					      json_object_get(o, "body"), "message"))
				    : NULL;

		reply_error(r, 403, msg ? msg : "login refused");
		json_decref(o);
		sess_kill(s);
		return;
	}
	snprintf(s->agent, sizeof(s->agent), "%s", msg_peer_session(s->peer));
	s->live = true;
	sids_insert(&c->by_sid, s);
	nodes = json_loads(c->urls_json, 0, NULL);
	json_object_set_new(o, "csrf", json_string(s->csrf));
	json_object_set_new(o, "supervisor", json_boolean(msg_peer_is_supervisor(s->peer)));
	json_object_set_new(o, "nodes", nodes ? nodes : json_array());
	snprintf(cookie, sizeof(cookie), COOKIE "=%s%s", s->sid, cookie_attrs);
	webd_header_add(r, "Set-Cookie", cookie);
	log_info(LOG_NET, "console session agent=%s from=%s", s->agent, webd_peer(r));
	reply_json(r, o); /* frees r */
	json_decref(o);
}

/* Every frame the node sends a session's local peer (msg_sink_fn). */
static void on_sink(void *arg, const Kefu__Envelope *e)
{
	struct csess *s = arg;
	char *json;

	if (!e) {
		/* The node closed the peer (a forced logout, a refused role):
		 * the page hears it before its stream ends. */
		if (s->live)
			sess_push(s, strdup("{\"type\":\"session_ended\"}"));
		sess_kill(s);
		return;
	}
	json = console__envelope_json(e);
	for (size_t i = 0; e->request_id && i < s->npend; i++) {
		struct pend p = s->pend[i];

		if (p.request_id != e->request_id)
			continue;
		pend_drop(s, i);
		if (p.kind == PEND_LOGIN) {
			login_done(s, p.req, e, json);
		} else {
			reply_text(p.req, 200, "application/json", json);
			free(json);
		}
		return;
	}
	sess_push(s, json);
	if (s->live && !msg_peer_session(s->peer)[0]) {
		/* The node ended the session (logged out, forced, expired). */
		sess_push(s, strdup("{\"type\":\"session_ended\"}"));
		s->live = false;
		sids_remove(&s->c->by_sid, s);
		sess_kill(s);
	}
}

static void pend_gone(void *arg, struct webd_req *r)
{
	struct csess *s = arg;

	for (size_t i = 0; i < s->npend; i++)
		if (s->pend[i].req == r) {
			pend_drop(s, i);
			return;
		}
}

/* Runs body `name` with the form's fields on s's peer; r waits for its answer. */
static void run(struct csess *s, struct webd_req *r, const char *name, const char *form,
		size_t len, enum pend_kind kind)
{
	uint64_t rid = ++s->next_request;
	uint8_t *buf;
	size_t blen;
	char why[160];

	if (s->npend == CONSOLE_PENDING_MAX) {
		reply_error(r, 429, "too many requests at once");
		return;
	}
	if (console__form_envelope(name, form, len, rid, &buf, &blen, why, sizeof(why)) != 0) {
		reply_error(r, 400, why);
		if (kind == PEND_LOGIN)
			sess_kill(s);
		return;
	}
	s->pend[s->npend++] = (struct pend){rid, r, loop_now_ms() + (kind == PEND_LOGIN
									? CONSOLE_LOGIN_MS
									: CONSOLE_ANSWER_MS),
					    kind};
	webd_on_gone(r, pend_gone, s);
	msg_local_run(s->peer, buf, blen);
	free(buf);
}

/* ---- checks of a POST ---- */

static bool same_origin(struct webd_req *r)
{
	const char *origin = webd_header(r, "Origin"), *host = webd_header(r, "Host");

	if (!origin)
		return true; /* not sent on some same-origin requests; the token decides */
	return host && strncmp(origin, "https://", 8) == 0 && strcmp(origin + 8, host) == 0;
}

/* The form's csrf field equals want (compared in constant time). */
static bool csrf_ok(struct webd_req *r, const char *want)
{
	size_t len, pos = 0;
	const char *body = (const char *)webd_body(r, &len);
	char key[64], val[PASSWORD_TOKEN_HEX + 2];
	int n;

	if (!want[0] || strlen(want) != PASSWORD_TOKEN_HEX || !same_origin(r))
		return false;
	while ((n = webform_next(body, len, &pos, key, sizeof(key), val, sizeof(val))) != 0) {
		if (n < 0)
			continue;
		if (strcmp(key, "csrf") == 0)
			return strlen(val) == PASSWORD_TOKEN_HEX &&
			       CRYPTO_memcmp(val, want, PASSWORD_TOKEN_HEX) == 0;
	}
	return false;
}

/* The pre-login token of the request's cookie into out ("" when none). */
static void pre_token(struct webd_req *r, char out[PASSWORD_TOKEN_HEX + 1])
{
	const char *h = webd_header(r, "Cookie");

	if (!h || webform_cookie(h, PRE_COOKIE, out, PASSWORD_TOKEN_HEX + 1) != 0 ||
	    strlen(out) != PASSWORD_TOKEN_HEX)
		out[0] = '\0';
}

/* ---- routes ---- */

static void login_or_resume(struct console *c, struct webd_req *r, const char *name)
{
	char pre[PASSWORD_TOKEN_HEX + 1];
	struct csess *s;
	size_t len;
	const char *body = (const char *)webd_body(r, &len);

	pre_token(r, pre);
	if (!csrf_ok(r, pre)) {
		reply_error(r, 403, "missing or wrong CSRF token");
		return;
	}
	if (c->nsess >= CONSOLE_SESSIONS_MAX) {
		reply_error(r, 503, "too many console sessions on this node");
		return;
	}
	s = sess_new(c);
	s->peer = msg_local_new(c->hub, webd_peer(r), on_sink, s);
	run(s, r, name, body, len, PEND_LOGIN);
}

static void session_info(struct console *c, struct webd_req *r)
{
	struct csess *s = sess_of(c, r);
	json_t *o, *nodes = json_loads(c->urls_json, 0, NULL);

	if (s) {
		o = json_pack("{s:s,s:b,s:s}", "agent", s->agent, "supervisor",
			      msg_peer_is_supervisor(s->peer), "csrf", s->csrf);
	} else {
		char pre[PASSWORD_TOKEN_HEX + 1], cookie[160];

		pre_token(r, pre);
		if (!pre[0]) {
			if (password_token(pre) != 0) {
				json_decref(nodes);
				reply_error(r, 500, "no randomness");
				return;
			}
			snprintf(cookie, sizeof(cookie), PRE_COOKIE "=%s%s", pre, cookie_attrs);
			webd_header_add(r, "Set-Cookie", cookie);
		}
		o = json_pack("{s:n,s:s}", "agent", "csrf", pre);
	}
	json_object_set_new(o, "nodes", nodes ? nodes : json_array());
	reply_json(r, o);
	json_decref(o);
}

static void stream_gone(void *arg, struct webd_req *r)
{
	struct csess *s = arg;

	if (s->stream == r)
		s->stream = NULL;
}

static void events(struct console *c, struct webd_req *r)
{
	struct csess *s = sess_of(c, r);

	if (!s) {
		reply_error(r, 401, "log in first");
		return;
	}
	if (s->stream) {
		struct webd_req *old = s->stream;

		s->stream = NULL;
		webd_on_gone(old, NULL, NULL);
		webd_stream_end(old);
	}
	webd_header_add(r, "X-Accel-Buffering", "no");
	webd_stream_start(r, "text/event-stream");
	webd_on_gone(r, stream_gone, s);
	s->stream = r;
	s->pinged_ms = loop_now_ms();
	webd_stream_send(r, "retry: 2000\n\n", 13);
	for (; s->qn; s->qn--) {
		char *json = s->queue[s->qfirst];

		s->qfirst = (s->qfirst + 1) % CONSOLE_QUEUE_MAX;
		stream_event(r, json);
		free(json);
	}
}

static void api(struct console *c, struct webd_req *r, const char *name)
{
	struct csess *s = sess_of(c, r);
	size_t len;
	const char *body;

	if (!s) {
		reply_error(r, 401, "log in first");
		return;
	}
	if (!csrf_ok(r, s->csrf)) {
		reply_error(r, 403, "missing or wrong CSRF token");
		return;
	}
	/* Sessions begin and end through /login, /resume and /logout only. */
	if (strcmp(name, "login") == 0 || strcmp(name, "session_resume") == 0) {
		reply_error(r, 400, "log in through /login");
		return;
	}
	body = (const char *)webd_body(r, &len);
	run(s, r, name, body, len, PEND_API);
}

static void logout(struct console *c, struct webd_req *r)
{
	struct csess *s = sess_of(c, r);
	char cookie[160];

	if (s && !csrf_ok(r, s->csrf)) {
		reply_error(r, 403, "missing or wrong CSRF token");
		return;
	}
	if (s) {
		static const char form[] = "state=logged_out";
		uint8_t *buf;
		size_t blen;
		char why[160];

		/* As the agent would log out on a connection; its answer is not waited for. */
		if (console__form_envelope("set_agent_state", form, sizeof(form) - 1,
					   ++s->next_request, &buf, &blen, why, sizeof(why)) == 0) {
			msg_local_run(s->peer, buf, blen);
			free(buf);
		}
		sess_kill(s);
	}
	snprintf(cookie, sizeof(cookie), COOKIE "=%s; Max-Age=0", cookie_attrs);
	webd_header_add(r, "Set-Cookie", cookie);
	reply_text(r, 200, "application/json", "{\"ok\":true}");
}

static const struct console_asset *asset_find(const char *name)
{
	for (size_t i = 0; i < console_nassets; i++)
		if (strcmp(console_assets[i].name, name) == 0)
			return &console_assets[i];
	return NULL;
}

static void serve_asset(struct webd_req *r, const char *name)
{
	const struct console_asset *a = asset_find(name);

	if (!a) {
		reply_error(r, 404, "no such page");
		return;
	}
	webd_reply(r, 200, a->type, a->data, a->len);
}

void console__request(void *arg, struct webd_req *r)
{
	struct console *c = arg;
	const char *m = webd_method(r), *path = webd_path(r);
	bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
	bool post = strcmp(m, "POST") == 0;

	if (get && (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0)) {
		serve_asset(r, "index.html");
	} else if (get && strcmp(path, "/sup") == 0) {
		struct csess *s = sess_of(c, r);

		/* The page itself is a supervisor's only; so is every message it sends. */
		if (!s || !msg_peer_is_supervisor(s->peer))
			reply_error(r, 403, "a supervisor's session is needed");
		else
			serve_asset(r, "sup.html");
	} else if (get && strcmp(path, "/review") == 0) {
		/* Any session: whether it may approve is the kb component's check. */
		if (!sess_of(c, r))
			reply_error(r, 403, "log in first");
		else
			serve_asset(r, "review.html");
	} else if (get && strncmp(path, "/assets/", 8) == 0 && !strstr(path, "..")) {
		serve_asset(r, path + 8);
	} else if (get && strcmp(path, "/api/session") == 0) {
		session_info(c, r);
	} else if (get && strcmp(path, "/events") == 0) {
		events(c, r);
	} else if (post && strcmp(path, "/login") == 0) {
		login_or_resume(c, r, "login");
	} else if (post && strcmp(path, "/resume") == 0) {
		login_or_resume(c, r, "session_resume");
	} else if (post && strcmp(path, "/logout") == 0) {
		logout(c, r);
	} else if (post && strncmp(path, "/api/", 5) == 0 && path[5]) {
		api(c, r, path + 5);
	} else {
		reply_error(r, get || post ? 404 : 405, "no such page");
	}
}

/* Every second: answers overdue, streams pinged, idle sessions ended. */
void console__tick(struct console *c)
{
	uint64_t now = loop_now_ms();

	for (struct csess *s = c->all; s; s = s->next) {
		if (s->dead)
			continue;
		for (size_t i = 0; i < s->npend;) {
			if (now < s->pend[i].due_ms) {
				i++;
				continue;
			}
			struct webd_req *r = s->pend[i].req;
			bool login = s->pend[i].kind == PEND_LOGIN;

			pend_drop(s, i);
			reply_error(r, 504, "the node did not answer in time");
			if (login)
				sess_kill(s);
		}
		if (s->stream) {
			s->seen_ms = now;
			if (now - s->pinged_ms >= CONSOLE_KEEPALIVE_MS) {
				s->pinged_ms = now;
				/* An event, not a comment: the page sees it and knows
				 * its node is alive (a silent stream makes it look). */
				stream_event(s->stream, "{\"type\":\"ping\"}");
			}
		} else if (now - s->seen_ms >= (s->live ? CONSOLE_IDLE_MS : CONSOLE_LOGIN_MS) &&
			   !s->npend) {
			log_info(LOG_NET, "console session idle agent=%s", s->agent);
			sess_kill(s);
		}
	}
}
