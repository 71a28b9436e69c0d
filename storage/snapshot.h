/*
 * Snapshots: a whole environment as one file, to rebuild a follower that is
 * new, wiped, diverged or behind the log's retained start.
 *
 * The leader makes one with snapshot_create (a compacted copy, store_copy)
 * and streams it with a snapshot_reader; the follower writes the chunks
 * with a snapshot_recv, which checks the size and SHA-256, closes its store,
 * calls snapshot_install and reopens its store. The frames are the
 * replication code's business; this module only reads and writes files.
 *
 * Install is crash-safe: at every moment the environment directory holds
 * either the whole old environment or the whole new one. With env_dir =
 * P/D and the stage directory P/D.install:
 *
 *   1. stage:   remove a leftover P/D.install; mkdir it; move the snapshot
 *               file in as data.mdb (rename; a copy when on another file
 *               system); open it as an environment to prove it is one;
 *               fsync the file, P/D.install and P.
 *   2. swap:    renameat2(P/D.install, P/D, RENAME_EXCHANGE), one atomic
 *               step (plain rename when P/D does not exist); fsync P. The
 *               old environment is now at P/D.install.
 *   3. cleanup: remove P/D.install; fsync P.
 *
 * A crash before 2 leaves the old environment at P/D, after it the new one;
 * P/D.install is garbage either way, and snapshot_recover (call it before
 * store_open at start) removes it. The file system must support
 * RENAME_EXCHANGE (ext4, xfs, btrfs, tmpfs do); without it install fails
 * at step 2 and leaves the old environment in place.
 *
 * An installed environment carries the leader's log state (log.h), including
 * its epoch_seen: after reopening, raise it again to the highest epoch the
 * node had accepted (log_set_epoch_seen).
 */
#ifndef KEFU_STORAGE_SNAPSHOT_H
#define KEFU_STORAGE_SNAPSHOT_H

#include "lib/digest.h"
#include "storage/store.h"

#include <stddef.h>
#include <stdint.h>

/* Longest path this module builds. */
#define SNAPSHOT_PATH_MAX 4096
/* Largest snapshot accepted from a peer (the map's default maximum). */
#define SNAPSHOT_SIZE_MAX ((uint64_t)1 << 40)
/* The data file of an environment directory, and of a snapshot directory. */
#define SNAPSHOT_DATA_FILE "data.mdb"

struct snapshot_info {
	char path[SNAPSHOT_PATH_MAX];   /* the snapshot file: <dir>/data.mdb */
	uint64_t size;                  /* bytes */
	uint64_t applied_index;         /* log state inside the copy */
	uint64_t applied_epoch;
	char sha256[DIGEST_SHA256_HEX + 1];
};

/*
 * snapshot_create - write a compacted copy of s into dir (created; it must
 * not hold a data.mdb yet), fsync it, and fill *info from the copy itself:
 * its applied index and epoch, size and SHA-256. s stays open and usable;
 * the copy runs in a read transaction of its own (a map growth waits for
 * it). Returns 0, -errno, KF_ETOOBIG (path), KF_ESTORE, KF_ECORRUPT.
 */
int snapshot_create(struct store *s, const char *dir, struct snapshot_info *info);

/* ---- the leader's side: reading a snapshot file in chunks ---- */

struct snapshot_reader;

/* snapshot_reader_open - open path for reading. On 0 the caller owns *out
 * (snapshot_reader_free). Returns 0, -errno. */
int snapshot_reader_open(const char *path, struct snapshot_reader **out);

/* snapshot_reader_size - the file's size when it was opened. */
uint64_t snapshot_reader_size(const struct snapshot_reader *r);

/*
 * snapshot_reader_read - read up to cap bytes at offset into buf; *n is the
 * count, short only at the end of the file (0 at or past it).
 * Returns 0, -errno.
 */
int snapshot_reader_read(struct snapshot_reader *r, uint64_t offset, void *buf, size_t cap,
			 size_t *n);

/* snapshot_reader_free - close; NULL is fine. */
void snapshot_reader_free(struct snapshot_reader *r);

/* ---- the follower's side: writing a received snapshot file ---- */

struct snapshot_recv;

/*
 * snapshot_recv_open - create (or truncate) path to receive size bytes.
 * On 0 the caller owns *out. Returns 0, -errno, KF_ETOOBIG (size above
 * SNAPSHOT_SIZE_MAX).
 */
int snapshot_recv_open(const char *path, uint64_t size, struct snapshot_recv **out);

/*
 * snapshot_recv_write - append len bytes that belong at offset. Chunks must
 * come in order without gaps. Returns 0, KF_EPROTO (offset is not the
 * bytes received so far), KF_ETOOBIG (past the announced size), -errno.
 */
int snapshot_recv_write(struct snapshot_recv *r, uint64_t offset, const void *data, size_t len);

/*
 * snapshot_recv_finish - check that every byte came and that the file's
 * SHA-256 is sha256_hex, fsync and close it; the file then stays for
 * snapshot_install. Returns 0, KF_EPROTO (bytes missing), KF_ECORRUPT
 * (digest differs), -errno. Free r afterwards in every case.
 */
int snapshot_recv_finish(struct snapshot_recv *r, const char *sha256_hex);

/* snapshot_recv_free - close; the file is removed unless finish succeeded.
 * NULL is fine. */
void snapshot_recv_free(struct snapshot_recv *r);

/* ---- installing ---- */

/*
 * snapshot_install - replace the environment in env_dir by the one in
 * snapshot_file, by the three steps above. The file is moved, not copied,
 * when on the same file system; once staging has begun it is gone whatever
 * the result. No store may have env_dir open. Returns 0, -errno,
 * KF_ETOOBIG (path), KF_ECORRUPT (not an environment), KF_ESTORE; on an
 * error the old environment is in place.
 */
int snapshot_install(const char *env_dir, const char *snapshot_file);

/* snapshot_recover - remove what an interrupted install left beside
 * env_dir (step 3). Returns 0, -errno, KF_ETOOBIG. */
int snapshot_recover(const char *env_dir);

/* The steps of snapshot_install, one function each so tests can stop
 * between them. Same results as snapshot_install. */
int snapshot__stage(const char *env_dir, const char *snapshot_file);
int snapshot__swap(const char *env_dir);
int snapshot__cleanup(const char *env_dir);

#endif
