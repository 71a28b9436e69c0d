/* `kefu-sim call`: a scripted gateway or agent. See cmd_call.h. */
#include "tests/sim/cmd_call.h"

#include "tests/sim/simopt.h"

#include "cluster/rpc.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "lib/tls.h"
#include "proto/frame.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STEPS_MAX 512
#define LINE_MAX_ 1024
#define ARGS_MAX 24
#define KEPT_MAX 256             /* received messages not yet taken by an expect */
#define EXPECT_MS_DEFAULT 10000u
#define AWAIT_MS_DEFAULT 30000u
#define AWAIT_POLL_MS 20u
#define CONNECT_MS 10000u

struct step {
	char *words[ARGS_MAX];
	size_t n;
	unsigned line;
};

struct call {
	const char *cluster, *node, *as, *script;
	struct step steps[STEPS_MAX];
	size_t nsteps, cur;
	char addr[272], ca[1024], cert[1024], key[1024];
	struct loop *loop;
	struct tls_ctx *tls;
	struct rpc *rpc;
	struct loop_alarm *alarm;   /* the deadline of the step waiting */
	uint64_t await_until;       /* an await step's deadline (loop_now_ms) */
	bool waiting, up;
	json_t *kept[KEPT_MAX];
	size_t nkept;
	json_t *last;               /* what the last expect matched */
	int status;
};

#define SETTER(field) SIMOPT_STR(struct call, field)
SETTER(cluster)
SETTER(node)
SETTER(as)
SETTER(script)

static const struct simopt opts[] = {
	{"cluster", "FILE", true, set_cluster, "cluster.json of the test harness"},
	{"node", "NAME", true, set_node, "the node to connect to"},
	{"as", "ROLE", true, set_as, "gateway or admin (the cluster's certificate for it), or agent (none)"},
	{"script", "FILE", false, set_script, "the steps (default: standard input)"},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static void finish(struct call *k, int status)
{
	k->status = status;
	loop_stop(k->loop);
}

__attribute__((format(printf, 2, 3)))
static void step_fail(struct call *k, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kefu-sim call: line %u: ", k->steps[k->cur].line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	finish(k, 1);
}

/* ---- messages as JSON, through the protobuf-c descriptors ---- */

static json_t *msg_json(const ProtobufCMessage *m);

static json_t *value_json(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		return json_string(*(char *const *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_ENUM:
		return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT32:
		return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
		return json_integer((json_int_t) * (const uint64_t *)p);
	case PROTOBUF_C_TYPE_INT64:
		return json_integer(*(const int64_t *)p);
	case PROTOBUF_C_TYPE_MESSAGE:
		return msg_json(*(ProtobufCMessage *const *)p);
	case PROTOBUF_C_TYPE_BYTES:
		return json_integer((json_int_t)((const ProtobufCBinaryData *)p)->len);
	default:
		return json_null();
	}
}

static json_t *msg_json(const ProtobufCMessage *m)
{
	json_t *o = json_object();
	const char *base = (const char *)m;

	for (unsigned i = 0; m && i < m->descriptor->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &m->descriptor->fields[i];

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			const char *arr = *(char *const *)(base + f->offset);
			json_t *a = json_array();

			for (size_t j = 0; j < n; j++)
				json_array_append_new(a, value_json(f, arr + j * proto_elem_size(f)));
			json_object_set_new(o, f->name, a);
		} else if (proto_field_present(m, f)) {
			json_object_set_new(o, f->name, value_json(f, base + f->offset));
		}
	}
	return o;
}

static json_t *envelope_json(const Kefu__Envelope *e)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field(&kefu__envelope__descriptor, e->body_case);
	json_t *o;

	if (!f)
		return NULL;
	o = msg_json(*(ProtobufCMessage *const *)((const char *)e + f->offset));
	json_object_set_new(o, "body", json_string(f->name));
	return o;
}

/* The field at a dotted path of o ("articles.0.title": a number indexes
 * a list), or NULL. */
static json_t *json_path(json_t *o, const char *path)
{
	char buf[128];
	char *dot;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf; o && p; p = dot) {
		dot = strchr(p, '.');
		if (dot)
			*dot++ = '\0';
		if (json_is_array(o)) {
			char *end;
			unsigned long i = strtoul(p, &end, 10);

			o = *p && !*end ? json_array_get(o, i) : NULL;
		} else {
			o = json_object_get(o, p);
		}
	}
	return o;
}

/* The text of a scalar: strings as they are, numbers in decimal, true/false. */
static void json_text(json_t *v, char *out, size_t cap)
{
	if (json_is_string(v))
		snprintf(out, cap, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, cap, "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		snprintf(out, cap, "%s", json_is_true(v) ? "true" : "false");
	else
		snprintf(out, cap, "%s", v ? "?" : "");
}

/* A VALUE: "@FIELD" is that field of the last match. */
static void resolve(struct call *k, const char *val, char *out, size_t cap)
{
	if (val[0] == '@' && k->last)
		json_text(json_path(k->last, val + 1), out, cap);
	else
		snprintf(out, cap, "%s", val);
}

/* ---- building a message to send ---- */

static int field_set(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, const char *val)
{
	char *p = (char *)m + f->offset;
	char *end;
	unsigned long long u = strtoull(val, &end, 10);
	long long s = strtoll(val, NULL, 10);

	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		/* Repeated strings: one value per FIELD=VALUE, appended. */
		size_t *n = (size_t *)((char *)m + f->quantifier_offset);
		char ***arr = (char ***)p;

		if (f->type != PROTOBUF_C_TYPE_STRING)
			return -1;
		*arr = realloc(*arr, (*n + 1) * sizeof(char *));
		if (!*arr)
			abort();
		(*arr)[(*n)++] = strdup(val);
		return 0;
	}
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		free(*(char **)p);
		*(char **)p = strdup(val);
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		*(protobuf_c_boolean *)p = strcmp(val, "true") == 0;
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_ENUM:
		*(uint32_t *)p = (uint32_t)u;
		break;
	case PROTOBUF_C_TYPE_INT32:
		*(int32_t *)p = (int32_t)s;
		break;
	case PROTOBUF_C_TYPE_UINT64:
		*(uint64_t *)p = u;
		break;
	case PROTOBUF_C_TYPE_INT64:
		*(int64_t *)p = s;
		break;
	default:
		return -1;
	}
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
		*(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = 1;
	return 0;
}

/* The field of m that path names, "a.b.c" descending into sub-messages
 * (made when absent); *into is the message that holds it. NULL: no such. */
static const ProtobufCFieldDescriptor *field_at(ProtobufCMessage *m, char *path,
						ProtobufCMessage **into)
{
	char *dot = strchr(path, '.');
	const ProtobufCFieldDescriptor *f;
	ProtobufCMessage **sub;

	if (dot)
		*dot = '\0';
	f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, path);
	if (!dot) {
		*into = m;
		return f;
	}
	if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED)
		return NULL;
	sub = (ProtobufCMessage **)((char *)m + f->offset);
	if (!*sub) {
		const ProtobufCMessageDescriptor *sd = f->descriptor;

		*sub = calloc(1, sd->sizeof_message);
		if (!*sub)
			abort();
		sd->message_init(*sub);
	}
	return field_at(*sub, dot + 1, into);
}

static void do_send(struct call *k, const struct step *st)
{
	const ProtobufCFieldDescriptor *bf;
	const ProtobufCMessageDescriptor *d;
	Kefu__Envelope *e = malloc(sizeof(*e));
	ProtobufCMessage *body, *into;

	if (!e)
		abort();
	kefu__envelope__init(e);
	bf = st->n > 1 ? protobuf_c_message_descriptor_get_field_by_name(&kefu__envelope__descriptor,
									    st->words[1])
		       : NULL;
	if (!bf || bf->type != PROTOBUF_C_TYPE_MESSAGE) {
		free(e);
		step_fail(k, "no message body '%s'", st->n > 1 ? st->words[1] : "");
		return;
	}
	d = bf->descriptor;
	body = calloc(1, d->sizeof_message);
	if (!body)
		abort();
	d->message_init(body);
	*(ProtobufCMessage **)((char *)e + bf->offset) = body;
	e->body_case = bf->id;
	for (size_t i = 2; i < st->n; i++) {
		char name[64], val[LINE_MAX_];
		const char *eq = strchr(st->words[i], '=');
		const ProtobufCFieldDescriptor *f;

		if (!eq || (size_t)(eq - st->words[i]) >= sizeof(name)) {
			step_fail(k, "'%s' is not FIELD=VALUE", st->words[i]);
			goto out;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(eq - st->words[i]), st->words[i]);
		resolve(k, eq + 1, val, sizeof(val));
		f = field_at(body, name, &into);
		if (!f || field_set(into, f, val) != 0) {
			step_fail(k, "cannot set field '%s'", name);
			goto out;
		}
	}
	if (rpc_send(k->rpc, e) != 0)
		step_fail(k, "%s", "send failed: the connection is gone");
out:
	protobuf_c_message_free_unpacked(&e->base, NULL);
}

/* ---- expectations ---- */

/* Whether body is one of alts, "name|name|...". */
static bool body_in(const char *body, const char *alts)
{
	size_t n = strlen(body);

	for (const char *p = alts; p; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL)
		if (strncmp(p, body, n) == 0 && (p[n] == '|' || p[n] == '\0'))
			return true;
	return false;
}

/* Whether o is of body (or one of the bodies a|b) and has every FIELD=VALUE
 * of the step (from word 2). */
static bool matches(struct call *k, json_t *o, const struct step *st)
{
	if (!body_in(json_string_value(json_object_get(o, "body")), st->words[1]))
		return false;
	for (size_t i = 2; i < st->n; i++) {
		char name[128], want[LINE_MAX_], got[LINE_MAX_];
		const char *eq = strchr(st->words[i], '=');

		if (!eq || strncmp(st->words[i], "within=", 7) == 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(eq - st->words[i]), st->words[i]);
		resolve(k, eq + 1, want, sizeof(want));
		json_text(json_path(o, name), got, sizeof(got));
		if (strcmp(want, got) != 0)
			return false;
	}
	return true;
}

/* Take the first kept message matching the step; true when one was. */
static bool take(struct call *k, const struct step *st)
{
	for (size_t i = 0; i < k->nkept; i++) {
		if (!matches(k, k->kept[i], st))
			continue;
		json_decref(k->last);
		k->last = k->kept[i];
		memmove(&k->kept[i], &k->kept[i + 1], (k->nkept - i - 1) * sizeof(k->kept[0]));
		k->nkept--;
		return true;
	}
	return false;
}

static bool any_of(struct call *k, const char *body)
{
	for (size_t i = 0; i < k->nkept; i++)
		if (strcmp(json_string_value(json_object_get(k->kept[i], "body")), body) == 0)
			return true;
	return false;
}

static uint64_t step_ms(const struct step *st, size_t from, uint64_t dflt)
{
	for (size_t i = from; i < st->n; i++) {
		const char *w = st->words[i];

		if (strncmp(w, "within=", 7) == 0)
			w += 7;
		else if (strchr(w, '='))
			continue;
		return strtoull(w, NULL, 10);
	}
	return dflt;
}

/* Run steps until one has to wait or the script ends. */
static void run(struct call *k)
{
	while (k->up && !k->waiting && k->cur < k->nsteps && k->status < 0) {
		const struct step *st = &k->steps[k->cur];
		const char *verb = st->words[0];

		if (strcmp(verb, "send") == 0) {
			do_send(k, st);
		} else if (strcmp(verb, "expect") == 0 && st->n > 1) {
			if (!take(k, st)) {
				k->waiting = true;
				loop_alarm_set(k->alarm, step_ms(st, 2, EXPECT_MS_DEFAULT));
				return;
			}
		} else if (strcmp(verb, "none") == 0 && st->n > 2) {
			if (any_of(k, st->words[1])) {
				step_fail(k, "a message %s came", st->words[1]);
				return;
			}
			k->waiting = true;
			loop_alarm_set(k->alarm, step_ms(st, 2, 0));
			return;
		} else if (strcmp(verb, "sleep") == 0 && st->n > 1) {
			k->waiting = true;
			loop_alarm_set(k->alarm, step_ms(st, 1, 0));
			return;
		} else if (strcmp(verb, "await") == 0 && st->n > 1) {
			if (access(st->words[1], F_OK) != 0) {
				k->waiting = true;
				k->await_until = loop_now_ms() + step_ms(st, 2, AWAIT_MS_DEFAULT);
				loop_alarm_set(k->alarm, AWAIT_POLL_MS);
				return;
			}
		} else {
			step_fail(k, "unknown step '%s'", verb);
			return;
		}
		k->cur++;
	}
	if (k->status < 0 && k->cur == k->nsteps)
		finish(k, 0);
}

static void on_alarm(void *arg)
{
	struct call *k = arg;
	const struct step *st;

	if (!k->up) {
		fprintf(stderr, "kefu-sim call: no connection to %s\n", k->addr);
		finish(k, 1);
		return;
	}
	st = &k->steps[k->cur];
	if (strcmp(st->words[0], "await") == 0 && access(st->words[1], F_OK) != 0) {
		if (loop_now_ms() >= k->await_until) {
			k->waiting = false;
			step_fail(k, "no file %s came in time", st->words[1]);
		} else {
			loop_alarm_set(k->alarm, AWAIT_POLL_MS);
		}
		return;
	}
	k->waiting = false;
	if (strcmp(st->words[0], "expect") == 0) {
		step_fail(k, "no %s as expected came in time", st->words[1]);
		return;
	}
	if (strcmp(st->words[0], "none") == 0 && any_of(k, st->words[1])) {
		step_fail(k, "a message %s came", st->words[1]);
		return;
	}
	k->cur++;
	run(k);
}

static void on_message(void *arg, const Kefu__Envelope *e)
{
	struct call *k = arg;
	json_t *o = envelope_json(e);
	char *text;

	if (!o)
		return;
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	if (text) {
		printf("%s\n", text);
		fflush(stdout);
		free(text);
	}
	if (k->nkept == KEPT_MAX) {
		json_decref(k->kept[0]);
		memmove(&k->kept[0], &k->kept[1], (KEPT_MAX - 1) * sizeof(k->kept[0]));
		k->nkept--;
	}
	k->kept[k->nkept++] = o;
	if (k->waiting && strcmp(k->steps[k->cur].words[0], "expect") == 0 &&
	    take(k, &k->steps[k->cur])) {
		loop_alarm_cancel(k->alarm);
		k->waiting = false;
		k->cur++;
		run(k);
	}
}

static void on_state(void *arg, int err, const char *detail)
{
	struct call *k = arg;

	if (err) {
		fprintf(stderr, "kefu-sim call: connection to %s: %s%s%s\n", k->addr, kf_strerror(err),
			detail ? ": " : "", detail ? detail : "");
		finish(k, 1);
		return;
	}
	k->up = true;
	loop_alarm_cancel(k->alarm);
	run(k);
}

/* ---- setup ---- */

static int load_script(struct call *k)
{
	FILE *f = k->script ? fopen(k->script, "r") : stdin;
	char line[LINE_MAX_];
	unsigned lineno = 0;

	if (!f) {
		fprintf(stderr, "kefu-sim call: cannot open %s\n", k->script);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct step *st = &k->steps[k->nsteps];
		char *p = line;

		lineno++;
		while (st->n < ARGS_MAX) {
			size_t len;

			p += strspn(p, " \t\r\n");
			len = strcspn(p, " \t\r\n");
			if (!len)
				break;
			st->words[st->n++] = strndup(p, len);
			p += len;
		}
		if (st->n == 0 || st->words[0][0] == '#') {
			for (size_t i = 0; i < st->n; i++)
				free(st->words[i]);
			st->n = 0;
			continue;
		}
		st->line = lineno;
		if (++k->nsteps == STEPS_MAX)
			break;
	}
	if (f != stdin)
		fclose(f);
	return 0;
}

static int load_cluster(struct call *k)
{
	json_error_t jerr;
	json_t *c = json_load_file(k->cluster, 0, &jerr), *n;
	bool gateway = strcmp(k->as, "gateway") == 0, admin = strcmp(k->as, "admin") == 0;
	size_t i;

	if (!c) {
		fprintf(stderr, "kefu-sim call: %s: %s\n", k->cluster, jerr.text);
		return -1;
	}
	json_array_foreach(json_object_get(c, "nodes"), i, n)
	{
		if (strcmp(json_string_value(json_object_get(n, "name")) ?: "", k->node) == 0)
			snprintf(k->addr, sizeof(k->addr), "%s",
				 json_string_value(json_object_get(n, "addr")) ?: "");
	}
	snprintf(k->ca, sizeof(k->ca), "%s", json_string_value(json_object_get(c, "ca")) ?: "");
	if (gateway || admin) {
		snprintf(k->cert, sizeof(k->cert), "%s",
			 json_string_value(json_object_get(c, gateway ? "gateway_cert" : "admin_cert")) ?: "");
		snprintf(k->key, sizeof(k->key), "%s",
			 json_string_value(json_object_get(c, gateway ? "gateway_key" : "admin_key")) ?: "");
	}
	json_decref(c);
	if (!k->addr[0] || !k->ca[0] || ((gateway || admin) && !k->cert[0])) {
		fprintf(stderr, "kefu-sim call: %s has no node %s, no ca or no certificate for %s\n",
			k->cluster, k->node, k->as);
		return -1;
	}
	return 0;
}

int cmd_call_main(int argc, char **argv)
{
	static struct call k; /* large: the script */
	struct rpc_opts ro = {.state = on_state, .unsolicited = on_message, .arg = &k};
	struct tls_opts to = {0};
	char err[256];
	int r;

	k.status = -1;
	switch (simopt_parse(opts, NOPTS, argc - 1, argv + 1, &k, err, sizeof(err))) {
	case SIMOPT_OK:
		break;
	case SIMOPT_HELP:
		printf("usage: kefu-sim call --cluster FILE --node NAME --as gateway|agent|admin [--script FILE]\n");
		simopt_usage(stdout, opts, NOPTS);
		return 0;
	default:
		fprintf(stderr, "kefu-sim call: %s\n", err);
		return 2;
	}
	if (strcmp(k.as, "gateway") != 0 && strcmp(k.as, "agent") != 0 && strcmp(k.as, "admin") != 0) {
		fprintf(stderr, "kefu-sim call: --as is gateway, agent or admin\n");
		return 2;
	}
	if (load_cluster(&k) || load_script(&k))
		return 2;
	to.ca_file = k.ca;
	to.cert_file = k.cert[0] ? k.cert : NULL;
	to.key_file = k.key[0] ? k.key : NULL;
	if (tls_ctx_new(&to, &k.tls, err, sizeof(err)) != 0) {
		fprintf(stderr, "kefu-sim call: TLS: %s\n", err);
		return 2;
	}
	if ((r = loop_new(&k.loop)) != 0) {
		fprintf(stderr, "kefu-sim call: event loop: %s\n", kf_strerror(r));
		tls_ctx_free(k.tls);
		return 1;
	}
	k.alarm = loop_alarm_new(k.loop, on_alarm, &k);
	ro.loop = k.loop;
	ro.addr = k.addr;
	ro.tls = k.tls;
	if ((r = rpc_new(&ro, &k.rpc)) != 0) {
		fprintf(stderr, "kefu-sim call: cannot dial %s: %s\n", k.addr, kf_strerror(r));
		k.status = 1;
	} else {
		loop_alarm_set(k.alarm, CONNECT_MS);
		loop_run(k.loop);
	}
	rpc_free(k.rpc);
	loop_alarm_free(k.alarm);
	loop_run(k.loop);
	loop_free(k.loop);
	tls_ctx_free(k.tls);
	for (size_t i = 0; i < k.nkept; i++)
		json_decref(k.kept[i]);
	json_decref(k.last);
	for (size_t i = 0; i < k.nsteps; i++)
		for (size_t j = 0; j < k.steps[i].n; j++)
			free(k.steps[i].words[j]);
	return k.status < 0 ? 1 : k.status;
}
