/* Switching to an unprivileged user. See runas.h. */
#include "lib/runas.h"

#include "lib/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int runas_plan(const char *user, struct runas *out, char *why, size_t why_size)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	uid_t euid = geteuid();
	int e;

	memset(out, 0, sizeof(*out));
	out->as_root = euid == 0;
	if (!user || !user[0])
		return 0;
	if (strlen(user) >= sizeof(out->user)) {
		kf_why(why, why_size, "user %.64s...: name too long", user);
		return KF_ECONFIG;
	}
	e = getpwnam_r(user, &pw, buf, sizeof(buf), &found);
	if (!found) {
		kf_why(why, why_size, "user %s: %s", user, e ? strerror(e) : "no such user");
		return KF_ECONFIG;
	}
	snprintf(out->user, sizeof(out->user), "%s", user);
	out->uid = pw.pw_uid;
	out->gid = pw.pw_gid;
	if (!out->as_root && pw.pw_uid != euid) {
		kf_why(why, why_size,
		       "user = %s, but kefud runs as uid %u, which cannot switch users: start "
		       "it as root or as %s",
		       user, (unsigned)euid, user);
		return KF_ECONFIG;
	}
	out->drop = out->as_root && pw.pw_uid != 0;
	return 0;
}

int runas_owns(const struct runas *ra, const char *what, const char *path, char *why,
	       size_t why_size)
{
	struct stat sb;

	if (lstat(path, &sb) != 0) {
		int e = errno;

		kf_why(why, why_size, "%s %s: %s", what, path, strerror(e));
		return -e;
	}
	if (sb.st_uid != ra->uid) {
		kf_why(why, why_size,
		       "%s %s belongs to uid %u, not to user %s (uid %u): chown -R %s: %s",
		       what, path, (unsigned)sb.st_uid, ra->user, (unsigned)ra->uid, ra->user,
		       path);
		return KF_ECONFIG;
	}
	return 0;
}

int runas_adopt(const struct runas *ra, const char *dir, unsigned *n, char *why,
		size_t why_size)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	int r = 0;

	*n = 0;
	if (fd < 0 || !(d = fdopendir(fd))) {
		r = -errno;
		kf_why(why, why_size, "%s: %s", dir, strerror(-r));
		if (fd >= 0)
			close(fd);
		return r;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat sb;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
		    (sb.st_uid == ra->uid && sb.st_gid == ra->gid))
			continue;
		if (fchownat(fd, de->d_name, ra->uid, ra->gid, AT_SYMLINK_NOFOLLOW) != 0) {
			r = -errno;
			kf_why(why, why_size, "chown %s/%s: %s", dir, de->d_name, strerror(-r));
			break;
		}
		(*n)++;
	}
	closedir(d);
	return r;
}

int runas_drop(const struct runas *ra, char *why, size_t why_size)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (!ra->drop)
		return 0;
	if (initgroups(ra->user, ra->gid) != 0 || setgid(ra->gid) != 0 || setuid(ra->uid) != 0) {
		int e = errno;

		kf_why(why, why_size, "switching to user %s (uid %u gid %u): %s", ra->user,
		       (unsigned)ra->uid, (unsigned)ra->gid, strerror(e));
		return -e;
	}
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 ||
	    ru != ra->uid || eu != ra->uid || su != ra->uid || rg != ra->gid || eg != ra->gid ||
	    sg != ra->gid || setuid(0) == 0 || seteuid(0) == 0) {
		kf_why(why, why_size, "user %s: root could be regained after the switch",
		       ra->user);
		return KF_EINTERNAL;
	}
	return 0;
}
