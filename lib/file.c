/* Small files read whole. See file.h. */
#include "lib/file.h"

#include "lib/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

int file_read_all(const char *path, size_t max, char **text, size_t *len)
{
	size_t cap = max + 1, n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf;

	if (fd < 0)
		return -errno;
	buf = malloc(cap + 1);
	if (!buf)
		abort();
	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;

			free(buf);
			close(fd);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > max) {
		free(buf);
		return KF_ETOOBIG;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

int file_records(const char *path, file_record_fn fn, void *arg)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char *buf = NULL;
	size_t cap = 0;
	int err = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		uint32_t n;
		ssize_t got = read(fd, &n, sizeof(n));

		if (got == 0)
			break;
		if (got != (ssize_t)sizeof(n)) {
			err = got < 0 ? -errno : KF_ECORRUPT;
			break;
		}
		if (n > cap) {
			cap = n;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		got = read(fd, buf, n);
		if (got != (ssize_t)n) {
			err = got < 0 ? -errno : KF_ECORRUPT;
			break;
		}
		if ((err = fn(arg, buf, n)) != 0)
			break;
	}
	free(buf);
	close(fd);
	return err;
}
