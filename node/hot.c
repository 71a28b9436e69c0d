/* The node's hot state in Redis. See hot.h. */
#include "node/hot.h"

#include "lib/err.h"
#include "lib/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hot {
	struct redis *redis;
	/* the scripts of every hot_define, by id */
	const struct hot_script *defs[HOT_SCRIPTS_MAX];
	struct redis_script *scripts[HOT_SCRIPTS_MAX];
	unsigned nscripts;
	char prefix[192];             /* "kefu:<cluster>:" */
	char channel[HOT_KEY_MAX];    /* "<prefix>events:<node>" */
	char primary[REDIS_ADDR_MAX]; /* the primary up on now or last; "" before */
	hot_event_fn on_event;
	void *event_arg;
	hot_failover_fn on_failover;
	void *failover_arg;
};

/* ---- the client's callbacks ---- */

static void hot_loaded(void *arg, int err, const struct redis_reply *reply)
{
	const char *name = arg;

	if (err || reply->type == REDIS_TYPE_ERROR)
		log_warn(LOG_CLUSTER, "script preload failed script=%s error=\"%s\"", name,
			 err ? kf_strerror(err) : reply->str);
}

/*
 * Load scripts [from, to) on a primary as soon as the client is up on it
 * (a new one after a failover may lack them): the steps' EVALSHA then find
 * them, instead of each first call of a script taking the NOSCRIPT detour,
 * many at once under load.
 */
static void hot_preload(struct hot *h, unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i++) {
		const char *argv[] = {"SCRIPT", "LOAD", h->defs[i]->text};
		const size_t lens[] = {6, 4, h->defs[i]->len};

		redis_command(h->redis, 3, argv, lens, hot_loaded, (void *)h->defs[i]->name);
	}
}

static void hot_state(void *arg, bool up, const char *addr, int reason, const char *detail)
{
	struct hot *h = arg;

	if (up) {
		snprintf(h->primary, sizeof(h->primary), "%s", addr);
		log_info(LOG_CLUSTER, "hot up primary=%s", addr);
		hot_preload(h, 0, h->nscripts);
	} else {
		log_warn(LOG_CLUSTER, "hot down primary=%s addr=%s reason=%s detail=\"%s\"",
			 h->primary[0] ? h->primary : "-", addr[0] ? addr : "-",
			 kf_errname(reason), detail);
	}
}

static void hot_moved(void *arg, const char *from, const char *to)
{
	struct hot *h = arg;

	log_warn(LOG_CLUSTER, "hot failover from=%s to=%s reassert=%s", from, to,
		 h->on_failover ? "yes" : "no");
	if (h->on_failover)
		h->on_failover(h->failover_arg, from, to);
}

static void hot_message(void *arg, const char *channel, const char *pattern, const char *payload,
			size_t len)
{
	struct hot *h = arg;

	(void)pattern;
	if (strcmp(channel, h->channel) != 0)
		return; /* not ours: we subscribe to one channel */
	if (h->on_event)
		h->on_event(h->event_arg, payload, len);
	else
		log_debug(LOG_CLUSTER, "hot event dropped (no handler) bytes=%zu", len);
}

/* ---- keys ---- */

int hot_key_parts(const struct hot *h, char *buf, size_t cap, const char *const *parts, size_t n)
{
	size_t len = strlen(h->prefix);

	if (cap == 0)
		return KF_ETOOBIG;
	buf[0] = '\0';
	if (len >= cap)
		return KF_ETOOBIG;
	memcpy(buf, h->prefix, len);
	for (size_t i = 0; i < n; i++) {
		size_t pl;

		if (!parts[i]) {
			buf[0] = '\0';
			return -EINVAL;
		}
		pl = strlen(parts[i]);
		if (pl >= cap - len) {
			buf[0] = '\0';
			return KF_ETOOBIG;
		}
		memcpy(buf + len, parts[i], pl);
		len += pl;
	}
	buf[len] = '\0';
	return 0;
}

const char *hot_prefix(const struct hot *h)
{
	return h->prefix;
}

/* ---- life ---- */

int hot_new(const struct hot_opts *o, struct hot **out)
{
	struct hot *h;
	struct redis_opts ro = {
		.loop = o->loop,
		.sentinels = o->sentinels,
		.master_name = o->master_name,
		.password = o->password && o->password[0] ? o->password : NULL,
		.sentinel_password = o->password && o->password[0] ? o->password : NULL,
		.tls = o->tls,
		.plain_loopback_only = o->plain_loopback_only,
		.command_timeout_ms = o->timeout_ms,
		.connect_timeout_ms = o->timeout_ms,
		.state = hot_state,
		.moved = hot_moved,
		.message = hot_message,
	};
	int n, r;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		abort();
	ro.arg = h;
	n = snprintf(h->prefix, sizeof(h->prefix), "kefu:%s:", o->cluster);
	if (n < 0 || (size_t)n >= sizeof(h->prefix) ||
	    hot_key(h, h->channel, sizeof(h->channel), "events:", o->node) != 0) {
		log_err(LOG_CLUSTER, "hot cluster or node name too long");
		r = KF_ECONFIG;
		goto fail;
	}
	r = redis_new(&ro, &h->redis);
	if (r) {
		log_err(LOG_CLUSTER, "hot redis options refused sentinels=%s master=%s error=\"%s\"",
			o->sentinels ? o->sentinels : "", o->master_name ? o->master_name : "",
			kf_strerror(r));
		goto fail;
	}
	r = redis_subscribe(h->redis, h->channel, false);
	if (r) {
		log_err(LOG_CLUSTER, "hot subscribe failed channel=%s error=\"%s\"", h->channel,
			kf_strerror(r));
		goto fail;
	}
	log_info(LOG_CLUSTER, "hot starting sentinels=%s master=%s tls=%s channel=%s",
		 o->sentinels, o->master_name, o->tls ? "yes" : "no", h->channel);
	*out = h;
	return 0;
fail:
	hot_free(h);
	return r;
}

void hot_free(struct hot *h)
{
	if (!h)
		return;
	redis_free(h->redis); /* frees the scripts too */
	free(h);
}

/* The SHA-1 Redis will compute must be the one the build embedded, or
 * EVALSHA would name another script. A script the client keeps although
 * the table is refused stays unused: the client frees it with itself. */
int hot_define(struct hot *h, const struct hot_script *s, size_t n, unsigned *first)
{
	unsigned base = h->nscripts;

	if (!s || n == 0)
		return -EINVAL;
	if (n > HOT_SCRIPTS_MAX - base) {
		log_err(LOG_CLUSTER, "hot scripts over the limit defined=%u more=%zu max=%d", base,
			n, HOT_SCRIPTS_MAX);
		return KF_ETOOBIG;
	}
	for (size_t i = 0; i < n; i++) {
		struct redis_script *rs;
		int r = redis_script_define(h->redis, s[i].name, s[i].text, &rs);

		if (r) {
			log_err(LOG_CLUSTER, "hot script refused script=%s bytes=%zu error=\"%s\"",
				s[i].name ? s[i].name : "", s[i].len, kf_strerror(r));
			return r;
		}
		if (strcmp(redis_script_sha(rs), s[i].sha1) != 0) {
			log_err(LOG_CLUSTER, "hot script sha1 differs from the build script=%s",
				s[i].name);
			return KF_EINTERNAL;
		}
		h->defs[base + i] = &s[i];
		h->scripts[base + i] = rs;
	}
	h->nscripts = base + (unsigned)n;
	*first = base;
	if (redis_is_up(h->redis))
		hot_preload(h, base, h->nscripts);
	return 0;
}

/* ---- commands ---- */

int hot_eval(struct hot *h, unsigned id, int nkeys, int argc, const char *const *argv,
	     const size_t *argvlen, redis_reply_fn cb, void *arg)
{
	if (id >= h->nscripts)
		return -EINVAL;
	return redis_evalsha(h->redis, h->scripts[id], nkeys, argc, argv, argvlen, cb, arg);
}

int hot_command(struct hot *h, int argc, const char *const *argv, const size_t *argvlen,
		redis_reply_fn cb, void *arg)
{
	return redis_command(h->redis, argc, argv, argvlen, cb, arg);
}

/* ---- callbacks and state ---- */

void hot_on_event(struct hot *h, hot_event_fn fn, void *arg)
{
	h->on_event = fn;
	h->event_arg = arg;
}

void hot_on_failover(struct hot *h, hot_failover_fn fn, void *arg)
{
	h->on_failover = fn;
	h->failover_arg = arg;
}

const char *hot_primary(const struct hot *h, bool *up)
{
	*up = redis_is_up(h->redis);
	return h->primary;
}

const struct hist *hot_rtt_total(const struct hot *h)
{
	return redis_rtt_total(h->redis);
}

void hot_rtt(struct hot *h, uint64_t *p50_us, uint64_t *p99_us, uint64_t *count)
{
	redis_rtt(h->redis, p50_us, p99_us, count);
}

bool hot_is_up(const struct hot *h)
{
	return redis_is_up(h->redis);
}
