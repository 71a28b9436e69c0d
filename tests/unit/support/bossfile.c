/* Test helpers: temporary directories and BOSS files (see bossfile.h). */
#include "tests/unit/support/bossfile.h"

#include "lib/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int bossfile_tmpdir(const char *tag, char *out, size_t cap)
{
	int n = snprintf(out, cap, "/tmp/kefu-%s-XXXXXX", tag);

	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	return mkdtemp(out) ? 0 : -errno;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void bossfile_rmtree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int join(const char *dir, const char *name, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

int bossfile_put(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096];
	const char *p = data;
	int fd, r;

	if ((r = join(dir, name, path, sizeof(path))))
		return r;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			r = -errno;
			close(fd);
			return r;
		}
		p += n;
		len -= (size_t)n;
	}
	return close(fd) == 0 ? 0 : -errno;
}

int bossfile_chk_line(const char *name, const void *data, size_t len, char *out, size_t cap)
{
	char hex[DIGEST_SHA256_HEX + 1];
	const char *p = data, *end = p + len;
	unsigned long long records = 0;
	int n;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		records++;
		p++;
	}
	if (len > 0 && ((const char *)data)[len - 1] != '\n')
		records++;
	digest_sha256_hex(data, len, hex);
	n = snprintf(out, cap, "%s|%llu|%zu|%s\n", name, records, len, hex);
	return (n < 0 || (size_t)n >= cap) ? -ENOSPC : 0;
}

static int chk_name(const char *name, char *out, size_t cap)
{
	size_t len = strlen(name);
	int n;

	if (len < 4 || strcmp(name + len - 4, ".dat") != 0)
		return -EINVAL;
	n = snprintf(out, cap, "%.*s.chk", (int)(len - 4), name);
	return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

int bossfile_write_chk(const char *dir, const char *name, const char *text)
{
	char chk[512];
	int r = chk_name(name, chk, sizeof(chk));

	return r ? r : bossfile_put(dir, chk, text, strlen(text));
}

int bossfile_write(const char *dir, const char *name, const void *data, size_t len)
{
	char line[1024];
	int r;

	if ((r = bossfile_chk_line(name, data, len, line, sizeof(line))))
		return r;
	if ((r = bossfile_put(dir, name, data, len)))
		return r;
	return bossfile_write_chk(dir, name, line);
}

bool bossfile_exists(const char *dir, const char *name)
{
	char path[4096];

	return join(dir, name, path, sizeof(path)) == 0 && access(path, F_OK) == 0;
}

int bossfile_read(const char *dir, const char *name, char *out, size_t cap)
{
	char path[4096];
	size_t got = 0;
	ssize_t n = 0;
	int fd, r;

	if ((r = join(dir, name, path, sizeof(path))))
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got + 1 < cap && (n = read(fd, out + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	r = n < 0 ? -errno : 0;
	close(fd);
	out[got] = '\0';
	return r;
}
