/*
 * Unit tests of lib/webd.c over real sockets on 127.0.0.1, with a
 * certificate made by tests/cluster/certs.sh and libcurl as the browser (in
 * a thread of its own while the loop runs): an answer at once with the
 * server's headers, a POST body, an answer given later, a stream sent in
 * chunks, a body over the limit refused before the handler, a stream whose
 * client went away (the gone callback), and the options
 * webd_new refuses.
 */
#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/tls.h"
#include "lib/webd.h"
#include "tests/unit/support/bossfile.h"
#include "tests/unit/support/certs.h"

#include <curl/curl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char dir[256];

static const char *const headers[] = {"X-Test-Policy", "strict", NULL};

struct world {
	struct loop *loop;
	struct tls_ctx *tls;
	struct webd *web;
	struct loop_alarm *later;      /* answers the waiting request or the stream */
	struct loop_wake *done;        /* the client thread finished */
	struct webd_req *waiting;
	int chunks;                    /* stream chunks still to send */
	int gone;                      /* gone callbacks seen */
	int handled;                   /* requests the handler saw */
	char url[64];
	/* the client's side */
	const char *path, *body;
	long timeout_ms;
	long status;
	char got[4096];
	size_t ngot;
	char policy[64];
	CURLcode cc;
};

static void on_gone(void *arg, struct webd_req *r)
{
	struct world *w = arg;

	(void)r;
	w->gone++;
	w->waiting = NULL;
	loop_stop(w->loop);
}

static void on_later(void *arg)
{
	struct world *w = arg;
	char chunk[32];

	if (!w->waiting)
		return;
	if (w->chunks > 0) {
		snprintf(chunk, sizeof(chunk), "chunk%d;", w->chunks--);
		assert_int_equal(webd_stream_send(w->waiting, chunk, strlen(chunk)), 0);
		if (w->chunks == 0) {
			webd_stream_end(w->waiting);
			w->waiting = NULL;
		} else {
			loop_alarm_set(w->later, 20);
		}
		return;
	}
	webd_reply(w->waiting, 202, "text/plain", "later", 5);
	w->waiting = NULL;
}

static void handler(void *arg, struct webd_req *r)
{
	struct world *w = arg;
	const char *p = webd_path(r);
	char out[64];
	size_t len;

	w->handled++;
	if (strcmp(p, "/now") == 0) {
		snprintf(out, sizeof(out), "%s %s q=%s", webd_method(r), p, webd_query(r));
		webd_reply(r, 200, "text/plain", out, strlen(out));
	} else if (strcmp(p, "/post") == 0) {
		const uint8_t *b = webd_body(r, &len);

		snprintf(out, sizeof(out), "%zu:%.*s", len, (int)len, (const char *)b);
		webd_reply(r, 200, "text/plain", out, strlen(out));
	} else if (strcmp(p, "/later") == 0) {
		w->waiting = r;
		webd_on_gone(r, on_gone, w);
		loop_alarm_set(w->later, 50);
	} else if (strcmp(p, "/silent") == 0) {
		w->waiting = r; /* a stream nothing is sent on, until the test says */
		webd_on_gone(r, on_gone, w);
		webd_stream_start(r, "text/event-stream");
	} else if (strcmp(p, "/stream") == 0) {
		w->waiting = r;
		w->chunks = 3;
		webd_on_gone(r, on_gone, w);
		webd_stream_start(r, "text/event-stream");
		loop_alarm_set(w->later, 20);
	} else {
		webd_reply(r, 404, "text/plain", "no", 2);
	}
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct world *w = arg;
	size_t len = size * n;

	if (w->ngot + len < sizeof(w->got)) {
		memcpy(w->got + w->ngot, p, len);
		w->ngot += len;
		w->got[w->ngot] = '\0';
	}
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct world *w = arg;
	size_t len = size * n;

	if (len > 15 && strncmp(p, "X-Test-Policy: ", 15) == 0)
		snprintf(w->policy, sizeof(w->policy), "%.*s", (int)(len - 17), p + 15);
	return len;
}

static void *client(void *arg)
{
	struct world *w = arg;
	CURL *c = curl_easy_init();
	char url[128], ca[512];

	snprintf(url, sizeof(url), "%s%s", w->url, w->path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, certs_path(ca, sizeof(ca), dir, "ca", "crt"));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, w);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, w->timeout_ms ? w->timeout_ms : 5000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (w->body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, w->body);
	w->cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &w->status);
	curl_easy_cleanup(c);
	loop_wake(w->done);
	return NULL;
}

static void on_done(void *arg)
{
	loop_stop(((struct world *)arg)->loop);
}

/* One request by the client thread while the loop runs; its outcome in w. */
static void fetch(struct world *w, const char *path, const char *body, long timeout_ms)
{
	pthread_t t;

	w->path = path;
	w->body = body;
	w->timeout_ms = timeout_ms;
	w->ngot = 0;
	w->got[0] = w->policy[0] = '\0';
	w->status = 0;
	assert_int_equal(pthread_create(&t, NULL, client, w), 0);
	loop_run(w->loop);
	pthread_join(t, NULL);
}

static int world_setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	char ca[512], crt[512], key[512];
	struct tls_opts to = {certs_path(ca, sizeof(ca), dir, "ca", "crt"),
			      certs_path(crt, sizeof(crt), dir, "n1", "crt"),
			      certs_path(key, sizeof(key), dir, "n1", "key"), true,
			      TLS_CLIENT_CERT_NONE, NULL};
	struct webd_opts wo = {0};
	char why[TLS_WHY_MAX];
	int port;

	assert_non_null(w);
	assert_int_equal(loop_new(&w->loop), 0);
	assert_int_equal(tls_ctx_new(&to, &w->tls, why, sizeof(why)), 0);
	w->later = loop_alarm_new(w->loop, on_later, w);
	assert_int_equal(loop_wake_new(w->loop, on_done, w, &w->done), 0);
	wo.loop = w->loop;
	wo.tls = w->tls;
	wo.headers = headers;
	wo.max_body = 64;
	wo.handler = handler;
	wo.arg = w;
	for (port = 24000 + (int)(getpid() % 4000);; port++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
		wo.addr = addr;
		if (webd_new(&wo, &w->web) == 0)
			break;
		assert_true(port < 32000);
	}
	snprintf(w->url, sizeof(w->url), "https://127.0.0.1:%d", port);
	*state = w;
	return 0;
}

static int world_teardown(void **state)
{
	struct world *w = *state;

	webd_free(w->web);
	loop_alarm_free(w->later);
	loop_wake_free(w->done);
	tls_ctx_free(w->tls);
	loop_free(w->loop);
	free(w);
	return 0;
}

static void test_now_and_headers(void **state)
{
	struct world *w = *state;

	fetch(w, "/now?a=1", NULL, 0);
	assert_int_equal(w->cc, CURLE_OK);
	assert_int_equal(w->status, 200);
	assert_string_equal(w->got, "GET /now q=a=1");
	assert_string_equal(w->policy, "strict");
	fetch(w, "/nope", NULL, 0);
	assert_int_equal(w->status, 404);
	assert_string_equal(w->policy, "strict");
}

static void test_post_and_limit(void **state)
{
	struct world *w = *state;
	char big[100];
	int before;

	fetch(w, "/post", "a=1&b=%E4%BD%A0", 0);
	assert_int_equal(w->status, 200);
	assert_string_equal(w->got, "15:a=1&b=%E4%BD%A0");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	before = w->handled;
	fetch(w, "/post", big, 0);
	assert_int_equal(w->status, 413);
	assert_int_equal(w->handled, before); /* never reached the handler */
}

static void test_later_and_stream(void **state)
{
	struct world *w = *state;

	fetch(w, "/later", NULL, 0);
	assert_int_equal(w->status, 202);
	assert_string_equal(w->got, "later");
	fetch(w, "/stream", NULL, 0);
	assert_int_equal(w->cc, CURLE_OK);
	assert_int_equal(w->status, 200);
	assert_string_equal(w->got, "chunk3;chunk2;chunk1;");
	assert_string_equal(w->policy, "strict");
	assert_int_equal(w->gone, 0);
}

static void on_give_up(void *arg)
{
	loop_stop(((struct world *)arg)->loop);
}

/* A stream whose client went away: the server hears it at its next writes
 * at the latest (the console pings every stream), runs the gone callback,
 * and frees the request. */
static void test_client_gone(void **state)
{
	struct world *w = *state;
	struct loop_alarm *give_up = loop_alarm_new(w->loop, on_give_up, w);

	fetch(w, "/silent", NULL, 300); /* curl gives up; the stream stays open here */
	assert_int_equal(w->cc, CURLE_OPERATION_TIMEDOUT);
	if (!w->gone) { /* not heard yet: a chunk every 20 ms until a write fails */
		w->chunks = 1000;
		loop_alarm_set(w->later, 0);
		loop_alarm_set(give_up, 5000);
		loop_run(w->loop);
	}
	loop_alarm_free(give_up);
	assert_int_equal(w->gone, 1);
	assert_null(w->waiting);
}

static void test_refused_options(void **state)
{
	struct world *w = *state;
	struct webd_opts wo = {.loop = w->loop, .addr = "127.0.0.1:1", .tls = w->tls};
	struct webd *x;

	assert_int_equal(webd_new(&wo, &x), KF_ECONFIG); /* no handler */
	assert_null(x);
	wo.handler = handler;
	wo.addr = "nowhere:80";
	assert_int_equal(webd_new(&wo, &x), KF_EPARSE);
	wo.addr = "127.0.0.1:99999";
	assert_int_equal(webd_new(&wo, &x), KF_EPARSE);
	wo.addr = "127.0.0.1:0";
	wo.tls = NULL;
	assert_int_equal(webd_new(&wo, &x), KF_ECONFIG);
}

static int group_setup(void **state)
{
	static const char *const specs[] = {"n1:kefu-node"};

	(void)state;
	log_set_level(-1, LOG_LVL_WARN);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (bossfile_tmpdir("webd", dir, sizeof(dir)) != 0)
		return -1;
	return certs_make(dir, specs, 1) != 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	bossfile_rmtree(dir);
	curl_global_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_now_and_headers, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_post_and_limit, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_later_and_stream, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_client_gone, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_refused_options, world_setup, world_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
