/*
 * The node's metrics: Prometheus text exposition (format 0.0.4) served over
 * plain HTTP on metrics_addr by the node's loop (lib/httpd.h). GET or HEAD
 * /metrics answers 200; any other path 404, any other method 405.
 *
 * Each scrape runs the node's own source (process, replication, etcd,
 * Redis, the live board, BOSS files) and then every source registered, in
 * order, on the loop's thread: a source writes families through the writer
 * below. A component registers its own source (struct node_ctx's metrics)
 * and unregisters it when it stops; the server knows no component. Nothing
 * is kept between scrapes but what the sources own.
 *
 * Writer: metrics_family, then its samples; names are ours (checked only
 * by tests: `promtool check metrics`), label values are escaped here.
 * The output is bounded (METRICS_OUT_MAX); past it the scrape answers 500.
 */
#ifndef KEFU_NODE_METRICS_H
#define KEFU_NODE_METRICS_H

#include "lib/hist.h"
#include "lib/loop.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_OUT_MAX ((size_t)4 << 20)
#define METRICS_SOURCES_MAX 32

struct metrics;
struct board;
struct election;
struct hot;
struct import_tally;
struct repl;
struct repl_storage;

/* The exposition being written; only through the functions below. */
struct metrics_out {
	char *buf;       /* malloc'd, NUL-terminated while len < cap */
	size_t len, cap, max;
	bool overflow;   /* something did not fit in max: the scrape fails */
};

/* A label of a sample: both strings are read during the call only. */
struct metrics_label {
	const char *name;
	const char *value;
};

/* metrics_out_init - an empty exposition of at most max bytes (0 = METRICS_OUT_MAX). */
void metrics_out_init(struct metrics_out *o, size_t max);

/* metrics_out_release - free the text; o can be initialised again. */
void metrics_out_release(struct metrics_out *o);

/* metrics_family - the "# HELP" and "# TYPE" lines (type: "gauge", "counter", "histogram"). */
void metrics_family(struct metrics_out *o, const char *name, const char *type, const char *help);

/* metrics_sample - one line: name{labels} value (%.15g, or %.17g when that is
 * needed to read back the same double: exact for integers below 2^53). */
void metrics_sample(struct metrics_out *o, const char *name, const struct metrics_label *labels,
		    size_t nlabels, double value);

/* metrics_sample_u64 - the same with an integer value, written exactly. */
void metrics_sample_u64(struct metrics_out *o, const char *name,
			const struct metrics_label *labels, size_t nlabels, uint64_t value);

/*
 * metrics_histogram_us - a histogram family's samples from h, whose
 * values are µs: name_bucket{labels,le="S"} for each bound (µs, powers of
 * two rising, so the counts are exact: hist_count_below), le="+Inf",
 * name_sum (seconds) and name_count. Call metrics_family first.
 */
void metrics_histogram_us(struct metrics_out *o, const char *name,
			  const struct metrics_label *labels, size_t nlabels,
			  const struct hist *h, const uint64_t *bounds_us, size_t nbounds);

/* A source of metrics: writes its families into o on every scrape. */
typedef void (*metrics_fn)(void *arg, struct metrics_out *o);

struct metrics_opts {
	struct loop *loop;           /* must outlive the metrics, as must the ones below */
	const char *addr;            /* metrics_addr, "HOST:PORT" */
	const char *self;            /* the node's name */
	struct repl *repl;           /* NULL on a node alone */
	struct election *election;   /* NULL on a node alone */
	struct hot *hot;             /* NULL without Redis */
	/* The live board (node/board.h), wanted again at every scrape; NULL
	 * without Redis. Its families are left out until it was first read. */
	struct board *board;
	/* BOSS files by outcome and kind (storage/import.h), inbox and uploads
	 * together; NULL: not exported. */
	const struct import_tally *boss;
	/* The local replica (cluster/repl.h): its writer thread's jobs and
	 * commits, read at each scrape (a snapshot install replaces the
	 * writer); NULL: not exported. */
	const struct repl_storage *sto;
};

/*
 * metrics_new - serve /metrics on o->addr. Returns 0 and *out (free with
 * metrics_free), or, *out NULL, the error of httpd_new (KF_EPARSE,
 * -EADDRINUSE...).
 */
int metrics_new(const struct metrics_opts *o, struct metrics **out);

/* metrics_port - the port bound (o->addr's, or the one picked for port 0). */
uint16_t metrics_port(const struct metrics *m);

/*
 * metrics_register - add a source, run after those before it on every
 * scrape until metrics_free. arg must stay valid until then. Returns 0,
 * KF_ETOOBIG (METRICS_SOURCES_MAX reached).
 */
int metrics_register(struct metrics *m, metrics_fn fn, void *arg);

/*
 * metrics_unregister - the source (fn, arg) registered before runs no more;
 * the ones after it keep their order. Nothing when it is not registered.
 */
void metrics_unregister(struct metrics *m, metrics_fn fn, void *arg);

/* metrics_free - stop serving; NULL is fine. */
void metrics_free(struct metrics *m);

#endif
