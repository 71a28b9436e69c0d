/*
 * kefuctl's pieces: main.c (global options, the command table), offline.c
 * (commands on a node's database directory, --db), online.c (commands
 * through a running node over TLS), render.c (how a subscriber is shown),
 * agents.c (agent accounts and the audit log, online and offline), callbacks.c
 * (the callback requests waiting for the dialer), orders.c (work orders).
 */
#ifndef KEFU_CLUSTER_KEFUCTL_CTL_H
#define KEFU_CLUSTER_KEFUCTL_CTL_H

#include "proto/kefu.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXIT_NEGATIVE 1
#define EXIT_USAGE 2

#define CTL_NODES_MAX 32

/* Where online commands go, from --node / --cluster / --config. */
struct ctl_target {
	char nodes[CTL_NODES_MAX][272]; /* HOST:PORT, tried in order */
	size_t nnodes;
	char ca[1024], cert[1024], key[1024];
	char crl[1024];                /* the nodes' certificates are checked against it; "" none */
	bool given;                    /* any of the three options was used */
};

extern struct ctl_target ctl_target;

/* ctl_usage_error - print "kefuctl: <msg>" and the current command's usage; returns EXIT_USAGE. */
int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ctl_parse_u64 - a whole decimal number in [min, max]; 0 or KF_EPARSE. */
int ctl_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* The options of `lookup` and `skip`, the same offline and online. --db is
 * accepted by both parsers; the online commands never see it (main.c sends
 * a command with --db to its offline form). Each returns 0 or EXIT_USAGE
 * (after printing why). */
struct ctl_lookup_args {
	const char *db, *msisdn, *user_id;
	uint64_t months;
	bool json;
};
int ctl_lookup_args(int argc, char **argv, struct ctl_lookup_args *a);

struct ctl_skip_args {
	const char *db, *prov, *kind, *reason;
	uint64_t seq;
};
int ctl_skip_args(int argc, char **argv, struct ctl_skip_args *a);

/* A subscriber as an agent's screen shows it, from a local or a remote lookup. */
struct ctl_profile {
	const Kefu__Subscriber *user;
	const Kefu__Customer *cust;     /* NULL when missing */
	size_t npay;
	Kefu__Payment *const *pay;      /* newest first */
	size_t nbill;
	Kefu__Bill *const *bill;        /* newest month first */
	size_t ncdr;
	Kefu__Cdr *const *cdr;          /* newest first */
};

/* ctl_profile_print - readable text, or one line of JSON (the lookup contract). */
void ctl_profile_print(const struct ctl_profile *p, bool json);

/* Offline commands (offline.c). */
int ctl_offline_import(int argc, char **argv);
int ctl_offline_lookup(int argc, char **argv);
int ctl_skip(int argc, char **argv);
int ctl_prune(int argc, char **argv);
int ctl_stat(int argc, char **argv);
int ctl_dump(int argc, char **argv);

/* Online commands (online.c). */
int ctl_online_import(int argc, char **argv);
int ctl_online_lookup(int argc, char **argv);
int ctl_status(int argc, char **argv);
int ctl_members(int argc, char **argv);
int ctl_switchover(int argc, char **argv);
int ctl_failover(int argc, char **argv);
int ctl_online_skip(int argc, char **argv);

/*
 * ctl_request - one request to the first node that answers, one reply of
 * body want (online.c). Errors are printed. On 0 *out is the reply, freed
 * with kefu__envelope__free_unpacked; otherwise the exit code (1 for a
 * "not found" Error, 2 for the rest).
 */
int ctl_request(Kefu__Envelope *req, Kefu__Envelope__BodyCase want, uint64_t timeout_ms,
		Kefu__Envelope **out);

/*
 * ctl_call - one request to the target's nodes, trying them from the one at
 * index *node on (wrapping around) until one completes a Ping (online.c).
 * On 0 *out is the reply, whatever its body (an Error too: nothing is
 * printed for it), freed with kefu__envelope__free_unpacked, and *node the
 * index of the node that answered. Otherwise *out is NULL and the failure
 * has been printed: -EHOSTUNREACH when no node answered (the request was
 * not sent), else the error of the link after the request went out (a
 * lost connection, -ETIMEDOUT, ...: the node may or may not have acted on
 * it), with *node the node it was sent to.
 */
int ctl_call(Kefu__Envelope *req, uint64_t timeout_ms, size_t *node, Kefu__Envelope **out);

/*
 * ctl_watch - send req and pass its reply (of body want) to each, then
 * every envelope the node pushes on the connection, until the connection
 * goes (the process ends on SIGINT). Returns ctl_request's exit code for a
 * first reply that is an Error or unexpected, else EXIT_USAGE when the
 * connection went.
 */
typedef void (*ctl_push_fn)(void *arg, const Kefu__Envelope *e);
int ctl_watch(Kefu__Envelope *req, Kefu__Envelope__BodyCase want, uint64_t timeout_ms,
	      ctl_push_fn each, void *arg);

/*
 * ctl_call_expect - ctl_call, then a reply of body want: 0 and *out, else
 * EXIT_NEGATIVE with the Error (or the failure) printed and *out NULL.
 * *node as for ctl_call.
 */
int ctl_call_expect(Kefu__Envelope *req, Kefu__Envelope__BodyCase want, uint64_t timeout_ms,
		    size_t *node, Kefu__Envelope **out);

/*
 * ctl_request_sure - send req until it is answered for sure with a body
 * want: a lost link or an Error saying the write "may or may not" be
 * applied sends it again, to the next node, a second apart, at most
 * retries times (the request must be safe to send again: it carries its
 * own reference). A first attempt that reached no node is not retried.
 * again is printed when no sure answer came. On 0 *out is the reply;
 * otherwise EXIT_NEGATIVE, the Error printed.
 */
int ctl_request_sure(Kefu__Envelope *req, Kefu__Envelope__BodyCase want, uint64_t timeout_ms,
		     int retries, const char *again, Kefu__Envelope **out);

/* ctl_print_error - print an Error reply's message (and the leader it
 * names) on stderr; returns ctl_request's exit code for it (online.c). */
int ctl_print_error(const Kefu__Envelope *rep);

/*
 * ctl_request_pages - a listing that comes in pages (online.c): req's body
 * has a bytes field "after", each reply body (of case want) a bytes field
 * "next", a cursor of at most CTL_CURSOR_MAX bytes in key order. req is
 * sent with "after" set from the last "next" until a reply has none (or
 * one that does not move forward). each gets every reply body, valid
 * during the call. Returns 0 or ctl_request's exit code.
 */
#define CTL_CURSOR_MAX 1024
typedef void (*ctl_page_fn)(void *arg, const ProtobufCMessage *page);
int ctl_request_pages(Kefu__Envelope *req, Kefu__Envelope__BodyCase want, uint64_t timeout_ms,
		      ctl_page_fn each, void *arg);

/*
 * ctl_admin_request - ctl_request for an AdminReply, printed as the answer
 * ("refused: ..." when not ok). Returns 0, EXIT_NEGATIVE (refused), or
 * ctl_request's exit code.
 */
int ctl_admin_request(Kefu__Envelope *req, uint64_t timeout_ms);

/* ctl_local_time_arg - the value arg of option --opt, YYYYMMDDHHMMSS in
 * local time, into unix ms: 0, or EXIT_USAGE after printing why (agents.c). */
int ctl_local_time_arg(const char *opt, const char *arg, uint64_t *ms);

/* ctl_report_request - a node's Report of [from, to) by by (ops.c): 0 and
 * *rep (free with kefu__envelope__free_unpacked), or ctl_request's exit code. */
int ctl_report_request(uint64_t from, uint64_t to, const char *by, Kefu__Envelope **rep);

/* ctl_local_stamp - unix ms as local YYYYMMDDHHMMSS, the form --from takes (ops.c). */
void ctl_local_stamp(uint64_t ms, char *buf, size_t cap);

/* ctl_time_text - unix ms as local "YYYY-MM-DD HH:MM:SS.mmm" (agents.c). */
void ctl_time_text(uint64_t ms, char *buf, size_t cap);

/* ctl_list_offline - run(t, arg) in a read transaction on the node
 * database in dir, which must exist (agents.c). Errors are printed.
 * Returns 0 or EXIT_USAGE. */
struct store_txn;
typedef int (*ctl_list_fn)(struct store_txn *t, void *arg);
int ctl_list_offline(const char *dir, ctl_list_fn run, void *arg);

/* The options of a listing (agents.c): [--db DIR] [--json], and with
 * since [--since YYYYMMDDHHMMSS] (local time, into since_ms). Returns 0 or
 * EXIT_USAGE (after printing why). */
struct ctl_list_args {
	uint64_t since_ms;
	bool json;
	const char *db;
};
int ctl_list_args(int argc, char **argv, bool since, struct ctl_list_args *g);

/* Agent accounts and the audit log (agents.c): online, and offline with --db. */
int ctl_agent(int argc, char **argv);
int ctl_agent_offline(int argc, char **argv);
int ctl_audit(int argc, char **argv);
int ctl_audit_offline(int argc, char **argv);

/* Callback requests (callbacks.c): the pending list, online and with --db. */
int ctl_callbacks(int argc, char **argv);
int ctl_callbacks_offline(int argc, char **argv);

/* Work orders (orders.c): `order create|show|list|transition|update|
 * categories|check`, online only. */
int ctl_order(int argc, char **argv);

/* Operations statistics (ops.c): `report` and `wallboard`, online. */
int ctl_report(int argc, char **argv);
int ctl_wallboard(int argc, char **argv);

/* Staffing forecast (forecast.c): Erlang C or A from the arrival rate and
 * handling time, offline. */
int ctl_forecast(int argc, char **argv);

/* kb.c */
int ctl_kb(int argc, char **argv);

/* dial.c */
int ctl_dnc(int argc, char **argv);
int ctl_campaign(int argc, char **argv);

/* config.c */
int ctl_config(int argc, char **argv);

/* backup.c */
int ctl_backup(int argc, char **argv);
int ctl_restore(int argc, char **argv);
/* A province's CA and certificates (certs.c): `certs init`, offline. */
int ctl_certs(int argc, char **argv);

#endif
