/*
 * The node's LMDB environment. See store.h.
 *
 * This is the only file that calls mdb_*. LMDB errors are translated in one
 * place, store_err(), which also logs LMDB's own message once.
 *
 * Remapping: changing the map size (store_grow, or picking up a size another
 * process set, MDB_MAP_RESIZED) unmaps and remaps the file, so no transaction
 * of this process may be open meanwhile. Transactions can live on any thread
 * (MDB_NOTLS), so a gate counts the open ones: a remap closes the gate, waits
 * until the count reaches zero, remaps, and opens it again. Growth forced by
 * MDB_MAP_FULL waits for open transactions; proactive growth in
 * store_write_begin only happens when none is open. A thread that keeps a
 * transaction open while its own store_write needs to grow would wait for
 * itself: the gate logs a warning every few seconds while it waits.
 */
#include "storage/store.h"

#include "lib/err.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STORE_MAP_DEFAULT ((size_t)64 << 20)
#define STORE_MAP_MAX_DEFAULT ((uint64_t)1 << 40)
/* Proactive growth once used pages pass this share of the map (percent). */
#define STORE_GROW_AT_PCT 80
/* How often a remap waiting for open transactions says so (seconds). */
#define STORE_GATE_WARN_S 5
/* Attempts to begin a transaction when the map keeps being resized. */
#define STORE_BEGIN_TRIES 8

struct store {
	MDB_env *env;
	MDB_dbi dbi[STORE_TABLE_SLOTS];
	size_t map_max;
	pthread_mutex_t mu; /* guards the fields below */
	pthread_cond_t cv;
	size_t map_size;    /* current map size; changes only with the gate closed */
	unsigned open_txns;
	bool remapping;
	int dir_fd;         /* the environment's directory, flock()ed: store_claim_dir */
	/* MDB_NOMETASYNC: a commit syncs its pages and writes the meta page
	 * without a second sync. store_commit and store_write then sync it
	 * themselves; store_write_lazy leaves it to the next commit's sync or to
	 * store_sync (docs/storage.md, "Durability and memory"). */
	bool meta_later;
};

struct store_txn {
	struct store *s;
	MDB_txn *txn;
	size_t map_size;    /* map size when the transaction began */
	unsigned attempt;
	bool map_full;      /* an operation hit MDB_MAP_FULL: the txn is dead */
	/* One cursor per table, opened on first use and kept for the whole
	 * transaction: a cursor that stays on a leaf page finds the next key
	 * there without descending from the root, so gets and puts in key order
	 * touch each page once. Closed before the transaction ends. */
	MDB_cursor *cur[STORE_TABLE_SLOTS];
};

static const char *const store_table_names[STORE_TABLE_SLOTS] = {
#define STORE_TABLE_NAME_(name, id, dbname) [id] = dbname,
	STORE_TABLES(STORE_TABLE_NAME_)
#undef STORE_TABLE_NAME_
};

/* LMDB's own codes and what they become; anything else is KF_ESTORE. */
static const struct {
	int mdb;
	int kf;
	enum log_level lvl; /* LOG_LVL_OFF: an expected outcome, not logged */
} store_errtab[] = {
	{MDB_NOTFOUND, KF_ENOTFOUND, LOG_LVL_OFF},
	{MDB_MAP_FULL, KF_EMAPFULL, LOG_LVL_DEBUG},
	{MDB_BAD_VALSIZE, KF_ETOOBIG, LOG_LVL_WARN},
	{MDB_CORRUPTED, KF_ECORRUPT, LOG_LVL_ERR},
	{MDB_PAGE_NOTFOUND, KF_ECORRUPT, LOG_LVL_ERR},
	{MDB_INVALID, KF_ECORRUPT, LOG_LVL_ERR},
	{MDB_VERSION_MISMATCH, KF_ECORRUPT, LOG_LVL_ERR},
};

/*
 * store_err - translate an LMDB result (0, an MDB_* code or an errno value)
 * into a kefu code, logging LMDB's message once. op names the call.
 */
static int store_err(int rc, const char *op)
{
	enum log_level lvl = LOG_LVL_ERR;
	int kf = KF_ESTORE;

	if (rc == 0)
		return 0;
	for (size_t i = 0; i < sizeof(store_errtab) / sizeof(store_errtab[0]); i++) {
		if (store_errtab[i].mdb == rc) {
			kf = store_errtab[i].kf;
			lvl = store_errtab[i].lvl;
			break;
		}
	}
	if (rc > 0)
		kf = -rc; /* LMDB passes system errors through as errno values */
	if (lvl != LOG_LVL_OFF)
		log_at(LOG_STORE, lvl, "lmdb error op=%s rc=%d msg=\"%s\" err=%s", op, rc,
		       mdb_strerror(rc), kf_errname(kf));
	return kf;
}

static bool store_table_is_valid(int table)
{
	return table > 0 && table < STORE_TABLE_SLOTS && store_table_names[table] != NULL;
}

const char *store_path(struct store *s)
{
	const char *path = NULL;

	return mdb_env_get_path(s->env, &path) == 0 ? path : NULL;
}

const char *store_table_name(int table)
{
	return store_table_is_valid(table) ? store_table_names[table] : NULL;
}

int store_table_by_name(const char *name)
{
	for (int id = 1; id < STORE_TABLE_SLOTS; id++)
		if (store_table_names[id] && strcmp(store_table_names[id], name) == 0)
			return id;
	return KF_ENOTFOUND;
}

/* ---- the gate around remapping ---- */

static void store_gate_enter(struct store *s, size_t *map_size)
{
	pthread_mutex_lock(&s->mu);
	while (s->remapping)
		pthread_cond_wait(&s->cv, &s->mu);
	s->open_txns++;
	*map_size = s->map_size;
	pthread_mutex_unlock(&s->mu);
}

static void store_gate_leave(struct store *s)
{
	pthread_mutex_lock(&s->mu);
	if (--s->open_txns == 0)
		pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/*
 * store_gate_close - become the one remapper. With wait false it gives up
 * (returns -EBUSY) when a transaction is open or another remap is running;
 * with wait true it waits for both and always succeeds. On 0 the caller
 * must call store_gate_open.
 */
static int store_gate_close(struct store *s, bool wait)
{
	pthread_mutex_lock(&s->mu);
	if (!wait && (s->remapping || s->open_txns)) {
		pthread_mutex_unlock(&s->mu);
		return -EBUSY;
	}
	while (s->remapping)
		pthread_cond_wait(&s->cv, &s->mu);
	s->remapping = true;
	while (s->open_txns) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += STORE_GATE_WARN_S;
		if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT && s->open_txns)
			log_warn(LOG_STORE, "remap waiting for open transactions count=%u",
				 s->open_txns);
	}
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static void store_gate_open(struct store *s)
{
	pthread_mutex_lock(&s->mu);
	s->remapping = false;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* store_map_refresh - read back the size LMDB really uses. Gate closed or
 * store not yet shared. */
static void store_map_refresh(struct store *s)
{
	MDB_envinfo info;

	if (mdb_env_info(s->env, &info) == 0) {
		pthread_mutex_lock(&s->mu);
		s->map_size = info.me_mapsize;
		pthread_mutex_unlock(&s->mu);
	}
}

/*
 * store_resize - with the gate closed, set the map to size, or, when size
 * is 0, adopt the size another process has set.
 */
static int store_resize(struct store *s, size_t size)
{
	int rc = store_err(mdb_env_set_mapsize(s->env, size), "mdb_env_set_mapsize");

	store_map_refresh(s);
	return rc;
}

/*
 * store_grow_from - double the map unless it has already grown past seen
 * (another writer got there first). wait: see store_gate_close; false makes
 * this a no-op returning 0 when the gate is busy.
 */
static int store_grow_from(struct store *s, size_t seen, bool wait)
{
	size_t next;
	int rc = 0;

	if (store_gate_close(s, wait) != 0)
		return 0;
	if (s->map_size > seen)
		goto out;
	if (s->map_size >= s->map_max) {
		log_err(LOG_STORE, "map full at its maximum map_size=%zu", s->map_size);
		rc = KF_EMAPFULL;
		goto out;
	}
	next = s->map_size > s->map_max / 2 ? s->map_max : s->map_size * 2;
	rc = store_resize(s, next);
	if (rc == 0)
		log_info(LOG_STORE, "map grown map_size=%zu", s->map_size);
out:
	store_gate_open(s);
	return rc;
}

int store_grow(struct store *s)
{
	size_t seen;

	pthread_mutex_lock(&s->mu);
	seen = s->map_size;
	pthread_mutex_unlock(&s->mu);
	return store_grow_from(s, seen, true);
}

/* ---- open and close ---- */

/* Open every table's database in txn; with create, make the missing ones. */
static int store_dbi_open_all(struct store *s, MDB_txn *txn, unsigned flags)
{
	for (int id = 1; id < STORE_TABLE_SLOTS; id++) {
		int rc;

		if (!store_table_names[id])
			continue;
		rc = mdb_dbi_open(txn, store_table_names[id], flags, &s->dbi[id]);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * store_open_tables - open every table's database. A read transaction
 * first: an environment whose tables all exist is then opened without the
 * writer's lock, so a reader (kefuctl dump beside a running node) never
 * waits for a writer, even a paused one. Only missing tables take a write
 * transaction to create them.
 */
static int store_open_tables(struct store *s)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);

	if (rc)
		return store_err(rc, "mdb_txn_begin");
	rc = store_dbi_open_all(s, txn, 0);
	if (rc == 0)
		return store_err(mdb_txn_commit(txn), "mdb_txn_commit");
	mdb_txn_abort(txn);
	if (rc != MDB_NOTFOUND)
		return store_err(rc, "mdb_dbi_open");
	rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc)
		return store_err(rc, "mdb_txn_begin");
	rc = store_dbi_open_all(s, txn, MDB_CREATE);
	if (rc) {
		mdb_txn_abort(txn);
		return store_err(rc, "mdb_dbi_open");
	}
	rc = store_err(mdb_txn_commit(txn), "mdb_txn_commit");
	return rc ? rc : store_sync(s);
}

/*
 * store_claim_dir - open dir and flock() it: shared for an ordinary open,
 * exclusive with map_writes. LMDB's processes must not write one
 * environment with and without MDB_WRITEMAP at once (docs/storage.md,
 * "Durability and memory"), so a bulk import is refused while any other
 * process has the store open, and every other open while one runs.
 * Returns the descriptor, -errno (a missing directory) or -EBUSY.
 */
static int store_claim_dir(const char *dir, bool map_writes)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (flock(fd, (map_writes ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
		int err = errno == EWOULDBLOCK ? -EBUSY : -errno;

		if (err == -EBUSY)
			log_err(LOG_STORE, "store in use dir=%s: %s", dir,
				map_writes ? "a bulk import needs it alone; stop the process that has it open"
					   : "a bulk import (kefuctl import --db) has it");
		close(fd);
		return err;
	}
	return fd;
}

int store_open(const char *dir, const struct store_opts *opts, struct store **out)
{
	static const struct store_opts defaults = {0};
	struct store *s;
	unsigned flags = MDB_NOTLS | MDB_NORDAHEAD;
	int rc;

	if (!opts)
		opts = &defaults;
	s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->map_size = opts->map_size ? opts->map_size : STORE_MAP_DEFAULT;
	s->map_max = opts->map_max ? opts->map_max
		     : (STORE_MAP_MAX_DEFAULT > SIZE_MAX ? SIZE_MAX : (size_t)STORE_MAP_MAX_DEFAULT);
	if (s->map_size > s->map_max) {
		log_err(LOG_STORE, "map_size above map_max map_size=%zu map_max=%zu", s->map_size,
			s->map_max);
		free(s);
		return -EINVAL;
	}
	s->dir_fd = store_claim_dir(dir, opts->map_writes);
	if (s->dir_fd < 0) {
		rc = s->dir_fd;
		free(s);
		return rc;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (opts->no_sync)
		flags |= MDB_NOSYNC;
	if (opts->map_writes)
		flags |= MDB_WRITEMAP;
	else if (!opts->no_sync)
		flags |= MDB_NOMETASYNC;
	s->meta_later = (flags & MDB_NOMETASYNC) != 0;

	rc = store_err(mdb_env_create(&s->env), "mdb_env_create");
	if (rc)
		goto fail_free;
	rc = store_err(mdb_env_set_maxdbs(s->env, STORE_TABLE_SLOTS), "mdb_env_set_maxdbs");
	if (rc)
		goto fail_env;
	rc = store_err(mdb_env_set_mapsize(s->env, s->map_size), "mdb_env_set_mapsize");
	if (rc)
		goto fail_env;
	rc = store_err(mdb_env_open(s->env, dir, flags, 0600), "mdb_env_open");
	if (rc)
		goto fail_env;
	if (mdb_env_get_maxkeysize(s->env) < STORE_KEY_MAX) {
		log_err(LOG_STORE, "lmdb built with a smaller key limit max=%d",
			mdb_env_get_maxkeysize(s->env));
		rc = KF_ESTORE;
		goto fail_env;
	}
	store_map_refresh(s); /* LMDB keeps at least the size of the data */
	rc = store_open_tables(s);
	if (rc)
		goto fail_env;
	log_info(LOG_STORE, "opened dir=%s map_size=%zu map_max=%zu", dir, s->map_size,
		 s->map_max);
	*out = s;
	return 0;

fail_env:
	mdb_env_close(s->env);
fail_free:
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	close(s->dir_fd);
	free(s);
	return rc;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	mdb_env_close(s->env);
	close(s->dir_fd);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* ---- transactions ---- */

/*
 * store_txn_begin - begin a transaction inside the gate. MDB_MAP_RESIZED
 * means another process grew the map past ours: adopt its size and retry.
 */
static int store_txn_begin(struct store *s, unsigned flags, struct store_txn **out)
{
	struct store_txn *t = calloc(1, sizeof(*t));

	if (!t)
		abort();
	t->s = s;
	for (int tries = 0;; tries++) {
		int rc;

		store_gate_enter(s, &t->map_size);
		rc = mdb_txn_begin(s->env, NULL, flags, &t->txn);
		if (rc == 0) {
			*out = t;
			return 0;
		}
		store_gate_leave(s);
		if (rc == MDB_MAP_RESIZED && tries < STORE_BEGIN_TRIES &&
		    store_gate_close(s, true) == 0) {
			rc = store_resize(s, 0);
			if (rc == 0)
				log_info(LOG_STORE, "map resized by another process map_size=%zu",
					 s->map_size);
			store_gate_open(s);
			if (rc == 0)
				continue;
		} else {
			rc = store_err(rc, "mdb_txn_begin");
		}
		free(t);
		return rc;
	}
}

/* store_txn_cursors_close - close the cached cursors; before LMDB ends t. */
static void store_txn_cursors_close(struct store_txn *t)
{
	for (int id = 0; id < STORE_TABLE_SLOTS; id++) {
		if (t->cur[id])
			mdb_cursor_close(t->cur[id]);
		t->cur[id] = NULL;
	}
}

/* store_txn_end - forget t after LMDB has ended it. */
static void store_txn_end(struct store_txn *t)
{
	store_gate_leave(t->s);
	free(t);
}

int store_read_begin(struct store *s, struct store_txn **out)
{
	return store_txn_begin(s, MDB_RDONLY, out);
}

int store_read_beside(struct store_txn *w, struct store_txn **out)
{
	struct store *s = w->s;
	struct store_txn *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		abort();
	t->s = s;
	pthread_mutex_lock(&s->mu);
	s->open_txns++; /* past a closed gate: the remapper waits for w anyway */
	t->map_size = s->map_size;
	pthread_mutex_unlock(&s->mu);
	rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t->txn);
	if (rc == 0) {
		*out = t;
		return 0;
	}
	store_txn_end(t);
	return store_err(rc, "mdb_txn_begin");
}

/* store_is_nearly_full - used pages above STORE_GROW_AT_PCT of the map.
 * LMDB reads its meta pages from the map: inside the gate. */
static bool store_is_nearly_full(struct store *s, size_t *map_size)
{
	MDB_envinfo info;
	MDB_stat st;
	bool full;

	store_gate_enter(s, map_size);
	full = mdb_env_info(s->env, &info) == 0 && mdb_env_stat(s->env, &st) == 0 &&
	       ((size_t)info.me_last_pgno + 1) * st.ms_psize >
		       *map_size / 100 * STORE_GROW_AT_PCT;
	store_gate_leave(s);
	return full;
}

int store_write_begin(struct store *s, struct store_txn **out)
{
	size_t seen;

	if (store_is_nearly_full(s, &seen))
		(void)store_grow_from(s, seen, false); /* best effort; MAP_FULL still grows */
	return store_txn_begin(s, 0, out);
}

int store_sync(struct store *s)
{
	return s->meta_later ? store_err(mdb_env_sync(s->env, 1), "mdb_env_sync") : 0;
}

/* store_txn_commit - commit and free t; *map_full tells whether the
 * transaction died of a full map, whatever code its caller saw. A lazy
 * commit leaves its meta page unsynced; *wrote (may be NULL) says whether
 * the commit wrote and synced pages at all (LMDB skips the writes and the
 * syncs of a transaction that changed nothing). */
static int store_txn_commit(struct store_txn *t, bool *map_full, bool lazy, bool *wrote)
{
	struct store *s = t->s;
	size_t id = mdb_txn_id(t->txn);
	MDB_envinfo info;
	bool w = false;
	int rc;

	store_txn_cursors_close(t);
	rc = store_err(mdb_txn_commit(t->txn), "mdb_txn_commit");
	*map_full = t->map_full || rc == KF_EMAPFULL;
	store_txn_end(t);
	if (rc == 0) {
		/* A later id: another process committed since, with a sync too. */
		w = mdb_env_info(s->env, &info) == 0 && info.me_last_txnid >= id;
		if (w && !lazy)
			rc = store_sync(s);
	}
	if (wrote)
		*wrote = w && rc == 0;
	return rc;
}

int store_commit(struct store_txn *t)
{
	bool map_full;

	return store_txn_commit(t, &map_full, false, NULL);
}

void store_abort(struct store_txn *t)
{
	if (!t)
		return;
	store_txn_cursors_close(t);
	mdb_txn_abort(t->txn);
	store_txn_end(t);
}

unsigned store_txn_attempt(const struct store_txn *t)
{
	return t->attempt;
}

static int store_write_mode(struct store *s, store_write_fn body, void *arg, bool lazy,
			    bool *wrote)
{
	if (wrote)
		*wrote = false;
	for (unsigned attempt = 0;; attempt++) {
		struct store_txn *t;
		size_t seen;
		bool map_full;
		int rc = store_write_begin(s, &t);

		if (rc)
			return rc;
		t->attempt = attempt;
		seen = t->map_size;
		rc = body(t, arg);
		if (rc == 0) {
			rc = store_txn_commit(t, &map_full, lazy, wrote);
		} else {
			map_full = t->map_full;
			store_abort(t);
		}
		/* A body that turned a full map into another error still reruns:
		 * the transaction was dead either way. */
		if (rc == 0 || !map_full)
			return rc;
		rc = store_grow_from(s, seen, true);
		if (rc)
			return rc;
	}
}

int store_write(struct store *s, store_write_fn body, void *arg)
{
	return store_write_mode(s, body, arg, false, NULL);
}

int store_write_lazy(struct store *s, store_write_fn body, void *arg, bool *wrote)
{
	return store_write_mode(s, body, arg, true, wrote);
}

/* ---- reads and writes ---- */

static int store_dbi(const struct store_txn *t, enum store_table table, MDB_dbi *dbi)
{
	if (!store_table_is_valid((int)table))
		return -EINVAL;
	*dbi = t->s->dbi[table];
	return 0;
}

/* store_txn_err - store_err for an operation on t: remembers a full map. */
static int store_txn_err(struct store_txn *t, int rc, const char *op)
{
	if (rc == MDB_MAP_FULL)
		t->map_full = true;
	return store_err(rc, op);
}

/* store_cursor - t's cursor on table, opened on first use. */
static int store_cursor(struct store_txn *t, enum store_table table, MDB_cursor **c)
{
	MDB_dbi dbi;
	int rc = store_dbi(t, table, &dbi);

	if (rc)
		return rc;
	if (!t->cur[table]) {
		rc = mdb_cursor_open(t->txn, dbi, &t->cur[table]);
		if (rc)
			return store_txn_err(t, rc, "mdb_cursor_open");
	}
	*c = t->cur[table];
	return 0;
}

int store_get(struct store_txn *t, enum store_table table, const void *key, size_t klen,
	      struct store_val *val)
{
	MDB_val k = {klen, (void *)key}, v;
	MDB_cursor *c;
	int rc = store_cursor(t, table, &c);

	if (rc)
		return rc;
	if (klen > STORE_KEY_MAX)
		return KF_ETOOBIG;
	if (klen == 0)
		return KF_ENOTFOUND; /* LMDB holds no empty keys */
	rc = store_txn_err(t, mdb_cursor_get(c, &k, &v, MDB_SET), "mdb_cursor_get");
	if (rc == 0) {
		val->data = v.mv_data;
		val->len = v.mv_size;
	}
	return rc;
}

/* store_put_flags - one mdb_cursor_put on t's cursor of table. */
static int store_put_flags(struct store_txn *t, enum store_table table, const void *key,
			   size_t klen, const void *val, size_t vlen, unsigned flags)
{
	MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
	MDB_cursor *c;
	int rc = store_cursor(t, table, &c);

	if (rc)
		return rc;
	if (klen == 0 || klen > STORE_KEY_MAX)
		return KF_ETOOBIG;
	rc = mdb_cursor_put(c, &k, &v, flags);
	if (rc == MDB_KEYEXIST)
		return KF_EEXISTS; /* an append below the last key: an expected answer */
	return store_txn_err(t, rc, "mdb_cursor_put");
}

int store__put(struct store_txn *t, enum store_table table, const void *key, size_t klen,
	       const void *val, size_t vlen)
{
	return store_put_flags(t, table, key, klen, val, vlen, 0);
}

int store__append(struct store_txn *t, enum store_table table, const void *key, size_t klen,
		  const void *val, size_t vlen)
{
	return store_put_flags(t, table, key, klen, val, vlen, MDB_APPEND);
}

int store_get_decimal(struct store_txn *t, enum store_table table, const void *key, size_t klen,
		      uint64_t *out)
{
	struct store_val v;
	uint64_t n = 0;
	int err = store_get(t, table, key, klen, &v);

	if (err)
		return err;
	if (v.len == 0 || v.len > 19)
		return KF_ECORRUPT;
	for (size_t i = 0; i < v.len; i++) {
		uint8_t c = ((const uint8_t *)v.data)[i];

		if (c < '0' || c > '9')
			return KF_ECORRUPT;
		n = n * 10 + (uint64_t)(c - '0');
	}
	*out = n;
	return 0;
}

int store_last(struct store_txn *t, enum store_table table, struct store_val *key)
{
	MDB_val k, v;
	MDB_cursor *c;
	int rc = store_cursor(t, table, &c);

	if (rc)
		return rc;
	rc = store_txn_err(t, mdb_cursor_get(c, &k, &v, MDB_LAST), "mdb_cursor_get");
	if (rc == 0) {
		key->data = k.mv_data;
		key->len = k.mv_size;
	}
	return rc;
}

int store__del(struct store_txn *t, enum store_table table, const void *key, size_t klen)
{
	MDB_val k = {klen, (void *)key}, v;
	MDB_cursor *c;
	int rc = store_cursor(t, table, &c);

	if (rc)
		return rc;
	if (klen == 0)
		return 0;
	if (klen > STORE_KEY_MAX)
		return KF_ETOOBIG;
	rc = mdb_cursor_get(c, &k, &v, MDB_SET);
	if (rc == 0)
		rc = mdb_cursor_del(c, 0);
	rc = store_txn_err(t, rc, "mdb_cursor_del");
	return rc == KF_ENOTFOUND ? 0 : rc;
}

/* ---- scans ---- */

int store_key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

struct store_key_head store_key_head(enum store_table table, const void *key, size_t klen)
{
	const uint8_t *k = key;
	struct store_key_head h = {(uint64_t)table, 0};

	/* Zero padding sorts a key before its own extensions, as LMDB does. */
	for (size_t i = 0; i < 7; i++)
		h.hi = h.hi << 8 | (i < klen ? k[i] : 0);
	for (size_t i = 7; i < 15; i++)
		h.lo = h.lo << 8 | (i < klen ? k[i] : 0);
	return h;
}

/* store_keycmp - store_key_cmp of an LMDB value. */
static int store_keycmp(const MDB_val *a, const void *b, size_t blen)
{
	return store_key_cmp(a->mv_data, a->mv_size, b, blen);
}

static bool store_has_prefix(const MDB_val *k, const void *prefix, size_t plen)
{
	return k->mv_size >= plen && (plen == 0 || memcmp(k->mv_data, prefix, plen) == 0);
}

/* store_seek_ge - cursor to the first key >= b (b may be empty). */
static int store_seek_ge(MDB_cursor *c, const void *b, size_t blen, MDB_val *k, MDB_val *v)
{
	if (blen == 0)
		return mdb_cursor_get(c, k, v, MDB_FIRST);
	k->mv_data = (void *)b;
	k->mv_size = blen;
	return mdb_cursor_get(c, k, v, MDB_SET_RANGE);
}

/* store_seek_le - cursor to the last key <= b (inclusive) or < b. */
static int store_seek_le(MDB_cursor *c, const void *b, size_t blen, bool inclusive, MDB_val *k,
			 MDB_val *v)
{
	int rc = store_seek_ge(c, b, blen, k, v);

	if (rc == MDB_NOTFOUND)
		return mdb_cursor_get(c, k, v, MDB_LAST);
	if (rc || (inclusive && store_keycmp(k, b, blen) == 0))
		return rc;
	return mdb_cursor_get(c, k, v, MDB_PREV);
}

/*
 * store_prefix_next - the smallest byte string above every string that
 * starts with prefix: drop trailing 0xff bytes, add one to the last byte.
 * Returns its length, 0 when there is none (empty or all-0xff prefix).
 */
static size_t store_prefix_next(const uint8_t *prefix, size_t plen, uint8_t *out)
{
	while (plen && prefix[plen - 1] == 0xff)
		plen--;
	if (plen == 0)
		return 0;
	memcpy(out, prefix, plen);
	out[plen - 1]++;
	return plen;
}

/*
 * store_scan_seek - place the cursor on the scan's first key. Forward: the
 * first key >= max(prefix, start). Reverse: the last key <= start or below
 * the prefix's successor, whichever is lower.
 */
static int store_scan_seek(MDB_cursor *c, const uint8_t *prefix, size_t plen, const void *start,
			   size_t slen, bool reverse, MDB_val *k, MDB_val *v)
{
	uint8_t next[STORE_KEY_MAX];
	size_t nlen;

	if (!reverse) {
		MDB_val p = {plen, (void *)prefix};

		if (start && store_keycmp(&p, start, slen) < 0)
			return store_seek_ge(c, start, slen, k, v);
		return store_seek_ge(c, prefix, plen, k, v);
	}
	nlen = store_prefix_next(prefix, plen, next);
	if (start) {
		MDB_val sv = {slen, (void *)start};

		if (nlen == 0 || store_keycmp(&sv, next, nlen) < 0)
			return store_seek_le(c, start, slen, true, k, v);
	}
	if (nlen == 0)
		return mdb_cursor_get(c, k, v, MDB_LAST);
	return store_seek_le(c, next, nlen, false, k, v);
}

int store_scan(struct store_txn *t, enum store_table table, const void *prefix, size_t plen,
	       const void *start, size_t slen, bool reverse, store_scan_fn fn, void *arg)
{
	MDB_cursor *c;
	MDB_val k, v;
	MDB_dbi dbi;
	int rc = store_dbi(t, table, &dbi);

	if (rc)
		return rc;
	if (plen > STORE_KEY_MAX)
		return 0; /* no key is that long */
	if (start && slen > STORE_KEY_MAX)
		return KF_ETOOBIG;
	rc = mdb_cursor_open(t->txn, dbi, &c);
	if (rc)
		return store_txn_err(t, rc, "mdb_cursor_open");
	rc = store_scan_seek(c, prefix, plen, start, slen, reverse, &k, &v);
	while (rc == 0 && store_has_prefix(&k, prefix, plen)) {
		struct store_val kv = {k.mv_data, k.mv_size}, vv = {v.mv_data, v.mv_size};
		int r = fn(arg, &kv, &vv);

		if (r) {
			mdb_cursor_close(c);
			return r < 0 ? r : 0;
		}
		rc = mdb_cursor_get(c, &k, &v, reverse ? MDB_PREV : MDB_NEXT);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : store_txn_err(t, rc, "mdb_cursor_get");
}

/* ---- the direct view ---- */

static int store_view_get(void *src, enum store_table table, const void *key, size_t klen,
			  struct store_val *val)
{
	return store_get(src, table, key, klen, val);
}

static int store_view_scan(void *src, enum store_table table, const void *prefix, size_t plen,
			   const void *start, size_t slen, bool reverse, store_scan_fn fn,
			   void *arg)
{
	return store_scan(src, table, prefix, plen, start, slen, reverse, fn, arg);
}

struct store_view store_txn_view(struct store_txn *t)
{
	return (struct store_view){store_view_get, store_view_scan, t};
}

/* ---- whole-environment operations ---- */

int store_stat(struct store *s, struct store_stats *st)
{
	struct store_txn *t;
	MDB_envinfo info;
	MDB_stat ms;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = store_read_begin(s, &t);
	if (rc)
		return rc;
	rc = mdb_env_info(s->env, &info);
	if (rc == 0)
		rc = mdb_env_stat(s->env, &ms);
	if (rc) {
		store_abort(t);
		return store_err(rc, "mdb_env_info");
	}
	st->map_size = info.me_mapsize;
	st->page_size = ms.ms_psize;
	st->used_bytes = ((size_t)info.me_last_pgno + 1) * ms.ms_psize;
	for (int id = 1; id < STORE_TABLE_SLOTS && rc == 0; id++) {
		if (!store_table_names[id])
			continue;
		rc = mdb_stat(t->txn, s->dbi[id], &ms);
		if (rc == 0)
			st->entries[id] = ms.ms_entries;
	}
	store_abort(t);
	return store_err(rc, "mdb_stat");
}

/* store_copy - LMDB's copy runs its own read transaction: inside the gate. */
int store_copy(struct store *s, const char *path)
{
	size_t map_size;
	int rc;

	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return -errno;
	store_gate_enter(s, &map_size);
	rc = mdb_env_copy2(s->env, path, MDB_CP_COMPACT);
	store_gate_leave(s);
	return store_err(rc, "mdb_env_copy2");
}
