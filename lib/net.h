/*
 * Listeners and framed TLS connections on the event loop.
 *
 * Every connection is TLS (lib/tls.h) and carries frames (proto/frame.h:
 * a 4-byte big-endian length, then the payload). The user sees whole
 * payloads, never bytes — but for raw client connections, described below.
 * Everything runs on the loop's thread.
 *
 * Lifecycle and ownership (single owner, no reference counting for the
 * user to do):
 *   - net_connect returns a connection owned by the caller at once. When
 *     the handshake is done, cbs.open runs; if it fails, cbs.close runs
 *     instead (cbs.open never does).
 *   - A listener owns the connections it accepts until their handshake
 *     is done; then accept_fn receives the connection, which belongs to
 *     the accept_fn's user from then on. Connections whose handshake
 *     fails never reach the user (refuse_fn hears of them).
 *   - The owner's hold ends in exactly one of two ways: the owner calls
 *     net_conn_close, after which no callback runs and the pointer is
 *     invalid; or the connection ends by itself (peer, error, limit) and
 *     cbs.close runs once with the reason, after which the pointer is
 *     invalid. net_conn_close inside any callback, cbs.close included, is
 *     safe (in cbs.close it does nothing); the memory is released once
 *     the callback has returned.
 *
 * Limits (struct net_opts): max_frame bounds one payload both ways; a
 * peer announcing more is cut off with KF_ETOOBIG, an empty frame with
 * KF_EPROTO. max_out bounds the bytes queued for sending (raised to at
 * least one largest frame): net_conn_send refuses a frame that does not
 * fit with KF_ETOOBIG (nothing is queued) and, once the queue has drained
 * to half of max_out, cbs.writable runs once — the backpressure signal;
 * the sender keeps what was refused and sends it then. Handshakes that
 * take longer than handshake_ms end with -ETIMEDOUT. Idle timeouts are
 * the user's (loop alarms). net_conn_set_max_frame lowers or raises the
 * limit on what a peer may send, as trust in the peer changes.
 *
 * A listener caps the connections it has accepted and not yet seen closed
 * (handshaking or handed to the user): max_conns in all, and
 * max_conns_per_addr from one IP address. A connection over either cap is
 * closed at accept, before any TLS work, and refuse_fn hears KF_ETOOBIG.
 *
 * The process must ignore SIGPIPE (kefud's main does): a write to a peer
 * that has gone is then an error, not the end of the process.
 *
 * Close reasons given to cbs.close (and refuse_fn):
 *   0              the peer closed the connection, or net_conn_close_flushed finished
 *   -ECONNREFUSED, -ECONNRESET, -EPIPE, ...  the socket failed (-errno)
 *   -ETIMEDOUT     the TCP connect and TLS handshake took over handshake_ms
 *   KF_ETLS        the TLS handshake failed (certificate, version, alert) or
 *                  a TLS record was bad; detail holds OpenSSL's reason
 *   KF_ETOOBIG     the peer sent a frame over max_frame (listeners: or a
 *                  connection cap was reached)
 *   KF_EPROTO      the peer sent an empty frame
 * `detail` is a short text for logs, valid during the callback only.
 *
 * Raw connections (net_connect_raw, clients only) carry bytes instead of
 * frames, over TLS or plain TCP (tls NULL), for protocols that frame
 * themselves (RESP): cbs.frame receives the bytes as they arrive, in
 * pieces of any size, and net_conn_write queues bytes. Everything else (lifecycle,
 * max_out and cbs.writable, handshake_ms, close reasons) is as above;
 * max_frame is unused. A plain connection opens as soon as TCP connects and
 * has an empty peer identity.
 *
 * Shutting down: close every connection and free every listener, then let
 * loop_run return by itself (nothing is registered any more) before
 * loop_free — libevent releases a closed connection's buffers from the loop.
 */
#ifndef KEFU_LIB_NET_H
#define KEFU_LIB_NET_H

#include "lib/loop.h"
#include "lib/tls.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The longest host text (a name or an address) net_* functions take, with its NUL. */
#define NET_HOST_MAX 64

struct net_listener;
struct net_conn;

/* Defaults for a zero field of struct net_opts. */
#define NET_MAX_FRAME_DEFAULT ((size_t)4 * 1024 * 1024)
#define NET_MAX_OUT_DEFAULT ((size_t)16 * 1024 * 1024)
#define NET_HANDSHAKE_MS_DEFAULT 5000u
#define NET_MAX_CONNS_DEFAULT 8192u
#define NET_MAX_CONNS_PER_ADDR_DEFAULT 2048u

/* Per-connection limits; a zero field takes the default above. NULL = all defaults. */
struct net_opts {
	size_t max_frame;      /* payload bytes per frame, both ways (at most 64 MiB) */
	size_t max_out;        /* bytes queued for sending, frame headers included */
	uint32_t handshake_ms; /* TCP connect plus TLS handshake */
	unsigned max_conns;          /* listeners: accepted connections open at once */
	unsigned max_conns_per_addr; /* listeners: the same, from one IP address */
};

/* A connection's callbacks; arg is the one given with them. Only frame and close are required. */
struct net_conn_cbs {
	/* A client's handshake is done: the peer is verified, sending may begin. */
	void (*open)(void *arg, struct net_conn *c);
	/* One frame's payload data[0..len), len >= 1; valid until the callback returns. */
	void (*frame)(void *arg, struct net_conn *c, const uint8_t *data, size_t len);
	/* (Raw connections: the next len >= 1 bytes of the stream, however cut.) */
	/* After net_conn_send refused a frame: the queue has drained to half of max_out. */
	void (*writable)(void *arg, struct net_conn *c);
	/* The connection ended by itself; c is freed when this returns. */
	void (*close)(void *arg, struct net_conn *c, int reason, const char *detail);
};

/*
 * The listener's callbacks. accept runs with a connection whose handshake
 * is done; it must call net_conn_start (or net_conn_close) on it before
 * returning, else the connection is closed. refuse, which may be NULL,
 * hears of a connection that failed before that (see the reasons above);
 * peer is "ip:port".
 */
typedef void (*net_accept_fn)(void *arg, struct net_conn *c);
typedef void (*net_refuse_fn)(void *arg, const char *peer, int reason, const char *detail);

/* What net_listen listens on, and whom it tells. */
struct net_listen_opts {
	struct loop *loop;
	const char *addr;            /* "HOST:PORT", see net_listen */
	struct tls_ctx *tls;         /* a server context; must outlive the listener */
	const struct net_opts *net;  /* limits, copied; NULL = all defaults */
	net_accept_fn accept;        /* required */
	net_refuse_fn refuse;        /* may be NULL */
	void *arg;
};

/*
 * net_listen - listen on o->addr (HOST numeric IPv4, "[IPv6]" or
 * "localhost"; PORT 0 picks a free port, see net_listener_port). Returns 0
 * and *out, owned by the caller, or (with *out NULL): KF_EPARSE (bad
 * address), KF_ECONFIG (tls is not a server context, or no accept),
 * -EADDRINUSE and other -errno from socket/bind/listen.
 */
int net_listen(const struct net_listen_opts *o, struct net_listener **out);

/* net_listener_port - the port actually bound. */
uint16_t net_listener_port(const struct net_listener *ls);

/*
 * net_listener_free - stop listening and drop connections still in their
 * handshake (no callbacks). Accepted connections are untouched. NULL is fine.
 */
void net_listener_free(struct net_listener *ls);

/* Whom net_connect dials, and how. */
struct net_dial_opts {
	struct loop *loop;
	const char *addr;            /* "HOST:PORT", as for net_listen */
	struct tls_ctx *tls;         /* a client context; must outlive the connection */
	const struct net_opts *net;  /* limits, copied; NULL = all defaults */
	const struct net_conn_cbs *cbs; /* copied */
	void *arg;
};

/*
 * net_connect - dial o->addr over TLS (the server's certificate must name
 * HOST, "localhost" as DNS:localhost, an address as an IP entry). Never
 * blocks: the outcome arrives as cbs->open or cbs->close. Returns 0 and
 * *out, owned by the caller, or (with *out NULL): KF_EPARSE (bad address),
 * KF_ECONFIG (no tls, or a server context), -errno (socket).
 */
int net_connect(const struct net_dial_opts *o, struct net_conn **out);

/*
 * net_connect_raw - as net_connect, for a raw connection (see above): tls
 * is a client context, or NULL for plain TCP; cbs->frame (bytes) and
 * cbs->close are required. Same errors as net_connect.
 */
int net_connect_raw(const struct net_dial_opts *o, struct net_conn **out);

/*
 * net_conn_start - give an accepted connection its callbacks (copied) and
 * start reading frames. Call it from accept_fn; once only.
 */
void net_conn_start(struct net_conn *c, const struct net_conn_cbs *cbs, void *arg);

/*
 * net_conn_send - queue payload[0..len) as one frame (copied). Returns 0,
 * KF_EPROTO (len 0), KF_ETOOBIG (len over max_frame, or the queue would
 * exceed max_out: cbs.writable will run when it has drained), KF_ESTATE
 * (the handshake is not done, or the connection is closing).
 */
int net_conn_send(struct net_conn *c, const void *payload, size_t len);

/*
 * net_conn_write - on a raw connection, queue data[0..len) (copied).
 * Returns 0 (len 0 queues nothing), KF_ETOOBIG (the queue would exceed
 * max_out; nothing is queued and cbs.writable will run when it has
 * drained), KF_ESTATE (not open yet, closing, or a framed connection).
 * net_conn_send on a raw connection is KF_ESTATE too.
 */
int net_conn_write(struct net_conn *c, const void *data, size_t len);

/*
 * net_conn_set_max_frame - the largest payload the peer may send from the
 * next frame header on (clamped to FRAME_MAX_LIMIT; 0 restores the
 * connection's max_frame). A frame whose header has been read keeps its
 * length. What c may send is still bounded by its max_frame.
 */
void net_conn_set_max_frame(struct net_conn *c, size_t max);

/* net_conn_out_pending - bytes queued for sending and not yet written to the socket. */
size_t net_conn_out_pending(const struct net_conn *c);

/*
 * net_conn_peer - the peer's verified identity, once the handshake is
 * done (empty, role TLS_ROLE_NONE, when it showed no certificate). Valid
 * while c is. NULL before the handshake is done.
 */
const struct tls_identity *net_conn_peer(const struct net_conn *c);

/* net_conn_addr - the peer's "ip:port" (for logs). Valid while c is. */
const char *net_conn_addr(const struct net_conn *c);

/*
 * net_conn_close - close now: queued output is dropped, no callback runs
 * after this returns, c is invalid. Safe inside any of c's callbacks.
 * NULL is fine.
 */
void net_conn_close(struct net_conn *c);

/*
 * net_conn_close_flushed - on an open connection (else it does nothing):
 * stop reading (no more cbs.frame) and close once everything queued has
 * been written; cbs.close then runs with reason 0 (or the error that came
 * first). The caller still owns c until cbs.close (use net_conn_close to
 * give up waiting: a peer that never reads never drains the queue).
 */
void net_conn_close_flushed(struct net_conn *c);

/*
 * net_addr_is_loopback - whether the host of addr ("HOST", "HOST:PORT",
 * "[V6]" or "[V6]:PORT"; HOST an IPv4 address, a bare IPv6 address or a
 * name) is this machine's loopback: 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104,
 * or the name "localhost". Any other name is not (nothing is resolved).
 * Pure.
 */
bool net_addr_is_loopback(const char *addr);

/*
 * net_addr_parse - "HOST:PORT" (HOST a numeric IPv4 address or localhost,
 * for 127.0.0.1) or "[V6]:PORT" into a socket address *ss of *sl bytes and
 * the host's text (brackets off). PORT 0..65535 (0: any). Nothing is
 * resolved. Pure. Returns 0 or KF_EPARSE. Every listener of the tree
 * (net, httpd, webd) reads its address with it.
 */
int net_addr_parse(const char *hp, struct sockaddr_storage *ss, socklen_t *sl,
		   char host[NET_HOST_MAX]);

#endif
