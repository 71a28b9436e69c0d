/* Replication: leader and follower sides. See repl.h and docs/cluster.md. */
#include "cluster/repl.h"

#include "cluster/rpc.h"
#include "cluster/syncset.h"
#include "lib/err.h"
#include "lib/file.h"
#include "lib/list.h"
#include "lib/log.h"
#include "storage/log.h"
#include "storage/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TICK_MS 50
#define RECONNECT_MS 200
#define SEND_WINDOW (4u << 20)       /* bytes queued to one follower at most */
#define APPEND_MAX_BYTES (256u << 10) /* entries per Append frame */
#define SNAP_CHUNK (256u << 10)
#define SWITCHOVER_TIMEOUT_MS 15000
#define TRUNCATE_EVERY_MS 5000

enum role { ROLE_STARTING, ROLE_FOLLOWER, ROLE_LEADER };

/* A write (or logged job) waiting for its index to be acknowledged. */
struct wait {
	struct wait *next;
	uint64_t index;
	repl_done_fn done;
	void *arg;
};

enum snap_state { SNAP_NONE, SNAP_MAKING, SNAP_SENDING };

/* The leader's view of one follower connection. */
struct flink {
	struct flink *next;
	struct repl *r;
	struct net_conn *conn;
	char name[META_NAME_MAX];
	uint64_t next_index;
	enum snap_state snap;
	struct snapshot_reader *reader;
	struct snapshot_info info;
	char snapdir[SNAPSHOT_PATH_MAX];
	uint64_t snap_off;
	bool snap_end_sent;
	pthread_t thread;
	bool thread_started;
	int snap_err;            /* written by the snapshot thread */
	bool snap_done;          /* written by the snapshot thread, read under r->mu */
};

/* What a follower has received and not applied yet. */
enum feed_kind { FEED_ENTRY, FEED_GROUP, FEED_EPOCH };
struct feed {
	struct feed *next;
	enum feed_kind kind;
	uint64_t leader_epoch;
	uint8_t *packed;         /* FEED_ENTRY: a packed LogEntry */
	size_t len;
	char path[SNAPSHOT_PATH_MAX]; /* FEED_GROUP: spool file of packed entries */
};

/* One follower apply job: owns its feed items. */
struct apply_job {
	struct repl *r;
	struct feed *items;
	struct log_state st;
};

struct write_job {
	struct repl *r;
	uint64_t wid;            /* the writer's id of the job */
	uint8_t *packed;
	size_t len;
	uint64_t epoch;
	repl_logged_body_fn body;
	void *body_arg;
	repl_done_fn done;
	void *arg;
	uint64_t index;          /* last index appended */
};

struct repl {
	char self[META_NAME_MAX];
	char data_dir[2048];
	struct loop *loop;
	struct election *el;
	struct tls_ctx *tls;
	struct repl_storage *sto;
	uint64_t sync_timeout_ms, log_retain;
	size_t max_frame;
	unsigned standbys;

	enum role role;
	struct log_state st;      /* last known local log state */
	bool st_known;
	struct loop_timer *tick;
	struct loop_wake *wake;   /* snapshot threads are done */
	pthread_mutex_t mu;

	/* leader */
	uint64_t epoch;           /* the epoch we lead (0: not leading) */
	bool serving;             /* prepared: epoch persisted, sync key written */
	bool preparing;
	struct syncset ss;
	bool key_inflight;
	struct wait *waits, **waits_tail;
	uint64_t local_durable;
	uint64_t local_committed; /* sent on at once; durable later (WRITER_LAZY) */
	struct flink *links;
	uint64_t last_truncate_ms;
	bool truncating;
	bool switching;
	char switch_to[META_NAME_MAX];
	repl_admin_fn sw_done;
	void *sw_arg;
	uint64_t sw_deadline;
	bool sw_key_written, sw_resigning;
	unsigned snap_seq;

	/* follower */
	struct rpc *up;
	char up_leader[META_NAME_MAX];
	char up_addr[META_ADDR_MAX];
	uint64_t up_epoch;
	uint64_t up_retry_ms;
	struct feed *feed, **feed_tail;
	bool applying;
	int spool_fd;
	char spool_path[SNAPSHOT_PATH_MAX];
	unsigned spool_seq;
	struct snapshot_recv *srecv;
	char srecv_path[SNAPSHOT_PATH_MAX];
	uint64_t srecv_epoch;
	char note[200];
	char status_note[320];    /* the note as status last reported it */
};

static void set_note(struct repl *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_note(struct repl *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->note, sizeof(r->note), fmt, ap);
	va_end(ap);
}

static struct store *store_of(struct repl *r)
{
	return r->sto->store;
}

static int read_state(struct repl *r)
{
	struct store_txn *t;
	int e = store_read_begin(store_of(r), &t);

	if (e)
		return e;
	e = log_state(t, &r->st);
	store_abort(t);
	if (e == 0)
		r->st_known = true;
	return e;
}

const char *repl_role(const struct repl *r)
{
	const struct meta_sync *s = election_sync(r->el);

	if (r->role == ROLE_LEADER)
		return r->serving ? "leader" : "starting";
	if (r->role == ROLE_STARTING)
		return "starting";
	return s && meta_sync_has(s, r->self) ? "standby" : "follower";
}

void repl_applied(const struct repl *r, uint64_t *index, uint64_t *epoch)
{
	*index = r->st.applied_index;
	*epoch = r->st.applied_epoch;
}

bool repl_is_serving(const struct repl *r)
{
	return r->role == ROLE_LEADER && r->serving && !r->switching && election_is_leader(r->el);
}

static const char *member_addr(const struct repl *r, const char *name)
{
	const struct meta_member *m;
	size_t n = election_members(r->el, &m);

	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].name, name) == 0)
			return m[i].addr;
	return "";
}

void repl_leader_hint(const struct repl *r, const char **name, const char **addr)
{
	*name = election_leader(r->el, NULL);
	*addr = **name ? member_addr(r, *name) : "";
}

static void update_member(struct repl *r)
{
	election_set_member(r->el, repl_role(r), r->st.applied_index, r->st.applied_epoch,
			    r->st.epoch_seen);
}

/* ---- leader: acknowledging ---- */

/* Complete the waits up to index upto, oldest first: acknowledged (err 0) or failed. */
static void finish_waits(struct repl *r, uint64_t upto, int err)
{
	while (r->waits && r->waits->index <= upto) {
		struct wait *w = r->waits;

		r->waits = w->next;
		if (!r->waits)
			r->waits_tail = &r->waits;
		w->done(w->arg, err, err ? 0 : w->index);
		free(w);
	}
}

static void add_wait(struct repl *r, uint64_t index, repl_done_fn done, void *arg)
{
	struct wait *w = calloc(1, sizeof(*w));

	if (!w)
		abort();
	w->index = index;
	w->done = done;
	w->arg = arg;
	*r->waits_tail = w;
	r->waits_tail = &w->next;
}

static void pump_all(struct repl *r);

/* Acknowledge what the sync set allows, only while the lease holds. */
static void check_commit(struct repl *r)
{
	uint64_t c;

	if (r->role != ROLE_LEADER || !r->serving || !election_is_leader(r->el))
		return;
	r->ss.local_durable = r->local_durable;
	c = syncset_commit_index(&r->ss);
	if (c > r->ss.acked) {
		r->ss.acked = c;
		pump_all(r); /* followers outside the sync set may go this far now */
	}
	finish_waits(r, c, 0);
}

/* ---- leader: streaming ---- */

static void flink_free(struct flink *l)
{
	if (l->thread_started) {
		pthread_join(l->thread, NULL);
		l->thread_started = false;
	}
	snapshot_reader_free(l->reader);
	if (l->snapdir[0]) {
		char p[SNAPSHOT_PATH_MAX + 16];

		snprintf(p, sizeof(p), "%s/" SNAPSHOT_DATA_FILE, l->snapdir);
		unlink(p);
		rmdir(l->snapdir);
	}
	free(l);
}

static void flink_drop(struct repl *r, struct flink *l, bool close_conn)
{
	CHAIN_UNLINK(&r->links, l, next);
	if (close_conn)
		net_conn_close(l->conn);
	syncset_link(&r->ss, l->name, false, loop_now_ms());
	flink_free(l);
}

static struct flink *flink_by_conn(struct repl *r, struct net_conn *c)
{
	for (struct flink *l = r->links; l; l = l->next)
		if (l->conn == c)
			return l;
	return NULL;
}

static int send_env(struct flink *l, Kefu__Envelope *e)
{
	int err = env_send(l->conn, e);

	if (err && err != KF_ETOOBIG)
		log_warn(LOG_CLUSTER, "send failed to=%s error=\"%s\"", l->name, kf_strerror(err));
	return err;
}

struct collect {
	Kefu__LogEntry **v;
	size_t n, cap;
	uint64_t upto;   /* last index to take */
};

static int collect_entry(void *arg, const Kefu__LogEntry *e, const uint8_t *packed, size_t len)
{
	struct collect *c = arg;

	if (e->index > c->upto)
		return 1;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 32;
		c->v = realloc(c->v, c->cap * sizeof(*c->v));
		if (!c->v)
			abort();
	}
	c->v[c->n] = kefu__log_entry__unpack(NULL, len, packed);
	if (!c->v[c->n])
		return KF_ECORRUPT;
	c->n++;
	return 0;
}

static void start_snapshot(struct repl *r, struct flink *l);

/*
 * Send log entries from l->next_index while the window allows. A standby
 * of the sync set gets everything the leader has; any other follower only
 * what is acknowledged, so that no follower is ever ahead of a standby that
 * may be promoted (it would then hold an unacknowledged tail the new leader
 * lacks, and need a snapshot).
 */
static void pump_entries(struct repl *r, struct flink *l)
{
	struct syncset_member *m = syncset_find(&r->ss, l->name);
	uint64_t upto = m && m->in_set ? r->local_committed : r->ss.acked;

	while (net_conn_out_pending(l->conn) < SEND_WINDOW && l->next_index <= upto) {
		struct collect c = {NULL, 0, 0, upto};
		struct store_txn *t;
		Kefu__Envelope env = KEFU__ENVELOPE__INIT;
		Kefu__Append ap = KEFU__APPEND__INIT;
		int err = store_read_begin(store_of(r), &t);

		if (err)
			return;
		err = log_read(t, l->next_index, APPEND_MAX_BYTES, collect_entry, &c);
		store_abort(t);
		if (err == KF_ENOTFOUND) {
			for (size_t i = 0; i < c.n; i++)
				kefu__log_entry__free_unpacked(c.v[i], NULL);
			free(c.v);
			start_snapshot(r, l);
			return;
		}
		if (err || c.n == 0) {
			for (size_t i = 0; i < c.n; i++)
				kefu__log_entry__free_unpacked(c.v[i], NULL);
			free(c.v);
			if (err)
				log_err(LOG_CLUSTER, "log read failed from=%llu error=\"%s\"",
					(unsigned long long)l->next_index, kf_strerror(err));
			return;
		}
		ap.has_epoch = ap.has_commit_index = 1;
		ap.epoch = r->epoch;
		ap.commit_index = r->ss.acked;
		ap.n_entries = c.n;
		ap.entries = c.v;
		env.body_case = KEFU__ENVELOPE__BODY_APPEND;
		env.append = &ap;
		err = send_env(l, &env);
		if (err == 0)
			l->next_index = c.v[c.n - 1]->index + 1;
		for (size_t i = 0; i < c.n; i++)
			kefu__log_entry__free_unpacked(c.v[i], NULL);
		free(c.v);
		if (err)
			return;
	}
}

static void *snapshot_thread(void *arg)
{
	struct flink *l = arg;
	int err = snapshot_create(store_of(l->r), l->snapdir, &l->info);

	pthread_mutex_lock(&l->r->mu);
	l->snap_err = err;
	l->snap_done = true;
	pthread_mutex_unlock(&l->r->mu);
	loop_wake(l->r->wake);
	return NULL;
}

static void start_snapshot(struct repl *r, struct flink *l)
{
	if (l->snap != SNAP_NONE)
		return;
	snprintf(l->snapdir, sizeof(l->snapdir), "%s.snap-out-%s-%u", r->data_dir, l->name,
		 ++r->snap_seq);
	l->snap = SNAP_MAKING;
	l->snap_done = false;
	log_info(LOG_CLUSTER, "snapshot for=%s dir=%s", l->name, l->snapdir);
	if (pthread_create(&l->thread, NULL, snapshot_thread, l) != 0) {
		log_err(LOG_CLUSTER, "snapshot thread failed for=%s", l->name);
		l->snap = SNAP_NONE;
		l->snapdir[0] = '\0';
		return;
	}
	l->thread_started = true;
}

static void pump_snapshot(struct repl *r, struct flink *l)
{
	uint8_t *buf;

	if (l->snap != SNAP_SENDING)
		return;
	buf = malloc(SNAP_CHUNK);
	if (!buf)
		abort();
	while (net_conn_out_pending(l->conn) < SEND_WINDOW && !l->snap_end_sent) {
		Kefu__Envelope env = KEFU__ENVELOPE__INIT;
		Kefu__SnapshotChunk ch = KEFU__SNAPSHOT_CHUNK__INIT;
		Kefu__SnapshotEnd se = KEFU__SNAPSHOT_END__INIT;
		size_t n = 0;
		int err = snapshot_reader_read(l->reader, l->snap_off, buf, SNAP_CHUNK, &n);

		if (err) {
			log_err(LOG_CLUSTER, "snapshot read failed for=%s error=\"%s\"", l->name,
				kf_strerror(err));
			net_conn_close(l->conn);
			free(buf);
			flink_drop(r, l, false);
			return;
		}
		if (n == 0) {
			se.sha256 = l->info.sha256;
			env.body_case = KEFU__ENVELOPE__BODY_SNAPSHOT_END;
			env.snapshot_end = &se;
			if (send_env(l, &env))
				break;
			l->snap_end_sent = true;
			break;
		}
		ch.has_offset = ch.has_data = 1;
		ch.offset = l->snap_off;
		ch.data.data = buf;
		ch.data.len = n;
		env.body_case = KEFU__ENVELOPE__BODY_SNAPSHOT_CHUNK;
		env.snapshot_chunk = &ch;
		if (send_env(l, &env))
			break;
		l->snap_off += n;
	}
	free(buf);
	if (l->snap_end_sent) {
		log_info(LOG_CLUSTER, "snapshot sent to=%s index=%llu bytes=%llu", l->name,
			 (unsigned long long)l->info.applied_index, (unsigned long long)l->snap_off);
		l->snap = SNAP_NONE;
		l->next_index = l->info.applied_index + 1;
		snapshot_reader_free(l->reader);
		l->reader = NULL;
		if (l->thread_started) {
			pthread_join(l->thread, NULL);
			l->thread_started = false;
		}
		{
			char p[SNAPSHOT_PATH_MAX + 16];

			snprintf(p, sizeof(p), "%s/" SNAPSHOT_DATA_FILE, l->snapdir);
			unlink(p);
			rmdir(l->snapdir);
			l->snapdir[0] = '\0';
		}
	}
}

/* A snapshot thread finished: begin sending. */
static void snapshot_made(struct repl *r, struct flink *l)
{
	Kefu__Envelope env = KEFU__ENVELOPE__INIT;
	Kefu__SnapshotBegin sb = KEFU__SNAPSHOT_BEGIN__INIT;
	int err;

	pthread_join(l->thread, NULL);
	l->thread_started = false;
	err = l->snap_err;
	if (!err)
		err = snapshot_reader_open(l->info.path, &l->reader);
	if (err) {
		log_err(LOG_CLUSTER, "snapshot failed for=%s error=\"%s\"", l->name, kf_strerror(err));
		flink_drop(r, l, true);
		return;
	}
	sb.has_epoch = sb.has_index = sb.has_last_epoch = sb.has_size = 1;
	sb.epoch = r->epoch;
	sb.index = l->info.applied_index;
	sb.last_epoch = l->info.applied_epoch;
	sb.size = l->info.size;
	env.body_case = KEFU__ENVELOPE__BODY_SNAPSHOT_BEGIN;
	env.snapshot_begin = &sb;
	if (send_env(l, &env)) {
		flink_drop(r, l, true);
		return;
	}
	l->snap = SNAP_SENDING;
	l->snap_off = 0;
	l->snap_end_sent = false;
	pump_snapshot(r, l);
}

static void on_wake(void *arg)
{
	struct repl *r = arg;
	struct flink *l = r->links;

	while (l) {
		struct flink *next = l->next;
		bool done;

		pthread_mutex_lock(&r->mu);
		done = l->snap == SNAP_MAKING && l->snap_done;
		pthread_mutex_unlock(&r->mu);
		if (done)
			snapshot_made(r, l);
		l = next;
	}
}

static void pump(struct repl *r, struct flink *l)
{
	if (l->snap == SNAP_SENDING)
		pump_snapshot(r, l);
	else if (l->snap == SNAP_NONE)
		pump_entries(r, l);
}

static void pump_all(struct repl *r)
{
	struct flink *l = r->links;

	while (l) {
		struct flink *next = l->next;

		pump(r, l);
		l = next;
	}
}

/* ---- leader: the sync key ---- */

static void key_standbys(const struct syncset *ss, const struct syncset_step *st,
			 struct meta_sync *out)
{
	out->nstandbys = 0;
	for (size_t i = 0; i < ss->n; i++) {
		bool in = ss->m[i].in_key;

		if (st && strcmp(ss->m[i].name, st->name) == 0)
			in = st->kind == SYNCSET_ADD_TO_KEY;
		if (in && out->nstandbys < META_STANDBYS_MAX)
			snprintf(out->standbys[out->nstandbys++], META_NAME_MAX, "%s", ss->m[i].name);
	}
}

struct key_req {
	struct repl *r;
	struct syncset_step step;
	uint64_t epoch;
};

static void on_key_written(void *arg, int err)
{
	struct key_req *q = arg;
	struct repl *r = q->r;

	if (r->epoch == q->epoch) {
		r->key_inflight = false;
		if (err == 0) {
			char names[256];

			syncset_apply(&r->ss, &q->step);
			syncset_key_names(&r->ss, names, sizeof(names));
			log_info(LOG_CLUSTER, "sync key standbys=[%s]", names);
			check_commit(r);
			update_member(r);
		} else {
			log_warn(LOG_CLUSTER, "sync key write failed error=\"%s\"", kf_strerror(err));
		}
	}
	free(q);
}

/* Carry out one sync step; key changes go through etcd first. */
static void sync_step(struct repl *r, const struct syncset_step *st)
{
	struct key_req *q;
	struct meta_sync s;

	if (st->kind == SYNCSET_ADD_TO_SET || st->kind == SYNCSET_REMOVE_FROM_SET) {
		syncset_apply(&r->ss, st);
		log_info(LOG_CLUSTER, "sync set %s %s", st->kind == SYNCSET_ADD_TO_SET ? "add" : "remove",
			 st->name);
		check_commit(r);
		return;
	}
	memset(&s, 0, sizeof(s));
	snprintf(s.leader, sizeof(s.leader), "%s", r->self);
	s.epoch = r->epoch;
	key_standbys(&r->ss, st, &s);
	q = malloc(sizeof(*q));
	if (!q)
		abort();
	*q = (struct key_req){r, *st, r->epoch};
	if (election_write_sync(r->el, &s, on_key_written, q) == 0)
		r->key_inflight = true;
	else
		free(q);
}

static void plan_sync(struct repl *r)
{
	struct syncset_step st;

	if (!r->serving || r->key_inflight || r->switching)
		return;
	r->ss.local_durable = r->local_durable;
	st = syncset_plan(&r->ss, loop_now_ms(), r->sync_timeout_ms);
	if (st.kind != SYNCSET_NONE)
		sync_step(r, &st);
}

/* ---- leader: becoming and stopping ---- */

static void follow_stop(struct repl *r);

static void on_prepared_key(void *arg, int err)
{
	struct key_req *q = arg;
	struct repl *r = q->r;

	if (r->epoch == q->epoch && r->role == ROLE_LEADER) {
		r->key_inflight = false;
		r->preparing = false;
		if (err) {
			log_warn(LOG_CLUSTER, "could not write the sync key error=\"%s\"; resigning",
				 kf_strerror(err));
			election_resign(r->el, NULL, NULL);
		} else {
			r->serving = true;
			set_note(r, "%s", "");
			log_info(LOG_CLUSTER, "serving leader=%s epoch=%llu applied=%llu", r->self,
				 (unsigned long long)r->epoch,
				 (unsigned long long)r->st.applied_index);
			election_clear_failover(r->el);
			update_member(r);
		}
	}
	free(q);
}

struct epoch_job {
	struct repl *r;
	uint64_t epoch;
	struct log_state st;
};

static int epoch_body(struct store_txn *t, void *arg)
{
	struct epoch_job *j = arg;
	int err = log_set_epoch_seen(t, j->epoch);

	return err ? err : log_state(t, &j->st);
}

/* The epoch is persisted: take over the log as it is, write the sync key. */
static void on_epoch_persisted(void *arg, int rc)
{
	struct epoch_job *j = arg;
	struct repl *r = j->r;
	struct meta_sync s;
	struct key_req *q;

	if (r->role != ROLE_LEADER || r->epoch != j->epoch) {
		free(j);
		return;
	}
	if (rc) {
		log_err(LOG_CLUSTER, "persisting epoch failed error=\"%s\"; resigning", kf_strerror(rc));
		free(j);
		election_resign(r->el, NULL, NULL);
		return;
	}
	r->st = j->st;
	free(j);
	r->local_durable = r->local_committed = r->st.applied_index;
	syncset_init(&r->ss, r->standbys);
	/* Everything in our log is now committed: we held every acknowledged write. */
	r->ss.acked = r->local_durable;
	r->ss.local_durable = r->local_durable;
	memset(&s, 0, sizeof(s));
	snprintf(s.leader, sizeof(s.leader), "%s", r->self);
	s.epoch = r->epoch;
	q = malloc(sizeof(*q));
	if (!q)
		abort();
	*q = (struct key_req){r, {SYNCSET_NONE, ""}, r->epoch};
	if (election_write_sync(r->el, &s, on_prepared_key, q) == 0) {
		r->key_inflight = true;
	} else {
		free(q);
		election_resign(r->el, NULL, NULL);
	}
}

static void become_leader(struct repl *r, uint64_t epoch)
{
	struct epoch_job *j = calloc(1, sizeof(*j));
	struct writer_job wj;

	if (!j)
		abort();
	follow_stop(r);
	r->role = ROLE_LEADER;
	r->epoch = epoch;
	r->serving = false;
	r->preparing = true;
	r->switching = false;
	set_note(r, "%s", "new leader: persisting the epoch and writing the sync key");
	log_info(LOG_CLUSTER, "leading epoch=%llu; preparing", (unsigned long long)epoch);
	j->r = r;
	j->epoch = epoch;
	wj = (struct writer_job){epoch_body, on_epoch_persisted, j, 0};
	if (writer_submit(r->sto->writer, &wj, NULL) != 0) {
		free(j);
		election_resign(r->el, NULL, NULL);
	}
}

static void switch_finish(struct repl *r, bool ok, const char *msg)
{
	repl_admin_fn done = r->sw_done;
	void *arg = r->sw_arg;

	r->switching = false;
	r->sw_done = NULL;
	r->sw_key_written = r->sw_resigning = false;
	if (done)
		done(arg, ok, msg);
}

static void step_down(struct repl *r, const char *why)
{
	if (r->role != ROLE_LEADER)
		return;
	log_warn(LOG_CLUSTER, "leadership ended epoch=%llu reason=\"%s\"",
		 (unsigned long long)r->epoch, why);
	set_note(r, "%s", why);
	if (r->switching)
		switch_finish(r, r->sw_resigning, r->sw_resigning ? "switchover done" : why);
	finish_waits(r, UINT64_MAX, KF_ESTATE);
	while (r->links)
		flink_drop(r, r->links, true);
	r->role = ROLE_FOLLOWER;
	r->serving = false;
	r->preparing = false;
	r->epoch = 0;
	r->key_inflight = false;
}

/* ---- follower ---- */

static void feed_free(struct feed *f)
{
	while (f) {
		struct feed *n = f->next;

		if (f->kind == FEED_GROUP)
			unlink(f->path);
		free(f->packed);
		free(f);
		f = n;
	}
}

static void spool_drop(struct repl *r)
{
	if (r->spool_fd >= 0) {
		close(r->spool_fd);
		unlink(r->spool_path);
		r->spool_fd = -1;
	}
}

static void follow_stop(struct repl *r)
{
	rpc_free(r->up);
	r->up = NULL;
	r->up_leader[0] = '\0';
	r->up_epoch = 0;
	feed_free(r->feed);
	r->feed = NULL;
	r->feed_tail = &r->feed;
	spool_drop(r);
	snapshot_recv_free(r->srecv);
	r->srecv = NULL;
}

/* After a fault on the link: drop it; follow_update dials again after RECONNECT_MS. */
static void follow_redial(struct repl *r)
{
	follow_stop(r);
	r->up_retry_ms = loop_now_ms() + RECONNECT_MS;
}

static int apply_entry_bytes(struct store_txn *t, uint64_t epoch, const uint8_t *p, size_t len,
			     uint64_t applied)
{
	Kefu__LogEntry *e = kefu__log_entry__unpack(NULL, len, p);
	int err;

	if (!e)
		return KF_EPROTO;
	if (e->index > applied) {
		err = log_apply_entry(t, epoch, e);
	} else {
		/* An entry we hold already (resent after a reconnect) is skipped
		 * if it is the same entry; one of another epoch at the same index
		 * means our tail is an old leader's unacknowledged write: stop, so
		 * that a new Hello shows the divergence and brings a snapshot. */
		uint64_t have = 0;

		err = log_entry_epoch(t, e->index, &have);
		if (err == KF_ENOTFOUND)
			err = 0; /* truncated here: long committed */
		else if (err == 0 && have != e->epoch) {
			log_warn(LOG_CLUSTER, "diverged index=%llu ours=%llu leader's=%llu",
				 (unsigned long long)e->index, (unsigned long long)have,
				 (unsigned long long)e->epoch);
			err = KF_ECORRUPT;
		}
	}
	kefu__log_entry__free_unpacked(e, NULL);
	return err;
}

struct group_apply {
	struct store_txn *t;
	uint64_t epoch, applied;
};

static int apply_group_entry(void *arg, const unsigned char *p, size_t n)
{
	struct group_apply *g = arg;
	struct log_state st;
	int err = apply_entry_bytes(g->t, g->epoch, p, n, g->applied);

	if (err == 0 && (err = log_state(g->t, &st)) == 0)
		g->applied = st.applied_index;
	return err;
}

static int apply_group_file(struct store_txn *t, const struct feed *f, uint64_t *applied)
{
	struct group_apply g = {t, f->leader_epoch, *applied};
	int err = file_records(f->path, apply_group_entry, &g);

	*applied = g.applied;
	return err;
}

static int apply_body(struct store_txn *t, void *arg)
{
	struct apply_job *j = arg;
	int err = log_state(t, &j->st);
	uint64_t applied = j->st.applied_index;

	for (struct feed *f = j->items; f && err == 0; f = f->next) {
		switch (f->kind) {
		case FEED_EPOCH:
			err = log_set_epoch_seen(t, f->leader_epoch);
			break;
		case FEED_ENTRY:
			err = apply_entry_bytes(t, f->leader_epoch, f->packed, f->len, applied);
			if (err == 0) {
				struct log_state st;

				err = log_state(t, &st);
				applied = st.applied_index;
			}
			break;
		case FEED_GROUP:
			err = apply_group_file(t, f, &applied);
			break;
		}
	}
	return err ? err : log_state(t, &j->st);
}

static void send_ack(struct repl *r)
{
	Kefu__Envelope env = KEFU__ENVELOPE__INIT;
	Kefu__AppendAck ack = KEFU__APPEND_ACK__INIT;

	if (!r->up || !rpc_is_up(r->up))
		return;
	ack.has_epoch = ack.has_durable_index = 1;
	ack.epoch = r->up_epoch;
	ack.durable_index = r->st.applied_index;
	env.body_case = KEFU__ENVELOPE__BODY_APPEND_ACK;
	env.append_ack = &ack;
	rpc_send(r->up, &env);
}

static void apply_next(struct repl *r);

static void on_applied(void *arg, int rc)
{
	struct apply_job *j = arg;
	struct repl *r = j->r;

	r->applying = false;
	if (rc == 0) {
		r->st = j->st;
		r->st_known = true;
		send_ack(r);
		update_member(r);
	} else if (r->role != ROLE_LEADER) {
		log_warn(LOG_CLUSTER, "apply failed error=\"%s\"; reconnecting", kf_strerror(rc));
		read_state(r);
		follow_redial(r);
	}
	feed_free(j->items);
	free(j);
	apply_next(r);
}

static void apply_next(struct repl *r)
{
	struct apply_job *j;
	struct writer_job wj;

	if (r->applying || !r->feed || r->role == ROLE_LEADER)
		return;
	j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->r = r;
	j->items = r->feed;
	r->feed = NULL;
	r->feed_tail = &r->feed;
	wj = (struct writer_job){apply_body, on_applied, j, 0};
	if (writer_submit(r->sto->writer, &wj, NULL) != 0) {
		feed_free(j->items);
		free(j);
		return;
	}
	r->applying = true;
}

static struct feed *feed_push(struct repl *r, enum feed_kind kind, uint64_t epoch)
{
	struct feed *f = calloc(1, sizeof(*f));

	if (!f)
		abort();
	f->kind = kind;
	f->leader_epoch = epoch;
	*r->feed_tail = f;
	r->feed_tail = &f->next;
	return f;
}

static int spool_write(struct repl *r, const uint8_t *p, size_t len)
{
	uint32_t n = (uint32_t)len;

	if (r->spool_fd < 0) {
		snprintf(r->spool_path, sizeof(r->spool_path), "%s.spool-%u", r->data_dir,
			 ++r->spool_seq);
		r->spool_fd = open(r->spool_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (r->spool_fd < 0)
			return -errno;
	}
	if (write(r->spool_fd, &n, sizeof(n)) != sizeof(n) || write(r->spool_fd, p, len) != (ssize_t)len)
		return -EIO;
	return 0;
}

static void on_append(struct repl *r, const Kefu__Envelope *env)
{
	const Kefu__Append *a = env->append;

	if (a->epoch < r->up_epoch || a->epoch < r->st.epoch_seen) {
		log_warn(LOG_CLUSTER, "refusing epoch=%llu from=%s (fenced at %llu)",
			 (unsigned long long)a->epoch, r->up_leader,
			 (unsigned long long)(r->up_epoch > r->st.epoch_seen ? r->up_epoch
									     : r->st.epoch_seen));
		follow_redial(r);
		return;
	}
	if (a->n_entries == 0 && a->epoch > r->st.epoch_seen)
		feed_push(r, FEED_EPOCH, a->epoch);
	for (size_t i = 0; i < a->n_entries; i++) {
		const Kefu__LogEntry *e = a->entries[i];
		size_t len = kefu__log_entry__get_packed_size(e);
		uint8_t *p = malloc(len ? len : 1);
		bool end = log_entry_is_group_end(e);

		if (!p)
			abort();
		kefu__log_entry__pack(e, p);
		if (r->spool_fd >= 0 || !end) {
			/* A group's chunks wait on disk for the group's end. */
			int err = spool_write(r, p, len);

			free(p);
			if (err) {
				log_err(LOG_CLUSTER, "spool failed error=\"%s\"", kf_strerror(err));
				follow_redial(r);
				return;
			}
			if (end) {
				struct feed *f = feed_push(r, FEED_GROUP, a->epoch);

				snprintf(f->path, sizeof(f->path), "%s", r->spool_path);
				close(r->spool_fd);
				r->spool_fd = -1;
			}
			continue;
		}
		{
			struct feed *f = feed_push(r, FEED_ENTRY, a->epoch);

			f->packed = p;
			f->len = len;
		}
	}
	apply_next(r);
}

/* ---- follower: snapshots ---- */

static void on_snapshot_begin(struct repl *r, const Kefu__Envelope *env)
{
	const Kefu__SnapshotBegin *sb = env->snapshot_begin;
	int err;

	feed_free(r->feed);
	r->feed = NULL;
	r->feed_tail = &r->feed;
	spool_drop(r);
	snapshot_recv_free(r->srecv);
	snprintf(r->srecv_path, sizeof(r->srecv_path), "%s.snap-in", r->data_dir);
	err = snapshot_recv_open(r->srecv_path, sb->size, &r->srecv);
	if (err) {
		log_err(LOG_CLUSTER, "cannot receive snapshot error=\"%s\"", kf_strerror(err));
		follow_redial(r);
		return;
	}
	r->srecv_epoch = sb->epoch;
	set_note(r, "receiving a snapshot of %llu bytes (index %llu)", (unsigned long long)sb->size,
		 (unsigned long long)sb->index);
	log_info(LOG_CLUSTER, "snapshot incoming bytes=%llu index=%llu", (unsigned long long)sb->size,
		 (unsigned long long)sb->index);
}

static void on_snapshot_chunk(struct repl *r, const Kefu__Envelope *env)
{
	const Kefu__SnapshotChunk *c = env->snapshot_chunk;
	int err = r->srecv ? snapshot_recv_write(r->srecv, c->offset, c->data.data, c->data.len) : 0;

	if (err) {
		log_err(LOG_CLUSTER, "snapshot chunk refused error=\"%s\"", kf_strerror(err));
		follow_redial(r);
	}
}

static void on_snapshot_end(struct repl *r, const Kefu__Envelope *env)
{
	const char *sha = env->snapshot_end->sha256;
	uint64_t fence = r->st.epoch_seen > r->srecv_epoch ? r->st.epoch_seen : r->srecv_epoch;
	int err;

	if (!r->srecv)
		return;
	err = snapshot_recv_finish(r->srecv, sha ? sha : "");
	snapshot_recv_free(r->srecv);
	r->srecv = NULL;
	if (!err && r->applying)
		err = KF_ESTATE; /* cannot happen: the leader sends snapshots to idle followers */
	if (!err)
		err = r->sto->reinstall(r->sto->arg, r->srecv_path);
	if (err) {
		log_err(LOG_CLUSTER, "snapshot install failed error=\"%s\"", kf_strerror(err));
		unlink(r->srecv_path);
		follow_redial(r);
		return;
	}
	read_state(r);
	log_info(LOG_CLUSTER, "snapshot installed applied=%llu", (unsigned long long)r->st.applied_index);
	set_note(r, "%s", "");
	/* The snapshot carries the leader's fence; keep ours if it was higher. */
	feed_push(r, FEED_EPOCH, fence);
	apply_next(r);
}

/* ---- follower: the leader's frames ---- */

static void on_leader_error(struct repl *r, const Kefu__Envelope *env)
{
	log_info(LOG_CLUSTER, "leader link refused: %s",
		 env->error->message ? env->error->message : kf_strerror(env->error->code));
	follow_redial(r);
}

/* The messages a follower takes from its leader: one row and one handler each. */
static const struct up_row {
	Kefu__Envelope__BodyCase body;
	void (*fn)(struct repl *r, const Kefu__Envelope *env);
} up_rows[] = {
	{KEFU__ENVELOPE__BODY_APPEND, on_append},
	{KEFU__ENVELOPE__BODY_SNAPSHOT_BEGIN, on_snapshot_begin},
	{KEFU__ENVELOPE__BODY_SNAPSHOT_CHUNK, on_snapshot_chunk},
	{KEFU__ENVELOPE__BODY_SNAPSHOT_END, on_snapshot_end},
	{KEFU__ENVELOPE__BODY_ERROR, on_leader_error},
};

/*
 * on_up_msg - an Envelope from the leader goes to its row. One that no row
 * takes is a protocol error, like a fenced epoch or a refused chunk: it is
 * logged (rate-limited: the peer triggers it) with its body case, and the
 * link is dropped and dialled again.
 */
static void on_up_msg(void *arg, const Kefu__Envelope *e)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 5);
	struct repl *r = arg;
	const ProtobufCFieldDescriptor *fd;

	for (size_t i = 0; i < sizeof(up_rows) / sizeof(up_rows[0]); i++) {
		if (up_rows[i].body == e->body_case) {
			up_rows[i].fn(r, e);
			return;
		}
	}
	fd = protobuf_c_message_descriptor_get_field(&kefu__envelope__descriptor, e->body_case);
	log_ratelimited(&rl, LOG_CLUSTER, LOG_LVL_WARN,
			"refused message=%s body_case=%d leader=%s error=\"no follower handler\"; "
			"reconnecting", fd ? fd->name : "?", (int)e->body_case, r->up_leader);
	follow_redial(r);
}

static void on_up_state(void *arg, int err, const char *detail)
{
	struct repl *r = arg;
	Kefu__Envelope env = KEFU__ENVELOPE__INIT;
	Kefu__Hello h = KEFU__HELLO__INIT;

	if (err) {
		log_info(LOG_CLUSTER, "leader link down leader=%s error=\"%s\"%s%s", r->up_leader,
			 kf_strerror(err), detail ? " detail=" : "", detail ? detail : "");
		follow_redial(r);
		return;
	}
	/* What the disk holds, not what we last heard: a write of ours as a
	 * leader may have committed after we stepped down. */
	read_state(r);
	h.node = r->self;
	h.has_epoch = h.has_last_index = h.has_last_epoch = 1;
	h.epoch = r->st.epoch_seen;
	h.last_index = r->st.applied_index;
	h.last_epoch = r->st.applied_epoch;
	env.body_case = KEFU__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	rpc_send(r->up, &env);
	log_info(LOG_CLUSTER, "following leader=%s epoch=%llu from=%llu", r->up_leader,
		 (unsigned long long)r->up_epoch, (unsigned long long)r->st.applied_index + 1);
}

/* Dial the leader the election names, unless we follow it already. */
static void follow_update(struct repl *r)
{
	uint64_t epoch;
	const char *leader = election_leader(r->el, &epoch), *addr;
	struct net_opts no = {.max_frame = r->max_frame};
	struct rpc_opts ro = {r->loop, r->up_addr, r->tls, &no, on_up_state, on_up_msg, r,
			      TLS_ROLE_NODE, r->up_leader};
	int err;

	if (r->role == ROLE_LEADER)
		return;
	if (!*leader || strcmp(leader, r->self) == 0 || epoch < r->st.epoch_seen) {
		if (r->up)
			follow_stop(r);
		return;
	}
	if (r->up && strcmp(r->up_leader, leader) == 0 && r->up_epoch == epoch && !rpc_failed(r->up))
		return;
	if (r->applying || loop_now_ms() < r->up_retry_ms)
		return; /* let the running apply finish first: Hello says where we are */
	addr = member_addr(r, leader);
	if (!*addr)
		return; /* its member key is not known yet */
	follow_stop(r);
	snprintf(r->up_leader, sizeof(r->up_leader), "%s", leader);
	snprintf(r->up_addr, sizeof(r->up_addr), "%s", addr);
	r->up_epoch = epoch;
	r->role = ROLE_FOLLOWER;
	if ((err = rpc_new(&ro, &r->up)) != 0) {
		log_warn(LOG_CLUSTER, "cannot dial leader=%s addr=%s error=\"%s\"", leader, addr,
			 kf_strerror(err));
		r->up_retry_ms = loop_now_ms() + RECONNECT_MS;
	}
}

/* ---- leader: peer frames ---- */

static void hello_refuse(struct net_conn *c, const char *msg, const struct repl *r)
{
	Kefu__Envelope env;
	Kefu__Error er;
	const char *name, *addr;

	env_error(&env, &er, 0, KF_ESTATE, msg);
	repl_leader_hint(r, &name, &addr);
	er.leader = *addr ? (char *)addr : NULL;
	env_send(c, &env);
	net_conn_close_flushed(c);
}

void repl_on_hello(struct repl *r, struct net_conn *c, const Kefu__Hello *h)
{
	struct flink *l;
	struct syncset_member *m;
	struct store_txn *t;
	uint64_t e = 0;
	bool snapshot = false;
	int err;

	if (r->role != ROLE_LEADER || !r->serving) {
		hello_refuse(c, "not the leader", r);
		return;
	}
	if (!h->node || !meta_name_ok(h->node) || strcmp(h->node, r->self) == 0) {
		hello_refuse(c, "bad node name in Hello", r);
		return;
	}
	if (h->epoch > r->epoch) {
		hello_refuse(c, "you have seen a newer leader", r);
		return;
	}
	/* A node that reconnects replaces its old link. */
	for (l = r->links; l; l = l->next) {
		if (strcmp(l->name, h->node) == 0) {
			flink_drop(r, l, true);
			break;
		}
	}
	if ((err = store_read_begin(store_of(r), &t)) != 0) {
		hello_refuse(c, "storage error", r);
		return;
	}
	if (h->last_index > r->local_committed) {
		snapshot = true; /* it holds entries we do not: an old leader's tail */
	} else if (h->last_index == 0) {
		snapshot = r->local_committed > 0; /* new or wiped: a snapshot, then the log */
	} else {
		err = log_entry_epoch(t, h->last_index, &e);
		snapshot = err == KF_ENOTFOUND || (err == 0 && e != h->last_epoch);
	}
	store_abort(t);
	l = calloc(1, sizeof(*l));
	if (!l)
		abort();
	l->r = r;
	l->conn = c;
	snprintf(l->name, sizeof(l->name), "%s", h->node);
	l->next_index = h->last_index + 1;
	l->next = r->links;
	r->links = l;
	m = syncset_member(&r->ss, l->name);
	if (m) {
		m->durable = snapshot ? 0 : h->last_index;
		m->connected = true;
		m->progress_ms = loop_now_ms();
	}
	log_info(LOG_CLUSTER, "follower joined name=%s last_index=%llu%s", l->name,
		 (unsigned long long)h->last_index, snapshot ? " (needs a snapshot)" : "");
	if (snapshot) {
		start_snapshot(r, l);
		return;
	}
	{
		/* An empty Append fences it at our epoch at once. */
		Kefu__Envelope env = KEFU__ENVELOPE__INIT;
		Kefu__Append ap = KEFU__APPEND__INIT;

		ap.has_epoch = ap.has_commit_index = 1;
		ap.epoch = r->epoch;
		ap.commit_index = r->ss.acked;
		env.body_case = KEFU__ENVELOPE__BODY_APPEND;
		env.append = &ap;
		send_env(l, &env);
	}
	pump(r, l);
}

void repl_on_append_ack(struct repl *r, struct net_conn *c, const Kefu__AppendAck *a)
{
	struct flink *l = flink_by_conn(r, c);

	if (!l || r->role != ROLE_LEADER || a->epoch != r->epoch)
		return;
	syncset_ack(&r->ss, l->name, a->durable_index, loop_now_ms());
	check_commit(r);
	pump(r, l);
}

void repl_on_conn_closed(struct repl *r, struct net_conn *c)
{
	struct flink *l = flink_by_conn(r, c);

	if (l) {
		log_info(LOG_CLUSTER, "follower left name=%s", l->name);
		flink_drop(r, l, false);
	}
}

/* ---- leader: writes ---- */

static int write_body(struct store_txn *t, void *arg)
{
	struct write_job *j = arg;
	struct log_state st;
	int err;

	if (j->body) {
		err = j->body(t, j->epoch, j->body_arg);
		if (err == 0 && (err = log_state(t, &st)) == 0)
			j->index = st.applied_index;
		return err;
	}
	return log_append(t, j->epoch, j->packed, j->len, &j->index);
}

/* local_durable up to the writes the writer made durable (WRITER_LAZY). */
void repl_on_writer(struct repl *r)
{
	r->ss.local_durable = r->local_durable;
	if (r->role != ROLE_LEADER || !syncset_local_durable(&r->ss, writer_durable_id(r->sto->writer)))
		return;
	r->local_durable = r->st.applied_index = r->ss.local_durable;
	r->st.applied_epoch = r->epoch;
	check_commit(r);
}

static void on_written(void *arg, int rc)
{
	struct write_job *j = arg;
	struct repl *r = j->r;

	if (rc || r->role != ROLE_LEADER || r->epoch != j->epoch) {
		j->done(j->arg, rc ? rc : KF_ESTATE, 0);
	} else {
		if (j->index > r->local_committed)
			r->local_committed = j->index;
		syncset_local_committed(&r->ss, j->wid, j->index);
		add_wait(r, j->index, j->done, j->arg);
		pump_all(r);
		repl_on_writer(r);
	}
	free(j->packed);
	free(j);
}

static int submit_write(struct repl *r, struct write_job *j, unsigned flags)
{
	struct writer_job wj = {write_body, on_written, j, flags | WRITER_LAZY};
	int err;

	if (!repl_is_serving(r)) {
		err = KF_ESTATE;
	} else {
		j->r = r;
		j->epoch = r->epoch;
		err = writer_submit(r->sto->writer, &wj, &j->wid);
	}
	if (err) {
		free(j->packed);
		free(j);
	}
	return err;
}

int repl_write(struct repl *r, const uint8_t *packed, size_t len, repl_done_fn done, void *arg)
{
	struct write_job *j = calloc(1, sizeof(*j));

	if (!j)
		abort();
	j->packed = malloc(len ? len : 1);
	if (!j->packed)
		abort();
	memcpy(j->packed, packed, len);
	j->len = len;
	j->done = done;
	j->arg = arg;
	return submit_write(r, j, WRITER_GROUPABLE);
}

int repl_run_logged(struct repl *r, repl_logged_body_fn body, void *arg, bool grouped,
		    repl_done_fn done, void *done_arg)
{
	struct write_job *j = calloc(1, sizeof(*j));

	if (!j)
		abort();
	j->body = body;
	j->body_arg = arg;
	j->done = done;
	j->arg = done_arg;
	return submit_write(r, j, grouped ? WRITER_GROUPABLE : 0);
}

/* ---- leader: truncation ---- */

struct trunc_job {
	struct repl *r;
	uint64_t upto;
	bool more;
	uint64_t log_start;   /* after the job */
};

static int trunc_body(struct store_txn *t, void *arg)
{
	struct trunc_job *j = arg;
	struct log_state st;
	int err = log_truncate(t, j->upto, &j->more);

	if (err == 0 && (err = log_state(t, &st)) == 0)
		j->log_start = st.log_start;
	return err;
}

static void on_truncated(void *arg, int rc)
{
	struct trunc_job *j = arg;

	j->r->truncating = false;
	if (rc) {
		log_warn(LOG_CLUSTER, "log truncation failed error=\"%s\"", kf_strerror(rc));
	} else {
		j->r->st.log_start = j->log_start;
		if (j->more)
			j->r->last_truncate_ms = 0; /* go on at the next tick */
	}
	free(j);
}

static void maybe_truncate(struct repl *r)
{
	const struct meta_member *m;
	size_t n = election_members(r->el, &m);
	uint64_t upto = r->local_durable, now = loop_now_ms();
	struct trunc_job *j;
	struct writer_job wj;

	if (r->truncating || now - r->last_truncate_ms < TRUNCATE_EVERY_MS)
		return;
	r->last_truncate_ms = now;
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].name, r->self) != 0 && m[i].applied < upto)
			upto = m[i].applied;
	for (struct flink *l = r->links; l; l = l->next) {
		struct syncset_member *sm = syncset_find(&r->ss, l->name);

		if (sm && sm->durable < upto)
			upto = sm->durable;
	}
	if (r->local_durable > r->log_retain && upto < r->local_durable - r->log_retain)
		upto = r->local_durable - r->log_retain;
	/* Keep a margin so a follower a moment behind its member key still streams. */
	upto = upto > 1000 ? upto - 1000 : 0;
	if (upto <= r->st.log_start)
		return;
	j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->r = r;
	j->upto = upto;
	wj = (struct writer_job){trunc_body, on_truncated, j, 0};
	if (writer_submit(r->sto->writer, &wj, NULL) == 0)
		r->truncating = true;
	else
		free(j);
}

/* ---- switchover ---- */

static void on_sw_resigned(void *arg, int err)
{
	struct repl *r = arg;

	if (!r->switching)
		return;
	if (err) {
		switch_finish(r, false, "could not delete the leader key");
		return;
	}
	log_info(LOG_CLUSTER, "switchover: resigned; %s takes over", r->switch_to);
}

static void on_sw_key(void *arg, int err)
{
	struct key_req *q = arg;
	struct repl *r = q->r;

	if (r->switching && r->epoch == q->epoch) {
		r->key_inflight = false;
		if (err) {
			switch_finish(r, false, "could not write the sync key");
		} else {
			for (size_t i = 0; i < r->ss.n; i++)
				r->ss.m[i].in_key = strcmp(r->ss.m[i].name, r->switch_to) == 0;
			r->sw_key_written = true;
			r->sw_resigning = true;
			if (election_resign(r->el, on_sw_resigned, r) != 0)
				switch_finish(r, false, "no longer leader");
		}
	}
	free(q);
}

static void switch_progress(struct repl *r)
{
	struct syncset_member *m;

	if (!r->switching || r->sw_key_written || r->key_inflight)
		return;
	if (loop_now_ms() > r->sw_deadline) {
		switch_finish(r, false, "the target did not catch up in time");
		return;
	}
	m = syncset_find(&r->ss, r->switch_to);
	if (!m || !m->connected)
		return;
	if (!m->in_set) {
		m->in_set = true; /* from now on writes wait for it too */
		return;
	}
	if (m->durable >= r->local_durable) {
		struct meta_sync s = {0};
		struct key_req *q = malloc(sizeof(*q));

		if (!q)
			abort();
		snprintf(s.leader, sizeof(s.leader), "%s", r->self);
		s.epoch = r->epoch;
		s.nstandbys = 1;
		snprintf(s.standbys[0], sizeof(s.standbys[0]), "%s", r->switch_to);
		*q = (struct key_req){r, {SYNCSET_NONE, ""}, r->epoch};
		if (election_write_sync(r->el, &s, on_sw_key, q) == 0)
			r->key_inflight = true;
		else
			free(q);
	}
}

int repl_switchover(struct repl *r, const char *to, repl_admin_fn done, void *arg)
{
	struct syncset_member *m;

	if (!repl_is_serving(r))
		return KF_ESTATE;
	if (strcmp(to, r->self) == 0) {
		done(arg, true, "already the leader");
		return 0;
	}
	m = syncset_find(&r->ss, to);
	if (!m || !m->connected) {
		done(arg, false, "the target is not a connected follower");
		return 0;
	}
	snprintf(r->switch_to, sizeof(r->switch_to), "%s", to);
	r->switching = true;
	r->sw_done = done;
	r->sw_arg = arg;
	r->sw_deadline = loop_now_ms() + SWITCHOVER_TIMEOUT_MS;
	r->sw_key_written = r->sw_resigning = false;
	log_info(LOG_CLUSTER, "switchover to=%s started", to);
	switch_progress(r);
	return 0;
}

struct fo_req {
	struct repl *r;
	repl_admin_fn done;
	void *arg;
	char to[META_NAME_MAX];
};

static void on_failover_written(void *arg, int err)
{
	struct fo_req *q = arg;
	char msg[256];

	if (err) {
		snprintf(msg, sizeof(msg), "could not write the failover key: %s", kf_strerror(err));
		q->done(q->arg, false, msg);
	} else {
		if (q->r->role == ROLE_LEADER && strcmp(q->to, q->r->self) != 0)
			election_resign(q->r->el, NULL, NULL);
		snprintf(msg, sizeof(msg),
			 "failover requested: %s may take over now; writes acknowledged only by "
			 "nodes that are gone may be missing",
			 q->to);
		q->done(q->arg, true, msg);
	}
	free(q);
}

int repl_failover(struct repl *r, const char *to, repl_admin_fn done, void *arg)
{
	const struct meta_member *m;
	size_t n = election_members(r->el, &m);
	const char *leader = election_leader(r->el, NULL);
	struct fo_req *q;
	int err;

	if (!to) {
		const struct meta_member *best = NULL;

		for (size_t i = 0; i < n; i++)
			if (strcmp(m[i].name, leader) != 0 && (!best || m[i].applied > best->applied))
				best = &m[i];
		if (!best) {
			done(arg, false, "no live member to fail over to");
			return 0;
		}
		to = best->name;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		abort();
	q->r = r;
	q->done = done;
	q->arg = arg;
	snprintf(q->to, sizeof(q->to), "%s", to);
	err = election_request_failover(r->el, to, on_failover_written, q);
	if (err)
		free(q);
	return err;
}

/* ---- status ---- */

void repl_fill_status(struct repl *r, Kefu__StatusReply *st)
{
	const struct meta_member *m;
	size_t n = election_members(r->el, &m);
	const struct meta_sync *sync = election_sync(r->el);
	uint64_t epoch, last = 0;
	const char *leader = election_leader(r->el, &epoch);

	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].name, leader) == 0)
			last = m[i].applied;
	if (r->role == ROLE_LEADER)
		last = r->local_durable;
	st->leader = (char *)leader;
	st->has_epoch = 1;
	st->epoch = epoch;
	st->answered_by = r->self;
	st->n_members = n;
	st->members = calloc(n ? n : 1, sizeof(*st->members));
	if (!st->members)
		abort();
	for (size_t i = 0; i < n; i++) {
		Kefu__MemberStatus *ms = calloc(1, sizeof(*ms));
		uint64_t applied = m[i].applied;

		if (!ms)
			abort();
		kefu__member_status__init(ms);
		if (strcmp(m[i].name, r->self) == 0) {
			applied = r->st.applied_index;
		} else if (r->role == ROLE_LEADER) {
			/* The leader knows its followers better than their member keys. */
			struct syncset_member *sm = syncset_find(&r->ss, m[i].name);

			if (sm && sm->connected && sm->durable > applied)
				applied = sm->durable;
		}
		ms->name = (char *)m[i].name;
		ms->addr = (char *)m[i].addr;
		ms->sync = sync && meta_sync_has(sync, m[i].name);
		ms->role = strcmp(m[i].name, leader) == 0 ? "leader" : ms->sync ? "standby"
			   : strcmp(m[i].role, "starting") == 0 ? "starting" : "follower";
		ms->has_applied = ms->has_lag = ms->has_sync = ms->has_epoch = ms->has_format = 1;
		ms->applied = applied;
		ms->lag = last > applied ? last - applied : 0;
		ms->epoch = m[i].epoch;
		ms->version = (char *)m[i].version;
		ms->format = m[i].format;
		st->members[i] = ms;
	}
	st->note = r->note[0] ? r->note : (char *)election_note(r->el);
	if (!election_lease_valid(r->el) && !election_etcd_ok(r->el)) {
		/* No lease and no answer from etcd: no quorum, no write (repl.h). */
		snprintf(r->status_note, sizeof(r->status_note), REPL_NOTE_NO_QUORUM " (%s)",
			 *st->note ? st->note : "no lease");
		st->note = r->status_note;
	}
	if (!*st->note)
		st->note = NULL;
}

void repl_status_release(Kefu__StatusReply *st)
{
	for (size_t i = 0; i < st->n_members; i++)
		free(st->members[i]);
	free(st->members);
	st->members = NULL;
	st->n_members = 0;
}

/* ---- driving ---- */

void repl_on_election(struct repl *r)
{
	uint64_t epoch;
	const char *leader = election_leader(r->el, &epoch);
	const char *fo = election_failover_to(r->el);

	if (election_is_leader(r->el)) {
		if (r->role != ROLE_LEADER || r->epoch != epoch)
			become_leader(r, epoch);
		else if (fo && strcmp(fo, r->self) != 0 && r->serving && !r->switching)
			election_resign(r->el, NULL, NULL); /* the operator chose another node */
	} else if (r->role == ROLE_LEADER) {
		step_down(r, election_lease_valid(r->el) ? "the leader key is not ours any more"
							 : "lease not renewed in time (etcd?)");
	}
	if (r->role == ROLE_STARTING && r->st_known)
		r->role = ROLE_FOLLOWER;
	(void)leader;
	follow_update(r);
	update_member(r);
}

static void on_tick(void *arg)
{
	struct repl *r = arg;

	if (r->role == ROLE_LEADER) {
		if (!election_is_leader(r->el)) {
			repl_on_election(r);
			return;
		}
		plan_sync(r);
		switch_progress(r);
		pump_all(r);
		check_commit(r);
		if (r->serving)
			maybe_truncate(r);
		if (r->serving && !r->switching) {
			size_t in_set = 0;

			for (size_t i = 0; i < r->ss.n; i++)
				in_set += r->ss.m[i].in_set && r->ss.m[i].in_key;
			if (r->standbys && !in_set && r->waits)
				set_note(r, "%s", "writes wait: no sync standby has caught up yet");
			else if (r->note[0])
				set_note(r, "%s", "");
		}
	} else {
		follow_update(r);
		if (r->st_known && r->role == ROLE_STARTING)
			r->role = ROLE_FOLLOWER;
	}
	update_member(r);
}

int repl_new(const struct repl_opts *o, struct repl **out)
{
	struct repl *r = calloc(1, sizeof(*r));
	int err;

	*out = NULL;
	if (!r)
		abort();
	snprintf(r->self, sizeof(r->self), "%s", o->self);
	snprintf(r->data_dir, sizeof(r->data_dir), "%s", o->data_dir);
	r->loop = o->loop;
	r->el = o->election;
	r->tls = o->client_tls;
	r->sto = o->storage;
	r->sync_timeout_ms = o->sync_timeout_ms ? o->sync_timeout_ms : 1000;
	r->log_retain = o->log_retain ? o->log_retain : 100000;
	r->max_frame = o->max_frame;
	r->standbys = o->standbys;
	r->waits_tail = &r->waits;
	r->feed_tail = &r->feed;
	r->spool_fd = -1;
	pthread_mutex_init(&r->mu, NULL);
	syncset_init(&r->ss, r->standbys);
	r->tick = loop_timer_new(r->loop, TICK_MS, on_tick, r);
	if ((err = loop_wake_new(r->loop, on_wake, r, &r->wake)) != 0 ||
	    (err = read_state(r)) != 0) {
		repl_free(r);
		return err;
	}
	r->role = ROLE_FOLLOWER;
	update_member(r);
	*out = r;
	return 0;
}

void repl_free(struct repl *r)
{
	if (!r)
		return;
	if (r->switching)
		switch_finish(r, false, "node stopping");
	finish_waits(r, UINT64_MAX, KF_ECANCELED);
	while (r->links)
		flink_drop(r, r->links, true);
	follow_stop(r);
	loop_timer_free(r->tick);
	loop_wake_free(r->wake);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
