/*
 * Framed TLS connections over real sockets on 127.0.0.1, with certificates
 * made by tests/cluster/certs.sh. Misbehaving peers (TLS 1.2 only, an
 * empty frame) are the openssl s_client, started and stopped by PID.
 */
#include "lib/net.h"

#include "lib/err.h"
#include "lib/log.h"
#include "tests/unit/support/bossfile.h"
#include "tests/unit/support/certs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

static char dir[256], otherdir[256];

/* ---- one end of a connection, as its callbacks saw it ---- */

enum on_frame { FRAME_COUNT, FRAME_ECHO, FRAME_CLOSE, FRAME_REPLY_FLUSH };

struct side {
	struct net_conn *conn;
	enum on_frame mode;
	int opened, closed, reason, frames, bad_frames, send_errors, writable;
	char detail[TLS_WHY_MAX];
	struct tls_identity peer;
	bool have_peer;
	/* the client's script: frames to send on open, or flood until refused */
	int to_send;
	bool flood;
	int sent;
	size_t refused_pending, refused_len; /* queue and frame size when a send was refused */
};

struct world {
	struct loop *loop;
	struct tls_ctx *sctx, *cctx;
	struct net_listener *ls;
	struct net_opts sopts, copts;
	struct side server, client;
	int accepted, refused, refuse_reason;
	char refuse_detail[TLS_WHY_MAX];
	char addr[64];
};

/* Frame i of a test stream: a size from 1 to 70000 and bytes that depend on i. */
static size_t frame_size(int i)
{
	uint32_t x = (uint32_t)i * 2654435761u + 12345u;

	x ^= x >> 13;
	x *= 0x5bd1e995u;
	x ^= x >> 15;
	return i % 4 == 0 ? 1 + x % 32 : 1 + x % 70000;
}

static uint8_t frame_byte(int i, size_t j)
{
	return (uint8_t)(i * 31 + (int)(j * 7));
}

static void frame_make(int i, uint8_t *buf, size_t *len)
{
	*len = frame_size(i);
	for (size_t j = 0; j < *len; j++)
		buf[j] = frame_byte(i, j);
}

static bool frame_is(int i, const uint8_t *data, size_t len)
{
	if (len != frame_size(i))
		return false;
	for (size_t j = 0; j < len; j++)
		if (data[j] != frame_byte(i, j))
			return false;
	return true;
}

static uint8_t sendbuf[70000];

static void side_frame(void *arg, struct net_conn *c, const uint8_t *data, size_t len)
{
	struct side *s = arg;
	int r;

	switch (s->mode) {
	case FRAME_COUNT:
		if (!frame_is(s->frames, data, len))
			s->bad_frames++;
		break;
	case FRAME_ECHO:
		if (net_conn_send(c, data, len) != 0)
			s->send_errors++;
		break;
	case FRAME_CLOSE:
		net_conn_close(c);
		s->conn = NULL;
		break;
	case FRAME_REPLY_FLUSH:
		r = net_conn_send(c, data, len);
		if (r != 0)
			s->send_errors++;
		net_conn_close_flushed(c);
		break;
	}
	s->frames++;
}

static void side_close(void *arg, struct net_conn *c, int reason, const char *detail)
{
	struct side *s = arg;

	(void)c;
	s->closed++;
	s->reason = reason;
	snprintf(s->detail, sizeof(s->detail), "%s", detail);
	s->conn = NULL;
}

/* Sends frames of the stream until the connection refuses one; returns that result. */
static int side_flood(struct side *s, struct net_conn *c)
{
	size_t len;
	int r;

	for (;;) {
		frame_make(s->sent, sendbuf, &len);
		r = net_conn_send(c, sendbuf, len);
		if (r != 0)
			return r;
		s->sent++;
		if (!s->flood && s->sent == s->to_send)
			return 0;
	}
}

static void side_open(void *arg, struct net_conn *c)
{
	struct side *s = arg;
	const struct tls_identity *id = net_conn_peer(c);

	s->opened++;
	if (id) {
		s->peer = *id;
		s->have_peer = true;
	}
	if (s->to_send == 0 && !s->flood)
		return;
	if (side_flood(s, c) != 0) {
		if (!s->flood)
			s->send_errors++;
		s->refused_pending = net_conn_out_pending(c);
		s->refused_len = frame_size(s->sent);
	}
}

/* Back under the cap: one more frame must now be taken. */
static void side_writable(void *arg, struct net_conn *c)
{
	struct side *s = arg;
	size_t len;

	s->writable++;
	frame_make(s->sent, sendbuf, &len);
	if (net_conn_send(c, sendbuf, len) == 0)
		s->sent++;
	else
		s->send_errors++;
}

static const struct net_conn_cbs side_cbs = {side_open, side_frame, side_writable, side_close};

static void on_accept(void *arg, struct net_conn *c)
{
	struct world *w = arg;

	w->accepted++;
	w->server.conn = c;
	side_open(&w->server, c);
	net_conn_start(c, &side_cbs, &w->server);
}

static void on_refuse(void *arg, const char *peer, int reason, const char *detail)
{
	struct world *w = arg;

	(void)peer;
	w->refused++;
	w->refuse_reason = reason;
	snprintf(w->refuse_detail, sizeof(w->refuse_detail), "%s", detail);
}

/* ---- setting up and running ---- */

/* A context trusting the test CA, with certificate `name` (NULL: none) made in d. */
static struct tls_ctx *ctx_make(const char *d, const char *name, bool server,
				enum tls_client_cert cc)
{
	char ca[300], crt[300], key[300];
	struct tls_opts o = {
		.ca_file = certs_path(ca, sizeof(ca), dir, "ca", "crt"),
		.cert_file = name ? certs_path(crt, sizeof(crt), d, name, "crt") : NULL,
		.key_file = name ? certs_path(key, sizeof(key), d, name, "key") : NULL,
		.server = server,
		.client_cert = cc,
	};
	struct tls_ctx *t;

	assert_int_equal(tls_ctx_new(&o, &t, NULL, 0), 0);
	return t;
}

/* A loop and a listener on 127.0.0.1 with server certificate `server`. */
static void world_listen(struct world *w, const char *server, enum tls_client_cert cc)
{

	assert_int_equal(loop_new(&w->loop), 0);
	w->sctx = ctx_make(dir, server, true, cc);
	struct net_listen_opts lo = {w->loop, "127.0.0.1:0", w->sctx, &w->sopts, on_accept, on_refuse, w};

	assert_int_equal(net_listen(&lo, &w->ls), 0);
	snprintf(w->addr, sizeof(w->addr), "127.0.0.1:%u", (unsigned)net_listener_port(w->ls));
}

/* Dials the listener as `client` (NULL: no certificate) made in d, naming host. */
static void world_dial(struct world *w, const char *d, const char *client, const char *host)
{
	char hp[80];
	struct net_dial_opts o = {w->loop, hp, NULL, &w->copts, &side_cbs, &w->client};

	w->cctx = ctx_make(d, client, false, 0);
	o.tls = w->cctx;
	snprintf(hp, sizeof(hp), "%s:%u", host, (unsigned)net_listener_port(w->ls));
	assert_int_equal(net_connect(&o, &w->client.conn), 0);
}

static void world_free(struct world *w)
{
	net_conn_close(w->client.conn);
	net_conn_close(w->server.conn);
	net_listener_free(w->ls);
	/* Nothing is registered any more: this returns once libevent has released the buffers. */
	assert_int_equal(loop_run(w->loop), 0);
	tls_ctx_free(w->cctx);
	tls_ctx_free(w->sctx);
	loop_free(w->loop);
}

struct spin {
	struct world *w;
	bool (*done)(struct world *w);
	uint64_t deadline;
};

static void spin_check(void *arg)
{
	struct spin *s = arg;

	if (s->done(s->w) || loop_now_ms() > s->deadline)
		loop_stop(s->w->loop);
}

/* Runs the loop until done(w) holds, for at most 10 s. Returns done(w). */
static bool spin(struct world *w, bool (*done)(struct world *w))
{
	struct spin s = {w, done, loop_now_ms() + 10000};
	struct loop_timer *t = loop_timer_new(w->loop, 2, spin_check, &s);

	loop_run(w->loop);
	loop_timer_free(t);
	return done(w);
}

static bool client_closed(struct world *w)
{
	return w->client.closed > 0;
}

static bool server_closed(struct world *w)
{
	return w->server.closed > 0;
}

static bool both_closed(struct world *w)
{
	return w->client.closed > 0 && w->server.closed > 0;
}

static bool refused(struct world *w)
{
	return w->refused > 0;
}

static bool refused_and_client_closed(struct world *w)
{
	return w->refused > 0 && w->client.closed > 0;
}

/* ---- openssl s_client as a misbehaving peer ---- */

struct child {
	pid_t pid;
	int in; /* write end of its stdin */
};

static void child_start(struct child *ch, struct world *w, const char *const *args, size_t n)
{
	const char *argv[24] = {"openssl", "s_client", "-connect", w->addr};
	int p[2];

	assert_true(n + 5 <= sizeof(argv) / sizeof(argv[0]));
	for (size_t i = 0; i < n; i++)
		argv[4 + i] = args[i];
	argv[4 + n] = NULL;
	assert_int_equal(pipe(p), 0);
	ch->pid = fork();
	assert_true(ch->pid >= 0);
	if (ch->pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(p[0], 0);
		dup2(null, 1);
		dup2(null, 2);
		close(p[1]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[0]);
	ch->in = p[1];
}

static void child_stop(struct child *ch)
{
	if (ch->in >= 0)
		close(ch->in);
	kill(ch->pid, SIGTERM);
	waitpid(ch->pid, NULL, 0);
}

/* ---- tests ---- */

static int group_setup(void **state)
{
	static const char *const specs[] = {"n1:kefu-node", "n2:kefu-node", "adm:kefu-admin",
					    "wrong:kefu-node:DNS:wrong.example,IP:10.9.9.9"};
	static const char *const other[] = {"n2:kefu-node"};

	(void)state;
	log_set_level(-1, LOG_LVL_WARN);
	signal(SIGPIPE, SIG_IGN);
	if (bossfile_tmpdir("net", dir, sizeof(dir)) != 0 ||
	    bossfile_tmpdir("net-other", otherdir, sizeof(otherdir)) != 0)
		return -1;
	if (certs_make(dir, specs, sizeof(specs) / sizeof(specs[0])) != 0)
		return -1;
	return certs_make(otherdir, other, 1);
}

static int group_teardown(void **state)
{
	(void)state;
	bossfile_rmtree(dir);
	bossfile_rmtree(otherdir);
	return 0;
}

static bool echoes_back(struct world *w)
{
	return w->client.frames >= w->client.to_send || w->client.closed;
}

static void test_echo_of_many_frames_of_random_sizes(void **state)
{
	struct world w = {0};

	(void)state;
	w.server.mode = FRAME_ECHO;
	w.client.to_send = 300;
	world_listen(&w, "n1", TLS_CLIENT_CERT_REQUIRED);
	world_dial(&w, dir, "n2", "127.0.0.1");
	assert_true(spin(&w, echoes_back));
	assert_int_equal(w.client.sent, 300);
	assert_int_equal(w.client.frames, 300);
	assert_int_equal(w.client.bad_frames, 0);
	assert_int_equal(w.server.frames, 300);
	assert_int_equal(w.server.send_errors, 0);
	assert_int_equal(w.client.closed, 0);
	world_free(&w);
}

static bool client_open(struct world *w)
{
	return w->client.opened && w->accepted;
}

static void test_peer_identity_is_seen_on_both_sides(void **state)
{
	struct world w = {0};
	char hp[64];

	(void)state;
	world_listen(&w, "n1", TLS_CLIENT_CERT_REQUIRED);
	world_dial(&w, dir, "adm", "localhost");
	assert_true(spin(&w, client_open));
	assert_true(w.server.have_peer);
	assert_string_equal(w.server.peer.cn, "adm");
	assert_string_equal(w.server.peer.ou, "kefu-admin");
	assert_int_equal(w.server.peer.role, TLS_ROLE_ADMIN);
	assert_true(w.client.have_peer);
	assert_string_equal(w.client.peer.cn, "n1");
	assert_int_equal(w.client.peer.role, TLS_ROLE_NODE);
	snprintf(hp, sizeof(hp), "localhost:%u", (unsigned)net_listener_port(w.ls));
	assert_string_equal(net_conn_addr(w.client.conn), hp);
	assert_non_null(strstr(net_conn_addr(w.server.conn), "127.0.0.1:"));
	world_free(&w);
}

static void test_client_cert_from_another_ca_is_refused(void **state)
{
	struct world w = {0};

	(void)state;
	world_listen(&w, "n1", TLS_CLIENT_CERT_REQUIRED);
	world_dial(&w, otherdir, "n2", "127.0.0.1");
	assert_true(spin(&w, refused_and_client_closed));
	assert_int_equal(w.accepted, 0);
	assert_int_equal(w.refuse_reason, KF_ETLS);
	assert_non_null(strstr(w.refuse_detail, "certificate verify failed"));
	assert_int_equal(w.client.reason, KF_ETLS);
	world_free(&w);
}

static void test_missing_client_cert_is_refused_when_required(void **state)
{
	struct world w = {0};

	(void)state;
	world_listen(&w, "n1", TLS_CLIENT_CERT_REQUIRED);
	world_dial(&w, dir, NULL, "127.0.0.1");
	assert_true(spin(&w, refused_and_client_closed));
	assert_int_equal(w.accepted, 0);
	assert_int_equal(w.refuse_reason, KF_ETLS);
	assert_int_equal(w.client.reason, KF_ETLS);
	world_free(&w);
}

static void test_missing_client_cert_is_accepted_without_identity_when_optional(void **state)
{
	struct world w = {0};

	(void)state;
	w.server.mode = FRAME_ECHO;
	w.client.to_send = 3;
	world_listen(&w, "n1", TLS_CLIENT_CERT_OPTIONAL);
	world_dial(&w, dir, NULL, "127.0.0.1");
	assert_true(spin(&w, echoes_back));
	assert_int_equal(w.client.frames, 3);
	assert_int_equal(w.accepted, 1);
	assert_true(w.server.have_peer);
	assert_string_equal(w.server.peer.cn, "");
	assert_int_equal(w.server.peer.role, TLS_ROLE_NONE);
	world_free(&w);
}

static void test_server_cert_for_another_host_is_refused(void **state)
{
	struct world w = {0};

	(void)state;
	world_listen(&w, "wrong", TLS_CLIENT_CERT_REQUIRED);
	world_dial(&w, dir, "n2", "localhost");
	assert_true(spin(&w, client_closed));
	assert_int_equal(w.client.opened, 0);
	assert_int_equal(w.client.reason, KF_ETLS);
	assert_non_null(strstr(w.client.detail, "hostname mismatch"));
	assert_int_equal(w.accepted, 0);
	world_free(&w);
}

static void test_server_cert_for_another_ip_is_refused(void **state)
{
	struct world w = {0};

	(void)state;
	world_listen(&w, "wrong", TLS_CLIENT_CERT_REQUIRED);
	world_dial(&w, dir, "n2", "127.0.0.1");
	assert_true(spin(&w, client_closed));
	assert_int_equal(w.client.opened, 0);
	assert_int_equal(w.client.reason, KF_ETLS);
	assert_non_null(strstr(w.client.detail, "IP address mismatch"));
	world_free(&w);
}

static void test_tls12_only_client_is_refused(void **state)
{
	struct world w = {0};
	struct child ch;
	char ca[300], crt[300], key[300];
	const char *args[] = {"-tls1_2",
			      "-CAfile", certs_path(ca, sizeof(ca), dir, "ca", "crt"),
			      "-cert", certs_path(crt, sizeof(crt), dir, "n2", "crt"),
			      "-key", certs_path(key, sizeof(key), dir, "n2", "key")};

	(void)state;
	world_listen(&w, "n1", TLS_CLIENT_CERT_REQUIRED);
	child_start(&ch, &w, args, sizeof(args) / sizeof(args[0]));
	assert_true(spin(&w, refused));
	child_stop(&ch);
	assert_int_equal(w.accepted, 0);
	assert_int_equal(w.refuse_reason, KF_ETLS);
	assert_non_null(strstr(w.refuse_detail, "unsupported protocol"));
	world_free(&w);
}

static void test_oversized_frame_closes_with_etoobig(void **state)
{
	struct world w = {0};
	static uint8_t big[1001];

	(void)state;
	w.sopts.max_frame = 1000;
	world_listen(&w, "n1", TLS_CLIENT_CERT_REQUIRED);
	world_dial(&w, dir, "n2", "127.0.0.1");
	assert_true(spin(&w, client_open));
	assert_int_equal(net_conn_send(w.client.conn, big, sizeof(big)), 0);
	assert_true(spin(&w, both_closed));
	assert_int_equal(w.server.reason, KF_ETOOBIG);
	assert_int_equal(w.server.frames, 0);
	assert_int_equal(w.client.reason, 0);
	world_free(&w);
}

static void test_send_refuses_empty_and_oversized_frames(void **state)
{
	struct world w = {0};
	static uint8_t big[1001];

	(void)state;
	w.copts.max_frame = 1000;
	world_listen(&w, "n1", TLS_CLIENT_CERT_REQUIRED);
	world_dial(&w, dir, "n2", "127.0.0.1");
	assert_int_equal(net_conn_send(w.client.conn, big, 1), KF_ESTATE); /* not open yet */
	assert_true(spin(&w, client_open));
	assert_int_equal(net_conn_send(w.client.conn, big, 0), KF_EPROTO);
	assert_int_equal(net_conn_send(w.client.conn, big, sizeof(big)), KF_ETOOBIG);
	assert_int_equal(net_conn_send(w.client.conn, big, 1000), 0);
	world_free(&w);
}

static void test_zero_length_frame_closes_with_eproto(void **state)
{
	struct world w = {0};
	struct child ch;
	char ca[300], crt[300], key[300];
	const char *args[] = {"-quiet",
			      "-CAfile", certs_path(ca, sizeof(ca), dir, "ca", "crt"),
			      "-cert", certs_path(crt, sizeof(crt), dir, "n2", "crt"),
			      "-key", certs_path(key, sizeof(key), dir, "n2", "key")};
	static const uint8_t empty_frame[4] = {0, 0, 0, 0};

	(void)state;
	world_listen(&w, "n1", TLS_CLIENT_CERT_REQUIRED);
	child_start(&ch, &w, args, sizeof(args) / sizeof(args[0]));
	assert_int_equal(write(ch.in, empty_frame, sizeof(empty_frame)), (ssize_t)sizeof(empty_frame));
	assert_true(spin(&w, server_closed));
	child_stop(&ch);
	assert_int_equal(w.accepted, 1);
	assert_string_equal(w.server.peer.cn, "n2");
	assert_int_equal(w.server.reason, KF_EPROTO);
	assert_int_equal(w.server.frames, 0);
	world_free(&w);
}

static void test_connect_to_a_closed_port_fails_with_econnrefused(void **state)
{
	struct world w = {0};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	char hp[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct net_dial_opts d;

	(void)state;
	/* A port that was free a moment ago: bound, then closed without listening. */
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	snprintf(hp, sizeof(hp), "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
	assert_int_equal(loop_new(&w.loop), 0);
	w.cctx = ctx_make(dir, "n2", false, 0);
	d = (struct net_dial_opts){w.loop, hp, w.cctx, NULL, &side_cbs, &w.client};
	assert_int_equal(net_connect(&d, &w.client.conn), 0);
	assert_int_equal(w.client.closed, 0); /* never from inside net_connect */
	assert_true(spin(&w, client_closed));
	assert_int_equal(w.client.opened, 0);
	assert_int_equal(w.client.reason, -ECONNREFUSED);
	assert_non_null(strstr(w.client.detail, "refused"));
	world_free(&w);
}

static void test_bad_addresses_and_busy_ports_are_refused(void **state)
{
	struct world w = {0};
	struct net_listener *again;

	(void)state;
	world_listen(&w, "n1", TLS_CLIENT_CERT_REQUIRED);
	struct net_listen_opts lo = {w.loop, w.addr, w.sctx, NULL, on_accept, NULL, &w};
	struct net_dial_opts d = {w.loop, w.addr, w.sctx, NULL, &side_cbs, &w.client};

	assert_int_equal(net_listen(&lo, &again), -EADDRINUSE);
	assert_null(again);
	static const char *const bad[] = {"127.0.0.1", "127.0.0.1:", "127.0.0.1:99999",
					  "127.0.0.1:80x", "host.example:80", "::1:80", ":80"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lo.addr = bad[i];
		assert_int_equal(net_listen(&lo, &again), KF_EPARSE);
		assert_null(again);
	}
	assert_int_equal(net_connect(&d, &w.client.conn), KF_ECONFIG);
	assert_null(w.client.conn);
	world_free(&w);
}

static void test_close_inside_the_frame_callback_is_safe(void **state)
{
	struct world w = {0};

	(void)state;
	w.server.mode = FRAME_CLOSE;
	w.client.to_send = 20;
	world_listen(&w, "n1", TLS_CLIENT_CERT_REQUIRED);
	world_dial(&w, dir, "n2", "127.0.0.1");
	assert_true(spin(&w, client_closed));
	assert_int_equal(w.client.sent, 20);
	assert_int_equal(w.server.frames, 1); /* nothing after close */
	assert_int_equal(w.server.closed, 0); /* no close callback after net_conn_close */
	assert_int_equal(w.client.reason, 0);
	world_free(&w);
}

static bool flood_drained(struct world *w)
{
	return (w->client.writable && w->server.frames == w->client.sent) || w->client.closed;
}

static void test_send_queue_cap_refuses_then_signals_writable(void **state)
{
	struct world w = {0};
	size_t cap = 256 * 1024;

	(void)state;
	w.copts.max_out = cap;
	w.copts.max_frame = 70000; /* the default (4 MiB) would raise max_out to hold one */
	w.client.flood = true;
	world_listen(&w, "n1", TLS_CLIENT_CERT_REQUIRED);
	world_dial(&w, dir, "n2", "127.0.0.1");
	assert_true(spin(&w, flood_drained));
	/* Refused with the queue under the cap and the next frame over it. */
	assert_true(w.client.refused_pending <= cap);
	assert_true(w.client.refused_pending + 4 + w.client.refused_len > cap);
	assert_true(w.client.sent > 1);
	assert_int_equal(w.client.writable, 1);
	assert_int_equal(w.client.send_errors, 0);
	assert_int_equal(w.server.frames, w.client.sent);
	assert_int_equal(w.server.bad_frames, 0);
	world_free(&w);
}

static void test_handshake_timeout_drops_a_silent_peer(void **state)
{
	struct world w = {0};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint64_t start;

	(void)state;
	w.sopts.handshake_ms = 200;
	world_listen(&w, "n1", TLS_CLIENT_CERT_REQUIRED);
	sa.sin_port = htons(net_listener_port(w.ls));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	start = loop_now_ms();
	assert_true(spin(&w, refused));
	assert_true(loop_now_ms() - start >= 150);
	assert_int_equal(w.refuse_reason, -ETIMEDOUT);
	assert_int_equal(w.accepted, 0);
	close(fd);
	world_free(&w);
}

static void test_close_flushed_delivers_the_last_frame(void **state)
{
	struct world w = {0};

	(void)state;
	w.server.mode = FRAME_REPLY_FLUSH;
	w.client.to_send = 1;
	world_listen(&w, "n1", TLS_CLIENT_CERT_REQUIRED);
	world_dial(&w, dir, "n2", "127.0.0.1");
	assert_true(spin(&w, both_closed));
	assert_int_equal(w.client.frames, 1);
	assert_int_equal(w.client.bad_frames, 0);
	assert_int_equal(w.client.reason, 0);
	assert_int_equal(w.server.reason, 0);
	world_free(&w);
}

/* ---- caps and limits set by the listener's user ---- */

struct capped {
	struct world w;
	struct net_conn *accepted[4];
	int naccepted;
	struct side clients[4], servers[4];
	size_t lowered;               /* the max frame given to accepted connections, 0: none */
};

static void capped_accept(void *arg, struct net_conn *c)
{
	struct capped *k = arg;

	assert_true(k->naccepted < 4);
	if (k->lowered)
		net_conn_set_max_frame(c, k->lowered);
	net_conn_start(c, &side_cbs, &k->servers[k->naccepted]);
	k->accepted[k->naccepted++] = c;
}

static void capped_refuse(void *arg, const char *peer, int reason, const char *detail)
{
	on_refuse(&((struct capped *)arg)->w, peer, reason, detail);
}

static void capped_listen(struct capped *k)
{

	assert_int_equal(loop_new(&k->w.loop), 0);
	k->w.sctx = ctx_make(dir, "n1", true, TLS_CLIENT_CERT_OPTIONAL);
	k->w.cctx = ctx_make(dir, NULL, false, 0);
	struct net_listen_opts lo = {NULL, "127.0.0.1:0", NULL, &k->w.sopts, capped_accept,
				     capped_refuse, k};

	lo.loop = k->w.loop;
	lo.tls = k->w.sctx;
	assert_int_equal(net_listen(&lo, &k->w.ls), 0);
}

static void capped_dial(struct capped *k, int i)
{
	char hp[80];

	snprintf(hp, sizeof(hp), "127.0.0.1:%u", (unsigned)net_listener_port(k->w.ls));
	struct net_dial_opts d = {k->w.loop, hp, k->w.cctx, NULL, &side_cbs, &k->clients[i]};

	assert_int_equal(net_connect(&d, &k->clients[i].conn), 0);
}

static void capped_free(struct capped *k)
{
	for (int i = 0; i < 4; i++)
		if (!k->clients[i].closed)
			net_conn_close(k->clients[i].conn);
	for (int i = 0; i < k->naccepted; i++)
		if (!k->servers[i].closed)
			net_conn_close(k->accepted[i]);
	k->naccepted = 0;
	world_free(&k->w);
}

static bool two_accepted_one_refused(struct world *w)
{
	struct capped *k = (struct capped *)w;

	return k->naccepted == 2 && w->refused == 1 && k->clients[2].closed;
}

static bool third_accepted(struct world *w)
{
	return ((struct capped *)w)->naccepted == 3;
}

static bool first_client_closed(struct world *w)
{
	return ((struct capped *)w)->servers[0].closed > 0;
}

static void test_connections_over_the_per_address_cap_are_refused_at_accept(void **state)
{
	struct capped k = {0};

	(void)state;
	k.w.sopts.max_conns_per_addr = 2;
	capped_listen(&k);
	capped_dial(&k, 0);
	capped_dial(&k, 1);
	capped_dial(&k, 2);
	assert_true(spin(&k.w, two_accepted_one_refused));
	assert_int_equal(k.w.refuse_reason, KF_ETOOBIG);
	assert_non_null(strstr(k.w.refuse_detail, "max_conns_per_addr"));
	/* One goes away: its place is free again. */
	net_conn_close(k.clients[0].conn);
	k.clients[0].closed = 1;
	assert_true(spin(&k.w, first_client_closed));
	capped_dial(&k, 3);
	assert_true(spin(&k.w, third_accepted));
	assert_int_equal(k.w.refused, 1);
	capped_free(&k);
}

static void test_connections_over_the_listener_cap_are_refused(void **state)
{
	struct capped k = {0};

	(void)state;
	k.w.sopts.max_conns = 2;
	capped_listen(&k);
	capped_dial(&k, 0);
	capped_dial(&k, 1);
	capped_dial(&k, 2);
	assert_true(spin(&k.w, two_accepted_one_refused));
	assert_non_null(strstr(k.w.refuse_detail, "max_conns"));
	capped_free(&k);
}

static bool client0_open(struct world *w)
{
	return ((struct capped *)w)->clients[0].opened > 0;
}

static void test_a_lowered_max_frame_cuts_off_the_peer_at_the_header(void **state)
{
	struct capped k = {0};
	static uint8_t frame[200];

	(void)state;
	k.lowered = 100;
	capped_listen(&k);
	capped_dial(&k, 0);
	assert_true(spin(&k.w, client0_open));
	assert_int_equal(net_conn_send(k.clients[0].conn, frame, 100), 0);
	assert_int_equal(net_conn_send(k.clients[0].conn, frame, 101), 0);
	assert_true(spin(&k.w, first_client_closed));
	assert_int_equal(k.servers[0].frames, 1);
	assert_int_equal(k.servers[0].reason, KF_ETOOBIG);
	capped_free(&k);
}

/* Loopback is 127.0.0.0/8, ::1 (also v4-mapped) and the name localhost; nothing else. */
static void test_loopback_addresses(void **state)
{
	static const char *const yes[] = {
		"127.0.0.1", "127.0.0.1:2379", "127.255.0.9:6379", "localhost", "LOCALHOST:26379",
		"::1", "[::1]", "[::1]:2379", "[::ffff:127.0.0.2]:1",
	};
	static const char *const no[] = {
		"192.0.2.1", "198.51.100.1:26379", "10.0.0.1:2379", "[2001:db8::1]:2379",
		"2001:db8::1", "etcd.example:2379", "localhost.example", "128.0.0.1",
		"0.0.0.0:1", "[::]:1", "", ":2379", "[::1", "[::1]x", "127.1",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!net_addr_is_loopback(yes[i]))
			fail_msg("%s should be loopback", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (net_addr_is_loopback(no[i]))
			fail_msg("%s should not be loopback", no[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_of_many_frames_of_random_sizes),
		cmocka_unit_test(test_peer_identity_is_seen_on_both_sides),
		cmocka_unit_test(test_client_cert_from_another_ca_is_refused),
		cmocka_unit_test(test_missing_client_cert_is_refused_when_required),
		cmocka_unit_test(test_missing_client_cert_is_accepted_without_identity_when_optional),
		cmocka_unit_test(test_server_cert_for_another_host_is_refused),
		cmocka_unit_test(test_server_cert_for_another_ip_is_refused),
		cmocka_unit_test(test_tls12_only_client_is_refused),
		cmocka_unit_test(test_oversized_frame_closes_with_etoobig),
		cmocka_unit_test(test_send_refuses_empty_and_oversized_frames),
		cmocka_unit_test(test_zero_length_frame_closes_with_eproto),
		cmocka_unit_test(test_connect_to_a_closed_port_fails_with_econnrefused),
		cmocka_unit_test(test_bad_addresses_and_busy_ports_are_refused),
		cmocka_unit_test(test_close_inside_the_frame_callback_is_safe),
		cmocka_unit_test(test_send_queue_cap_refuses_then_signals_writable),
		cmocka_unit_test(test_handshake_timeout_drops_a_silent_peer),
		cmocka_unit_test(test_close_flushed_delivers_the_last_frame),
		cmocka_unit_test(test_connections_over_the_per_address_cap_are_refused_at_accept),
		cmocka_unit_test(test_connections_over_the_listener_cap_are_refused),
		cmocka_unit_test(test_a_lowered_max_frame_cuts_off_the_peer_at_the_header),
		cmocka_unit_test(test_loopback_addresses),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
