/* The work order's transition table and clocks. See model.h. */
#include "node/workflow/model.h"

#include "lib/err.h"
#include "lib/calendar.h"
#include "storage/accounts.h"
#include "storage/workorder.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OWNER WO_R_OWNER
#define HANDLER WO_R_HANDLER
#define SUPERVISOR WO_R_SUPERVISOR
#define ADMIN WO_R_ADMIN
#define AGENT WO_R_AGENT

static const char *const states[] = {
	"new", "dispatched", "accepted", "processing", "waiting", "replied",
	"visiting", "closed", "returned", "reopened", "escalated", "cancelled",
};

/*
 * The table. An action may have several rows (other roles from other
 * states); from is a list of states separated by blanks. to NULL: the state
 * stays (a note); "-": back to the state before waiting (resume).
 */
static const struct transition {
	const char *action, *from, *to;
	unsigned roles;
	bool note;               /* a note is required */
} table[] = {
	{"dispatch", "new returned reopened", "dispatched", OWNER | SUPERVISOR | ADMIN, false},
	{"dispatch", "escalated", "dispatched", SUPERVISOR | ADMIN, false},
	{"accept", "dispatched", "accepted", HANDLER | SUPERVISOR, false},
	{"start", "accepted", "processing", HANDLER | SUPERVISOR, false},
	{"wait", "dispatched accepted processing", "waiting", HANDLER | SUPERVISOR, false},
	{"resume", "waiting", "-", OWNER | HANDLER | SUPERVISOR | ADMIN, false},
	{"reply", "accepted processing", "replied", HANDLER | SUPERVISOR, true},
	{"return", "dispatched accepted processing", "returned", HANDLER | SUPERVISOR, true},
	{"close", "replied", "visiting", OWNER | SUPERVISOR | ADMIN, false},
	{"satisfied", "visiting", "closed", OWNER | AGENT | SUPERVISOR | ADMIN, false},
	{"unsatisfied", "visiting", "reopened", OWNER | AGENT | SUPERVISOR | ADMIN, true},
	{"reopen", "closed", "reopened", OWNER | SUPERVISOR | ADMIN, true},
	{"escalate", "new dispatched accepted processing returned reopened", "escalated",
	 OWNER | SUPERVISOR | ADMIN, true},
	{"cancel", "new dispatched returned", "cancelled", OWNER | SUPERVISOR | ADMIN, true},
	{"note", "new dispatched accepted processing waiting returned replied visiting reopened "
		 "escalated", NULL, OWNER | HANDLER | SUPERVISOR | ADMIN, true},
	{"reassign", "new dispatched accepted processing waiting returned replied visiting "
		     "reopened escalated", NULL, SUPERVISOR | ADMIN, true},
};
#define NTABLE (sizeof(table) / sizeof(table[0]))

static const struct {
	unsigned bit;
	const char *name;
} role_names[] = {
	{OWNER, "owner"}, {HANDLER, "handler"}, {SUPERVISOR, "supervisor"},
	{ADMIN, "admin"}, {WO_R_SYSTEM, "system"}, {AGENT, "agent"},
};
#define NROLES (sizeof(role_names) / sizeof(role_names[0]))

char *wo_strdup(const char *s)
{
	char *d;

	if (!s)
		return NULL;
	if (!(d = strdup(s)))
		abort();
	return d;
}

void wo_set(char **field, const char *v)
{
	char *copy = wo_strdup(v); /* v may be *field itself */

	free(*field);
	*field = copy;
}

/* word is one of the blank-separated words of list. */
static bool in_list(const char *list, const char *word)
{
	size_t n = word ? strlen(word) : 0;

	for (const char *p = list; n && p && *p;) {
		size_t len = strcspn(p, " ");

		if (len == n && memcmp(p, word, n) == 0)
			return true;
		p += len;
		p += strspn(p, " ");
	}
	return false;
}

bool wo_state_valid(const char *state)
{
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (wo_streq(states[i], state))
			return true;
	return false;
}

bool wo_action_valid(const char *action)
{
	for (size_t i = 0; i < NTABLE; i++)
		if (wo_streq(table[i].action, action))
			return true;
	return false;
}

static size_t roles_text(unsigned roles, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < NROLES; i++)
		if ((roles & role_names[i].bit) && n < cap)
			n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? ", " : "",
					      role_names[i].name);
	return n;
}

const char *wo_role_name(unsigned roles)
{
	for (size_t i = 0; i < NROLES; i++)
		if (roles & role_names[i].bit)
			return role_names[i].name;
	return "none";
}

unsigned wo_roles(const struct wo_actor *a, const Kefu__WorkOrder *o)
{
	unsigned r = 0;

	if (a->system)
		return WO_R_SYSTEM;
	if (a->admin)
		return ADMIN;
	if (!a->account || (a->account->has_enabled && !a->account->enabled))
		return 0;
	r |= AGENT;
	if (wo_streq(a->id, o->owner))
		r |= OWNER;
	if (wo_streq(a->account->role, "handler") && o->group && *o->group &&
	    accounts_in_group(a->account, o->group))
		r |= HANDLER;
	if (accounts_is_supervisor(a->account))
		r |= SUPERVISOR;
	return r;
}

/* ---- refusals that name the transition and the role ---- */

static int refuse_state(const Kefu__WorkOrder *o, const char *action, char *why, size_t cap)
{
	char can[512];
	size_t n = 0;

	can[0] = '\0';
	for (size_t i = 0; i < NTABLE; i++)
		if (in_list(table[i].from, o->state) && !strstr(can, table[i].action))
			n += (size_t)snprintf(can + n, sizeof(can) > n ? sizeof(can) - n : 0,
					      "%s%s", n ? ", " : "", table[i].action);
	kf_why(why, cap, "order %s: \"%s\" is not a transition from state %s (from %s: %s)",
	       o->id, action, o->state, o->state, n ? can : "none");
	return KF_ESTATE;
}

/* Who the actor is, in words: "a05 (agent, not the owner)". */
static void actor_text(const struct wo_actor *a, const Kefu__WorkOrder *o, char *out,
		       size_t cap)
{
	const Kefu__Agent *acc = a->account;
	char groups[256];
	size_t n = 0;

	if (a->admin || a->system || !acc) {
		snprintf(out, cap, "%s (%s)", a->id ? a->id : "?",
			 a->admin ? "admin" : a->system ? "system" : "no account");
		return;
	}
	groups[0] = '\0';
	for (size_t i = 0; i < acc->n_groups && n < sizeof(groups); i++)
		n += (size_t)snprintf(groups + n, sizeof(groups) - n, "%s%s", i ? "," : "",
				      acc->groups[i]);
	snprintf(out, cap, "%s (%s%s%s%s)", a->id, acc->role ? acc->role : "agent",
		 n ? " of groups " : "", groups,
		 wo_streq(a->id, o->owner) ? ", the owner" : ", not the owner");
}

static int refuse_role(const Kefu__WorkOrder *o, const struct transition *t,
		       const struct wo_actor *a, char *why, size_t cap)
{
	char who[400], need[160];

	actor_text(a, o, who, sizeof(who));
	roles_text(t->roles, need, sizeof(need));
	kf_why(why, cap,
	       "order %s: \"%s\" from %s is not allowed for %s; it needs %s (owner %s, group %s)",
	       o->id, t->action, o->state, who, need, o->owner ? o->owner : "-",
	       o->group && *o->group ? o->group : "-");
	return KF_ESTATE;
}

/* ---- steps ---- */

static Kefu__OrderStep *step_new(const char *action, const char *from, const char *to,
				 const char *by, const char *role, uint64_t at_ms,
				 const char *note, const char *group)
{
	Kefu__OrderStep *st = malloc(sizeof(*st));

	if (!st)
		abort();
	kefu__order_step__init(st);
	st->action = wo_strdup(action);
	st->from = wo_strdup(from);
	st->to = wo_strdup(to);
	st->by = wo_strdup(by);
	st->role = wo_strdup(role);
	st->has_at_ms = 1;
	st->at_ms = at_ms;
	st->note = note && *note ? wo_strdup(note) : NULL;
	st->group = group && *group ? wo_strdup(group) : NULL;
	return st;
}

static void step_push(Kefu__WorkOrder *o, Kefu__OrderStep *st)
{
	Kefu__OrderStep **h = realloc(o->history, (o->n_history + 1) * sizeof(*h));

	if (!h)
		abort();
	h[o->n_history++] = st;
	o->history = h;
}

/* The time of a new step: never before the last one (a new leader's clock
 * may be behind the old one's). */
static uint64_t step_time(const Kefu__WorkOrder *o, uint64_t now_ms)
{
	uint64_t last = o->n_history ? o->history[o->n_history - 1]->at_ms : o->created_ms;

	return now_ms > last ? now_ms : last;
}

Kefu__WorkOrder *wo_order_new(const Kefu__OrderCreate *rq, const char *id, const char *owner,
			      const struct wo_actor *actor, uint64_t now_ms)
{
	Kefu__WorkOrder *o = malloc(sizeof(*o));
	const char *role = actor->admin ? "admin" : wo_streq(actor->id, owner) ? "owner" : "agent";

	if (!o)
		abort();
	kefu__work_order__init(o);
	o->id = wo_strdup(id);
	o->msisdn = wo_strdup(rq->msisdn);
	o->channel = wo_strdup(rq->channel && *rq->channel ? rq->channel : "phone");
	o->kind = wo_strdup(rq->kind);
	o->first_kind = wo_strdup(rq->kind);
	o->category = wo_strdup(rq->category);
	o->urgency = wo_strdup(rq->urgency && *rq->urgency ? rq->urgency : "normal");
	o->description = wo_strdup(rq->description ? rq->description : "");
	o->owner = wo_strdup(owner);
	o->group = wo_strdup("");
	o->state = wo_strdup("new");
	o->call_id = rq->call_id && *rq->call_id ? wo_strdup(rq->call_id) : NULL;
	o->client_ref = rq->client_ref && *rq->client_ref ? wo_strdup(rq->client_ref) : NULL;
	o->has_created_ms = o->has_updated_ms = 1;
	o->created_ms = o->updated_ms = now_ms;
	if (rq->n_attachments) {
		o->has_attachments = 1;
		o->attachments = (uint32_t)rq->n_attachments;
	}
	step_push(o, step_new("create", "", "new", actor->id, role, now_ms, NULL, NULL));
	return o;
}

void wo_order_free(Kefu__WorkOrder *o)
{
	if (o)
		kefu__work_order__free_unpacked(o, NULL);
}

size_t wo_allowed(const struct wo_actor *actor, const Kefu__WorkOrder *o, const char **out,
		  size_t cap)
{
	unsigned roles = wo_roles(actor, o);
	size_t n = 0;

	for (size_t i = 0; i < NTABLE && n < cap; i++) {
		bool seen = false;

		if (!(table[i].roles & roles) || !in_list(table[i].from, o->state))
			continue;
		for (size_t k = 0; k < n && !seen; k++)
			seen = wo_streq(out[k], table[i].action);
		if (!seen)
			out[n++] = table[i].action;
	}
	return n;
}

static const struct transition *find_row(const char *action, const char *state, bool *known)
{
	*known = false;
	for (size_t i = 0; i < NTABLE; i++) {
		if (!wo_streq(table[i].action, action))
			continue;
		*known = true;
		if (in_list(table[i].from, state))
			return &table[i];
	}
	return NULL;
}

int wo_step(Kefu__WorkOrder *o, const struct wo_settings *s, const struct wo_step_in *in,
	    char *why, size_t cap)
{
	const struct transition *t;
	const char *to, *by_role;
	char note[WO_DESC_MAX + 200];
	unsigned roles;
	uint64_t at;
	bool known, reassign;

	t = find_row(in->action, o->state, &known);
	if (!known)
		return kf_refuse(why, cap, "order %s: \"%s\" is no action (the actions: dispatch, "
			 "accept, start, wait, resume, reply, return, close, satisfied, unsatisfied, "
			 "reopen, escalate, cancel, note, reassign)", o->id, in->action ? in->action : "");
	if (!t)
		return refuse_state(o, in->action, why, cap);
	roles = wo_roles(&in->actor, o) & t->roles;
	if (!roles)
		return refuse_role(o, t, &in->actor, why, cap);
	if (t->note && (!in->note || !*in->note))
		return kf_refuse(why, cap, "order %s: \"%s\" needs a note (--note): the reason",
				 o->id, t->action);
	if (in->note && strlen(in->note) > WO_DESC_MAX)
		return kf_refuse(why, cap, "order %s: the note is over %d bytes", o->id,
				 WO_DESC_MAX);
	if (o->n_history >= WO_HISTORY_MAX) {
		kf_why(why, cap, "order %s: its history is full (%d steps)", o->id, WO_HISTORY_MAX);
		return KF_ETOOBIG;
	}
	if (wo_streq(t->action, "dispatch") && (!in->group || !wo_group_valid(in->group)))
		return kf_refuse(why, cap, "order %s: dispatch needs a valid group", o->id);
	reassign = wo_streq(t->action, "reassign");
	if (reassign && (!in->owner || !*in->owner))
		return kf_refuse(why, cap, "order %s: reassign needs the new owner (--owner AGENT)",
				 o->id);
	if (reassign && wo_streq(o->owner, in->owner))
		return kf_refuse(why, cap, "order %s: %s owns it already", o->id, in->owner);
	by_role = wo_role_name(roles);
	at = step_time(o, in->now_ms);
	to = !t->to ? o->state : wo_streq(t->to, "-") ? (o->waiting_from ? o->waiting_from : "new")
						    : t->to;
	if (reassign)
		snprintf(note, sizeof(note), "from %s: %s", o->owner ? o->owner : "",
			 in->note ? in->note : "");
	else
		snprintf(note, sizeof(note), "%s", in->note ? in->note : "");
	if (wo_streq(t->action, "close") && !in->visit) {
		to = "closed";
		snprintf(note, sizeof(note), "%s%sno return visit: %s", in->note ? in->note : "",
			 in->note && *in->note ? "; " : "",
			 in->no_visit_why ? in->no_visit_why : "not scheduled");
	}
	step_push(o, step_new(t->action, o->state, to, in->actor.id, by_role, at, note,
			      wo_streq(t->action, "dispatch") ? in->group : NULL));
	if (reassign) {
		o->history[o->n_history - 1]->owner = wo_strdup(in->owner);
		wo_set(&o->owner, in->owner);
	}
	if (wo_streq(t->to, "waiting"))
		wo_set(&o->waiting_from, o->state);
	if (wo_streq(t->action, "dispatch"))
		wo_set(&o->group, in->group);
	if (wo_streq(t->action, "accept"))
		wo_set(&o->handler, in->actor.id);
	if (wo_streq(to, "visiting")) {
		o->has_visit_due_ms = 1;
		o->visit_due_ms = at + (uint64_t)s->visit_delay_ms;
	}
	if (wo_streq(t->action, "satisfied") || wo_streq(t->action, "unsatisfied"))
		wo_set(&o->satisfaction, t->action);
	if (wo_streq(to, "reopened")) {
		o->has_reopens = 1;
		o->reopens++;
	}
	if (!wo_streq(to, "visiting") && o->has_visit_due_ms) {
		o->has_visit_due_ms = 0;
		o->visit_due_ms = 0;
	}
	wo_set(&o->state, to);
	o->updated_ms = at;
	wo_clocks_set(o, s);
	return 0;
}

/* ---- clocks ---- */

static const char *const clock_names[WO_CLOCKS] = {"first_response", "update", "solution"};

/* One stretch of time a clock ran: [a, b), with `used` before it. */
struct seg {
	uint64_t a, len, used0;
};

struct replay {
	struct seg seg[WO_HISTORY_MAX + 1];
	size_t n;
	uint64_t cur;       /* the start of the stretch running now */
	uint64_t used;      /* open time of the closed stretches */
	uint64_t met;
	unsigned cycle;
	bool running, stopped;
};

static void seg_close(struct replay *r, const struct calendar *cal, uint64_t t)
{
	uint64_t len = calendar_open_between(cal, r->cur, t);

	if (r->n < sizeof(r->seg) / sizeof(r->seg[0]))
		r->seg[r->n++] = (struct seg){r->cur, len, r->used};
	r->used += len;
	r->running = false;
}

/* The step meets clock c: it is answered (first response), solved. */
static bool meets(enum wo_clock c, const Kefu__OrderStep *st)
{
	if (c == WO_FIRST_RESPONSE)
		return wo_streq(st->to, "accepted") || wo_streq(st->to, "processing") ||
		       wo_streq(st->to, "replied");
	return wo_streq(st->to, "replied");
}

static bool final_state(const char *s)
{
	return wo_streq(s, "closed") || wo_streq(s, "cancelled");
}

static void replay(const Kefu__WorkOrder *o, const struct calendar *cal, enum wo_clock c,
		   struct replay *r)
{
	memset(r, 0, sizeof(*r));
	r->cur = o->created_ms;
	r->running = true;
	for (size_t i = 1; i < o->n_history; i++) {
		const Kefu__OrderStep *st = o->history[i];
		uint64_t t = st->at_ms > r->cur ? st->at_ms : r->cur;

		if (wo_streq(st->to, "reopened") && c != WO_FIRST_RESPONSE) {
			/* a new period: the clock starts again from the reopen */
			unsigned cycle = r->cycle + 1;

			memset(r, 0, sizeof(*r));
			r->cycle = cycle;
			r->cur = t;
			r->running = true;
			continue;
		}
		if (r->met || r->stopped)
			continue;
		if (r->running && wo_streq(st->to, "waiting")) {
			seg_close(r, cal, t);
			continue;
		}
		if (!r->running && wo_streq(st->from, "waiting")) {
			r->cur = t;
			r->running = true;
		}
		if (meets(c, st)) {
			if (r->running)
				seg_close(r, cal, t);
			r->met = t;
			continue;
		}
		if (final_state(st->to)) {
			if (r->running)
				seg_close(r, cal, t);
			r->stopped = true;
			continue;
		}
		/* Any step of a person restarts the update clock. */
		if (c == WO_UPDATE && r->running && !wo_streq(st->role, "system")) {
			r->n = 0;
			r->used = 0;
			r->cur = t;
		}
	}
}

/* When the clock's used time reached x: in a stretch that ended, or in
 * the one running now; 0 when it has not and does not run. */
static uint64_t crossing(const struct replay *r, const struct calendar *cal, uint64_t x)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->seg[i].used0 < x && x <= r->seg[i].used0 + r->seg[i].len)
			return calendar_add(cal, r->seg[i].a, x - r->seg[i].used0);
	if (r->running && r->used < x)
		return calendar_add(cal, r->cur, x - r->used);
	return 0;
}

static bool fired(const Kefu__WorkOrder *o, const char *clock, unsigned cycle, uint32_t level)
{
	for (size_t i = 0; i < o->n_escalations; i++) {
		const Kefu__OrderEscalation *e = o->escalations[i];

		if (wo_streq(e->clock, clock) && e->cycle == cycle && e->level == level)
			return true;
	}
	return false;
}

void wo_clocks(const Kefu__WorkOrder *o, const struct wo_settings *s,
	       Kefu__OrderClock out[WO_CLOCKS])
{
	const struct calendar *cal = wo_calendar_of(s, o->group);
	int kind = wo_kind_by_name(o->kind);
	bool urgent = wo_streq(o->urgency, "urgent");
	uint64_t last = o->n_history ? o->history[o->n_history - 1]->at_ms : o->created_ms;
	struct replay *rp = malloc(sizeof(*rp)); /* 12 KiB: not on the stack */

	if (!rp)
		abort();
	for (int c = 0; c < WO_CLOCKS; c++) {
		Kefu__OrderClock *k = &out[c];
		uint64_t target = wo_target_ms(s, kind < 0 ? WO_COMPLAINT : (enum wo_kind)kind,
					       (enum wo_clock)c, urgent, o->vip_level);

		kefu__order_clock__init(k);
		replay(o, cal, (enum wo_clock)c, rp);
		k->name = (char *)clock_names[c];
		k->has_target_ms = k->has_due_ms = k->has_met_ms = k->has_paused = 1;
		k->has_used_ms = k->has_cycle = k->has_next_level = k->has_next_ms = 1;
		k->target_ms = target;
		k->met_ms = rp->met;
		k->cycle = rp->cycle;
		k->used_ms = rp->used + (rp->running ? calendar_open_between(cal, rp->cur, last) : 0);
		k->paused = !rp->met && !rp->stopped && !rp->running && wo_is_open(o);
		if (rp->met || rp->stopped || !wo_is_open(o))
			continue;
		if (rp->running)
			k->due_ms = crossing(rp, cal, target);
		for (size_t l = 0; l < s->nescalate; l++) {
			if (fired(o, clock_names[c], rp->cycle, s->escalate[l].percent))
				continue;
			k->next_level = s->escalate[l].percent;
			if (rp->running)
				k->next_ms = crossing(rp, cal, target * s->escalate[l].percent / 100);
			break;
		}
	}
	free(rp);
}

void wo_clocks_set(Kefu__WorkOrder *o, const struct wo_settings *s)
{
	Kefu__OrderClock now[WO_CLOCKS];

	wo_clocks(o, s, now);
	if (o->n_clocks != WO_CLOCKS) {
		for (size_t i = 0; i < o->n_clocks; i++)
			kefu__order_clock__free_unpacked(o->clocks[i], NULL);
		free(o->clocks);
		o->clocks = calloc(WO_CLOCKS, sizeof(*o->clocks));
		if (!o->clocks)
			abort();
		o->n_clocks = WO_CLOCKS;
		for (int c = 0; c < WO_CLOCKS; c++) {
			o->clocks[c] = malloc(sizeof(Kefu__OrderClock));
			if (!o->clocks[c])
				abort();
			kefu__order_clock__init(o->clocks[c]);
		}
	}
	for (int c = 0; c < WO_CLOCKS; c++) {
		char *name = o->clocks[c]->name;

		if (!wo_streq(name, now[c].name)) {
			free(name);
			name = wo_strdup(now[c].name);
		}
		*o->clocks[c] = now[c];
		o->clocks[c]->name = name;
	}
}

bool wo_clocks_equal(const Kefu__OrderClock *a, const Kefu__OrderClock *b, char *why, size_t cap)
{
	static const struct {
		const char *name;
		size_t off;
	} f[] = {
		{"due_ms", offsetof(Kefu__OrderClock, due_ms)},
		{"met_ms", offsetof(Kefu__OrderClock, met_ms)},
		{"next_ms", offsetof(Kefu__OrderClock, next_ms)},
		{"target_ms", offsetof(Kefu__OrderClock, target_ms)},
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		uint64_t x = *(const uint64_t *)((const char *)a + f[i].off);
		uint64_t y = *(const uint64_t *)((const char *)b + f[i].off);

		if (x != y) {
			kf_why(why, cap, "%s %s: stored %llu, computed %llu", a->name ? a->name : "?",
			       f[i].name, (unsigned long long)x, (unsigned long long)y);
			return false;
		}
	}
	if (a->paused != b->paused || a->next_level != b->next_level || a->cycle != b->cycle) {
		kf_why(why, cap, "%s: stored paused=%d level=%u cycle=%u, computed paused=%d "
		       "level=%u cycle=%u", a->name ? a->name : "?", a->paused, a->next_level,
		       a->cycle, b->paused, b->next_level, b->cycle);
		return false;
	}
	return true;
}

int wo_escalate(Kefu__WorkOrder *o, const struct wo_settings *s, const char *clock,
		uint64_t now_ms, const char *node, const Kefu__OrderEscalation **fired_out)
{
	Kefu__OrderClock now[WO_CLOCKS];
	Kefu__OrderEscalation *e, **v;
	const struct wo_level *lv = NULL;
	char note[160];
	int c = wo_clock_by_name(clock);
	uint64_t at = step_time(o, now_ms);

	*fired_out = NULL;
	wo_clocks(o, s, now);
	if (c < 0 || !wo_is_open(o) || !now[c].next_level || !now[c].next_ms ||
	    now[c].next_ms > now_ms) {
		wo_clocks_set(o, s); /* the index is refreshed from the record */
		return 0;
	}
	for (size_t l = 0; l < s->nescalate; l++)
		if (s->escalate[l].percent == now[c].next_level)
			lv = &s->escalate[l];
	if (!lv)
		return 0;
	e = malloc(sizeof(*e));
	if (!e)
		abort();
	kefu__order_escalation__init(e);
	e->clock = wo_strdup(clock_names[c]);
	e->has_level = e->has_at_ms = e->has_due_ms = e->has_cycle = 1;
	e->level = lv->percent;
	e->action = wo_strdup(wo_action_name(lv->action));
	e->at_ms = at;
	e->due_ms = now[c].next_ms;
	e->cycle = now[c].cycle;
	e->id = wo_strdup(o->id);
	e->node = wo_strdup(node);
	v = realloc(o->escalations, (o->n_escalations + 1) * sizeof(*v));
	if (!v)
		abort();
	v[o->n_escalations++] = e;
	o->escalations = v;
	snprintf(note, sizeof(note), "%s %u%%: %s", clock_names[c], lv->percent, e->action);
	if (lv->action == WO_ACTION_UPGRADE && wo_streq(o->kind, "complaint")) {
		wo_set(&o->kind, "escalated");
		snprintf(note + strlen(note), sizeof(note) - strlen(note),
			 "; the complaint is now an escalated complaint");
	}
	/* A full history keeps the escalation without its step. */
	if (o->n_history < WO_HISTORY_MAX + 64)
		step_push(o, step_new(lv->action == WO_ACTION_UPGRADE ? "upgrade" : "escalate",
				      o->state, o->state, "system", "system", at, note, NULL));
	o->updated_ms = at;
	wo_clocks_set(o, s);
	*fired_out = e;
	return 0;
}
