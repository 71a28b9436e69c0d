/*
 * The SIP thread: libre's loop, its SIP stack and sessions. See sipua.h.
 *
 * Everything here but sipua_send, sipua_take, sipua_set_open and the
 * constructor runs on the SIP thread. Commands arrive through libre's
 * mqueue (mq_handler); events leave through the locked list `ev` and the
 * owner's wake callback.
 */
#include "gateway/sipgw/sipua.h"

#include "lib/err.h"
#include "lib/log.h"

#include <re.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD_STOP 0

/* A call as the SIP thread holds it: the caller's session and the agent's. */
struct sleg {
	uint32_t id;
	struct sipsess *caller, *agent;
	char *caller_sdp, *agent_sdp; /* what we last gave each side */
	char *agent_answer;           /* the agent's SDP from its 200 */
	bool agent_up;
	bool caller_up;               /* an outbound leg: the called party answered */
	struct sipua *s;
	struct sleg *next;
};

struct sipua {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t ready_cv;
	int ready; /* 0 starting, 1 running, <0 failed (the error) */
	struct sipua_msg *ev, **ev_tail;
	atomic_bool open;
	char listen[64], edge[64];
	int retry_after;
	sipua_wake_fn wake;
	void *arg;
	/* SIP thread only */
	struct mqueue *mq;
	struct sip *sip;
	struct sipsess_sock *sock;
	struct sip_lsnr *lsnr;
	struct sleg *legs;
	uint32_t next_id;
};

struct sipua_msg *sipua_msg_new(enum sipua_kind kind, uint32_t leg)
{
	struct sipua_msg *m = calloc(1, sizeof(*m));

	if (!m)
		abort();
	m->kind = kind;
	m->leg = leg;
	return m;
}

void sipua_msg_free(struct sipua_msg *m)
{
	if (!m)
		return;
	free(m->sdp);
	free(m);
}

static char *dup_or_die(const char *s, size_t n)
{
	char *d = strndup(s, n);

	if (!d)
		abort();
	return d;
}

/* Hand an event to the gateway's loop (the SIP thread -> libevent queue). */
static void emit(struct sipua *s, struct sipua_msg *m)
{
	pthread_mutex_lock(&s->lock);
	*s->ev_tail = m;
	s->ev_tail = &m->next;
	pthread_mutex_unlock(&s->lock);
	s->wake(s->arg);
}

struct sipua_msg *sipua_take(struct sipua *s)
{
	struct sipua_msg *m;

	pthread_mutex_lock(&s->lock);
	m = s->ev;
	s->ev = NULL;
	s->ev_tail = &s->ev;
	pthread_mutex_unlock(&s->lock);
	return m;
}

void sipua_set_open(struct sipua *s, bool open)
{
	atomic_store(&s->open, open);
}

void sipua_send(struct sipua *s, struct sipua_msg *m)
{
	/* The gateway -> SIP thread queue: libre's mqueue. */
	if (mqueue_push(s->mq, (int)m->kind, m) != 0)
		sipua_msg_free(m);
}

static struct sleg *leg_find(struct sipua *s, uint32_t id)
{
	for (struct sleg *l = s->legs; l; l = l->next)
		if (l->id == id)
			return l;
	return NULL;
}

static void leg_free(struct sleg *l)
{
	struct sleg **pp;

	for (pp = &l->s->legs; *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	l->caller = mem_deref(l->caller);
	l->agent = mem_deref(l->agent);
	free(l->caller_sdp);
	free(l->agent_sdp);
	free(l->agent_answer);
	free(l);
}

static struct mbuf *sdp_mbuf(const char *sdp)
{
	struct mbuf *mb = mbuf_alloc(strlen(sdp) + 1);

	if (!mb)
		abort();
	mbuf_write_str(mb, sdp);
	mbuf_set_pos(mb, 0);
	return mb;
}

static char *body_of(const struct sip_msg *msg)
{
	if (!msg || !msg->mb || !mbuf_get_left(msg->mb))
		return NULL;
	return dup_or_die((const char *)mbuf_buf(msg->mb), mbuf_get_left(msg->mb));
}

/* A re-INVITE from either side: answer with what that side has from us. */
static int on_offer_caller(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	struct sleg *l = arg;

	(void)msg;
	if (!l->caller_sdp)
		return EPROTO;
	*descp = sdp_mbuf(l->caller_sdp);
	return 0;
}

static int on_offer_agent(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	struct sleg *l = arg;

	(void)msg;
	if (!l->agent_sdp)
		return EPROTO;
	*descp = sdp_mbuf(l->agent_sdp);
	return 0;
}

static int on_answer_caller(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return 0;
}

static void on_estab_caller(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
}

static void on_close_caller(int err, const struct sip_msg *msg, void *arg)
{
	struct sleg *l = arg;
	struct sipua_msg *m = sipua_msg_new(SIPUA_EV_CALLER_GONE, l->id);

	m->code = err ? err : (msg && !msg->req ? msg->scode : 0);
	log_debug(LOG_SIPGW, "caller gone leg=%u err=%d", l->id, err);
	emit(l->s, m);
	l->caller = mem_deref(l->caller);
	if (!l->agent)
		leg_free(l);
}

/* A 200 to our INVITE (an agent's or an outbound called party's): its SDP,
 * kept until the session is established. */
static int on_answer_keep(const struct sip_msg *msg, void *arg)
{
	struct sleg *l = arg;
	char *b = body_of(msg);

	if (b) {
		free(l->agent_answer);
		l->agent_answer = b;
	}
	return 0;
}

static void on_progress_agent(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
}

/* The session of our INVITE is up: the answer's SDP (the 200's, else the
 * ACK's) goes to the gateway as event kind. */
static void emit_answered(struct sleg *l, const struct sip_msg *msg, enum sipua_kind kind)
{
	struct sipua_msg *m = sipua_msg_new(kind, l->id);

	if (!l->agent_answer)
		l->agent_answer = body_of(msg);
	m->sdp = l->agent_answer;
	l->agent_answer = NULL;
	emit(l->s, m);
}

static void on_estab_agent(const struct sip_msg *msg, void *arg)
{
	struct sleg *l = arg;

	l->agent_up = true;
	emit_answered(l, msg, SIPUA_EV_AGENT_ANSWERED);
}

static void on_close_agent(int err, const struct sip_msg *msg, void *arg)
{
	struct sleg *l = arg;
	struct sipua_msg *m = sipua_msg_new(l->agent_up ? SIPUA_EV_AGENT_GONE : SIPUA_EV_AGENT_FAILED,
					    l->id);

	m->code = msg && !msg->req ? msg->scode : err ? err : 0;
	log_debug(LOG_SIPGW, "agent leg closed leg=%u err=%d code=%d", l->id, err, m->code);
	emit(l->s, m);
	l->agent = mem_deref(l->agent);
	l->agent_up = false;
	if (!l->caller)
		leg_free(l);
}

/* An outbound leg (ORIGINATE): the called party stands where a caller does;
 * its 200's SDP goes to the gateway once the session is established. */
static void on_estab_out(const struct sip_msg *msg, void *arg)
{
	struct sleg *l = arg;

	l->caller_up = true;
	emit_answered(l, msg, SIPUA_EV_OUT_ANSWERED);
}

static void on_close_out(int err, const struct sip_msg *msg, void *arg)
{
	struct sleg *l = arg;
	struct sipua_msg *m;

	if (l->caller_up) {
		on_close_caller(err, msg, arg);
		return;
	}
	m = sipua_msg_new(SIPUA_EV_OUT_FAILED, l->id);
	m->code = msg && !msg->req ? msg->scode : err ? err : 0;
	log_debug(LOG_SIPGW, "outbound leg failed leg=%u err=%d code=%d", l->id, err, m->code);
	emit(l->s, m);
	l->caller = mem_deref(l->caller);
	if (!l->agent)
		leg_free(l);
}

static void cmd_originate(struct sipua *s, struct sipua_msg *m)
{
	char from[SIPUA_NUM_MAX + 80];
	struct sleg *l;
	struct mbuf *mb;
	int err;

	if (!m->sdp || !(m->leg & SIPUA_LEG_OUT) || leg_find(s, m->leg))
		return;
	l = calloc(1, sizeof(*l));
	if (!l)
		abort();
	l->s = s;
	l->id = m->leg;
	l->caller_sdp = m->sdp;
	m->sdp = NULL;
	snprintf(from, sizeof(from), "sip:%s@%s", m->ani[0] ? m->ani : "kefu", s->listen);
	mb = sdp_mbuf(l->caller_sdp);
	err = sipsess_connect(&l->caller, s->sock, m->uri, "kefu", from, "kefu-sipgw", NULL, 0,
			      "application/sdp", mb, NULL, NULL, false, on_offer_caller,
			      on_answer_keep, on_progress_agent, on_estab_out, NULL, NULL,
			      on_close_out, l, NULL);
	mem_deref(mb);
	l->next = s->legs;
	s->legs = l;
	if (err) {
		struct sipua_msg *f = sipua_msg_new(SIPUA_EV_OUT_FAILED, l->id);

		f->code = err;
		emit(s, f);
		leg_free(l);
	}
}

/* A new INVITE: refused with 503 while no node is reachable, else held
 * with 180 while the gateway sets the media up (SIPUA_CMD_ANSWER). */
static void on_conn(const struct sip_msg *msg, void *arg)
{
	struct sipua *s = arg;
	struct sipua_msg *m;
	struct sleg *l;
	int err;

	if (!atomic_load(&s->open)) {
		(void)sip_replyf(s->sip, msg, 503, "Service Unavailable",
				 "Retry-After: %d\r\nContent-Length: 0\r\n\r\n", s->retry_after);
		return;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		abort();
	l->s = s;
	l->id = ++s->next_id;
	err = sipsess_accept(&l->caller, s->sock, msg, 180, "Ringing", "kefu-sipgw", "application/sdp",
			     NULL, NULL, NULL, false, on_offer_caller, on_answer_caller,
			     on_estab_caller, NULL, NULL, on_close_caller, l, NULL);
	if (err) {
		log_warn(LOG_SIPGW, "accept failed err=%d", err);
		(void)sip_reply(s->sip, msg, 500, "Server Error");
		free(l);
		return;
	}
	l->next = s->legs;
	s->legs = l;
	m = sipua_msg_new(SIPUA_EV_INVITE, l->id);
	m->sdp = body_of(msg);
	(void)pl_strcpy(&msg->from.uri.user, m->ani, sizeof(m->ani));
	(void)pl_strcpy(&msg->uri.user, m->service, sizeof(m->service));
	(void)pl_strcpy(&msg->callid, m->callid, sizeof(m->callid));
	emit(s, m);
}

/* Requests outside a session: OPTIONS (the edge's keepalive) gets 200. */
static bool on_request(const struct sip_msg *msg, void *arg)
{
	struct sipua *s = arg;

	if (pl_strcmp(&msg->met, "OPTIONS") == 0) {
		(void)sip_reply(s->sip, msg, 200, "OK");
		return true;
	}
	return false;
}

static void cmd_dial(struct sipua *s, struct sleg *l, struct sipua_msg *m)
{
	char from[96];
	struct mbuf *mb;
	int err;

	if (l->agent || !m->sdp)
		return;
	snprintf(from, sizeof(from), "sip:kefu@%s", s->listen);
	free(l->agent_sdp);
	l->agent_sdp = m->sdp;
	m->sdp = NULL;
	mb = sdp_mbuf(l->agent_sdp);
	err = sipsess_connect(&l->agent, s->sock, m->uri, "kefu", from, "kefu-sipgw", NULL, 0,
			      "application/sdp", mb, NULL, NULL, false, on_offer_agent,
			      on_answer_keep, on_progress_agent, on_estab_agent, NULL, NULL,
			      on_close_agent, l, "Call-Info: <sip:%s>;answer-after=0\r\n", s->listen);
	mem_deref(mb);
	if (err) {
		struct sipua_msg *f = sipua_msg_new(SIPUA_EV_AGENT_FAILED, l->id);

		f->code = err;
		emit(s, f);
	}
}

/* The gateway -> SIP thread queue's consumer. */
static void mq_handler(int id, void *data, void *arg)
{
	struct sipua *s = arg;
	struct sipua_msg *m = data;
	struct sleg *l;
	struct mbuf *mb;

	if (id == CMD_STOP) {
		re_cancel();
		return;
	}
	if (m->kind == SIPUA_CMD_ORIGINATE) {
		cmd_originate(s, m);
		sipua_msg_free(m);
		return;
	}
	l = leg_find(s, m->leg);
	if (!l) {
		sipua_msg_free(m);
		return;
	}
	switch (m->kind) {
	case SIPUA_CMD_ANSWER:
		if (l->caller && m->sdp) {
			free(l->caller_sdp);
			l->caller_sdp = m->sdp;
			m->sdp = NULL;
			mb = sdp_mbuf(l->caller_sdp);
			(void)sipsess_answer(l->caller, 200, "OK", mb, NULL);
			mem_deref(mb);
		}
		break;
	case SIPUA_CMD_REJECT:
		if (l->caller) {
			if (m->code == 503)
				(void)sipsess_reject(l->caller, 503, "Service Unavailable",
						     "Retry-After: %d\r\n", s->retry_after);
			else
				(void)sipsess_reject(l->caller, (uint16_t)m->code, "Refused", NULL);
		}
		/* the session goes, as for a hangup */
		/* fall through */
	case SIPUA_CMD_HANGUP:
		l->caller = mem_deref(l->caller); /* BYE once established */
		l->agent = mem_deref(l->agent);
		leg_free(l);
		break;
	case SIPUA_CMD_DIAL:
		cmd_dial(s, l, m);
		break;
	case SIPUA_CMD_AGENT_HANGUP:
		l->agent = mem_deref(l->agent); /* CANCEL while ringing, BYE after */
		l->agent_up = false;
		if (!l->caller)
			leg_free(l);
		break;
	default:
		break;
	}
	sipua_msg_free(m);
}

static void set_ready(struct sipua *s, int v)
{
	pthread_mutex_lock(&s->lock);
	s->ready = v;
	pthread_cond_signal(&s->ready_cv);
	pthread_mutex_unlock(&s->lock);
}

static void *sip_thread(void *arg)
{
	struct sipua *s = arg;
	struct sa laddr;
	int err;

	if ((err = libre_init()) != 0) {
		set_ready(s, -err);
		return NULL;
	}
	err = sa_decode(&laddr, s->listen, strlen(s->listen));
	if (err) {
		set_ready(s, KF_ECONFIG);
		goto out_libre;
	}
	if ((err = mqueue_alloc(&s->mq, mq_handler, s)) ||
	    (err = sip_alloc(&s->sip, NULL, 32, 32, 32, "kefu-sipgw", NULL, NULL)) ||
	    (err = sip_transp_add(s->sip, SIP_TRANSP_UDP, &laddr)) ||
	    (err = sipsess_listen(&s->sock, s->sip, 32, on_conn, s)) ||
	    (err = sip_listen(&s->lsnr, s->sip, true, on_request, s))) {
		set_ready(s, -err);
		goto out;
	}
	set_ready(s, 1);
	(void)re_main(NULL);
out:
	while (s->legs)
		leg_free(s->legs);
	s->lsnr = mem_deref(s->lsnr);
	if (s->sock)
		sipsess_close_all(s->sock);
	s->sock = mem_deref(s->sock);
	if (s->sip)
		sip_close(s->sip, true);
	s->sip = mem_deref(s->sip);
	s->mq = mem_deref(s->mq);
out_libre:
	libre_close();
	return NULL;
}

int sipua_new(const struct sipua_opts *o, struct sipua **out)
{
	struct sipua *s = calloc(1, sizeof(*s));
	int err;

	*out = NULL;
	if (!s)
		abort();
	if (snprintf(s->listen, sizeof(s->listen), "%s", o->listen) >= (int)sizeof(s->listen) ||
	    snprintf(s->edge, sizeof(s->edge), "%s", o->edge ? o->edge : "") >= (int)sizeof(s->edge)) {
		free(s);
		return KF_ECONFIG;
	}
	s->retry_after = o->retry_after;
	s->wake = o->wake;
	s->arg = o->arg;
	s->ev_tail = &s->ev;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->ready_cv, NULL);
	if ((err = pthread_create(&s->thread, NULL, sip_thread, s)) != 0) {
		free(s);
		return -err;
	}
	pthread_mutex_lock(&s->lock);
	while (s->ready == 0)
		pthread_cond_wait(&s->ready_cv, &s->lock);
	err = s->ready < 0 ? s->ready : 0;
	pthread_mutex_unlock(&s->lock);
	if (err) {
		pthread_join(s->thread, NULL);
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

void sipua_free(struct sipua *s)
{
	struct sipua_msg *m;

	if (!s)
		return;
	(void)mqueue_push(s->mq, CMD_STOP, NULL);
	pthread_join(s->thread, NULL);
	while ((m = sipua_take(s)) != NULL)
		while (m) {
			struct sipua_msg *n = m->next;

			sipua_msg_free(m);
			m = n;
		}
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->ready_cv);
	free(s);
}
