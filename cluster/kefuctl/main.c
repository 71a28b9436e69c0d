/*
 * kefuctl - the operator's command line.
 *
 *   kefuctl [--node HOST:PORT | --cluster cluster.json [--node HOST:PORT] |
 *            --config FILE] [--ca F --cert F --key F] [--crl F] COMMAND [options]
 *
 * Commands with --db DIR work on a node's database directory offline;
 * the others go through a running node over mutual TLS with an admin
 * certificate (OU kefu-admin). Exit codes: 0 success; 1 the answer is
 * negative (a file rejected, a number not found, a refused switchover);
 * 2 bad usage or a system error (no node reachable, ...).
 */
#include "cluster/kefuctl/audit.h"
#include "cluster/kefuctl/ctl.h"

#include "lib/conf.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/roff.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ctl_target ctl_target;

struct cmd {
	const char *name;
	int (*offline)(int argc, char **argv); /* with --db */
	int (*online)(int argc, char **argv);  /* through a node */
	const char *usage;
	const char *summary;
};

static const struct cmd *cmd_current;

int ctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("kefuctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd_current)
		fprintf(stderr, "usage: kefuctl %s %s\n", cmd_current->name, cmd_current->usage);
	return EXIT_USAGE;
}

int ctl_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return KF_EPARSE;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return KF_EPARSE;
	*out = v;
	return 0;
}

int ctl_lookup_args(int argc, char **argv, struct ctl_lookup_args *a)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"msisdn", required_argument, NULL, 'm'},
		{"user-id", required_argument, NULL, 'u'},
		{"json", no_argument, NULL, 'j'},
		{"months", required_argument, NULL, 'M'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*a = (struct ctl_lookup_args){NULL, NULL, NULL, 3, false};
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': a->db = optarg; break;
		case 'm': a->msisdn = optarg; break;
		case 'u': a->user_id = optarg; break;
		case 'j': a->json = true; break;
		case 'M':
			if (ctl_parse_u64(optarg, 0, 24, &a->months))
				return ctl_usage_error("--months takes 0..24");
			break;
		default: return ctl_usage_error("unknown option");
		}
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument %s", argv[optind]);
	if (!a->msisdn == !a->user_id)
		return ctl_usage_error("give one of --msisdn N or --user-id ID");
	return 0;
}

int ctl_skip_args(int argc, char **argv, struct ctl_skip_args *a)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"prov", required_argument, NULL, 'p'},
		{"kind", required_argument, NULL, 'k'},
		{"seq", required_argument, NULL, 's'},
		{"reason", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*a = (struct ctl_skip_args){NULL, NULL, NULL, NULL, 0};
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': a->db = optarg; break;
		case 'p': a->prov = optarg; break;
		case 'k': a->kind = optarg; break;
		case 's':
			if (ctl_parse_u64(optarg, 1, 999999, &a->seq))
				return ctl_usage_error("--seq takes 1..999999");
			break;
		case 'r': a->reason = optarg; break;
		default: return ctl_usage_error("unknown option");
		}
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument %s", argv[optind]);
	if (!a->prov || !a->kind || !a->seq || !a->reason)
		return ctl_usage_error("--prov, --kind, --seq and --reason are required");
	return 0;
}

static int cmd_help(int argc, char **argv);

static const struct cmd cmds[] = {
	{"status", NULL, ctl_status, "[--json]",
	 "members, roles, epoch, applied index and lag, the sync standby, etcd health"},
	{"members", NULL, ctl_members, "[--json]", "the members and their addresses"},
	{"switchover", NULL, ctl_switchover, "--to NAME",
	 "planned change of leader to NAME; no acknowledged write is lost"},
	{"failover", NULL, ctl_failover, "[--to NAME]",
	 "operator-forced failover when the automatic one cannot proceed"},
	{"import", ctl_offline_import, ctl_online_import,
	 "[--db DIR [--rejected DIR] [--archive DIR] [--progress]] FILE.dat...",
	 "import BOSS batch files; one line per file: applied|skipped|held|rejected NAME RECORDS [reason]"},
	{"lookup", ctl_offline_lookup, ctl_online_lookup,
	 "[--db DIR] (--msisdn N | --user-id ID) [--months M] [--json]",
	 "show a subscriber: customer, tier, balance, arrears, status, payments, bills"},
	{"skip", ctl_skip, ctl_online_skip, "[--db DIR] --prov P --kind K --seq N --reason TEXT",
	 "release files held behind a SEQ that will never arrive"},
	{"prune", ctl_prune, NULL, "--db DIR [--today YYYYMMDD]",
	 "delete CDRs older than 6 months and bills older than 24 months"},
	{"stat", ctl_stat, NULL, "--db DIR", "map size and entries per table"},
	{"dump", ctl_dump, NULL, "--db DIR [--table NAME]...",
	 "every entry of the tables, one per line"},
	{"agent", ctl_agent_offline, ctl_agent,
	 "add --id ID --name NAME --skills S:L,... [--order N]\n"
	 "                   [--role agent|handler|supervisor|editor] [--groups G1,G2]\n"
	 "                   --password-file FILE|-\n"
	 "             agent passwd --id ID --password-file FILE|-\n"
	 "             agent update --id ID [--name N] [--skills S] [--order N] [--role R]\n"
	 "                   [--groups G1,G2] [--enable]\n"
	 "             agent disable --id ID\n"
	 "             agent logout --id ID   (ends the agent's session on any node)\n"
	 "             agent list [--db DIR] [--json]",
	 "agent accounts: passwords are read from a file or stdin, hashed by the node, never shown;\n"
	 "             --groups names the work-order groups (at most 16 of [a-z0-9][a-z0-9_.-]{0,31});\n"
	 "             on update it replaces them, --groups \"\" clears them;\n"
	 "             logout ends a session at once (a supervisor may do it from the console too)"},
	{"audit", ctl_audit_cmd_offline, ctl_audit_cmd,
	 "[--db DIR] [--since YYYYMMDDHHMMSS] [--json]\n"
	 "             audit verify [--db DIR | --node ADDR] [--json]",
	 "the audit log from a moment on (local time): who saw or changed what;\n"
	 "             verify walks its hash chain on one node: \"chain intact\" or the first\n"
	 "             broken link (exit status 1)"},
	{"callbacks", ctl_callbacks_offline, ctl_callbacks, "[--db DIR] [--json]",
	 "callback requests waiting for the dialer, oldest first"},
	{"order", NULL, ctl_order,
	 "create --msisdn N --kind K --category C --text T [--urgency urgent|normal]\n"
	 "                   [--channel phone|web|sms|email|letter|walk-in] [--owner AGENT]\n"
	 "                   [--call-id ID] [--attach FILE]... [--ref REF] [--json]\n"
	 "             order show ID [--attachments DIR] [--json]\n"
	 "             order list [--state S] [--group G] [--overdue] [--msisdn N]\n"
	 "                        [--owner AGENT] [--limit N] [--json]\n"
	 "             order transition ID ACTION [--note T] [--group G] [--owner AGENT] [--json]\n"
	 "             order update ID [--note T] [--attach FILE]... [--json]\n"
	 "             order categories [--kind K] [--json]\n"
	 "             order check [--json]\n"
	 "             order handover --from AGENT --to AGENT --note T [--json]",
	 "work orders: create (sent again with the same --ref, default random, when the\n"
	 "             answer is lost), show (--attachments saves them in DIR), list (all pages,\n"
	 "             or --limit), transition (dispatch accept start wait resume reply close\n"
	 "             satisfied unsatisfied reopen return escalate cancel note reassign), update\n"
	 "             (a note, files), categories, check (clocks recomputed; exit status 1 on a mismatch),\n"
	 "             handover (every open order of --from reassigned to --to; exit status 1\n"
	 "             when any was refused).\n"
	 "             --attach: at most 4 files of 48 KiB. A refusal or a lost link: exit status 1"},
	{"report", NULL, ctl_report,
	 "--from YYYYMMDDHHMMSS --to YYYYMMDDHHMMSS [--by tier|skill|agent|interval]\n"
	 "                   [--json|--csv]",
	 "interval statistics (local time): offered, answered, abandoned, service level,\n"
	 "             answer rate, ASA, AHT against each tier's targets; agents' calls and\n"
	 "             time by state; intervals whose start is in the range, the open one to now"},
	{"wallboard", NULL, ctl_wallboard, "[--json] [--watch]",
	 "the center now: calls waiting per tier and skill, agents by state, today's\n"
	 "             counts against the targets; --watch redraws it on every change until ^C"},
	{"forecast", ctl_forecast, NULL,
	 "--calls-per-hour R --aht S --threshold T (--agents N | --target SL)\n"
	 "                   [--patience S] [--json]\n"
	 "             forecast --from YYYYMMDDHHMMSS --to YYYYMMDDHHMMSS [--by skill|interval|tier]\n"
	 "                   --threshold T (--agents N | --target SL) [--json]",
	 "staffing, offline: service level (answered within T s), ASA and P(wait) of N\n"
	 "             agents, or the fewest agents reaching SL (0.8 or 80%); Erlang C, or\n"
	 "             Erlang A with the callers' mean patience S (also the abandon rate);\n"
	 "             with --from/--to, per skill, interval or tier from a node's report: the\n"
	 "             measured rate and AHT, and Erlang A where callers abandoned"},
	{"kb", NULL, ctl_kb,
	 "import FILE [--json]\n"
	 "             kb search QUERY [--limit N] [--category C] [--json]\n"
	 "             kb show ID [--json]\n"
	 "             kb submit|approve|archive ID [--note T] [--json]\n"
	 "             kb reject ID --note T [--json]\n"
	 "             kb hot [--limit N] [--json]\n"
	 "             kb queue [--json]",
	 "the knowledge base: import JSON lines (checked whole first; a file imported\n"
	 "             again makes no article twice), search the live articles (Chinese,\n"
	 "             pinyin, initials), show every version, move a version through review\n"
	 "             (approve: never by its author), hot articles, the editors' queue"},
	{"campaign", NULL, ctl_campaign,
	 "create --name N --kind arrears|visit|care|marketing|callback\n"
	 "                   --mode preview|progressive|predictive\n"
	 "                   (--query Q | --file F | --from callbacks | --from visits)\n"
	 "                   [--window 08:00-21:00] [--abandon-cap 0.03] [--abandon-window 30d|24h]\n"
	 "                   [--caller-id N] [--json]\n"
	 "             campaign start|pause|resume|stop|show NAME [--json]\n"
	 "             campaign list [--json]",
	 "outbound campaigns: made as drafts (a file's numbers frozen then), started\n"
	 "             (callback requests or return visits frozen then), paused, resumed,\n"
	 "             stopped; show: state, pacer, contacts, done, left, by_result,\n"
	 "             by_disposition, placed, abandon_rate, agents"},
	{"dnc", NULL, ctl_dnc,
	 "add MSISDN [--reason T] [--source company|customer]\n"
	 "             dnc remove MSISDN\n"
	 "             dnc list [--json]",
	 "the do-not-call list that every campaign checks when it is about to dial"},
	{"config", NULL, ctl_config, "show [--json] [--cluster-only]\n"
	 "             config check [--json]\n"
	 "             config set NAME=VALUE... [--dry-run] [--json]\n"
	 "             config edit [--force] [--json]\n"
	 "             config history [--limit N] [--json]",
	 "the settings a node runs with, each a cluster setting (the same on every\n"
	 "             node, kept in the replicated cluster configuration) or the node's own\n"
	 "             (its kefud.conf); check compares every node's cluster settings (a path's\n"
	 "             file by SHA-256) and names each difference (exit status 1); set and edit\n"
	 "             change the cluster configuration, checked by the rules of start, applied\n"
	 "             on every node at once (a setting that needs a restart says so) and\n"
	 "             audited; edit opens $EDITOR on it, shows the changes and asks; history\n"
	 "             lists its versions"},
	{"backup", NULL, ctl_backup, "--out FILE [--json]",
	 "a consistent copy of a node's replica made while writes go on, with its log\n"
	 "             position and SHA-256 (checked before FILE appears)"},
	{"restore", ctl_restore, NULL, "--in FILE [--db DIR] [--new-cluster]",
	 "offline, the node stopped: a backup checked and installed as DIR (default\n"
	 "             /var/lib/kefu/data); the node catches up from the backup's log position;\n"
	 "             --new-cluster makes it the first node of a new cluster"},
	{"certs", ctl_certs, NULL,
	 "init --province P --nodes NAME[=ADDR],... --out DIR [--days N] [--json]\n"
	 "             certs rotate --dir DIR --name NAME [--days N] [--json]\n"
	 "             certs revoke --dir DIR (--name NAME | --cert FILE) [--days N] [--json]",
	 "a province CA and its certificates in DIR, offline: ca, one per node (server and\n"
	 "             client use, SAN the name and ADDR), admin, supervisor, gateway; keys 0600,\n"
	 "             nothing overwritten; --json lists the files; rotate issues NAME again\n"
	 "             with a new key (the previous kept as NAME.crt.old), for a rolling\n"
	 "             restart; revoke lists a certificate in DIR/crl.pem (every node's\n"
	 "             crl_file, read again on reload)"},
	{"help", cmd_help, NULL, "", "this list"},
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static const char ctl_synopsis[] =
	"kefuctl [--node HOST:PORT | --cluster cluster.json | --config FILE]\n"
	"        [--ca FILE --cert FILE --key FILE] [--crl FILE] COMMAND [options]";
static const char ctl_notes[] =
	"Commands with --db DIR work offline on a node's database directory; the others\n"
	"go through a running node (admin certificate). Default certificates:\n"
	"/etc/kefu/ca.crt, /etc/kefu/admin.crt, /etc/kefu/admin.key. The node's certificate\n"
	"is checked against --crl (or a configuration's crl_file, cluster.json's \"crl\"),\n"
	"by default, with the default CA, /etc/kefu/crl.pem where it exists: a revoked node\n"
	"is refused.";
static const char ctl_exit[] = "0 ok, 1 negative answer, 2 usage or system error";

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("usage: %s\n\n", ctl_synopsis);
	for (size_t i = 0; i < NCMDS; i++)
		printf("  %-10s %s\n             %s\n", cmds[i].name, cmds[i].usage,
		       cmds[i].summary);
	printf("\n%s\nexit status: %s\n", ctl_notes, ctl_exit);
	return 0;
}

/* The manual page kefuctl(8), from the command table (--help-man). */
static void cmd_man(void)
{
	char tag[1024];

	roff_head(stdout, "kefuctl", "8", "kefu", "the operator's command line of a kefu cluster");
	roff_section(stdout, "SYNOPSIS");
	roff_text(stdout, ctl_synopsis);
	roff_section(stdout, "DESCRIPTION");
	roff_text(stdout, ctl_notes);
	roff_section(stdout, "COMMANDS");
	for (size_t i = 0; i < NCMDS; i++) {
		snprintf(tag, sizeof(tag), "%s %s", cmds[i].name, cmds[i].usage);
		/* The tag is one line: the usage's further forms go into the body. */
		if (strchr(tag, '\n')) {
			*strchr(tag, '\n') = '\0';
			roff_item(stdout, tag, strchr(cmds[i].usage, '\n') + 1);
			roff_text(stdout, cmds[i].summary);
		} else {
			roff_item(stdout, tag, cmds[i].summary);
		}
	}
	roff_section(stdout, "EXIT STATUS");
	roff_text(stdout, ctl_exit);
	roff_section(stdout, "SEE ALSO");
	roff_text(stdout, "kefud(8), /usr/share/doc/kefu/appliance.md");
}

static int add_node(const char *addr)
{
	if (ctl_target.nnodes == CTL_NODES_MAX || strlen(addr) >= sizeof(ctl_target.nodes[0]))
		return ctl_usage_error("too many nodes, or an address too long: %.80s", addr);
	snprintf(ctl_target.nodes[ctl_target.nnodes++], sizeof(ctl_target.nodes[0]), "%s", addr);
	return 0;
}

static void set_path(char *dst, size_t cap, const char *v)
{
	if (!dst[0])
		snprintf(dst, cap, "%s", v);
}

/* cluster.json from the test harness or an installation. */
static int load_cluster_json(const char *path, bool nodes_too)
{
	json_error_t jerr;
	json_t *c = json_load_file(path, 0, &jerr), *nodes;
	size_t i;
	json_t *n;
	int r = 0;

	if (!c) {
		fprintf(stderr, "kefuctl: %s: %s (line %d)\n", path, jerr.text, jerr.line);
		return EXIT_USAGE;
	}
	nodes = json_object_get(c, "nodes");
	if (!json_is_array(nodes) || !json_is_string(json_object_get(c, "ca")) ||
	    !json_is_string(json_object_get(c, "admin_cert")) ||
	    !json_is_string(json_object_get(c, "admin_key"))) {
		fprintf(stderr, "kefuctl: %s: needs \"nodes\", \"ca\", \"admin_cert\", \"admin_key\"\n",
			path);
		json_decref(c);
		return EXIT_USAGE;
	}
	set_path(ctl_target.ca, sizeof(ctl_target.ca), json_string_value(json_object_get(c, "ca")));
	set_path(ctl_target.cert, sizeof(ctl_target.cert),
		 json_string_value(json_object_get(c, "admin_cert")));
	set_path(ctl_target.key, sizeof(ctl_target.key),
		 json_string_value(json_object_get(c, "admin_key")));
	if (json_is_string(json_object_get(c, "crl")))
		set_path(ctl_target.crl, sizeof(ctl_target.crl),
			 json_string_value(json_object_get(c, "crl")));
	json_array_foreach(nodes, i, n)
	{
		json_t *a = json_object_get(n, "addr");

		if (nodes_too && json_is_string(a) && (r = add_node(json_string_value(a))))
			break;
	}
	json_decref(c);
	return r;
}

/* A kefuctl configuration file: nodes, tls_ca, tls_cert, tls_key, crl_file. */
struct ctl_conf {
	char nodes[4096];
	char tls_ca[1024], tls_cert[1024], tls_key[1024], crl_file[1024];
};

#define ROW(field, help) \
	CONF_ROW(struct ctl_conf, field, #field, CONF_STRING, NULL, 0, 0, false, help)
static const struct conf_option ctl_conf_table[] = {
	ROW(nodes, "Comma-separated HOST:PORT of the nodes, tried in order."),
	ROW(tls_ca, "The cluster's CA certificate."),
	ROW(tls_cert, "An admin certificate (OU kefu-admin)."),
	ROW(tls_key, "Its private key."),
	ROW(crl_file, "The cluster's certificate revocation list (crl.pem): a node whose "
		      "certificate it lists is refused."),
};
#undef ROW

static int load_config(const char *path)
{
	struct ctl_conf cc;
	struct conf_err err;
	char text[16384];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0) {
		fprintf(stderr, "kefuctl: %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	n = read(fd, text, sizeof(text));
	close(fd);
	if (n < 0 || (size_t)n == sizeof(text)) {
		fprintf(stderr, "kefuctl: %s: unreadable or over %zu bytes\n", path, sizeof(text) - 1);
		return EXIT_USAGE;
	}
	conf_defaults(ctl_conf_table, sizeof(ctl_conf_table) / sizeof(ctl_conf_table[0]), &cc);
	if (conf_parse(ctl_conf_table, sizeof(ctl_conf_table) / sizeof(ctl_conf_table[0]), &cc, text,
		       (size_t)n, &err)) {
		fprintf(stderr, "kefuctl: %s: %s\n", path, err.msg);
		return EXIT_USAGE;
	}
	set_path(ctl_target.ca, sizeof(ctl_target.ca), cc.tls_ca);
	set_path(ctl_target.cert, sizeof(ctl_target.cert), cc.tls_cert);
	set_path(ctl_target.key, sizeof(ctl_target.key), cc.tls_key);
	set_path(ctl_target.crl, sizeof(ctl_target.crl), cc.crl_file);
	for (char *tok = cc.nodes, *end; *tok; tok = *end ? end + 1 : end) {
		end = strchr(tok, ',');
		if (!end)
			end = tok + strlen(tok);
		if (end > tok) {
			char one[272];

			snprintf(one, sizeof(one), "%.*s", (int)(end - tok), tok);
			if ((r = add_node(one)))
				return r;
		}
	}
	return 0;
}

/* Global options, up to the command. Returns the index of the command or -EXIT. */
static int global_options(int argc, char **argv)
{
	static const struct option opts[] = {
		{"node", required_argument, NULL, 'n'},
		{"cluster", required_argument, NULL, 'c'},
		{"config", required_argument, NULL, 'f'},
		{"ca", required_argument, NULL, 'A'},
		{"cert", required_argument, NULL, 'C'},
		{"key", required_argument, NULL, 'K'},
		{"crl", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{"help-man", no_argument, NULL, 'M'},
		{NULL, 0, NULL, 0},
	};
	const char *node = NULL, *cluster = NULL, *config = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': node = optarg; break;
		case 'c': cluster = optarg; break;
		case 'f': config = optarg; break;
		case 'A': snprintf(ctl_target.ca, sizeof(ctl_target.ca), "%s", optarg); break;
		case 'C': snprintf(ctl_target.cert, sizeof(ctl_target.cert), "%s", optarg); break;
		case 'K': snprintf(ctl_target.key, sizeof(ctl_target.key), "%s", optarg); break;
		case 'R': snprintf(ctl_target.crl, sizeof(ctl_target.crl), "%s", optarg); break;
		case 'h': cmd_help(0, NULL); return -0;
		case 'M': cmd_man(); return -0;
		default: return -EXIT_USAGE;
		}
	}
	if (cluster && config)
		return -ctl_usage_error("give --cluster or --config, not both");
	ctl_target.given = node || cluster || config;
	if (node && (r = add_node(node)))
		return -r;
	if (cluster && (r = load_cluster_json(cluster, node == NULL)))
		return -r;
	if (config && (r = load_config(config)))
		return -r;
	set_path(ctl_target.ca, sizeof(ctl_target.ca), "/etc/kefu/ca.crt");
	set_path(ctl_target.cert, sizeof(ctl_target.cert), "/etc/kefu/admin.crt");
	set_path(ctl_target.key, sizeof(ctl_target.key), "/etc/kefu/admin.key");
	/* A node's own list, where kefuctl runs on a node with the node's CA:
	 * used when it is there (a list of another CA would fail every link). */
	if (!ctl_target.crl[0] && strcmp(ctl_target.ca, "/etc/kefu/ca.crt") == 0 &&
	    access("/etc/kefu/crl.pem", R_OK) == 0)
		set_path(ctl_target.crl, sizeof(ctl_target.crl), "/etc/kefu/crl.pem");
	return optind;
}

static bool has_db(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--db") == 0 || strncmp(argv[i], "--db=", 5) == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	enum log_level lvl = LOG_LVL_ERR;
	const char *env = getenv("KEFU_LOG");
	int first;

	if (env && log_parse_level(env, &lvl) != 0)
		fprintf(stderr, "kefuctl: KEFU_LOG=%s is not a level; using error\n", env);
	log_set_level(-1, lvl);
	first = global_options(argc, argv);
	if (first <= 0)
		return -first;
	if (first >= argc) {
		cmd_help(0, NULL);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < NCMDS; i++) {
		const struct cmd *c = &cmds[i];
		int cargc = argc - first;
		char **cargv = argv + first;

		if (strcmp(argv[first], c->name) != 0)
			continue;
		cmd_current = c;
		optind = 1;
		if (c->offline && (!c->online || has_db(cargc, cargv)))
			return c->offline(cargc, cargv);
		if (!ctl_target.given)
			return ctl_usage_error("%s needs --db DIR or a node (--node, --cluster or --config)",
					       c->name);
		return c->online(cargc, cargv);
	}
	fprintf(stderr, "kefuctl: unknown command %s (kefuctl help lists them)\n", argv[first]);
	return EXIT_USAGE;
}
