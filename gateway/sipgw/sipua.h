/*
 * The SIP side of kefu-sipgw: a user agent on libre, the only code that
 * touches libre (house rule 2). libre runs its own main loop (re_main), so
 * sipua runs it on a thread of its own; it talks to the rest of the
 * gateway, which lives on the kefu link's libevent loop, only through two
 * queues of struct sipua_msg:
 *
 *   gateway -> SIP thread: sipua_send() pushes onto libre's mqueue (a pipe
 *       the SIP thread's loop watches);
 *   SIP thread -> gateway: events go onto a mutex-guarded list and the
 *       owner's loop_wake fires; the owner drains it with sipua_take().
 *
 * No libre type crosses the boundary: a leg is a number, SDP a C string.
 */
#ifndef KEFU_SIPGW_SIPUA_H
#define KEFU_SIPGW_SIPUA_H

#include <stdbool.h>
#include <stdint.h>

#define SIPUA_NUM_MAX 64
#define SIPUA_URI_MAX 160
/* The legs the gateway numbers itself (ORIGINATE) have this bit; the SIP
 * thread numbers the incoming ones from 1 below it. */
#define SIPUA_LEG_OUT 0x80000000u

enum sipua_kind {
	/* SIP thread -> gateway */
	SIPUA_EV_INVITE = 1,     /* a new call: leg, ani, service, sdp, callid */
	SIPUA_EV_CALLER_GONE,    /* the caller hung up or cancelled (leg) */
	SIPUA_EV_AGENT_ANSWERED, /* the agent's phone answered: sdp */
	SIPUA_EV_AGENT_FAILED,   /* the agent leg failed before answering: code */
	SIPUA_EV_AGENT_GONE,     /* the agent hung up after answering */
	SIPUA_EV_DTMF_INFO,      /* reserved */
	SIPUA_EV_OUT_ANSWERED,   /* the called party of an ORIGINATE answered: sdp */
	SIPUA_EV_OUT_FAILED,     /* it did not answer: code (a SIP status, or an errno) */
	/* gateway -> SIP thread */
	SIPUA_CMD_ANSWER,        /* 200 to the caller with sdp */
	SIPUA_CMD_REJECT,        /* a final refusal to the caller: code */
	SIPUA_CMD_HANGUP,        /* end the caller's leg (BYE) */
	SIPUA_CMD_DIAL,          /* INVITE uri (the agent) with sdp, answer-after=0 */
	SIPUA_CMD_AGENT_HANGUP,  /* CANCEL or BYE the agent's leg */
	SIPUA_CMD_ORIGINATE,     /* a new outbound leg (its number chosen by the gateway,
				    SIPUA_LEG_OUT set): INVITE uri with sdp, from ani; the
				    called party then stands where a caller does */
};

/* One message either way. The receiver owns it and frees it with sipua_msg_free. */
struct sipua_msg {
	enum sipua_kind kind;
	uint32_t leg;             /* the call, numbered by the SIP thread */
	int code;                 /* a SIP status code, or an errno for AGENT_FAILED */
	char *sdp;                /* malloc'd or NULL */
	char ani[SIPUA_NUM_MAX];
	char service[SIPUA_NUM_MAX];
	char uri[SIPUA_URI_MAX];
	char callid[128];
	struct sipua_msg *next;
};

struct sipua;

typedef void (*sipua_wake_fn)(void *arg);

struct sipua_opts {
	const char *listen;       /* "IP:PORT", UDP; read during sipua_new */
	const char *edge;         /* "IP:PORT" of the SIP edge (agents' phones); copied */
	int retry_after;          /* seconds, in a 503 while no node is reachable */
	sipua_wake_fn wake;       /* called on the SIP thread after events were queued */
	void *arg;
};

/*
 * sipua_new - start the SIP thread listening on o->listen. Returns 0 and
 * *out, or (*out NULL) KF_ECONFIG (bad address) or -errno (the socket, the
 * thread). Free with sipua_free, which stops the thread.
 */
int sipua_new(const struct sipua_opts *o, struct sipua **out);
void sipua_free(struct sipua *s);

/* sipua_send - hand m to the SIP thread, which frees it. Any thread. */
void sipua_send(struct sipua *s, struct sipua_msg *m);

/* sipua_take - every event queued so far, oldest first (caller frees each). */
struct sipua_msg *sipua_take(struct sipua *s);

/* sipua_set_open - new INVITEs are taken (true) or refused with 503 and
 * Retry-After (false: no node is reachable). Any thread. */
void sipua_set_open(struct sipua *s, bool open);

/* sipua_msg_new - a zeroed message of kind for leg (never NULL). */
struct sipua_msg *sipua_msg_new(enum sipua_kind kind, uint32_t leg);
void sipua_msg_free(struct sipua_msg *m);

#endif
