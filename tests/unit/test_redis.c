/*
 * The Redis client against real servers: a primary, 2 replicas and 3
 * sentinels with a password, started by tests/cluster/redis.sh (run from the
 * repo root), once over plain TCP and once over TLS with certificates from
 * tests/cluster/certs.sh. A watchdog child stops the servers if this process
 * dies before its teardown runs. The failover test comes last in its group:
 * it kills the primary.
 */
#include "cluster/redis.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "lib/tls.h"
#include "tests/unit/support/certs.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
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

#define REDIS_SH "tests/cluster/redis.sh"
#define PASSWORD "kefu-test-secret"
#define WAIT_MS 10000
#define DEAD_ADDR "127.0.0.1:1"

/* One group's servers. */
struct cluster {
	char dir[64];
	bool tls;
	char sentinels[256]; /* comma-separated */
	char sentinel[3][REDIS_ADDR_MAX];
	pid_t watchdog;
	int watchdog_fd;
};

static struct cluster plain_cl = {.tls = false}, tls_cl = {.tls = true};
static struct cluster *cl; /* the group running */

/* ---- the servers ---- */

/* Runs "redis.sh <what> --dir <dir>"; returns system()'s status. */
static int redis_sh(const char *what)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), REDIS_SH " %s --dir %s", what, cl->dir);
	return system(cmd);
}

/* The first line "redis.sh <what>" prints, into out. */
static int redis_sh_line(const char *what, char *out, size_t cap)
{
	char cmd[512];
	FILE *p;
	int ok;

	snprintf(cmd, sizeof(cmd), REDIS_SH " %s --dir %s", what, cl->dir);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	ok = fgets(out, (int)cap, p) != NULL;
	if (pclose(p) != 0 || !ok)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

/* redis-cli against one server of the group, with its password and TLS. */
static int cli(const char *addr, const char *args)
{
	char cmd[1024], certs[512] = "";
	const char *colon = strrchr(addr, ':');

	if (cl->tls)
		snprintf(certs, sizeof(certs),
			 "--tls --cacert %s/certs/ca.crt --cert %s/certs/client.crt --key %s/certs/client.key",
			 cl->dir, cl->dir, cl->dir);
	snprintf(cmd, sizeof(cmd),
		 "redis-cli -h 127.0.0.1 -p %s --no-auth-warning -a %s %s %s >/dev/null 2>&1",
		 colon + 1, PASSWORD, certs, args);
	return system(cmd);
}

/* A child that waits for this process to end (its pipe closes), then stops the servers. */
static void watchdog_start(void)
{
	int p[2];
	char c;

	if (pipe(p) != 0)
		abort();
	cl->watchdog = fork();
	if (cl->watchdog == 0) {
		close(p[1]);
		while (read(p[0], &c, 1) > 0)
			;
		execl(REDIS_SH, REDIS_SH, "down", "--dir", cl->dir, (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	/* Not inherited by the servers redis.sh starts, or the pipe would never close. */
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	cl->watchdog_fd = p[1];
}

/* The sentinels' addresses from DIR/redis.json. */
static int cluster_read(void)
{
	char path[128];
	json_error_t jerr;
	json_t *root, *sents;
	size_t i;

	snprintf(path, sizeof(path), "%s/redis.json", cl->dir);
	root = json_load_file(path, 0, &jerr);
	if (!root)
		return -1;
	sents = json_object_get(root, "sentinels");
	cl->sentinels[0] = '\0';
	for (i = 0; i < 3 && i < json_array_size(sents); i++) {
		const char *a = json_string_value(json_object_get(json_array_get(sents, i), "addr"));

		snprintf(cl->sentinel[i], sizeof(cl->sentinel[i]), "%s", a ? a : "");
		snprintf(cl->sentinels + strlen(cl->sentinels),
			 sizeof(cl->sentinels) - strlen(cl->sentinels), "%s%s", i ? "," : "",
			 cl->sentinel[i]);
	}
	json_decref(root);
	return i == 3 ? 0 : -1;
}

static int cluster_up(struct cluster *c)
{
	char what[256];

	cl = c;
	snprintf(cl->dir, sizeof(cl->dir), "/tmp/kefu-redis.XXXXXX");
	if (!mkdtemp(cl->dir))
		return -1;
	watchdog_start();
	if (cl->tls) {
		const char *specs[] = {"client:kefu-node"};
		char certdir[128];

		snprintf(certdir, sizeof(certdir), "%s/certs", cl->dir);
		if (certs_make(certdir, specs, 1) != 0)
			return -1;
		snprintf(what, sizeof(what), "up --password %s --tls %s", PASSWORD, certdir);
	} else {
		snprintf(what, sizeof(what), "up --password %s", PASSWORD);
	}
	if (redis_sh(what) != 0)
		return -1;
	return cluster_read();
}

static int cluster_down(struct cluster *c)
{
	char cmd[128];

	cl = c;
	redis_sh("down");
	close(cl->watchdog_fd);
	waitpid(cl->watchdog, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", cl->dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int plain_up(void **state)
{
	(void)state;
	return cluster_up(&plain_cl);
}

static int plain_down(void **state)
{
	(void)state;
	return cluster_down(&plain_cl);
}

static int tls_up(void **state)
{
	(void)state;
	return cluster_up(&tls_cl);
}

static int tls_down(void **state)
{
	(void)state;
	return cluster_down(&tls_cl);
}

/* ---- per test: a loop, a client, and what its callbacks saw ---- */

struct fx {
	struct loop *loop;
	struct tls_ctx *tls;
	struct redis *r;
	struct loop_timer *poll;
	bool (*until)(struct fx *f);
	uint64_t deadline;
	/* state and moved callbacks */
	int ups, downs, moves;
	int down_reason;
	char down_detail[REDIS_DETAIL_MAX];
	char up_addr[REDIS_ADDR_MAX];
	char moved_from[REDIS_ADDR_MAX], moved_to[REDIS_ADDR_MAX];
	/* message callback */
	int messages;
	char channel[64], pattern[64], payload[64];
};

/* What one reply callback saw; the reply itself is gone once it returns. */
struct got {
	bool done;
	int err;
	enum redis_type type;
	long long integer;
	char str[256];
	size_t len, n;
	enum redis_type elem_type[4];
	long long elem_int[4];
	char elem[4][64];
};

static void on_state(void *arg, bool up, const char *addr, int reason, const char *detail)
{
	struct fx *f = arg;

	if (up) {
		f->ups++;
		snprintf(f->up_addr, sizeof(f->up_addr), "%s", addr);
		return;
	}
	f->downs++;
	f->down_reason = reason;
	snprintf(f->down_detail, sizeof(f->down_detail), "%s", detail);
}

static void on_moved(void *arg, const char *from, const char *to)
{
	struct fx *f = arg;

	f->moves++;
	snprintf(f->moved_from, sizeof(f->moved_from), "%s", from);
	snprintf(f->moved_to, sizeof(f->moved_to), "%s", to);
}

static void on_message(void *arg, const char *channel, const char *pattern, const char *payload,
		       size_t len)
{
	struct fx *f = arg;

	f->messages++;
	snprintf(f->channel, sizeof(f->channel), "%s", channel);
	snprintf(f->pattern, sizeof(f->pattern), "%s", pattern ? pattern : "");
	snprintf(f->payload, sizeof(f->payload), "%.*s", (int)len, payload);
}

static void on_poll(void *arg)
{
	struct fx *f = arg;

	if (f->until(f) || loop_now_ms() >= f->deadline)
		loop_stop(f->loop);
}

/* Runs the loop until until(f) holds or ms pass; returns whether it held. */
static bool fx_wait(struct fx *f, bool (*until)(struct fx *f), uint64_t ms)
{
	f->until = until;
	f->deadline = loop_now_ms() + ms;
	if (!until(f))
		loop_run(f->loop);
	return until(f);
}

static bool is_up(struct fx *f)
{
	return redis_is_up(f->r);
}

static bool is_down(struct fx *f)
{
	return f->downs > 0;
}

static bool never(struct fx *f)
{
	(void)f;
	return false;
}

/* A client for the group running: sentinels (or addr), the group's TLS, o's other fields. */
static struct fx *fx_new_with(struct redis_opts o)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(loop_new(&f->loop), 0);
	f->poll = loop_timer_new(f->loop, 5, on_poll, f);
	f->until = never;
	if (cl->tls) {
		char ca[160], crt[160], key[160], certdir[128];
		struct tls_opts t = {0};

		snprintf(certdir, sizeof(certdir), "%s/certs", cl->dir);
		t.ca_file = certs_path(ca, sizeof(ca), certdir, "ca", "crt");
		t.cert_file = certs_path(crt, sizeof(crt), certdir, "client", "crt");
		t.key_file = certs_path(key, sizeof(key), certdir, "client", "key");
		assert_int_equal(tls_ctx_new(&t, &f->tls, NULL, 0), 0);
		o.tls = f->tls;
	}
	if (!o.addr && !o.sentinels)
		o.sentinels = cl->sentinels;
	if (o.sentinels && !o.master_name)
		o.master_name = "kefu";
	o.retry_ms = o.retry_ms ? o.retry_ms : 100;
	o.state = on_state;
	o.moved = on_moved;
	o.message = on_message;
	o.arg = f;
	o.loop = f->loop;
	assert_int_equal(redis_new(&o, &f->r), 0);
	return f;
}

static struct fx *fx_new(void)
{
	return fx_new_with((struct redis_opts){.password = PASSWORD, .sentinel_password = PASSWORD});
}

static void fx_free(struct fx *f)
{
	redis_free(f->r);
	loop_timer_free(f->poll);
	loop_run(f->loop); /* lets libevent release the closed connections */
	loop_free(f->loop);
	tls_ctx_free(f->tls);
	free(f);
}

static int setup(void **state)
{
	struct fx *f = fx_new();

	*state = f;
	return fx_wait(f, is_up, WAIT_MS) ? 0 : -1;
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

static void on_reply(void *arg, int err, const struct redis_reply *reply)
{
	struct got *g = arg;

	g->done = true;
	g->err = err;
	if (!reply)
		return;
	g->type = reply->type;
	g->integer = reply->integer;
	g->len = reply->len;
	g->n = reply->n;
	if (reply->str)
		memcpy(g->str, reply->str, reply->len < sizeof(g->str) ? reply->len + 1 : sizeof(g->str));
	for (size_t i = 0; i < reply->n && i < 4; i++) {
		g->elem_type[i] = reply->elem[i]->type;
		g->elem_int[i] = reply->elem[i]->integer;
		snprintf(g->elem[i], sizeof(g->elem[i]), "%s",
			 reply->elem[i]->str ? reply->elem[i]->str : "");
	}
}

static struct got *waiting; /* the reply fx_wait waits for */

static bool got_done(struct fx *f)
{
	(void)f;
	return waiting->done;
}

/* Sends argv (NULL-terminated) and waits for its callback. */
static struct got cmd_v(struct fx *f, const char *const *argv)
{
	struct got g = {0};
	int argc = 0;

	while (argv[argc])
		argc++;
	assert_int_equal(redis_command(f->r, argc, argv, NULL, on_reply, &g), 0);
	waiting = &g;
	assert_true(fx_wait(f, got_done, WAIT_MS));
	return g;
}

#define CMD(f, ...) cmd_v((f), (const char *const[]){__VA_ARGS__, NULL})

/* The primary the sentinels name now. */
static void primary_now(char *out, size_t cap)
{
	assert_int_equal(redis_sh_line("primary", out, cap), 0);
}

/* ---- commands and replies ---- */

static void test_replies_of_every_type(void **state)
{
	struct fx *f = *state;
	struct got g;

	g = CMD(f, "SET", "t:str", "hello");
	assert_int_equal(g.err, 0);
	assert_int_equal(g.type, REDIS_TYPE_STATUS);
	assert_string_equal(g.str, "OK");
	g = CMD(f, "GET", "t:str");
	assert_int_equal(g.type, REDIS_TYPE_STRING);
	assert_string_equal(g.str, "hello");
	g = CMD(f, "GET", "t:missing");
	assert_int_equal(g.type, REDIS_TYPE_NIL);
	CMD(f, "DEL", "t:n", "t:list");
	g = CMD(f, "INCRBY", "t:n", "-42");
	assert_int_equal(g.type, REDIS_TYPE_INTEGER);
	assert_int_equal(g.integer, -42);
	CMD(f, "RPUSH", "t:list", "a", "bc");
	g = CMD(f, "LRANGE", "t:list", "0", "-1");
	assert_int_equal(g.type, REDIS_TYPE_ARRAY);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.elem_type[1], REDIS_TYPE_STRING);
	assert_string_equal(g.elem[0], "a");
	assert_string_equal(g.elem[1], "bc");
	g = CMD(f, "NOSUCHCOMMAND");
	assert_int_equal(g.err, 0);
	assert_int_equal(g.type, REDIS_TYPE_ERROR);
	assert_memory_equal(g.str, "ERR", 3);
}

static void test_binary_values_keep_their_bytes(void **state)
{
	struct fx *f = *state;
	const char *argv[] = {"SET", "t:bin", "a\0b\r\n"};
	const size_t lens[] = {3, 5, 5};
	struct got g = {0};

	assert_int_equal(redis_command(f->r, 3, argv, lens, on_reply, &g), 0);
	waiting = &g;
	assert_true(fx_wait(f, got_done, WAIT_MS));
	g = CMD(f, "GET", "t:bin");
	assert_int_equal(g.len, 5);
	assert_memory_equal(g.str, "a\0b\r\n", 5);
}

/* Pipelined INCRs: callbacks in the order sent, values 1..N. */
struct order {
	int next, bad;
	long long last;
};

static struct order order;

static void on_incr(void *arg, int err, const struct redis_reply *reply)
{
	int i = (int)(intptr_t)arg;

	if (err || i != order.next || reply->type != REDIS_TYPE_INTEGER || reply->integer != i + 1)
		order.bad++;
	order.next++;
}

static bool incrs_done(struct fx *f)
{
	(void)f;
	return order.next == 500;
}

static void test_pipelined_commands_reply_in_order(void **state)
{
	struct fx *f = *state;
	const char *argv[] = {"INCR", "t:ctr"};

	CMD(f, "DEL", "t:ctr");
	order = (struct order){0};
	for (int i = 0; i < 500; i++)
		assert_int_equal(redis_command(f->r, 2, argv, NULL, on_incr, (void *)(intptr_t)i), 0);
	assert_int_equal(order.next, 0); /* no callback inside the call */
	assert_true(fx_wait(f, incrs_done, WAIT_MS));
	assert_int_equal(order.bad, 0);
}

static void test_reply_or_command_over_max_size_fails_with_etoobig(void **state)
{
	struct fx *big_ok = *state;
	struct fx *f = fx_new_with((struct redis_opts){.password = PASSWORD,
						       .sentinel_password = PASSWORD,
						       .max_size = 4096});
	char big[8192];
	const char *argv[] = {"SET", "t:big", big};
	struct got g = {0};

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(CMD(big_ok, "SET", "t:big", big).err, 0);
	assert_true(fx_wait(f, is_up, WAIT_MS));
	assert_int_equal(redis_command(f->r, 3, argv, NULL, on_reply, &g), KF_ETOOBIG);
	g = CMD(f, "GET", "t:big");
	assert_int_equal(g.err, KF_ETOOBIG);
	assert_int_equal(f->down_reason, KF_ETOOBIG);
	fx_free(f);
}

/* ---- timeouts ---- */

static void test_command_timeout_fails_it_and_the_client_recovers(void **state)
{
	struct fx *f = fx_new_with((struct redis_opts){.password = PASSWORD,
						       .sentinel_password = PASSWORD,
						       .command_timeout_ms = 300});
	uint64_t t0;
	struct got g;

	(void)state;
	assert_true(fx_wait(f, is_up, WAIT_MS));
	t0 = loop_now_ms();
	g = CMD(f, "BLPOP", "t:empty-list", "5"); /* blocks in the server for 5 s */
	assert_int_equal(g.err, -ETIMEDOUT);
	assert_true(loop_now_ms() - t0 < 2000);
	assert_int_equal(f->down_reason, -ETIMEDOUT);
	assert_true(fx_wait(f, is_up, WAIT_MS));
	assert_int_equal(f->ups, 2);
	g = CMD(f, "PING");
	assert_int_equal(g.err, 0);
	assert_string_equal(g.str, "PONG");
	fx_free(f);
}

static void test_queued_command_fails_with_the_reason_the_client_is_down(void **state)
{
	struct fx *f = fx_new_with((struct redis_opts){.addr = DEAD_ADDR, .command_timeout_ms = 300});
	struct got g;

	(void)state;
	g = CMD(f, "PING");
	assert_int_equal(g.err, -ECONNREFUSED);
	assert_true(f->downs >= 1);
	assert_int_equal(f->down_reason, -ECONNREFUSED);
	assert_false(redis_is_up(f->r));
	assert_null(redis_primary_addr(f->r));
	fx_free(f);
}

static void test_free_cancels_pending_commands(void **state)
{
	struct fx *f = fx_new();
	const char *blpop[] = {"BLPOP", "t:empty-list", "5"};
	struct got sent = {0};

	(void)state;
	assert_true(fx_wait(f, is_up, WAIT_MS));
	assert_int_equal(redis_command(f->r, 3, blpop, NULL, on_reply, &sent), 0);
	fx_wait(f, never, 100);
	redis_free(f->r);
	f->r = NULL;
	assert_true(sent.done);
	assert_int_equal(sent.err, KF_ECANCELED);
	fx_free(f);
}

/* ---- scripts ---- */

static void test_evalsha_reloads_the_script_after_script_flush(void **state)
{
	struct fx *f = *state;
	struct redis_script *s;
	const char *argv[] = {"t:key", "arg"};
	struct got g = {0};
	const char *sha;

	assert_int_equal(redis_script_define(f->r, "concat", "return KEYS[1] .. ':' .. ARGV[1]", &s),
			 0);
	sha = redis_script_sha(s);
	assert_int_equal(strlen(sha), 40);
	for (int round = 0; round < 2; round++) {
		CMD(f, "SCRIPT", "FLUSH");
		g = CMD(f, "SCRIPT", "EXISTS", sha);
		assert_int_equal(g.elem_type[0], REDIS_TYPE_INTEGER);
		assert_int_equal(g.elem_int[0], 0);
		memset(&g, 0, sizeof(g));
		assert_int_equal(redis_evalsha(f->r, s, 1, 2, argv, NULL, on_reply, &g), 0);
		waiting = &g;
		assert_true(fx_wait(f, got_done, WAIT_MS));
		assert_int_equal(g.err, 0);
		assert_int_equal(g.type, REDIS_TYPE_STRING);
		assert_string_equal(g.str, "t:key:arg");
	}
	/* the sha we computed is the one the server loaded */
	{
		struct got e = CMD(f, "SCRIPT", "EXISTS", sha);
		struct got l;

		assert_int_equal(e.n, 1);
		assert_int_equal(e.elem_int[0], 1);
		l = CMD(f, "SCRIPT", "LOAD", "return KEYS[1] .. ':' .. ARGV[1]");
		assert_string_equal(l.str, sha);
	}
	assert_int_equal(redis_evalsha(f->r, s, 3, 2, argv, NULL, on_reply, &g), -EINVAL);
}

/* ---- authentication and discovery ---- */

static void test_wrong_password_is_reported_as_eacces(void **state)
{
	struct fx *f = fx_new_with((struct redis_opts){.password = "not-the-password",
						       .sentinel_password = PASSWORD,
						       .command_timeout_ms = 500});
	struct got g;

	(void)state;
	assert_true(fx_wait(f, is_down, WAIT_MS));
	assert_int_equal(f->down_reason, -EACCES);
	assert_non_null(strstr(f->down_detail, "WRONGPASS"));
	g = CMD(f, "PING");
	assert_int_equal(g.err, -EACCES);
	assert_int_equal(f->ups, 0);
	fx_free(f);
}

static void test_discovery_skips_a_dead_first_sentinel(void **state)
{
	char list[300], primary[REDIS_ADDR_MAX];
	struct fx *f;

	(void)state;
	snprintf(list, sizeof(list), DEAD_ADDR ",%s", cl->sentinels);
	f = fx_new_with((struct redis_opts){.sentinels = list, .password = PASSWORD,
					    .sentinel_password = PASSWORD});
	assert_true(fx_wait(f, is_up, WAIT_MS));
	primary_now(primary, sizeof(primary));
	assert_string_equal(redis_primary_addr(f->r), primary);
	assert_string_equal(f->up_addr, primary);
	assert_int_equal(CMD(f, "PING").err, 0);
	fx_free(f);
}

static void test_bad_options_are_refused(void **state)
{
	struct loop *l;
	struct redis *r = (struct redis *)&r;
	struct redis_opts bad[] = {
		{0},
		{.addr = "127.0.0.1:1", .sentinels = "127.0.0.1:2", .master_name = "kefu"},
		{.sentinels = "127.0.0.1:2"},
		{.sentinels = "127.0.0.1:2,", .master_name = "kefu"},
	};
	const struct redis_opts no_loop = {.addr = "127.0.0.1:1"};

	(void)state;
	assert_int_equal(loop_new(&l), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bad[i].loop = l;
		assert_int_equal(redis_new(&bad[i], &r), KF_ECONFIG);
		assert_null(r);
	}
	assert_int_equal(redis_new(&no_loop, &r), -EINVAL);
	assert_null(r);
	loop_free(l);
}

/* A script without a name, or one SCRIPT LOAD could not carry, is refused. */
static void test_script_define_refusals(void **state)
{
	struct loop *l;
	struct redis *r;
	struct redis_opts o = {.addr = "127.0.0.1:1", .max_size = 100};
	struct redis_script *s = (struct redis_script *)&s;
	char big[64];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(loop_new(&l), 0);
	o.loop = l;
	assert_int_equal(redis_new(&o, &r), 0);
	assert_int_equal(redis_script_define(r, "", "return 1", &s), -EINVAL);
	assert_null(s);
	assert_int_equal(redis_script_define(r, "big", big, &s), KF_ETOOBIG);
	assert_null(s);
	assert_int_equal(redis_script_define(r, "one", "return 1", &s), 0);
	assert_non_null(s);
	redis_free(r);
	loop_run(l); /* nothing was dialled yet: returns at once */
	loop_free(l);
}

/* ---- pub/sub ---- */

static bool got_two_messages(struct fx *f)
{
	return f->messages >= 2;
}

static void test_messages_arrive_for_channels_and_patterns(void **state)
{
	struct fx *f = *state;
	int receivers = 0;

	assert_int_equal(redis_subscribe(f->r, "events:n1", false), 0);
	assert_int_equal(redis_subscribe(f->r, "events:*", true), 0);
	assert_int_equal(redis_subscribe(f->r, "events:n1", false), KF_EEXISTS);
	/* PUBLISH counts the subscriptions it reached: 2 once both are in place */
	for (int i = 0; i < 100 && receivers < 2; i++) {
		struct got g = CMD(f, "PUBLISH", "events:n1", "offer 42");

		receivers = (int)g.integer;
		if (receivers < 2)
			fx_wait(f, never, 20);
	}
	assert_int_equal(receivers, 2);
	assert_true(fx_wait(f, got_two_messages, WAIT_MS));
	assert_string_equal(f->channel, "events:n1");
	assert_string_equal(f->payload, "offer 42");
	assert_int_equal(redis_unsubscribe(f->r, "events:*", true), 0);
	assert_int_equal(redis_unsubscribe(f->r, "events:*", true), KF_ENOTFOUND);
}

/* ---- failures of the primary ---- */

static bool write_works(struct fx *f)
{
	struct got g = CMD(f, "SET", "t:after", "1");

	return g.err == 0 && g.type == REDIS_TYPE_STATUS;
}

/* SET until it succeeds (a new primary takes writes once a replica is in sync). */
static bool wait_write(struct fx *f)
{
	for (int i = 0; i < 100; i++) {
		if (write_works(f))
			return true;
		fx_wait(f, never, 100);
	}
	return false;
}

static void test_readonly_reply_makes_the_client_resolve_again(void **state)
{
	struct fx *f = *state;
	char primary[REDIS_ADDR_MAX];
	struct got g;

	primary_now(primary, sizeof(primary));
	assert_string_equal(redis_primary_addr(f->r), primary);
	/* the primary turns replica (of nobody reachable) behind the client's back */
	assert_int_equal(cli(primary, "REPLICAOF 127.0.0.1 1"), 0);
	g = CMD(f, "SET", "t:ro", "1");
	assert_int_equal(g.err, 0);
	assert_int_equal(g.type, REDIS_TYPE_ERROR);
	assert_memory_equal(g.str, "READONLY", 8);
	assert_true(fx_wait(f, is_down, WAIT_MS));
	assert_int_equal(f->down_reason, -EROFS);
	/* the sentinels still name it, but ROLE keeps the client off it */
	fx_wait(f, never, 300);
	assert_false(redis_is_up(f->r));
	assert_int_equal(cli(primary, "REPLICAOF NO ONE"), 0);
	assert_true(fx_wait(f, is_up, WAIT_MS));
	assert_string_equal(redis_primary_addr(f->r), primary);
	assert_int_equal(f->moves, 0);
	assert_true(wait_write(f));
}

static bool moved(struct fx *f)
{
	return f->moves > 0 && redis_is_up(f->r);
}

static void test_failover_moves_the_client_to_the_new_primary(void **state)
{
	struct fx *f = *state;
	char old[REDIS_ADDR_MAX], killed[REDIS_ADDR_MAX], now[REDIS_ADDR_MAX];

	primary_now(old, sizeof(old));
	assert_int_equal(redis_sh_line("kill-primary", killed, sizeof(killed)), 0);
	assert_string_equal(killed, old);
	assert_true(fx_wait(f, is_down, WAIT_MS));
	assert_true(fx_wait(f, moved, 30000));
	assert_int_equal(f->moves, 1);
	assert_string_equal(f->moved_from, old);
	assert_string_not_equal(f->moved_to, old);
	assert_string_equal(redis_primary_addr(f->r), f->moved_to);
	primary_now(now, sizeof(now));
	assert_string_equal(now, f->moved_to);
	assert_true(wait_write(f));
}

/* ---- TLS ---- */

static void test_tls_commands_through_sentinel_discovery(void **state)
{
	struct fx *f = *state;
	char primary[REDIS_ADDR_MAX];
	struct got g;

	primary_now(primary, sizeof(primary));
	assert_string_equal(redis_primary_addr(f->r), primary);
	g = CMD(f, "SET", "t:tls", "secret");
	assert_int_equal(g.err, 0);
	g = CMD(f, "GET", "t:tls");
	assert_string_equal(g.str, "secret");
}

static void test_tls_server_refuses_a_plain_client(void **state)
{
	struct fx *f;

	(void)state;
	/* same servers, no TLS: the sentinels never answer RESP in the clear */
	cl->tls = false;
	f = fx_new_with((struct redis_opts){.password = PASSWORD, .sentinel_password = PASSWORD,
					    .command_timeout_ms = 300});
	cl->tls = true;
	assert_true(fx_wait(f, is_down, WAIT_MS));
	assert_int_not_equal(f->down_reason, 0);
	assert_false(redis_is_up(f->r));
	fx_free(f);
}

/*
 * plain_loopback_only: a primary outside loopback is never dialed (a host
 * name, which the client could not dial anyway: were the rule broken, the
 * reason would be KF_EPARSE and no packet would leave); the group on
 * loopback serves as before.
 */
static void test_plain_primary_outside_loopback_is_refused(void **state)
{
	struct fx *f = fx_new_with((struct redis_opts){.addr = "redis.example:6379",
						       .plain_loopback_only = true,
						       .command_timeout_ms = 300});
	struct got g;

	(void)state;
	g = CMD(f, "PING");
	assert_int_equal(g.err, KF_ECONFIG);
	assert_int_equal(f->down_reason, KF_ECONFIG);
	assert_non_null(strstr(f->down_detail, "redis_tls = true"));
	fx_free(f);
	f = fx_new_with((struct redis_opts){.password = PASSWORD, .sentinel_password = PASSWORD,
					    .plain_loopback_only = true});
	g = CMD(f, "PING");
	assert_int_equal(g.err, 0);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest plain[] = {
		cmocka_unit_test_setup_teardown(test_replies_of_every_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_values_keep_their_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_commands_reply_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_or_command_over_max_size_fails_with_etoobig,
						setup, teardown),
		cmocka_unit_test(test_command_timeout_fails_it_and_the_client_recovers),
		cmocka_unit_test(test_queued_command_fails_with_the_reason_the_client_is_down),
		cmocka_unit_test(test_free_cancels_pending_commands),
		cmocka_unit_test_setup_teardown(test_evalsha_reloads_the_script_after_script_flush,
						setup, teardown),
		cmocka_unit_test(test_wrong_password_is_reported_as_eacces),
		cmocka_unit_test(test_discovery_skips_a_dead_first_sentinel),
		cmocka_unit_test(test_bad_options_are_refused),
		cmocka_unit_test(test_plain_primary_outside_loopback_is_refused),
		cmocka_unit_test(test_script_define_refusals),
		cmocka_unit_test_setup_teardown(test_messages_arrive_for_channels_and_patterns, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_readonly_reply_makes_the_client_resolve_again,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_failover_moves_the_client_to_the_new_primary,
						setup, teardown),
	};
	const struct CMUnitTest tls[] = {
		cmocka_unit_test_setup_teardown(test_tls_commands_through_sentinel_discovery, setup,
						teardown),
		cmocka_unit_test(test_tls_server_refuses_a_plain_client),
	};
	int failed;

	signal(SIGPIPE, SIG_IGN);
	failed = cmocka_run_group_tests_name("redis plain", plain, plain_up, plain_down);
	failed += cmocka_run_group_tests_name("redis tls", tls, tls_up, tls_down);
	return failed;
}
