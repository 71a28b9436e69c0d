/*
 * kefuctl backup and restore (docs/appliance.md).
 *
 * backup --out FILE: a node makes a consistent copy of its replica while
 * writes go on (node/backup.c); it is read in chunks from that node and
 * written to FILE as one header line, then the copy's bytes:
 *
 *   KEFU-BACKUP 1 {"node", "made_ms", "size", "sha256", "applied_index", "applied_epoch"}\n
 *   <size bytes: an LMDB environment's data.mdb>
 *
 * The bytes' SHA-256 is checked against the node's before FILE appears
 * (it is written as FILE.part and renamed).
 *
 * restore --in FILE --db DIR: checks the size and SHA-256 and installs the
 * copy as the environment in DIR (storage/snapshot.h: crash-safe; the old
 * environment, if any, is replaced). The node started on it catches up with
 * the log from the copy's applied index on (or takes a snapshot when the
 * leader has truncated past it). With --new-cluster the copy's log is reset
 * (storage/log.h log_restart) so that it starts a new cluster whose first
 * leader it is. The node on DIR must be stopped.
 *
 * Exit status: 0 success; 1 the node refused or the copy is damaged; 2 bad
 * usage or a file that cannot be read or written.
 */
#include "cluster/kefuctl/ctl.h"

#include "lib/digest.h"
#include "lib/err.h"
#include "storage/log.h"
#include "storage/snapshot.h"
#include "storage/store.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BACKUP_TIMEOUT_MS 600000
#define READ_CHUNK (1u << 20)
#define MAGIC "KEFU-BACKUP 1 "
#define HEADER_MAX 4096

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One request to the node at index node (no other: the copy lives there). */
static int ask(Kefu__Envelope *req, Kefu__Envelope__BodyCase want, size_t node,
	       Kefu__Envelope **out)
{
	size_t at = node;
	int r = ctl_call_expect(req, want, BACKUP_TIMEOUT_MS, &at, out);

	if (r == 0 && at != node) {
		fprintf(stderr, "kefuctl: the node making the backup went away; run the backup "
				"again\n");
		kefu__envelope__free_unpacked(*out, NULL);
		*out = NULL;
		return EXIT_NEGATIVE;
	}
	return r;
}

static void forget(uint64_t id, size_t node)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
	Kefu__BackupRead rd = KEFU__BACKUP_READ__INIT;

	rd.has_id = rd.has_done = 1;
	rd.id = id;
	rd.done = true;
	req.body_case = KEFU__ENVELOPE__BODY_BACKUP_READ;
	req.backup_read = &rd;
	if (ask(&req, KEFU__ENVELOPE__BODY_ADMIN_REPLY, node, &rep) == 0)
		kefu__envelope__free_unpacked(rep, NULL);
}

/* The copy's bytes after the header, into fd, checked against br. */
static int fetch(const Kefu__BackupReply *br, size_t node, int fd)
{
	struct digest *d = digest_sha256_new();
	char hex[DIGEST_SHA256_HEX + 1];
	uint64_t off = 0;
	int r = 0;

	while (off < br->size && r == 0) {
		Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
		Kefu__BackupRead rd = KEFU__BACKUP_READ__INIT;
		const ProtobufCBinaryData *data;

		rd.has_id = rd.has_offset = rd.has_len = 1;
		rd.id = br->id;
		rd.offset = off;
		rd.len = READ_CHUNK;
		req.body_case = KEFU__ENVELOPE__BODY_BACKUP_READ;
		req.backup_read = &rd;
		if ((r = ask(&req, KEFU__ENVELOPE__BODY_BACKUP_DATA, node, &rep)))
			break;
		data = &rep->backup_data->data;
		if (rep->backup_data->offset != off || data->len == 0) {
			fprintf(stderr, "kefuctl: the node sent %zu bytes at %" PRIu64 " for %" PRIu64
					"; the copy is shorter than announced\n",
				data->len, rep->backup_data->offset, off);
			r = EXIT_NEGATIVE;
		} else if ((r = write_all(fd, data->data, data->len))) {
			fprintf(stderr, "kefuctl: writing the backup: %s\n", strerror(-r));
			r = EXIT_USAGE;
		} else {
			digest_update(d, data->data, data->len);
			off += data->len;
		}
		kefu__envelope__free_unpacked(rep, NULL);
	}
	digest_final_hex(d, hex);
	digest_free(d);
	if (r == 0 && strcmp(hex, br->sha256 ? br->sha256 : "") != 0) {
		fprintf(stderr, "kefuctl: the bytes received do not have the copy's SHA-256\n");
		r = EXIT_NEGATIVE;
	}
	return r;
}

int ctl_backup(int argc, char **argv)
{
	static const struct option opts[] = {
		{"out", required_argument, NULL, 'o'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep = NULL;
	Kefu__BackupRequest brq = KEFU__BACKUP_REQUEST__INIT;
	const Kefu__BackupReply *br;
	const char *out = NULL;
	char part[4096], *head;
	bool json = false;
	size_t node = 0;
	json_t *h;
	int c, fd, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'j': json = true; break;
		default: return ctl_usage_error("unknown option");
		}
	}
	if (!out || optind < argc)
		return ctl_usage_error("backup takes --out FILE");
	if (snprintf(part, sizeof(part), "%s.part", out) >= (int)sizeof(part))
		return ctl_usage_error("--out: the path is too long");
	req.body_case = KEFU__ENVELOPE__BODY_BACKUP_REQUEST;
	req.backup_request = &brq;
	if ((r = ctl_call_expect(&req, KEFU__ENVELOPE__BODY_BACKUP_REPLY, BACKUP_TIMEOUT_MS, &node,
				 &rep)))
		return r;
	br = rep->backup_reply;
	h = json_object();
	json_object_set_new(h, "node", json_string(br->node ? br->node : ""));
	json_object_set_new(h, "made_ms", json_integer((json_int_t)br->made_ms));
	json_object_set_new(h, "size", json_integer((json_int_t)br->size));
	json_object_set_new(h, "sha256", json_string(br->sha256 ? br->sha256 : ""));
	json_object_set_new(h, "applied_index", json_integer((json_int_t)br->applied_index));
	json_object_set_new(h, "applied_epoch", json_integer((json_int_t)br->applied_epoch));
	head = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
	fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "kefuctl: %s: %s\n", part, strerror(errno));
		r = EXIT_USAGE;
		goto out;
	}
	if ((r = write_all(fd, MAGIC, strlen(MAGIC))) || (r = write_all(fd, head, strlen(head))) ||
	    (r = write_all(fd, "\n", 1))) {
		fprintf(stderr, "kefuctl: %s: %s\n", part, strerror(-r));
		r = EXIT_USAGE;
	} else {
		r = fetch(br, node, fd);
	}
	if (r == 0 && fsync(fd) != 0) {
		fprintf(stderr, "kefuctl: %s: %s\n", part, strerror(errno));
		r = EXIT_USAGE;
	}
	close(fd);
	if (r == 0 && rename(part, out) != 0) {
		fprintf(stderr, "kefuctl: %s: %s\n", out, strerror(errno));
		r = EXIT_USAGE;
	}
	if (r)
		unlink(part);
	forget(br->id, node);
	if (r == 0 && json)
		printf("%s\n", head);
	else if (r == 0)
		printf("backup of %s at log index %" PRIu64 " (epoch %" PRIu64 "): %" PRIu64
		       " bytes, sha256 %s -> %s\n", br->node ? br->node : "", br->applied_index,
		       br->applied_epoch, br->size, br->sha256 ? br->sha256 : "", out);
out:
	free(head);
	json_decref(h);
	kefu__envelope__free_unpacked(rep, NULL);
	return r;
}

/* ---- restore ---- */

/* The header of the backup in f: size and sha256. */
static int read_header(FILE *f, const char *path, uint64_t *size, char sha[DIGEST_SHA256_HEX + 1],
		       uint64_t *index)
{
	char line[HEADER_MAX];
	json_error_t jerr;
	json_t *h, *v;
	size_t n;

	if (!fgets(line, sizeof(line), f) || strncmp(line, MAGIC, strlen(MAGIC)) != 0 ||
	    !(n = strlen(line)) || line[n - 1] != '\n') {
		fprintf(stderr, "kefuctl: %s is not a kefu backup (no KEFU-BACKUP 1 header)\n", path);
		return EXIT_NEGATIVE;
	}
	h = json_loadb(line + strlen(MAGIC), n - 1 - strlen(MAGIC), 0, &jerr);
	v = h ? json_object_get(h, "sha256") : NULL;
	if (!h || !json_is_integer(json_object_get(h, "size")) || !json_is_string(v) ||
	    strlen(json_string_value(v)) != DIGEST_SHA256_HEX ||
	    json_integer_value(json_object_get(h, "size")) <= 0) {
		fprintf(stderr, "kefuctl: %s: the backup's header is damaged\n", path);
		json_decref(h);
		return EXIT_NEGATIVE;
	}
	*size = (uint64_t)json_integer_value(json_object_get(h, "size"));
	*index = (uint64_t)json_integer_value(json_object_get(h, "applied_index"));
	memcpy(sha, json_string_value(v), DIGEST_SHA256_HEX + 1);
	json_decref(h);
	return 0;
}

/* The copy's bytes from f into the file path, checked. */
static int extract(FILE *f, const char *in, const char *path, uint64_t size, const char *sha)
{
	struct snapshot_recv *rv = NULL;
	uint64_t off = 0;
	char *buf = malloc(READ_CHUNK);
	int err;

	if (!buf)
		abort();
	err = snapshot_recv_open(path, size, &rv);
	while (!err && off < size) {
		size_t want = size - off < READ_CHUNK ? (size_t)(size - off) : READ_CHUNK;
		size_t got = fread(buf, 1, want, f);

		if (got == 0) {
			fprintf(stderr, "kefuctl: %s is cut short: %" PRIu64 " of %" PRIu64 " bytes\n",
				in, off, size);
			err = KF_ECORRUPT;
			break;
		}
		err = snapshot_recv_write(rv, off, buf, got);
		off += got;
	}
	if (!err && fgetc(f) != EOF) {
		fprintf(stderr, "kefuctl: %s has bytes past the copy\n", in);
		err = KF_ECORRUPT;
	}
	if (!err)
		err = snapshot_recv_finish(rv, sha);
	snapshot_recv_free(rv);
	free(buf);
	if (err == KF_ECORRUPT)
		fprintf(stderr, "kefuctl: %s is damaged (size or SHA-256 differs): nothing restored\n",
			in);
	else if (err)
		fprintf(stderr, "kefuctl: %s: %s\n", path, kf_strerror(err));
	return err;
}

static int restart_log(const char *dir)
{
	struct store *s;
	struct store_txn *t;
	int err = store_open(dir, NULL, &s);

	if (err)
		return err;
	if (!(err = store_write_begin(s, &t))) {
		err = log_restart(t);
		err = err ? (store_abort(t), err) : store_commit(t);
	}
	store_free(s);
	return err;
}

int ctl_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{"in", required_argument, NULL, 'i'},
		{"db", required_argument, NULL, 'd'},
		{"new-cluster", no_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	const char *in = NULL, *db = "/var/lib/kefu/data";
	char sha[DIGEST_SHA256_HEX + 1], staged[4096];
	bool fresh = false;
	uint64_t size, index;
	FILE *f;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i': in = optarg; break;
		case 'd': db = optarg; break;
		case 'n': fresh = true; break;
		default: return ctl_usage_error("unknown option");
		}
	}
	if (!in || optind < argc)
		return ctl_usage_error("restore takes --in FILE [--db DIR] [--new-cluster]");
	if (snprintf(staged, sizeof(staged), "%s.restore", db) >= (int)sizeof(staged))
		return ctl_usage_error("--db: the path is too long");
	if (!(f = fopen(in, "r"))) {
		fprintf(stderr, "kefuctl: %s: %s\n", in, strerror(errno));
		return EXIT_USAGE;
	}
	r = read_header(f, in, &size, sha, &index);
	if (!r && extract(f, in, staged, size, sha))
		r = EXIT_NEGATIVE;
	fclose(f);
	if (r) {
		unlink(staged);
		return r;
	}
	if ((r = snapshot_install(db, staged))) {
		fprintf(stderr, "kefuctl: installing into %s: %s (the old data, if any, is in "
				"place)\n", db, kf_strerror(r));
		unlink(staged);
		return EXIT_NEGATIVE;
	}
	if (fresh && (r = restart_log(db))) {
		fprintf(stderr, "kefuctl: %s: the log of the new cluster not reset: %s\n", db,
			kf_strerror(r));
		return EXIT_NEGATIVE;
	}
	printf("restored %s into %s at log index %" PRIu64 "%s\n", in, db, index,
	       fresh ? ", as the first node of a new cluster" : "; the node catches up from there");
	return 0;
}
