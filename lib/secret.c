/* Files that hold secrets: checked before they are used. See secret.h. */
#include "lib/secret.h"

#include "lib/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The user a root process will become (secret_trust_uid); 0: none. */
static uid_t trusted;

bool secret_owner_ok(uid_t owner, uid_t reader)
{
	return owner == reader || owner == 0;
}

void secret_trust_uid(uid_t uid)
{
	trusted = uid;
}

/* The one rule: a regular file that only its owner may read or write, and
 * that owner root or the user reading it. */
static int secret_mode_check(const struct stat *sb, const char *path, const char *what,
			     char *why, size_t why_size)
{
	if (!S_ISREG(sb->st_mode)) {
		kf_why(why, why_size, "%s %s is not a regular file", what, path);
		return KF_ECONFIG;
	}
	if (sb->st_mode & (S_IRWXG | S_IRWXO)) {
		kf_why(why, why_size,
		       "%s %s is open to group or others (mode %03o): chmod 600 it", what,
		       path, (unsigned)(sb->st_mode & 0777));
		return KF_ECONFIG;
	}
	if (!secret_owner_ok(sb->st_uid, geteuid()) && !(trusted && sb->st_uid == trusted)) {
		kf_why(why, why_size,
		       "%s %s belongs to uid %u, neither root nor the user reading it (uid %u) "
		       "or to become: chown it",
		       what, path, (unsigned)sb->st_uid, (unsigned)geteuid());
		return KF_ECONFIG;
	}
	return 0;
}

int secret_file_check(const char *path, const char *what, char *why, size_t why_size)
{
	struct stat sb;

	if (stat(path, &sb) != 0) {
		int e = errno;

		kf_why(why, why_size, "%s %s: %s", what, path, strerror(e));
		return -e;
	}
	return secret_mode_check(&sb, path, what, why, why_size);
}

void secret_wipe(void *buf, size_t len)
{
	explicit_bzero(buf, len);
}

void secret_free(char *buf, size_t len)
{
	if (!buf)
		return;
	secret_wipe(buf, len);
	free(buf);
}

int secret_file_read(const char *path, const char *what, size_t max, char **out, size_t *len,
		     char *why, size_t why_size)
{
	/* O_NONBLOCK: a FIFO under the name must not hang the open; it is refused below. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat sb;
	char *buf = NULL;
	size_t n = 0;
	int r;

	*out = NULL;
	*len = 0;
	if (fd < 0 || fstat(fd, &sb) != 0) {
		r = -errno;
		kf_why(why, why_size, "%s %s: %s", what, path, strerror(-r));
		goto fail;
	}
	if ((r = secret_mode_check(&sb, path, what, why, why_size)) != 0)
		goto fail;
	if ((uint64_t)sb.st_size > max) {
		kf_why(why, why_size, "%s %s: over %zu bytes", what, path, max);
		r = KF_ETOOBIG;
		goto fail;
	}
	buf = malloc(max + 1);
	if (!buf)
		abort();
	while (n < max + 1) {
		ssize_t got = read(fd, buf + n, max + 1 - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			kf_why(why, why_size, "%s %s: %s", what, path, strerror(-r));
			goto fail;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > max) {
		kf_why(why, why_size, "%s %s: over %zu bytes", what, path, max);
		r = KF_ETOOBIG;
		goto fail;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
fail:
	secret_free(buf, max + 1);
	if (fd >= 0)
		close(fd);
	return r;
}

int secret_file_first_line(const char *path, const char *what, char *out, size_t size,
			   char *why, size_t why_size)
{
	/* Room for the line, its end and a little after: a password file is small. */
	size_t max = size + 4096, len, n;
	char *text, *nl;
	int r = secret_file_read(path, what, max, &text, &len, why, why_size);

	if (r)
		return r;
	nl = memchr(text, '\n', len);
	n = nl ? (size_t)(nl - text) : len;
	if (n > 0 && text[n - 1] == '\r')
		n--;
	if (n == 0 || memchr(text, '\0', n)) {
		kf_why(why, why_size, "%s %s: the first line must hold the secret, without NUL",
		       what, path);
		r = KF_ECONFIG;
	} else if (n >= size) {
		kf_why(why, why_size, "%s %s: the first line is over %zu bytes", what, path,
		       size - 1);
		r = KF_ETOOBIG;
	} else {
		memcpy(out, text, n);
		out[n] = '\0';
	}
	secret_free(text, len);
	return r;
}
