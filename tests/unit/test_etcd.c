/*
 * The etcd client against a real 3-member etcd on loopback, started by
 * tests/cluster/etcd.sh (run from the repo root), and its pure parsers.
 * A watchdog child stops the members if this process dies before its
 * teardown runs.
 */
#include "cluster/etcd.h"
#include "cluster/etcd_wire.h"
#include "lib/err.h"
#include "lib/loop.h"

#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/unit/support/watchdog.h"

#define ETCD_SH "tests/cluster/etcd.sh"
#define WAIT_MAX_MS 10000

static struct {
	char dir[64];
	char urls[512];   /* all three, comma-separated */
	char url[3][128]; /* each */
	struct watchdog wd;
} cl;

/* ---- the cluster ---- */

/* Run "etcd.sh <what> --dir <dir>"; returns system()'s status. */
static int etcd_sh(const char *what)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), ETCD_SH " %s --dir %s", what, cl.dir);
	return system(cmd);
}

static int cluster_up(void **state)
{
	char cmd[256];
	FILE *f;
	const char *p;
	size_t n = 0;

	(void)state;
	snprintf(cl.dir, sizeof(cl.dir), "/tmp/kefu-etcd.XXXXXX");
	if (!mkdtemp(cl.dir))
		return -1;
	watchdog_start(&cl.wd, ETCD_SH, cl.dir);
	snprintf(cmd, sizeof(cmd), ETCD_SH " up --members 3 --dir %s", cl.dir);
	f = popen(cmd, "r");
	if (!f || !fgets(cl.urls, sizeof(cl.urls), f) || pclose(f) != 0)
		return -1;
	cl.urls[strcspn(cl.urls, "\n")] = '\0';
	for (p = cl.urls; n < 3; p += strcspn(p, ",") + 1) {
		snprintf(cl.url[n++], sizeof(cl.url[0]), "%.*s", (int)strcspn(p, ","), p);
		if (!p[strcspn(p, ",")])
			break;
	}
	return n == 3 ? 0 : -1;
}

static int cluster_down(void **state)
{
	char cmd[128];

	(void)state;
	etcd_sh("down");
	watchdog_finish(&cl.wd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", cl.dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- per test: a loop and a client on all three members ---- */

struct fx {
	struct loop *loop;
	struct etcd *e;
	struct loop_alarm *guard;
	bool timed_out;
};

/* What a callback saw; the response itself is gone once it returns. */
struct got {
	struct fx *f;
	bool done;
	int err;
	int64_t revision, count, deleted, lease_id, ttl;
	bool succeeded, healthy;
	size_t n_kvs, n_results;
	char keys[8][64], vals[8][64];
	int64_t create_revision;
	enum etcd_op_type result_type;
	char result_val[64];
};

static void on_guard(void *arg)
{
	struct fx *f = arg;

	f->timed_out = true;
	loop_stop(f->loop);
}

static struct fx *fx_new(const char *endpoints, uint32_t timeout_ms)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct etcd_opts o = {.endpoints = endpoints, .timeout_ms = timeout_ms};

	assert_non_null(f);
	assert_int_equal(loop_new(&f->loop), 0);
	o.loop = f->loop;
	assert_int_equal(etcd_new(&o, &f->e), 0);
	f->guard = loop_alarm_new(f->loop, on_guard, f);
	return f;
}

static void fx_free(struct fx *f)
{
	etcd_free(f->e);
	loop_alarm_free(f->guard);
	loop_free(f->loop);
	free(f);
}

static int setup(void **state)
{
	*state = fx_new(cl.urls, 0);
	return 0;
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

/* Run the loop until *done (set by a callback that also stops the loop). */
static void await(struct fx *f, bool *done)
{
	loop_alarm_set(f->guard, WAIT_MAX_MS);
	while (!*done && !f->timed_out)
		loop_run(f->loop);
	loop_alarm_cancel(f->guard);
	assert_false(f->timed_out);
}

static void on_stop(void *arg)
{
	loop_stop(arg);
}

/* Let the loop run for ms (nothing blocks it, so this is a sleep). */
static void pause_ms(struct fx *f, uint64_t ms)
{
	struct loop_alarm *a = loop_alarm_new(f->loop, on_stop, f->loop);

	loop_alarm_set(a, ms);
	loop_run(f->loop);
	loop_alarm_free(a);
}

static void copy_str(char *dst, size_t cap, const char *src, size_t len)
{
	snprintf(dst, cap, "%.*s", (int)len, src);
}

static void on_resp(void *arg, int err, const struct etcd_resp *r)
{
	struct got *g = arg;

	g->done = true;
	g->err = err;
	loop_stop(g->f->loop);
	if (!r)
		return;
	g->revision = r->revision;
	g->count = r->count;
	g->deleted = r->deleted;
	g->lease_id = r->lease_id;
	g->ttl = r->ttl;
	g->succeeded = r->succeeded;
	g->healthy = r->healthy;
	g->n_kvs = r->n_kvs;
	g->n_results = r->n_results;
	for (size_t i = 0; i < r->n_kvs && i < 8; i++) {
		copy_str(g->keys[i], sizeof(g->keys[i]), r->kvs[i].key, r->kvs[i].key_len);
		copy_str(g->vals[i], sizeof(g->vals[i]), r->kvs[i].value, r->kvs[i].value_len);
	}
	if (r->n_kvs)
		g->create_revision = r->kvs[0].create_revision;
	if (r->n_results) {
		g->result_type = r->results[0].type;
		if (r->results[0].n_kvs)
			copy_str(g->result_val, sizeof(g->result_val), r->results[0].kvs[0].value,
				 r->results[0].kvs[0].value_len);
	}
}

/* Synchronous wrappers: queue, wait, return what the callback saw. */
#define CALL(f, g, expr)                          \
	do {                                      \
		memset((g), 0, sizeof(*(g)));     \
		(g)->f = (f);                     \
		assert_int_equal((expr), 0);      \
		await((f), &(g)->done);           \
	} while (0)

static struct got put(struct fx *f, const char *key, const char *val, int64_t lease)
{
	struct got g;

	CALL(f, &g, etcd_put(f->e, key, val, strlen(val), lease, on_resp, &g));
	assert_int_equal(g.err, 0);
	return g;
}

static struct got get(struct fx *f, const char *key, bool prefix)
{
	struct got g;

	CALL(f, &g, etcd_get(f->e, key, prefix, on_resp, &g));
	assert_int_equal(g.err, 0);
	return g;
}

static int64_t grant(struct fx *f, int64_t ttl)
{
	struct got g;

	CALL(f, &g, etcd_lease_grant(f->e, ttl, on_resp, &g));
	assert_int_equal(g.err, 0);
	assert_true(g.lease_id > 0);
	assert_int_equal(g.ttl, ttl);
	return g.lease_id;
}

/* The campaign: create `key` = name on lease unless it exists; read it otherwise. */
static struct got campaign(struct fx *f, const char *key, const char *name, int64_t lease)
{
	struct etcd_cmp cmp = {.key = key, .target = ETCD_TARGET_CREATE, .result = ETCD_CMP_EQUAL};
	struct etcd_op win = {.type = ETCD_OP_PUT, .key = key, .value = name,
			      .value_len = strlen(name), .lease = lease};
	struct etcd_op look = {.type = ETCD_OP_RANGE, .key = key};
	struct etcd_txn t = {&cmp, 1, &win, 1, &look, 1};
	struct got g;

	CALL(f, &g, etcd_txn(f->e, &t, on_resp, &g));
	assert_int_equal(g.err, 0);
	return g;
}

/* ---- pure parsers ---- */

static const char two_lines[] =
	"{\"result\":{\"header\":{\"revision\":\"3\"},\"created\":true}}\n"
	"\r\n"
	"{\"result\":{\"header\":{\"revision\":\"4\"},\"events\":[{\"kv\":{\"key\":\"Zm9v\","
	"\"mod_revision\":\"4\",\"value\":\"YmFy\"}},{\"type\":\"DELETE\",\"kv\":{\"key\":"
	"\"Zm9v\",\"mod_revision\":\"5\"}}]}}\r\n";

static void test_lines_split_across_chunk_boundaries(void **state)
{
	(void)state;
	for (size_t step = 1; step <= 13; step++) {
		struct etcd_wire_lines s;
		const char *line;
		size_t len, n = 0;
		struct etcd_watch_msg m[2];

		etcd_wire_lines_init(&s, 1024);
		for (size_t off = 0; off < sizeof(two_lines) - 1; off += step) {
			size_t take = sizeof(two_lines) - 1 - off < step ? sizeof(two_lines) - 1 - off : step;

			assert_int_equal(etcd_wire_lines_feed(&s, two_lines + off, take), 0);
			while (etcd_wire_lines_next(&s, &line, &len) == 1) {
				assert_true(n < 2);
				assert_int_equal(etcd_wire_watch_parse(line, len, &m[n]), 0);
				n++;
			}
		}
		assert_int_equal(n, 2);
		assert_true(m[0].created);
		assert_int_equal(m[0].revision, 3);
		assert_int_equal(m[1].n_events, 2);
		assert_int_equal(m[1].events[0].type, ETCD_EVENT_PUT);
		assert_string_equal(m[1].events[0].kv.key, "foo");
		assert_string_equal(m[1].events[0].kv.value, "bar");
		assert_int_equal(m[1].events[1].type, ETCD_EVENT_DELETE);
		assert_int_equal(m[1].events[1].kv.mod_revision, 5);
		etcd_wire_watch_release(&m[0]);
		etcd_wire_watch_release(&m[1]);
		etcd_wire_lines_release(&s);
	}
}

static void test_lines_refuse_a_line_over_the_cap(void **state)
{
	struct etcd_wire_lines s;

	(void)state;
	etcd_wire_lines_init(&s, 16);
	assert_int_equal(etcd_wire_lines_feed(&s, "0123456789", 10), 0);
	assert_int_equal(etcd_wire_lines_feed(&s, "0123456789", 10), KF_ETOOBIG);
	etcd_wire_lines_release(&s);
}

static void test_watch_line_of_compaction_is_ecompacted(void **state)
{
	static const char line[] = "{\"result\":{\"header\":{\"raft_term\":\"2\"},"
				   "\"canceled\":true,\"compact_revision\":\"4\"}}";
	struct etcd_watch_msg m;

	(void)state;
	assert_int_equal(etcd_wire_watch_parse(line, strlen(line), &m), KF_ECOMPACTED);
	assert_int_equal(m.compact_revision, 4);
	etcd_wire_watch_release(&m);
}

static void test_failed_txn_answer_has_no_succeeded(void **state)
{
	static const char body[] =
		"{\"header\":{\"revision\":\"2\"},\"responses\":[{\"response_range\":{\"header\":"
		"{\"revision\":\"2\"},\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"2\","
		"\"mod_revision\":\"2\",\"version\":\"1\",\"value\":\"YmFy\"}],\"count\":\"1\"}}]}";
	struct etcd_resp r;

	(void)state;
	assert_int_equal(etcd_wire_resp_parse(ETCD_WIRE_PLAIN, body, strlen(body), &r), 0);
	assert_false(r.succeeded);
	assert_int_equal(r.revision, 2);
	assert_int_equal(r.n_results, 1);
	assert_int_equal(r.results[0].type, ETCD_OP_RANGE);
	assert_string_equal(r.results[0].kvs[0].value, "bar");
	etcd_wire_resp_release(&r);
}

static void test_keepalive_answer_without_ttl_is_enotfound(void **state)
{
	static const char body[] = "{\"result\":{\"header\":{\"revision\":\"3\"},\"ID\":\"7\"}}\n";
	struct etcd_resp r;

	(void)state;
	assert_int_equal(etcd_wire_resp_parse(ETCD_WIRE_KEEPALIVE, body, strlen(body), &r),
			 KF_ENOTFOUND);
}

static void test_error_answer_maps_grpc_code(void **state)
{
	static const char body[] = "{\"error\":\"etcdserver: requested lease not found\","
				   "\"message\":\"etcdserver: requested lease not found\",\"code\":5}";
	char msg[64];

	(void)state;
	assert_int_equal(etcd_wire_error(404, body, strlen(body), msg, sizeof(msg)), KF_ENOTFOUND);
	assert_string_equal(msg, "etcdserver: requested lease not found");
	assert_int_equal(etcd_wire_error(503, "", 0, msg, sizeof(msg)), -EIO);
}

/* ---- keys and values ---- */

static void test_put_get_delete(void **state)
{
	struct fx *f = *state;
	struct got g;
	int64_t rev;

	rev = put(f, "/t/pgd", "v1", 0).revision;
	assert_true(rev > 0);
	g = get(f, "/t/pgd", false);
	assert_int_equal(g.n_kvs, 1);
	assert_string_equal(g.vals[0], "v1");
	assert_int_equal(g.create_revision, rev);
	assert_true(g.revision >= rev);
	CALL(f, &g, etcd_delete(f->e, "/t/pgd", false, on_resp, &g));
	assert_int_equal(g.err, 0);
	assert_int_equal(g.deleted, 1);
	g = get(f, "/t/pgd", false);
	assert_int_equal(g.n_kvs, 0);
	assert_int_equal(g.count, 0);
}

static void test_get_prefix_returns_the_prefixed_keys_sorted(void **state)
{
	struct fx *f = *state;
	struct got g;

	put(f, "/t/pre/b", "2", 0);
	put(f, "/t/pre/a", "1", 0);
	put(f, "/t/pre0", "outside", 0);
	g = get(f, "/t/pre/", true);
	assert_int_equal(g.n_kvs, 2);
	assert_int_equal(g.count, 2);
	assert_string_equal(g.keys[0], "/t/pre/a");
	assert_string_equal(g.keys[1], "/t/pre/b");
	assert_string_equal(g.vals[1], "2");
	CALL(f, &g, etcd_delete(f->e, "/t/pre/", true, on_resp, &g));
	assert_int_equal(g.deleted, 2);
}

/* ---- transactions ---- */

static void test_txn_that_holds_runs_the_success_ops(void **state)
{
	struct fx *f = *state;
	struct got g = campaign(f, "/t/txn-ok", "me", 0);

	assert_true(g.succeeded);
	assert_int_equal(g.n_results, 1);
	assert_int_equal(g.result_type, ETCD_OP_PUT);
	g = get(f, "/t/txn-ok", false);
	assert_string_equal(g.vals[0], "me");
}

static void test_txn_that_fails_runs_the_failure_ops(void **state)
{
	struct fx *f = *state;
	struct etcd_cmp cmp = {.key = "/t/txn-no", .target = ETCD_TARGET_VALUE,
			       .result = ETCD_CMP_EQUAL, .value = "other", .value_len = 5};
	struct etcd_op del = {.type = ETCD_OP_DELETE, .key = "/t/txn-no"};
	struct etcd_op look = {.type = ETCD_OP_RANGE, .key = "/t/txn-no"};
	struct etcd_txn t = {&cmp, 1, &del, 1, &look, 1};
	struct got g;

	put(f, "/t/txn-no", "kept", 0);
	CALL(f, &g, etcd_txn(f->e, &t, on_resp, &g));
	assert_int_equal(g.err, 0);
	assert_false(g.succeeded);
	assert_int_equal(g.n_results, 1);
	assert_int_equal(g.result_type, ETCD_OP_RANGE);
	assert_string_equal(g.result_val, "kept");
}

/* ---- leases ---- */

/* Poll until the key is gone; returns the milliseconds it took. */
static uint64_t wait_gone(struct fx *f, const char *key)
{
	uint64_t start = loop_now_ms();

	while (get(f, key, false).n_kvs) {
		assert_true(loop_now_ms() - start < 8000);
		pause_ms(f, 100);
	}
	return loop_now_ms() - start;
}

static void test_key_on_a_lease_goes_when_the_lease_expires(void **state)
{
	struct fx *f = *state;
	int64_t lease = grant(f, 2);

	put(f, "/t/lease-expire", "x", lease);
	assert_int_equal(get(f, "/t/lease-expire", false).n_kvs, 1);
	assert_true(wait_gone(f, "/t/lease-expire") >= 1000);
}

static void test_keepalives_keep_the_key_past_the_ttl(void **state)
{
	struct fx *f = *state;
	int64_t lease = grant(f, 2);
	struct got g;

	put(f, "/t/lease-kept", "x", lease);
	for (int i = 0; i < 8; i++) {
		pause_ms(f, 500);
		CALL(f, &g, etcd_lease_keepalive(f->e, lease, on_resp, &g));
		assert_int_equal(g.err, 0);
		assert_int_equal(g.ttl, 2);
		assert_int_equal(g.lease_id, lease);
	}
	assert_int_equal(get(f, "/t/lease-kept", false).n_kvs, 1);
}

static void test_keepalive_on_a_revoked_lease_is_enotfound(void **state)
{
	struct fx *f = *state;
	int64_t lease = grant(f, 5);
	struct got g;

	put(f, "/t/lease-revoked", "x", lease);
	CALL(f, &g, etcd_lease_revoke(f->e, lease, on_resp, &g));
	assert_int_equal(g.err, 0);
	assert_int_equal(get(f, "/t/lease-revoked", false).n_kvs, 0);
	CALL(f, &g, etcd_lease_keepalive(f->e, lease, on_resp, &g));
	assert_int_equal(g.err, KF_ENOTFOUND);
	CALL(f, &g, etcd_lease_revoke(f->e, lease, on_resp, &g));
	assert_int_equal(g.err, KF_ENOTFOUND);
}

static void test_second_campaign_fails_until_the_first_lease_expires(void **state)
{
	struct fx *f = *state;
	int64_t a = grant(f, 2), b = grant(f, 10);
	uint64_t start;
	struct got g;

	g = campaign(f, "/t/leader", "a", a);
	assert_true(g.succeeded);
	assert_int_equal(get(f, "/t/leader", false).create_revision, g.revision);
	g = campaign(f, "/t/leader", "b", b);
	assert_false(g.succeeded);
	assert_string_equal(g.result_val, "a");
	start = loop_now_ms();
	while (!(g = campaign(f, "/t/leader", "b", b)).succeeded) {
		assert_true(loop_now_ms() - start < 8000);
		pause_ms(f, 100);
	}
	assert_true(loop_now_ms() - start >= 1000);
	assert_string_equal(get(f, "/t/leader", false).vals[0], "b");
}

/* ---- watches ---- */

struct seen {
	struct fx *f;
	bool created;
	int err;
	bool ended;
	bool enough; /* want events seen */
	int64_t compact_revision;
	size_t n, want;
	enum etcd_event_type type[8];
	char key[8][64];
	int64_t mod[8];
};

static void on_watch(void *arg, int err, const struct etcd_watch_msg *m)
{
	struct seen *s = arg;

	if (err) {
		s->ended = true;
		s->err = err;
		s->compact_revision = m ? m->compact_revision : 0;
		loop_stop(s->f->loop);
		return;
	}
	if (m->created) {
		s->created = true;
		loop_stop(s->f->loop);
	}
	for (size_t i = 0; i < m->n_events && s->n < 8; i++, s->n++) {
		s->type[s->n] = m->events[i].type;
		s->mod[s->n] = m->events[i].kv.mod_revision;
		copy_str(s->key[s->n], sizeof(s->key[0]), m->events[i].kv.key, m->events[i].kv.key_len);
	}
	if (s->want && s->n >= s->want) {
		s->enough = true;
		loop_stop(s->f->loop);
	}
}

static void test_watch_delivers_puts_and_deletes_in_order(void **state)
{
	struct fx *f = *state;
	struct seen s = {.f = f, .want = 3};
	struct etcd_watch *w;
	struct got g;

	assert_int_equal(etcd_watch(f->e, "/t/w/", true, 0, on_watch, &s, &w), 0);
	await(f, &s.created);
	put(f, "/t/w/1", "a", 0);
	put(f, "/t/w/2", "b", 0);
	CALL(f, &g, etcd_delete(f->e, "/t/w/1", false, on_resp, &g));
	await(f, &s.enough);
	assert_false(s.ended);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.type[0], ETCD_EVENT_PUT);
	assert_string_equal(s.key[0], "/t/w/1");
	assert_int_equal(s.type[1], ETCD_EVENT_PUT);
	assert_string_equal(s.key[1], "/t/w/2");
	assert_int_equal(s.type[2], ETCD_EVENT_DELETE);
	assert_string_equal(s.key[2], "/t/w/1");
	assert_true(s.mod[0] < s.mod[1] && s.mod[1] < s.mod[2]);
	etcd_watch_cancel(w);
}

static void test_watch_from_a_compacted_revision_reports_ecompacted(void **state)
{
	struct fx *f = *state;
	struct seen s = {.f = f};
	int64_t old = put(f, "/t/wc", "1", 0).revision, now;
	struct etcd_watch *w;
	struct got g;

	put(f, "/t/wc", "2", 0);
	now = put(f, "/t/wc", "3", 0).revision;
	CALL(f, &g, etcd_compact(f->e, now, on_resp, &g));
	assert_int_equal(g.err, 0);
	assert_int_equal(etcd_watch(f->e, "/t/wc", false, old, on_watch, &s, &w), 0);
	await(f, &s.ended);
	assert_int_equal(s.err, KF_ECOMPACTED);
	assert_int_equal(s.compact_revision, now);
	assert_int_equal(s.n, 0);
	etcd_watch_cancel(w);
}

static void on_watch_cancel_self(void *arg, int err, const struct etcd_watch_msg *m)
{
	struct etcd_watch **w = arg;

	(void)err;
	(void)m;
	etcd_watch_cancel(*w);
	*w = NULL;
}

static void test_watch_cancelled_from_its_own_callback(void **state)
{
	struct fx *f = *state;
	struct etcd_watch *w;

	assert_int_equal(etcd_watch(f->e, "/t/wself", false, 0, on_watch_cancel_self, &w, &w), 0);
	assert_non_null(w);
	pause_ms(f, 500);
	assert_null(w);
}

/* ---- endpoints, timeouts, the loop ---- */

/* A loopback port: listening (never accepting) when listening, else closed. */
static int port_open(bool listening, int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	if (listening) {
		assert_int_equal(listen(fd, 16), 0);
		return fd;
	}
	close(fd);
	return -1;
}

static void test_dead_first_endpoint_rotates_to_the_next(void **state)
{
	char eps[600];
	struct fx *f;
	struct got g;
	int port;

	(void)state;
	port_open(false, &port);
	snprintf(eps, sizeof(eps), "http://127.0.0.1:%d,%s", port, cl.urls);
	f = fx_new(eps, 0);
	CALL(f, &g, etcd_get(f->e, "/t/any", false, on_resp, &g));
	assert_int_equal(g.err, -ECONNREFUSED);
	assert_int_equal(etcd_endpoint_current(f->e), 1);
	CALL(f, &g, etcd_get(f->e, "/t/any", false, on_resp, &g));
	assert_int_equal(g.err, 0);
	fx_free(f);
}

struct ticker {
	int ticks;
};

static void on_tick(void *arg)
{
	((struct ticker *)arg)->ticks++;
}

static void test_silent_endpoint_times_out_while_the_loop_runs(void **state)
{
	char eps[600];
	struct ticker tk = {0};
	struct loop_timer *t;
	struct fx *f;
	struct got g;
	uint64_t start;
	int port, fd = port_open(true, &port);

	(void)state;
	snprintf(eps, sizeof(eps), "http://127.0.0.1:%d,%s", port, cl.url[1]);
	f = fx_new(eps, 400);
	t = loop_timer_new(f->loop, 10, on_tick, &tk);
	start = loop_now_ms();
	CALL(f, &g, etcd_get(f->e, "/t/any", false, on_resp, &g));
	assert_int_equal(g.err, -ETIMEDOUT);
	assert_true(loop_now_ms() - start >= 350);
	assert_true(tk.ticks >= 20);
	CALL(f, &g, etcd_get(f->e, "/t/any", false, on_resp, &g));
	assert_int_equal(g.err, 0);
	loop_timer_free(t);
	fx_free(f);
	close(fd);
}

static void test_watch_on_a_silent_endpoint_times_out(void **state)
{
	char eps[600];
	struct fx *f;
	struct seen s = {0};
	struct etcd_watch *w;
	int port, fd = port_open(true, &port);

	(void)state;
	snprintf(eps, sizeof(eps), "http://127.0.0.1:%d,%s", port, cl.url[1]);
	f = fx_new(eps, 300);
	s.f = f;
	assert_int_equal(etcd_watch(f->e, "/t/silent", false, 0, on_watch, &s, &w), 0);
	await(f, &s.ended);
	assert_int_equal(s.err, -ETIMEDOUT);
	assert_false(s.created);
	assert_int_equal(etcd_endpoint_current(f->e), 1);
	etcd_watch_cancel(w);
	fx_free(f);
	close(fd);
}

static int restart_etcd1(void **state)
{
	teardown(state);
	return etcd_sh("start-member etcd1") == 0 ? 0 : -1;
}

static void test_stopped_member_rotates_to_a_live_one(void **state)
{
	struct fx *f = *state;
	struct got g;
	int failures = 0;

	assert_int_equal(etcd_sh("kill-member etcd1"), 0);
	for (;;) {
		CALL(f, &g, etcd_put(f->e, "/t/rot", "x", 1, 0, on_resp, &g));
		if (g.err == 0)
			break;
		assert_true(++failures < 10);
		pause_ms(f, 100);
	}
	assert_true(failures >= 1);
	assert_int_not_equal(etcd_endpoint_current(f->e), 0);
	assert_string_equal(get(f, "/t/rot", false).vals[0], "x");
}

static void test_killed_member_breaks_its_watch(void **state)
{
	struct fx *f = *state;
	struct seen s = {.f = f};
	struct etcd_watch *w;

	assert_int_equal(etcd_watch(f->e, "/t/wk", false, 0, on_watch, &s, &w), 0);
	await(f, &s.created);
	assert_int_equal(etcd_sh("kill-member etcd1"), 0);
	await(f, &s.ended);
	assert_true(s.err == -ECONNRESET || s.err == -EPIPE);
	etcd_watch_cancel(w);
}

static void test_health_answers_for_each_member(void **state)
{
	struct fx *f = *state;
	struct got g;

	for (size_t i = 0; i < etcd_endpoint_count(f->e); i++) {
		CALL(f, &g, etcd_health(f->e, i, on_resp, &g));
		assert_int_equal(g.err, 0);
		assert_true(g.healthy);
	}
	assert_int_equal(etcd_health(f->e, 3, on_resp, &g), -EINVAL);
}

/* ---- freeing ---- */

static void on_never(void *arg, int err, const struct etcd_resp *r)
{
	(void)err;
	(void)r;
	(*(int *)arg)++;
}

static void on_never_watch(void *arg, int err, const struct etcd_watch_msg *m)
{
	(void)err;
	(void)m;
	(*(int *)arg)++;
}

static void test_free_with_requests_in_flight_calls_nothing(void **state)
{
	struct fx *f = *state;
	struct etcd_watch *w;
	int calls = 0;

	assert_int_equal(etcd_get(f->e, "/t/x", false, on_never, &calls), 0);
	assert_int_equal(etcd_watch(f->e, "/t/x", false, 0, on_never_watch, &calls, &w), 0);
	etcd_free(f->e);
	f->e = NULL;
	pause_ms(f, 300);
	assert_int_equal(calls, 0);
}

struct freer {
	struct fx *f;
	int calls;
};

static void on_free_client(void *arg, int err, const struct etcd_resp *r)
{
	struct freer *fr = arg;

	(void)err;
	(void)r;
	fr->calls++;
	etcd_free(fr->f->e);
	fr->f->e = NULL;
}

static void test_free_inside_a_callback_stops_the_rest(void **state)
{
	struct fx *f = *state;
	struct freer fr = {.f = f};

	for (int i = 0; i < 3; i++)
		assert_int_equal(etcd_get(f->e, "/t/x", false, on_free_client, &fr), 0);
	pause_ms(f, 500);
	assert_int_equal(fr.calls, 1);
}

static void test_bad_arguments_are_refused_without_a_callback(void **state)
{
	struct fx *f = *state;
	struct etcd_opts bad = {.loop = f->loop, .endpoints = "ftp://127.0.0.1:1"};
	struct etcd_opts no_loop = {.endpoints = "http://127.0.0.1:1"};
	static char big[ETCD_KEY_MAX + 2];
	struct etcd *e = (struct etcd *)&e;
	struct etcd_watch *w = (struct etcd_watch *)&w;

	memset(big, 'k', sizeof(big) - 1);
	assert_int_equal(etcd_new(&bad, &e), KF_ECONFIG);
	assert_null(e);
	assert_int_equal(etcd_new(&no_loop, &e), -EINVAL);
	assert_null(e);
	assert_int_equal(etcd_get(f->e, "", false, on_never, NULL), -EINVAL);
	assert_int_equal(etcd_get(f->e, big, false, on_never, NULL), KF_ETOOBIG);
	assert_int_equal(etcd_lease_grant(f->e, 0, on_never, NULL), -EINVAL);
	assert_int_equal(etcd_watch(f->e, "/t/x", false, -1, on_never_watch, NULL, &w), -EINVAL);
	assert_null(w);
	assert_int_equal(etcd_watch(f->e, big, false, 0, on_never_watch, NULL, &w), KF_ETOOBIG);
	assert_int_equal(etcd_watch(f->e, "/t/x", false, 0, NULL, NULL, &w), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_lines_split_across_chunk_boundaries),
		cmocka_unit_test(test_lines_refuse_a_line_over_the_cap),
		cmocka_unit_test(test_watch_line_of_compaction_is_ecompacted),
		cmocka_unit_test(test_failed_txn_answer_has_no_succeeded),
		cmocka_unit_test(test_keepalive_answer_without_ttl_is_enotfound),
		cmocka_unit_test(test_error_answer_maps_grpc_code),
	};
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest live[] = {
		T(test_put_get_delete),
		T(test_get_prefix_returns_the_prefixed_keys_sorted),
		T(test_txn_that_holds_runs_the_success_ops),
		T(test_txn_that_fails_runs_the_failure_ops),
		T(test_key_on_a_lease_goes_when_the_lease_expires),
		T(test_keepalives_keep_the_key_past_the_ttl),
		T(test_keepalive_on_a_revoked_lease_is_enotfound),
		T(test_second_campaign_fails_until_the_first_lease_expires),
		T(test_watch_delivers_puts_and_deletes_in_order),
		T(test_watch_from_a_compacted_revision_reports_ecompacted),
		T(test_watch_cancelled_from_its_own_callback),
		cmocka_unit_test(test_dead_first_endpoint_rotates_to_the_next),
		cmocka_unit_test(test_silent_endpoint_times_out_while_the_loop_runs),
		cmocka_unit_test(test_watch_on_a_silent_endpoint_times_out),
		T(test_health_answers_for_each_member),
		T(test_free_with_requests_in_flight_calls_nothing),
		T(test_free_inside_a_callback_stops_the_rest),
		T(test_bad_arguments_are_refused_without_a_callback),
		cmocka_unit_test_setup_teardown(test_stopped_member_rotates_to_a_live_one, setup,
						restart_etcd1),
		cmocka_unit_test_setup_teardown(test_killed_member_breaks_its_watch, setup,
						restart_etcd1),
	};
#undef T
	int fails = cmocka_run_group_tests_name("etcd_wire", pure, NULL, NULL);

	signal(SIGPIPE, SIG_IGN);
	return fails + cmocka_run_group_tests_name("etcd", live, cluster_up, cluster_down);
}
