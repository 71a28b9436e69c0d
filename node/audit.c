/* The audit log's hash chain: sealing on the leader, verifying on any node. See audit.h. */
#include "node/audit.h"

#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "node/leader.h"
#include "storage/audit.h"
#include "storage/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEAL_EVERY_MS 200
#define SEAL_MAX 256                      /* new entries sealed per transaction */
#define SEAL_WINDOW_MS (10 * 60 * 1000)   /* how late an entry may come and be linked in */
#define SEAL_BATCH_CAP (4u * 1024 * 1024)
#define SEAL_WARN_EVERY_MS (60 * 1000)
#define VERIFY_CHUNK 1000                 /* entries per loop turn */
#define VERIFY_GRACE_MS (60 * 1000)       /* an unsealed entry younger than this is pending */
#define VERIFY_RESTARTS 4

struct verify;

struct audit_svc {
	struct loop *loop;
	struct leader *leader;     /* NULL on a node alone: nothing is sealed */
	struct repl_storage *sto;
	char self[META_NAME_MAX];
	struct batch *b;           /* the seal's; used on the writer thread while sealing */
	bool sealing, dead;
	size_t sealed;             /* entries the last seal linked (written on the writer thread) */
	uint64_t futile_entries;   /* the table's size when a seal last found nothing */
	uint64_t warned_ms;        /* monotonic ms of the last warning */
	char why[AUDIT_WHY_MAX + 64];
	struct audit_seal_opts opts; /* read by the seal on the writer thread */
	struct verify *verifies;
};

/* ---- sealing, on the leader ---- */

static int seal_body(struct store_txn *t, uint64_t epoch, void *arg)
{
	struct audit_svc *s = arg;
	size_t n;
	int err;

	batch_reset(s->b);
	s->why[0] = '\0';
	s->sealed = 0;
	err = audit_seal(t, s->b, &s->opts, &n, s->why, sizeof(s->why));
	if (err)
		return err;
	s->sealed = n;
	if (n == 0)
		return KF_ENOTFOUND; /* nothing to seal: nothing to log */
	return log_append_batch(t, epoch, s->b, 0, false, s->self, NULL);
}

static void seal_tick(void *state);

static void seal_done(void *arg, int err, uint64_t index)
{
	struct audit_svc *s = arg;
	uint64_t now = loop_now_ms();

	(void)index;
	s->sealing = false;
	if (s->dead) {
		batch_free(s->b);
		free(s);
		return;
	}
	if (err == KF_ENOTFOUND || err == KF_ECORRUPT) {
		struct store_stats st;

		if (store_stat(s->sto->store, &st) == 0)
			s->futile_entries = st.entries[STORE_AUDIT];
	}
	if (err && err != KF_ENOTFOUND && err != KF_ESTATE &&
	    now - s->warned_ms >= SEAL_WARN_EVERY_MS) {
		s->warned_ms = now;
		log_warn(LOG_STORE, "audit chain: sealing failed: %s%s%s", kf_strerror(err),
			 s->why[0] ? ": " : "", s->why);
	}
	/* A full seal leaves more behind: the next one goes now, not at the
	 * next tick, so the chain keeps up with any rate the log takes (one
	 * seal a tick links 1,280 entries a second at most). */
	if (err == 0 && s->sealed >= s->opts.max)
		seal_tick(s);
}

/* Entries the head does not count yet: something to seal (or late ones
 * beyond the window, which a seal found nothing to do for). Sets how many
 * for the seal. */
static bool seal_needed(struct audit_svc *s)
{
	struct store_stats st;
	struct audit_head h;
	struct store_txn *t;
	bool need = false;

	if (store_stat(s->sto->store, &st) != 0 || st.entries[STORE_AUDIT] == s->futile_entries)
		return false;
	if (store_read_begin(s->sto->store, &t) != 0)
		return false;
	if (audit_head_get(t, &h) == 0 && st.entries[STORE_AUDIT] > h.count) {
		need = true;
		s->opts.unsealed = st.entries[STORE_AUDIT] - h.count;
	}
	store_abort(t);
	return need;
}

static void seal_tick(void *state)
{
	struct audit_svc *s = state;

	if (!s->leader || s->sealing || !leader_is_local(s->leader) || !seal_needed(s))
		return;
	s->sealing = true;
	if (leader_run(s->leader, seal_body, s, seal_done, s) != 0)
		s->sealing = false;
}

/* A new leader seals whatever it finds, even what a seal here once found futile. */
static void audit_leader_change(void *state)
{
	struct audit_svc *s = state;

	s->futile_entries = UINT64_MAX;
}

/* ---- verifying, on this node ---- */

struct verify {
	struct verify *next;
	struct audit_svc *s;
	struct msg_ref ref;
	struct loop_alarm *alarm;
	struct audit_walk w;
	unsigned restarts;
};

static void verify_free(struct verify *v)
{
	struct verify **pp = &v->s->verifies;

	while (*pp != v)
		pp = &(*pp)->next;
	*pp = v->next;
	loop_alarm_free(v->alarm);
	free(v);
}

static void verify_reply(struct verify *v)
{
	Kefu__Envelope r = KEFU__ENVELOPE__INIT;
	Kefu__AuditVerifyReply rep = KEFU__AUDIT_VERIFY_REPLY__INIT;

	audit_walk_reply(&v->w, &rep);
	rep.node = v->s->self;
	r.body_case = KEFU__ENVELOPE__BODY_AUDIT_VERIFY_REPLY;
	r.audit_verify_reply = &rep;
	msg_ref_send(&v->ref, &r);
}

static void verify_start(struct verify *v)
{
	memset(&v->w, 0, sizeof(v->w));
	v->w.now_ms = loop_wall_ms();
	v->w.grace_ms = VERIFY_GRACE_MS;
	v->w.final = v->restarts >= VERIFY_RESTARTS;
}

/* One chunk per loop turn, each in a read transaction of its own. */
static void verify_step(void *arg)
{
	struct verify *v = arg;
	struct store_txn *t;
	int err;

	if (!msg_ref_peer(&v->ref)) {
		verify_free(v); /* nobody waits for the answer */
		return;
	}
	err = store_read_begin(v->s->sto->store, &t);
	if (err == 0) {
		err = audit_walk_step(t, &v->w, VERIFY_CHUNK);
		store_abort(t);
	}
	if (err) {
		msg_ref_error(&v->ref, err, "cannot read the audit log");
		verify_free(v);
		return;
	}
	if (v->w.restart) {
		if (++v->restarts > 2 * VERIFY_RESTARTS) {
			msg_ref_error(&v->ref, KF_ESTATE, "the audit chain kept changing while it "
				      "was walked; try again");
			verify_free(v);
			return;
		}
		verify_start(v);
	} else if (v->w.done) {
		verify_reply(v);
		verify_free(v);
		return;
	}
	loop_alarm_set(v->alarm, 0);
}

static void on_audit_verify(void *state, struct msg_peer *c, const Kefu__Envelope *e)
{
	struct audit_svc *s = state;
	struct verify *v = calloc(1, sizeof(*v));

	if (!v)
		abort();
	v->s = s;
	v->ref = msg_ref_of(c, e->request_id);
	v->alarm = loop_alarm_new(s->loop, verify_step, v);
	verify_start(v);
	v->next = s->verifies;
	s->verifies = v;
	loop_alarm_set(v->alarm, 0);
}

/* ---- the service ---- */

static int audit_init(const struct node_ctx *ctx, void **state)
{
	struct audit_svc *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	s->loop = ctx->loop;
	s->leader = ctx->leader;
	s->sto = ctx->sto;
	s->b = batch_new(SEAL_BATCH_CAP);
	s->futile_entries = UINT64_MAX;
	s->opts = (struct audit_seal_opts){SEAL_WINDOW_MS, SEAL_MAX, AUDIT_UNSEALED_UNKNOWN};
	snprintf(s->self, sizeof(s->self), "%s", ctx->self);
	*state = s;
	return 0;
}

/* A seal still on the writer thread frees the service when it completes. */
static void audit_stop(void *state)
{
	struct audit_svc *s = state;

	if (!s)
		return;
	while (s->verifies)
		verify_free(s->verifies);
	s->dead = true;
	if (!s->sealing) {
		batch_free(s->b);
		free(s);
	}
}

static const struct msg_row audit_rows[] = {
	{KEFU__ENVELOPE__BODY_AUDIT_VERIFY, "audit_verify", on_audit_verify, MSG_R_ADMIN, false,
	 MSG_SMALL},
};

static const struct component_timer audit_timers[] = {
	{SEAL_EVERY_MS, seal_tick},
};

const struct component audit_service = {
	.name = "audit",
	.init = audit_init,
	.stop = audit_stop,
	.msgs = audit_rows,
	.nmsgs = sizeof(audit_rows) / sizeof(audit_rows[0]),
	.timers = audit_timers,
	.ntimers = sizeof(audit_timers) / sizeof(audit_timers[0]),
	.on_leader_change = audit_leader_change,
};
