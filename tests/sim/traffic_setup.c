/*
 * Before `kefu-sim traffic` plays calls: the BOSS files imported through
 * kefuctl, and the agents' accounts written through a node with the admin
 * certificate. See traffic.h.
 */
#include "tests/sim/traffic.h"

#include "cluster/rpc.h"
#include "lib/err.h"
#include "lib/password.h"
#include "storage/boss.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ACCOUNTS_TIMEOUT_MS 60000
#define ACCOUNT_CALL_MS 15000
#define ACCOUNTS_WINDOW 16       /* writes in flight at once */
#define TAG_SKILLS 0x5c111

void traffic_agent_id(const struct traffic *t, size_t i, char *out, size_t cap)
{
	snprintf(out, cap, "%s%03zu", t->o.prefix, i + 1);
}

void traffic_agent_skills(const struct traffic *t, size_t i, char *out, size_t cap)
{
	struct accounts_skills sk = t->profile[i % t->nprofiles];
	struct rng r;

	rng_init(&r, t->o.seed, TAG_SKILLS, i);
	for (size_t k = 0; k < sk.n; k++) {
		int64_t level = (int64_t)sk.v[k].level + rng_range(&r, -1, 1);

		sk.v[k].level = (unsigned)(level < ACCOUNTS_LEVEL_MIN ? ACCOUNTS_LEVEL_MIN
					   : level > ACCOUNTS_LEVEL_MAX ? ACCOUNTS_LEVEL_MAX : level);
	}
	if (accounts_skills_format(&sk, out, cap) < 0 && cap)
		out[0] = '\0';
}

/* The kefuctl next to this program, or in $KEFU_BIN. */
static void kefuctl_path(char *out, size_t cap)
{
	const char *bin = getenv("KEFU_BIN");
	char self[PATH_MAX];
	ssize_t n;

	if (bin && *bin) {
		snprintf(out, cap, "%s/kefuctl", bin);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if (strrchr(self, '/'))
			*strrchr(self, '/') = '\0';
		snprintf(out, cap, "%s/kefuctl", self);
		return;
	}
	snprintf(out, cap, "kefuctl");
}

int traffic_setup_import(struct traffic *t)
{
	char ctl[PATH_MAX + 16], **paths = NULL, **argv;
	size_t n = 0, k = 0;
	int r, status = 0;
	pid_t pid;

	if ((r = traffic_book_files(t->o.boss, ~0u, &paths, &n)) != 0 || n == 0) {
		fprintf(stderr, "kefu-sim traffic: %s: %s\n", t->o.boss,
			r ? kf_strerror(r) : "no BOSS files");
		free(paths);
		return -1;
	}
	kefuctl_path(ctl, sizeof(ctl));
	argv = calloc(n + 5, sizeof(char *));
	if (!argv)
		abort();
	argv[k++] = ctl;
	argv[k++] = "--cluster";
	argv[k++] = (char *)t->o.cluster;
	argv[k++] = "import";
	for (size_t i = 0; i < n; i++)
		argv[k++] = paths[i];
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(STDERR_FILENO, STDOUT_FILENO); /* our stdout is for the summary */
		execv(ctl, argv);
		fprintf(stderr, "kefu-sim traffic: %s: %s\n", ctl, strerror(errno));
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	free(argv);
	/* Exit 1 is a file rejected: say so, and go on with what was applied. */
	if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) > 1) {
		fprintf(stderr, "kefu-sim traffic: the import through %s failed\n", ctl);
		return -1;
	}
	if (WEXITSTATUS(status) == 1)
		fprintf(stderr, "kefu-sim traffic: the cluster rejected a BOSS file (see above)\n");
	return 0;
}

/* ---- agent accounts ---- */

enum acct_step { ACCT_ADD, ACCT_PASSWD, ACCT_UPDATE, ACCT_DONE };

struct acct {
	struct accounts_run *run;
	size_t i;
	enum acct_step step;
	bool inflight;
	char id[40], name[40], skills[TRAFFIC_SKILLS_MAX];
};

struct accounts_run {
	struct traffic *t;
	struct acct *a;
	size_t n, done, next, inflight, cur;
	struct rpc *rpc;
	struct loop_timer *tick;
	struct loop_alarm *deadline;
	uint64_t redial_ms;
	bool failed;
};

static void acct_send(struct acct *a);

static void on_acct_reply(void *arg, int err, const Kefu__Envelope *e)
{
	struct acct *a = arg;
	struct accounts_run *run = a->run;
	const char *msg = "";

	a->inflight = false;
	run->inflight--;
	if (err) {
		return; /* resent on the next tick */
		return;
	}
	if (e->body_case == KEFU__ENVELOPE__BODY_ADMIN_REPLY && e->admin_reply->ok) {
		a->step = a->step == ACCT_ADD ? ACCT_DONE : a->step + 1;
	} else {
		if (e->body_case == KEFU__ENVELOPE__BODY_ADMIN_REPLY && e->admin_reply->message)
			msg = e->admin_reply->message;
		else if (e->body_case == KEFU__ENVELOPE__BODY_ERROR && e->error->message)
			msg = e->error->message;
		if (a->step == ACCT_ADD && strstr(msg, "exist")) {
			a->step = ACCT_PASSWD;
		} else if (a->step == ACCT_PASSWD && strstr(msg, "one of the last")) {
			a->step = ACCT_UPDATE; /* it has the simulation's password already */
		} else if (strstr(msg, "leader") || strstr(msg, "busy")) {
			return; /* no leader just now, or its pool full: tried again on the next tick */
		} else {
			fprintf(stderr, "kefu-sim traffic: agent %s: refused: %s\n", a->id, msg);
			run->failed = true;
			a->step = ACCT_DONE;
		}
	}
	if (a->step == ACCT_DONE) {
		if (++run->done == run->n)
			loop_stop(run->t->loop);
	} else {
		acct_send(a);
	}
}

static void acct_send(struct acct *a)
{
	struct accounts_run *run = a->run;
	Kefu__Envelope env = KEFU__ENVELOPE__INIT;
	Kefu__AgentWriteRequest wr = KEFU__AGENT_WRITE_REQUEST__INIT;
	Kefu__Agent ag = KEFU__AGENT__INIT;
	static const Kefu__AgentWriteRequest__Op ops[] = {
		[ACCT_ADD] = KEFU__AGENT_WRITE_REQUEST__OP__ADD,
		[ACCT_PASSWD] = KEFU__AGENT_WRITE_REQUEST__OP__PASSWD,
		[ACCT_UPDATE] = KEFU__AGENT_WRITE_REQUEST__OP__UPDATE,
	};

	if (a->inflight || a->step == ACCT_DONE || !run->rpc || !rpc_is_up(run->rpc))
		return;
	ag.id = a->id;
	if (a->step != ACCT_PASSWD) {
		ag.name = a->name;
		ag.skills = a->skills;
		ag.has_order = 1;
		ag.order = (uint32_t)a->i + 1;
		ag.role = "agent";
		ag.has_enabled = 1;
		ag.enabled = 1;
	}
	if (a->step != ACCT_UPDATE) /* the node checks and hashes it */
		wr.password = (char *)TRAFFIC_AGENT_PASSWORD;
	wr.has_op = 1;
	wr.op = ops[a->step];
	wr.agent = &ag;
	env.body_case = KEFU__ENVELOPE__BODY_AGENT_WRITE;
	env.agent_write = &wr;
	if (rpc_call(run->rpc, &env, ACCOUNT_CALL_MS, on_acct_reply, a) == 0) {
		a->inflight = true;
		run->inflight++;
	}
}

static void on_acct_state(void *arg, int err, const char *detail)
{
	struct accounts_run *run = arg;

	(void)detail;
	if (err) {
		run->cur = (run->cur + 1) % run->t->nnodes;
		run->redial_ms = loop_now_ms() + 200;
	}
}

/* Every 50 ms: keep a connection to some node and the window full. */
static void on_acct_tick(void *arg)
{
	struct accounts_run *run = arg;
	struct rpc_opts ro = {.loop = run->t->loop, .addr = run->t->nodes[run->cur],
			      .tls = run->t->tls_admin, .state = on_acct_state, .arg = run};

	if ((!run->rpc || rpc_failed(run->rpc)) && loop_now_ms() >= run->redial_ms) {
		rpc_free(run->rpc);
		if (rpc_new(&ro, &run->rpc) != 0) {
			run->cur = (run->cur + 1) % run->t->nnodes;
			run->redial_ms = loop_now_ms() + 200;
		}
	}
	for (size_t i = 0; i < run->n && run->inflight < ACCOUNTS_WINDOW; i++)
		acct_send(&run->a[i]);
}

static void on_acct_deadline(void *arg)
{
	struct accounts_run *run = arg;

	run->failed = true;
	loop_stop(run->t->loop);
}

int traffic_setup_accounts(struct traffic *t)
{
	struct accounts_run run = {.t = t, .n = t->o.agents};
	int r;

	run.a = calloc(run.n, sizeof(*run.a));
	if (!run.a)
		abort();
	for (size_t i = 0; i < run.n; i++) {
		struct acct *a = &run.a[i];

		a->run = &run;
		a->i = i;
		traffic_agent_id(t, i, a->id, sizeof(a->id));
		snprintf(a->name, sizeof(a->name), "Sim Agent %03zu", i + 1);
		traffic_agent_skills(t, i, a->skills, sizeof(a->skills));
	}
	run.tick = loop_timer_new(t->loop, 50, on_acct_tick, &run);
	run.deadline = loop_alarm_new(t->loop, on_acct_deadline, &run);
	loop_alarm_set(run.deadline, ACCOUNTS_TIMEOUT_MS);
	on_acct_tick(&run);
	r = loop_run(t->loop);
	loop_timer_free(run.tick);
	loop_alarm_free(run.deadline);
	rpc_free(run.rpc);
	loop_run(t->loop); /* let the connection go */
	if (r || run.failed || run.done < run.n) {
		fprintf(stderr, "kefu-sim traffic: agent accounts: %zu of %zu written%s\n", run.done,
			run.n, run.failed ? " (refused or timed out)" : "");
		free(run.a);
		return -1;
	}
	free(run.a);
	return 0;
}
