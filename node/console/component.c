/*
 * The console component (node/component.h): the HTTPS listener on
 * console_addr with the node's certificate, its sessions' timer, and no
 * rows of its own (it is a client of the others'). See console_int.h.
 */
#include "node/console/console.h"

#include "lib/err.h"
#include "lib/log.h"
#include "node/config_table.h"
#include "node/console/console_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define CONSOLE_BUCKETS 4096

/* console_urls ("https://a:1,https://b:2") as a JSON array of strings. */
static char *urls_json(const char *list)
{
	json_t *a = json_array();
	const char *p = list;
	char *out;

	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		while (n && *p == ' ') {
			p++;
			n--;
		}
		while (n && p[n - 1] == ' ')
			n--;
		if (n)
			json_array_append_new(a, json_stringn(p, n));
		p += end ? (size_t)(end - p) + 1 : strlen(p);
	}
	out = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (!out)
		abort();
	return out;
}

/*
 * The policy of every answer: nothing inline, nothing from elsewhere, but
 * the page may ask the other nodes of urls (a JSON array) whether they
 * serve, to go on at one of them when its own dies (docs/console.md).
 */
static char *csp_make(const char *urls)
{
	static const char head[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
				   "img-src 'self'; form-action 'self'; base-uri 'none'; "
				   "frame-ancestors 'none'; connect-src 'self'";
	json_t *a = json_loads(urls, 0, NULL);
	size_t cap = sizeof(head) + 2, len = sizeof(head) - 1, i;
	json_t *u;
	char *out;

	json_array_foreach(a, i, u)
		cap += json_string_length(u) + 1;
	out = malloc(cap);
	if (!out)
		abort();
	memcpy(out, head, len);
	json_array_foreach(a, i, u) {
		const char *t = json_string_value(u);
		size_t n = json_string_length(u);

		while (n && t[n - 1] == '/')
			n--;
		/* Only an origin made of safe characters goes into the header. */
		if (!n || strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
				   ":/.-[]") < n)
			continue;
		out[len++] = ' ';
		memcpy(out + len, t, n);
		len += n;
	}
	out[len] = '\0';
	json_decref(a);
	return out;
}

static void console_stop(void *state)
{
	struct console *c = state;

	if (!c)
		return;
	webd_free(c->web); /* streams and waiting requests end first */
	while (c->all)
		console__sess_free(c->all);
	loop_alarm_free(c->reap);
	ht_release(&c->by_sid);
	free(c->urls_json);
	free(c->csp);
	free(c);
}

/* Serves on a node of a cluster with console_addr set (it needs the node's
 * certificate); otherwise not on this node. */
static int console_init(const struct node_ctx *ctx, void **state)
{
	const char *addr = config_table_text(ctx->cfg, "console_addr");
	struct webd_opts wo = {.loop = ctx->loop, .addr = addr, .handler = console__request};
	struct console *c;
	int r;

	*state = NULL;
	if (!addr[0] || !ctx->hub)
		return 0;
	if (!ctx->web_tls) {
		log_err(LOG_NET, "console_addr needs tls_ca, tls_cert and tls_key");
		return KF_ECONFIG;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	c->loop = ctx->loop;
	c->hub = ctx->hub;
	c->urls_json = urls_json(config_table_text(ctx->cfg, "console_urls"));
	c->csp = csp_make(c->urls_json);
	{
		const char *h[] = {"Content-Security-Policy", c->csp,
				   "X-Content-Type-Options", "nosniff",
				   "X-Frame-Options", "DENY",
				   "Referrer-Policy", "no-referrer",
				   "Cache-Control", "no-store",
				   "Strict-Transport-Security", "max-age=31536000",
				   NULL};

		memcpy(c->headers, h, sizeof(h));
	}
	if (ht_init(&c->by_sid, CONSOLE_BUCKETS) != 0)
		abort(); /* a constant in range */
	c->reap = loop_alarm_new(ctx->loop, console__reap, c);
	wo.tls = ctx->web_tls;
	wo.headers = c->headers;
	wo.arg = c;
	if ((r = webd_new(&wo, &c->web)) != 0) {
		log_err(LOG_NET, "cannot serve the console addr=%s error=\"%s\"", addr,
			kf_strerror(r));
		goto fail;
	}
	log_info(LOG_NET, "console served addr=%s", addr);
	*state = c;
	return 0;
fail:
	console_stop(c);
	return r;
}

static void console_tick(void *state)
{
	console__tick(state);
}

static const struct component_timer console_timers[] = {
	{1000, console_tick},
};

const struct component console_component = {
	.name = "console",
	.init = console_init,
	.stop = console_stop,
	.msgs = NULL,
	.nmsgs = 0,
	.timers = console_timers,
	.ntimers = sizeof(console_timers) / sizeof(console_timers[0]),
};
