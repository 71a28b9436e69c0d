/* Online imports of BOSS files. See upload.h. */
#include "node/upload.h"

#include "lib/err.h"
#include "lib/list.h"
#include "node/jobs.h"
#include "node/leader.h"
#include "storage/import.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHK_MAX 4096

/* A file on its way in (leader side): staged files, then a worker. */
struct staged {
	char name[BOSS_NAME_MAX + 1];
	char dat[4096 + 32 + BOSS_NAME_MAX], chk[4096 + 32 + BOSS_NAME_MAX];
	int fd;
	uint64_t size, got;
	struct msg_ref ref;          /* of ImportEnd */
	struct uploads *u;
	struct import_result res;
	int err;
};

/* One peer's import: what it stages here, or the link a follower forwards
 * it on (an upload is many messages, so it keeps one link to the leader). */
struct upload {
	struct upload *next;
	uint64_t peer;
	struct staged *st;
	bool running;                /* a worker has st: upload_done frees it */
	struct rpc *fwd;
};

struct uploads {
	struct leader *leader;
	struct jobs *jobs;
	struct repl_storage *sto;
	struct import_tally *tally;  /* the node's BOSS files by outcome; NULL: not counted */
	char self[META_NAME_MAX];
	char dir[4096 + 16];    /* "<data_dir>.import" */
	struct upload *list;
	unsigned running;            /* workers not done yet */
	bool stopped;                /* freed by the last worker's upload_done */
};

static struct upload *upload_of(struct uploads *u, uint64_t peer, bool make)
{
	struct upload *up;

	for (up = u->list; up; up = up->next)
		if (up->peer == peer)
			return up;
	if (!make)
		return NULL;
	up = calloc(1, sizeof(*up));
	if (!up)
		abort();
	up->peer = peer;
	up->next = u->list;
	u->list = up;
	return up;
}

static void staged_free(struct staged *st)
{
	if (st->fd >= 0)
		close(st->fd);
	unlink(st->dat); /* a held file stays nowhere: the client sends it again */
	unlink(st->chk);
	free(st);
}

/* The peer's staged file goes (a running worker keeps it until it is done). */
static void upload_drop(struct upload *up)
{
	if (up->st && !up->running)
		staged_free(up->st);
	up->st = NULL;
	up->running = false;
}

/* The staging directory: ours, a real directory (never a link to elsewhere). */
static int staging_dir(struct uploads *u)
{
	struct stat sb;

	if (mkdir(u->dir, 0750) != 0 && errno != EEXIST)
		return -errno;
	if (lstat(u->dir, &sb) != 0)
		return -errno;
	if (!S_ISDIR(sb.st_mode) || sb.st_uid != geteuid())
		return -ENOTDIR;
	return 0;
}

/* Files staged when the node stopped belong to uploads that are gone: their clients send again. */
static void staging_clear(struct uploads *u)
{
	DIR *d = opendir(u->dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_type == DT_REG || de->d_type == DT_LNK)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

/*
 * A staged file, created here and now: never one that exists (another
 * connection's upload of the same name) and never through a link.
 */
static int stage_open(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
}

/* Imports that reach a follower travel on a link of their own to the leader. */
static void forward_prepare(struct uploads *u, struct upload *up, struct msg_peer *p)
{
	if (leader_is_local(u->leader) || msg_peer_who(p)->role == TLS_ROLE_NODE)
		return;
	if (up->fwd && !rpc_failed(up->fwd))
		return;
	leader_close_link(u->leader, up->fwd);
	(void)leader_dial(u->leader, &up->fwd); /* NULL: forwarding answers "no leader" */
}

/* Stage the .chk and open the data file, into *out. Returns 0, or -errno
 * with *out NULL and *why a text for the peer. */
static int stage(struct uploads *u, const Kefu__ImportBegin *ib, struct staged **out,
		 const char **why)
{
	struct staged *st = calloc(1, sizeof(*st));
	int fd, err;

	*out = NULL;
	if (!st)
		abort();
	st->u = u;
	st->fd = -1;
	snprintf(st->name, sizeof(st->name), "%s", ib->name);
	snprintf(st->dat, sizeof(st->dat), "%s/%s", u->dir, ib->name);
	snprintf(st->chk, sizeof(st->chk), "%s/%.*s.chk", u->dir, (int)(strlen(ib->name) - 4),
		 ib->name);
	fd = stage_open(st->chk);
	if (fd < 0 && errno == EEXIST) {
		free(st);
		*why = "an import of this file is in progress on another connection";
		return -EEXIST;
	}
	if (fd < 0 || write(fd, ib->chk.data, ib->chk.len) != (ssize_t)ib->chk.len) {
		err = fd < 0 ? -errno : -EIO; /* a failed or short write */
		if (fd >= 0) {
			close(fd);
			unlink(st->chk);
		}
		free(st);
		*why = "cannot stage the .chk";
		return err;
	}
	close(fd);
	st->fd = stage_open(st->dat);
	if (st->fd < 0) {
		err = -errno;
		unlink(st->chk);
		free(st);
		*why = err == -EEXIST ? "an import of this file is in progress on another connection"
				      : "cannot stage the data file";
		return err;
	}
	st->size = ib->size;
	*out = st;
	return 0;
}

static void on_import_begin(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct uploads *u = state;
	const Kefu__ImportBegin *ib = e->import_begin;
	struct upload *up = upload_of(u, msg_peer_id(p), true);
	struct boss_name bn;
	const char *why;
	char msg[300], reason[200];
	bool ok;

	forward_prepare(u, up, p);
	if (!leader_is_local(u->leader)) {
		if (up->fwd)
			leader_forward(u->leader, p, e, up->fwd);
		else
			msg_error(p, e->request_id, KF_ESTATE, "no leader at the moment; retry");
		return;
	}
	if (up->st) {
		msg_ack(p, e->request_id, false, "an import is already in progress on this connection");
		return;
	}
	if (!ib->name || boss_parse_name(ib->name, strlen(ib->name), &bn, reason, sizeof(reason))) {
		snprintf(msg, sizeof(msg), "bad file name: %s", ib->name ? reason : "none given");
		msg_ack(p, e->request_id, false, msg);
		return;
	}
	if (!ib->has_chk || ib->chk.len == 0 || ib->chk.len > CHK_MAX || staging_dir(u)) {
		msg_ack(p, e->request_id, false, "missing or oversized .chk, or no staging space");
		return;
	}
	ok = stage(u, ib, &up->st, &why) == 0;
	msg_ack(p, e->request_id, ok, ok ? "send the data" : why);
}

/* The peer's upload when it is staged here; else forwarded (true) or refused. */
static struct staged *staged_of(struct uploads *u, struct msg_peer *p, const Kefu__Envelope *e,
				struct upload **upp)
{
	struct upload *up = upload_of(u, msg_peer_id(p), false);

	*upp = up;
	if (up && !up->st && up->fwd && !leader_is_local(u->leader)) {
		leader_forward(u->leader, p, e, up->fwd);
		return NULL;
	}
	if (!up || !up->st || up->running) {
		msg_ack(p, e->request_id, false, "no import in progress");
		return NULL;
	}
	return up->st;
}

static void on_import_chunk(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	const ProtobufCBinaryData *d = &e->import_chunk->data;
	struct upload *up;
	struct staged *st = staged_of(state, p, e, &up);

	if (!st)
		return;
	if (st->got + d->len > st->size || write(st->fd, d->data, d->len) != (ssize_t)d->len) {
		msg_ack(p, e->request_id, false, "more data than announced, or no disk space");
		upload_drop(up);
		return;
	}
	st->got += d->len;
	msg_ack(p, e->request_id, true, "ok");
}

static void record_result(void *arg, const struct import_result *r)
{
	struct staged *st = arg;

	if (st->u->tally)
		import_tally_add(st->u->tally, r);
	if (strcmp(r->name, st->name) == 0)
		st->res = *r;
}

/* On a worker thread (node/jobs.h): the file goes through the leader's log. */
static void upload_main(void *arg)
{
	struct staged *st = arg;
	struct uploads *u = st->u;
	char rej[4096 + 32], arc[4096 + 32];
	struct import_opts o;
	const char *paths[1] = {st->dat};

	snprintf(rej, sizeof(rej), "%s/rejected", u->dir);
	snprintf(arc, sizeof(arc), "%s/archive", u->dir);
	memset(&o, 0, sizeof(o));
	o.rejected_dir = rej;
	o.archive_dir = arc;
	o.origin = u->self;
	o.hooks = jobs_hooks(u->jobs);
	snprintf(st->res.name, sizeof(st->res.name), "%s", st->name);
	st->res.outcome = IMPORT_HELD;
	st->err = import_files(u->sto->store, &o, paths, 1, record_result, st, NULL);
}

static void send_result(struct staged *st)
{
	Kefu__Envelope r = KEFU__ENVELOPE__INIT;
	Kefu__ImportReply ir = KEFU__IMPORT_REPLY__INIT;

	if (st->err) {
		msg_ref_error(&st->ref, st->err, kf_strerror(st->err));
		return;
	}
	ir.outcome = (char *)import_outcome_name(st->res.outcome);
	ir.name = st->res.name;
	ir.has_records = ir.has_line = 1;
	ir.records = st->res.records;
	ir.line = st->res.line;
	ir.reason = st->res.reason;
	ir.field = st->res.field;
	r.body_case = KEFU__ENVELOPE__BODY_IMPORT_REPLY;
	r.import_reply = &ir;
	msg_ref_send(&st->ref, &r);
}

/* On the loop once the worker is done: answer the peer if it is still there. */
static void upload_done(void *arg)
{
	struct staged *st = arg;
	struct uploads *u = st->u;
	struct upload *up;

	u->running--;
	if (u->stopped) {
		/* Shutting down: the peers are gone with the server. */
		staged_free(st);
		if (u->running == 0)
			free(u);
		return;
	}
	up = upload_of(u, st->ref.peer, false);
	send_result(st);
	if (up && up->st == st) {
		up->st = NULL;
		up->running = false;
	}
	staged_free(st);
}

static void on_import_end(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct uploads *u = state;
	struct upload *up;
	struct staged *st = staged_of(u, p, e, &up);

	if (!st)
		return;
	close(st->fd);
	st->fd = -1;
	if (st->got != st->size) {
		msg_ack(p, e->request_id, false, "the data ended before the announced size");
		upload_drop(up);
		return;
	}
	if (!leader_is_local(u->leader)) {
		msg_error(p, e->request_id, KF_ESTATE, "leadership changed during the upload; retry");
		upload_drop(up);
		return;
	}
	st->ref = msg_ref_of(p, e->request_id);
	if (jobs_spawn(u->jobs, upload_main, upload_done, st) != 0) {
		msg_error(p, e->request_id, KF_EINTERNAL, "cannot start the import");
		upload_drop(up);
		return;
	}
	up->running = true;
	u->running++;
}

/* ---- the service ---- */

static void upload_free(struct uploads *u, struct upload *up)
{
	CHAIN_UNLINK(&u->list, up, next);
	if (up->running)
		up->st = NULL; /* the worker finishes on its own; upload_done frees it */
	upload_drop(up);
	leader_close_link(u->leader, up->fwd);
	free(up);
}

static void uploads_closed(void *state, struct msg_peer *p)
{
	struct uploads *u = state;
	struct upload *up = upload_of(u, msg_peer_id(p), false);

	if (up)
		upload_free(u, up);
}

static int uploads_init(const struct node_ctx *ctx, void **state)
{
	struct uploads *u = calloc(1, sizeof(*u));

	if (!u)
		abort();
	u->leader = ctx->leader;
	u->jobs = ctx->jobs;
	u->sto = ctx->sto;
	u->tally = ctx->boss_files;
	snprintf(u->self, sizeof(u->self), "%s", ctx->self);
	if (snprintf(u->dir, sizeof(u->dir), "%s.import", ctx->data_dir) >=
	    (int)sizeof(u->dir)) {
		free(u);
		return KF_ETOOBIG;
	}
	staging_clear(u);
	*state = u;
	return 0;
}

static void uploads_stop(void *state)
{
	struct uploads *u = state;

	if (!u)
		return;
	while (u->list)
		upload_free(u, u->list);
	u->stopped = true;
	if (u->running == 0)
		free(u);
}

static const struct msg_row upload_rows[] = {
	/* A follower forwards an admin's upload under its node certificate. */
	{KEFU__ENVELOPE__BODY_IMPORT_BEGIN, "import_begin", on_import_begin,
	 MSG_R_ADMIN | MSG_R_NODE, false, MSG_MEDIUM},
	{KEFU__ENVELOPE__BODY_IMPORT_CHUNK, "import_chunk", on_import_chunk,
	 MSG_R_ADMIN | MSG_R_NODE, false, 0},
	{KEFU__ENVELOPE__BODY_IMPORT_END, "import_end", on_import_end, MSG_R_ADMIN | MSG_R_NODE,
	 false, MSG_SMALL},
};

const struct component upload_service = {
	.name = "import",
	.init = uploads_init,
	.stop = uploads_stop,
	.msgs = upload_rows,
	.nmsgs = sizeof(upload_rows) / sizeof(upload_rows[0]),
	.on_connection_closed = uploads_closed,
};
