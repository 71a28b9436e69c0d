/* Leadership and membership through etcd. See election.h. */
#include "cluster/election.h"

#include "lib/version.h"
#include "lib/err.h"
#include "lib/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_MS 200
/* The member key is written at most this often when the role, an epoch or
 * the lease changed, and the applied index alone at most every second: under
 * writes it changes all the time, and every put is a write of etcd's log on
 * each etcd member. Readers of the applied index take it as a lower bound
 * (truncation, failover's choice, status away from the leader). */
#define MEMBER_MIN_INTERVAL_MS 200
#define MEMBER_APPLIED_INTERVAL_MS 1000
#define KEY_MAX 256

enum lease_state { LEASE_NONE, LEASE_GRANTING, LEASE_OK, LEASE_REVOKING };

struct election {
	struct loop *loop;
	struct etcd *etcd;
	election_changed_fn changed;
	void *arg;

	char self[META_NAME_MAX];
	char addr[META_ADDR_MAX];
	char prefix[96];
	char k_leader[KEY_MAX], k_sync[KEY_MAX], k_failover[KEY_MAX], k_member[KEY_MAX];
	char k_members[128]; /* prefix of every member key */
	uint64_t ttl_ms, margin_ms;

	/* lease */
	enum lease_state lease;
	int64_t lease_id;
	uint64_t deadline;        /* monotonic ms */
	bool keepalive_inflight;
	uint64_t keepalive_sent;
	struct loop_timer *tick;
	struct loop_alarm *retry;
	bool etcd_ok;

	/* mirror of the prefix */
	struct etcd_watch *watch;
	bool synced;              /* initial read done, watch running */
	bool resync_pending;
	char leader[META_NAME_MAX];
	uint64_t epoch;           /* leader key create_revision */
	int64_t leader_lease;
	bool has_sync;
	struct meta_sync sync;
	bool has_failover;
	struct meta_failover failover;
	struct meta_member members[ELECTION_MEMBERS_MAX];
	size_t nmembers;

	/* campaign and member key */
	bool allow;
	bool campaigning;
	bool resigned;            /* we asked to give up the current epoch */
	struct meta_member me;
	bool me_dirty, me_inflight;
	bool me_urgent;           /* more than the applied index changed */
	uint64_t me_written_ms;
	char note[160];
};

static void notify(struct election *e)
{
	e->changed(e->arg);
}

static void set_note(struct election *e, const char *note)
{
	snprintf(e->note, sizeof(e->note), "%s", note);
}

uint64_t election_lease_deadline(const struct election *e)
{
	return e->deadline;
}

bool election_lease_valid(const struct election *e)
{
	return e->lease == LEASE_OK && loop_now_ms() < e->deadline;
}

const char *election_leader(const struct election *e, uint64_t *epoch)
{
	if (epoch)
		*epoch = e->epoch;
	return e->leader;
}

bool election_is_leader(const struct election *e)
{
	return !e->resigned && e->epoch != 0 && strcmp(e->leader, e->self) == 0 &&
	       e->leader_lease == e->lease_id && election_lease_valid(e);
}

const struct meta_sync *election_sync(const struct election *e)
{
	return e->has_sync ? &e->sync : NULL;
}

const char *election_failover_to(const struct election *e)
{
	return e->has_failover ? e->failover.to : NULL;
}

size_t election_members(const struct election *e, const struct meta_member **out)
{
	*out = e->members;
	return e->nmembers;
}

bool election_etcd_ok(const struct election *e)
{
	return e->etcd_ok;
}

const char *election_note(const struct election *e)
{
	return e->note;
}

struct etcd *election_etcd(struct election *e)
{
	return e->etcd;
}

void election_allow_campaign(struct election *e, bool allow)
{
	e->allow = allow;
}

static void etcd_result(struct election *e, int err)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(5000, 3);
	bool was = e->etcd_ok;

	e->etcd_ok = err == 0 || err == KF_ENOTFOUND;
	if (!e->etcd_ok)
		log_ratelimited(&rl, LOG_CLUSTER, LOG_LVL_WARN, "etcd request failed error=\"%s\"",
				kf_strerror(err));
	if (was != e->etcd_ok)
		notify(e);
}

static void lease_start(struct election *e);
static void maybe_campaign(struct election *e);
static void member_write(struct election *e);
static void resync(struct election *e);

/* ---- the mirror of the cluster's keys ---- */

static void mirror_clear(struct election *e)
{
	e->leader[0] = '\0';
	e->epoch = 0;
	e->leader_lease = 0;
	e->has_sync = false;
	e->has_failover = false;
	e->nmembers = 0;
}

static void member_set(struct election *e, const struct etcd_kv *kv, bool deleted)
{
	const char *name = kv->key + strlen(e->k_members);
	struct meta_member m;
	size_t i;

	for (i = 0; i < e->nmembers; i++)
		if (strcmp(e->members[i].name, name) == 0)
			break;
	if (deleted) {
		if (i < e->nmembers)
			e->members[i] = e->members[--e->nmembers];
		return;
	}
	if (meta_member_parse(kv->value, kv->value_len, &m) != 0 || strcmp(m.name, name) != 0) {
		log_warn(LOG_CLUSTER, "member key ignored key=%s (bad value)", kv->key);
		return;
	}
	if (i == e->nmembers) {
		if (e->nmembers == ELECTION_MEMBERS_MAX)
			return;
		e->nmembers++;
	}
	e->members[i] = m;
}

/* Apply one key's new value (or deletion) to the mirror. */
static void mirror_apply(struct election *e, const struct etcd_kv *kv, bool deleted)
{
	if (strcmp(kv->key, e->k_leader) == 0) {
		e->leader[0] = '\0';
		e->epoch = 0;
		e->leader_lease = 0;
		if (deleted || kv->value_len == 0 || kv->value_len >= sizeof(e->leader))
			return;
		memcpy(e->leader, kv->value, kv->value_len);
		e->leader[kv->value_len] = '\0';
		if (!meta_name_ok(e->leader)) {
			e->leader[0] = '\0';
			return;
		}
		e->epoch = (uint64_t)kv->create_revision;
		e->leader_lease = kv->lease;
	} else if (strcmp(kv->key, e->k_sync) == 0) {
		e->has_sync = !deleted && meta_sync_parse(kv->value, kv->value_len, &e->sync) == 0;
	} else if (strcmp(kv->key, e->k_failover) == 0) {
		e->has_failover =
			!deleted && meta_failover_parse(kv->value, kv->value_len, &e->failover) == 0;
	} else if (strncmp(kv->key, e->k_members, strlen(e->k_members)) == 0) {
		member_set(e, kv, deleted);
	}
}

static void after_mirror_change(struct election *e)
{
	if (e->resigned && (e->epoch == 0 || strcmp(e->leader, e->self) != 0))
		e->resigned = false;
	maybe_campaign(e);
	notify(e);
}

static void on_watch(void *arg, int err, const struct etcd_watch_msg *m)
{
	struct election *e = arg;

	if (err) {
		log_info(LOG_CLUSTER, "watch ended error=\"%s\"; reading again", kf_strerror(err));
		etcd_watch_cancel(e->watch);
		e->watch = NULL;
		e->synced = false;
		loop_alarm_set(e->retry, RETRY_MS);
		return;
	}
	for (size_t i = 0; i < m->n_events; i++)
		mirror_apply(e, &m->events[i].kv, m->events[i].type == ETCD_EVENT_DELETE);
	if (m->n_events)
		after_mirror_change(e);
}

static void on_initial_read(void *arg, int err, const struct etcd_resp *r)
{
	struct election *e = arg;

	e->resync_pending = false;
	etcd_result(e, err);
	if (err) {
		loop_alarm_set(e->retry, RETRY_MS);
		return;
	}
	mirror_clear(e);
	for (size_t i = 0; i < r->n_kvs; i++)
		mirror_apply(e, &r->kvs[i], false);
	e->synced = etcd_watch(e->etcd, e->prefix, true, r->revision + 1, on_watch, e,
			       &e->watch) == 0;
	if (!e->synced)
		loop_alarm_set(e->retry, RETRY_MS);
	after_mirror_change(e);
}

static void resync(struct election *e)
{
	if (e->resync_pending || e->synced)
		return;
	if (etcd_get(e->etcd, e->prefix, true, on_initial_read, e) == 0)
		e->resync_pending = true;
}

/* ---- the lease ---- */

static void lose_lease(struct election *e, const char *why)
{
	bool was_leader = election_is_leader(e);

	log_warn(LOG_CLUSTER, "lease lost lease=%lld reason=\"%s\"%s", (long long)e->lease_id, why,
		 was_leader ? " leadership=ended" : "");
	set_note(e, why);
	e->lease = LEASE_NONE;
	e->lease_id = 0;
	e->deadline = 0;
	e->keepalive_inflight = false;
	e->campaigning = false;
	notify(e);
	loop_alarm_set(e->retry, 0);
}

static void on_revoked(void *arg, int err, const struct etcd_resp *r)
{
	struct election *e = arg;

	(void)r;
	etcd_result(e, err);
	e->lease = LEASE_NONE;
	e->lease_id = 0;
	loop_alarm_set(e->retry, 0);
}

static void on_keepalive(void *arg, int err, const struct etcd_resp *r)
{
	struct election *e = arg;

	e->keepalive_inflight = false;
	etcd_result(e, err);
	if (e->lease != LEASE_OK)
		return;
	if (err == KF_ENOTFOUND) {
		lose_lease(e, "etcd says the lease is gone");
		return;
	}
	if (err)
		return; /* the deadline decides; the next tick tries the next endpoint */
	if (r->ttl <= 0) {
		lose_lease(e, "keepalive answered without TTL");
		return;
	}
	e->deadline = e->keepalive_sent + e->ttl_ms - e->margin_ms;
	if (e->note[0])
		set_note(e, "");
}

static void on_tick(void *arg)
{
	struct election *e = arg;
	uint64_t now = loop_now_ms();

	if (e->lease != LEASE_OK)
		return;
	if (now >= e->deadline) {
		/* Past the deadline nothing may be acknowledged: start over. */
		int64_t old = e->lease_id;

		lose_lease(e, "lease could not be renewed in time (etcd unreachable?)");
		if (old && etcd_lease_revoke(e->etcd, old, on_revoked, e) == 0)
			e->lease = LEASE_REVOKING;
		return;
	}
	if (!e->keepalive_inflight &&
	    etcd_lease_keepalive(e->etcd, e->lease_id, on_keepalive, e) == 0) {
		e->keepalive_inflight = true;
		e->keepalive_sent = now;
	}
	if (e->me_dirty)
		member_write(e);
	if (!e->synced)
		resync(e);
}

static void on_granted(void *arg, int err, const struct etcd_resp *r)
{
	struct election *e = arg;

	etcd_result(e, err);
	if (err) {
		e->lease = LEASE_NONE;
		set_note(e, "etcd unreachable: no lease");
		loop_alarm_set(e->retry, RETRY_MS);
		notify(e);
		return;
	}
	e->lease = LEASE_OK;
	e->lease_id = r->lease_id;
	e->deadline = e->keepalive_sent + e->ttl_ms - e->margin_ms;
	log_info(LOG_CLUSTER, "lease granted lease=%lld ttl_ms=%llu", (long long)e->lease_id,
		 (unsigned long long)e->ttl_ms);
	set_note(e, "");
	e->me_dirty = e->me_urgent = true;
	member_write(e);
	resync(e);
	maybe_campaign(e);
	notify(e);
}

static void lease_start(struct election *e)
{
	if (e->lease != LEASE_NONE)
		return;
	e->keepalive_sent = loop_now_ms();
	if (etcd_lease_grant(e->etcd, (int64_t)(e->ttl_ms / 1000), on_granted, e) == 0)
		e->lease = LEASE_GRANTING;
}

static void on_retry(void *arg)
{
	struct election *e = arg;

	lease_start(e);
	resync(e);
	maybe_campaign(e);
}

/* ---- member key ---- */

static void on_member_written(void *arg, int err, const struct etcd_resp *r)
{
	struct election *e = arg;

	(void)r;
	e->me_inflight = false;
	etcd_result(e, err);
	if (err)
		e->me_dirty = e->me_urgent = true;
}

static void member_write(struct election *e)
{
	char buf[META_VALUE_MAX];
	int n;

	if (e->lease != LEASE_OK || e->me_inflight ||
	    loop_now_ms() - e->me_written_ms <
		    (e->me_urgent ? MEMBER_MIN_INTERVAL_MS : MEMBER_APPLIED_INTERVAL_MS))
		return;
	n = meta_member_encode(&e->me, buf, sizeof(buf));
	if (n < 0)
		return;
	if (etcd_put(e->etcd, e->k_member, buf, (size_t)n, e->lease_id, on_member_written, e) == 0) {
		e->me_inflight = true;
		e->me_dirty = e->me_urgent = false;
		e->me_written_ms = loop_now_ms();
	}
}

void election_set_member(struct election *e, const char *role, uint64_t applied,
			 uint64_t applied_epoch, uint64_t epoch_seen)
{
	bool urgent = strcmp(e->me.role, role) != 0 || e->me.applied_epoch != applied_epoch ||
		      e->me.epoch != epoch_seen;

	if (!urgent && e->me.applied == applied)
		return;
	e->me_urgent = e->me_urgent || urgent;
	snprintf(e->me.role, sizeof(e->me.role), "%s", role);
	e->me.applied = applied;
	e->me.applied_epoch = applied_epoch;
	e->me.epoch = epoch_seen;
	e->me_dirty = true;
	member_write(e);
}

/* ---- campaign ---- */

static bool eligible(const struct election *e)
{
	if (e->has_failover)
		return strcmp(e->failover.to, e->self) == 0;
	return !e->has_sync || meta_sync_has(&e->sync, e->self);
}

static void on_campaign(void *arg, int err, const struct etcd_resp *r)
{
	struct election *e = arg;

	e->campaigning = false;
	etcd_result(e, err);
	if (err) {
		loop_alarm_set(e->retry, RETRY_MS);
		return;
	}
	if (!r->succeeded)
		return; /* someone else was faster; the watch tells who */
	/* Our key's create_revision is the txn's revision: the new epoch. */
	snprintf(e->leader, sizeof(e->leader), "%s", e->self);
	e->epoch = (uint64_t)r->revision;
	e->leader_lease = e->lease_id;
	e->resigned = false;
	log_info(LOG_CLUSTER, "elected leader=%s epoch=%llu", e->self, (unsigned long long)e->epoch);
	notify(e);
}

static void maybe_campaign(struct election *e)
{
	struct etcd_cmp cmp = {e->k_leader, ETCD_TARGET_CREATE, ETCD_CMP_EQUAL, 0, NULL, 0};
	struct etcd_op put = {ETCD_OP_PUT, e->k_leader, false, e->self, strlen(e->self), 0};
	struct etcd_txn t = {&cmp, 1, &put, 1, NULL, 0};

	if (e->campaigning || !e->synced || e->epoch != 0 || !e->allow ||
	    !election_lease_valid(e) || !eligible(e))
		return;
	put.lease = e->lease_id;
	if (etcd_txn(e->etcd, &t, on_campaign, e) == 0)
		e->campaigning = true;
}

/* ---- leader's requests ---- */

struct req {
	struct election *e;
	election_done_fn done;
	void *arg;
	bool txn;   /* a txn: its compares must have held */
};

static void on_req(void *arg, int err, const struct etcd_resp *r)
{
	struct req *q = arg;

	etcd_result(q->e, err);
	if (err == 0 && q->txn && !r->succeeded)
		err = KF_ESTATE;
	if (q->done)
		q->done(q->arg, err);
	free(q);
}

static int leader_txn(struct election *e, const struct etcd_op *op, election_done_fn done,
		      void *arg)
{
	struct etcd_cmp cmp = {e->k_leader, ETCD_TARGET_CREATE, ETCD_CMP_EQUAL, (int64_t)e->epoch,
			       NULL, 0};
	struct etcd_txn t = {&cmp, 1, op, 1, NULL, 0};
	struct req *q;
	int r;

	if (!election_is_leader(e))
		return KF_ESTATE;
	q = malloc(sizeof(*q));
	if (!q)
		abort();
	*q = (struct req){e, done, arg, true};
	r = etcd_txn(e->etcd, &t, on_req, q);
	if (r)
		free(q);
	return r;
}

int election_write_sync(struct election *e, const struct meta_sync *s, election_done_fn done,
			void *arg)
{
	char buf[META_VALUE_MAX];
	int n = meta_sync_encode(s, buf, sizeof(buf));
	struct etcd_op put = {ETCD_OP_PUT, e->k_sync, false, buf, 0, 0};

	if (n < 0)
		return n;
	put.value_len = (size_t)n;
	return leader_txn(e, &put, done, arg);
}

int election_resign(struct election *e, election_done_fn done, void *arg)
{
	struct etcd_op del = {ETCD_OP_DELETE, e->k_leader, false, NULL, 0, 0};
	int r = leader_txn(e, &del, done, arg);

	if (r == 0) {
		e->resigned = true;
		log_info(LOG_CLUSTER, "resigning leader=%s epoch=%llu", e->self,
			 (unsigned long long)e->epoch);
		notify(e);
	}
	return r;
}

int election_request_failover(struct election *e, const char *to, election_done_fn done,
			      void *arg)
{
	struct meta_failover f;
	char buf[META_VALUE_MAX];
	struct req *q;
	int n, r;

	if (!meta_name_ok(to))
		return -EINVAL;
	snprintf(f.to, sizeof(f.to), "%s", to);
	n = meta_failover_encode(&f, buf, sizeof(buf));
	if (n < 0)
		return n;
	q = malloc(sizeof(*q));
	if (!q)
		abort();
	*q = (struct req){e, done, arg, false};
	r = etcd_put(e->etcd, e->k_failover, buf, (size_t)n, 0, on_req, q);
	if (r)
		free(q);
	return r;
}

static void on_cleared(void *arg, int err, const struct etcd_resp *r)
{
	(void)r;
	etcd_result(arg, err);
}

int election_clear_failover(struct election *e)
{
	struct etcd_op del = {ETCD_OP_DELETE, e->k_failover, false, NULL, 0, 0};

	if (!e->has_failover)
		return 0;
	return leader_txn(e, &del, NULL, NULL) == 0 ? 0 : etcd_delete(e->etcd, e->k_failover, false,
								       on_cleared, e);
}

/* ---- life ---- */

int election_new(const struct election_opts *o, struct election **out)
{
	struct election *e;

	*out = NULL;
	if (!o->loop || !o->etcd || !o->cluster || !o->self || !o->addr || !o->changed)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	e->loop = o->loop;
	e->etcd = o->etcd;
	e->changed = o->changed;
	e->arg = o->arg;
	e->allow = true;
	e->ttl_ms = o->lease_ttl_ms < 2000 ? 2000 : o->lease_ttl_ms / 1000 * 1000;
	e->margin_ms = o->margin_ms ? o->margin_ms : 300;
	snprintf(e->self, sizeof(e->self), "%s", o->self);
	snprintf(e->addr, sizeof(e->addr), "%s", o->addr);
	snprintf(e->prefix, sizeof(e->prefix), "/kefu/%s/", o->cluster);
	snprintf(e->k_leader, sizeof(e->k_leader), "%sleader", e->prefix);
	snprintf(e->k_sync, sizeof(e->k_sync), "%ssync", e->prefix);
	snprintf(e->k_failover, sizeof(e->k_failover), "%sfailover", e->prefix);
	snprintf(e->k_members, sizeof(e->k_members), "%smembers/", e->prefix);
	snprintf(e->k_member, sizeof(e->k_member), "%s%s", e->k_members, o->self);
	snprintf(e->me.name, sizeof(e->me.name), "%s", o->self);
	snprintf(e->me.addr, sizeof(e->me.addr), "%s", o->addr);
	snprintf(e->me.role, sizeof(e->me.role), "starting");
	snprintf(e->me.version, sizeof(e->me.version), "%s", kefu_version);
	e->me.format = KEFU_STORE_FORMAT;
	e->tick = loop_timer_new(e->loop, e->ttl_ms / 4, on_tick, e);
	e->retry = loop_alarm_new(e->loop, on_retry, e);
	set_note(e, "connecting to etcd");
	lease_start(e);
	resync(e);
	*out = e;
	return 0;
}

void election_free(struct election *e)
{
	if (!e)
		return;
	/* The etcd client is freed first (election.h): no callback, no watch left. */
	loop_timer_free(e->tick);
	loop_alarm_free(e->retry);
	free(e);
}
