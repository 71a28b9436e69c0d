/* The BOSS batch-file importer. See import.h for the rules it enforces. */
#include "storage/import.h"

#include "lib/digest.h"
#include "lib/err.h"
#include "lib/log.h"
#include "storage/batch.h"
#include "storage/bossrec.h"
#include "storage/bulk.h"
#include "storage/custdb.h"
#include "storage/keys.h"
#include "storage/overlay.h"

#include "proto/kefu.pb-c.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHK_MAX 4096
#define READ_CHUNK (1u << 20)

static const char *const outcome_names[] = {
#define IMPORT_OUTCOME_NAME_(e, s) [e] = s,
	IMPORT_OUTCOMES(IMPORT_OUTCOME_NAME_)
#undef IMPORT_OUTCOME_NAME_
};

const char *import_outcome_name(enum import_outcome o)
{
	return (unsigned)o < IMPORT_OUTCOME_COUNT ? outcome_names[o] : "?";
}

char *import_format(const struct import_result *r, char *out, size_t cap)
{
	snprintf(out, cap, "%s %s %llu%s%s", import_outcome_name(r->outcome), r->name,
		 (unsigned long long)r->records, r->reason[0] ? " " : "", r->reason);
	return out;
}

void import_tally_add(struct import_tally *t, const struct import_result *r)
{
	struct boss_name bn;
	size_t kind = BOSS_KIND_COUNT;

	if ((unsigned)r->outcome >= IMPORT_OUTCOME_COUNT)
		return;
	if (boss_parse_name(r->name, strlen(r->name), &bn, NULL, 0) == 0)
		kind = bn.kind;
	__atomic_fetch_add(&t->n[r->outcome][kind], 1, __ATOMIC_RELAXED);
}

uint64_t import_tally_get(const struct import_tally *t, enum import_outcome o, size_t kind)
{
	if ((unsigned)o >= IMPORT_OUTCOME_COUNT || kind > BOSS_KIND_COUNT)
		return 0;
	return __atomic_load_n(&t->n[o][kind], __ATOMIC_RELAXED);
}

/* One file on its way through the importer. */
struct entry {
	char *path;            /* as given */
	const char *base;      /* base name inside path */
	struct boss_name bn;
	bool named;            /* bn is valid */
	bool done;
	bool dup;              /* the same path given again: reported, never moved */
	struct boss_chk chk;
	struct import_result res;
};

static int set_result(struct entry *e, enum import_outcome o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_result(struct entry *e, enum import_outcome o, const char *fmt, ...)
{
	va_list ap;

	e->res.outcome = o;
	va_start(ap, fmt);
	vsnprintf(e->res.reason, sizeof(e->res.reason), fmt, ap);
	va_end(ap);
	return 0;
}

static void seq_key(struct key *k, const char *prov, enum boss_kind kind)
{
	key_init(k);
	key_add_str(k, prov);
	key_add_str(k, boss_kind_name(kind));
}

static int seq_last(struct store_txn *t, const char *prov, enum boss_kind kind, uint32_t *last)
{
	struct store_val v;
	struct key k;
	Kefu__BossSeq *bs;
	int r;

	*last = 0;
	seq_key(&k, prov, kind);
	r = store_get(t, STORE_BOSS_SEQ, k.b, k.len, &v);
	if (r == KF_ENOTFOUND)
		return 0;
	if (r)
		return r;
	bs = kefu__boss_seq__unpack(NULL, v.len, v.data);
	if (!bs)
		return KF_ECORRUPT;
	*last = bs->last_seq;
	kefu__boss_seq__free_unpacked(bs, NULL);
	return 0;
}

/* Ops that record a processed file and move its stream's SEQ on. */
static int record_file_ops(struct batch *b, const char *name, const char *sha, uint64_t records,
			   uint64_t bytes, const char *prov, enum boss_kind kind, uint32_t seq,
			   const char *note, int64_t now)
{
	Kefu__BossFile bf = KEFU__BOSS_FILE__INIT;
	Kefu__BossSeq bs = KEFU__BOSS_SEQ__INIT;
	uint8_t buf[1024];
	struct key k;
	size_t n;
	int r;

	bf.name = (char *)name;
	bf.sha256 = (char *)sha;
	bf.has_records = bf.has_bytes = bf.has_seq = bf.has_applied_at = 1;
	bf.records = records;
	bf.bytes = bytes;
	bf.prov = (char *)prov;
	bf.kind = (char *)boss_kind_name(kind);
	bf.seq = seq;
	bf.applied_at = now;
	bf.has_skipped = note != NULL;
	bf.skipped = note != NULL;
	bf.note = (char *)note;
	n = kefu__boss_file__get_packed_size(&bf);
	if (n > sizeof(buf))
		return KF_ETOOBIG;
	kefu__boss_file__pack(&bf, buf);
	key_init(&k);
	key_add_str(&k, name);
	if ((r = batch_put(b, STORE_BOSS_FILE, k.b, k.len, buf, n)))
		return r;
	bs.has_last_seq = 1;
	bs.last_seq = seq;
	n = kefu__boss_seq__pack(&bs, buf);
	seq_key(&k, prov, kind);
	return batch_put(b, STORE_BOSS_SEQ, k.b, k.len, buf, n);
}

/*
 * The checks that decide skip / held / rejected before any data is read:
 * the name seen before, and the SEQ. Returns 1 when e got its outcome,
 * 0 when the file is next in its stream, or a storage error.
 */
static int precheck(struct store_txn *t, struct entry *e)
{
	struct store_val v;
	struct key k;
	uint32_t last;
	int r;

	key_init(&k);
	key_add_str(&k, e->base);
	r = store_get(t, STORE_BOSS_FILE, k.b, k.len, &v);
	if (r == 0) {
		Kefu__BossFile *bf = kefu__boss_file__unpack(NULL, v.len, v.data);

		if (!bf)
			return KF_ECORRUPT;
		if (bf->sha256 && strcmp(bf->sha256, e->chk.sha256) == 0)
			set_result(e, IMPORT_SKIPPED, "already applied");
		else
			set_result(e, IMPORT_REJECTED,
				   "file name already applied with another sha256 (%.16s...)",
				   bf->sha256 ? bf->sha256 : "");
		kefu__boss_file__free_unpacked(bf, NULL);
		return 1;
	}
	if (r != KF_ENOTFOUND)
		return r;
	if ((r = seq_last(t, e->bn.prov, e->bn.kind, &last)))
		return r;
	if (e->bn.seq <= last) {
		set_result(e, IMPORT_REJECTED, "SEQ %06u of %s %s already used (last %06u)", e->bn.seq,
			   e->bn.prov, boss_kind_name(e->bn.kind), last);
		return 1;
	}
	if (e->bn.seq > last + 1) {
		set_result(e, IMPORT_HELD, "waiting for SEQ %06u of %s %s", last + 1, e->bn.prov,
			   boss_kind_name(e->bn.kind));
		return 1;
	}
	return 0;
}

static int read_all(const char *path, char *buf, size_t cap, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	size_t got = 0;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf + got, cap - got)) > 0) {
		got += (size_t)n;
		if (got == cap)
			break;
	}
	if (n < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	*len = got;
	return got == cap ? KF_ETOOBIG : 0;
}

static void chk_path(const struct entry *e, char *out, size_t cap)
{
	size_t n = strlen(e->path);

	snprintf(out, cap, "%.*s.chk", (int)(n - 4), e->path);
}

/* Read and parse the .chk. Returns 1 when e got an outcome, 0 to go on. */
static int load_chk(struct entry *e)
{
	char path[4096], buf[CHK_MAX], why[200];
	size_t len;
	int r;

	chk_path(e, path, sizeof(path));
	r = read_all(path, buf, sizeof(buf), &len);
	if (r == -ENOENT)
		return set_result(e, IMPORT_HELD, "no .chk yet (still being written)") + 1;
	if (r == KF_ETOOBIG)
		return set_result(e, IMPORT_REJECTED, "check file is over %d bytes", CHK_MAX) + 1;
	if (r)
		return set_result(e, IMPORT_REJECTED, "check file: %s", kf_strerror(r)) + 1;
	/* BOSS writes the .chk last, and a scan may catch it created but not yet
	 * written: an empty one is still on its way, like a missing one. */
	if (len == 0)
		return set_result(e, IMPORT_HELD, "empty .chk (still being written)") + 1;
	if (boss_parse_chk(buf, len, &e->chk, why, sizeof(why)))
		return set_result(e, IMPORT_REJECTED, "check file: %s", why) + 1;
	e->res.records = e->chk.records;
	if (strcmp(e->chk.name, e->base) != 0)
		return set_result(e, IMPORT_REJECTED, "check file names another file: %s",
				  e->chk.name) + 1;
	return 0;
}

/* Streams the data file and compares count, bytes and SHA-256 with the .chk.
 * Returns 1 when e got an outcome (rejected), 0 when it matches. */
static int verify(struct entry *e)
{
	char hex[DIGEST_SHA256_HEX + 1];
	struct digest *d;
	uint64_t bytes = 0, lines = 0;
	char *buf;
	bool last_nl = true;
	ssize_t n;
	int fd = open(e->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return set_result(e, IMPORT_REJECTED, "cannot read: %s", strerror(errno)) + 1;
	buf = malloc(READ_CHUNK);
	if (!buf)
		abort();
	d = digest_sha256_new();
	while ((n = read(fd, buf, READ_CHUNK)) > 0) {
		const char *p = buf, *end = buf + n;

		digest_update(d, buf, (size_t)n);
		bytes += (uint64_t)n;
		while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			lines++;
			p++;
		}
		last_nl = buf[n - 1] == '\n';
	}
	close(fd);
	free(buf);
	digest_final_hex(d, hex);
	digest_free(d);
	if (n < 0)
		return set_result(e, IMPORT_REJECTED, "cannot read: %s", strerror(errno)) + 1;
	if (!last_nl)
		lines++; /* a last record without its "\n" still counts */
	if (bytes != e->chk.bytes)
		return set_result(e, IMPORT_REJECTED, "check file says %llu bytes, file has %llu",
				  (unsigned long long)e->chk.bytes, (unsigned long long)bytes) + 1;
	if (lines != e->chk.records)
		return set_result(e, IMPORT_REJECTED,
				  "check file says %llu records, file has %llu",
				  (unsigned long long)e->chk.records, (unsigned long long)lines) + 1;
	if (strcmp(hex, e->chk.sha256) != 0)
		return set_result(e, IMPORT_REJECTED, "sha256 differs from the check file") + 1;
	return 0;
}

/*
 * Records are checked and applied a chunk at a time (at most CHUNK_RECORDS
 * records or chunk_bytes of values): parsed first, then every key the chunk
 * will read is fetched in key order, then the records are checked in file
 * order against an overlay that shows the chunk's earlier records, and the
 * chunk's ops are applied sorted by key (overlay.h). The outcome is the one
 * of applying each record on its own, in order, only with neighbouring keys
 * read and written together instead of one random page after another.
 */
#define CHUNK_RECORDS 32768
/* Keys the overlay holds per record of a chunk: a USER A reads three and
 * writes one more; a chunk that needs more flushes early. */
#define CHUNK_KEYS_PER_RECORD 5

/* One parsed record of a chunk, its values kept in the chunk's text. */
struct chunk_rec {
	uint64_t line;
	size_t at;                          /* values, each ended by NUL, in order */
	uint16_t len[BOSSREC_MAX_FIELDS];
	int64_t num[BOSSREC_MAX_FIELDS];
	char op;
};

/* The first bad line found while parsing ahead; it is reported only when
 * every record before it has been checked. */
struct line_error {
	uint64_t line;              /* 0: none */
	int field;
	char reason[320];
};

/* State of one apply attempt (store_write may run the body more than once). */
struct apply_job {
	struct entry *e;
	const struct import_opts *o;
	struct batch *b;
	struct overlay *ov;
	struct store_view view;
	struct bossrec rec;         /* the record being parsed or checked */
	struct bossrec_error perr;
	struct custdb_reject rj;
	struct chunk_rec *recs;     /* CHUNK_RECORDS */
	size_t nrecs;
	char *text;                 /* chunk_bytes + one record */
	size_t text_used;
	struct line_error bad;
	uint64_t applied;
	int64_t now;
	const char *tmp_dir;        /* the bulk load's spill files */
	bool declined;              /* the bulk load sent the file the exact way */
	char why[200];              /* and why */
};

static int reject_line(struct apply_job *j, uint64_t line, int field, const char *reason)
{
	struct entry *e = j->e;
	unsigned n;
	const struct bossrec_field *sc = bossrec_schema(e->bn.kind, &n);

	e->res.line = line;
	e->res.field[0] = '\0';
	if (field >= 0 && (unsigned)field < n)
		snprintf(e->res.field, sizeof(e->res.field), "%s", sc[field].name);
	set_result(e, IMPORT_REJECTED, "line %llu: %s", (unsigned long long)line, reason);
	return KF_EPARSE;
}

/* Keep a bad line for later; the chunk stops growing (returns 1). */
static int line_bad(struct apply_job *j, uint64_t line, int field, const char *reason)
{
	j->bad.line = line;
	j->bad.field = field;
	snprintf(j->bad.reason, sizeof(j->bad.reason), "%s", reason);
	return 1;
}

/* chunk_get - rebuild record i of the chunk into j->rec. */
static const struct bossrec *chunk_get(struct apply_job *j, size_t i)
{
	const struct chunk_rec *cr = &j->recs[i];
	const char *p = j->text + cr->at;

	j->rec.kind = j->e->bn.kind;
	j->rec.op = cr->op;
	bossrec_schema(j->rec.kind, &j->rec.nfields);
	for (unsigned f = 0; f < j->rec.nfields; f++) {
		j->rec.val[f] = p;
		j->rec.len[f] = cr->len[f];
		j->rec.num[f] = cr->num[f];
		p += cr->len[f] + 1;
	}
	return &j->rec;
}

static int want_key(void *arg, enum store_table table, const void *key, size_t klen)
{
	return overlay_want(arg, table, key, klen);
}

/* Check and apply the records of the chunk, then empty it. */
static int chunk_run(struct apply_job *j)
{
	int r = 0;

	for (size_t i = 0; i < j->nrecs && r == 0; i++)
		r = custdb_record_reads(chunk_get(j, i), want_key, j->ov);
	if (r == 0)
		r = overlay_fetch(j->ov);
	for (size_t i = 0; i < j->nrecs && r == 0; i++) {
		r = custdb_record_view(&j->view, chunk_get(j, i), j->b, &j->rj);
		if (r == KF_EEXISTS || r == KF_ENOTFOUND || r == KF_EREF || r == KF_ESTATE)
			return reject_line(j, j->recs[i].line, j->rj.field, j->rj.reason);
		if (r == 0)
			r = overlay_note(j->ov);
		if (r == 0 && ++j->applied % j->o->progress_every == 0 && j->o->progress)
			fprintf(stderr, "progress %s %llu\n", j->e->base,
				(unsigned long long)j->applied);
	}
	/* The chunk's ops go into the transaction here, sorted. The replicated
	 * log takes its copy of them here once the cluster layer ships chunks. */
	if (r == 0)
		r = overlay_flush(j->ov);
	j->nrecs = 0;
	j->text_used = 0;
	return r;
}

/*
 * Parse one line into the chunk, running the chunk when it is full.
 * Returns 0, 1 when the line is bad (kept in j->bad: nothing after it is
 * read), or an error from running the chunk.
 */
static int chunk_line(struct apply_job *j, const char *line, size_t len, uint64_t lineno)
{
	struct chunk_rec *cr;

	if (len > BOSSREC_LINE_MAX)
		return line_bad(j, lineno, -1, "record longer than 16384 bytes");
	if (bossrec_parse(j->e->bn.kind, line, len, &j->rec, &j->perr)) {
		char reason[320];

		snprintf(reason, sizeof(reason), "%s %c: %s", boss_kind_name(j->e->bn.kind),
			 len ? line[0] : '?', j->perr.reason);
		return line_bad(j, lineno, j->perr.field, reason);
	}
	cr = &j->recs[j->nrecs++];
	cr->line = lineno;
	cr->op = j->rec.op;
	cr->at = j->text_used;
	for (unsigned f = 0; f < j->rec.nfields; f++) {
		memcpy(j->text + j->text_used, j->rec.val[f], j->rec.len[f] + 1);
		j->text_used += j->rec.len[f] + 1;
		cr->len[f] = (uint16_t)j->rec.len[f];
		cr->num[f] = j->rec.num[f];
	}
	if (j->nrecs == CHUNK_RECORDS || j->text_used >= j->o->chunk_bytes)
		return chunk_run(j);
	return 0;
}

/* Each applied chunk goes to the replicated log (cluster mode). */
static int log_chunk(void *arg, struct store_txn *t, const struct batch *b)
{
	struct apply_job *j = arg;

	return write_hooks_log(j->o->hooks, t, b, false);
}

/* The end of a file's transaction: its registry entry, the last batch. */
static int file_done(struct store_txn *t, struct apply_job *j)
{
	struct entry *e = j->e;
	int r;

	batch_reset(j->b);
	r = record_file_ops(j->b, e->base, e->chk.sha256, e->chk.records, e->chk.bytes,
			    e->bn.prov, e->bn.kind, e->bn.seq, NULL, j->now);
	if (r == 0)
		r = batch_apply(t, j->b);
	if (r == 0)
		r = write_hooks_log(j->o->hooks, t, j->b, true);
	return r;
}

/* The transaction body: every record of the file, then its registry entry. */
static int apply_body(struct store_txn *t, void *arg)
{
	struct apply_job *j = arg;
	struct entry *e = j->e;
	char *buf = NULL;
	size_t have = 0;
	uint64_t lineno = 0;
	ssize_t n;
	int fd, r;

	j->applied = 0;
	j->nrecs = 0;
	j->text_used = 0;
	j->bad.line = 0;
	batch_reset(j->b);
	overlay_begin(j->ov, t, j->b);
	if (j->o->hooks && j->o->hooks->log)
		overlay_set_sink(j->ov, log_chunk, j);
	/* Another importer may have moved this stream on since the precheck. */
	r = precheck(t, e);
	if (r == 1)
		return KF_ESTATE;
	if (r)
		return r;
	fd = open(e->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(READ_CHUNK + BOSSREC_LINE_MAX + 2);
	if (!buf)
		abort();
	r = 0;
	while (r == 0 && (n = read(fd, buf + have, READ_CHUNK)) > 0) {
		char *p = buf, *end = buf + have + (size_t)n, *nl;

		while (r == 0 && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			r = chunk_line(j, p, (size_t)(nl - p), ++lineno);
			p = nl + 1;
		}
		have = (size_t)(end - p);
		if (r == 0 && have > BOSSREC_LINE_MAX + 1)
			r = line_bad(j, lineno + 1, -1, "record longer than 16384 bytes");
		memmove(buf, p, have);
	}
	if (r == 0 && n < 0)
		r = -errno;
	if (r == 0 && have > 0)
		r = chunk_line(j, buf, have, ++lineno);
	close(fd);
	free(buf);
	/* The records before a bad line are checked first: the first error in
	 * file order is the one reported. */
	if (r == 0 || r == 1)
		r = chunk_run(j);
	if (r == 0 && j->bad.line)
		r = reject_line(j, j->bad.line, j->bad.field, j->bad.reason);
	return r ? r : file_done(t, j);
}

/* The transaction body of the bulk load (bulk.h): the file in one pass,
 * then its registry entry. KF_ECANCELED with j->declined set: the file
 * must go the record-by-record way. */
static int bulk_body(struct store_txn *t, void *arg)
{
	struct apply_job *j = arg;
	struct entry *e = j->e;
	const struct bulk_opts bo = {j->tmp_dir, j->o->sort_bytes, j->o->chunk_bytes, j->o->hooks,
				     j->o->progress, j->o->progress_every};
	const struct bulk_file bf = {e->path, e->base, e->bn.kind, e->chk.records, e->chk.bytes,
				     e->chk.sha256};
	int r;

	j->applied = 0;
	j->declined = false;
	r = precheck(t, e);
	if (r == 1)
		return KF_ESTATE;
	if (r)
		return r;
	r = bulk_load(t, j->b, &bo, &bf, &j->applied, j->why, sizeof(j->why));
	if (r == BULK_DECLINED) {
		j->declined = true;
		return KF_ECANCELED;
	}
	return r ? r : file_done(t, j);
}

static int move_to(const char *dir, const char *path, const char *base)
{
	char dst[4096];

	if (mkdir(dir, 0750) != 0 && errno != EEXIST)
		return -errno;
	snprintf(dst, sizeof(dst), "%s/%s", dir, base);
	return rename(path, dst) == 0 ? 0 : -errno;
}

/* Move the data file and its .chk into dir; a report beside them if asked. */
static void file_away(const struct entry *e, const char *dir, bool report)
{
	char chk[4096], chkbase[BOSS_NAME_MAX + 8];
	int r;

	if (!dir)
		return;
	chk_path(e, chk, sizeof(chk));
	snprintf(chkbase, sizeof(chkbase), "%.*s.chk", (int)(strlen(e->base) - 4), e->base);
	if ((r = move_to(dir, e->path, e->base)))
		log_warn(LOG_BOSS, "move failed file=%s dir=%s err=%s", e->base, dir, kf_strerror(r));
	if (access(chk, F_OK) == 0 && (r = move_to(dir, chk, chkbase)))
		log_warn(LOG_BOSS, "move failed file=%s dir=%s err=%s", chkbase, dir, kf_strerror(r));
	if (report) {
		char rpath[4096];
		FILE *f;

		snprintf(rpath, sizeof(rpath), "%s/%s.report", dir, e->base);
		f = fopen(rpath, "w");
		if (!f) {
			log_warn(LOG_BOSS, "report not written file=%s err=%s", rpath, strerror(errno));
			return;
		}
		fprintf(f, "file: %s\nrecords: %llu\nline: %llu\nfield: %s\nreason: %s\n", e->base,
			(unsigned long long)e->res.records, (unsigned long long)e->res.line,
			e->res.field[0] ? e->res.field : "-", e->res.reason);
		fclose(f);
	}
}

/*
 * A file's records take LMDB about MAP_RESERVE_FACTOR times the file's size
 * (values, indexes, half-filled pages). Growing the map before the file's
 * transaction spares a large first import the run thrown away when the map
 * fills halfway (store_write then grows it and runs the body again).
 */
#define MAP_RESERVE_FACTOR 3

static int map_reserve(struct store *s, uint64_t file_bytes)
{
	struct store_stats st;
	int r;

	for (;;) {
		if ((r = store_stat(s, &st)))
			return r;
		if (st.map_size - st.used_bytes >= file_bytes * MAP_RESERVE_FACTOR)
			return 0;
		r = store_grow(s);
		if (r == KF_EMAPFULL)
			return 0; /* at map_max: the import finds out whether it fits */
		if (r)
			return r;
	}
}

/*
 * run_bulk - the file through the bulk load. Returns 1 when it declined
 * (nothing of it applied: the exact way must run), else write_hooks_run's
 * result.
 */
static int run_bulk(struct store *s, struct apply_job *j)
{
	int r = write_hooks_run(j->o->hooks, s, bulk_body, j);

	if (r == KF_ECANCELED && j->declined) {
		log_info(LOG_BOSS, "bulk load declined name=%s reason=\"%s\"", j->e->base, j->why);
		return 1;
	}
	j->e->res.bulk = r == 0;
	return r;
}

/* run_exact - the file verified against its .chk, then record by record
 * through the overlay. Returns 1 when verify gave it an outcome. */
static int run_exact(struct store *s, struct apply_job *j)
{
	const struct import_opts *o = j->o;
	int r;

	if (verify(j->e))
		return 1;
	j->ov = overlay_new(CHUNK_RECORDS * CHUNK_KEYS_PER_RECORD);
	j->view = overlay_view(j->ov);
	j->recs = malloc(CHUNK_RECORDS * sizeof(*j->recs));
	j->text = malloc(o->chunk_bytes + BOSSREC_LINE_MAX + BOSSREC_MAX_FIELDS + 1);
	if (!j->recs || !j->text)
		abort();
	r = write_hooks_run(o->hooks, s, apply_body, j);
	overlay_free(j->ov);
	free(j->recs);
	free(j->text);
	return r;
}

/* Process one file as far as it can go now. Returns 0 (e->res says how it
 * went, IMPORT_HELD meaning "try again later in this run") or an error. */
static int process(struct store *s, const struct import_opts *o, struct entry *e,
		   struct batch *b, int64_t now, uint64_t *applied)
{
	struct store_txn *t;
	struct apply_job *j;
	int r;

	memset(&e->res.reason, 0, sizeof(e->res.reason));
	e->res.line = 0;
	e->res.field[0] = '\0';
	e->res.bulk = false;
	if (load_chk(e))
		return 0;
	if ((r = store_read_begin(s, &t)))
		return r;
	r = precheck(t, e);
	store_abort(t);
	if (r < 0)
		return r;
	if (r == 1 && e->res.outcome != IMPORT_SKIPPED)
		return 0;
	/* A file is skipped only when its data still matches its .chk. */
	if (r == 1) {
		verify(e);
		return 0;
	}

	if ((r = map_reserve(s, e->chk.bytes)))
		return r;
	j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->e = e;
	j->o = o;
	j->b = b;
	j->now = now;
	j->tmp_dir = o->tmp_dir ? o->tmp_dir : store_path(s);
	e->res.outcome = IMPORT_APPLIED;
	/* The bulk load checks the .chk in its one pass; the exact way first. */
	r = o->no_bulk || !j->tmp_dir ? 1 : run_bulk(s, j);
	if (r == 1)
		r = run_exact(s, j);
	if (r == 1) {
		r = 0; /* verify's outcome */
	} else if (r == KF_ESTATE) {
		r = 0; /* outcome already set by precheck inside the body */
	} else if (r == KF_EPARSE) {
		r = 0; /* rejected: reason set by reject_line */
	} else if (r == 0) {
		e->res.outcome = IMPORT_APPLIED;
		e->res.reason[0] = '\0';
		*applied += j->applied;
		log_info(LOG_BOSS, "file applied name=%s records=%llu bulk=%d", e->base,
			 (unsigned long long)j->applied, e->res.bulk);
	} else {
		set_result(e, IMPORT_REJECTED, "storage error: %s", kf_strerror(r));
	}
	free(j);
	return r;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->bn.stamp, y->bn.stamp);

	if (c)
		return c;
	if (x->bn.kind != y->bn.kind)
		return x->bn.kind < y->bn.kind ? -1 : 1;
	if (x->bn.seq != y->bn.seq)
		return x->bn.seq < y->bn.seq ? -1 : 1;
	return strcmp(x->base, y->base);
}

/* The kinds whose records a kind's records reference (boss-files.md). */
static unsigned kind_needs(enum boss_kind kind)
{
	if (kind == BOSS_CUST)
		return 0;
	if (kind == BOSS_USER)
		return 1u << BOSS_CUST;
	return 1u << BOSS_CUST | 1u << BOSS_USER;
}

/*
 * The file of this run that e must wait for, or NULL: one of the same
 * province, of a kind e's records reference, produced no later than e, and
 * not through yet (its .chk still to come, or held itself). Its records may
 * be the ones e references: BOSS writes a day's kinds one after another, and
 * a scan between two .chk files must not reject the later kinds for
 * references the earlier ones are about to bring.
 */
static const struct entry *waits_for(const struct entry *es, size_t n, const struct entry *e)
{
	for (size_t k = 0; k < n; k++) {
		const struct entry *d = &es[k];

		if (d != e && d->named && !d->done && strcmp(d->bn.prov, e->bn.prov) == 0 &&
		    (kind_needs(e->bn.kind) & 1u << d->bn.kind) &&
		    strcmp(d->bn.stamp, e->bn.stamp) <= 0)
			return d;
	}
	return NULL;
}

static void finish(const struct import_opts *o, struct entry *e, import_report_fn fn, void *arg,
		   struct import_summary *sum)
{
	e->done = true;
	if (e->dup) {
		/* reported only: the first copy is the one processed */
	} else if (e->res.outcome == IMPORT_REJECTED) {
		log_warn(LOG_BOSS, "file rejected name=%s reason=\"%s\"", e->base, e->res.reason);
		file_away(e, o->rejected_dir, true);
	} else if (e->res.outcome == IMPORT_APPLIED || e->res.outcome == IMPORT_SKIPPED) {
		file_away(e, o->archive_dir, false);
	}
	sum->files[e->res.outcome]++;
	if (fn)
		fn(arg, &e->res);
}

int import_files(struct store *s, const struct import_opts *opts, const char *const *paths,
		 size_t n, import_report_fn fn, void *arg, struct import_summary *sump)
{
	struct import_opts o = *opts;
	struct import_summary sum;
	struct entry *es = calloc(n ? n : 1, sizeof(*es));
	struct batch *b = NULL;
	int64_t now = o.now ? o.now : (int64_t)time(NULL);
	bool moved;
	int r = 0;

	if (!es)
		abort();
	memset(&sum, 0, sizeof(sum));
	if (!o.chunk_bytes)
		o.chunk_bytes = 4u << 20;
	if (!o.progress_every)
		o.progress_every = 100000;
	for (size_t i = 0; i < n; i++) {
		struct entry *e = &es[i];
		const char *slash = strrchr(paths[i], '/');
		char why[200];

		e->path = strdup(paths[i]);
		if (!e->path)
			abort();
		e->base = slash ? e->path + (slash - paths[i]) + 1 : e->path;
		snprintf(e->res.name, sizeof(e->res.name), "%s", e->base);
		e->named = boss_parse_name(e->base, strlen(e->base), &e->bn, why, sizeof(why)) == 0;
		for (size_t k = 0; k < i && e->named; k++) {
			if (strcmp(es[k].path, e->path) == 0) {
				e->named = false;
				e->dup = true;
				set_result(e, IMPORT_SKIPPED, "given twice");
				finish(&o, e, fn, arg, &sum);
			}
		}
		if (!e->named && !e->dup) {
			set_result(e, IMPORT_REJECTED, "bad file name: %s", why);
			finish(&o, e, fn, arg, &sum);
		}
	}
	b = batch_new(o.chunk_bytes * 2 + (1u << 20));
	qsort(es, n, sizeof(*es), entry_cmp);
	/* Keep passing over the held files while a pass moves anything on: a
	 * file applied late in the list may release one held earlier. */
	do {
		moved = false;
		for (size_t i = 0; i < n && r == 0; i++) {
			struct entry *e = &es[i];
			const struct entry *d;

			if (!e->named || e->done)
				continue;
			if ((d = waits_for(es, n, e)) != NULL) {
				set_result(e, IMPORT_HELD, "waiting for %s (not through yet)", d->base);
				continue;
			}
			r = process(s, &o, e, b, now, &sum.records_applied);
			if (r == 0 && e->res.outcome != IMPORT_HELD) {
				finish(&o, e, fn, arg, &sum);
				moved = true;
			}
		}
	} while (moved && r == 0);
	for (size_t i = 0; i < n && r == 0; i++)
		if (es[i].named && !es[i].done)
			finish(&o, &es[i], fn, arg, &sum);
	batch_free(b);
	for (size_t i = 0; i < n; i++)
		free(es[i].path);
	free(es);
	if (sump)
		*sump = sum;
	return r;
}

/* A delivery file's name: not hidden, something before the 4-byte ext. */
static bool named_with(const char *name, const char *ext)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 4 && strcmp(name + n - 4, ext) == 0;
}

static int dat_filter(const struct dirent *d)
{
	return named_with(d->d_name, ".dat");
}

int import_dir(struct store *s, const struct import_opts *o, const char *dir,
	       import_report_fn fn, void *arg, struct import_summary *sum)
{
	struct dirent **names;
	char **paths;
	int n = scandir(dir, &names, dat_filter, alphasort);
	int r;

	if (n < 0)
		return -errno;
	paths = calloc((size_t)n + 1, sizeof(*paths));
	if (!paths)
		abort();
	for (int i = 0; i < n; i++) {
		size_t len = strlen(dir) + strlen(names[i]->d_name) + 2;

		paths[i] = malloc(len);
		if (!paths[i])
			abort();
		snprintf(paths[i], len, "%s/%s", dir, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	r = import_files(s, o, (const char *const *)paths, (size_t)n, fn, arg, sum);
	for (int i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return r;
}

static int64_t ts_ms(struct timespec ts)
{
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int import_dir_quiet_ms(const char *dir, int64_t *quiet_ms)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct timespec now;
	int64_t newest = INT64_MIN;
	int r = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (!named_with(de->d_name, ".dat") && !named_with(de->d_name, ".chk"))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) != 0) {
			if (errno == ENOENT)
				continue; /* taken away between the listing and the look */
			r = -errno;
			break;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (ts_ms(st.st_mtim) > newest)
			newest = ts_ms(st.st_mtim);
		if (ts_ms(st.st_ctim) > newest)
			newest = ts_ms(st.st_ctim);
	}
	closedir(d);
	if (r)
		return r;
	clock_gettime(CLOCK_REALTIME, &now);
	*quiet_ms = newest == INT64_MIN ? INT64_MAX : ts_ms(now) > newest ? ts_ms(now) - newest : 0;
	return 0;
}

int import_next_seq(struct store *s, const char *prov, enum boss_kind kind, uint32_t *seq)
{
	struct store_txn *t;
	uint32_t last;
	int r;

	if ((r = store_read_begin(s, &t)))
		return r;
	r = seq_last(t, prov, kind, &last);
	store_abort(t);
	if (r == 0)
		*seq = last + 1;
	return r;
}

struct skip_job {
	const struct write_hooks *hooks;
	const char *prov;
	enum boss_kind kind;
	uint32_t seq;
	const char *reason;
	char *why;
	size_t whylen;
};

static int skip_body(struct store_txn *t, void *arg)
{
	struct skip_job *j = arg;
	struct batch *b;
	char name[BOSS_NAME_MAX + 1];
	uint32_t last;
	int r;

	if ((r = seq_last(t, j->prov, j->kind, &last)))
		return r;
	if (j->seq != last + 1) {
		snprintf(j->why, j->whylen, "SEQ %06u of %s %s is not the next expected (%06u)",
			 j->seq, j->prov, boss_kind_name(j->kind), last + 1);
		return KF_ESTATE;
	}
	/* The registry keeps the decision under a name no data file can have. */
	snprintf(name, sizeof(name), "%s_%s_SKIPPED_%06u", j->prov, boss_kind_name(j->kind),
		 j->seq);
	b = batch_new(0);
	r = record_file_ops(b, name, "", 0, 0, j->prov, j->kind, j->seq,
			    j->reason ? j->reason : "", (int64_t)time(NULL));
	if (r == 0)
		r = batch_apply(t, b);
	if (r == 0)
		r = write_hooks_log(j->hooks, t, b, true);
	batch_free(b);
	return r;
}

int import_skip(struct store *s, const struct write_hooks *hooks, const char *prov,
		enum boss_kind kind, uint32_t seq, const char *reason, char *why, size_t whylen)
{
	struct skip_job j = {hooks, prov, kind, seq, reason, why, whylen};
	size_t n = strlen(prov);

	why[0] = '\0';
	if (n < 2 || n > BOSS_PROV_MAX || strspn(prov, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != n) {
		snprintf(why, whylen, "province code must be 2-8 upper-case letters or digits");
		return KF_EPARSE;
	}
	if (seq < 1 || seq > 999999) {
		snprintf(why, whylen, "SEQ must be 1..999999");
		return KF_EPARSE;
	}
	return write_hooks_run(hooks, s, skip_body, &j);
}
