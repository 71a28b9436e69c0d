/*
 * kefuctl's agent accounts and audit log commands.
 *
 * Changes go through a node to the leader (AgentWriteRequest). A new
 * password travels itself, over the TLS admin link: the leader checks it
 * against the password policy (lib/password.h, and the agent's last
 * passwords) and hashes it, so no client can store a hash that passes by
 * the policy. A password is read from a file or stdin, never from the
 * command line (where `ps` and shell history see it).
 * Listings come from a node's replica, page by page, or from a database
 * directory with --db. No listing ever shows a password hash.
 */
#include "cluster/kefuctl/ctl.h"

#include "lib/err.h"
#include "lib/password.h"
#include "storage/accounts.h"
#include "storage/audit.h"
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

#define CALL_TIMEOUT_MS 30000
#define S(x) ((x) ? (x) : "")

/* ---- printing: one sink for online pages and offline scans ---- */

struct out {
	bool json;
	size_t n;
};

/* The groups of a as text "G1,G2" into out ("-" for none). */
static void groups_text(const Kefu__Agent *a, char *out, size_t cap)
{
	size_t n = 0;

	snprintf(out, cap, "%s", a->n_groups ? "" : "-");
	for (size_t i = 0; i < a->n_groups && n < cap; i++) {
		int w = snprintf(out + n, cap - n, "%s%s", i ? "," : "", S(a->groups[i]));

		if (w < 0)
			break;
		n += (size_t)w;
	}
}

static void agent_print(struct out *o, const Kefu__Agent *a)
{
	char groups[ACCOUNTS_GROUPS_MAX * (ACCOUNTS_GROUP_NAME_MAX + 1) + 1];

	if (o->json) {
		json_t *gs = json_array(), *j;

		for (size_t i = 0; gs && i < a->n_groups; i++)
			json_array_append_new(gs, json_string(S(a->groups[i])));
		j = json_pack("{s:s, s:s, s:s, s:o, s:I, s:s, s:b, s:I, s:I}", "id", S(a->id),
			      "name", S(a->name), "role", S(a->role), "groups", gs, "order",
			      (json_int_t)a->order, "skills", S(a->skills), "enabled",
			      a->has_enabled && a->enabled, "created_ms", (json_int_t)a->created_ms,
			      "updated_ms", (json_int_t)a->updated_ms);

		if (j) {
			json_dumpf(j, stdout, JSON_COMPACT);
			putchar('\n');
			json_decref(j);
		}
	} else {
		groups_text(a, groups, sizeof(groups));
		if (o->n == 0)
			printf("%-20s %-10s %6s %-8s %-24s %-24s %s\n", "ID", "ROLE", "ORDER", "STATE",
			       "NAME", "GROUPS", "SKILLS");
		printf("%-20s %-10s %6u %-8s %-24s %-24s %s\n", S(a->id), S(a->role), a->order,
		       a->has_enabled && a->enabled ? "enabled" : "disabled", S(a->name), groups,
		       S(a->skills));
	}
	o->n++;
}

void ctl_time_text(uint64_t ms, char *buf, size_t cap)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	if (!localtime_r(&secs, &tm) || strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm) == 0) {
		snprintf(buf, cap, "%" PRIu64, ms);
		return;
	}
	snprintf(buf + strlen(buf), cap - strlen(buf), ".%03u", (unsigned)(ms % 1000));
}

static void audit_print(struct out *o, const Kefu__AuditEntry *e)
{
	char when[64];

	ctl_time_text(e->time_ms, when, sizeof(when));
	if (o->json) {
		json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "time_ms",
				      (json_int_t)e->time_ms, "time", when, "node", S(e->node), "agent",
				      S(e->agent), "action", S(e->action), "subject", S(e->subject),
				      "detail", S(e->detail));

		if (j) {
			json_dumpf(j, stdout, JSON_COMPACT);
			putchar('\n');
			json_decref(j);
		}
	} else {
		printf("%s %s %s %s %s%s%s\n", when, S(e->node), S(e->agent), S(e->action),
		       e->subject && *e->subject ? e->subject : "-", e->detail && *e->detail ? " " : "",
		       S(e->detail));
	}
	o->n++;
}

/* ---- options shared by the subcommands ---- */

/* Read a password: the file's first line (or stdin for "-"), one trailing
 * newline removed. The buffer is wiped by the caller. */
static int read_password(const char *path, char *pw, size_t cap, size_t *len)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r;

	if (fd < 0) {
		fprintf(stderr, "kefuctl: %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	while (n < cap && (r = read(fd, pw + n, cap - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += (size_t)r;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (n && pw[n - 1] == '\n')
		n--;
	if (n && pw[n - 1] == '\r')
		n--;
	if (!password_is_acceptable(pw, n)) {
		fprintf(stderr, "kefuctl: the password must be 1..%d bytes on one line, "
				"without control characters\n",
			PASSWORD_LEN_MAX);
		return EXIT_USAGE;
	}
	*len = n;
	return 0;
}


struct agent_args {
	Kefu__Agent a;
	char group[ACCOUNTS_GROUPS_MAX][ACCOUNTS_GROUP_NAME_MAX + 1];
	char *groups[ACCOUNTS_GROUPS_MAX]; /* a.groups: into group */
	const char *password_file;
	bool json;
	const char *db;
};

enum {
	OPT_ID = 'i',
	OPT_NAME = 'n',
	OPT_SKILLS = 's',
	OPT_ORDER = 'o',
	OPT_ROLE = 'r',
	OPT_GROUPS = 'g',
	OPT_PASSWORD_FILE = 'p',
	OPT_ENABLE = 'e',
	OPT_JSON = 'j',
	OPT_DB = 'd',
};

/* --groups G1,G2 into g->a (groups_set; "" is no groups). Returns 0 or
 * EXIT_USAGE naming the bad group. */
static int groups_option(const char *text, struct agent_args *g)
{
	const char *p = text;
	bool more = *text != '\0';
	size_t n = 0;

	while (more) {
		size_t len = strcspn(p, ",");

		if (n == ACCOUNTS_GROUPS_MAX)
			return ctl_usage_error("--groups: more than %d groups", ACCOUNTS_GROUPS_MAX);
		if (len <= ACCOUNTS_GROUP_NAME_MAX) {
			memcpy(g->group[n], p, len);
			g->group[n][len] = '\0';
		}
		if (len > ACCOUNTS_GROUP_NAME_MAX || !accounts_group_is_valid(g->group[n]))
			return ctl_usage_error("--groups: bad group name \"%.*s\": 1..%d of a-z 0-9 "
					       "_ . -, beginning with a letter or digit",
					       (int)len, p, ACCOUNTS_GROUP_NAME_MAX);
		for (size_t k = 0; k < n; k++)
			if (strcmp(g->group[k], g->group[n]) == 0)
				return ctl_usage_error("--groups: group %s given twice", g->group[n]);
		g->groups[n] = g->group[n];
		n++;
		more = p[len] == ',';
		p += len + more;
	}
	g->a.n_groups = n;
	g->a.groups = n ? g->groups : NULL;
	g->a.has_groups_set = 1;
	g->a.groups_set = 1;
	return 0;
}

/* The options each subcommand takes, as a string of OPT_* letters. */
static int agent_options(int argc, char **argv, const char *allowed, struct agent_args *g)
{
	static const struct option opts[] = {
		{"id", required_argument, NULL, OPT_ID},
		{"name", required_argument, NULL, OPT_NAME},
		{"skills", required_argument, NULL, OPT_SKILLS},
		{"order", required_argument, NULL, OPT_ORDER},
		{"role", required_argument, NULL, OPT_ROLE},
		{"groups", required_argument, NULL, OPT_GROUPS},
		{"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
		{"enable", no_argument, NULL, OPT_ENABLE},
		{"json", no_argument, NULL, OPT_JSON},
		{"db", required_argument, NULL, OPT_DB},
		{NULL, 0, NULL, 0},
	};
	struct accounts_skills sk;
	char why[ACCOUNTS_WHY_MAX];
	uint64_t v;
	int c, r;

	memset(g, 0, sizeof(*g));
	kefu__agent__init(&g->a);
	/* getopt takes abbreviations: "--password SECRET" would pass as
	 * --password-file and name the secret in an error. Only the full name. */
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		size_t n = strcspn(argv[i], "=");

		if (strncmp(argv[i], "--p", 3) == 0 &&
		    (n != strlen("--password-file") || strncmp(argv[i], "--password-file", n) != 0))
			return ctl_usage_error("a password is never given on the command line: use "
					       "--password-file FILE, or - for stdin");
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == '?' || !strchr(allowed, c))
			return ctl_usage_error("%s does not take that option", argv[0]);
		switch (c) {
		case OPT_ID:
			if (!accounts_id_is_valid(optarg))
				return ctl_usage_error("--id is 1..%d of A-Z a-z 0-9 _ . -",
						       ACCOUNTS_ID_MAX);
			g->a.id = optarg;
			break;
		case OPT_NAME: g->a.name = optarg; break;
		case OPT_SKILLS:
			if (accounts_skills_parse(optarg, strlen(optarg), &sk, why, sizeof(why)))
				return ctl_usage_error("--skills: %s", why);
			g->a.skills = optarg;
			break;
		case OPT_ORDER:
			if (ctl_parse_u64(optarg, 0, ACCOUNTS_ORDER_MAX, &v))
				return ctl_usage_error("--order takes 0..%d", ACCOUNTS_ORDER_MAX);
			g->a.has_order = 1;
			g->a.order = (uint32_t)v;
			break;
		case OPT_ROLE:
			if (!accounts_role_is_valid(optarg))
				return ctl_usage_error("--role is agent, handler, supervisor or editor");
			g->a.role = optarg;
			break;
		case OPT_GROUPS:
			if ((r = groups_option(optarg, g)))
				return r;
			break;
		case OPT_PASSWORD_FILE: g->password_file = optarg; break;
		case OPT_ENABLE:
			g->a.has_enabled = 1;
			g->a.enabled = 1;
			break;
		case OPT_JSON: g->json = true; break;
		case OPT_DB: g->db = optarg; break;
		}
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument %s", argv[optind]);
	if (strchr(allowed, OPT_ID) && !g->a.id)
		return ctl_usage_error("--id ID is required");
	return 0;
}

/* ---- online changes ---- */

static int agent_write(Kefu__AgentWriteRequest__Op op, Kefu__Agent *a, char *password)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT;
	Kefu__AgentWriteRequest wr = KEFU__AGENT_WRITE_REQUEST__INIT;

	wr.has_op = 1;
	wr.op = op;
	wr.agent = a;
	wr.password = password;
	req.body_case = KEFU__ENVELOPE__BODY_AGENT_WRITE;
	req.agent_write = &wr;
	return ctl_admin_request(&req, CALL_TIMEOUT_MS);
}

/* A change with the new password of the file path (the node checks it
 * against the policy and hashes it). */
static int agent_write_password(Kefu__AgentWriteRequest__Op op, Kefu__Agent *a, const char *path)
{
	char pw[PASSWORD_LEN_MAX + 2];
	size_t len = 0;
	int r = read_password(path, pw, sizeof(pw) - 1, &len);

	if (r == 0) {
		pw[len] = '\0';
		r = agent_write(op, a, pw);
	}
	explicit_bzero(pw, sizeof(pw));
	return r;
}

static int agent_add(int argc, char **argv)
{
	struct agent_args g;
	int r = agent_options(argc, argv, "insorgp", &g);

	if (r)
		return r;
	if (!g.a.name || !g.a.skills || !g.password_file)
		return ctl_usage_error("--name, --skills and --password-file are required");
	return agent_write_password(KEFU__AGENT_WRITE_REQUEST__OP__ADD, &g.a, g.password_file);
}

static int agent_passwd(int argc, char **argv)
{
	struct agent_args g;
	int r = agent_options(argc, argv, "ip", &g);

	if (r)
		return r;
	if (!g.password_file)
		return ctl_usage_error("--password-file FILE (or - for stdin) is required");
	return agent_write_password(KEFU__AGENT_WRITE_REQUEST__OP__PASSWD, &g.a, g.password_file);
}

static int agent_update(int argc, char **argv)
{
	struct agent_args g;
	int r = agent_options(argc, argv, "insorge", &g);

	if (r)
		return r;
	if (!g.a.name && !g.a.skills && !g.a.has_order && !g.a.role && !g.a.has_enabled &&
	    !g.a.has_groups_set)
		return ctl_usage_error("nothing to change");
	return agent_write(KEFU__AGENT_WRITE_REQUEST__OP__UPDATE, &g.a, NULL);
}

static int agent_disable(int argc, char **argv)
{
	struct agent_args g;
	int r = agent_options(argc, argv, "i", &g);

	return r ? r : agent_write(KEFU__AGENT_WRITE_REQUEST__OP__DISABLE, &g.a, NULL);
}

/* End the agent's session wherever it is (a supervisor's act, audited). */
static int agent_logout(int argc, char **argv)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT;
	Kefu__ForceLogout fl = KEFU__FORCE_LOGOUT__INIT;
	struct agent_args g;
	int r = agent_options(argc, argv, "i", &g);

	if (r)
		return r;
	fl.agent_id = g.a.id;
	req.body_case = KEFU__ENVELOPE__BODY_FORCE_LOGOUT;
	req.force_logout = &fl;
	return ctl_admin_request(&req, CALL_TIMEOUT_MS);
}

/* ---- listings ---- */

static int agent_list_online(int argc, char **argv)
{
	struct agent_args g;
	struct out o = {false, 0};
	char after[ACCOUNTS_ID_MAX + 1] = "";
	int r = agent_options(argc, argv, "j", &g);

	if (r)
		return r;
	o.json = g.json;
	for (;;) {
		Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
		Kefu__AgentListRequest lr = KEFU__AGENT_LIST_REQUEST__INIT;
		const Kefu__AgentListReply *l;
		bool more;

		lr.after = after[0] ? after : NULL;
		req.body_case = KEFU__ENVELOPE__BODY_AGENT_LIST;
		req.agent_list = &lr;
		if ((r = ctl_request(&req, KEFU__ENVELOPE__BODY_AGENT_LIST_REPLY, CALL_TIMEOUT_MS,
				     &rep)))
			return r;
		l = rep->agent_list_reply;
		for (size_t i = 0; i < l->n_agents; i++)
			agent_print(&o, l->agents[i]);
		more = l->next && *l->next && accounts_id_is_valid(l->next) && strcmp(l->next, after) > 0;
		if (more)
			snprintf(after, sizeof(after), "%s", l->next);
		kefu__envelope__free_unpacked(rep, NULL);
		if (!more)
			return 0;
	}
}

/* Open the node database at dir read for listings; it must exist. */
static int open_existing(const char *dir, struct store **s)
{
	char path[4096];
	struct stat st;
	int r;

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (stat(path, &st) != 0) {
		fprintf(stderr, "kefuctl: no database in %s\n", dir);
		return EXIT_USAGE;
	}
	if ((r = store_open(dir, NULL, s))) {
		fprintf(stderr, "kefuctl: cannot open database %s: %s\n", dir, kf_strerror(r));
		return EXIT_USAGE;
	}
	return 0;
}

static int agent_visit(void *arg, const Kefu__Agent *a)
{
	agent_print(arg, a);
	return 0;
}

static int audit_visit(void *arg, const Kefu__AuditEntry *e)
{
	audit_print(arg, e);
	return 0;
}

int ctl_list_offline(const char *dir, ctl_list_fn run, void *arg)
{
	struct store *s;
	struct store_txn *t;
	int r = open_existing(dir, &s);

	if (r)
		return r;
	if ((r = store_read_begin(s, &t)) == 0) {
		r = run(t, arg);
		store_abort(t);
	}
	store_free(s);
	if (r) {
		fprintf(stderr, "kefuctl: listing failed: %s\n", kf_strerror(r));
		return EXIT_USAGE;
	}
	return 0;
}

static int agents_run(struct store_txn *t, void *arg)
{
	return accounts_list(t, NULL, agent_visit, arg);
}

static const struct agent_sub {
	const char *name;
	int (*fn)(int argc, char **argv);
} agent_subs[] = {
	{"add", agent_add},
	{"passwd", agent_passwd},
	{"update", agent_update},
	{"disable", agent_disable},
	{"logout", agent_logout},
	{"list", agent_list_online},
};

int ctl_agent(int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage_error("which agent command?");
	for (size_t i = 0; i < sizeof(agent_subs) / sizeof(agent_subs[0]); i++)
		if (strcmp(argv[1], agent_subs[i].name) == 0)
			return agent_subs[i].fn(argc - 1, argv + 1);
	return ctl_usage_error("unknown agent command %s", argv[1]);
}

int ctl_agent_offline(int argc, char **argv)
{
	struct agent_args g;
	struct out o = {false, 0};
	int r;

	if (argc < 2 || strcmp(argv[1], "list") != 0)
		return ctl_usage_error("only agent list works on a database (--db); changes go "
				       "through a node");
	if ((r = agent_options(argc - 1, argv + 1, "jd", &g)))
		return r;
	if (!g.db)
		return ctl_usage_error("--db DIR is required");
	o.json = g.json;
	return ctl_list_offline(g.db, agents_run, &o);
}

/* ---- audit ---- */

static int parse_local_time(const char *s, uint64_t *ms)
{
	struct tm tm, back;
	int f[6], w[6] = {4, 2, 2, 2, 2, 2};
	time_t t;
	size_t p = 0;

	if (strlen(s) != 14)
		return KF_EPARSE;
	for (int i = 0; i < 6; i++) {
		f[i] = 0;
		for (int k = 0; k < w[i]; k++, p++) {
			if (s[p] < '0' || s[p] > '9')
				return KF_EPARSE;
			f[i] = f[i] * 10 + (s[p] - '0');
		}
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = f[0] - 1900;
	tm.tm_mon = f[1] - 1;
	tm.tm_mday = f[2];
	tm.tm_hour = f[3];
	tm.tm_min = f[4];
	tm.tm_sec = f[5];
	tm.tm_isdst = -1;
	back = tm;
	t = mktime(&tm);
	/* mktime moves 31 April to 1 May: such a date is refused. */
	if (t == (time_t)-1 || t < 0 || tm.tm_mday != back.tm_mday || tm.tm_mon != back.tm_mon ||
	    tm.tm_year != back.tm_year || tm.tm_min != back.tm_min || tm.tm_sec != back.tm_sec)
		return KF_EPARSE;
	*ms = (uint64_t)t * 1000;
	return 0;
}

int ctl_local_time_arg(const char *opt, const char *arg, uint64_t *ms)
{
	if (parse_local_time(arg, ms))
		return ctl_usage_error("--%s takes a local time YYYYMMDDHHMMSS", opt);
	return 0;
}

int ctl_list_args(int argc, char **argv, bool since, struct ctl_list_args *g)
{
	static const struct option opts[] = {
		{"since", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"db", required_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(g, 0, sizeof(*g));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!since)
				return ctl_usage_error("unknown option");
			if (ctl_local_time_arg("since", optarg, &g->since_ms))
				return EXIT_USAGE;
			break;
		case 'j': g->json = true; break;
		case 'd': g->db = optarg; break;
		default: return ctl_usage_error("unknown option");
		}
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument %s", argv[optind]);
	return 0;
}

static void audit_page(void *arg, const ProtobufCMessage *page)
{
	const Kefu__AuditListReply *l = (const Kefu__AuditListReply *)page;

	for (size_t i = 0; i < l->n_entries; i++)
		audit_print(arg, l->entries[i]);
}

int ctl_audit(int argc, char **argv)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT;
	Kefu__AuditListRequest lr = KEFU__AUDIT_LIST_REQUEST__INIT;
	struct ctl_list_args g;
	struct out o;
	int r = ctl_list_args(argc, argv, true, &g);

	if (r)
		return r;
	o = (struct out){g.json, 0};
	lr.has_since_ms = 1;
	lr.since_ms = g.since_ms;
	req.body_case = KEFU__ENVELOPE__BODY_AUDIT_LIST;
	req.audit_list = &lr;
	return ctl_request_pages(&req, KEFU__ENVELOPE__BODY_AUDIT_LIST_REPLY, CALL_TIMEOUT_MS,
				 audit_page, &o);
}

struct audit_run {
	uint64_t since_ms;
	struct out o;
};

static int audit_run(struct store_txn *t, void *arg)
{
	struct audit_run *a = arg;

	return audit_list(t, a->since_ms, NULL, 0, audit_visit, &a->o);
}

int ctl_audit_offline(int argc, char **argv)
{
	struct ctl_list_args g;
	struct audit_run a;
	int r = ctl_list_args(argc, argv, true, &g);

	if (r)
		return r;
	a = (struct audit_run){g.since_ms, {g.json, 0}};
	return ctl_list_offline(g.db, audit_run, &a);
}
