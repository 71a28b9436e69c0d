/* The node's metrics over HTTP. See metrics.h and docs/operations.md, "Metrics". */
#include "node/metrics.h"

#include "cluster/election.h"
#include "cluster/repl.h"
#include "lib/err.h"
#include "lib/httpd.h"
#include "node/hot.h"

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

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	httpd_free(m->httpd);
	free(m);
}
