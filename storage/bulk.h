/*
 * bulk - the fast way in for a BOSS file of A records only (a first load,
 * a day's new subscribers), inside the file's one write transaction.
 *
 * One pass over the file hashes and counts it for the .chk and parses
 * every record; custdb_record_add takes each apart into the puts it makes
 * and the keys it refers to. Each table gets a stream of puts and each
 * referenced table a stream of keys:
 *   - a stream whose keys come in ascending order past the table's last
 *     key is written as it comes (no sort, no check: no key of it can exist
 *     yet), appended to the table's last page (batch_apply_append);
 *   - the rest of a stream goes through an external sort (extsort.h: runs
 *     on disk, bounded memory) and is then merged with the table in key
 *     order: a put whose key is taken, or a key that comes twice, declines;
 *     a referenced key that is missing declines.
 * So every check of custdb_record for an A is made once per file, in key
 * order, instead of once per record at a random place in the tree.
 *
 * The pass and every check that needs no write of the load run on a
 * worker thread, reading through a read transaction beside t (it sees the
 * tables as they were before the load); the thread that calls bulk_load,
 * which owns t, applies the batches the worker fills as they come, two at
 * most in flight. The put streams of tables the pass wrote to are merged
 * on that thread afterwards, against t. So t must hold no write to the
 * customer tables before bulk_load is called.
 *
 * Declining is the answer to anything unusual: an M or D, a line that does
 * not parse, a rule broken, a .chk that does not match, a temporary file
 * that cannot be written. Whatever was written is then in t, which the
 * caller must abort; the record-by-record path (import.c) then runs on a
 * fresh transaction and finds the first bad line in file order, or applies
 * the file after all. Errors are rare: they cost a second pass, nothing else.
 *
 * The ops written are exactly those custdb_record would write, so the
 * database is the same whichever way a file went. Each batch applied is
 * handed to write_hooks_log (last = false): the leader of a cluster ships
 * the bulk load like any other.
 */
#ifndef KEFU_STORAGE_BULK_H
#define KEFU_STORAGE_BULK_H

#include "storage/batch.h"
#include "storage/boss.h"
#include "storage/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bulk_opts {
	const char *tmp_dir;       /* where sorted runs spill (must exist) */
	size_t run_bytes;          /* memory of one stream's run; 0 = 8 MiB */
	size_t batch_bytes;        /* ops applied (and logged) per batch; 0 = 4 MiB */
	const struct write_hooks *hooks; /* NULL: alone */
	bool progress;             /* "progress NAME RECORDS" lines on stderr */
	uint64_t progress_every;   /* records between them; 0 = 100000 */
};

/* The data file and what its .chk says of it. */
struct bulk_file {
	const char *path;
	const char *name;          /* for progress lines and logs */
	enum boss_kind kind;
	uint64_t records, bytes;
	const char *sha256;        /* lower-case hex */
};

/* bulk_load's answer when the file must go the record-by-record way. */
#define BULK_DECLINED 1

/*
 * bulk_load - load the file into the write transaction t, using b (which
 * it resets) for the ops. On 0 every record is applied to t and *records
 * says how many; the caller adds the file's registry entry and commits.
 * Returns 0, BULK_DECLINED (why names the reason; t must be aborted),
 * KF_EMAPFULL, KF_ESTORE (t must be aborted).
 */
int bulk_load(struct store_txn *t, struct batch *b, const struct bulk_opts *o,
	      const struct bulk_file *f, uint64_t *records, char *why, size_t whylen);

#endif
