/*
 * Online backups, a service of the node (docs/appliance.md): an admin asks
 * any node for a copy of its replica; the node writes a compacted copy in a
 * read transaction of its own (storage/snapshot.h snapshot_create: writes
 * go on meanwhile) on a worker thread, beside its data directory, and
 * answers its size, SHA-256 and the log position inside it. The admin then
 * reads it in chunks (BackupRead) and says when it is done; a copy nobody
 * has read for BACKUP_IDLE_MS is removed. At most BACKUP_MAX copies at once.
 */
#include "node/backup.h"

#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "node/jobs.h"
#include "storage/snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BACKUP_MAX 2
#define BACKUP_IDLE_MS (10 * 60 * 1000ull)
#define BACKUP_READ_MAX (1u << 20)

struct copy {
	uint64_t id;                 /* 0: the slot is free */
	bool ready;                  /* made: reader open */
	uint64_t last_ms;
	char dir[SNAPSHOT_PATH_MAX];
	struct snapshot_info info;
	struct snapshot_reader *rd;
	/* the making, on a worker */
	struct backups *b;
	struct msg_ref ref;
	int err;
	uint64_t made_ms;
};

struct backups {
	struct repl_storage *sto;
	struct jobs *jobs;
	char self[64];
	char base[SNAPSHOT_PATH_MAX - 32]; /* "<data_dir>.backup" */
	struct copy copies[BACKUP_MAX];
	uint64_t next_id;
	unsigned running;
	bool stopped;
};

static void rm_copy_files(const char *dir)
{
	char p[SNAPSHOT_PATH_MAX + 16];

	snprintf(p, sizeof(p), "%s/%s", dir, SNAPSHOT_DATA_FILE);
	unlink(p);
	rmdir(dir);
}

static void copy_release(struct copy *c)
{
	snapshot_reader_free(c->rd);
	c->rd = NULL;
	if (c->dir[0])
		rm_copy_files(c->dir);
	memset(c, 0, sizeof(*c));
}

static void make_copy(void *arg)
{
	struct copy *c = arg;

	rm_copy_files(c->dir); /* a leftover of a node that died while copying */
	c->err = snapshot_create(c->b->sto->store, c->dir, &c->info);
	if (!c->err)
		c->err = snapshot_reader_open(c->info.path, &c->rd);
}

static void copy_made(void *arg)
{
	struct copy *c = arg;
	struct backups *b = c->b;
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__BackupReply rep = KEFU__BACKUP_REPLY__INIT;

	b->running--;
	if (b->stopped) {
		copy_release(c);
		if (b->running == 0)
			free(b);
		return;
	}
	if (c->err) {
		log_warn(LOG_STORE, "backup copy failed err=%s", kf_strerror(c->err));
		msg_ref_error(&c->ref, c->err, kf_strerror(c->err));
		copy_release(c);
		return;
	}
	c->ready = true;
	c->last_ms = loop_wall_ms();
	log_info(LOG_STORE, "backup copy made id=%llu bytes=%llu index=%llu",
		 (unsigned long long)c->id, (unsigned long long)c->info.size,
		 (unsigned long long)c->info.applied_index);
	rep.has_id = rep.has_size = rep.has_applied_index = rep.has_applied_epoch = 1;
	rep.has_made_ms = 1;
	rep.id = c->id;
	rep.size = c->info.size;
	rep.sha256 = c->info.sha256;
	rep.applied_index = c->info.applied_index;
	rep.applied_epoch = c->info.applied_epoch;
	rep.node = b->self;
	rep.made_ms = c->made_ms;
	out.body_case = KEFU__ENVELOPE__BODY_BACKUP_REPLY;
	out.backup_reply = &rep;
	msg_ref_send(&c->ref, &out);
}

/* Copies nobody read lately go. */
static void expire(struct backups *b)
{
	uint64_t now = loop_wall_ms();

	for (int i = 0; i < BACKUP_MAX; i++)
		if (b->copies[i].ready && now > b->copies[i].last_ms + BACKUP_IDLE_MS)
			copy_release(&b->copies[i]);
}

static void on_request(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct backups *b = state;
	struct copy *c = NULL;
	int err;

	expire(b);
	for (int i = 0; i < BACKUP_MAX && !c; i++)
		if (!b->copies[i].id)
			c = &b->copies[i];
	if (!c) {
		msg_error(p, e->request_id, KF_ESTATE, "two backups are being made or read on this "
			  "node already; try again later or ask another node");
		return;
	}
	c->id = ++b->next_id;
	c->b = b;
	c->ref = msg_ref_of(p, e->request_id);
	c->made_ms = loop_wall_ms();
	snprintf(c->dir, sizeof(c->dir), "%s/%llu", b->base, (unsigned long long)c->id);
	if ((err = jobs_spawn(b->jobs, make_copy, copy_made, c))) {
		msg_error(p, e->request_id, err, kf_strerror(err));
		memset(c, 0, sizeof(*c));
		return;
	}
	b->running++;
}

static void on_read(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct backups *b = state;
	const Kefu__BackupRead *rq = e->backup_read;
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__BackupData d = KEFU__BACKUP_DATA__INIT;
	struct copy *c = NULL;
	size_t len = rq->len ? rq->len : BACKUP_READ_MAX, n = 0;
	uint8_t *buf;
	int err;

	for (int i = 0; i < BACKUP_MAX && !c; i++)
		if (b->copies[i].ready && b->copies[i].id == rq->id)
			c = &b->copies[i];
	if (!c) {
		msg_error(p, e->request_id, KF_ENOTFOUND, "no such backup copy on this node (it "
			  "expires after ten idle minutes)");
		return;
	}
	if (rq->done) {
		copy_release(c);
		msg_ack(p, e->request_id, true, "backup copy removed");
		return;
	}
	if (len > BACKUP_READ_MAX) {
		msg_error(p, e->request_id, KF_ETOOBIG, "a read is at most 1 MiB");
		return;
	}
	buf = malloc(len);
	if (!buf)
		abort();
	err = snapshot_reader_read(c->rd, rq->offset, buf, len, &n);
	if (err) {
		msg_error(p, e->request_id, err, kf_strerror(err));
	} else {
		c->last_ms = loop_wall_ms();
		d.has_offset = d.has_data = 1;
		d.offset = rq->offset;
		d.data = (ProtobufCBinaryData){n, buf};
		out.body_case = KEFU__ENVELOPE__BODY_BACKUP_DATA;
		out.backup_data = &d;
		msg_send(p, &out, e->request_id);
	}
	free(buf);
}

static int backups_init(const struct node_ctx *ctx, void **state)
{
	struct backups *b;
	char old[SNAPSHOT_PATH_MAX];

	*state = NULL;
	if (!ctx->jobs || !ctx->sto)
		return 0;
	b = calloc(1, sizeof(*b));
	if (!b)
		abort();
	b->sto = ctx->sto;
	b->jobs = ctx->jobs;
	snprintf(b->self, sizeof(b->self), "%s", ctx->self);
	if (snprintf(b->base, sizeof(b->base), "%s.backup", ctx->data_dir) >= (int)sizeof(b->base)) {
		free(b);
		return KF_ETOOBIG;
	}
	/* Copies a node that stopped left behind are of no use: remove them. */
	for (unsigned i = 1; i <= 64; i++) {
		snprintf(old, sizeof(old), "%s/%u", b->base, i);
		rm_copy_files(old);
	}
	if (mkdir(b->base, 0700) != 0 && errno != EEXIST) {
		log_warn(LOG_STORE, "backup folder not made dir=%s", b->base);
		free(b);
		return -EIO;
	}
	*state = b;
	return 0;
}

static void backups_stop(void *state)
{
	struct backups *b = state;

	if (!b)
		return;
	for (int i = 0; i < BACKUP_MAX; i++)
		if (b->copies[i].ready)
			copy_release(&b->copies[i]);
	b->stopped = true;
	if (b->running == 0)
		free(b);
}

static const struct msg_row backup_rows[] = {
	{KEFU__ENVELOPE__BODY_BACKUP_REQUEST, "backup_request", on_request, MSG_R_ADMIN, false,
	 MSG_SMALL},
	{KEFU__ENVELOPE__BODY_BACKUP_READ, "backup_read", on_read, MSG_R_ADMIN, false, MSG_SMALL},
};

const struct component backup_service = {
	.name = "backup",
	.init = backups_init,
	.stop = backups_stop,
	.msgs = backup_rows,
	.nmsgs = sizeof(backup_rows) / sizeof(backup_rows[0]),
};
