/* The node's settings and the cluster configuration. See settings.h. */
#include "node/settings.h"

#include "lib/conf.h"
#include "lib/digest.h"
#include "lib/err.h"
#include "lib/file.h"
#include "lib/log.h"
#include "node/actor.h"
#include "node/config_table.h"
#include "node/leader.h"
#include "proto/frame.h"
#include "storage/audit.h"
#include "storage/batch.h"
#include "storage/ccfg.h"
#include "storage/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SETTINGS_FILE_MAX (16u << 20)
#define SETS_MAX 256            /* NAME=VALUE items of one config set */
#define HISTORY_DEFAULT 20
#define HISTORY_MAX 1000

struct settings {
	const struct config *cfg;
	const struct config *wanted;
	const uint64_t *version;
	struct loop *loop;
	struct repl_storage *sto;
	struct leader *leader;
	char self[64];
	unsigned inflight;
	bool dead;
	bool seeding;
};

static void settings_release(struct settings *s)
{
	free(s);
}

/* The SHA-256 of the file at path, "" when it cannot be read. */
static void file_sha(const char *path, char out[DIGEST_SHA256_HEX + 1])
{
	char *text;
	size_t len;

	out[0] = '\0';
	if (!*path || file_read_all(path, SETTINGS_FILE_MAX, &text, &len))
		return;
	digest_sha256_hex(text, len, out);
	free(text);
}

static void on_show(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct settings *s = state;
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__ConfigShowReply rep = KEFU__CONFIG_SHOW_REPLY__INIT;
	Kefu__ConfigSetting *set = calloc(config_table_len, sizeof(*set));
	Kefu__ConfigSetting **ptr = calloc(config_table_len, sizeof(*ptr));
	char (*vals)[CONFIG_VALUE_MAX] = calloc(config_table_len, CONFIG_VALUE_MAX);
	char (*pend)[CONFIG_VALUE_MAX] = calloc(config_table_len, CONFIG_VALUE_MAX);
	char (*shas)[DIGEST_SHA256_HEX + 1] = calloc(config_table_len, DIGEST_SHA256_HEX + 1);

	if (!set || !ptr || !vals || !pend || !shas)
		abort();
	for (size_t i = 0; i < config_table_len; i++) {
		const struct conf_option *o = &config_table[i];

		kefu__config_setting__init(&set[i]);
		set[i].name = (char *)o->name;
		set[i].value = conf_format(o, s->cfg, vals[i], CONFIG_VALUE_MAX);
		set[i].has_cluster = set[i].has_is_default = 1;
		set[i].cluster = config_table_is_cluster(o->name);
		set[i].is_default = config_table_is_default(s->cfg, o);
		if (o->type == CONF_PATH) {
			file_sha(vals[i], shas[i]);
			set[i].file_sha256 = shas[i];
		}
		if (s->wanted && set[i].cluster &&
		    strcmp(conf_format(o, s->wanted, pend[i], CONFIG_VALUE_MAX), vals[i]) != 0) {
			set[i].has_pending_restart = set[i].pending_restart = 1;
			set[i].pending = pend[i];
		}
		ptr[i] = &set[i];
	}
	rep.node = s->self;
	rep.settings = ptr;
	rep.n_settings = config_table_len;
	rep.has_version = 1;
	rep.version = s->version ? *s->version : 0;
	out.body_case = KEFU__ENVELOPE__BODY_CONFIG_SHOW_REPLY;
	out.config_show_reply = &rep;
	msg_send(p, &out, e->request_id);
	free(shas);
	free(pend);
	free(vals);
	free(ptr);
	free(set);
}

/* ---- changing the cluster configuration (on the leader) ---- */

struct change {
	struct settings *s;
	struct msg_ref ref;
	Kefu__ConfigSet *rq;          /* NULL: the seed */
	char actor[AUDIT_AGENT_MAX + 1];
	uint64_t now_ms, seq;
	struct batch *b;
	struct config_edit ed;
	uint64_t version;             /* written, or in force when nothing changes */
	bool nochange;
	char why[CONF_ERR_MAX + 64];
};

static void change_free(struct change *c)
{
	struct settings *s = c->s;

	if (c->rq)
		kefu__config_set__free_unpacked(c->rq, NULL);
	config_edit_free(&c->ed);
	batch_free(c->b);
	free(c);
	if (--s->inflight == 0 && s->dead)
		settings_release(s);
}

__attribute__((format(printf, 3, 4))) static int refuse(struct change *c, int err,
							  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return err;
}

/* What the audit entry says: the settings changed, cut to fit. */
static void change_detail(const struct change *c, char *out, size_t cap)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < c->ed.n && used + 1 < cap; i++) {
		int n = snprintf(out + used, cap - used, "%s%s=%s", i ? " " : "", c->ed.ch[i].name,
				 c->ed.ch[i].new_value);

		if (n < 0 || (size_t)n >= cap - used) {
			out[used] = '\0';
			break;
		}
		used += (size_t)n;
	}
}

/* The changes of ed as messages (pointing into ed): free *chs and *chp. */
static void changes_of(const struct config_edit *ed, Kefu__ConfigChange **chs,
		       Kefu__ConfigChange ***chp)
{
	*chs = calloc(ed->n + 1, sizeof(**chs));
	*chp = calloc(ed->n + 1, sizeof(**chp));
	if (!*chs || !*chp)
		abort();
	for (size_t i = 0; i < ed->n; i++) {
		Kefu__ConfigChange *m = &(*chs)[i];

		kefu__config_change__init(m);
		m->name = (char *)ed->ch[i].name;
		m->old_value = ed->ch[i].old_value;
		m->new_value = ed->ch[i].new_value;
		m->has_restart = 1;
		m->restart = ed->ch[i].restart;
		(*chp)[i] = m;
	}
}

static int change_body(struct store_txn *t, uint64_t epoch, void *arg)
{
	struct change *c = arg;
	Kefu__ClusterConfig *cur = NULL, next = KEFU__CLUSTER_CONFIG__INIT;
	Kefu__ConfigChange *chs = NULL, **chp = NULL;
	Kefu__AuditEntry ae = KEFU__AUDIT_ENTRY__INIT;
	const Kefu__ConfigSet *rq = c->rq;
	char vbuf[24], detail[AUDIT_DETAIL_MAX + 1];
	struct conf_err cerr;
	int err;

	batch_reset(c->b);
	config_edit_free(&c->ed);
	c->why[0] = '\0';
	c->nochange = false;
	if ((err = ccfg_current(t, &cur)))
		return err;
	c->version = cur ? cur->version : 0;
	if (!rq && cur) { /* seeded meanwhile, by another leader */
		c->nochange = true;
		err = KF_EEXISTS;
		goto out;
	}
	if (rq && rq->has_base_version && rq->base_version != c->version) {
		err = refuse(c, KF_ESTATE, "the cluster configuration changed meanwhile (now "
			     "version %llu): look again and repeat the change",
			     (unsigned long long)c->version);
		goto out;
	}
	err = config_cluster_edit(c->s->cfg, cur ? cur->text : NULL,
				  rq ? (const char *const *)rq->sets : NULL, rq ? rq->n_sets : 0,
				  rq && rq->replace ? (rq->text ? rq->text : "") : NULL, &c->ed, &cerr);
	if (err) {
		err = refuse(c, err, "%s", cerr.msg);
		goto out;
	}
	if ((rq && (c->ed.n == 0 || rq->dry_run))) {
		c->nochange = true;
		err = KF_EEXISTS;
		goto out;
	}
	changes_of(&c->ed, &chs, &chp);
	next.has_version = next.has_time_ms = 1;
	next.version = c->version + 1;
	next.time_ms = c->now_ms;
	next.actor = c->actor;
	next.node = c->s->self;
	next.text = c->ed.text;
	next.changes = chp;
	next.n_changes = rq ? c->ed.n : 0; /* the seed is the file, not a change */
	if ((err = ccfg_put(c->b, &next)))
		goto out;
	change_detail(c, detail, sizeof(detail));
	snprintf(vbuf, sizeof(vbuf), "version %llu", (unsigned long long)next.version);
	ae.has_time_ms = ae.has_seq = 1;
	ae.time_ms = c->now_ms;
	ae.seq = c->seq;
	ae.node = c->s->self;
	ae.agent = c->actor;
	ae.action = rq ? "config_set" : "config_seed";
	ae.subject = vbuf;
	ae.detail = detail;
	if ((err = audit_append(c->b, &ae, c->why, sizeof(c->why))))
		goto out;
	if ((err = log_append_batch(t, epoch, c->b, 0, false, c->s->self, NULL)))
		goto out;
	c->version = next.version;
out:
	free(chp);
	free(chs);
	if (cur)
		kefu__cluster_config__free_unpacked(cur, NULL);
	return err;
}

static void change_reply(struct change *c)
{
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__ConfigSetReply rep = KEFU__CONFIG_SET_REPLY__INIT;
	Kefu__ConfigChange *chs, **chp;

	changes_of(&c->ed, &chs, &chp);
	rep.has_version = rep.has_dry_run = 1;
	rep.version = c->version;
	rep.dry_run = c->rq->dry_run;
	rep.changes = chp;
	rep.n_changes = c->ed.n;
	out.body_case = KEFU__ENVELOPE__BODY_CONFIG_SET_REPLY;
	out.config_set_reply = &rep;
	msg_ref_send(&c->ref, &out);
	free(chp);
	free(chs);
}

static void change_done(void *arg, int err, uint64_t index)
{
	struct change *c = arg;

	(void)index;
	if (!c->rq) {
		if (err == 0)
			log_info(LOG_CONF, "cluster configuration seeded from this node's file "
				 "version=%llu settings=%zu", (unsigned long long)c->version, c->ed.n);
		else if (err != KF_EEXISTS)
			log_warn(LOG_CONF, "cluster configuration not seeded: %s",
				 c->why[0] ? c->why : kf_strerror(err));
		c->s->seeding = false;
	} else if (err == 0 || (err == KF_EEXISTS && c->nochange)) {
		change_reply(c);
	} else {
		msg_ref_error(&c->ref, err,
			      c->why[0] ? c->why
			      : err == KF_ESTATE ? "leadership changed before the change was "
						   "acknowledged; it may or may not be applied "
						   "(kefuctl config history tells)"
						 : kf_strerror(err));
	}
	change_free(c);
}

static struct change *change_new(struct settings *s, const char *actor)
{
	struct change *c = calloc(1, sizeof(*c));

	if (!c)
		abort();
	c->s = s;
	snprintf(c->actor, sizeof(c->actor), "%s", actor);
	c->now_ms = loop_wall_ms();
	c->seq = leader_audit_next(s->leader);
	c->b = batch_new(0);
	s->inflight++;
	return c;
}

static void on_set(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct settings *s = state;
	Kefu__ConfigSet *rq = e->config_set;
	struct actor who;
	struct change *c;
	int err;

	if (!s->leader) {
		msg_error(p, e->request_id, KF_ESTATE, "not in a cluster: this node has no "
			  "cluster configuration");
		return;
	}
	if (rq->n_sets > SETS_MAX || (!rq->replace && rq->n_sets == 0)) {
		msg_error(p, e->request_id, KF_EPARSE, "give 1 to 256 NAME=VALUE settings");
		return;
	}
	if (!actor_route(s->leader, p, e, &rq->actor, &rq->actor_admin, &rq->has_actor_admin,
			 "cluster configuration changes", &who))
		return;
	c = change_new(s, who.name);
	c->ref = msg_ref_of(p, e->request_id);
	c->rq = proto_copy(&rq->base, NULL); /* the request outlives e */
	if ((err = leader_run(s->leader, change_body, c, change_done, c))) {
		msg_ref_error(&c->ref, err, err == KF_ESTATE ? "not the leader" : kf_strerror(err));
		change_free(c);
	}
}

/*
 * The first leader with no cluster configuration writes version 1 from its
 * own file's cluster settings (as Patroni seeds its dynamic configuration
 * from the first member's file). A later leader finds it there.
 */
static void settings_seed(struct settings *s)
{
	struct change *c;

	if (!s->leader || !leader_is_local(s->leader) || s->seeding || !s->version ||
	    *s->version)
		return;
	c = change_new(s, "seed");
	s->seeding = true;
	if (leader_run(s->leader, change_body, c, change_done, c)) {
		s->seeding = false;
		change_free(c);
	}
}

static void settings_on_leader_change(void *state)
{
	settings_seed(state);
}

static void settings_tick(void *state)
{
	settings_seed(state);
}

/* ---- history ---- */

struct history {
	Kefu__ClusterConfig **v;
	size_t n;
};

static int history_one(void *arg, const Kefu__ClusterConfig *c)
{
	struct history *h = arg;

	h->v[h->n++] = proto_copy(&c->base, NULL);
	return 0;
}

static void on_history(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct settings *s = state;
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__ConfigHistoryReply rep = KEFU__CONFIG_HISTORY_REPLY__INIT;
	uint32_t limit = e->config_history->limit ? e->config_history->limit : HISTORY_DEFAULT;
	struct history h = {0};
	struct store_txn *t;
	int err;

	if (limit > HISTORY_MAX)
		limit = HISTORY_MAX;
	h.v = calloc(limit, sizeof(*h.v));
	if (!h.v)
		abort();
	if (!(err = store_read_begin(s->sto->store, &t))) {
		err = ccfg_history(t, limit, history_one, &h);
		store_abort(t);
	}
	if (err) {
		msg_error(p, e->request_id, err, "cannot read the configuration's history");
	} else {
		rep.versions = h.v;
		rep.n_versions = h.n;
		out.body_case = KEFU__ENVELOPE__BODY_CONFIG_HISTORY_REPLY;
		out.config_history_reply = &rep;
		msg_send(p, &out, e->request_id);
	}
	for (size_t i = 0; i < h.n; i++)
		kefu__cluster_config__free_unpacked(h.v[i], NULL);
	free(h.v);
}

static int settings_init(const struct node_ctx *ctx, void **state)
{
	struct settings *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	s->cfg = ctx->cfg;
	s->wanted = ctx->cfg_wanted;
	s->version = ctx->cfg_version;
	s->loop = ctx->loop;
	s->sto = ctx->sto;
	s->leader = ctx->leader;
	snprintf(s->self, sizeof(s->self), "%s", ctx->self);
	*state = s;
	return 0;
}

static void settings_stop(void *state)
{
	struct settings *s = state;

	if (!s)
		return;
	s->dead = true;
	if (s->inflight == 0)
		settings_release(s);
}

static const struct msg_row settings_rows[] = {
	{KEFU__ENVELOPE__BODY_CONFIG_SHOW, "config_show", on_show, MSG_R_ADMIN, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_CONFIG_SET, "config_set", on_set, MSG_R_ADMIN | MSG_R_NODE, false,
	 MSG_MEDIUM},
	{KEFU__ENVELOPE__BODY_CONFIG_HISTORY, "config_history", on_history, MSG_R_ADMIN, false,
	 MSG_SMALL},
};

static const struct component_timer settings_timers[] = {
	{1000, settings_tick},
};

const struct component settings_service = {
	.name = "settings",
	.init = settings_init,
	.stop = settings_stop,
	.msgs = settings_rows,
	.nmsgs = sizeof(settings_rows) / sizeof(settings_rows[0]),
	.timers = settings_timers,
	.ntimers = sizeof(settings_timers) / sizeof(settings_timers[0]),
	.on_leader_change = settings_on_leader_change,
};
