/*
 * kefuctl order: work orders through a running node, as the admin
 * (proto/kefu.proto, "Work orders"). Every subcommand is one request, but
 * list, which follows the reply's `next` page by page, and create, which
 * may be sent again: it carries a client_ref (--ref, or 32 random hex
 * digits), and a create sent again with the same client_ref answers the
 * order the first one made. So when the answer is lost (a dropped link, a
 * timeout, an Error saying the write "may or may not" have been applied)
 * the same request goes to the next node, up to CREATE_RETRIES times.
 *
 * Exit status: 0 success; 1 the node refused (its Error message is
 * printed), no node answered, the link failed, or `order check` found a
 * mismatch; 2 bad usage, or a local file that cannot be read or written.
 */
#include "cluster/kefuctl/ctl.h"

#include "lib/err.h"
#include "storage/store.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ORDER_TIMEOUT_MS 30000
#define ATTACH_MAX (48 * 1024)   /* bytes of one attachment */
#define ATTACH_COUNT_MAX 4       /* attachments of one request */
#define ATTACH_NAME_MAX 255
#define REF_MAX 64               /* OrderCreate.client_ref */
#define MSISDN_MAX 32
#define CREATE_RETRIES 5
#define LIST_PAGE_MAX 500        /* OrderList.limit asked for at most: the node's page */
#define LIST_LIMIT_MAX 10000000u

#define S(x) ((x) ? (x) : "")
#define DASH(x) ((x) && *(x) ? (x) : "-")

/* ---- options ---- */

enum {
	OPT_MSISDN = 'm',
	OPT_KIND = 'k',
	OPT_CATEGORY = 'c',
	OPT_URGENCY = 'u',
	OPT_CHANNEL = 'C',
	OPT_OWNER = 'o',
	OPT_TEXT = 't',
	OPT_CALL_ID = 'i',
	OPT_ATTACH = 'a',
	OPT_REF = 'r',
	OPT_JSON = 'j',
	OPT_ATTACHMENTS = 'A',
	OPT_STATE = 's',
	OPT_GROUP = 'g',
	OPT_OVERDUE = 'O',
	OPT_LIMIT = 'l',
	OPT_NOTE = 'n',
	OPT_FROM = 'F',
	OPT_TO = 'T',
};

static const struct option order_opts[] = {
	{"msisdn", required_argument, NULL, OPT_MSISDN},
	{"kind", required_argument, NULL, OPT_KIND},
	{"category", required_argument, NULL, OPT_CATEGORY},
	{"urgency", required_argument, NULL, OPT_URGENCY},
	{"channel", required_argument, NULL, OPT_CHANNEL},
	{"owner", required_argument, NULL, OPT_OWNER},
	{"text", required_argument, NULL, OPT_TEXT},
	{"call-id", required_argument, NULL, OPT_CALL_ID},
	{"attach", required_argument, NULL, OPT_ATTACH},
	{"ref", required_argument, NULL, OPT_REF},
	{"json", no_argument, NULL, OPT_JSON},
	{"attachments", required_argument, NULL, OPT_ATTACHMENTS},
	{"state", required_argument, NULL, OPT_STATE},
	{"group", required_argument, NULL, OPT_GROUP},
	{"overdue", no_argument, NULL, OPT_OVERDUE},
	{"limit", required_argument, NULL, OPT_LIMIT},
	{"note", required_argument, NULL, OPT_NOTE},
	{"from", required_argument, NULL, OPT_FROM},
	{"to", required_argument, NULL, OPT_TO},
	{NULL, 0, NULL, 0},
};

static const char *const urgencies[] = {"urgent", "normal", NULL};
static const char *const channels[] = {"phone", "web", "sms", "email", "letter", "walk-in", NULL};
/* The actions whose step must say why (proto/kefu.proto, OrderTransition). */
static const char *const note_actions[] = {"return", "cancel", "unsatisfied", "reassign", NULL};

struct order_args {
	const char *msisdn, *kind, *category, *urgency, *channel, *owner, *text, *call_id;
	const char *ref, *dir, *state, *group, *note, *from, *to;
	const char *attach[ATTACH_COUNT_MAX];
	size_t nattach;
	uint64_t limit; /* 0: all */
	bool overdue, json;
	const char *pos[2]; /* ID, ACTION */
	size_t npos;
};

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* The long name of option letter c. */
static const char *opt_name(int c)
{
	for (const struct option *o = order_opts; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

/* A phone number as typed: digits, an optional leading '+'. */
static bool msisdn_is_valid(const char *s)
{
	size_t n = strlen(s), i = s[0] == '+';

	if (n <= i || n > MSISDN_MAX)
		return false;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* A client_ref: 1..REF_MAX printable ASCII characters, no space. */
static bool ref_is_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > REF_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

/*
 * Parse a subcommand's options into *a: argv[0] is the subcommand, allowed
 * the OPT_* letters it takes, npos how many positional arguments it wants
 * (named in what, for the message when they are missing). Returns 0 or
 * EXIT_USAGE (after printing why).
 */
static int order_options(int argc, char **argv, const char *allowed, size_t npos,
			 const char *what, struct order_args *a)
{
	uint64_t v;
	int c;

	memset(a, 0, sizeof(*a));
	/* 0, not 1: getopt starts afresh, in its permuting mode ("show ID --json"
	 * as "show --json ID"), whatever the global options' parse left. */
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", order_opts, NULL)) != -1) {
		if (c == ':')
			return ctl_usage_error("%s needs a value", argv[optind - 1]);
		if (c == '?')
			return ctl_usage_error("unknown option %s", argv[optind - 1]);
		if (!strchr(allowed, c))
			return ctl_usage_error("order %s does not take --%s", argv[0], opt_name(c));
		switch (c) {
		case OPT_MSISDN:
			if (!msisdn_is_valid(optarg))
				return ctl_usage_error("--msisdn takes a phone number (digits, up to %d)",
						       MSISDN_MAX);
			a->msisdn = optarg;
			break;
		case OPT_KIND: a->kind = optarg; break;
		case OPT_CATEGORY: a->category = optarg; break;
		case OPT_URGENCY:
			if (!in_list(urgencies, optarg))
				return ctl_usage_error("--urgency is urgent or normal, not %s", optarg);
			a->urgency = optarg;
			break;
		case OPT_CHANNEL:
			if (!in_list(channels, optarg))
				return ctl_usage_error("--channel is one of phone, web, sms, email, letter, "
						       "walk-in, not %s",
						       optarg);
			a->channel = optarg;
			break;
		case OPT_OWNER: a->owner = optarg; break;
		case OPT_TEXT: a->text = optarg; break;
		case OPT_CALL_ID: a->call_id = optarg; break;
		case OPT_ATTACH:
			if (a->nattach == ATTACH_COUNT_MAX)
				return ctl_usage_error("--attach: at most %d files", ATTACH_COUNT_MAX);
			a->attach[a->nattach++] = optarg;
			break;
		case OPT_REF:
			if (!ref_is_valid(optarg))
				return ctl_usage_error("--ref is 1..%d printable characters without spaces",
						       REF_MAX);
			a->ref = optarg;
			break;
		case OPT_JSON: a->json = true; break;
		case OPT_ATTACHMENTS: a->dir = optarg; break;
		case OPT_STATE: a->state = optarg; break;
		case OPT_GROUP: a->group = optarg; break;
		case OPT_OVERDUE: a->overdue = true; break;
		case OPT_LIMIT:
			if (ctl_parse_u64(optarg, 1, LIST_LIMIT_MAX, &v))
				return ctl_usage_error("--limit takes 1..%u", LIST_LIMIT_MAX);
			a->limit = v;
			break;
		case OPT_NOTE: a->note = optarg; break;
		case OPT_FROM: a->from = optarg; break;
		case OPT_TO: a->to = optarg; break;
		}
		/* An empty value is never meant: say so rather than send it. */
		if (optarg && !*optarg)
			return ctl_usage_error("--%s must not be empty", opt_name(c));
	}
	for (; optind < argc; optind++) {
		if (a->npos == npos)
			return ctl_usage_error("unexpected argument %s", argv[optind]);
		if (!*argv[optind])
			return ctl_usage_error("an empty argument where %s is wanted", what);
		a->pos[a->npos++] = argv[optind];
	}
	if (a->npos < npos)
		return ctl_usage_error("order %s needs %s", argv[0], what);
	return 0;
}

/* ---- attachments ---- */

/* The files of --attach, read into attachments (names: their basenames). */
struct attach_set {
	Kefu__OrderAttachment att[ATTACH_COUNT_MAX];
	Kefu__OrderAttachment *ptr[ATTACH_COUNT_MAX];
	uint8_t *buf[ATTACH_COUNT_MAX];
	size_t n;
};

static void attach_release(struct attach_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->buf[i]);
	s->n = 0;
}

/* Read path into the next attachment of s. Returns 0 or EXIT_USAGE (said why). */
static int attach_read(struct attach_set *s, const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	Kefu__OrderAttachment *a = &s->att[s->n];
	struct stat st;
	uint8_t *buf;
	size_t len = 0;
	ssize_t r;
	int fd;

	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strlen(name) > ATTACH_NAME_MAX)
		return ctl_usage_error("--attach %s: not a file name", path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ctl_usage_error("--attach %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ctl_usage_error("--attach %s: not a regular file", path);
	}
	if (st.st_size > ATTACH_MAX) {
		close(fd);
		return ctl_usage_error("--attach %s: %lld bytes, over the limit of %d (48 KiB)", path,
				       (long long)st.st_size, ATTACH_MAX);
	}
	buf = malloc(ATTACH_MAX + 1);
	if (!buf)
		abort();
	/* One byte more than allowed: a file that grew since fstat is caught. */
	while (len <= ATTACH_MAX && (r = read(fd, buf + len, ATTACH_MAX + 1 - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			close(fd);
			free(buf);
			return ctl_usage_error("--attach %s: %s", path, strerror(e));
		}
		len += (size_t)r;
	}
	close(fd);
	if (len > ATTACH_MAX) {
		free(buf);
		return ctl_usage_error("--attach %s: over the limit of %d bytes (48 KiB)", path,
				       ATTACH_MAX);
	}
	kefu__order_attachment__init(a);
	a->name = (char *)name;
	a->has_data = 1;
	a->data.data = buf;
	a->data.len = len;
	s->buf[s->n] = buf;
	s->ptr[s->n] = a;
	s->n++;
	return 0;
}

/* Read every --attach of a into s; on failure s holds nothing. */
static int attach_read_all(struct attach_set *s, const struct order_args *a)
{
	int r;

	s->n = 0;
	for (size_t i = 0; i < a->nattach; i++) {
		if ((r = attach_read(s, a->attach[i]))) {
			attach_release(s);
			return r;
		}
	}
	return 0;
}

/* An attachment's name as a file name in a folder: no path, nothing hidden
 * behind "." or "..", no control characters. */
static bool attach_name_is_safe(const char *name)
{
	if (!name || !*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strlen(name) > ATTACH_NAME_MAX)
		return false;
	for (const char *p = name; *p; p++)
		if (*p == '/' || (unsigned char)*p < ' ' || *p == 0x7f)
			return false;
	return true;
}

/*
 * Write the reply's attachments into the folder dirfd (named dir) under
 * their names. A name that is no plain file name is refused and skipped.
 * Returns 0, EXIT_NEGATIVE (a name refused) or EXIT_USAGE (a write failed).
 */
static int attach_save(int dirfd, const char *dir, const Kefu__OrderReply *rep, bool quiet)
{
	int rc = 0;

	for (size_t i = 0; i < rep->n_attachments; i++) {
		const Kefu__OrderAttachment *a = rep->attachments[i];
		size_t off = 0;
		int fd;

		if (!attach_name_is_safe(a->name)) {
			fprintf(stderr, "kefuctl: attachment name \"%.80s\" refused: not a plain file "
					"name\n",
				S(a->name));
			if (!rc)
				rc = EXIT_NEGATIVE;
			continue;
		}
		fd = openat(dirfd, a->name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "kefuctl: %s/%s: %s\n", dir, a->name, strerror(errno));
			rc = EXIT_USAGE;
			continue;
		}
		while (off < a->data.len) {
			ssize_t w = write(fd, a->data.data + off, a->data.len - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				break;
			off += (size_t)w;
		}
		if (off < a->data.len || close(fd) != 0) {
			fprintf(stderr, "kefuctl: %s/%s: %s\n", dir, a->name, strerror(errno));
			if (off < a->data.len)
				close(fd);
			rc = EXIT_USAGE;
			continue;
		}
		if (!quiet)
			printf("saved %s/%s (%zu bytes)\n", dir, a->name, a->data.len);
	}
	return rc;
}

/* ---- JSON ---- */

/* A string as JSON: bytes that are not UTF-8 become '?' (a node should
 * never send them, and one bad name must not hide the whole order). */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(S(s));
	char *copy;

	if (j)
		return j;
	copy = strdup(s);
	if (!copy)
		abort();
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* NULL or "" as null. */
static json_t *jstr_or_null(const char *s)
{
	return s && *s ? jstr(s) : json_null();
}

static json_t *jint(uint64_t v)
{
	return json_integer((json_int_t)v);
}

/* 0 as null: "no time". */
static json_t *jms_or_null(uint64_t ms)
{
	return ms ? jint(ms) : json_null();
}

static json_t *clock_json(const Kefu__OrderClock *c)
{
	json_t *o = json_object();

	json_object_set_new(o, "due_ms", jms_or_null(c->due_ms));
	json_object_set_new(o, "met_ms", jms_or_null(c->met_ms));
	json_object_set_new(o, "paused", json_boolean(c->paused));
	json_object_set_new(o, "target_ms", jint(c->target_ms));
	json_object_set_new(o, "used_ms", jint(c->used_ms));
	json_object_set_new(o, "cycle", jint(c->cycle));
	json_object_set_new(o, "next_level", jint(c->next_level));
	json_object_set_new(o, "next_ms", jms_or_null(c->next_ms));
	return o;
}

static const char *const clock_names[] = {"first_response", "update", "solution"};
#define NCLOCKS (sizeof(clock_names) / sizeof(clock_names[0]))

/* A clock's name: its own, or by its place (the three come in that order). */
static const char *clock_name(const Kefu__WorkOrder *o, size_t i)
{
	const char *n = o->clocks[i]->name;

	return n && *n ? n : i < NCLOCKS ? clock_names[i] : NULL;
}

/* The order as the JSON contract has it; history only when asked. */
static json_t *order_json(const Kefu__WorkOrder *o, bool history)
{
	json_t *j = json_object(), *clocks = json_object(), *esc = json_array();

	json_object_set_new(j, "id", jstr(o->id));
	json_object_set_new(j, "kind", jstr(o->kind));
	json_object_set_new(j, "category", jstr(o->category));
	json_object_set_new(j, "state", jstr(o->state));
	json_object_set_new(j, "urgency", jstr(o->urgency));
	json_object_set_new(j, "msisdn", jstr(o->msisdn));
	json_object_set_new(j, "owner", jstr(o->owner));
	json_object_set_new(j, "group", jstr(o->group));
	json_object_set_new(j, "user_id", jstr(o->user_id));
	json_object_set_new(j, "cust_id", jstr(o->cust_id));
	json_object_set_new(j, "vip_level", jint(o->vip_level));
	json_object_set_new(j, "city", jstr(o->city));
	json_object_set_new(j, "channel", jstr(o->channel));
	json_object_set_new(j, "description", jstr(o->description));
	json_object_set_new(j, "handler", jstr(o->handler));
	json_object_set_new(j, "created_ms", jint(o->created_ms));
	json_object_set_new(j, "updated_ms", jint(o->updated_ms));
	json_object_set_new(j, "first_kind", jstr(o->first_kind));
	json_object_set_new(j, "reopens", jint(o->reopens));
	json_object_set_new(j, "attachments", jint(o->attachments));
	json_object_set_new(j, "visit_due_ms", jms_or_null(o->visit_due_ms));
	json_object_set_new(j, "satisfaction", jstr_or_null(o->satisfaction));
	json_object_set_new(j, "call_id", jstr(o->call_id));
	json_object_set_new(j, "client_ref", jstr(o->client_ref));
	json_object_set_new(j, "waiting_from", jstr_or_null(o->waiting_from));

	for (size_t i = 0; i < NCLOCKS; i++)
		json_object_set_new(clocks, clock_names[i], json_null());
	for (size_t i = 0; i < o->n_clocks; i++)
		if (clock_name(o, i))
			json_object_set_new(clocks, clock_name(o, i), clock_json(o->clocks[i]));
	json_object_set_new(j, "clocks", clocks);

	for (size_t i = 0; i < o->n_escalations; i++) {
		const Kefu__OrderEscalation *e = o->escalations[i];
		json_t *x = json_object();

		json_object_set_new(x, "clock", jstr(e->clock));
		json_object_set_new(x, "level", jint(e->level));
		json_object_set_new(x, "at_ms", jint(e->at_ms));
		json_object_set_new(x, "action", jstr(e->action));
		json_object_set_new(x, "due_ms", jint(e->due_ms));
		json_object_set_new(x, "cycle", jint(e->cycle));
		json_object_set_new(x, "node", jstr(e->node));
		json_array_append_new(esc, x);
	}
	json_object_set_new(j, "escalations", esc);

	if (history) {
		json_t *h = json_array();

		for (size_t i = 0; i < o->n_history; i++) {
			const Kefu__OrderStep *s = o->history[i];
			json_t *x = json_object();

			json_object_set_new(x, "action", jstr(s->action));
			json_object_set_new(x, "from", jstr(s->from));
			json_object_set_new(x, "to", jstr(s->to));
			json_object_set_new(x, "by", jstr(s->by));
			json_object_set_new(x, "at_ms", jint(s->at_ms));
			json_object_set_new(x, "note", jstr_or_null(s->note));
			json_object_set_new(x, "role", jstr_or_null(s->role));
			json_object_set_new(x, "group", jstr_or_null(s->group));
			json_object_set_new(x, "owner", jstr_or_null(s->owner));
			json_array_append_new(h, x);
		}
		json_object_set_new(j, "history", h);
	}
	return j;
}

/* One line of JSON on stdout; takes j. */
static void json_line(json_t *j)
{
	json_dumpf(j, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(j);
}

/* ---- text ---- */

/* A span of time as hours and minutes ("2h00m"; seconds when there are any). */
static void span_text(uint64_t ms, char *buf, size_t cap)
{
	uint64_t min = ms / 60000, sec = ms / 1000 % 60;

	if (sec)
		snprintf(buf, cap, "%" PRIu64 "h%02um%02us", min / 60, (unsigned)(min % 60),
			 (unsigned)sec);
	else
		snprintf(buf, cap, "%" PRIu64 "h%02um", min / 60, (unsigned)(min % 60));
}

/* Where a clock stands: "due <time>", "met at <time>", "paused" or "-". */
static void clock_state_text(const Kefu__OrderClock *c, char *buf, size_t cap)
{
	char t[64];

	if (c->met_ms) {
		ctl_time_text(c->met_ms, t, sizeof(t));
		snprintf(buf, cap, "met at %s", t);
	} else if (c->paused) {
		snprintf(buf, cap, "paused");
	} else if (c->due_ms) {
		ctl_time_text(c->due_ms, t, sizeof(t));
		snprintf(buf, cap, "due %s", t);
	} else {
		snprintf(buf, cap, "-");
	}
}

static void order_text(const Kefu__WorkOrder *o)
{
	char t[64], u[64], st[96];

	printf("order        %s\n", DASH(o->id));
	printf("kind         %s  %s", DASH(o->kind), DASH(o->category));
	if (o->first_kind && *o->first_kind && (!o->kind || strcmp(o->first_kind, o->kind) != 0))
		printf("  (created as %s)", o->first_kind);
	putchar('\n');
	printf("state        %s", DASH(o->state));
	if (o->waiting_from && *o->waiting_from)
		printf("  (from %s)", o->waiting_from);
	if (o->reopens)
		printf("  reopened %u time%s", o->reopens, o->reopens == 1 ? "" : "s");
	putchar('\n');
	printf("urgency      %s\n", DASH(o->urgency));
	printf("subscriber   %s  user %s  customer %s  tier %u  city %s\n", DASH(o->msisdn),
	       DASH(o->user_id), DASH(o->cust_id), o->vip_level, DASH(o->city));
	printf("channel      %s", DASH(o->channel));
	if (o->call_id && *o->call_id)
		printf("  call %s", o->call_id);
	putchar('\n');
	printf("owner        %s\n", DASH(o->owner));
	printf("group        %s\n", DASH(o->group));
	printf("handler      %s\n", DASH(o->handler));
	ctl_time_text(o->created_ms, t, sizeof(t));
	ctl_time_text(o->updated_ms, u, sizeof(u));
	printf("created      %s  (updated %s)\n", t, u);
	if (o->visit_due_ms) {
		ctl_time_text(o->visit_due_ms, t, sizeof(t));
		printf("visit due    %s\n", t);
	}
	if (o->satisfaction && *o->satisfaction)
		printf("satisfaction %s\n", o->satisfaction);
	printf("attachments  %u\n", o->attachments);
	printf("description  %s\n", S(o->description));

	printf("clocks\n");
	for (size_t i = 0; i < o->n_clocks; i++) {
		const Kefu__OrderClock *c = o->clocks[i];

		span_text(c->target_ms, t, sizeof(t));
		span_text(c->used_ms, u, sizeof(u));
		clock_state_text(c, st, sizeof(st));
		printf("  %-15s target %-9s %-34s used %s", S(clock_name(o, i)), t, st, u);
		if (c->cycle)
			printf("  cycle %u", c->cycle);
		if (c->next_level && c->next_ms) {
			ctl_time_text(c->next_ms, t, sizeof(t));
			printf("  next %u%% at %s", c->next_level, t);
		}
		putchar('\n');
	}
	if (o->n_clocks == 0)
		printf("  (none)\n");

	printf("escalations\n");
	for (size_t i = 0; i < o->n_escalations; i++) {
		const Kefu__OrderEscalation *e = o->escalations[i];

		ctl_time_text(e->at_ms, t, sizeof(t));
		ctl_time_text(e->due_ms, u, sizeof(u));
		printf("  %s  %-15s %3u%%  %-10s (due %s, cycle %u, by %s)\n", t, S(e->clock),
		       e->level, DASH(e->action), u, e->cycle, DASH(e->node));
	}
	if (o->n_escalations == 0)
		printf("  (none)\n");

	if (o->n_history)
		printf("history\n");
	for (size_t i = 0; i < o->n_history; i++) {
		const Kefu__OrderStep *s = o->history[i];

		ctl_time_text(s->at_ms, t, sizeof(t));
		printf("  %s  %-11s %s -> %s  by %s", t, DASH(s->action), DASH(s->from), DASH(s->to),
		       DASH(s->by));
		if (s->role && *s->role)
			printf(" (%s)", s->role);
		if (s->group && *s->group)
			printf("  [group %s]", s->group);
		if (s->owner && *s->owner)
			printf("  [owner %s]", s->owner);
		if (s->note && *s->note)
			printf("  %s", s->note);
		putchar('\n');
	}
}

/* The earliest due time of the running clocks, or "paused" when every
 * clock still open is paused, or "-". */
static void list_due_text(const Kefu__WorkOrder *o, char *buf, size_t cap)
{
	uint64_t due = 0;
	bool paused = false;

	for (size_t i = 0; i < o->n_clocks; i++) {
		const Kefu__OrderClock *c = o->clocks[i];

		if (c->met_ms)
			continue;
		if (c->paused)
			paused = true;
		else if (c->due_ms && (!due || c->due_ms < due))
			due = c->due_ms;
	}
	if (due)
		ctl_time_text(due, buf, cap);
	else
		snprintf(buf, cap, "%s", paused ? "paused" : "-");
}

static void order_print(const Kefu__WorkOrder *o, bool json)
{
	if (json)
		json_line(order_json(o, true));
	else
		order_text(o);
}

/* ---- requests ---- */

static int order_request(Kefu__Envelope *req, Kefu__Envelope__BodyCase want, size_t *node,
			 Kefu__Envelope **out)
{
	return ctl_call_expect(req, want, ORDER_TIMEOUT_MS, node, out);
}

/* An OrderReply printed: the order, and with dirfd >= 0 its attachments
 * saved in dir. Returns an exit status; frees rep. */
static int order_reply_finish(Kefu__Envelope *rep, bool json, int dirfd, const char *dir)
{
	const Kefu__OrderReply *rp = rep->order_reply;
	int r = 0;

	if (!rp->order) {
		fprintf(stderr, "kefuctl: the node answered without an order\n");
		r = EXIT_NEGATIVE;
	} else {
		order_print(rp->order, json);
		if (dirfd >= 0)
			r = attach_save(dirfd, dir, rp, json);
	}
	kefu__envelope__free_unpacked(rep, NULL);
	return r;
}

/* 32 hex digits from /dev/urandom into ref[33]. */
static int random_ref(char ref[33])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	size_t n = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (n < sizeof(b)) {
		ssize_t r = read(fd, b + n, sizeof(b) - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			close(fd);
			return r < 0 ? -errno : -EIO;
		}
		n += (size_t)r;
	}
	close(fd);
	for (size_t i = 0; i < sizeof(b); i++) {
		ref[2 * i] = hex[b[i] >> 4];
		ref[2 * i + 1] = hex[b[i] & 15];
	}
	ref[32] = '\0';
	return 0;
}

/* The Error that says a write's fate is unknown: the same create again
 * (same client_ref) settles it. */
/* ---- subcommands ---- */

static int order_create(int argc, char **argv)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
	Kefu__OrderCreate oc = KEFU__ORDER_CREATE__INIT;
	struct order_args a;
	struct attach_set at;
	char ref[33], again[160];
	int r = order_options(argc, argv, "mkcuCotiarj", 0, "", &a);

	if (r)
		return r;
	if (!a.msisdn)
		return ctl_usage_error("--msisdn N is required");
	if (!a.kind)
		return ctl_usage_error("--kind K is required");
	if (!a.category)
		return ctl_usage_error("--category C is required");
	if (!a.text)
		return ctl_usage_error("--text T is required");
	if (!a.ref) {
		if ((r = random_ref(ref))) {
			fprintf(stderr, "kefuctl: /dev/urandom: %s\n", kf_strerror(r));
			return EXIT_USAGE;
		}
		a.ref = ref;
	}
	if ((r = attach_read_all(&at, &a)))
		return r;
	oc.client_ref = (char *)a.ref;
	oc.msisdn = (char *)a.msisdn;
	oc.kind = (char *)a.kind;
	oc.category = (char *)a.category;
	oc.urgency = (char *)a.urgency;
	oc.channel = (char *)a.channel;
	oc.owner = (char *)a.owner;
	oc.description = (char *)a.text;
	oc.call_id = (char *)a.call_id;
	oc.n_attachments = at.n;
	oc.attachments = at.ptr;
	req.body_case = KEFU__ENVELOPE__BODY_ORDER_CREATE;
	req.order_create = &oc;
	snprintf(again, sizeof(again), "the order may or may not exist; the same command with "
		 "--ref %s finds it", a.ref);
	r = ctl_request_sure(&req, KEFU__ENVELOPE__BODY_ORDER_REPLY, ORDER_TIMEOUT_MS,
			     CREATE_RETRIES, again, &rep);
	attach_release(&at);
	return r ? r : order_reply_finish(rep, a.json, -1, NULL);
}

static int order_show(int argc, char **argv)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
	Kefu__OrderShow os = KEFU__ORDER_SHOW__INIT;
	struct order_args a;
	size_t node = 0;
	int dirfd = -1;
	int r = order_options(argc, argv, "jA", 1, "an order ID", &a);

	if (r)
		return r;
	if (a.dir) {
		dirfd = open(a.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0)
			return ctl_usage_error("--attachments %s: %s", a.dir, strerror(errno));
	}
	os.id = (char *)a.pos[0];
	os.has_attachments = a.dir != NULL;
	os.attachments = a.dir != NULL;
	req.body_case = KEFU__ENVELOPE__BODY_ORDER_SHOW;
	req.order_show = &os;
	r = order_request(&req, KEFU__ENVELOPE__BODY_ORDER_REPLY, &node, &rep);
	if (r == 0)
		r = order_reply_finish(rep, a.json, dirfd, a.dir);
	if (dirfd >= 0)
		close(dirfd);
	return r;
}

struct list_out {
	bool json;
	uint64_t limit, printed;
	const char *owner; /* --owner: only this owner's orders are printed */
};

static void list_print(struct list_out *lo, const Kefu__WorkOrder *o)
{
	char due[64];

	if (lo->json) {
		json_line(order_json(o, false));
	} else {
		if (lo->printed == 0)
			printf("%-18s %-11s %-10s %-7s %-12s %-12s %-15s %s\n", "ID", "STATE", "KIND",
			       "URGENCY", "GROUP", "OWNER", "MSISDN", "DUE");
		list_due_text(o, due, sizeof(due));
		printf("%-18s %-11s %-10s %-7s %-12s %-12s %-15s %s\n", DASH(o->id), DASH(o->state),
		       DASH(o->kind), DASH(o->urgency), DASH(o->group), DASH(o->owner),
		       DASH(o->msisdn), due);
	}
	lo->printed++;
}

/* A page of an order listing seen; returns the limit of the next page to
 * ask for (kept only where ol->has_limit), 0 to stop. */
typedef uint32_t (*order_page_fn)(void *arg, const Kefu__OrderListReply *l);

/* Pages through the listing ol asks for, each page to visit. */
static int order_pages(Kefu__OrderList *ol, order_page_fn visit, void *arg)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT;
	uint8_t cur[CTL_CURSOR_MAX];
	size_t clen = 0, node = 0;
	int r;

	req.body_case = KEFU__ENVELOPE__BODY_ORDER_LIST;
	req.order_list = ol;
	for (;;) {
		Kefu__Envelope *rep;
		const Kefu__OrderListReply *l;
		uint32_t next;
		bool more;

		ol->has_after = clen > 0;
		ol->after.data = cur;
		ol->after.len = clen;
		if ((r = order_request(&req, KEFU__ENVELOPE__BODY_ORDER_LIST_REPLY, &node, &rep)))
			return r;
		l = rep->order_list_reply;
		next = visit(arg, l);
		/* A cursor must move forward, or a confused node would loop us. */
		more = next > 0 && l->has_next && l->next.len > 0 && l->next.len <= sizeof(cur) &&
		       store_key_cmp(l->next.data, l->next.len, cur, clen) > 0;
		if (more) {
			memcpy(cur, l->next.data, l->next.len);
			clen = l->next.len;
			ol->limit = next;
		}
		kefu__envelope__free_unpacked(rep, NULL);
		if (!more)
			return 0;
	}
}

/* The limit of the next page of a listing of lo.limit orders (0: all). */
static uint32_t list_next_limit(const struct list_out *lo)
{
	uint64_t left = lo->limit - lo->printed;

	if (!lo->limit)
		return LIST_PAGE_MAX;
	return (uint32_t)(left < LIST_PAGE_MAX ? left : LIST_PAGE_MAX);
}

/* o is owner's (the node's filter checked again: one of an older build
 * lists everyone's orders, not knowing OrderList.owner). */
static bool owned_by(const Kefu__WorkOrder *o, const char *owner)
{
	return o->owner && strcmp(o->owner, owner) == 0;
}

static uint32_t list_page(void *arg, const Kefu__OrderListReply *l)
{
	struct list_out *lo = arg;

	for (size_t i = 0; i < l->n_orders && (!lo->limit || lo->printed < lo->limit); i++)
		if (!lo->owner || owned_by(l->orders[i], lo->owner))
			list_print(lo, l->orders[i]);
	return list_next_limit(lo);
}

static int order_list(int argc, char **argv)
{
	Kefu__OrderList ol = KEFU__ORDER_LIST__INIT;
	struct order_args a;
	struct list_out lo;
	int r = order_options(argc, argv, "sgOmljo", 0, "", &a);

	if (r)
		return r;
	lo = (struct list_out){a.json, a.limit, 0, a.owner};
	ol.owner = (char *)a.owner;
	ol.msisdn = (char *)a.msisdn;
	ol.state = (char *)a.state;
	ol.group = (char *)a.group;
	ol.has_overdue = a.overdue;
	ol.overdue = a.overdue;
	ol.has_limit = lo.limit > 0;
	ol.limit = list_next_limit(&lo);
	return order_pages(&ol, list_page, &lo);
}

static int order_transition(int argc, char **argv)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
	Kefu__OrderTransition ot = KEFU__ORDER_TRANSITION__INIT;
	struct order_args a;
	size_t node = 0;
	int r = order_options(argc, argv, "ngoj", 2, "an order ID and an ACTION", &a);

	if (r)
		return r;
	if (!a.note && in_list(note_actions, a.pos[1]))
		return ctl_usage_error("%s needs --note T (why)", a.pos[1]);
	if (a.group && strcmp(a.pos[1], "dispatch") != 0)
		return ctl_usage_error("--group goes with dispatch only");
	if ((a.owner != NULL) != (strcmp(a.pos[1], "reassign") == 0))
		return ctl_usage_error(a.owner ? "--owner goes with reassign only"
					       : "reassign needs --owner AGENT (the new owner)");
	ot.id = (char *)a.pos[0];
	ot.action = (char *)a.pos[1];
	ot.note = (char *)a.note;
	ot.group = (char *)a.group;
	ot.owner = (char *)a.owner;
	req.body_case = KEFU__ENVELOPE__BODY_ORDER_TRANSITION;
	req.order_transition = &ot;
	r = order_request(&req, KEFU__ENVELOPE__BODY_ORDER_REPLY, &node, &rep);
	return r ? r : order_reply_finish(rep, a.json, -1, NULL);
}

static int order_update(int argc, char **argv)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
	Kefu__OrderUpdate ou = KEFU__ORDER_UPDATE__INIT;
	struct order_args a;
	struct attach_set at;
	size_t node = 0;
	int r = order_options(argc, argv, "naj", 1, "an order ID", &a);

	if (r)
		return r;
	if (!a.note && !a.nattach)
		return ctl_usage_error("nothing to add: give --note T or --attach FILE");
	if ((r = attach_read_all(&at, &a)))
		return r;
	ou.id = (char *)a.pos[0];
	ou.note = (char *)a.note;
	ou.n_attachments = at.n;
	ou.attachments = at.ptr;
	req.body_case = KEFU__ENVELOPE__BODY_ORDER_UPDATE;
	req.order_update = &ou;
	r = order_request(&req, KEFU__ENVELOPE__BODY_ORDER_REPLY, &node, &rep);
	attach_release(&at);
	return r ? r : order_reply_finish(rep, a.json, -1, NULL);
}

static int order_categories(int argc, char **argv)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
	Kefu__OrderCategories oc = KEFU__ORDER_CATEGORIES__INIT;
	const Kefu__OrderCategoriesReply *cr;
	struct order_args a;
	size_t node = 0;
	int r = order_options(argc, argv, "kj", 0, "", &a);

	if (r)
		return r;
	oc.kind = (char *)a.kind;
	req.body_case = KEFU__ENVELOPE__BODY_ORDER_CATEGORIES;
	req.order_categories = &oc;
	if ((r = order_request(&req, KEFU__ENVELOPE__BODY_ORDER_CATEGORIES_REPLY, &node, &rep)))
		return r;
	cr = rep->order_categories_reply;
	if (a.json) {
		json_t *list = json_array();

		for (size_t i = 0; i < cr->n_paths; i++)
			json_array_append_new(list, jstr(cr->paths[i]));
		json_line(json_pack("{s:o}", "categories", list));
	} else {
		for (size_t i = 0; i < cr->n_paths; i++)
			printf("%s\n", S(cr->paths[i]));
	}
	kefu__envelope__free_unpacked(rep, NULL);
	return 0;
}

static int order_check(int argc, char **argv)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
	Kefu__OrderCheck ck = KEFU__ORDER_CHECK__INIT;
	const Kefu__OrderCheckReply *cr;
	struct order_args a;
	size_t node = 0;
	int r = order_options(argc, argv, "j", 0, "", &a);

	if (r)
		return r;
	req.body_case = KEFU__ENVELOPE__BODY_ORDER_CHECK;
	req.order_check = &ck;
	if ((r = order_request(&req, KEFU__ENVELOPE__BODY_ORDER_CHECK_REPLY, &node, &rep)))
		return r;
	cr = rep->order_check_reply;
	if (a.json) {
		json_t *d = json_array();

		for (size_t i = 0; i < cr->n_details; i++)
			json_array_append_new(d, jstr(cr->details[i]));
		json_line(json_pack("{s:I, s:I, s:o}", "orders", (json_int_t)cr->orders,
				    "mismatches", (json_int_t)cr->mismatches, "details", d));
	} else {
		printf("orders=%" PRIu64 " mismatches=%" PRIu64 "\n", cr->orders, cr->mismatches);
		for (size_t i = 0; i < cr->n_details; i++)
			printf("%s\n", S(cr->details[i]));
	}
	r = cr->mismatches > 0 ? EXIT_NEGATIVE : 0;
	kefu__envelope__free_unpacked(rep, NULL);
	return r;
}

/* The open orders of one owner, collected page by page (at most HANDOVER_MAX). */
#define HANDOVER_MAX 100000

struct handover_page {
	const char *owner;
	json_t *ids; /* of its open orders */
};

static uint32_t handover_page(void *arg, const Kefu__OrderListReply *l)
{
	struct handover_page *hp = arg;

	for (size_t i = 0; i < l->n_orders && json_array_size(hp->ids) < HANDOVER_MAX; i++)
		if (owned_by(l->orders[i], hp->owner) && l->orders[i]->id)
			json_array_append_new(hp->ids, json_string(l->orders[i]->id));
	return json_array_size(hp->ids) < HANDOVER_MAX ? LIST_PAGE_MAX : 0;
}

static int handover_collect(const char *owner, json_t *ids)
{
	Kefu__OrderList ol = KEFU__ORDER_LIST__INIT;
	struct handover_page hp = {owner, ids};

	ol.state = "open";
	ol.owner = (char *)owner;
	ol.has_limit = 1;
	ol.limit = LIST_PAGE_MAX;
	return order_pages(&ol, handover_page, &hp);
}

/* order handover: every open order of --from reassigned to --to, one
 * transition each (the leader checks each); those refused are named. */
static int order_handover(int argc, char **argv)
{
	struct order_args a;
	json_t *ids = json_array(), *done = json_array(), *refused = json_array(), *id;
	size_t i;
	size_t node = 0;
	int r = order_options(argc, argv, "FTnj", 0, "", &a);

	if (r)
		goto out;
	if (!a.from || !a.to || !a.note) {
		r = ctl_usage_error("order handover needs --from AGENT --to AGENT --note T (why)");
		goto out;
	}
	if (strcmp(a.from, a.to) == 0) {
		r = ctl_usage_error("--from and --to name the same agent");
		goto out;
	}
	if ((r = handover_collect(a.from, ids)))
		goto out;
	json_array_foreach(ids, i, id)
	{
		Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
		Kefu__OrderTransition ot = KEFU__ORDER_TRANSITION__INIT;

		ot.id = (char *)json_string_value(id);
		ot.action = "reassign";
		ot.owner = (char *)a.to;
		ot.note = (char *)a.note;
		req.body_case = KEFU__ENVELOPE__BODY_ORDER_TRANSITION;
		req.order_transition = &ot;
		if (order_request(&req, KEFU__ENVELOPE__BODY_ORDER_REPLY, &node, &rep) == 0) {
			json_array_append(done, id);
			kefu__envelope__free_unpacked(rep, NULL);
		} else {
			json_array_append(refused, id);
		}
	}
	if (a.json) {
		json_line(json_pack("{s:s, s:s, s:O, s:O}", "from", a.from, "to", a.to, "handed", done,
				    "refused", refused));
	} else {
		printf("handed %zu open orders of %s to %s", json_array_size(done), a.from, a.to);
		if (json_array_size(refused))
			printf("; %zu refused (above)", json_array_size(refused));
		putchar('\n');
	}
	r = json_array_size(refused) ? EXIT_NEGATIVE : 0;
out:
	json_decref(ids);
	json_decref(done);
	json_decref(refused);
	return r;
}

static const struct order_sub {
	const char *name;
	int (*fn)(int argc, char **argv);
} order_subs[] = {
	{"create", order_create},
	{"show", order_show},
	{"list", order_list},
	{"transition", order_transition},
	{"update", order_update},
	{"categories", order_categories},
	{"check", order_check},
	{"handover", order_handover},
};

int ctl_order(int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage_error("which order command? create, show, list, transition, update, "
				       "categories, check or handover");
	for (size_t i = 0; i < sizeof(order_subs) / sizeof(order_subs[0]); i++)
		if (strcmp(argv[1], order_subs[i].name) == 0)
			return order_subs[i].fn(argc - 1, argv + 1);
	return ctl_usage_error("unknown order command %s (create, show, list, transition, update, "
			       "categories, check, handover)",
			       argv[1]);
}
