/* `kefu-sim raw`: arbitrary bytes to a node. See cmd_raw.h. */
#include "tests/sim/cmd_raw.h"

#include "tests/sim/rng.h"
#include "tests/sim/simopt.h"

#include "lib/err.h"
#include "lib/loop.h"
#include "lib/net.h"
#include "lib/tls.h"
#include "lib/webform.h"
#include "proto/frame.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RAW_MAX (FRAME_MAX_LIMIT + 4096)  /* bytes one run may write */
#define REPLY_MAX ((size_t)16 * 1024 * 1024)
#define CONNECT_MS 10000u
#define WAIT_MS_DEFAULT 2000u

struct raw {
	const char *cluster, *node, *as, *send;
	const char *until;          /* stop at the first reply of this body ("" none) */
	bool close_after;
	uint64_t wait_ms;
	char addr[272], ca[1024], cert[1024], key[1024];
	uint8_t *buf;               /* the bytes to write (owned) */
	size_t len, cap;
	struct loop *loop;
	struct net_conn *conn;
	struct loop_alarm *alarm;
	struct frame_decoder dec;
	bool up, done;
	int status;
};

#define SETTER(field) SIMOPT_STR(struct raw, field)
SETTER(cluster)
SETTER(node)
SETTER(as)
SETTER(send)
SETTER(until)

static int set_close(void *ctx, const char *val, char *why, size_t whylen)
{
	(void)val;
	(void)why;
	(void)whylen;
	((struct raw *)ctx)->close_after = true;
	return 0;
}

static int set_wait(void *ctx, const char *val, char *why, size_t whylen)
{
	return simopt_u64(val, 0, 600000, &((struct raw *)ctx)->wait_ms, why, whylen);
}

static const struct simopt opts[] = {
	{"cluster", "FILE", true, set_cluster, "cluster.json of the test harness"},
	{"node", "NAME", true, set_node, "the node to connect to"},
	{"as", "ROLE", true, set_as, "gateway or admin (the cluster's certificate for it), agent (none), or node:NAME (that node's)"},
	{"send", "SPEC", true, set_send, "hex:HEX, header:N, random:N, env:BODY, varint:N, repeat:N*HEX, separated by ','"},
	{"close", NULL, false, set_close, "close once the bytes are written"},
	{"wait", "MS", false, set_wait, "else wait this long for replies or the close (default 2000)"},
	{"until", "BODY", false, set_until, "with --wait: stop at the first reply of this body (e.g. pong)"},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* ---- the bytes ---- */

/* Room for n more bytes; the pointer to them, or NULL over RAW_MAX. */
static uint8_t *raw_grow(struct raw *k, size_t n)
{
	if (n > RAW_MAX - k->len)
		return NULL;
	if (k->len + n > k->cap) {
		size_t cap = k->cap ? k->cap : 4096;

		while (cap < k->len + n)
			cap *= 2;
		k->buf = realloc(k->buf, cap);
		if (!k->buf)
			abort();
		k->cap = cap;
	}
	k->len += n;
	return k->buf + k->len - n;
}

static int put_hex(struct raw *k, const char *v, size_t n)
{
	uint8_t *p;

	if (n % 2 || !(p = raw_grow(k, n / 2)))
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		int hi = webform_hex_digit(v[i]), lo = webform_hex_digit(v[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		p[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int put_count(const char *v, size_t n, uint64_t max, uint64_t *out)
{
	char num[24], why[96];

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, v, n);
	num[n] = '\0';
	return simopt_u64(num, 0, max, out, why, sizeof(why));
}

static int put_header(struct raw *k, const char *v, size_t n)
{
	uint64_t len;
	uint8_t *p;

	if (put_count(v, n, UINT32_MAX, &len) || !(p = raw_grow(k, FRAME_HEADER)))
		return -1;
	frame_header_put(p, (uint32_t)len);
	return 0;
}

static int put_random(struct raw *k, const char *v, size_t n)
{
	struct rng r;
	uint64_t len;
	uint8_t *p;

	if (put_count(v, n, RAW_MAX, &len) || !(p = raw_grow(k, len)))
		return -1;
	rng_init(&r, 1, 0x7261, k->len);
	for (uint64_t i = 0; i < len; i++)
		p[i] = (uint8_t)rng_next(&r);
	return 0;
}

/* varint:N - N as a protobuf varint (a length-delimited field's length). */
static int put_varint(struct raw *k, const char *v, size_t n)
{
	uint64_t x;
	uint8_t tmp[10], *p;
	size_t len = 0;

	if (put_count(v, n, UINT64_MAX, &x))
		return -1;
	do {
		tmp[len++] = (uint8_t)((x & 0x7f) | (x >= 0x80 ? 0x80 : 0));
		x >>= 7;
	} while (x);
	if (!(p = raw_grow(k, len)))
		return -1;
	memcpy(p, tmp, len);
	return 0;
}

/* repeat:N*HEX - the bytes of HEX, N times over. */
static int put_repeat(struct raw *k, const char *v, size_t n)
{
	const char *star = memchr(v, '*', n);
	uint64_t times;
	size_t start = k->len, unit;

	if (!star || put_count(v, (size_t)(star - v), RAW_MAX, &times) ||
	    put_hex(k, star + 1, n - (size_t)(star - v) - 1))
		return -1;
	unit = k->len - start;
	if (unit == 0 || (times && unit > RAW_MAX / times))
		return -1;
	for (uint64_t i = 1; i < times; i++) {
		uint8_t *p = raw_grow(k, unit);

		if (!p)
			return -1;
		memcpy(p, k->buf + start, unit);
	}
	if (times == 0)
		k->len = start;
	return 0;
}

static int put_env(struct raw *k, const char *v, size_t n)
{
	char name[64];
	const ProtobufCFieldDescriptor *bf;
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	ProtobufCMessage *body;
	uint8_t out[256];
	size_t written;
	uint8_t *p;
	int r;

	if (n == 0 || n >= sizeof(name))
		return -1;
	memcpy(name, v, n);
	name[n] = '\0';
	bf = protobuf_c_message_descriptor_get_field_by_name(&kefu__envelope__descriptor, name);
	if (!bf || bf->type != PROTOBUF_C_TYPE_MESSAGE)
		return -1;
	body = calloc(1, ((const ProtobufCMessageDescriptor *)bf->descriptor)->sizeof_message);
	if (!body)
		abort();
	((const ProtobufCMessageDescriptor *)bf->descriptor)->message_init(body);
	*(ProtobufCMessage **)((char *)&e + bf->offset) = body;
	e.body_case = bf->id;
	e.has_request_id = 1;
	e.request_id = 1;
	r = frame_envelope_encode(&e, sizeof(out) - FRAME_HEADER, out, sizeof(out), &written);
	free(body);
	if (r || !(p = raw_grow(k, written)))
		return -1;
	memcpy(p, out, written);
	return 0;
}

static const struct {
	const char *kind;
	int (*put)(struct raw *k, const char *v, size_t n);
} pieces[] = {
	{"hex", put_hex},
	{"header", put_header},
	{"random", put_random},
	{"env", put_env},
	{"varint", put_varint},
	{"repeat", put_repeat},
};

/* The bytes of spec into k->buf; 0, or -1 with the bad piece named in why. */
static int spec_build(struct raw *k, const char *spec, char *why, size_t whylen)
{
	for (const char *p = spec; *p;) {
		size_t n = strcspn(p, ","), i;
		const char *colon = memchr(p, ':', n);

		for (i = 0; colon && i < sizeof(pieces) / sizeof(pieces[0]); i++)
			if (strlen(pieces[i].kind) == (size_t)(colon - p) &&
			    memcmp(p, pieces[i].kind, (size_t)(colon - p)) == 0)
				break;
		if (!colon || i == sizeof(pieces) / sizeof(pieces[0]) ||
		    pieces[i].put(k, colon + 1, n - (size_t)(colon - p) - 1) != 0) {
			snprintf(why, whylen, "bad piece '%.*s'", (int)(n > 60 ? 60 : n), p);
			return -1;
		}
		p += n + (p[n] == ',');
	}
	if (k->len == 0) {
		snprintf(why, whylen, "%s", "nothing to send");
		return -1;
	}
	return 0;
}

/* ---- the connection ---- */

static void print_json(json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	if (text) {
		printf("%s\n", text);
		fflush(stdout);
		free(text);
	}
	json_decref(o);
}

static void finish(struct raw *k, json_t *end)
{
	if (k->done)
		return;
	k->done = true;
	print_json(end);
	k->status = 0;
	loop_stop(k->loop);
}

/* Prints the frame as a line; returns the name of its body (static), NULL
 * when it is no envelope. */
static const char *print_frame(const uint8_t *data, size_t len)
{
	Kefu__Envelope *e;
	const ProtobufCFieldDescriptor *f;
	json_t *o;

	if (frame_envelope_decode(data, len, &e) != 0) {
		print_json(json_pack("{s:n}", "body"));
		return NULL;
	}
	f = protobuf_c_message_descriptor_get_field(&kefu__envelope__descriptor, e->body_case);
	o = json_pack("{s:s}", "body", f ? f->name : "?");
	if (e->body_case == KEFU__ENVELOPE__BODY_ERROR) {
		json_object_set_new(o, "code", json_integer(e->error->code));
		json_object_set_new(o, "error", json_string(kf_errname(e->error->code)));
		json_object_set_new(o, "message", json_string(e->error->message ?: ""));
	}
	print_json(o);
	frame_envelope_free(e);
	return f ? f->name : NULL;
}

static void on_bytes(void *arg, struct net_conn *c, const uint8_t *p, size_t n)
{
	struct raw *k = arg;

	(void)c;
	while (n > 0) {
		struct frame_view f;
		size_t used;
		int r = frame_decode(&k->dec, p, n, &used, &f);

		if (r < 0) {
			fprintf(stderr, "kefu-sim raw: reply stream: %s\n", kf_strerror(r));
			return;
		}
		p += used;
		n -= used;
		if (r == 1) {
			const char *body = print_frame(f.data, f.len);

			if (k->until && body && strcmp(body, k->until) == 0) {
				finish(k, json_pack("{s:s}", "end", "until"));
				return;
			}
		}
	}
}

static void on_open(void *arg, struct net_conn *c)
{
	struct raw *k = arg;
	int r;

	k->up = true;
	loop_alarm_cancel(k->alarm);
	r = net_conn_write(c, k->buf, k->len);
	if (r) {
		fprintf(stderr, "kefu-sim raw: write: %s\n", kf_strerror(r));
		k->status = 1;
		loop_stop(k->loop);
		return;
	}
	if (k->close_after)
		net_conn_close_flushed(c);
	else
		loop_alarm_set(k->alarm, k->wait_ms);
}

static void on_close(void *arg, struct net_conn *c, int reason, const char *detail)
{
	struct raw *k = arg;
	char text[256];

	(void)c;
	k->conn = NULL;
	if (!k->up) {
		fprintf(stderr, "kefu-sim raw: connection to %s: %s%s%s\n", k->addr,
			kf_strerror(reason), detail ? ": " : "", detail ? detail : "");
		k->status = 1;
		loop_stop(k->loop);
		return;
	}
	if (k->close_after && reason == 0) {
		finish(k, json_pack("{s:s}", "end", "sent"));
		return;
	}
	snprintf(text, sizeof(text), "%s%s%s", reason ? kf_strerror(reason) : "closed by the node",
		 detail ? ": " : "", detail ? detail : "");
	finish(k, json_pack("{s:s, s:s}", "end", "closed", "reason", text));
}

static void on_alarm(void *arg)
{
	struct raw *k = arg;

	if (!k->up) {
		fprintf(stderr, "kefu-sim raw: no connection to %s\n", k->addr);
		k->status = 1;
		loop_stop(k->loop);
		return;
	}
	finish(k, json_pack("{s:s}", "end", "open"));
}

/* ---- setup ---- */

static void copy_field(char *dst, size_t cap, json_t *o, const char *name)
{
	snprintf(dst, cap, "%s", json_string_value(json_object_get(o, name)) ?: "");
}

static int load_cluster(struct raw *k)
{
	static const struct {
		const char *as, *cert, *key;
	} roles[] = {
		{"gateway", "gateway_cert", "gateway_key"},
		{"admin", "admin_cert", "admin_key"},
		{"agent", NULL, NULL},
	};
	json_error_t jerr;
	json_t *c, *n;
	size_t i, r;
	const char *as_node = strncmp(k->as, "node:", 5) == 0 ? k->as + 5 : NULL;

	for (r = 0; r < sizeof(roles) / sizeof(roles[0]); r++)
		if (strcmp(k->as, roles[r].as) == 0)
			break;
	if (r == sizeof(roles) / sizeof(roles[0]) && !as_node) {
		fprintf(stderr, "kefu-sim raw: --as is gateway, admin, agent or node:NAME\n");
		return -1;
	}
	c = json_load_file(k->cluster, 0, &jerr);
	if (!c) {
		fprintf(stderr, "kefu-sim raw: %s: %s\n", k->cluster, jerr.text);
		return -1;
	}
	json_array_foreach(json_object_get(c, "nodes"), i, n)
	{
		if (strcmp(json_string_value(json_object_get(n, "name")) ?: "", k->node) == 0)
			copy_field(k->addr, sizeof(k->addr), n, "addr");
	}
	copy_field(k->ca, sizeof(k->ca), c, "ca");
	if (as_node) {
		/* A node's certificate lies beside the CA's: certs/NAME.crt. */
		const char *slash = strrchr(k->ca, '/');
		int dl = slash ? (int)(slash - k->ca) : 1;

		snprintf(k->cert, sizeof(k->cert), "%.*s/%s.crt", dl, slash ? k->ca : ".", as_node);
		snprintf(k->key, sizeof(k->key), "%.*s/%s.key", dl, slash ? k->ca : ".", as_node);
		json_decref(c);
		return k->addr[0] && k->ca[0] ? 0 : -1;
	}
	if (roles[r].cert) {
		copy_field(k->cert, sizeof(k->cert), c, roles[r].cert);
		copy_field(k->key, sizeof(k->key), c, roles[r].key);
	}
	json_decref(c);
	if (!k->addr[0] || !k->ca[0] || (roles[r].cert && !k->cert[0])) {
		fprintf(stderr, "kefu-sim raw: %s has no node %s, no ca or no certificate for %s\n",
			k->cluster, k->node, k->as);
		return -1;
	}
	return 0;
}

int cmd_raw_main(int argc, char **argv)
{
	struct raw k = {.wait_ms = WAIT_MS_DEFAULT, .status = 1};
	struct net_conn_cbs cbs = {on_open, on_bytes, NULL, on_close};
	struct tls_opts to = {0};
	struct net_opts no = {0};
	struct net_dial_opts dial;
	struct tls_ctx *tls;
	char err[256];
	int r;

	switch (simopt_parse(opts, NOPTS, argc - 1, argv + 1, &k, err, sizeof(err))) {
	case SIMOPT_OK:
		break;
	case SIMOPT_HELP:
		printf("usage: kefu-sim raw --cluster FILE --node NAME --as gateway|admin|agent --send SPEC\n"
		       "                    [--close | --wait MS [--until BODY]]\n");
		simopt_usage(stdout, opts, NOPTS);
		return 0;
	default:
		fprintf(stderr, "kefu-sim raw: %s\n", err);
		return 2;
	}
	if (load_cluster(&k))
		return 2;
	if (spec_build(&k, k.send, err, sizeof(err))) {
		fprintf(stderr, "kefu-sim raw: --send: %s\n", err);
		free(k.buf);
		return 2;
	}
	/* A node that cuts the connection must not end this process. */
	signal(SIGPIPE, SIG_IGN);
	to.ca_file = k.ca;
	to.cert_file = k.cert[0] ? k.cert : NULL;
	to.key_file = k.key[0] ? k.key : NULL;
	if (tls_ctx_new(&to, &tls, err, sizeof(err)) != 0) {
		fprintf(stderr, "kefu-sim raw: TLS: %s\n", err);
		free(k.buf);
		return 2;
	}
	if ((r = loop_new(&k.loop)) != 0) {
		fprintf(stderr, "kefu-sim raw: event loop: %s\n", kf_strerror(r));
		tls_ctx_free(tls);
		free(k.buf);
		return 1;
	}
	no.max_out = k.len + 1;
	frame_decoder_init(&k.dec, REPLY_MAX);
	k.alarm = loop_alarm_new(k.loop, on_alarm, &k);
	dial = (struct net_dial_opts){k.loop, k.addr, tls, &no, &cbs, &k};
	r = net_connect_raw(&dial, &k.conn);
	if (r) {
		fprintf(stderr, "kefu-sim raw: cannot dial %s: %s\n", k.addr, kf_strerror(r));
	} else {
		loop_alarm_set(k.alarm, CONNECT_MS);
		loop_run(k.loop);
	}
	net_conn_close(k.conn);
	loop_alarm_free(k.alarm);
	loop_run(k.loop);
	loop_free(k.loop);
	tls_ctx_free(tls);
	frame_decoder_release(&k.dec);
	free(k.buf);
	return k.status;
}
