/*
 * Unit tests of cluster/repl.c, the follower's side of the link to its
 * leader: a message the follower takes keeps the link; one it has no
 * handler for is a protocol error that drops the link, and it dials again.
 * A real follower (store, writer, election on a one-member etcd started by
 * tests/cluster/etcd.sh, run from the repo root) follows a fake leader
 * played by the test: etcd names "L" as leader at the test's listener, the
 * follower dials it and says Hello, and the test sends what it likes. A
 * watchdog child stops etcd if this process dies first.
 */
#include "cluster/etcd.h"
#include "cluster/election.h"
#include "cluster/meta.h"
#include "cluster/repl.h"
#include "cluster/rpc.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "lib/net.h"
#include "lib/tls.h"
#include "proto/frame.h"
#include "storage/writer.h"
#include "tests/unit/support/watchdog.h"
#include "tests/unit/support/certs.h"
#include "tests/unit/support/tmpstore.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#define ETCD_SH "tests/cluster/etcd.sh"
#define CLUSTER "t-repl"
#define WAIT_MAX_MS 15000

static struct {
	char dir[64];   /* etcd's data and the certificates */
	char urls[256];
	struct watchdog wd;
} cl;

/* ---- etcd and certificates, once for the file ---- */

static int group_setup(void **state)
{
	static const char *const specs[] = {"L:kefu-node", "f1:kefu-node"};
	char cmd[256];
	FILE *f;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	snprintf(cl.dir, sizeof(cl.dir), "/tmp/kefu-repl.XXXXXX");
	if (!mkdtemp(cl.dir))
		return -1;
	if (certs_make(cl.dir, specs, 2) != 0)
		return -1;
	watchdog_start(&cl.wd, ETCD_SH, cl.dir);
	snprintf(cmd, sizeof(cmd), ETCD_SH " up --members 1 --dir %s", cl.dir);
	f = popen(cmd, "r");
	if (!f || !fgets(cl.urls, sizeof(cl.urls), f) || pclose(f) != 0)
		return -1;
	cl.urls[strcspn(cl.urls, "\n")] = '\0';
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), ETCD_SH " down --dir %s", cl.dir);
	if (system(cmd) != 0)
		return -1;
	watchdog_finish(&cl.wd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", cl.dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- per test: a follower, and the fake leader it dials ---- */

struct fx {
	struct loop *loop;
	struct loop_alarm *guard;
	bool timed_out;

	/* the follower */
	struct tmpstore ts;
	struct loop_wake *wake;
	struct repl_storage sto;
	struct etcd *etcd;
	struct election *el;
	struct tls_ctx *cli_tls;
	struct repl *r;

	/* the fake leader */
	struct tls_ctx *srv_tls;
	struct net_listener *lis;
	struct net_conn *conn;   /* the follower's link, as the leader sees it */
	uint64_t epoch;          /* the leader key's create revision */
	unsigned hellos, closes, frames;
	bool put_done;
	int put_err;
};

static void on_guard(void *arg)
{
	struct fx *f = arg;

	f->timed_out = true;
	loop_stop(f->loop);
}

static void on_pause(void *arg)
{
	loop_stop(arg);
}

/* Run the loop for ms: nothing blocks it, so this is a sleep that serves. */
static void pause_ms(struct fx *f, uint64_t ms)
{
	struct loop_alarm *a = loop_alarm_new(f->loop, on_pause, f->loop);

	loop_alarm_set(a, ms);
	loop_run(f->loop);
	loop_alarm_free(a);
}

/* Run the loop until *n reaches want (callbacks stop the loop on change). */
static void await_count(struct fx *f, const unsigned *n, unsigned want)
{
	loop_alarm_set(f->guard, WAIT_MAX_MS);
	while (*n < want && !f->timed_out)
		loop_run(f->loop);
	loop_alarm_cancel(f->guard);
	assert_false(f->timed_out);
}

static void on_writer_notify(void *arg)
{
	loop_wake(arg);
}

static void on_writer_reap(void *arg)
{
	struct fx *f = arg;

	if (f->sto.writer)
		writer_reap(f->sto.writer);
}

static int no_reinstall(void *arg, const char *snapshot_file)
{
	(void)arg;
	(void)snapshot_file;
	return KF_ESTATE; /* the fake leader sends no snapshot */
}

static void on_election(void *arg)
{
	struct fx *f = arg;

	if (f->r)
		repl_on_election(f->r);
}

static void leader_frame(void *arg, struct net_conn *c, const uint8_t *data, size_t len)
{
	struct fx *f = arg;
	Kefu__Envelope *e;

	(void)c;
	assert_int_equal(frame_envelope_decode(data, len, &e), 0);
	f->frames++;
	if (e->body_case == KEFU__ENVELOPE__BODY_HELLO) {
		assert_string_equal(e->hello->node, "f1");
		f->hellos++;
		loop_stop(f->loop);
	}
	frame_envelope_free(e);
}

static void leader_close(void *arg, struct net_conn *c, int reason, const char *detail)
{
	struct fx *f = arg;

	(void)reason;
	(void)detail;
	if (c == f->conn)
		f->conn = NULL;
	f->closes++;
	loop_stop(f->loop);
}

static void leader_accept(void *arg, struct net_conn *c)
{
	static const struct net_conn_cbs cbs = {NULL, leader_frame, NULL, leader_close};
	struct fx *f = arg;

	if (f->conn) /* one link at a time: an older one is done with */
		net_conn_close(f->conn);
	f->conn = c;
	net_conn_start(c, &cbs, f);
}

static void on_put(void *arg, int err, const struct etcd_resp *r)
{
	struct fx *f = arg;

	f->put_err = err;
	if (!err && r->revision > 0)
		f->epoch = (uint64_t)r->revision;
	f->put_done = true;
	loop_stop(f->loop);
}

static void etcd_put_wait(struct fx *f, const char *key, const char *val)
{
	f->put_done = false;
	assert_int_equal(etcd_put(f->etcd, key, val, strlen(val), 0, on_put, f), 0);
	loop_alarm_set(f->guard, WAIT_MAX_MS);
	while (!f->put_done && !f->timed_out)
		loop_run(f->loop);
	loop_alarm_cancel(f->guard);
	assert_false(f->timed_out);
	assert_int_equal(f->put_err, 0);
}

static struct tls_ctx *tls_for(const char *name, bool server)
{
	char ca[128], crt[128], key[128];
	struct tls_opts o = {certs_path(ca, sizeof(ca), cl.dir, "ca", "crt"),
			     certs_path(crt, sizeof(crt), cl.dir, name, "crt"),
			     certs_path(key, sizeof(key), cl.dir, name, "key"), server,
			     TLS_CLIENT_CERT_REQUIRED, NULL};
	struct tls_ctx *t;

	assert_int_equal(tls_ctx_new(&o, &t, NULL, 0), 0);
	return t;
}

/* The certificate the fake leader shows: "L" unless a test plays an impostor. */
static const char *leader_cert = "L";

/*
 * The fake leader listens, etcd names it leader "L" of CLUSTER (a leader
 * key without a lease: the follower never campaigns against it), and the
 * follower f1 starts: it dials L and says Hello (when the fake holds L's
 * certificate).
 */
static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct etcd_opts eo = {.endpoints = cl.urls};
	struct election_opts elo = {.cluster = CLUSTER, .self = "f1", .addr = "127.0.0.1:1",
				    .lease_ttl_ms = 2000, .changed = on_election};
	struct writer_opts wo = {.notify = on_writer_notify};
	struct repl_opts ro = {.self = "f1", .sync_timeout_ms = 5000, .log_retain = 1000,
			       .standbys = 1};
	struct meta_member m = {.name = "L", .role = "leader"};
	struct net_listen_opts lo = {.addr = "127.0.0.1:0", .accept = leader_accept};
	char val[META_VALUE_MAX];

	assert_non_null(f);
	assert_int_equal(loop_new(&f->loop), 0);
	f->guard = loop_alarm_new(f->loop, on_guard, f);
	f->srv_tls = tls_for(leader_cert, true);
	f->cli_tls = tls_for("f1", false);
	lo.loop = f->loop;
	lo.tls = f->srv_tls;
	lo.arg = f;
	assert_int_equal(net_listen(&lo, &f->lis), 0);
	eo.loop = f->loop;
	assert_int_equal(etcd_new(&eo, &f->etcd), 0);
	snprintf(m.addr, sizeof(m.addr), "127.0.0.1:%u", (unsigned)net_listener_port(f->lis));
	assert_true(meta_member_encode(&m, val, sizeof(val)) > 0);
	etcd_put_wait(f, "/kefu/" CLUSTER "/members/L", val);
	etcd_put_wait(f, "/kefu/" CLUSTER "/leader", "L");
	assert_true(f->epoch > 0);

	assert_int_equal(tmpstore_open(&f->ts, "repl"), 0);
	assert_int_equal(loop_wake_new(f->loop, on_writer_reap, f, &f->wake), 0);
	f->sto.store = f->ts.s;
	wo.store = f->ts.s;
	wo.notify_arg = f->wake;
	assert_int_equal(writer_new(&wo, &f->sto.writer), 0);
	f->sto.reinstall = no_reinstall;
	f->sto.arg = f;
	elo.loop = f->loop;
	elo.etcd = f->etcd;
	elo.arg = f;
	assert_int_equal(election_new(&elo, &f->el), 0);
	ro.data_dir = f->ts.dir;
	ro.loop = f->loop;
	ro.election = f->el;
	ro.client_tls = f->cli_tls;
	ro.storage = &f->sto;
	assert_int_equal(repl_new(&ro, &f->r), 0);
	*state = f;
	if (strcmp(leader_cert, "L") == 0)
		await_count(f, &f->hellos, 1);
	return 0;
}

/* As setup, with another node's certificate (f1's) at L's address. */
static int setup_impostor(void **state)
{
	int r;

	leader_cert = "f1";
	r = setup(state);
	leader_cert = "L";
	return r;
}

static void on_deleted(void *arg, int err, const struct etcd_resp *r)
{
	struct fx *f = arg;

	(void)err;
	(void)r;
	f->put_done = true;
	loop_stop(f->loop);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	repl_free(f->r);
	f->r = NULL;
	f->put_done = false;
	if (etcd_delete(f->etcd, "/kefu/" CLUSTER "/", true, on_deleted, f) == 0) {
		loop_alarm_set(f->guard, WAIT_MAX_MS);
		while (!f->put_done && !f->timed_out)
			loop_run(f->loop);
		loop_alarm_cancel(f->guard);
	}
	etcd_free(f->etcd); /* first: it cancels the callbacks into the election */
	election_free(f->el);
	writer_free(f->sto.writer);
	loop_wake_free(f->wake);
	tmpstore_close(&f->ts);
	if (f->conn)
		net_conn_close(f->conn);
	net_listener_free(f->lis);
	loop_alarm_free(f->guard);
	loop_run(f->loop); /* let closed connections go */
	loop_free(f->loop);
	tls_ctx_free(f->srv_tls);
	tls_ctx_free(f->cli_tls);
	free(f);
	return 0;
}

static void leader_send(struct fx *f, Kefu__Envelope *e)
{
	assert_non_null(f->conn);
	assert_int_equal(env_send(f->conn, e), 0);
}

/* ---- tests ---- */

/* An Append the follower takes keeps the link: no close, no new Hello. */
static void test_known_message_keeps_the_link(void **state)
{
	struct fx *f = *state;
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__Append a = KEFU__APPEND__INIT;

	a.has_epoch = 1;
	a.epoch = f->epoch;
	e.body_case = KEFU__ENVELOPE__BODY_APPEND;
	e.append = &a;
	leader_send(f, &e);
	pause_ms(f, 1000);
	assert_int_equal(f->closes, 0);
	assert_int_equal(f->hellos, 1);
	assert_non_null(f->conn);
}

/*
 * A message no follower handler takes (here a WriteReply, then a Ping) is
 * a protocol error: the follower drops the link and dials again, saying
 * Hello on a new connection.
 */
static void test_unknown_message_drops_the_link_and_redials(void **state)
{
	struct fx *f = *state;
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__WriteReply wr = KEFU__WRITE_REPLY__INIT;
	Kefu__Ping ping = KEFU__PING__INIT;

	e.body_case = KEFU__ENVELOPE__BODY_WRITE_REPLY;
	e.write_reply = &wr;
	leader_send(f, &e);
	await_count(f, &f->closes, 1);
	await_count(f, &f->hellos, 2);
	assert_non_null(f->conn);

	e = (Kefu__Envelope)KEFU__ENVELOPE__INIT;
	e.body_case = KEFU__ENVELOPE__BODY_PING;
	e.ping = &ping;
	leader_send(f, &e);
	await_count(f, &f->closes, 2);
	await_count(f, &f->hellos, 3);
}

/*
 * At the address etcd gives for leader L answers a server whose node
 * certificate names f1: the follower hangs up before its Hello, each time
 * it dials, and never follows it.
 */
static void test_follower_refuses_a_leader_with_another_name(void **state)
{
	struct fx *f = *state;

	await_count(f, &f->closes, 1);
	pause_ms(f, 1500);
	assert_int_equal(f->hellos, 0);
	assert_int_equal(f->frames, 0);
}

/* An election without its loop, client or callback is refused, not started. */
static void test_election_new_refuses_a_missing_option(void **state)
{
	struct election_opts o = {.cluster = CLUSTER, .self = "f1", .addr = "127.0.0.1:1",
				  .lease_ttl_ms = 2000, .changed = on_election};
	struct election *e = (struct election *)&e;

	(void)state;
	assert_int_equal(election_new(&o, &e), -EINVAL);
	assert_null(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_election_new_refuses_a_missing_option),
		cmocka_unit_test_setup_teardown(test_known_message_keeps_the_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_message_drops_the_link_and_redials,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_follower_refuses_a_leader_with_another_name,
						setup_impostor, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
