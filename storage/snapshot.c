/*
 * Snapshots: create, stream, receive, install. See snapshot.h for the
 * install steps and why a crash leaves a whole environment.
 */
#include "storage/snapshot.h"

#include "lib/err.h"
#include "lib/log.h"
#include "storage/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Read and copy buffer. */
#define SNAPSHOT_IO_BUF ((size_t)1 << 20)
/* LMDB's lock file beside the data file. */
#define SNAPSHOT_LOCK_FILE "lock.mdb"
#define SNAPSHOT_STAGE_SUFFIX ".install"

/* The paths of one install: env_dir without trailing slashes, the stage
 * directory beside it, and their parent. */
struct snapshot_paths {
	char env[SNAPSHOT_PATH_MAX];
	char stage[SNAPSHOT_PATH_MAX];
	char parent[SNAPSHOT_PATH_MAX];
};

/* snapshot_join - out = a "/" b. Returns 0, KF_ETOOBIG. */
static int snapshot_join(char out[SNAPSHOT_PATH_MAX], const char *a, const char *b)
{
	int n = snprintf(out, SNAPSHOT_PATH_MAX, "%s/%s", a, b);

	return n < 0 || n >= SNAPSHOT_PATH_MAX ? KF_ETOOBIG : 0;
}

static int snapshot_paths_init(struct snapshot_paths *p, const char *env_dir)
{
	size_t len = strlen(env_dir);
	const char *slash;
	int n;

	while (len > 1 && env_dir[len - 1] == '/')
		len--;
	if (len == 0 || len >= SNAPSHOT_PATH_MAX)
		return len ? KF_ETOOBIG : -EINVAL;
	memcpy(p->env, env_dir, len);
	p->env[len] = '\0';
	n = snprintf(p->stage, sizeof(p->stage), "%s%s", p->env, SNAPSHOT_STAGE_SUFFIX);
	if (n < 0 || (size_t)n >= sizeof(p->stage))
		return KF_ETOOBIG;
	slash = strrchr(p->env, '/');
	if (!slash) {
		memcpy(p->parent, ".", 2);
	} else {
		size_t plen = slash == p->env ? 1 : (size_t)(slash - p->env);

		memcpy(p->parent, p->env, plen);
		p->parent[plen] = '\0';
	}
	return 0;
}

/* snapshot_fsync - fsync a file or a directory by path. */
static int snapshot_fsync(const char *path, bool dir)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* snapshot_write_all - write len bytes to fd. */
static int snapshot_write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* snapshot_rmdir - remove a directory of plain files; absent is fine. */
static int snapshot_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) != 0) {
			rc = -errno;
			break;
		}
	}
	closedir(d);
	if (rc == 0 && rmdir(dir) != 0)
		rc = -errno;
	return rc;
}

/* snapshot_unlink_lock - drop the lock file store_open left in dir. */
static void snapshot_unlink_lock(const char *dir)
{
	char lock[SNAPSHOT_PATH_MAX];

	if (snapshot_join(lock, dir, SNAPSHOT_LOCK_FILE) == 0)
		(void)unlink(lock);
}

/*
 * snapshot_probe - open dir as an environment and read its log state; this
 * proves the file is one. The store opens with a writable map, which
 * extends the data file (sparsely) to the map size; reading writes no page,
 * so the file's first length holds all of it and is restored, keeping a
 * compacted copy compact and its digest stable.
 */
static int snapshot_probe(const char *dir, struct log_state *st)
{
	char data[SNAPSHOT_PATH_MAX];
	struct store *s;
	struct store_txn *t;
	struct stat sb;
	int rc = snapshot_join(data, dir, SNAPSHOT_DATA_FILE);

	if (rc)
		return rc;
	if (stat(data, &sb) != 0)
		return -errno;
	rc = store_open(dir, NULL, &s);
	if (rc)
		return rc;
	rc = store_read_begin(s, &t);
	if (rc == 0) {
		rc = log_state(t, st);
		store_abort(t);
	}
	store_free(s);
	snapshot_unlink_lock(dir);
	if (truncate(data, sb.st_size) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* snapshot_digest - size and SHA-256 of a file. */
static int snapshot_digest(const char *path, uint64_t *size, char sha[DIGEST_SHA256_HEX + 1])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct digest *d;
	uint8_t *buf;
	ssize_t n;
	int rc;

	if (fd < 0)
		return -errno;
	buf = malloc(SNAPSHOT_IO_BUF);
	if (!buf)
		abort();
	d = digest_sha256_new();
	*size = 0;
	for (;;) {
		n = read(fd, buf, SNAPSHOT_IO_BUF);
		if (n <= 0)
			break;
		digest_update(d, buf, (size_t)n);
		*size += (uint64_t)n;
	}
	rc = n < 0 ? -errno : 0;
	if (rc == 0)
		digest_final_hex(d, sha);
	digest_free(d);
	free(buf);
	close(fd);
	return rc;
}

int snapshot_create(struct store *s, const char *dir, struct snapshot_info *info)
{
	struct log_state st;
	int rc;

	memset(info, 0, sizeof(*info));
	rc = snapshot_join(info->path, dir, SNAPSHOT_DATA_FILE);
	if (rc)
		return rc;
	rc = store_copy(s, dir);
	if (rc == 0)
		rc = snapshot_probe(dir, &st);
	if (rc == 0)
		rc = snapshot_fsync(info->path, false);
	if (rc == 0)
		rc = snapshot_fsync(dir, true);
	if (rc == 0)
		rc = snapshot_digest(info->path, &info->size, info->sha256);
	if (rc) {
		log_err(LOG_STORE, "snapshot not created dir=%s err=%s", dir, kf_errname(rc));
		return rc;
	}
	info->applied_index = st.applied_index;
	info->applied_epoch = st.applied_epoch;
	log_info(LOG_STORE, "snapshot created path=%s size=%llu index=%llu epoch=%llu", info->path,
		 (unsigned long long)info->size, (unsigned long long)info->applied_index,
		 (unsigned long long)info->applied_epoch);
	return 0;
}

/* ---- reader ---- */

struct snapshot_reader {
	int fd;
	uint64_t size;
};

int snapshot_reader_open(const char *path, struct snapshot_reader **out)
{
	struct snapshot_reader *r;
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) != 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	r->fd = fd;
	r->size = (uint64_t)sb.st_size;
	*out = r;
	return 0;
}

uint64_t snapshot_reader_size(const struct snapshot_reader *r)
{
	return r->size;
}

int snapshot_reader_read(struct snapshot_reader *r, uint64_t offset, void *buf, size_t cap,
			 size_t *n)
{
	*n = 0;
	while (*n < cap) {
		ssize_t got = pread(r->fd, (uint8_t *)buf + *n, cap - *n, (off_t)(offset + *n));

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			break;
		*n += (size_t)got;
	}
	return 0;
}

void snapshot_reader_free(struct snapshot_reader *r)
{
	if (!r)
		return;
	close(r->fd);
	free(r);
}

/* ---- receiver ---- */

struct snapshot_recv {
	int fd;
	uint64_t size;      /* announced */
	uint64_t received;
	bool finished;
	struct digest *digest;
	char path[SNAPSHOT_PATH_MAX];
};

int snapshot_recv_open(const char *path, uint64_t size, struct snapshot_recv **out)
{
	struct snapshot_recv *r;
	size_t len = strlen(path);

	if (size > SNAPSHOT_SIZE_MAX || len >= SNAPSHOT_PATH_MAX)
		return KF_ETOOBIG;
	r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	r->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (r->fd < 0) {
		int rc = -errno;

		free(r);
		return rc;
	}
	r->size = size;
	r->digest = digest_sha256_new();
	memcpy(r->path, path, len + 1);
	*out = r;
	return 0;
}

int snapshot_recv_write(struct snapshot_recv *r, uint64_t offset, const void *data, size_t len)
{
	int rc;

	if (offset != r->received)
		return KF_EPROTO;
	if (len > r->size - r->received)
		return KF_ETOOBIG;
	rc = snapshot_write_all(r->fd, data, len);
	if (rc)
		return rc;
	digest_update(r->digest, data, len);
	r->received += len;
	return 0;
}

int snapshot_recv_finish(struct snapshot_recv *r, const char *sha256_hex)
{
	char sha[DIGEST_SHA256_HEX + 1];
	int rc;

	if (r->received != r->size)
		return KF_EPROTO;
	digest_final_hex(r->digest, sha);
	if (strcmp(sha, sha256_hex) != 0) {
		log_warn(LOG_STORE, "snapshot digest differs path=%s want=%s got=%s", r->path,
			 sha256_hex, sha);
		return KF_ECORRUPT;
	}
	rc = fsync(r->fd) == 0 ? 0 : -errno;
	if (close(r->fd) != 0 && rc == 0)
		rc = -errno;
	r->fd = -1;
	r->finished = rc == 0;
	return rc;
}

void snapshot_recv_free(struct snapshot_recv *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	if (!r->finished)
		(void)unlink(r->path);
	digest_free(r->digest);
	free(r);
}

/* ---- install ---- */

/* snapshot_copy_file - copy src to the new file dst and fsync it. */
static int snapshot_copy_file(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out;
	uint8_t *buf;
	int rc = 0;

	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	buf = malloc(SNAPSHOT_IO_BUF);
	if (!buf)
		abort();
	while (rc == 0) {
		ssize_t n = read(in, buf, SNAPSHOT_IO_BUF);

		if (n <= 0) {
			rc = n < 0 ? -errno : 0;
			break;
		}
		rc = snapshot_write_all(out, buf, (size_t)n);
	}
	if (rc == 0 && fsync(out) != 0)
		rc = -errno;
	free(buf);
	close(out);
	close(in);
	return rc;
}

/* snapshot_move - put the snapshot file at dst: rename, or copy and remove
 * across file systems. */
static int snapshot_move(const char *src, const char *dst)
{
	int rc;

	if (rename(src, dst) == 0)
		return 0;
	if (errno != EXDEV)
		return -errno;
	rc = snapshot_copy_file(src, dst);
	if (rc == 0)
		(void)unlink(src);
	return rc;
}

int snapshot__stage(const char *env_dir, const char *snapshot_file)
{
	struct snapshot_paths p;
	char data[SNAPSHOT_PATH_MAX];
	struct log_state st;
	int rc = snapshot_paths_init(&p, env_dir);

	if (rc == 0)
		rc = snapshot_join(data, p.stage, SNAPSHOT_DATA_FILE);
	if (rc == 0)
		rc = snapshot_rmdir(p.stage);
	if (rc)
		return rc;
	if (mkdir(p.stage, 0700) != 0)
		return -errno;
	rc = snapshot_move(snapshot_file, data);
	if (rc == 0)
		rc = snapshot_probe(p.stage, &st);
	if (rc == 0)
		rc = snapshot_fsync(data, false);
	if (rc == 0)
		rc = snapshot_fsync(p.stage, true);
	if (rc == 0)
		rc = snapshot_fsync(p.parent, true);
	if (rc == 0)
		log_info(LOG_STORE, "snapshot staged dir=%s index=%llu epoch=%llu", p.stage,
			 (unsigned long long)st.applied_index, (unsigned long long)st.applied_epoch);
	return rc;
}

int snapshot__swap(const char *env_dir)
{
	struct snapshot_paths p;
	struct stat sb;
	int rc = snapshot_paths_init(&p, env_dir);

	if (rc)
		return rc;
	if (stat(p.env, &sb) == 0)
		rc = renameat2(AT_FDCWD, p.stage, AT_FDCWD, p.env, RENAME_EXCHANGE);
	else if (errno == ENOENT)
		rc = rename(p.stage, p.env);
	else
		rc = -1;
	if (rc != 0) {
		rc = -errno;
		log_err(LOG_STORE, "snapshot swap failed dir=%s err=%s", p.env, kf_errname(rc));
		return rc;
	}
	return snapshot_fsync(p.parent, true);
}

int snapshot__cleanup(const char *env_dir)
{
	struct snapshot_paths p;
	struct stat sb;
	int rc = snapshot_paths_init(&p, env_dir);

	if (rc)
		return rc;
	if (stat(p.stage, &sb) != 0)
		return errno == ENOENT ? 0 : -errno;
	rc = snapshot_rmdir(p.stage);
	if (rc == 0)
		rc = snapshot_fsync(p.parent, true);
	return rc;
}

int snapshot_recover(const char *env_dir)
{
	return snapshot__cleanup(env_dir);
}

int snapshot_install(const char *env_dir, const char *snapshot_file)
{
	int rc = snapshot__stage(env_dir, snapshot_file);

	if (rc == 0)
		rc = snapshot__swap(env_dir);
	if (rc) {
		(void)snapshot__cleanup(env_dir);
		return rc;
	}
	rc = snapshot__cleanup(env_dir);
	if (rc)
		log_warn(LOG_STORE, "snapshot installed, old environment not removed dir=%s err=%s",
			 env_dir, kf_errname(rc));
	log_info(LOG_STORE, "snapshot installed dir=%s", env_dir);
	return 0;
}
