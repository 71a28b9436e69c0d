/*
 * kefud, the node daemon: the composition root.
 *
 * main() reads the options, then brings the subsystems up in the order of
 * the table below and runs the event loop. SIGTERM or SIGINT stops the
 * loop; the subsystems are then shut down in reverse order. When one fails
 * to start, those already started are shut down in reverse and kefud exits
 * 1. A bad command line or configuration exits 2 before anything starts.
 * SIGHUP re-reads the configuration and applies the reloadable options, and
 * reads crl_file again.
 */
#include "lib/version.h"
#include "lib/conf.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/roff.h"
#include "cluster/election.h"
#include "cluster/etcd.h"
#include "cluster/repl.h"
#include "lib/runas.h"
#include "lib/secret.h"
#include "lib/tls.h"
#include "node/accounts.h"
#include "node/admin.h"
#include "node/audit.h"
#include "node/format.h"
#include "node/board.h"
#include "node/component.h"
#include "node/config.h"
#include "node/hot.h"
#include "node/jobs.h"
#include "node/leader.h"
#include "node/metrics.h"
#include "node/ops/ops.h"
#include "node/routing/routing.h"
#include "node/workflow/conf.h"
#include "node/workflow/workflow.h"
#include "node/kb/kb.h"
#include "node/console/console.h"
#include "node/dialing/dialing.h"
#include "node/backup.h"
#include "node/settings.h"
#include "node/server.h"
#include "node/upload.h"
#include "storage/snapshot.h"
#include "storage/writer.h"
#include "lib/loop.h"
#include "storage/ccfg.h"
#include "storage/custdb.h"
#include "storage/import.h"
#include "storage/store.h"

#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXIT_USAGE 2

/*
 * The components, in start order: the node's own services first, then
 * the functions of the province center, each in its folder (node/<name>/).
 * They run on a node of a cluster; each reads the local replica and
 * writes through the leader (node/component.h).
 */
static const struct component *const components[] = {
	&admin_service,
	&upload_service,
	&accounts_service,
	&audit_service,
	&format_service,
	&backup_service,
	&settings_service,
	&routing_component,
	&ops_component,
	&workflow_component,
	&kb_component,
	&dialing_component,
	&console_component,
};
#define NCOMPONENTS (sizeof(components) / sizeof(components[0]))

/* A component as it runs: its state (NULL: not on this node) and timers. */
struct running {
	void *state;
	bool inited;
	struct loop_timer **timers;
};

/* Everything the subsystems share; lives in main()'s frame. */
struct node {
	struct config cfg;                 /* as the node runs */
	struct config file_cfg;            /* as its file (and --set) give it */
	struct config wanted;              /* as the cluster configuration asks (storage/ccfg.h) */
	uint64_t ccfg_version;             /* the cluster configuration's version applied; 0 none */
	uint64_t ccfg_refused;             /* a version this node could not take, logged once */
	struct loop_timer *ccfg_timer;
	struct runas runas;                /* user: who the node becomes (lib/runas.h) */
	char redis_password[256];          /* redis_password_file's first line; wiped at the end */
	const char *config_path;           /* NULL: options from --set only */
	const char *sets[CONFIG_SETS_MAX]; /* point into argv */
	size_t nsets;
	bool check_only;                   /* --check: load the configuration, then exit */
	struct loop *loop;
	struct loop_signal *sig_term, *sig_int, *sig_hup;
	struct repl_storage sto;           /* store + writer; a snapshot swaps them */
	struct loop_wake *writer_wake;
	struct tls_ctx *tls_server, *tls_client;
	struct tls_ctx *tls_web;           /* the console's (console_addr set), no client certificate */
	struct etcd *etcd;
	struct election *election;
	struct repl *repl;
	struct leader *leader;             /* writes through the leader */
	struct server *server;
	struct hot *hot;                   /* Redis; NULL when redis_sentinels is empty */
	struct board *board;               /* the live board, with Redis (node/board.h) */
	struct metrics *metrics;           /* /metrics; NULL when metrics_addr is empty */
	struct import_tally boss_files;    /* BOSS files by outcome and kind, inbox and uploads */
	struct running comp[NCOMPONENTS];  /* by components[] */
	struct jobs *jobs;
	struct loop_timer *inbox_timer;
	struct loop_timer *prune_timer;
	bool inbox_busy, prune_busy;
	int64_t inbox_stirring_since; /* monotonic ms the inbox was first seen not quiet; 0 */
};

/* ---- logging ---- */

static void node_log_level_apply(const struct config *c)
{
	enum log_level lvl = LOG_LVL_INFO;

	log_parse_level(c->log_level, &lvl); /* checked by config_check */
	log_set_level(-1, lvl);
}

static int node_logging_init(struct node *n)
{
	char plain[128];
	const char *opt = config_plaintext_remote(&n->cfg, plain, sizeof(plain));

	node_log_level_apply(&n->cfg);
	log_info(LOG_MAIN, "starting node=%s data_dir=%s", n->cfg.node_name, n->cfg.data_dir);
	if (opt) /* config_check refused it unless allow_plaintext */
		log_warn(LOG_MAIN, "plaintext outside loopback allowed (allow_plaintext = true) "
				   "option=%s endpoint=%s", opt, plain);
	return 0;
}

static void node_logging_shutdown(struct node *n)
{
	log_info(LOG_MAIN, "stopped node=%s", n->cfg.node_name);
}

/* For the subsystems whose init leaves nothing to undo. */
static void node_nothing(struct node *n)
{
	(void)n;
}

/* ---- the user the node runs as (lib/runas.h) ---- */

/*
 * Decides, before anything is opened, whom the node will run as. A node
 * that will drop root needs data_dir and the folder holding it (snapshots
 * and imports are staged beside data_dir) to belong to its user already:
 * what it creates there later, it creates as that user.
 */
static int node_user_init(struct node *n)
{
	char why[RUNAS_WHY_MAX], parent[CONFIG_PATH_MAX];
	int r = runas_plan(n->cfg.user, &n->runas, why, sizeof(why));

	if (r == 0 && n->runas.drop)
		r = runas_owns(&n->runas, "data_dir", n->cfg.data_dir, why, sizeof(why));
	if (r == 0 && n->runas.drop) {
		snprintf(parent, sizeof(parent), "%s", n->cfg.data_dir);
		r = runas_owns(&n->runas, "the folder of data_dir", dirname(parent), why,
			       sizeof(why));
	}
	if (r) {
		log_err(LOG_MAIN, "refused: %s", why);
		return r;
	}
	/* Its secret files may be that user's: the operator hands them over. */
	if (n->runas.drop)
		secret_trust_uid(n->runas.uid);
	if (n->runas.as_root && !n->runas.drop)
		log_warn(LOG_MAIN, "running as root: set user = kefu (the node's own user) so that "
				   "the node drops root once its files and listener are open");
	return 0;
}

/*
 * The local time of the business calendars and order ids (wo_timezone),
 * set before any thread starts: setenv is not safe once they run.
 */
static int node_timezone_init(struct node *n)
{
	char why[WO_WHY_MAX];
	int r = wo_timezone_apply(n->cfg.wo_timezone, why, sizeof(why));

	if (r)
		log_err(LOG_MAIN, "refused: %s", why);
	return r;
}

/*
 * After the files, data_dir and the listener are open, before the node
 * talks to the network: what root created in data_dir goes to the user,
 * then the process becomes that user for good.
 */
static int node_privileges_init(struct node *n)
{
	char why[RUNAS_WHY_MAX];
	unsigned given = 0;
	int r;

	if (!n->runas.drop)
		return 0;
	r = runas_adopt(&n->runas, n->cfg.data_dir, &given, why, sizeof(why));
	if (r == 0)
		r = runas_drop(&n->runas, why, sizeof(why));
	if (r) {
		log_err(LOG_MAIN, "cannot drop root: %s", why);
		return r;
	}
	log_info(LOG_MAIN, "dropped root user=%s uid=%u gid=%u files_given=%u", n->runas.user,
		 (unsigned)n->runas.uid, (unsigned)n->runas.gid, given);
	return 0;
}

/* ---- secrets read at start, while the node may still be root ---- */

static int node_secrets_init(struct node *n)
{
	char why[SECRET_WHY_MAX];
	int r;

	if (!n->cfg.redis_password_file[0])
		return 0;
	r = secret_file_first_line(n->cfg.redis_password_file, "redis_password_file",
				   n->redis_password, sizeof(n->redis_password), why, sizeof(why));
	if (r)
		log_err(LOG_MAIN, "refused: %s", why);
	return r;
}

static void node_secrets_shutdown(struct node *n)
{
	secret_wipe(n->redis_password, sizeof(n->redis_password));
}

/* ---- event loop and signals ---- */

static void node_on_stop(void *arg)
{
	struct node *n = arg;

	log_info(LOG_MAIN, "stopping reason=signal");
	loop_stop(n->loop);
}

static void node_on_change(void *arg, const struct conf_option *opt, bool applied)
{
	const struct config *cur = arg;
	char value[128];

	if (applied)
		log_info(LOG_CONF, "reload applied option=%s value=%s", opt->name,
			 conf_format(opt, cur, value, sizeof(value)));
	else
		log_warn(LOG_CONF, "reload option=%s changed, takes effect after a restart",
			 opt->name);
}

/*
 * SIGHUP: the CRLs of crl_file are read again for the listener and the
 * node's links (etcd reads them at each new connection). On failure the
 * lists read before stay.
 */
static void node_crl_reload(struct node *n)
{
	struct tls_ctx *ctx[] = {n->tls_server, n->tls_client};
	char why[TLS_WHY_MAX];

	if (!n->cfg.crl_file[0])
		return;
	for (size_t i = 0; i < 2; i++) {
		if (ctx[i] && tls_ctx_set_crl(ctx[i], n->cfg.crl_file, why, sizeof(why)) != 0) {
			log_err(LOG_CONF, "reload kept the revocation lists read before: %s", why);
			return;
		}
	}
	log_info(LOG_CONF, "reload read crl_file=%s", n->cfg.crl_file);
}

/*
 * The running configuration brought to fresh: the reloadable options are
 * taken (and every component told), the others wait for a restart.
 */
static void node_config_apply(struct node *n, const struct config *fresh)
{
	config_table_copy(&n->wanted, fresh);
	conf_reload(config_table, config_table_len, &n->cfg, fresh, node_on_change, &n->cfg);
	node_log_level_apply(&n->cfg);
	config_password_apply(&n->cfg);
	for (size_t i = 0; i < NCOMPONENTS; i++)
		if (n->comp[i].state && components[i]->reconfigure)
			components[i]->reconfigure(n->comp[i].state, &n->cfg);
}

static void node_on_conflict(void *arg, const struct conf_option *o, const struct config *file,
			     const struct config *merged)
{
	const uint64_t *version = arg;
	char a[CONFIG_VALUE_MAX], b[CONFIG_VALUE_MAX];

	log_err(LOG_CONF, "%s = %s in this node's file is refused: it is a cluster setting, and "
		"the cluster configuration (version %llu) holds %s; remove it from the file, or "
		"change it for every node with kefuctl config set %s=VALUE", o->name,
		conf_format(o, file, a, sizeof(a)), (unsigned long long)*version,
		conf_format(o, merged, b, sizeof(b)), o->name);
}

/*
 * The configuration the node should run with, into out: its file's (and
 * --set's) own settings with the cluster settings of the version in force
 * in the local replica; the file's alone before a version exists. *version
 * gets the version (0 none). Returns 0, or an error logged.
 */
static int node_config_build(struct node *n, struct config *out, uint64_t *version,
			     size_t *conflicts)
{
	Kefu__ClusterConfig *cur = NULL;
	struct store_txn *t;
	struct conf_err err;
	int r;

	*version = 0;
	*conflicts = 0;
	if ((r = store_read_begin(n->sto.store, &t)) == 0) {
		r = ccfg_current(t, &cur);
		store_abort(t);
	}
	if (r) {
		log_err(LOG_CONF, "cannot read the cluster configuration: %s", kf_strerror(r));
		return r;
	}
	if (!cur) {
		config_table_copy(out, &n->file_cfg);
		return 0;
	}
	*version = cur->version;
	r = config_with_cluster(out, &n->file_cfg, cur->text, &err);
	if (r == 0)
		*conflicts = config_file_conflicts(&n->file_cfg, out,
						   *version == n->ccfg_refused ? NULL
						   : node_on_conflict, version);
	else if (*version != n->ccfg_refused)
		log_err(LOG_CONF, "the cluster configuration version %llu cannot run on this node, "
			"keeping the configuration before: %s", (unsigned long long)*version,
			err.msg);
	n->ccfg_refused = *version;
	kefu__cluster_config__free_unpacked(cur, NULL);
	return r;
}

/* Every 250 ms: a new version in the local replica is applied. */
static void node_ccfg_poll(void *arg)
{
	struct node *n = arg;
	struct config *fresh;
	struct store_txn *t;
	uint64_t version = 0;
	size_t conflicts;

	if (store_read_begin(n->sto.store, &t) == 0) {
		if (ccfg_version(t, &version))
			version = n->ccfg_version;
		store_abort(t);
	}
	if (version == n->ccfg_version || version == n->ccfg_refused)
		return;
	fresh = config_table_new();
	if (node_config_build(n, fresh, &version, &conflicts) == 0) {
		log_info(LOG_CONF, "cluster configuration version=%llu applied",
			 (unsigned long long)version);
		n->ccfg_version = version;
		n->ccfg_refused = 0;
		node_config_apply(n, fresh);
	}
	free(fresh);
}

/*
 * At start, with the local replica open: the cluster configuration in
 * force replaces the file's cluster settings. A file that sets one to
 * another value is refused (the node does not start): the cluster's
 * configuration is changed with kefuctl config set, not in a file.
 */
static int node_ccfg_init(struct node *n)
{
	struct config *fresh = config_table_new();
	char why[WO_WHY_MAX];
	size_t conflicts;
	int r;

	r = node_config_build(n, fresh, &n->ccfg_version, &conflicts);
	if (r == 0 && conflicts)
		r = KF_ECONFIG;
	if (r == 0 && strcmp(fresh->wo_timezone, n->cfg.wo_timezone) != 0 &&
	    (r = wo_timezone_apply(fresh->wo_timezone, why, sizeof(why))))
		log_err(LOG_MAIN, "refused: %s", why);
	if (r == 0) {
		n->ccfg_refused = 0;
		config_table_copy(&n->cfg, fresh);
		config_table_copy(&n->wanted, fresh);
		node_log_level_apply(&n->cfg);
		r = config_password_apply(&n->cfg);
		if (n->ccfg_version)
			log_info(LOG_CONF, "cluster configuration version=%llu in force",
				 (unsigned long long)n->ccfg_version);
	}
	if (r == 0)
		n->ccfg_timer = loop_timer_new(n->loop, 250, node_ccfg_poll, n);
	free(fresh);
	return r;
}

static void node_ccfg_shutdown(struct node *n)
{
	loop_timer_free(n->ccfg_timer);
	n->ccfg_timer = NULL;
}

/* SIGHUP: read the file again, rebuild the configuration as at start and
 * apply what may change. */
static void node_on_reload(void *arg)
{
	struct node *n = arg;
	struct config *file = config_table_new(), *fresh = config_table_new();
	struct conf_err err;
	uint64_t version;
	size_t conflicts;

	if (config_load(file, n->config_path, n->sets, n->nsets, &err) != 0) {
		log_err(LOG_CONF, "reload refused, keeping the running configuration: %s",
			err.msg);
	} else {
		config_table_copy(&n->file_cfg, file);
		n->ccfg_refused = 0;
		if (node_config_build(n, fresh, &version, &conflicts) == 0) {
			n->ccfg_version = version;
			node_config_apply(n, fresh);
		}
		node_crl_reload(n);
	}
	free(fresh);
	free(file);
}

/* node_loop_shutdown frees what was made when one of these fails. */
static int node_loop_init(struct node *n)
{
	int r = loop_new(&n->loop);

	if (r == 0)
		r = loop_signal_new(n->loop, SIGTERM, node_on_stop, n, &n->sig_term);
	if (r == 0)
		r = loop_signal_new(n->loop, SIGINT, node_on_stop, n, &n->sig_int);
	if (r == 0)
		r = loop_signal_new(n->loop, SIGHUP, node_on_reload, n, &n->sig_hup);
	if (r)
		log_err(LOG_MAIN, "event loop setup failed error=\"%s\"", kf_strerror(r));
	return r;
}

static void node_loop_shutdown(struct node *n)
{
	loop_signal_free(n->sig_hup);
	loop_signal_free(n->sig_int);
	loop_signal_free(n->sig_term);
	loop_free(n->loop);
	n->sig_hup = n->sig_int = n->sig_term = NULL;
	n->loop = NULL;
}

/* ---- storage ---- */

static void node_writer_notify(void *arg)
{
	loop_wake(arg);
}

static void node_writer_reap(void *arg)
{
	struct node *n = arg;

	if (n->sto.writer)
		writer_reap(n->sto.writer);
	if (n->repl)
		repl_on_writer(n->repl);
}

static int node_store_open(struct node *n)
{
	struct store_opts o = {.map_size = (size_t)n->cfg.map_size};
	int r = snapshot_recover(n->cfg.data_dir);

	if (r == 0)
		r = store_open(n->cfg.data_dir, &o, &n->sto.store);
	if (r)
		log_err(LOG_STORE, "open failed data_dir=%s error=\"%s\"", n->cfg.data_dir,
			kf_strerror(r));
	return r;
}

/* The writer thread on the node's store, waking the loop to reap. */
static int node_writer_start(struct node *n)
{
	struct writer_opts wo = {
		.store = n->sto.store,
		.notify = node_writer_notify,
		.notify_arg = n->writer_wake,
	};
	int r = writer_new(&wo, &n->sto.writer);

	if (r)
		log_err(LOG_STORE, "writer did not start error=\"%s\"", kf_strerror(r));
	return r;
}

static int node_storage_init(struct node *n)
{
	int r = node_store_open(n);

	if (r == 0 && (r = format_store_check(n->sto.store)) != 0) {
		store_free(n->sto.store);
		n->sto.store = NULL;
	}
	if (r)
		return r;
	r = loop_wake_new(n->loop, node_writer_reap, n, &n->writer_wake);
	if (r) {
		log_err(LOG_STORE, "writer wake failed error=\"%s\"", kf_strerror(r));
		return r;
	}
	return node_writer_start(n);
}

static void node_storage_shutdown(struct node *n)
{
	writer_free(n->sto.writer);
	n->sto.writer = NULL;
	loop_wake_free(n->writer_wake);
	n->writer_wake = NULL;
	store_free(n->sto.store);
	n->sto.store = NULL;
}

/* A follower installs a snapshot: everything that writes stops, the
 * environment is replaced, and the same storage reopens. */
static int node_reinstall(void *arg, const char *snapshot_file)
{
	struct node *n = arg;
	int r;

	writer_free(n->sto.writer);
	n->sto.writer = NULL;
	store_free(n->sto.store);
	n->sto.store = NULL;
	r = snapshot_install(n->cfg.data_dir, snapshot_file);
	if (r)
		log_err(LOG_STORE, "snapshot install failed error=\"%s\"", kf_strerror(r));
	/* Neither environment opens, or no writer: nothing sane is left to do. */
	if (node_store_open(n) != 0 || node_writer_start(n) != 0)
		abort();
	return r;
}

/* ---- cluster ---- */

static bool node_clustered(const struct node *n)
{
	return n->cfg.etcd_endpoints[0] != '\0';
}

static const char *node_addr(const struct node *n)
{
	return n->cfg.advertise_addr[0] ? n->cfg.advertise_addr : n->cfg.listen_addr;
}

static int node_tls_init(struct node *n)
{
	const char *crl = n->cfg.crl_file[0] ? n->cfg.crl_file : NULL;
	struct tls_opts so = {n->cfg.tls_ca, n->cfg.tls_cert, n->cfg.tls_key, true,
			      TLS_CLIENT_CERT_OPTIONAL, crl};
	struct tls_opts co = {n->cfg.tls_ca, n->cfg.tls_cert, n->cfg.tls_key, false, 0, crl};
	char why[256];
	int r;

	if (!node_clustered(n))
		return 0;
	r = tls_ctx_new(&so, &n->tls_server, why, sizeof(why));
	if (r == 0)
		r = tls_ctx_new(&co, &n->tls_client, why, sizeof(why));
	/* Made here, as root may be needed to read the key: the components
	 * start after the node has dropped root. */
	if (r == 0 && n->cfg.console_addr[0]) {
		struct tls_opts wo = {n->cfg.tls_ca, n->cfg.tls_cert, n->cfg.tls_key, true,
				      TLS_CLIENT_CERT_NONE, NULL};

		r = tls_ctx_new(&wo, &n->tls_web, why, sizeof(why));
	}
	if (r)
		log_err(LOG_NET, "TLS setup failed: %s", why);
	return r;
}

static void node_tls_shutdown(struct node *n)
{
	tls_ctx_free(n->tls_web);
	tls_ctx_free(n->tls_client);
	tls_ctx_free(n->tls_server);
	n->tls_web = n->tls_client = n->tls_server = NULL;
}

static void node_on_election(void *arg)
{
	struct node *n = arg;

	if (n->repl)
		repl_on_election(n->repl);
	if (n->leader)
		leader_on_election(n->leader);
	for (size_t i = 0; i < NCOMPONENTS; i++)
		if (n->comp[i].state && components[i]->on_leader_change)
			components[i]->on_leader_change(n->comp[i].state);
}

static int node_etcd_init(struct node *n)
{
	struct etcd_opts eo = {
		.loop = n->loop,
		.endpoints = n->cfg.etcd_endpoints,
		.timeout_ms = (uint32_t)n->cfg.etcd_timeout,
		.ca_file = n->cfg.etcd_ca[0] ? n->cfg.etcd_ca : NULL,
		.cert_file = n->cfg.etcd_cert[0] ? n->cfg.etcd_cert : NULL,
		.key_file = n->cfg.etcd_key[0] ? n->cfg.etcd_key : NULL,
		.crl_file = n->cfg.crl_file[0] && n->cfg.etcd_ca[0] ? n->cfg.crl_file : NULL,
	};
	struct election_opts el = {
		.loop = n->loop,
		.cluster = n->cfg.cluster_name,
		.self = n->cfg.node_name,
		.addr = node_addr(n),
		.lease_ttl_ms = (uint64_t)n->cfg.lease_ttl,
		.changed = node_on_election,
		.arg = n,
	};
	int r;

	if (!node_clustered(n))
		return 0;
	r = etcd_new(&eo, &n->etcd);
	if (r) {
		log_err(LOG_CLUSTER, "etcd client refused etcd_endpoints=%s error=\"%s\"",
			n->cfg.etcd_endpoints, kf_strerror(r));
		return r;
	}
	el.etcd = n->etcd;
	r = election_new(&el, &n->election);
	if (r)
		log_err(LOG_CLUSTER, "election did not start error=\"%s\"", kf_strerror(r));
	return r;
}

static void node_etcd_shutdown(struct node *n)
{
	etcd_free(n->etcd); /* first: it cancels the callbacks into the election */
	n->etcd = NULL;
	election_free(n->election);
	n->election = NULL;
}

static int node_repl_init(struct node *n)
{
	struct repl_opts ro = {
		.self = n->cfg.node_name,
		.data_dir = n->cfg.data_dir,
		.loop = n->loop,
		.election = n->election,
		.client_tls = n->tls_client,
		.storage = &n->sto,
		.sync_timeout_ms = (uint64_t)n->cfg.sync_timeout,
		.log_retain = (uint64_t)n->cfg.log_retain,
		.max_frame = (size_t)n->cfg.max_frame,
		.standbys = (unsigned)n->cfg.sync_standbys,
	};
	int r;

	if (!node_clustered(n))
		return 0;
	n->sto.reinstall = node_reinstall;
	n->sto.arg = n;
	r = repl_new(&ro, &n->repl);
	if (r)
		log_err(LOG_CLUSTER, "replication did not start error=\"%s\"", kf_strerror(r));
	return r;
}

static void node_repl_shutdown(struct node *n)
{
	repl_free(n->repl);
	n->repl = NULL;
}

static int node_jobs_init(struct node *n)
{
	struct jobs_opts jo = {.loop = n->loop, .repl = n->repl};
	int r = jobs_new(&jo, &n->jobs);

	if (r)
		log_err(LOG_MAIN, "jobs did not start error=\"%s\"", kf_strerror(r));
	return r;
}

static void node_jobs_shutdown(struct node *n)
{
	jobs_free(n->jobs); /* runs the loop until running jobs are done */
	n->jobs = NULL;
}

static int node_leader_init(struct node *n)
{
	struct leader_opts lo = {n->loop, n->cfg.node_name, n->repl, n->election, n->tls_client,
				 (size_t)n->cfg.max_frame};

	if (!node_clustered(n))
		return 0;
	return leader_new(&lo, &n->leader);
}

static void node_leader_shutdown(struct node *n)
{
	leader_free(n->leader);
	n->leader = NULL;
}

/* A peer went away: replication and the running components forget it. */
static void node_on_peer_closed(void *arg, struct msg_peer *p)
{
	struct node *n = arg;

	if (n->repl && msg_peer_conn(p)) /* a local peer has none (msg.h) */
		repl_on_conn_closed(n->repl, msg_peer_conn(p));
	for (size_t i = 0; i < NCOMPONENTS; i++)
		if (n->comp[i].state && components[i]->on_connection_closed)
			components[i]->on_connection_closed(n->comp[i].state, p);
}

static int node_server_init(struct node *n)
{
	struct server_opts so = {
		.listen_addr = n->cfg.listen_addr,
		.loop = n->loop,
		.server_tls = n->tls_server,
		.repl = n->repl,
		.max_frame = (size_t)n->cfg.max_frame,
		.login_timeout_ms = (uint32_t)n->cfg.login_timeout,
		.idle_timeout_ms = (uint32_t)n->cfg.idle_timeout,
		.max_conns = (unsigned)n->cfg.max_connections,
		.max_conns_per_addr = (unsigned)n->cfg.max_connections_per_address,
		.closed = node_on_peer_closed,
		.closed_arg = n,
	};
	int r;

	if (!node_clustered(n))
		return 0;
	r = server_new(&so, &n->server);
	if (r)
		log_err(LOG_NET, "cannot listen addr=%s error=\"%s\"", n->cfg.listen_addr,
			kf_strerror(r));
	else
		log_info(LOG_NET, "listening addr=%s", n->cfg.listen_addr);
	return r;
}

static void node_server_shutdown(struct node *n)
{
	server_free(n->server);
	n->server = NULL;
}

/* The hot state in Redis (node/hot.h): only in cluster mode with sentinels set. */
static int node_redis_init(struct node *n)
{
	struct hot_opts ho = {
		.loop = n->loop,
		.sentinels = n->cfg.redis_sentinels,
		.master_name = n->cfg.redis_master_name,
		.password = n->redis_password,
		.tls = n->cfg.redis_tls ? n->tls_client : NULL,
		.plain_loopback_only = !n->cfg.allow_plaintext,
		.timeout_ms = (uint32_t)n->cfg.redis_timeout,
		.cluster = n->cfg.cluster_name,
		.node = n->cfg.node_name,
	};

	int r;

	if (!node_clustered(n) || !n->cfg.redis_sentinels[0])
		return 0;
	if ((r = hot_new(&ho, &n->hot)) == 0) /* logs its refusals */
		n->board = board_new();
	return r;
}

static void node_redis_shutdown(struct node *n)
{
	hot_free(n->hot);
	n->hot = NULL;
	board_free(n->board);
	n->board = NULL;
}

/* ---- components (node/component.h) ---- */

/* Stops component i: its rows answer "not configured", timers go, state freed. */
static void node_component_stop(struct node *n, size_t i)
{
	struct running *c = &n->comp[i];

	if (!c->inited)
		return;
	if (n->server)
		msg_unregister(server_hub(n->server), components[i]->name);
	for (size_t t = 0; c->timers && t < components[i]->ntimers; t++)
		loop_timer_free(c->timers[t]);
	free(c->timers);
	c->timers = NULL;
	components[i]->stop(c->state);
	c->state = NULL;
	c->inited = false;
}

static int node_component_init(struct node *n, size_t i, const struct node_ctx *ctx)
{
	const struct component *cp = components[i];
	struct running *c = &n->comp[i];
	int r = cp->init(ctx, &c->state);

	if (r) {
		log_err(LOG_MAIN, "component failed component=%s error=\"%s\"", cp->name,
			kf_strerror(r));
		return r;
	}
	c->inited = true;
	msg_register(ctx->hub, cp->name, cp->msgs, cp->nmsgs, c->state);
	if (!c->state) {
		log_info(LOG_MAIN, "component off on this node component=%s", cp->name);
		return 0;
	}
	c->timers = calloc(cp->ntimers ? cp->ntimers : 1, sizeof(*c->timers));
	if (!c->timers)
		abort();
	for (size_t t = 0; t < cp->ntimers; t++)
		c->timers[t] = loop_timer_new(n->loop, cp->timers[t].every_ms, cp->timers[t].fn,
					      c->state);
	return 0;
}

/* Every component, in a cluster: init in table order, then start each. */
static int node_components_init(struct node *n)
{
	struct node_ctx ctx = {
		.loop = n->loop,
		.self = n->cfg.node_name,
		.data_dir = n->cfg.data_dir,
		.cfg = &n->cfg,
		.sto = &n->sto,
		.election = n->election,
		.repl = n->repl,
		.leader = n->leader,
		.hot = n->hot,
		.jobs = n->jobs,
		.board = n->board,
		.metrics = n->metrics,
		.boss_files = &n->boss_files,
		.cfg_version = &n->ccfg_version,
		.cfg_wanted = &n->wanted,
		.web_tls = n->tls_web,
	};
	int r;

	if (!n->server)
		return 0;
	ctx.hub = server_hub(n->server);
	for (size_t i = 0; i < NCOMPONENTS; i++)
		if ((r = node_component_init(n, i, &ctx)) != 0)
			return r;
	for (size_t i = 0; i < NCOMPONENTS; i++) {
		if (!n->comp[i].state || !components[i]->start)
			continue;
		if ((r = components[i]->start(n->comp[i].state)) != 0) {
			log_err(LOG_MAIN, "component did not start component=%s error=\"%s\"",
				components[i]->name, kf_strerror(r));
			return r;
		}
	}
	return 0;
}

static void node_components_shutdown(struct node *n)
{
	for (size_t i = NCOMPONENTS; i-- > 0;)
		node_component_stop(n, i);
}

/* ---- metrics (node/metrics.h) ---- */

/*
 * Serves /metrics on metrics_addr, on a node alone too; a port taken fails
 * the start. Up before the components, which register their own sources.
 */
static int node_metrics_init(struct node *n)
{
	struct metrics_opts mo = {
		.loop = n->loop,
		.addr = n->cfg.metrics_addr,
		.self = n->cfg.node_name,
		.repl = n->repl,
		.election = n->election,
		.hot = n->hot,
		.board = n->board,
		.boss = &n->boss_files,
		.sto = &n->sto,
	};
	int r;

	if (!n->cfg.metrics_addr[0])
		return 0;
	r = metrics_new(&mo, &n->metrics);
	if (r)
		log_err(LOG_NET, "cannot serve metrics addr=%s error=\"%s\"", n->cfg.metrics_addr,
			kf_strerror(r));
	else
		log_info(LOG_NET, "metrics served addr=%s", n->cfg.metrics_addr);
	return r;
}

static void node_metrics_shutdown(struct node *n)
{
	metrics_free(n->metrics);
	n->metrics = NULL;
}

/* ---- BOSS inbox ---- */

/* On the scan's worker: logged, and counted for /metrics. */
static void node_inbox_report(void *arg, const struct import_result *r)
{
	struct node *n = arg;
	char line[1024];

	import_tally_add(&n->boss_files, r);
	if (r->outcome == IMPORT_HELD)
		log_debug(LOG_BOSS, "%s", import_format(r, line, sizeof(line)));
	else
		log_info(LOG_BOSS, "%s", import_format(r, line, sizeof(line)));
}

/* Leader jobs (node/jobs.h) run only where they may write: on a node
 * alone, or on the serving leader of a cluster; one of each kind at a time. */
static bool node_may_write(const struct node *n)
{
	return !node_clustered(n) || repl_is_serving(n->repl);
}

/* A delivery still arriving: the inbox is not scanned while a .dat or .chk
 * in it changed less than boss_settle ago, for at most this long (then a
 * folder written to without pause is scanned all the same). */
#define INBOX_SETTLE_MAX_MS (5 * 60 * 1000)

/* Whether the inbox is quiet enough to scan (see INBOX_SETTLE_MAX_MS). */
static bool node_inbox_settled(struct node *n)
{
	int64_t quiet, now = (int64_t)loop_now_ms();
	int r;

	if (n->cfg.boss_settle == 0)
		return true;
	if ((r = import_dir_quiet_ms(n->cfg.boss_inbox, &quiet)) != 0) {
		log_warn(LOG_BOSS, "inbox not readable dir=%s error=\"%s\"", n->cfg.boss_inbox,
			 kf_strerror(r));
		return false;
	}
	if (quiet >= n->cfg.boss_settle) {
		n->inbox_stirring_since = 0;
		return true;
	}
	if (!n->inbox_stirring_since)
		n->inbox_stirring_since = now;
	if (now - n->inbox_stirring_since >= INBOX_SETTLE_MAX_MS) {
		log_warn(LOG_BOSS, "inbox never quiet for boss_settle=%lldms over %d s: scanned all the same",
			 (long long)n->cfg.boss_settle, INBOX_SETTLE_MAX_MS / 1000);
		n->inbox_stirring_since = 0;
		return true;
	}
	log_debug(LOG_BOSS, "inbox settling quiet_ms=%lld", (long long)quiet);
	return false;
}

/* One scan of the inbox, on a worker, once it has settled. Held files stay
 * in the inbox and are looked at again on the next scan. */
static void node_inbox_job(void *arg)
{
	struct node *n = arg;
	struct import_opts o = {
		.rejected_dir = n->cfg.boss_rejected,
		.archive_dir = n->cfg.boss_archive,
		.origin = n->cfg.node_name,
		.hooks = jobs_hooks(n->jobs),
	};
	int r;

	if (!node_inbox_settled(n))
		return;
	r = import_dir(n->sto.store, &o, n->cfg.boss_inbox, node_inbox_report, n, NULL);

	if (r)
		log_err(LOG_BOSS, "inbox scan stopped dir=%s error=\"%s\"", n->cfg.boss_inbox,
			kf_strerror(r));
}

static void node_inbox_done(void *arg)
{
	((struct node *)arg)->inbox_busy = false;
}

static void node_inbox_scan(void *arg)
{
	struct node *n = arg;

	if (n->inbox_busy || !node_may_write(n))
		return;
	if (jobs_spawn(n->jobs, node_inbox_job, node_inbox_done, n) == 0)
		n->inbox_busy = true;
}

static int node_inbox_init(struct node *n)
{
	if (!n->cfg.boss_inbox[0])
		return 0;
	n->inbox_timer = loop_timer_new(n->loop, (uint64_t)n->cfg.boss_poll_interval,
					node_inbox_scan, n);
	log_info(LOG_BOSS, "inbox watched dir=%s every_ms=%lld", n->cfg.boss_inbox,
		 (long long)n->cfg.boss_poll_interval);
	return 0;
}

static void node_inbox_shutdown(struct node *n)
{
	loop_timer_free(n->inbox_timer);
	n->inbox_timer = NULL;
}

/* ---- retention ---- */

/* Deletes what the retention rules no longer keep, by the local calendar;
 * on a worker, through the log in a cluster. */
static void node_prune_job(void *arg)
{
	struct node *n = arg;
	struct custdb_prune_stats st;
	char today[16];
	time_t now = time(NULL);
	struct tm tm;
	int r;

	localtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y%m%d", &tm);
	r = custdb_prune(n->sto.store, jobs_hooks(n->jobs), today, &st);
	if (r)
		log_err(LOG_STORE, "retention prune failed error=\"%s\"", kf_strerror(r));
	else if (st.cdrs || st.bills)
		log_info(LOG_STORE, "retention pruned today=%s cdrs=%llu bills=%llu", today,
			 (unsigned long long)st.cdrs, (unsigned long long)st.bills);
}

static void node_prune_done(void *arg)
{
	((struct node *)arg)->prune_busy = false;
}

static void node_prune_run(void *arg)
{
	struct node *n = arg;

	if (n->prune_busy || !node_may_write(n))
		return;
	if (jobs_spawn(n->jobs, node_prune_job, node_prune_done, n) == 0)
		n->prune_busy = true;
}

static int node_prune_init(struct node *n)
{
	if (n->cfg.retention_interval == 0)
		return 0;
	n->prune_timer = loop_timer_new(n->loop, (uint64_t)n->cfg.retention_interval,
					node_prune_run, n);
	return 0;
}

static void node_prune_shutdown(struct node *n)
{
	loop_timer_free(n->prune_timer);
	n->prune_timer = NULL;
}

/* ---- the subsystems, in start order ---- */

static const struct subsystem {
	const char *name;
	int (*init)(struct node *n);       /* 0 or negative; may leave partial state */
	void (*shutdown)(struct node *n);  /* undoes init, also a partial one */
} subsystems[] = {
	{"logging", node_logging_init, node_logging_shutdown},
	{"user", node_user_init, node_nothing},
	{"timezone", node_timezone_init, node_nothing},
	{"secrets", node_secrets_init, node_secrets_shutdown},
	{"loop", node_loop_init, node_loop_shutdown},
	{"storage", node_storage_init, node_storage_shutdown},
	{"cluster configuration", node_ccfg_init, node_ccfg_shutdown},
	{"tls", node_tls_init, node_tls_shutdown},
	{"etcd", node_etcd_init, node_etcd_shutdown},
	{"replication", node_repl_init, node_repl_shutdown},
	{"jobs", node_jobs_init, node_jobs_shutdown},
	{"leader", node_leader_init, node_leader_shutdown},
	{"server", node_server_init, node_server_shutdown},
	/* Nothing so far has sent a byte: the loop has not run. */
	{"privileges", node_privileges_init, node_nothing},
	{"redis", node_redis_init, node_redis_shutdown},
	{"metrics", node_metrics_init, node_metrics_shutdown},
	{"components", node_components_init, node_components_shutdown},
	{"boss inbox", node_inbox_init, node_inbox_shutdown},
	{"retention", node_prune_init, node_prune_shutdown},
};
#define SUBSYSTEMS (sizeof(subsystems) / sizeof(subsystems[0]))

/* Shuts down subsystems [0, count) in reverse order. */
static void node_shutdown(struct node *n, size_t count)
{
	while (count-- > 0) {
		log_debug(LOG_MAIN, "shutdown subsystem=%s", subsystems[count].name);
		subsystems[count].shutdown(n);
	}
}

/* Starts every subsystem; on failure undoes the started ones (and the failed one). */
static int node_init(struct node *n)
{
	for (size_t i = 0; i < SUBSYSTEMS; i++) {
		int r = subsystems[i].init(n);

		if (r) {
			log_err(LOG_MAIN, "init failed subsystem=%s error=\"%s\"",
				subsystems[i].name, kf_strerror(r));
			node_shutdown(n, i + 1);
			return r;
		}
		log_debug(LOG_MAIN, "init done subsystem=%s", subsystems[i].name);
	}
	return 0;
}

/* ---- command line ---- */

static const char node_usage[] =
	"usage: kefud [--config FILE] [--set name=value]... [--check] [--help] [--version]\n";

/* kefud's command-line flags, for --help and the manual page alike. */
static const struct {
	const char *flag, *text;
} node_flags[] = {
	{"--config FILE", "read options from FILE (name = value lines)"},
	{"--set name=value", "override one option; may be repeated"},
	{"--check", "check the configuration (and the files it names) and exit: 0 good, 2 bad"},
	{"--help", "print this and every option"},
	{"--version", "print the build's version and exit"},
};
#define NODE_NFLAGS (sizeof(node_flags) / sizeof(node_flags[0]))

static void node_help(FILE *out)
{
	fprintf(out, "%s\n", node_usage);
	for (size_t i = 0; i < NODE_NFLAGS; i++)
		fprintf(out, "  %-18s %s\n", node_flags[i].flag, node_flags[i].text);
	fputs("\noptions:\n", out);
	conf_help(config_table, config_table_len, out);
}

/* The manual page kefud(8), from the same tables as node_help (--help-man). */
static void node_man(FILE *out)
{
	roff_head(out, "kefud", "8", "kefu", "the kefu customer-service cluster node");
	roff_section(out, "SYNOPSIS");
	roff_text(out, node_usage + strlen("usage: "));
	roff_section(out, "DESCRIPTION");
	roff_text(out, "kefud serves one node of a province center: its LMDB replica, the routing, "
		       "work-order, knowledge-base and statistics components, the TLS listener for "
		       "peers, gateways, agents and kefuctl, and the metrics endpoint. Options come "
		       "from the configuration file (one name = value a line, # comments), then "
		       "from --set.");
	roff_section(out, "COMMAND-LINE FLAGS");
	for (size_t i = 0; i < NODE_NFLAGS; i++)
		roff_item(out, node_flags[i].flag, node_flags[i].text);
	roff_section(out, "CONFIGURATION OPTIONS");
	roff_text(out, "Each option with its default, its type and bounds:");
	conf_man(config_table, config_table_len, out);
	roff_section(out, "FILES");
	roff_item(out, "/etc/kefu/kefud.conf", "the configuration the packaged service reads");
	roff_item(out, "/var/lib/kefu", "the data directory (LMDB replica, BOSS folders)");
	roff_section(out, "SEE ALSO");
	roff_text(out, "kefuctl(8), /usr/share/doc/kefu/appliance.md");
}

/* Fills n->config_path, n->sets and n->check_only. Returns 0, 1 (--help or the manual
 * page printed), or -1 (usage error). */
static int node_args(struct node *n, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"set", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{"help-man", no_argument, NULL, 'M'},
		{"check", no_argument, NULL, 'k'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			n->config_path = optarg;
			break;
		case 's':
			if (n->nsets == CONFIG_SETS_MAX) {
				fprintf(stderr, "kefud: more than %d --set\n", CONFIG_SETS_MAX);
				return -1;
			}
			n->sets[n->nsets++] = optarg;
			break;
		case 'h':
			node_help(stdout);
			return 1;
		case 'M':
			node_man(stdout);
			return 1;
		case 'k':
			n->check_only = true;
			break;
		case 'V':
			printf("kefud %s\n", kefu_version);
			return 1;
		case ':':
			fprintf(stderr, "kefud: %s needs a value\n", argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr, "kefud: unknown argument %s\n", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kefud: unexpected argument %s\n", argv[optind]);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct node n; /* large (paths); zeroed */
	struct conf_err err;
	int r;

	r = node_args(&n, argc, argv);
	if (r != 0) {
		if (r < 0)
			fprintf(stderr, "%s", node_usage);
		return r < 0 ? EXIT_USAGE : 0;
	}
	if (config_load(&n.cfg, n.config_path, n.sets, n.nsets, &err) != 0) {
		fprintf(stderr, "kefud: bad configuration: %s\n", err.msg);
		return EXIT_USAGE;
	}
	config_table_copy(&n.file_cfg, &n.cfg);
	config_table_copy(&n.wanted, &n.cfg);
	if (n.check_only) {
		printf("kefud: configuration %s is good\n", n.config_path ? n.config_path : "(none)");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN); /* a closed peer is an error return, not a death */
	if (node_init(&n) != 0)
		return 1;
	log_info(LOG_MAIN, "running node=%s", n.cfg.node_name);
	r = loop_run(n.loop);
	if (r)
		log_err(LOG_MAIN, "event loop failed error=\"%s\"", kf_strerror(r));
	node_shutdown(&n, SUBSYSTEMS);
	return r ? 1 : 0;
}
