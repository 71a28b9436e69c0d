/* The node's metrics over HTTP. See metrics.h and docs/operations.md, "Metrics". */
#include "node/metrics.h"

#include "cluster/election.h"
#include "cluster/repl.h"
#include "lib/err.h"
#include "lib/httpd.h"
#include "node/board.h"
#include "node/hot.h"
#include "storage/boss.h"
#include "storage/import.h"
#include "storage/writer.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef KEFU_VERSION
#define KEFU_VERSION "dev"
#endif

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_source {
	metrics_fn fn;
	void *arg;
};

struct metrics {
	struct httpd *httpd;
	struct metrics_opts o;
	struct metrics_source src[METRICS_SOURCES_MAX];
	size_t nsrc;
};

/* The bounds of the Redis round-trip histogram: 64 µs to about 1 s. */
static const uint64_t redis_rtt_bounds_us[] = {
	64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288,
	1048576,
};

/* ---- the writer ---- */

void metrics_out_init(struct metrics_out *o, size_t max)
{
	memset(o, 0, sizeof(*o));
	o->max = max ? max : METRICS_OUT_MAX;
}

void metrics_out_release(struct metrics_out *o)
{
	free(o->buf);
	memset(o, 0, sizeof(*o));
}

/* Appends s[0..n), growing the buffer up to o->max; past it, overflow. */
static void out_put(struct metrics_out *o, const char *s, size_t n)
{
	if (o->overflow)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		char *b;

		while (cap < o->len + n + 1)
			cap *= 2;
		if (cap > o->max + 1)
			cap = o->max + 1;
		if (o->len + n + 1 > cap) {
			o->overflow = true;
			return;
		}
		b = realloc(o->buf, cap);
		if (!b)
			abort();
		o->buf = b;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void out_str(struct metrics_out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void out_fmt(struct metrics_out *o, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		abort(); /* our numbers fit: a bug */
	out_put(o, tmp, (size_t)n);
}

/* HELP text escapes backslash and newline; label values also the quote. */
static void out_escaped(struct metrics_out *o, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			out_str(o, "\\\\");
		else if (*s == '\n')
			out_str(o, "\\n");
		else if (*s == '"' && quote)
			out_str(o, "\\\"");
		else
			out_put(o, s, 1);
	}
}

void metrics_family(struct metrics_out *o, const char *name, const char *type, const char *help)
{
	out_str(o, "# HELP ");
	out_str(o, name);
	out_str(o, " ");
	out_escaped(o, help, false);
	out_str(o, "\n# TYPE ");
	out_str(o, name);
	out_str(o, " ");
	out_str(o, type);
	out_str(o, "\n");
}

/* name{a="x",b="y"} — with le appended when given. */
static void out_series(struct metrics_out *o, const char *name, const char *suffix,
		       const struct metrics_label *labels, size_t nlabels, const char *le)
{
	out_str(o, name);
	out_str(o, suffix);
	if (nlabels == 0 && !le)
		return;
	out_str(o, "{");
	for (size_t i = 0; i < nlabels; i++) {
		if (i)
			out_str(o, ",");
		out_str(o, labels[i].name);
		out_str(o, "=\"");
		out_escaped(o, labels[i].value, true);
		out_str(o, "\"");
	}
	if (le) {
		out_str(o, nlabels ? ",le=\"" : "le=\"");
		out_str(o, le);
		out_str(o, "\"");
	}
	out_str(o, "}");
}

void metrics_sample(struct metrics_out *o, const char *name, const struct metrics_label *labels,
		    size_t nlabels, double value)
{
	char text[32];

	/* The shortest of 15 or 17 digits that reads back as the same double. */
	snprintf(text, sizeof(text), "%.15g", value);
	if (strtod(text, NULL) != value)
		snprintf(text, sizeof(text), "%.17g", value);
	out_series(o, name, "", labels, nlabels, NULL);
	out_fmt(o, " %s\n", text);
}

void metrics_sample_u64(struct metrics_out *o, const char *name,
			const struct metrics_label *labels, size_t nlabels, uint64_t value)
{
	out_series(o, name, "", labels, nlabels, NULL);
	out_fmt(o, " %" PRIu64 "\n", value);
}

void metrics_histogram_us(struct metrics_out *o, const char *name,
			  const struct metrics_label *labels, size_t nlabels,
			  const struct hist *h, const uint64_t *bounds_us, size_t nbounds)
{
	char le[32];

	for (size_t i = 0; i < nbounds; i++) {
		snprintf(le, sizeof(le), "%.6f", (double)bounds_us[i] / 1e6);
		out_series(o, name, "_bucket", labels, nlabels, le);
		out_fmt(o, " %" PRIu64 "\n", hist_count_below(h, bounds_us[i]));
	}
	out_series(o, name, "_bucket", labels, nlabels, "+Inf");
	out_fmt(o, " %" PRIu64 "\n", h->count);
	out_series(o, name, "_sum", labels, nlabels, NULL);
	out_fmt(o, " %.6f\n", (double)h->sum / 1e6);
	out_series(o, name, "_count", labels, nlabels, NULL);
	out_fmt(o, " %" PRIu64 "\n", h->count);
}

/* ---- the node's own metrics ---- */

/* Reads a small /proc file into buf (NUL-terminated). Returns bytes read or -1. */
static ssize_t proc_read(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* The n-th (1-based) space-separated field after the ")" that ends comm in /proc/self/stat. */
static bool stat_field(const char *stat, unsigned n, uint64_t *out)
{
	const char *p = strrchr(stat, ')');
	char *end;

	if (!p)
		return false;
	p++;
	/* Field 3 (state) is the first after ")". */
	for (unsigned f = 3; f < n; f++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return false;
	}
	*out = strtoull(p + 1, &end, 10);
	return end != p + 1;
}

static void metrics_process(struct metrics_out *o)
{
	char buf[1024];
	uint64_t utime, stime, pages;
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	char *end;

	if (proc_read("/proc/self/stat", buf, sizeof(buf)) > 0 && tck > 0 &&
	    stat_field(buf, 14, &utime) && stat_field(buf, 15, &stime)) {
		metrics_family(o, "process_cpu_seconds_total", "counter",
			       "User and system CPU time spent in seconds.");
		metrics_sample(o, "process_cpu_seconds_total", NULL, 0,
			       (double)(utime + stime) / (double)tck);
	}
	if (proc_read("/proc/self/statm", buf, sizeof(buf)) > 0 && page > 0) {
		const char *p = strchr(buf, ' ');

		if (p) {
			pages = strtoull(p + 1, &end, 10);
			if (end != p + 1) {
				metrics_family(o, "process_resident_memory_bytes", "gauge",
					       "Resident memory size in bytes.");
				metrics_sample_u64(o, "process_resident_memory_bytes", NULL, 0,
						   pages * (uint64_t)page);
			}
		}
	}
}

static void metrics_cluster(struct metrics *m, struct metrics_out *o)
{
	uint64_t epoch = 0, applied = 0, applied_epoch = 0;
	bool serving = repl_is_serving(m->o.repl);
	Kefu__StatusReply st;

	election_leader(m->o.election, &epoch);
	repl_applied(m->o.repl, &applied, &applied_epoch);
	metrics_family(o, "kefu_leader", "gauge",
		       "1 on the serving leader (it takes writes now), else 0.");
	metrics_sample_u64(o, "kefu_leader", NULL, 0, serving);
	metrics_family(o, "kefu_epoch", "gauge", "The cluster's epoch as etcd says (0: no leader).");
	metrics_sample_u64(o, "kefu_epoch", NULL, 0, epoch);
	metrics_family(o, "kefu_replication_applied_index", "gauge",
		       "The last log index this node has applied.");
	metrics_sample_u64(o, "kefu_replication_applied_index", NULL, 0, applied);
	metrics_family(o, "kefu_etcd_up", "gauge", "1 when the node's last etcd request succeeded.");
	metrics_sample_u64(o, "kefu_etcd_up", NULL, 0, election_etcd_ok(m->o.election));
	if (!serving)
		return;
	kefu__status_reply__init(&st);
	repl_fill_status(m->o.repl, &st);
	metrics_family(o, "kefu_replication_lag_entries", "gauge",
		       "On the leader: log entries each member is behind it.");
	for (size_t i = 0; i < st.n_members; i++) {
		struct metrics_label l = {"member", st.members[i]->name};

		metrics_sample_u64(o, "kefu_replication_lag_entries", &l, 1, st.members[i]->lag);
	}
	repl_status_release(&st);
}

static void metrics_redis(struct metrics *m, struct metrics_out *o)
{
	metrics_family(o, "kefu_redis_up", "gauge",
		       "1 when connected to a Redis primary that said it is master.");
	metrics_sample_u64(o, "kefu_redis_up", NULL, 0, hot_is_up(m->o.hot));
	metrics_family(o, "kefu_redis_roundtrip_seconds", "histogram",
		       "Round trips of the commands to the Redis primary, from the moment one "
		       "is handed to the connection to its reply.");
	metrics_histogram_us(o, "kefu_redis_roundtrip_seconds", NULL, 0, hot_rtt_total(m->o.hot),
			     redis_rtt_bounds_us,
			     sizeof(redis_rtt_bounds_us) / sizeof(redis_rtt_bounds_us[0]));
}

/* The agent states of the live board, each exported even when no agent is in it. */
static const char *const board_states[] = {"ready", "reserved", "on_call", "wrap_up", "not_ready"};

/* Calls waiting and the longest wait of each tier or skill queue q[0..n). */
static void metrics_board_queues(struct metrics_out *o, const struct board_queue *q, size_t n,
				 const char *label, const char *what, uint64_t now)
{
	char name[64], help[160];
	struct metrics_label l = {label, NULL};

	snprintf(name, sizeof(name), "kefu_%s_waiting_calls", what);
	snprintf(help, sizeof(help), "Calls queued (not offered) per %s, cluster-wide, as the "
		 "live board last read them.", label);
	metrics_family(o, name, "gauge", help);
	for (size_t i = 0; i < n; i++) {
		l.value = q[i].name;
		metrics_sample_u64(o, name, &l, 1, q[i].waiting);
	}
	snprintf(name, sizeof(name), "kefu_%s_longest_wait_seconds", what);
	snprintf(help, sizeof(help), "How long the longest-waiting queued call of each %s has "
		 "waited (0: none waits).", label);
	metrics_family(o, name, "gauge", help);
	for (size_t i = 0; i < n; i++) {
		uint64_t ms = q[i].oldest_ms && q[i].oldest_ms < now ? now - q[i].oldest_ms : 0;

		l.value = q[i].name;
		metrics_sample(o, name, &l, 1, (double)ms / 1000.0);
	}
}

/* Agents by state, and the not-ready ones by reason. */
static void metrics_board_agents(struct metrics_out *o, const struct board *b)
{
	struct metrics_label l = {"state", NULL};
	const char *reasons[64];
	uint64_t nreason[64];
	size_t nr = 0;

	metrics_family(o, "kefu_agents", "gauge",
		       "Agents logged in, cluster-wide, by state, as the live board last read them.");
	for (size_t s = 0; s < sizeof(board_states) / sizeof(board_states[0]); s++) {
		uint64_t n = 0;

		for (size_t a = 0; a < b->nagents; a++)
			n += strcmp(b->agents[a].state, board_states[s]) == 0;
		l.value = board_states[s];
		metrics_sample_u64(o, "kefu_agents", &l, 1, n);
	}
	for (size_t a = 0; a < b->nagents; a++) {
		size_t r;

		if (strcmp(b->agents[a].state, "not_ready") != 0)
			continue;
		for (r = 0; r < nr && strcmp(reasons[r], b->agents[a].reason) != 0; r++)
			;
		if (r == nr) {
			if (nr == sizeof(reasons) / sizeof(reasons[0]))
				continue; /* reasons are a short list: the rest uncounted */
			reasons[nr] = b->agents[a].reason;
			nreason[nr++] = 0;
		}
		nreason[r]++;
	}
	metrics_family(o, "kefu_agents_not_ready", "gauge",
		       "Agents not ready, cluster-wide, by the reason they gave.");
	l.name = "reason";
	for (size_t r = 0; r < nr; r++) {
		l.value = reasons[r];
		metrics_sample_u64(o, "kefu_agents_not_ready", &l, 1, nreason[r]);
	}
}

/*
 * The live board: wanted from this scrape on (so the routing keeps it
 * fresh while Prometheus scrapes), exported once it has been read.
 */
static void metrics_board(struct metrics *m, struct metrics_out *o)
{
	const struct board *b = m->o.board;
	uint64_t now = loop_wall_ms();

	board_want(m->o.board, now);
	if (!b->at_ms)
		return;
	metrics_family(o, "kefu_board_age_seconds", "gauge",
		       "How old the live board's reading is: the queue and agent gauges are "
		       "as of then.");
	metrics_sample(o, "kefu_board_age_seconds", NULL, 0,
		       (double)(now > b->at_ms ? now - b->at_ms : 0) / 1000.0);
	metrics_board_queues(o, b->tiers, b->ntiers, "tier", "tier", now);
	metrics_board_queues(o, b->skills, b->nskills, "skill", "queue", now);
	metrics_board_agents(o, b);
}

/* BOSS files by outcome and kind, every pair (0 included) so rates start from 0. */
static void metrics_boss(struct metrics *m, struct metrics_out *o)
{
	metrics_family(o, "kefu_boss_files_total", "counter",
		       "BOSS data files processed by this node (inbox and uploads) by outcome "
		       "and kind; a held file counts at each scan that holds it.");
	for (size_t oc = 0; oc < IMPORT_OUTCOME_COUNT; oc++)
		for (size_t k = 0; k <= BOSS_KIND_COUNT; k++) {
			const char *kind = k < BOSS_KIND_COUNT ? boss_kind_name((enum boss_kind)k)
							       : "unknown";
			struct metrics_label l[] = {
				{"outcome", import_outcome_name((enum import_outcome)oc)},
				{"kind", kind},
			};

			metrics_sample_u64(o, "kefu_boss_files_total", l, 2,
					   import_tally_get(m->o.boss, (enum import_outcome)oc, k));
		}
}

/* Jobs per commit is how well group commit shares one fsync among writes. */
static void metrics_writer(struct metrics *m, struct metrics_out *o)
{
	struct writer_stats st;

	if (!m->o.sto->writer)
		return;
	writer_stats_get(m->o.sto->writer, &st);
	metrics_family(o, "kefu_writer_jobs_total", "counter",
		       "Write jobs the writer thread completed (log entries applied, writes).");
	metrics_sample_u64(o, "kefu_writer_jobs_total", NULL, 0, st.jobs);
	metrics_family(o, "kefu_writer_commits_total", "counter",
		       "LMDB write transactions committed, each with the sync of its pages.");
	metrics_sample_u64(o, "kefu_writer_commits_total", NULL, 0, st.commits);
	metrics_family(o, "kefu_writer_syncs_total", "counter",
		       "Syncs of a commit's meta page of their own: no next commit was there to carry it.");
	metrics_sample_u64(o, "kefu_writer_syncs_total", NULL, 0, st.syncs);
	metrics_family(o, "kefu_writer_busy_seconds_total", "counter",
		       "Time the writer thread spent in write transactions, commits included.");
	metrics_sample(o, "kefu_writer_busy_seconds_total", NULL, 0, (double)st.busy_ns / 1e9);
	metrics_family(o, "kefu_writer_body_seconds_total", "counter",
		       "Of that, time in the writes' own code (the rest is LMDB's commit and sync).");
	metrics_sample(o, "kefu_writer_body_seconds_total", NULL, 0, (double)st.body_ns / 1e9);
}

static void metrics_node(struct metrics *m, struct metrics_out *o)
{
	struct metrics_label info[] = {{"version", KEFU_VERSION}, {"node", m->o.self}};

	metrics_family(o, "kefu_up", "gauge", "1 while the node serves.");
	metrics_sample_u64(o, "kefu_up", NULL, 0, 1);
	metrics_family(o, "kefu_build_info", "gauge", "Always 1; the labels say what runs.");
	metrics_sample_u64(o, "kefu_build_info", info, 2, 1);
	metrics_process(o);
	if (m->o.repl && m->o.election)
		metrics_cluster(m, o);
	if (m->o.hot)
		metrics_redis(m, o);
	if (m->o.board)
		metrics_board(m, o);
	if (m->o.boss)
		metrics_boss(m, o);
	if (m->o.sto)
		metrics_writer(m, o);
}

/* ---- serving ---- */

static void metrics_on_request(void *arg, const char *method, const char *path,
			       struct httpd_reply *out)
{
	struct metrics *m = arg;
	struct metrics_out o;

	if (strcmp(path, "/metrics") != 0) {
		out->status = 404;
		return;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		out->status = 405;
		return;
	}
	metrics_out_init(&o, 0);
	metrics_node(m, &o);
	for (size_t i = 0; i < m->nsrc; i++)
		m->src[i].fn(m->src[i].arg, &o);
	if (o.overflow) {
		metrics_out_release(&o);
		out->status = 500;
		return;
	}
	out->status = 200;
	out->content_type = METRICS_CONTENT_TYPE;
	out->body = o.buf; /* the reply owns it now */
	out->body_len = o.len;
}

int metrics_new(const struct metrics_opts *o, struct metrics **out)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct httpd_opts ho = {.loop = o->loop, .addr = o->addr, .handler = metrics_on_request};
	int r;

	if (!m)
		abort();
	m->o = *o;
	ho.arg = m;
	*out = NULL;
	if ((r = httpd_new(&ho, &m->httpd)) != 0) {
		free(m);
		return r;
	}
	*out = m;
	return 0;
}

uint16_t metrics_port(const struct metrics *m)
{
	return httpd_port(m->httpd);
}

int metrics_register(struct metrics *m, metrics_fn fn, void *arg)
{
	if (m->nsrc == METRICS_SOURCES_MAX)
		return KF_ETOOBIG;
	m->src[m->nsrc].fn = fn;
	m->src[m->nsrc].arg = arg;
	m->nsrc++;
	return 0;
}

void metrics_unregister(struct metrics *m, metrics_fn fn, void *arg)
{
	for (size_t i = 0; i < m->nsrc; i++)
		if (m->src[i].fn == fn && m->src[i].arg == arg) {
			memmove(&m->src[i], &m->src[i + 1], (m->nsrc - i - 1) * sizeof(m->src[0]));
			m->nsrc--;
			return;
		}
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	httpd_free(m->httpd);
	free(m);
}
