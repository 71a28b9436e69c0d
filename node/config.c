/* kefud's option table and loading. See config.h. */
#include "node/config.h"

#include "lib/err.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/net.h"
#include "lib/password.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define ROW(field, type, def, min, max, reload, help) \
	CONF_ROW(struct config, field, #field, type, def, min, max, reload, help)

const struct conf_option config_table[] = {
	ROW(node_name, CONF_STRING, "kefu", 1, 0, false,
	    "Name of this node in logs and in the cluster."),
	ROW(data_dir, CONF_PATH, NULL, 1, 0, false,
	    "Directory of the node's LMDB environment; must exist."),
	ROW(user, CONF_STRING, NULL, 0, 0, false,
	    "Unix user the node runs as. Started as root, kefud opens its files, data_dir "
	    "and listener, then takes this user's uid, gid and groups before it talks to the "
	    "network; data_dir must belong to this user. Started as another user, it must be "
	    "this one. Empty: no switch (started as root, kefud warns)."),
	ROW(map_size, CONF_SIZE, "64M", INT64_C(1) << 20, INT64_C(1) << 40, false,
	    "Initial LMDB map size; the map doubles when it fills."),
	ROW(log_level, CONF_STRING, "info", 1, 0, true,
	    "Lowest level logged: debug, info, warn, error or off."),
	ROW(boss_inbox, CONF_PATH, NULL, 0, 0, false,
	    "Directory where BOSS batch files arrive; empty turns the import off."),
	ROW(boss_rejected, CONF_PATH, NULL, 0, 0, false,
	    "Directory that receives rejected BOSS files with their reports."),
	ROW(boss_archive, CONF_PATH, NULL, 0, 0, false,
	    "Directory that keeps applied BOSS files."),
	ROW(boss_poll_interval, CONF_DURATION, "10s", 100, 60 * 60 * 1000, false,
	    "How often boss_inbox is scanned for new files."),
	ROW(boss_settle, CONF_DURATION, "1s", 0, 10 * 60 * 1000, false,
	    "How long boss_inbox must be quiet (no .dat or .chk written or moved in) before a "
	    "scan, so a delivery arriving file by file is taken whole; 0 scans at once."),
	ROW(retention_interval, CONF_DURATION, "1h", 0, INT64_C(7) * 24 * 60 * 60 * 1000, false,
	    "How often CDRs over 6 months and bills over 24 months are pruned; 0 turns it off."),
	ROW(listen_addr, CONF_ADDRESS, "127.0.0.1:7400", 0, 0, false,
	    "TLS listener for peers, kefuctl, gateways and agents (cluster mode)."),
	ROW(advertise_addr, CONF_ADDRESS, NULL, 0, 0, false,
	    "Address other nodes and clients use to reach this one; empty = listen_addr."),
	ROW(metrics_addr, CONF_ADDRESS, "127.0.0.1:9464", 0, 0, false,
	    "Plain HTTP listener that serves the node's metrics at /metrics (Prometheus text "
	    "format, docs/operations.md, \"Metrics\"); every node of a machine needs a port "
	    "of its own. Empty turns it off."),
	ROW(console_addr, CONF_ADDRESS, NULL, 0, 0, false,
	    "HTTPS listener of the browser console (the agent's desktop, the supervisor's "
	    "console; docs/console.md), with the node's certificate; every node of a machine "
	    "needs a port of its own. Empty turns it off."),
	ROW(console_urls, CONF_STRING, NULL, 0, 0, false,
	    "Every node's console URL, comma-separated (https://HOST:PORT): a page whose node "
	    "dies goes on at another of these. A node's own setting, like etcd_endpoints: it "
	    "names where the nodes are, which a cluster restored elsewhere does not share."),
	ROW(cluster_name, CONF_STRING, "kefu", 1, 0, false,
	    "Name of the cluster; its etcd keys live under /kefu/<cluster_name>/."),
	ROW(etcd_endpoints, CONF_STRING, NULL, 0, 0, false,
	    "Comma-separated etcd client URLs; empty runs the node alone (no cluster)."),
	ROW(etcd_timeout, CONF_DURATION, "1s", 100, 10000, false,
	    "Timeout of every etcd request; a failed request moves to the next endpoint."),
	ROW(etcd_ca, CONF_PATH, NULL, 0, 0, false,
	    "CA certificate for https etcd endpoints; empty = http."),
	ROW(etcd_cert, CONF_PATH, NULL, 0, 0, false,
	    "Client certificate for etcd (with etcd_key) when etcd requires one."),
	ROW(etcd_key, CONF_PATH, NULL, 0, 0, false,
	    "Private key of etcd_cert; refused unless only its owner may read it (chmod 600)."),
	ROW(tls_ca, CONF_PATH, NULL, 0, 0, false,
	    "The cluster's CA certificate: peers and clients must present certificates it signed."),
	ROW(tls_cert, CONF_PATH, NULL, 0, 0, false,
	    "This node's certificate (OU kefu-node)."),
	ROW(tls_key, CONF_PATH, NULL, 0, 0, false,
	    "Private key of tls_cert; refused unless only its owner may read it (chmod 600)."),
	ROW(crl_file, CONF_PATH, NULL, 0, 0, false,
	    "PEM certificate revocation lists, one of every CA that signs peers (the cluster "
	    "CA; etcd's CA too when etcd_ca is another): a revoked certificate is refused at "
	    "the handshake by the listener, the links to other nodes, Redis and etcd. Read "
	    "again on SIGHUP. Empty: no revocation check."),
	ROW(lease_ttl, CONF_DURATION, "2s", 2000, 60000, false,
	    "TTL of the node's etcd lease; a dead leader is replaced about this long after."),
	ROW(sync_timeout, CONF_DURATION, "1s", 100, 60000, false,
	    "A sync standby silent this long with writes pending is replaced when another can be."),
	ROW(sync_standbys, CONF_INT, "1", 0, 2, false,
	    "Standbys that must have a write on disk before it is acknowledged; 0 only for one node."),
	ROW(log_retain, CONF_INT, "100000", 1000, INT64_C(1) << 40, false,
	    "Log entries kept beyond what every member has applied."),
	ROW(max_frame, CONF_SIZE, "16M", 4096, INT64_C(1) << 26, false,
	    "Largest frame accepted from any connection (one without a certificate: 64 KiB "
	    "until it logs in)."),
	ROW(login_timeout, CONF_DURATION, "10s", 1000, 600000, false,
	    "A connection without a certificate that has not logged in this long after "
	    "connecting (or logging out) is closed."),
	ROW(idle_timeout, CONF_DURATION, "2m", 10000, INT64_C(24) * 3600 * 1000, false,
	    "An agent session that sends nothing (a ping counts) this long is closed; the "
	    "agent resumes it with its token."),
	ROW(max_connections, CONF_INT, "8192", 16, 1000000, false,
	    "Connections this node's listener holds at once; more are closed at accept."),
	ROW(max_connections_per_address, CONF_INT, "2048", 1, 1000000, false,
	    "Connections from one IP address at once (a city center's agents may share one)."),
	ROW(redis_sentinels, CONF_STRING, NULL, 0, 0, false,
	    "Comma-separated HOST:PORT of the Redis sentinels; empty = no Redis, routing off."),
	ROW(redis_master_name, CONF_STRING, "kefu", 1, 0, false,
	    "Name under which the sentinels know the Redis primary."),
	ROW(redis_password_file, CONF_PATH, NULL, 0, 0, false,
	    "File whose first line is the password of the Redis servers and sentinels; "
	    "refused unless only its owner may read it (chmod 600). Empty: no password."),
	ROW(redis_tls, CONF_BOOL, "false", 0, 0, false,
	    "Talk TLS to Redis and the sentinels with the node's tls_ca, tls_cert and tls_key."),
	ROW(redis_timeout, CONF_DURATION, "1s", 100, 60000, false,
	    "Timeout of every Redis command; also of each connection attempt."),
	ROW(allow_plaintext, CONF_BOOL, "false", 0, 0, false,
	    "Allow etcd over http:// and Redis without redis_tls to addresses outside "
	    "loopback (127.0.0.0/8, ::1, localhost); without it such a configuration is "
	    "refused. Only for a network nobody else can reach."),
#define TIER_ROWS_(n, lvl, plan, greet, weight, sl, ladder, maxw, atmax, menu)                \
	ROW(n##_plan, CONF_STRING, plan, 1, 0, true,                                         \
	    "IVR plan returned to the gateway for a caller of tier " #n " (vip_level " #lvl ")."), \
	ROW(n##_greeting, CONF_BOOL, greet, 0, 0, true,                                      \
	    "Whether the gateway greets a caller of tier " #n " by name."),                   \
	ROW(n##_weight, CONF_DURATION, weight, 0, INT64_C(24) * 3600 * 1000, true,           \
	    "Head start of tier " #n " in the queues: it ranks as if it had waited this long."), \
	ROW(n##_service_level, CONF_DURATION, sl, 1000, INT64_C(3600) * 1000, true,          \
	    "Calls of tier " #n " answered within this count for its service level."),         \
	ROW(n##_ladder, CONF_STRING, ladder, 1, 0, true,                                     \
	    "Overflow ladder of tier " #n ": skill:after,... (the first after 0s)."),           \
	ROW(n##_max_wait, CONF_DURATION, maxw, 10000, INT64_C(24) * 3600 * 1000, true,       \
	    "Longest wait of tier " #n " before its at_max is offered."),                      \
	ROW(n##_at_max, CONF_STRING, atmax, 1, 0, true,                                      \
	    "What tier " #n " is offered at its max_wait: callback or voicemail."),           \
	ROW(n##_menu, CONF_STRING, menu, 0, 0, true,                                         \
	    "IVR menu of tier " #n ": key:skill,... (e.g. 1:billing,2:general); the key the " \
	    "caller presses queues the call in that skill alone. Empty: no menu."),
	ROUTING_TIERS(TIER_ROWS_)
#undef TIER_ROWS_
#define SKILL_ROWS_(sk, def)                                    \
	ROW(sk##_strategy, CONF_STRING, def, 1, 0, true,       \
	    "Agent selection strategy of the " #sk " queue (docs/routing.md)."),
	ROUTING_SKILLS(SKILL_ROWS_)
#undef SKILL_ROWS_
	ROW(offer_timeout, CONF_DURATION, "12s", 2000, 120000, true,
	    "An agent answers an offer within this, or the call goes back to its queue."),
	ROW(ring_progressive_step, CONF_DURATION, "5s", 1000, 600000, true,
	    "A ring-progressively queue rings one more agent this often while the call waits."),
	ROW(no_answer_state, CONF_STRING, "not_ready", 1, 0, true,
	    "The state of an agent who let an offer time out: not_ready or ready."),
	ROW(wrap_up, CONF_DURATION, "10s", 0, 3600000, true,
	    "Wrap-up time after each call, before the agent is ready again."),
	ROW(gateway_grace, CONF_DURATION, "30s", 1000, 3600000, true,
	    "A gateway gone this long without resuming: its queued calls end as abandoned."),
	ROW(login_lock_after, CONF_INT, "5", 1, 100, true,
	    "Failed agent logins in a row that lock the account."),
	ROW(login_lock_time, CONF_DURATION, "5m", 1000, INT64_C(24) * 3600 * 1000, true,
	    "How long a locked account stays locked."),
	ROW(menu_timeout, CONF_DURATION, "8s", 1000, 120000, true,
	    "A caller of a tier with a menu is queued once a key chooses, or after this "
	    "without a choice (in its ladder's first queues)."),
	ROW(busy_at, CONF_INT, "1000", 10, 100000, false,
	    "Redis steps in flight on this node from which new calls are refused as busy."),
	ROW(session_max_age, CONF_DURATION, "12h", 10000, INT64_C(30) * 24 * 3600 * 1000, true,
	    "An agent session ends this long after its login, however active (its resumes "
	    "included); the agent logs in again."),
	ROW(password_iterations, CONF_INT, "600000", 600000, 10000000, true,
	    "PBKDF2-HMAC-SHA256 iterations of the password hashes the node makes; a hash of "
	    "fewer is upgraded at the agent's next good login."),
	ROW(test_password_iterations, CONF_INT, "0", 0, 599999, false,
	    "TEST ONLY, never in production: hash with this many iterations (1000 or more) "
	    "instead of password_iterations, so that test clusters log in hundreds of "
	    "agents quickly; 0 = off."),
	/* Operations statistics (node/ops/conf.h). */
	ROW(stats_interval, CONF_DURATION, OPS_INTERVAL_DEFAULT, 0, OPS_INTERVAL_MAX_MS, false,
	    "Length of the statistics intervals (docs/ops.md): whole minutes dividing an hour, "
	    "e.g. 15m, or for short trials 15s, 20s or 30s; 0 = no interval statistics. The "
	    "same on every node."),
#define OPS_TARGET_ROWS_(n, sl, ans)                                                      \
	ROW(n##_sl_target, CONF_FRACTION, sl, 0, 1000, true,                             \
	    "Service-level target of tier " #n ": the share of its calls to be answered "  \
	    "within " #n "_service_level."),                                              \
	ROW(n##_answer_target, CONF_FRACTION, ans, 0, 1000, true,                        \
	    "Answer-rate target (接通率) of tier " #n ": the share of its calls to be "       \
	    "answered."),
	OPS_TIER_TARGETS(OPS_TARGET_ROWS_)
#undef OPS_TARGET_ROWS_
	/* Work orders (node/workflow/conf.h). */
	ROW(province, CONF_STRING, "CN", 1, 0, false,
	    "Code of the province, two uppercase ASCII letters (e.g. SC); work-order ids begin "
	    "with it."),
#define WO_KIND_ROWS_(k, id, fr, up, so)                                                    \
	ROW(wo_##k##_first_response, CONF_DURATION, fr, WO_TARGET_MIN_MS, WO_TARGET_MAX_MS,  \
	    false,                                                                          \
	    "Target of the first response to a work order of kind " #k ", in open time of "  \
	    "its group's calendar; wo_urgent_factor and wo_tier<N>_factor shorten it."),     \
	ROW(wo_##k##_update, CONF_DURATION, up, WO_TARGET_MIN_MS, WO_TARGET_MAX_MS, false,   \
	    "Target of each update of an open work order of kind " #k " after the one "      \
	    "before, in open time; shortened like the first response."),                     \
	ROW(wo_##k##_solution, CONF_DURATION, so, WO_TARGET_MIN_MS, WO_TARGET_MAX_MS, false, \
	    "Target of the solution of a work order of kind " #k ", in open time; "          \
	    "shortened like the first response."),
	WO_KIND_LIST(WO_KIND_ROWS_)
#undef WO_KIND_ROWS_
	ROW(wo_urgent_factor, CONF_FRACTION, "0.5", WO_FACTOR_MIN, WO_FACTOR_MAX, false,
	    "Factor of every clock target of an urgent work order (0.5: half the time)."),
#define WO_TIER_ROWS_(n, def)                                                          \
	ROW(wo_tier##n##_factor, CONF_FRACTION, def, WO_FACTOR_MIN, WO_FACTOR_MAX, false, \
	    "Factor of every clock target of a work order whose customer has vip_level " #n \
	    " (after wo_urgent_factor when urgent)."),
	WO_TIER_LIST(WO_TIER_ROWS_)
#undef WO_TIER_ROWS_
	ROW(wo_calendar, CONF_STRING, "always", 1, 0, false,
	    "Business hours of the handling groups without their own in wo_calendars, e.g. "
	    "\"mon-fri 08:30-12:00 13:30-18:00; sat 09:00-12:00\"; always = around the "
	    "clock. The clocks of work orders run only in open hours."),
	ROW(wo_calendars, CONF_PATH, NULL, 0, 0, false,
	    "File of per-group business hours, one \"GROUP: HOURS\" a line (# comments); "
	    "groups not listed use wo_calendar. Empty: none."),
	ROW(wo_holidays, CONF_PATH, NULL, 0, 0, false,
	    "File of dates, one \"YYYY-MM-DD closed\" or \"YYYY-MM-DD workday\" (a make-up "
	    "working day) a line, for every group's calendar and the calling days of "
	    "outbound campaigns. Empty: none."),
	ROW(wo_timezone, CONF_STRING, "Asia/Shanghai", 1, 0, false,
	    "Timezone of the business calendars, a name under /usr/share/zoneinfo."),
	ROW(wo_escalate, CONF_STRING, "80%:lead,100%:supervisor,150%:upgrade", 0, 0, false,
	    "Escalation chain of every clock of a work order, P%:ACTION,... with P rising in "
	    "1..1000 and ACTION lead, supervisor or upgrade: taken when P% of the clock's "
	    "target has passed. Empty: no escalation."),
	ROW(wo_visit_quiet, CONF_DURATION, "30d", 0, WO_TARGET_MAX_MS, false,
	    "At most one return visit per customer within this period; 0: no limit."),
	ROW(wo_visit_delay, CONF_DURATION, "0", 0, WO_TARGET_MAX_MS, false,
	    "A return visit falls due this long after its work order is solved; 0: at once."),
	ROW(wo_visit_exclude, CONF_STRING, "consult,suggestion", 0, 0, false,
	    "Kinds of work order that get no return visit, comma-separated (complaint, fault, "
	    "request, consult, suggestion, escalated, appeal). Empty: every kind gets one."),
	ROW(wo_dispatch, CONF_PATH, NULL, 0, 0, false,
	    "File of dispatch rules, one \"KIND CATEGORY_PREFIX CITY GROUP\" a line (* = any "
	    "in the first three columns; # comments): a new work order goes to the GROUP of "
	    "the first rule it matches. Empty: no rules."),
	ROW(wo_default_group, CONF_STRING, "backoffice", 1, 0, false,
	    "Handling group of a work order that no dispatch rule matches."),
	ROW(wo_categories, CONF_PATH, NULL, 0, 0, false,
	    "File of the work-order category tree, one \"KIND/LEVEL1[/LEVEL2...]\" a line "
	    "(UTF-8, up to 4 levels, # comments). Empty: the shipped tree."),
	ROW(dial_clock_file, CONF_PATH, NULL, 0, 0, false,
	    "For tests: a file holding a number of ms the dialing clock is ahead of the "
	    "node's (negative: behind), read every 200 ms; campaigns' calling windows and "
	    "retries follow it. Empty: the node's clock."),
};
const size_t config_table_len = sizeof(config_table) / sizeof(config_table[0]);

/* The node's own settings; every other option is a cluster setting. */
static const char *const node_own[] = {
	"node_name",    "data_dir",        "user",          "map_size",
	"log_level",    "boss_inbox",      "boss_rejected", "boss_archive",
	"boss_poll_interval", "boss_settle", "listen_addr", "advertise_addr",
	"metrics_addr", "console_addr",  "console_urls",  "cluster_name",    "etcd_endpoints",
	"etcd_timeout",
	"etcd_ca",      "etcd_cert",       "etcd_key",      "tls_ca",
	"tls_cert",     "tls_key",         "crl_file",      "lease_ttl",
	"sync_timeout", "sync_standbys", "log_retain",      "max_frame",     "login_timeout",
	"idle_timeout", "max_connections", "max_connections_per_address",
	"redis_sentinels", "redis_master_name", "redis_password_file", "redis_tls",
	"redis_timeout", "allow_plaintext", "busy_at",     "test_password_iterations",
};

bool config_table_is_default(const struct config *c, const struct conf_option *o)
{
	struct config *d = calloc(1, sizeof(*d));
	char a[4096], b[4096];
	bool same;

	if (!d)
		abort();
	conf_defaults(config_table, config_table_len, d);
	same = strcmp(conf_format(o, c, a, sizeof(a)), conf_format(o, d, b, sizeof(b))) == 0;
	free(d);
	return same;
}

bool config_table_is_cluster(const char *name)
{
	if (!conf_find(config_table, config_table_len, name))
		return false;
	for (size_t i = 0; i < sizeof(node_own) / sizeof(node_own[0]); i++)
		if (strcmp(name, node_own[i]) == 0)
			return false;
	return true;
}

/* err->msg = prefix + ": " + err->msg, for naming the file or the --set. */
static void config_err_prefix(struct conf_err *err, const char *prefix)
{
	char msg[CONF_ERR_MAX];

	memcpy(msg, err->msg, sizeof(msg));
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, msg) >= (int)sizeof(err->msg))
		log_debug(LOG_CONF, "error message truncated");
}

__attribute__((format(printf, 2, 3))) static int config_fail(struct conf_err *err,
							       const char *fmt, ...)
{
	va_list ap;

	err->line = 0;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return KF_ECONFIG;
}

/* The next item of a comma-separated list at *p, blanks trimmed, into
 * item[0..size) (cut to fit); false at the end of the list. */
static bool config_list_next(const char **p, char *item, size_t size)
{
	while (**p) {
		const char *s = *p, *end = strchr(s, ',');
		size_t n = end ? (size_t)(end - s) : strlen(s);

		*p = end ? end + 1 : s + n;
		while (n && (*s == ' ' || *s == '\t'))
			s++, n--;
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n == 0)
			continue;
		if (n >= size)
			n = size - 1;
		memcpy(item, s, n);
		item[n] = '\0';
		return true;
	}
	return false;
}

const char *config_plaintext_remote(const struct config *c, char *endpoint, size_t size)
{
	char item[CONFIG_PATH_MAX];
	const char *p = c->etcd_endpoints;

	while (config_list_next(&p, item, sizeof(item))) {
		/* http://[user@]host[:port][/path]: https is not ours to judge. */
		char authority[CONFIG_PATH_MAX];
		const char *h = item + 7, *at;
		size_t n;

		if (strncasecmp(item, "http://", 7) != 0)
			continue;
		n = strcspn(h, "/?#");
		at = memchr(h, '@', n);
		if (at) {
			n -= (size_t)(at + 1 - h);
			h = at + 1;
		}
		memcpy(authority, h, n);
		authority[n] = '\0';
		if (!net_addr_is_loopback(authority)) {
			snprintf(endpoint, size, "%s", item);
			return "etcd_endpoints";
		}
	}
	p = c->redis_sentinels;
	while (!c->redis_tls && config_list_next(&p, item, sizeof(item))) {
		if (!net_addr_is_loopback(item)) {
			snprintf(endpoint, size, "%s", item);
			return "redis_sentinels";
		}
	}
	return NULL;
}

int config_check(const struct config *c, struct conf_err *err)
{
	struct routing_settings rs;
	struct ops_settings os;
	struct wo_settings wo;
	enum log_level lvl;
	char why[CONF_ERR_MAX], plain[128], wwhy[WO_WHY_MAX];
	const char *opt;
	int r;

	if (log_parse_level(c->log_level, &lvl) != 0)
		return config_fail(err, "log_level: \"%.20s\" is not one of debug, info, warn, "
					"error, off", c->log_level);
	if (c->etcd_endpoints[0] && (!c->tls_ca[0] || !c->tls_cert[0] || !c->tls_key[0]))
		return config_fail(err, "etcd_endpoints is set (cluster mode): tls_ca, tls_cert and "
					"tls_key must be set too");
	if (c->redis_sentinels[0] && !c->etcd_endpoints[0])
		return config_fail(err, "redis_sentinels is set: etcd_endpoints must be set too "
					"(Redis serves routing, which runs in cluster mode)");
	opt = config_plaintext_remote(c, plain, sizeof(plain));
	if (opt && !c->allow_plaintext)
		return config_fail(err, "%s: %s is plaintext to an address outside loopback: %s, "
					"or set allow_plaintext = true if nobody else can reach "
					"that network", opt, plain,
				   opt[0] == 'e' ? "use https:// with etcd_ca (and etcd_cert, "
						   "etcd_key)"
						 : "set redis_tls = true");
	if (routing_settings_from(c, &rs, why, sizeof(why)))
		return config_fail(err, "%s", why);
	if (ops_settings_from(c, &os, why, sizeof(why)))
		return config_fail(err, "%s", why);
	/* The work orders' rows and the files they name (holidays, calendars,
	 * dispatch rules, categories): a node with a bad one does not start. */
	r = wo_settings_from(c, &wo, wwhy, sizeof(wwhy));
	wo_settings_free(&wo);
	if (r)
		return config_fail(err, "%s", wwhy);
	if (c->test_password_iterations && c->test_password_iterations < PASSWORD_ITER_MIN)
		return config_fail(err, "test_password_iterations: 0 (off) or %u..599999",
				   PASSWORD_ITER_MIN);
	if (c->boss_inbox[0] == '\0')
		return 0;
	if (c->boss_rejected[0] == '\0' || c->boss_archive[0] == '\0')
		return config_fail(err, "boss_inbox is set: boss_rejected and boss_archive "
					"must be set too");
	if (strcmp(c->boss_inbox, c->boss_rejected) == 0 ||
	    strcmp(c->boss_inbox, c->boss_archive) == 0 ||
	    strcmp(c->boss_rejected, c->boss_archive) == 0)
		return config_fail(err, "boss_inbox, boss_rejected and boss_archive must be "
					"three different directories");
	return 0;
}

#define CONFIG_NAME_MAX 64

/*
 * A "name=value" item split: the name into name[CONFIG_NAME_MAX], its
 * value returned; with blanks, the blanks around "=" left out (as kefuctl
 * config set takes them; --set takes the item as the shell gave it).
 * NULL when there is no "=", or the name is empty or too long.
 */
static const char *config_split_set(const char *item, bool blanks, char *name)
{
	const char *eq = strchr(item, '=');
	size_t nlen = eq ? (size_t)(eq - item) : 0;

	while (blanks && nlen && item[nlen - 1] == ' ')
		nlen--;
	if (nlen == 0 || nlen >= CONFIG_NAME_MAX)
		return NULL;
	memcpy(name, item, nlen);
	name[nlen] = '\0';
	for (eq++; blanks && *eq == ' ';)
		eq++;
	return eq;
}

int config_load(struct config *c, const char *path, const char *const *sets, size_t nsets,
		struct conf_err *err)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	conf_defaults(config_table, config_table_len, c);
	if (path) {
		r = file_read_all(path, CONF_TEXT_MAX, &text, &len);
		if (r) {
			err->line = 0;
			snprintf(err->msg, sizeof(err->msg), "%s: %s", path, kf_strerror(r));
			return r;
		}
		r = conf_parse(config_table, config_table_len, c, text, len, err);
		free(text);
		if (r) {
			config_err_prefix(err, path);
			return r;
		}
	}
	for (size_t i = 0; i < nsets; i++) {
		char name[CONFIG_NAME_MAX];
		const char *value = config_split_set(sets[i], false, name);

		if (!value)
			return config_fail(err, "--set %.64s: expected name=value", sets[i]);
		r = conf_set(config_table, config_table_len, c, name, value, err);
		if (r) {
			config_err_prefix(err, "--set");
			return r;
		}
	}
	r = conf_check(config_table, config_table_len, c, err);
	if (r)
		return r;
	r = config_check(c, err);
	if (r)
		return r;
	return config_password_apply(c);
}

int config_password_apply(const struct config *c)
{
	/* Checked by config_check to be in bounds. */
	return password_set_default_iterations((unsigned)(c->test_password_iterations
								 ? c->test_password_iterations
								 : c->password_iterations));
}

/* ---- the cluster configuration (docs/operations.md, "Settings") ---- */

static void *config_field(const struct config *c, const struct conf_option *o)
{
	return (char *)c + o->offset;
}

static void config_copy_option(struct config *to, const struct config *from,
			       const struct conf_option *o)
{
	memcpy(config_field(to, o), config_field(from, o), o->size);
}

static bool config_option_same(const struct config *a, const struct config *b,
			       const struct conf_option *o)
{
	return memcmp(config_field(a, o), config_field(b, o), o->size) == 0;
}

struct config *config_table_new(void)
{
	struct config *c = calloc(1, sizeof(*c));

	if (!c)
		abort();
	conf_defaults(config_table, config_table_len, c);
	return c;
}

void config_table_copy(struct config *to, const struct config *from)
{
	memcpy(to, from, sizeof(*to));
}

int config_with_cluster(struct config *out, const struct config *own, const char *text,
			struct conf_err *err)
{
	struct config *cl = config_table_new();
	int r = conf_parse(config_table, config_table_len, cl, text, strlen(text), err);

	for (size_t i = 0; r == 0 && i < config_table_len; i++) {
		const struct conf_option *o = &config_table[i];

		if (config_table_is_cluster(o->name))
			config_copy_option(out, cl, o);
		else if (!config_table_is_default(cl, o))
			r = config_fail(err, "%s is the node's own setting, not a cluster setting: "
					     "it belongs in each node's kefud.conf", o->name);
		else
			config_copy_option(out, own, o);
	}
	free(cl);
	if (r == 0)
		r = conf_check(config_table, config_table_len, out, err);
	if (r == 0)
		r = config_check(out, err);
	return r;
}

char *config_cluster_text(const struct config *c)
{
	char *text = NULL, v[CONFIG_VALUE_MAX];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		abort();
	for (size_t i = 0; i < config_table_len; i++) {
		const struct conf_option *o = &config_table[i];

		if (!config_table_is_cluster(o->name) || config_table_is_default(c, o))
			continue;
		fprintf(f, "%s = ", o->name);
		conf_write_quoted(f, conf_format(o, c, v, sizeof(v)));
		fputc('\n', f);
	}
	if (fclose(f) != 0 || !text)
		abort();
	return text;
}

size_t config_file_conflicts(const struct config *file, const struct config *merged,
			     config_conflict_fn fn, void *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < config_table_len; i++) {
		const struct conf_option *o = &config_table[i];

		if (!config_table_is_cluster(o->name) || config_table_is_default(file, o) ||
		    config_option_same(file, merged, o))
			continue;
		n++;
		if (fn)
			fn(arg, o, file, merged);
	}
	return n;
}

void config_edit_free(struct config_edit *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->ch[i].old_value);
		free(e->ch[i].new_value);
	}
	free(e->ch);
	free(e->text);
	memset(e, 0, sizeof(*e));
}

static char *config_value_dup(const struct conf_option *o, const struct config *c)
{
	char v[CONFIG_VALUE_MAX];
	char *s = strdup(conf_format(o, c, v, sizeof(v)));

	if (!s)
		abort();
	return s;
}

/* The sets "name=value" over c: each names a cluster setting and a good value. */
static int config_edit_sets(struct config *c, const char *const *sets, size_t nsets,
			    struct conf_err *err)
{
	for (size_t i = 0; i < nsets; i++) {
		char name[CONFIG_NAME_MAX];
		const char *eq = config_split_set(sets[i], true, name);

		if (!eq)
			return config_fail(err, "%.64s: expected NAME=VALUE", sets[i]);
		if (!conf_find(config_table, config_table_len, name))
			return config_fail(err, "%s: no such setting (kefud --help lists them)", name);
		if (!config_table_is_cluster(name))
			return config_fail(err, "%s is the node's own setting, not a cluster "
						"setting: change it in that node's kefud.conf", name);
		if (conf_set(config_table, config_table_len, c, name, eq, err))
			return KF_ECONFIG;
	}
	return 0;
}

int config_cluster_edit(const struct config *own, const char *cur_text, const char *const *sets,
			size_t nsets, const char *replace, struct config_edit *out,
			struct conf_err *err)
{
	struct config *cur = config_table_new(), *next = config_table_new();
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (cur_text)
		r = config_with_cluster(cur, own, cur_text, err);
	else
		config_table_copy(cur, own);
	if (r) {
		config_err_prefix(err, "the configuration in force is refused");
	} else if (replace) {
		r = config_with_cluster(next, own, replace, err);
	} else {
		config_table_copy(next, cur);
		r = config_edit_sets(next, sets, nsets, err);
		if (r == 0)
			r = conf_check(config_table, config_table_len, next, err);
		if (r == 0)
			r = config_check(next, err);
	}
	for (size_t i = 0; r == 0 && i < config_table_len; i++) {
		const struct conf_option *o = &config_table[i];
		struct config_edit_change *ch;

		if (!config_table_is_cluster(o->name) || config_option_same(cur, next, o))
			continue;
		out->ch = realloc(out->ch, (out->n + 1) * sizeof(*out->ch));
		if (!out->ch)
			abort();
		ch = &out->ch[out->n++];
		ch->name = o->name;
		ch->old_value = config_value_dup(o, cur);
		ch->new_value = config_value_dup(o, next);
		ch->restart = !o->reloadable;
	}
	if (r == 0)
		out->text = config_cluster_text(next);
	else
		config_edit_free(out);
	free(cur);
	free(next);
	return r;
}
