/*
 * kefud's options: the one table (config_table) that the file parser,
 * --set, --help and reload all read, and the struct it fills.
 *
 * Add an option with one field in struct config and one row in config.c.
 * Only the composition root includes this header; a component reads its
 * options by name (node/config_table.h).
 */
#ifndef KEFU_NODE_CONFIG_H
#define KEFU_NODE_CONFIG_H

#include "lib/conf.h"
#include "node/config_table.h"
#include "node/ops/conf.h"
#include "node/routing/conf.h"
#include "node/workflow/conf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_PATH_MAX 1024
#define CONFIG_SETS_MAX 64

/* Every field is filled by config_load; text fields are NUL-terminated. */
struct config {
	char node_name[64];
	char data_dir[CONFIG_PATH_MAX];      /* LMDB environment directory; required */
	char user[64];                       /* run as this user; "" = as started */
	int64_t map_size;                    /* initial LMDB map size, bytes */
	char log_level[16];                  /* debug, info, warn, error, off */
	char boss_inbox[CONFIG_PATH_MAX];    /* BOSS batch files arrive here; "" = off */
	char boss_rejected[CONFIG_PATH_MAX]; /* rejected files and their reports */
	char boss_archive[CONFIG_PATH_MAX];  /* applied files are kept here */
	int64_t boss_poll_interval;          /* ms between scans of boss_inbox */
	int64_t boss_settle;                 /* ms boss_inbox stays quiet before a scan */
	int64_t retention_interval;          /* ms between retention prunes; 0 = off */
	char listen_addr[272];               /* TLS listener, HOST:PORT */
	char advertise_addr[272];            /* how others reach us; "" = listen_addr */
	char metrics_addr[272];              /* Prometheus /metrics over HTTP, HOST:PORT; "" = off */
	char console_addr[272];              /* the browser console over HTTPS, HOST:PORT; "" = off */
	char console_urls[2048];             /* every node's console URL, comma-separated */
	char cluster_name[64];
	char etcd_endpoints[1024];           /* comma-separated URLs; "" = standalone */
	int64_t etcd_timeout;                /* ms */
	char etcd_ca[CONFIG_PATH_MAX];
	char etcd_cert[CONFIG_PATH_MAX];
	char etcd_key[CONFIG_PATH_MAX];
	char tls_ca[CONFIG_PATH_MAX];
	char tls_cert[CONFIG_PATH_MAX];
	char tls_key[CONFIG_PATH_MAX];
	char crl_file[CONFIG_PATH_MAX];      /* PEM CRLs; "" = no revocation check */
	int64_t lease_ttl;                   /* ms */
	int64_t sync_timeout;                /* ms */
	int64_t sync_standbys;               /* standbys a write waits for */
	int64_t log_retain;                  /* entries */
	int64_t max_frame;                   /* bytes */
	int64_t login_timeout;               /* ms */
	int64_t idle_timeout;                /* ms */
	int64_t max_connections;
	int64_t max_connections_per_address;
	char redis_sentinels[1024];          /* comma-separated HOST:PORT; "" = no Redis */
	char redis_master_name[64];          /* the Sentinel name of the Redis group */
	char redis_password_file[CONFIG_PATH_MAX]; /* its first line: AUTH; "" = none */
	bool redis_tls;                      /* TLS with the node's client context */
	int64_t redis_timeout;               /* ms, every Redis command */
	bool allow_plaintext;                /* plaintext etcd / Redis beyond loopback */
	/* Routing (node/routing/conf.h): per tier, per skill queue, timers. */
#define CONFIG_TIER_FIELDS_(n, lvl, plan, greet, weight, sl, ladder, maxw, atmax, menu) \
	char n##_plan[ROUTING_PLAN_MAX];                                           \
	bool n##_greeting;                                                         \
	int64_t n##_weight;                  /* ms */                              \
	int64_t n##_service_level;           /* ms */                              \
	char n##_ladder[ROUTING_LADDER_TEXT];                                      \
	int64_t n##_max_wait;                /* ms */                              \
	char n##_at_max[ROUTING_NAME_MAX];                                        \
	char n##_menu[ROUTING_MENU_TEXT];
	ROUTING_TIERS(CONFIG_TIER_FIELDS_)
#undef CONFIG_TIER_FIELDS_
#define CONFIG_SKILL_FIELDS_(sk, def) char sk##_strategy[ROUTING_NAME_MAX];
	ROUTING_SKILLS(CONFIG_SKILL_FIELDS_)
#undef CONFIG_SKILL_FIELDS_
	int64_t offer_timeout;               /* ms */
	char no_answer_state[ROUTING_NAME_MAX];
	int64_t wrap_up;                     /* ms */
	int64_t gateway_grace;               /* ms */
	int64_t ring_progressive_step;       /* ms: one more agent rung this often */
	int64_t login_lock_after;            /* failed logins */
	int64_t login_lock_time;             /* ms */
	int64_t busy_at;                     /* Redis steps in flight */
	int64_t menu_timeout;                /* ms: a menu's choice awaited this long */
	int64_t session_max_age;             /* ms: an agent session's absolute lifetime */
	int64_t password_iterations;         /* PBKDF2 rounds of new hashes, >= 600000 */
	int64_t test_password_iterations;    /* TEST ONLY: fewer rounds; 0 = off */
	/* Operations statistics (node/ops/conf.h). */
	int64_t stats_interval;              /* ms; 0 = off */
#define CONFIG_OPS_TARGET_FIELDS_(n, sl, ans) \
	int64_t n##_sl_target;               /* thousandths */ \
	int64_t n##_answer_target;           /* thousandths */
	OPS_TIER_TARGETS(CONFIG_OPS_TARGET_FIELDS_)
#undef CONFIG_OPS_TARGET_FIELDS_
	/* Work orders (node/workflow/conf.h): targets, factors, calendars, dispatch. */
	char province[8];                    /* two uppercase letters; prefix of order ids */
#define CONFIG_WO_KIND_FIELDS_(k, id, fr, up, so)                                  \
	int64_t wo_##k##_first_response;     /* ms */                              \
	int64_t wo_##k##_update;             /* ms */                              \
	int64_t wo_##k##_solution;           /* ms */
	WO_KIND_LIST(CONFIG_WO_KIND_FIELDS_)
#undef CONFIG_WO_KIND_FIELDS_
	int64_t wo_urgent_factor;            /* thousandths */
#define CONFIG_WO_TIER_FIELDS_(n, def) int64_t wo_tier##n##_factor; /* thousandths */
	WO_TIER_LIST(CONFIG_WO_TIER_FIELDS_)
#undef CONFIG_WO_TIER_FIELDS_
	char wo_calendar[WO_CALENDAR_TEXT];  /* weekly hours, lib/calendar.h */
	char wo_calendars[CONFIG_PATH_MAX];  /* per-group hours; "" = none */
	char wo_holidays[CONFIG_PATH_MAX];   /* "" = none */
	char wo_timezone[WO_TIMEZONE_MAX];
	char wo_escalate[WO_ESCALATE_TEXT];
	int64_t wo_visit_quiet;              /* ms */
	int64_t wo_visit_delay;              /* ms */
	char wo_visit_exclude[WO_EXCLUDE_TEXT]; /* kinds, comma-separated */
	char wo_dispatch[CONFIG_PATH_MAX];   /* "" = no rules */
	char wo_default_group[WO_GROUP_MAX];
	char wo_categories[CONFIG_PATH_MAX]; /* "" = the shipped tree */
	char dial_clock_file[CONFIG_PATH_MAX]; /* tests: an offset of the dialing clock */
};

/*
 * config_load - build a complete configuration into c: defaults, then the
 * file at path (NULL: none), then each "name=value" of sets[0..nsets) in
 * order, then the required options and the rules between options
 * (config_check). On error err->msg is one line for the operator, naming
 * the file and line where there is one. A good configuration also sets
 * the process's password hashing cost (password_set_default_iterations:
 * test_password_iterations when set, else password_iterations).
 * Returns 0, -errno (file unreadable), KF_ECONFIG, KF_EPARSE, KF_ETOOBIG.
 */
int config_load(struct config *c, const char *path, const char *const *sets, size_t nsets,
		struct conf_err *err);

/*
 * config_check - what single options cannot say: log_level is a level;
 * when boss_inbox is set, boss_rejected and boss_archive are set and all
 * three differ; redis_sentinels only in cluster mode (etcd_endpoints set);
 * no plaintext etcd or Redis outside loopback (config_plaintext_remote)
 * unless allow_plaintext; province is two uppercase ASCII letters.
 * Returns 0, KF_ECONFIG with err filled.
 */
int config_check(const struct config *c, struct conf_err *err);

/* config_password_apply - the cost of the hashes kefud makes from c
 * (lib/password.h): test_password_iterations when set, else
 * password_iterations. Returns password_set_default_iterations's code. */
int config_password_apply(const struct config *c);

/*
 * config_plaintext_remote - the first endpoint c would talk to in
 * plaintext outside loopback (127.0.0.0/8, ::1, "localhost"; any other
 * host name counts as outside): an http:// URL of etcd_endpoints, or a
 * sentinel of redis_sentinels while redis_tls is off. Copies the endpoint
 * into endpoint[0..size) and returns the option's name; NULL when there is
 * none. Pure: nothing is resolved or dialed.
 */
const char *config_plaintext_remote(const struct config *c, char *endpoint, size_t size);

/*
 * config_with_cluster - the configuration a node runs with once the
 * cluster has a configuration: the cluster settings from text (a version
 * of storage/ccfg.h; a cluster setting it leaves out is its default), the
 * node's own from own; then checked as config_load checks. A node's own
 * setting named in text is refused. Returns 0, KF_ECONFIG, KF_EPARSE with
 * err filled.
 */
int config_with_cluster(struct config *out, const struct config *own, const char *text,
			struct conf_err *err);

/*
 * config_file_conflicts - the cluster settings a node's file sets (not to
 * their default) to another value than merged holds: fn(arg, o, file,
 * merged) for each (fn may be NULL). Returns how many.
 */
typedef void (*config_conflict_fn)(void *arg, const struct conf_option *o,
				   const struct config *file, const struct config *merged);
size_t config_file_conflicts(const struct config *file, const struct config *merged,
			     config_conflict_fn fn, void *arg);

#endif
