/*
 * Inside the console component: its state, the browser sessions, the
 * translations between forms, Envelopes and JSON (bridge.c), and the
 * embedded assets (build/gen/console/assets.h, from node/console/assets/).
 *
 * A browser session (struct csess) is a local peer of the message table
 * (msg_local_new) on which the agent logged in: every request of the page
 * is an Envelope run on it with the same checks and handlers as a
 * connection's frame, every frame the node sends it is either the answer
 * to a request the page waits for (by request id) or an event for the
 * page's Server-Sent Events stream. Everything runs on the node's loop.
 */
#ifndef KEFU_NODE_CONSOLE_INT_H
#define KEFU_NODE_CONSOLE_INT_H

#include "lib/ht.h"
#include "lib/loop.h"
#include "lib/password.h"
#include "lib/webd.h"
#include "node/msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_VALUE_MAX 8192      /* a form value, bytes */
#define CONSOLE_PENDING_MAX 16      /* requests of one session waiting for the node */
#define CONSOLE_QUEUE_MAX 64        /* events kept for a page without its stream */
#define CONSOLE_SESSIONS_MAX 4096   /* browser sessions of one node */
#define CONSOLE_ANSWER_MS 15000     /* a request the node does not answer in time: 504 */
#define CONSOLE_KEEPALIVE_MS 15000  /* a comment on every stream this often */
#define CONSOLE_IDLE_MS 60000       /* a session without stream or request this long ends */
#define CONSOLE_LOGIN_MS 30000      /* a login or resume the node has not answered */

enum pend_kind { PEND_API, PEND_LOGIN };

struct pend {
	uint64_t request_id;
	struct webd_req *req;
	uint64_t due_ms;
	enum pend_kind kind;
};

struct console;

struct csess {
	struct csess *next, *prev;       /* every session of the console */
	struct ht_node hn;               /* by sid, once logged in */
	struct console *c;
	struct msg_peer *peer;           /* the local peer: the agent's session */
	char sid[PASSWORD_TOKEN_HEX + 1];  /* the cookie's value */
	char csrf[PASSWORD_TOKEN_HEX + 1]; /* every POST carries it */
	char agent[MSG_SESSION_MAX + 1];
	bool live;                       /* logged in: in by_sid */
	bool dead;                       /* to be freed on the next reap */
	struct pend pend[CONSOLE_PENDING_MAX];
	size_t npend;
	uint64_t next_request;
	struct webd_req *stream;         /* the page's event stream, NULL when none */
	char *queue[CONSOLE_QUEUE_MAX];  /* events while there is no stream (JSON, malloc) */
	size_t qfirst, qn;
	uint64_t seen_ms;                /* the last request, or now while streaming */
	uint64_t pinged_ms;
};

struct console {
	struct loop *loop;
	struct msg_hub *hub;
	struct webd *web;
	char *urls_json;                 /* console_urls as a JSON array (malloc) */
	char *csp;                       /* the Content-Security-Policy (malloc) */
	const char *headers[16];         /* every answer's: name, value, ..., NULL */
	struct csess *all;
	size_t nsess;
	struct ht by_sid;
	struct loop_alarm *reap;
};

/* ---- bridge.c ---- */

/*
 * console__form_envelope - the Envelope with body `name` (a field of the
 * Envelope's oneof, e.g. "set_agent_state") and request_id, its fields
 * from the form form[0..len) ("state=ready", nested "a.b=v", a repeated
 * field once per value; "csrf" left out), packed into *out (malloc, the
 * caller frees) of *outlen bytes. Returns 0, or KF_EPARSE with why.
 */
int console__form_envelope(const char *name, const char *form, size_t len, uint64_t request_id,
			   uint8_t **out, size_t *outlen, char *why, size_t wsize);

/* console__envelope_json - {"type": body, "body": {...}, "request_id": n}
 * (malloc'd, NUL-terminated; the caller frees). */
char *console__envelope_json(const Kefu__Envelope *e);

/* ---- web.c ---- */

void console__request(void *arg, struct webd_req *r);
void console__tick(struct console *c);
void console__reap(void *arg);
void console__sess_free(struct csess *s);

#endif
