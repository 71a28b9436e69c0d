/*
 * The gateway core of kefu-sipgw, on the kefu link's libevent loop: each
 * call's state (media through rtpengine, the node's view through the kefu
 * link), the link to a node with its failover and GatewayResume, and the
 * SIP thread's events drained from sipua's queue. The SIP thread never
 * touches a struct gw: everything crosses over in struct sipua_msg.
 */
#ifndef KEFU_SIPGW_GW_H
#define KEFU_SIPGW_GW_H

#include "lib/loop.h"
#include "lib/tls.h"

#include <stddef.h>
#include <stdint.h>

#define GW_NODES_MAX 9
#define GW_ADDR_MAX 64
#define GW_PATH_MAX 512

struct gw_opts {
	const char *name;                 /* prefix of the gateway's call ids; copied */
	const char *nodes[GW_NODES_MAX];  /* "IP:PORT" of the nodes, the first tried first; copied */
	size_t nnodes;
	struct tls_ctx *tls;              /* the gateway certificate's client context; outlives gw */
	const char *sip_listen;           /* this gateway's SIP address (UDP); copied */
	const char *edge;                 /* the SIP edge, where agents' phones register; copied */
	const char *rtpengine;            /* rtpengine's NG address; copied */
	const char *dtmf_listen;          /* where rtpengine sends DTMF events (UDP), or NULL */
	const char *prompts;              /* folder of greeting.wav, moh.wav, <plan>.wav; copied */
	uint32_t ring_ms;                 /* an agent phone not answering by then has failed */
	int retry_after;                  /* seconds, in 503s while no node is reachable */
	const char *trunk;                /* "IP:PORT" outbound calls go to, or NULL: none */
	uint32_t lines;                   /* outbound calls at once it tells the node (0: no limit) */
	struct loop *loop;                /* outlives gw */
};

struct gw;

/* gw_new - start the SIP thread and dial the first node. Returns 0 and
 * *out, or KF_ECONFIG (an address) or -errno. Free with gw_free. */
int gw_new(const struct gw_opts *o, struct gw **out);
void gw_free(struct gw *g);

#endif
