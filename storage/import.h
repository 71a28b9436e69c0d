/*
 * The BOSS batch-file importer (shared/boss-files.md).
 *
 * For each data file, in BOSS order (production time, then kind, then SEQ):
 *   1. its .chk must exist (a .dat without one is still being written: held);
 *   2. a name applied before is skipped when the hash is the same and
 *      rejected when it is not;
 *   3. SEQ must be the next of its PROV+KIND stream; a later one is held
 *      until the missing one arrives or an operator skips it (import_skip);
 *   4. record count, byte count and SHA-256 must match the .chk;
 *   5. every record is parsed, checked and applied inside one write
 *      transaction, so the file is applied whole or not at all and a crash
 *      halfway leaves nothing of it. A file of A records only goes the bulk
 *      way (bulk.h): one pass that hashes, parses and sorts, then the
 *      checks of the whole file in key order. Anything else, and any file
 *      the bulk load declines (a broken rule, a .chk that does not match),
 *      goes the exact way: verified, then streamed and checked in chunks
 *      (at most 32,768 records or chunk_bytes of values) whose reads are
 *      fetched and whose ops are applied in key order (overlay.h). Either
 *      way the outcome, reject line and reason included, is the one of
 *      applying record after record, and memory stays bounded.
 * Applied and skipped files then move to the archive folder; rejected ones
 * move with their .chk to the rejected folder beside NAME.report, which
 * names the line, the field and the reason.
 */
#ifndef KEFU_STORAGE_IMPORT_H
#define KEFU_STORAGE_IMPORT_H

#include "storage/batch.h"
#include "storage/boss.h"
#include "storage/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct import_opts {
	const char *rejected_dir; /* NULL: rejected files stay where they are */
	const char *archive_dir;  /* NULL: processed files stay where they are */
	const char *origin;       /* who imports, kept in the batches; NULL = "import" */
	bool progress;            /* "progress NAME RECORDS" lines on stderr */
	uint64_t progress_every;  /* records between progress lines; 0 = 100000 */
	size_t chunk_bytes;       /* values per chunk of records; 0 = 4 MiB */
	int64_t now;              /* unix seconds recorded as applied_at; 0 = the clock */
	/* The bulk load of files of A records (bulk.h): its sorted runs spill
	 * into tmp_dir (NULL: the database's directory), sort_bytes each
	 * (0 = 8 MiB). no_bulk: every file record by record. */
	const char *tmp_dir;
	size_t sort_bytes;
	bool no_bulk;
	/* Cluster mode: a file's transaction runs through these and its
	 * chunks go to the replicated log as one group (batch.h). NULL: alone. */
	const struct write_hooks *hooks;
};

#define IMPORT_OUTCOMES(X)                  \
	X(IMPORT_APPLIED, "applied")        \
	X(IMPORT_SKIPPED, "skipped")        \
	X(IMPORT_HELD, "held")              \
	X(IMPORT_REJECTED, "rejected")

enum import_outcome {
#define IMPORT_OUTCOME_ENUM_(e, s) e,
	IMPORT_OUTCOMES(IMPORT_OUTCOME_ENUM_)
#undef IMPORT_OUTCOME_ENUM_
	IMPORT_OUTCOME_COUNT
};

struct import_result {
	enum import_outcome outcome;
	char name[BOSS_NAME_MAX + 1];  /* base name of the data file */
	uint64_t records;              /* records in the file (from the .chk when known) */
	uint64_t line;                 /* rejected: line of the bad record; 0 = the file */
	char field[40];                /* rejected: field named, "" if none */
	char reason[400];              /* held/rejected/skipped: why */
	bool bulk;                     /* applied by the bulk load */
};

struct import_summary {
	uint64_t files[IMPORT_OUTCOME_COUNT];
	uint64_t records_applied;
};

/*
 * Files by outcome and by kind, for the node's metrics: import_tally_add
 * counts a result from any thread (atomic adds), import_tally_get reads a
 * count from any other. Zero-initialised is empty. kind is a boss_kind, or
 * BOSS_KIND_COUNT for a file whose name is no BOSS data file name.
 */
struct import_tally {
	uint64_t n[IMPORT_OUTCOME_COUNT][BOSS_KIND_COUNT + 1];
};

void import_tally_add(struct import_tally *t, const struct import_result *r);
uint64_t import_tally_get(const struct import_tally *t, enum import_outcome o, size_t kind);

/* Called once per file, in processing order; r is valid during the call. */
typedef void (*import_report_fn)(void *arg, const struct import_result *r);

/* import_outcome_name - "applied", ...; static. */
const char *import_outcome_name(enum import_outcome o);

/*
 * import_format - the operator's line for a result:
 * "applied|skipped|held|rejected NAME RECORDS [reason]". Returns out.
 */
char *import_format(const struct import_result *r, char *out, size_t cap);

/*
 * import_files - process the data files at paths (each a path to a .dat).
 * fn (may be NULL) hears every outcome; sum (may be NULL) is filled.
 * Returns 0 when every file was processed (rejections are outcomes, not
 * errors), or a storage/system error that stopped the run (files already
 * applied stay applied).
 */
int import_files(struct store *s, const struct import_opts *o, const char *const *paths,
		 size_t n, import_report_fn fn, void *arg, struct import_summary *sum);

/* import_dir - import_files over every *.dat directly inside dir. */
int import_dir(struct store *s, const struct import_opts *o, const char *dir,
	       import_report_fn fn, void *arg, struct import_summary *sum);

/*
 * import_dir_quiet_ms - how long ago the last change to a delivery file
 * (*.dat or *.chk directly inside dir) happened: the later of its data
 * written (mtime) and its name moved in (ctime), against the wall clock, in
 * ms (0 for a change stamped in the future). *quiet_ms = INT64_MAX when dir
 * holds no such file. A watcher scans once the folder has been quiet a
 * while, so that a delivery copied in file by file is never caught halfway
 * (a CDR file applied before the USER file of the same delivery is there).
 * Returns 0 or -errno.
 */
int import_dir_quiet_ms(const char *dir, int64_t *quiet_ms);

/*
 * import_skip - an operator's decision that SEQ seq of prov+kind will never
 * come: recorded (with reason) and the stream moves past it, releasing the
 * files held behind it. seq must be the next expected one.
 * Returns 0, KF_ESTATE (why says the expected SEQ), KF_EPARSE (bad prov),
 * storage errors.
 */
int import_skip(struct store *s, const struct write_hooks *hooks, const char *prov,
		enum boss_kind kind, uint32_t seq, const char *reason, char *why, size_t whylen);

/* import_next_seq - the SEQ the prov+kind stream expects next (1 for a new one). */
int import_next_seq(struct store *s, const char *prov, enum boss_kind kind, uint32_t *seq);

#endif
