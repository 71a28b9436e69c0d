/*
 * kefu-sipgw's core on the kefu link's libevent loop. See gw.h.
 *
 * A call: the SIP thread reports the INVITE (SIPUA_EV_INVITE); rtpengine
 * gets an offer with the caller's SDP and an answer from a black hole
 * (sdp_blackhole), whose SDP answers the caller; then CallArrived, and on
 * IvrPlan the greeting and music on hold, replayed by the duration
 * rtpengine reports. ConnectCall: a second offer gives the SDP for the
 * INVITE to the agent's phone; its 200 is rtpengine's answer, media
 * played to the caller stops, and the node hears CallConnected (or
 * ConnectFailed). Every offer and answer asks for port latching, so the
 * caller's port never moves and the trunk sees no re-INVITE.
 *
 * Outbound (docs/dialing.md): with --trunk the gateway tells its node it
 * carries outbound calls (DialGateway). An Originate is an rtpengine offer
 * from the gateway's own side ("hold") and an INVITE to the number at the
 * trunk; the called party's 200 is rtpengine's answer (its tag "caller",
 * so from then on it stands where an inbound caller does) and the result
 * "human" goes to the node (DialResult); a refusal, the ring time or an
 * error is busy, no_answer or failed. The node's DialConnect names the
 * agent, whose phone is then connected as for ConnectCall (the called
 * party hears music on hold meanwhile), or drops the call: the drop
 * message, then BYE. No answering-machine detection yet.
 */
#include "gateway/sipgw/gw.h"

#include "cluster/rpc.h"
#include "gateway/sipgw/dtmf.h"
#include "gateway/sipgw/ng.h"
#include "gateway/sipgw/sdp.h"
#include "gateway/sipgw/sipua.h"
#include "lib/err.h"
#include "lib/log.h"
#include "proto/frame.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CALL_ID_MAX 64
#define RPC_MS 5000
#define REDIAL_MS 200

enum cstate {
	C_MEDIA,    /* rtpengine offer/answer under way */
	C_ARRIVING, /* answered; CallArrived sent, no IvrPlan yet */
	C_QUEUED,   /* waiting for an agent, music on hold */
	C_RINGING,  /* the agent's phone is called */
	C_TALKING,  /* bridged */
	C_DIALING,  /* outbound: the number called, not answered yet */
	C_RESULT,   /* outbound: answered, DialResult sent, DialConnect awaited */
	C_DROPPING, /* outbound: the drop message plays, then BYE */
};

static const char *const cstate_names[] = {"media",   "arriving", "queued",  "ringing",
					   "talking", "dialing",  "result", "dropping"};

struct gcall {
	struct gw *g;
	uint32_t leg;
	char id[CALL_ID_MAX];
	char ani[SIPUA_NUM_MAX], service[SIPUA_NUM_MAX];
	char agent[SIPUA_NUM_MAX];
	char plan[32];
	char *caller_sdp;
	enum cstate st;
	bool known;       /* the node took CallArrived (GatewayResume lists it) */
	bool arrive_due;  /* CallArrived to send (again) once a node is up */
	bool playing;     /* greeting or music on hold being played */
	bool greeted;
	bool welcomed;    /* the general greeting played before any plan (a busy node) */
	unsigned ring_no;
	uint64_t busy_ms;
	char ivr_path[32];
	bool outbound;    /* an Originate: id is its attempt id, ani the number called */
	char campaign[64];
	const char *result; /* outbound: what DialResult says, NULL before */
	uint32_t dial_ms; /* outbound: how long the number may ring */
	struct loop_alarm *media;  /* next prompt or the music again */
	struct loop_alarm *ring;   /* the agent's phone rings too long */
	struct loop_alarm *busy;   /* CallArrived again after a busy refusal */
	struct gcall *next;
};

struct gw {
	struct loop *loop;
	struct tls_ctx *tls;
	char name[32];
	char nodes[GW_NODES_MAX][GW_ADDR_MAX];
	size_t nnodes, node;
	char edge[GW_ADDR_MAX], prompts[GW_PATH_MAX];
	uint32_t ring_ms;
	struct rpc *rpc;
	bool was_up;
	struct loop_alarm *redial;
	struct loop_wake *wake;
	struct sipua *sip;
	struct ng *ng;
	int dtmf_fd;
	struct loop_io *dtmf_io;
	struct gcall *calls;
	uint64_t boot;
	char trunk[GW_ADDR_MAX];  /* outbound calls go to numbers there; "" none */
	uint32_t lines;
	uint32_t out_no;          /* outbound legs numbered so far */
};

/*
 * One gateway per process. The answer to a CallArrived carries the call's
 * leg, not the call (the caller may be gone by then), and finds the call
 * through the gateway here.
 */
static struct gw *the_gw;

static void gw_dial(void *arg);
static void call_arrive(struct gcall *c);
static void media_play(struct gcall *c);

/* ---- calls ---- */

static struct gcall *call_by_leg(struct gw *g, uint32_t leg)
{
	for (struct gcall *c = g->calls; c; c = c->next)
		if (c->leg == leg)
			return c;
	return NULL;
}

static struct gcall *call_by_id(struct gw *g, const char *id)
{
	for (struct gcall *c = g->calls; c && id; c = c->next)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

static void on_media_alarm(void *arg);
static void on_ring_alarm(void *arg);
static void on_busy_alarm(void *arg);

static struct gcall *call_new(struct gw *g, uint32_t leg)
{
	struct gcall *c = calloc(1, sizeof(*c));

	if (!c)
		abort();
	c->g = g;
	c->leg = leg;
	snprintf(c->id, sizeof(c->id), "%s-%llx-%u", g->name, (unsigned long long)g->boot, leg);
	c->media = loop_alarm_new(g->loop, on_media_alarm, c);
	c->ring = loop_alarm_new(g->loop, on_ring_alarm, c);
	c->busy = loop_alarm_new(g->loop, on_busy_alarm, c);
	c->next = g->calls;
	g->calls = c;
	return c;
}

static void on_ignored(void *arg, int err, const struct ng_reply *r)
{
	(void)arg;
	(void)err;
	(void)r;
}

/* The call is over on our side: rtpengine forgets it, its memory goes. */
static void call_free(struct gcall *c)
{
	struct gw *g = c->g;
	struct ng_cmd del = {.command = "delete", .call_id = c->id};
	struct gcall **pp;

	for (pp = &g->calls; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	ng_cancel(g->ng, c);
	(void)ng_send(g->ng, &del, on_ignored, NULL);
	loop_alarm_free(c->media);
	loop_alarm_free(c->ring);
	loop_alarm_free(c->busy);
	free(c->caller_sdp);
	log_info(LOG_SIPGW, "call over call=%s", c->id);
	free(c);
}

static void sip_cmd(struct gw *g, enum sipua_kind kind, uint32_t leg, int code, char *sdp,
		    const char *uri)
{
	struct sipua_msg *m = sipua_msg_new(kind, leg);

	m->code = code;
	m->sdp = sdp;
	if (uri)
		snprintf(m->uri, sizeof(m->uri), "%s", uri);
	sipua_send(g->sip, m);
}

static char *sdp_dup(const struct ng_reply *r)
{
	char *s = strndup(r->sdp, r->sdp_len);

	if (!s)
		abort();
	return s;
}

/* The caller's leg ends from our side (the node ended it, or a failure). */
static void call_hangup(struct gcall *c)
{
	if (c->st == C_RINGING || c->st == C_TALKING)
		sip_cmd(c->g, SIPUA_CMD_AGENT_HANGUP, c->leg, 0, NULL, NULL);
	sip_cmd(c->g, SIPUA_CMD_HANGUP, c->leg, 0, NULL, NULL);
	call_free(c);
}

/* ---- the kefu link ---- */

static bool link_up(const struct gw *g)
{
	return g->rpc && rpc_is_up(g->rpc);
}

static void link_send(struct gw *g, Kefu__Envelope *e)
{
	if (!link_up(g) || rpc_send(g->rpc, e) != 0)
		log_warn(LOG_SIPGW, "not sent to the node body=%d", (int)e->body_case);
}

static void send_ended(struct gcall *c, const char *reason)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__CallEnded ce = KEFU__CALL_ENDED__INIT;

	if (!c->known)
		return;
	ce.call_id = c->id;
	ce.reason = (char *)reason;
	e.body_case = KEFU__ENVELOPE__BODY_CALL_ENDED;
	e.call_ended = &ce;
	link_send(c->g, &e);
}

static void send_connected(struct gcall *c)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__CallConnected cc = KEFU__CALL_CONNECTED__INIT;

	cc.call_id = c->id;
	e.body_case = KEFU__ENVELOPE__BODY_CALL_CONNECTED;
	e.call_connected = &cc;
	link_send(c->g, &e);
}

static void send_connect_failed(struct gcall *c, const char *reason)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__ConnectFailed cf = KEFU__CONNECT_FAILED__INIT;

	cf.call_id = c->id;
	cf.agent_id = c->agent;
	cf.reason = (char *)reason;
	e.body_case = KEFU__ENVELOPE__BODY_CONNECT_FAILED;
	e.connect_failed = &cf;
	link_send(c->g, &e);
}

/* ---- media: prompts and music on hold ---- */

static bool file_exists(const char *p)
{
	return access(p, R_OK) == 0;
}

/* A prompt started (or failed): the next one when it is over. */
static void play_done(struct gcall *c, int err, const struct ng_reply *r)
{
	if (err || !r->ok) {
		log_warn(LOG_SIPGW, "play media failed call=%s why=\"%.*s\"", c->id,
			 r && r->why ? (int)r->why_len : 0, r && r->why ? r->why : "");
		loop_alarm_set(c->media, 1000);
		return;
	}
	/* play media's repeat is finite: the next file when this one is over. */
	loop_alarm_set(c->media, r->duration_ms > 0 ? (uint64_t)r->duration_ms : 1000);
}

static void on_played(void *arg, int err, const struct ng_reply *r)
{
	struct gcall *c = arg;

	/* Music on hold answered after the drop message began: the drop's length counts. */
	if (c->st != C_DROPPING)
		play_done(c, err, r);
}

static void on_dropped(void *arg, int err, const struct ng_reply *r)
{
	play_done(arg, err, r);
}

/* The greeting of the plan once, then music on hold while the caller waits. */
static void media_play(struct gcall *c)
{
	struct gw *g = c->g;
	struct ng_cmd p = {.command = "play media", .call_id = c->id, .from_tag = "caller"};
	char file[GW_PATH_MAX + 64];

	if (c->st == C_DROPPING) {
		/* The drop message is over: the outbound call ends. */
		call_hangup(c);
		return;
	}
	if (c->st != C_QUEUED && c->st != C_RINGING && c->st != C_ARRIVING && c->st != C_RESULT)
		return;
	if (!c->greeted && c->plan[0]) {
		snprintf(file, sizeof(file), "%s/%s.wav", g->prompts, c->plan);
		if (!file_exists(file))
			snprintf(file, sizeof(file), "%s/%s.wav", g->prompts,
				 c->welcomed ? "moh" : "greeting");
		c->greeted = true;
	} else if (!c->welcomed && !c->plan[0] && !c->outbound) {
		/* No plan yet (a busy node): the general greeting meanwhile. */
		snprintf(file, sizeof(file), "%s/greeting.wav", g->prompts);
		c->welcomed = true;
	} else {
		snprintf(file, sizeof(file), "%s/moh.wav", g->prompts);
	}
	p.file = file;
	c->playing = true;
	if (ng_send(g->ng, &p, on_played, c) != 0)
		loop_alarm_set(c->media, 1000);
}

static void on_media_alarm(void *arg)
{
	media_play(arg);
}

/* ---- arrival ---- */

static void on_arrive_reply(void *arg, int err, const Kefu__Envelope *e);

static void on_busy_alarm(void *arg)
{
	call_arrive(arg);
}

static void call_arrive(struct gcall *c)
{
	struct gw *g = c->g;
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__CallArrived ca = KEFU__CALL_ARRIVED__INIT;

	if (!link_up(g)) {
		c->arrive_due = true;
		return;
	}
	c->arrive_due = false;
	ca.call_id = c->id;
	ca.ani = c->ani;
	ca.service = c->service;
	ca.ivr_path = c->ivr_path[0] ? c->ivr_path : NULL;
	e.body_case = KEFU__ENVELOPE__BODY_CALL_ARRIVED;
	e.call_arrived = &ca;
	if (rpc_call(g->rpc, &e, RPC_MS, on_arrive_reply, (void *)(uintptr_t)c->leg) != 0)
		c->arrive_due = true;
}

/* The answer to CallArrived; arg is the leg (the call may be gone by now). */
static void on_arrive_reply(void *arg, int err, const Kefu__Envelope *e)
{
	struct gw *g = the_gw;
	struct gcall *c = g ? call_by_leg(g, (uint32_t)(uintptr_t)arg) : NULL;

	if (!c)
		return;
	if (err) {
		c->arrive_due = true; /* sent again once a node is up */
		return;
	}
	if (e->body_case == KEFU__ENVELOPE__BODY_ERROR && e->error->code == -EBUSY) {
		/* A busy node: again with backoff while the greeting plays. */
		c->busy_ms = proto_busy_again_ms((uint32_t)c->busy_ms);
		log_info(LOG_SIPGW, "node busy call=%s again_ms=%u", c->id, (unsigned)c->busy_ms);
		loop_alarm_set(c->busy, c->busy_ms);
		if (!c->playing)
			media_play(c);
		return;
	}
	if (e->body_case != KEFU__ENVELOPE__BODY_IVR_PLAN) {
		log_warn(LOG_SIPGW, "call refused call=%s why=\"%s\"", c->id,
			 e->body_case == KEFU__ENVELOPE__BODY_ERROR && e->error->message ?
				 e->error->message : "?");
		call_hangup(c);
		return;
	}
	c->known = true;
	snprintf(c->plan, sizeof(c->plan), "%s", e->ivr_plan->plan ? e->ivr_plan->plan : "");
	log_info(LOG_SIPGW, "call queued call=%s plan=%s tier=%u", c->id, c->plan,
		 e->ivr_plan->tier);
	if (c->st == C_ARRIVING) {
		c->st = C_QUEUED;
		if (!c->playing)
			media_play(c);
	}
}

/* rtpengine answered for the black hole: the caller gets its 200. */
static void on_hold_answer(void *arg, int err, const struct ng_reply *r)
{
	struct gcall *c = arg;

	if (err || !r->ok || !r->sdp) {
		log_warn(LOG_SIPGW, "rtpengine answer failed call=%s", c->id);
		sip_cmd(c->g, SIPUA_CMD_REJECT, c->leg, 503, NULL, NULL);
		call_free(c);
		return;
	}
	sip_cmd(c->g, SIPUA_CMD_ANSWER, c->leg, 200, sdp_dup(r), NULL);
	c->st = C_ARRIVING;
	call_arrive(c);
}

static void on_first_offer(void *arg, int err, const struct ng_reply *r)
{
	struct gcall *c = arg;
	struct ng_cmd a = {.command = "answer", .call_id = c->id, .from_tag = "caller",
			   .to_tag = "hold", .latch = true};
	char hole[SDP_MAX];

	if (err || !r->ok || !r->sdp || sdp_blackhole(r->sdp, r->sdp_len, hole, sizeof(hole)) < 0) {
		log_warn(LOG_SIPGW, "rtpengine offer failed call=%s why=\"%.*s\"", c->id,
			 r && r->why ? (int)r->why_len : 0, r && r->why ? r->why : "");
		sip_cmd(c->g, SIPUA_CMD_REJECT, c->leg, 503, NULL, NULL);
		call_free(c);
		return;
	}
	a.sdp = hole;
	if (ng_send(c->g->ng, &a, on_hold_answer, c) != 0) {
		sip_cmd(c->g, SIPUA_CMD_REJECT, c->leg, 500, NULL, NULL);
		call_free(c);
	}
}

static void ev_invite(struct gw *g, struct sipua_msg *m)
{
	struct gcall *c = call_new(g, m->leg);
	struct ng_cmd o = {.command = "offer", .call_id = c->id, .from_tag = "caller",
			   .latch = true};

	snprintf(c->ani, sizeof(c->ani), "%s", m->ani);
	snprintf(c->service, sizeof(c->service), "%s", m->service);
	c->caller_sdp = m->sdp;
	m->sdp = NULL;
	log_info(LOG_SIPGW, "call in call=%s ani=%s service=%s sip_call_id=%s", c->id, c->ani,
		 c->service, m->callid);
	if (!c->caller_sdp) {
		sip_cmd(g, SIPUA_CMD_REJECT, c->leg, 488, NULL, NULL);
		call_free(c);
		return;
	}
	o.sdp = c->caller_sdp;
	if (ng_send(g->ng, &o, on_first_offer, c) != 0) {
		sip_cmd(g, SIPUA_CMD_REJECT, c->leg, 500, NULL, NULL);
		call_free(c);
	}
}

/* ---- connecting to an agent ---- */

static void connect_failed(struct gcall *c, const char *reason)
{
	log_info(LOG_SIPGW, "agent phone failed call=%s agent=%s reason=%s", c->id, c->agent,
		 reason);
	loop_alarm_cancel(c->ring);
	if (c->outbound) {
		/* The campaign's agent cannot be reached: the called party hears nothing more. */
		call_hangup(c);
		return;
	}
	send_connect_failed(c, reason);
	c->agent[0] = 0;
	c->st = C_QUEUED;
	if (!c->playing)
		media_play(c);
}

static void out_result(struct gcall *c, const char *result);

static void on_ring_alarm(void *arg)
{
	struct gcall *c = arg;

	if (c->st == C_DIALING) {
		sip_cmd(c->g, SIPUA_CMD_HANGUP, c->leg, 0, NULL, NULL);
		out_result(c, "no_answer");
		return;
	}
	if (c->st != C_RINGING)
		return;
	sip_cmd(c->g, SIPUA_CMD_AGENT_HANGUP, c->leg, 0, NULL, NULL);
	connect_failed(c, "no-answer");
}

static void on_agent_offer(void *arg, int err, const struct ng_reply *r)
{
	struct gcall *c = arg;
	char uri[SIPUA_URI_MAX];

	if (c->st != C_RINGING)
		return;
	if (err || !r->ok || !r->sdp) {
		connect_failed(c, "error");
		return;
	}
	snprintf(uri, sizeof(uri), "sip:%s@%s", c->agent, c->g->edge);
	sip_cmd(c->g, SIPUA_CMD_DIAL, c->leg, 0, sdp_dup(r), uri);
	loop_alarm_set(c->ring, c->g->ring_ms);
}

/* The agent's phone is called: rtpengine's second offer with the caller's
 * SDP first (ConnectCall, or DialConnect for an outbound call). */
static void connect_agent(struct gcall *c, const char *agent)
{
	struct ng_cmd o = {.command = "offer", .call_id = c->id, .from_tag = "caller",
			   .sdp = c->caller_sdp, .latch = true};

	snprintf(c->agent, sizeof(c->agent), "%s", agent);
	c->st = C_RINGING;
	c->ring_no++;
	log_info(LOG_SIPGW, "connect call=%s agent=%s", c->id, c->agent);
	if (ng_send(c->g->ng, &o, on_agent_offer, c) != 0)
		connect_failed(c, "error");
}

static void on_push_connect(struct gw *g, const Kefu__Envelope *e)
{
	struct gcall *c = call_by_id(g, e->connect_call->call_id);

	if (!c || c->outbound || !e->connect_call->agent_id)
		return;
	if (c->st == C_TALKING || c->st == C_RINGING) {
		/* A node taking the call over re-sends ConnectCall for a bridged call. */
		if (c->st == C_TALKING && strcmp(c->agent, e->connect_call->agent_id) == 0)
			send_connected(c);
		return;
	}
	connect_agent(c, e->connect_call->agent_id);
}

static void on_bridged(void *arg, int err, const struct ng_reply *r)
{
	struct gcall *c = arg;
	struct ng_cmd s = {.command = "stop media", .call_id = c->id, .from_tag = "caller"};

	if (c->st != C_TALKING)
		return;
	if (err || !r->ok) {
		sip_cmd(c->g, SIPUA_CMD_AGENT_HANGUP, c->leg, 0, NULL, NULL);
		connect_failed(c, "error");
		return;
	}
	loop_alarm_cancel(c->media);
	c->playing = false;
	(void)ng_send(c->g->ng, &s, on_ignored, NULL);
	log_info(LOG_SIPGW, "call connected call=%s agent=%s", c->id, c->agent);
	if (!c->outbound)
		send_connected(c);
}

static void ev_agent_answered(struct gcall *c, struct sipua_msg *m)
{
	char tag[32];
	struct ng_cmd a = {.command = "answer", .call_id = c->id, .from_tag = "caller",
			   .latch = true};

	if (c->st != C_RINGING || !m->sdp) {
		sip_cmd(c->g, SIPUA_CMD_AGENT_HANGUP, c->leg, 0, NULL, NULL);
		return;
	}
	loop_alarm_cancel(c->ring);
	snprintf(tag, sizeof(tag), "agent-%u", c->ring_no);
	a.to_tag = tag;
	a.sdp = m->sdp;
	c->st = C_TALKING;
	if (ng_send(c->g->ng, &a, on_bridged, c) != 0) {
		sip_cmd(c->g, SIPUA_CMD_AGENT_HANGUP, c->leg, 0, NULL, NULL);
		connect_failed(c, "error");
	}
}

static const char *failure_reason(int code)
{
	if (code == 486 || code == 600 || code == 603)
		return "busy";
	if (code == 480 || code == 404)
		return "unregistered";
	if (code == 408 || code == 487)
		return "no-answer";
	return "error";
}

/* ---- outbound calls (Originate) ---- */

/* The gateway's own side of an outbound call in rtpengine: nobody there,
 * the usual codecs and key presses offered. */
#define OUT_SDP                                                                             \
	"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=kefu\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"            \
	"m=audio 9 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"            \
	"a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
#define OUT_RING_MS 30000
#define RESULT_RETRY_MS 1000

static void send_result(struct gcall *c);

static void on_result_alarm(void *arg)
{
	send_result(arg);
}

/* The node's answer to DialResult; arg is the leg (the call may be gone). */
static void on_result_reply(void *arg, int err, const Kefu__Envelope *e)
{
	struct gw *g = the_gw;
	struct gcall *c = g ? call_by_leg(g, (uint32_t)(uintptr_t)arg) : NULL;

	if (!c || c->st != C_RESULT)
		return;
	if (err || e->body_case == KEFU__ENVELOPE__BODY_ERROR) {
		/* Its node went away or refused for now: the result goes again. */
		loop_alarm_set(c->busy, RESULT_RETRY_MS);
		return;
	}
	if (strcmp(c->result, "human") != 0) {
		call_free(c);
		return;
	}
	if (e->body_case != KEFU__ENVELOPE__BODY_DIAL_CONNECT || e->dial_connect->drop ||
	    !e->dial_connect->agent || !*e->dial_connect->agent) {
		struct ng_cmd p = {.command = "play media", .call_id = c->id, .from_tag = "caller"};
		char file[GW_PATH_MAX + 16];

		log_info(LOG_SIPGW, "outbound dropped call=%s", c->id);
		c->st = C_DROPPING;
		snprintf(file, sizeof(file), "%s/drop.wav", g->prompts);
		p.file = file;
		if (ng_send(g->ng, &p, on_dropped, c) != 0)
			loop_alarm_set(c->media, 1000);
		return;
	}
	connect_agent(c, e->dial_connect->agent);
}

static void send_result(struct gcall *c)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__DialResult r = KEFU__DIAL_RESULT__INIT;

	if (c->st != C_RESULT)
		return;
	r.attempt_id = c->id;
	r.campaign = c->campaign;
	r.result = (char *)c->result;
	e.body_case = KEFU__ENVELOPE__BODY_DIAL_RESULT;
	e.dial_result = &r;
	if (!link_up(c->g) ||
	    rpc_call(c->g->rpc, &e, RPC_MS, on_result_reply, (void *)(uintptr_t)c->leg) != 0)
		loop_alarm_set(c->busy, RESULT_RETRY_MS);
}

/* What became of an outbound call goes to the node (again until it answers). */
static void out_result(struct gcall *c, const char *result)
{
	log_info(LOG_SIPGW, "outbound result call=%s number=%s result=%s", c->id, c->ani, result);
	loop_alarm_cancel(c->ring);
	c->result = result;
	c->st = C_RESULT;
	send_result(c);
}

static const char *out_failure(int code)
{
	if (code == 486 || code == 600 || code == 603)
		return "busy";
	if (code == 408 || code == 480 || code == 487)
		return "no_answer";
	return "failed";
}

static void on_out_offer(void *arg, int err, const struct ng_reply *r)
{
	struct gcall *c = arg;
	struct sipua_msg *m;

	if (c->st != C_DIALING)
		return;
	if (err || !r->ok || !r->sdp) {
		out_result(c, "failed");
		return;
	}
	m = sipua_msg_new(SIPUA_CMD_ORIGINATE, c->leg);
	m->sdp = sdp_dup(r);
	snprintf(m->uri, sizeof(m->uri), "sip:%s@%s", c->ani, c->g->trunk);
	snprintf(m->ani, sizeof(m->ani), "%s", c->service);
	sipua_send(c->g->sip, m);
	loop_alarm_set(c->ring, c->dial_ms);
}

/* The called party answered: its SDP is rtpengine's answer, then "human". */
static void on_out_answer(void *arg, int err, const struct ng_reply *r)
{
	struct gcall *c = arg;

	if (c->st != C_DIALING)
		return;
	if (err || !r->ok) {
		sip_cmd(c->g, SIPUA_CMD_HANGUP, c->leg, 0, NULL, NULL);
		out_result(c, "failed");
		return;
	}
	out_result(c, "human");
	/* Music on hold until the agent's phone answers. */
	media_play(c);
}

static void ev_out_answered(struct gcall *c, struct sipua_msg *m)
{
	struct ng_cmd a = {.command = "answer", .call_id = c->id, .from_tag = "hold",
			   .to_tag = "caller", .latch = true};

	if (c->st != C_DIALING || !m->sdp) {
		sip_cmd(c->g, SIPUA_CMD_HANGUP, c->leg, 0, NULL, NULL);
		if (c->st == C_DIALING)
			out_result(c, "failed");
		return;
	}
	free(c->caller_sdp);
	c->caller_sdp = m->sdp;
	m->sdp = NULL;
	a.sdp = c->caller_sdp;
	if (ng_send(c->g->ng, &a, on_out_answer, c) != 0) {
		sip_cmd(c->g, SIPUA_CMD_HANGUP, c->leg, 0, NULL, NULL);
		out_result(c, "failed");
	}
}

static void on_push_originate(struct gw *g, const Kefu__Originate *o)
{
	struct ng_cmd off = {.command = "offer", .from_tag = "hold", .sdp = OUT_SDP, .latch = true};
	struct gcall *c;

	if (!g->trunk[0] || !o->attempt_id || !o->msisdn || !*o->msisdn ||
	    strlen(o->attempt_id) >= CALL_ID_MAX || strlen(o->msisdn) >= SIPUA_NUM_MAX ||
	    strspn(o->msisdn, "0123456789+") != strlen(o->msisdn))
		return;
	if ((c = call_by_id(g, o->attempt_id)) != NULL) {
		/* Placed already: its result, if there is one, goes again. */
		send_result(c);
		return;
	}
	c = call_new(g, SIPUA_LEG_OUT | ++g->out_no);
	c->outbound = true;
	snprintf(c->id, sizeof(c->id), "%s", o->attempt_id);
	snprintf(c->ani, sizeof(c->ani), "%s", o->msisdn);
	snprintf(c->service, sizeof(c->service), "%s", o->caller_id ? o->caller_id : "");
	snprintf(c->campaign, sizeof(c->campaign), "%s", o->campaign ? o->campaign : "");
	c->dial_ms = o->ring_ms ? o->ring_ms : OUT_RING_MS;
	c->st = C_DIALING;
	loop_alarm_free(c->busy);
	c->busy = loop_alarm_new(g->loop, on_result_alarm, c);
	log_info(LOG_SIPGW, "originate call=%s number=%s campaign=%s", c->id, c->ani, c->campaign);
	off.call_id = c->id;
	if (ng_send(g->ng, &off, on_out_offer, c) != 0)
		out_result(c, "failed");
}

/* ---- events from the SIP thread ---- */

static void on_sip_events(void *arg)
{
	struct gw *g = arg;
	struct sipua_msg *m = sipua_take(g->sip), *next;

	for (; m; m = next) {
		struct gcall *c = m->kind == SIPUA_EV_INVITE ? NULL : call_by_leg(g, m->leg);

		next = m->next;
		switch (m->kind) {
		case SIPUA_EV_INVITE:
			ev_invite(g, m);
			break;
		case SIPUA_EV_CALLER_GONE:
			if (!c)
				break;
			log_info(LOG_SIPGW, "caller hung up call=%s state=%s", c->id,
				 cstate_names[c->st]);
			if (c->st == C_RINGING || c->st == C_TALKING)
				sip_cmd(g, SIPUA_CMD_AGENT_HANGUP, c->leg, 0, NULL, NULL);
			send_ended(c, "caller");
			call_free(c);
			break;
		case SIPUA_EV_AGENT_ANSWERED:
			if (c)
				ev_agent_answered(c, m);
			break;
		case SIPUA_EV_OUT_ANSWERED:
			if (c)
				ev_out_answered(c, m);
			break;
		case SIPUA_EV_OUT_FAILED:
			if (c && c->st == C_DIALING)
				out_result(c, out_failure(m->code));
			break;
		case SIPUA_EV_AGENT_FAILED:
			if (c && c->st == C_RINGING)
				connect_failed(c, failure_reason(m->code));
			break;
		case SIPUA_EV_AGENT_GONE:
			if (c && c->st == C_TALKING) {
				log_info(LOG_SIPGW, "agent hung up call=%s", c->id);
				send_ended(c, "agent");
				sip_cmd(g, SIPUA_CMD_HANGUP, c->leg, 0, NULL, NULL);
				call_free(c);
			}
			break;
		default:
			break;
		}
		sipua_msg_free(m);
	}
}

/* Called on the SIP thread: only wakes the loop (sipua's queue holds the events). */
static void sip_wake(void *arg)
{
	loop_wake(arg);
}

/* ---- DTMF from rtpengine (--dtmf-log-dest) ---- */

static void on_dtmf(void *arg, int fd, int events)
{
	struct gw *g = arg;
	char buf[2048];
	ssize_t n;

	(void)events;
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		struct dtmf_event d;
		struct gcall *c;
		size_t len;

		if (dtmf_parse(buf, (size_t)n, &d) != 0 || !(c = call_by_id(g, d.call_id)))
			continue;
		/* A digit while waiting: the menu choice goes to the node with the call again. */
		len = strlen(c->ivr_path);
		if (len + 2 >= sizeof(c->ivr_path) || c->st != C_QUEUED)
			continue;
		snprintf(c->ivr_path + len, sizeof(c->ivr_path) - len, "%s%c", len ? "-" : "", d.digit);
		log_info(LOG_SIPGW, "dtmf call=%s digit=%c path=%s", c->id, d.digit, c->ivr_path);
		if (c->known) {
			Kefu__Envelope e = KEFU__ENVELOPE__INIT;
			Kefu__CallArrived ca = KEFU__CALL_ARRIVED__INIT;

			ca.call_id = c->id;
			ca.ani = c->ani;
			ca.service = c->service;
			ca.ivr_path = c->ivr_path;
			e.body_case = KEFU__ENVELOPE__BODY_CALL_ARRIVED;
			e.call_arrived = &ca;
			if (link_up(g))
				(void)rpc_call(g->rpc, &e, RPC_MS, on_arrive_reply,
					       (void *)(uintptr_t)c->leg);
		}
	}
}

static int dtmf_open(struct gw *g, const char *addr)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	const char *colon = strrchr(addr, ':');
	char host[64];

	if (!colon || (size_t)(colon - addr) >= sizeof(host))
		return KF_ECONFIG;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return KF_ECONFIG;
	sin.sin_port = htons((uint16_t)strtoul(colon + 1, NULL, 10));
	g->dtmf_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (g->dtmf_fd < 0 || bind(g->dtmf_fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		return -errno;
	return loop_io_new(g->loop, g->dtmf_fd, LOOP_READ, on_dtmf, g, &g->dtmf_io);
}

/* ---- pushes from the node ---- */

static void on_push(void *arg, const Kefu__Envelope *e)
{
	struct gw *g = arg;
	struct gcall *c;

	switch (e->body_case) {
	case KEFU__ENVELOPE__BODY_CONNECT_CALL:
		on_push_connect(g, e);
		break;
	case KEFU__ENVELOPE__BODY_ORIGINATE:
		on_push_originate(g, e->originate);
		break;
	case KEFU__ENVELOPE__BODY_CALL_ENDED:
		if ((c = call_by_id(g, e->call_ended->call_id)) != NULL) {
			log_info(LOG_SIPGW, "node ended call=%s reason=%s", c->id,
				 e->call_ended->reason ? e->call_ended->reason : "");
			c->known = false;
			call_hangup(c);
		}
		break;
	case KEFU__ENVELOPE__BODY_CALLBACK_OFFERED:
		/* The caller waited the longest: the callback is recorded; the call ends. */
		if ((c = call_by_id(g, e->callback_offered->call_id)) != NULL) {
			c->known = false;
			call_hangup(c);
		}
		break;
	case KEFU__ENVELOPE__BODY_ERROR:
		log_warn(LOG_SIPGW, "node error code=%d why=\"%s\"", e->error->code,
			 e->error->message ? e->error->message : "");
		break;
	default:
		break;
	}
}

static void on_resume_reply(void *arg, int err, const Kefu__Envelope *e)
{
	(void)arg;
	if (!err && e->body_case == KEFU__ENVELOPE__BODY_ERROR)
		log_warn(LOG_SIPGW, "GatewayResume refused why=\"%s\"",
			 e->error->message ? e->error->message : "");
}

/* A new node after a lost one: the live calls it knows are managed there now. */
static void gw_resume(struct gw *g)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__GatewayResume gr = KEFU__GATEWAY_RESUME__INIT;
	size_t n = 0;
	char **ids;

	for (struct gcall *c = g->calls; c; c = c->next)
		n++;
	ids = calloc(n ? n : 1, sizeof(*ids));
	if (!ids)
		abort();
	for (struct gcall *c = g->calls; c; c = c->next)
		if (c->known)
			ids[gr.n_call_ids++] = c->id;
	gr.call_ids = ids;
	e.body_case = KEFU__ENVELOPE__BODY_GATEWAY_RESUME;
	e.gateway_resume = &gr;
	log_info(LOG_SIPGW, "resuming calls=%zu node=%s", gr.n_call_ids, g->nodes[g->node]);
	(void)rpc_call(g->rpc, &e, RPC_MS, on_resume_reply, NULL);
	free(ids);
	for (struct gcall *c = g->calls; c; c = c->next)
		if (c->arrive_due)
			call_arrive(c);
}

/* With a trunk: this connection carries outbound calls; results the node
 * has not answered yet go again. */
static void dial_announce(struct gw *g)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__DialGateway d = KEFU__DIAL_GATEWAY__INIT;

	if (!g->trunk[0])
		return;
	d.has_lines = 1;
	d.lines = g->lines;
	e.body_case = KEFU__ENVELOPE__BODY_DIAL_GATEWAY;
	e.dial_gateway = &d;
	link_send(g, &e);
	for (struct gcall *c = g->calls; c; c = c->next)
		if (c->st == C_RESULT)
			send_result(c);
}

static void on_link_state(void *arg, int err, const char *detail)
{
	struct gw *g = arg;

	if (err == 0) {
		log_info(LOG_SIPGW, "node up node=%s", g->nodes[g->node]);
		sipua_set_open(g->sip, true);
		dial_announce(g);
		if (g->was_up)
			gw_resume(g);
		else
			for (struct gcall *c = g->calls; c; c = c->next)
				if (c->arrive_due)
					call_arrive(c);
		g->was_up = true;
		return;
	}
	log_warn(LOG_SIPGW, "node lost node=%s error=\"%s\" detail=\"%s\"", g->nodes[g->node],
		 kf_strerror(err), detail ? detail : "");
	sipua_set_open(g->sip, false);
	g->node = (g->node + 1) % g->nnodes;
	loop_alarm_set(g->redial, REDIAL_MS);
}

static void gw_dial(void *arg)
{
	struct gw *g = arg;
	struct rpc_opts ro = {.loop = g->loop, .addr = g->nodes[g->node], .tls = g->tls,
			      .state = on_link_state, .unsolicited = on_push, .arg = g,
			      .expect_role = TLS_ROLE_NODE};

	rpc_free(g->rpc);
	g->rpc = NULL;
	if (rpc_new(&ro, &g->rpc) != 0) {
		g->node = (g->node + 1) % g->nnodes;
		loop_alarm_set(g->redial, REDIAL_MS);
	}
}

int gw_new(const struct gw_opts *o, struct gw **out)
{
	struct gw *g = calloc(1, sizeof(*g));
	struct sipua_opts so = {.listen = o->sip_listen, .edge = o->edge,
				.retry_after = o->retry_after, .wake = sip_wake};
	int err;

	*out = NULL;
	if (!g)
		abort();
	if (o->nnodes == 0 || o->nnodes > GW_NODES_MAX) {
		free(g);
		return KF_ECONFIG;
	}
	g->loop = o->loop;
	g->tls = o->tls;
	g->dtmf_fd = -1;
	g->boot = loop_wall_ms() / 1000;
	g->ring_ms = o->ring_ms;
	snprintf(g->trunk, sizeof(g->trunk), "%s", o->trunk ? o->trunk : "");
	g->lines = o->lines;
	snprintf(g->name, sizeof(g->name), "%s", o->name);
	snprintf(g->edge, sizeof(g->edge), "%s", o->edge);
	snprintf(g->prompts, sizeof(g->prompts), "%s", o->prompts);
	for (size_t i = 0; i < o->nnodes; i++)
		snprintf(g->nodes[i], sizeof(g->nodes[i]), "%s", o->nodes[i]);
	g->nnodes = o->nnodes;
	if ((err = ng_new(g->loop, o->rtpengine, &g->ng)) != 0)
		goto fail;
	if (o->dtmf_listen && (err = dtmf_open(g, o->dtmf_listen)) != 0)
		goto fail;
	if ((err = loop_wake_new(g->loop, on_sip_events, g, &g->wake)) != 0)
		goto fail;
	so.arg = g->wake;
	if ((err = sipua_new(&so, &g->sip)) != 0)
		goto fail;
	g->redial = loop_alarm_new(g->loop, gw_dial, g);
	the_gw = g;
	gw_dial(g);
	*out = g;
	return 0;
fail:
	gw_free(g);
	return err;
}

void gw_free(struct gw *g)
{
	if (!g)
		return;
	sipua_free(g->sip); /* the SIP thread first: it ends every session */
	while (g->calls) {
		struct gcall *c = g->calls;

		g->calls = c->next;
		loop_alarm_free(c->media);
		loop_alarm_free(c->ring);
		loop_alarm_free(c->busy);
		free(c->caller_sdp);
		free(c);
	}
	if (the_gw == g)
		the_gw = NULL;
	rpc_free(g->rpc);
	loop_alarm_free(g->redial);
	loop_wake_free(g->wake);
	loop_io_free(g->dtmf_io);
	if (g->dtmf_fd >= 0)
		close(g->dtmf_fd);
	ng_free(g->ng);
	free(g);
}
