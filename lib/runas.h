/*
 * Running as an unprivileged user: kefud started by root opens what needs
 * root (its files, data directory, listener), then becomes the configured
 * user for good before it talks to the network.
 *
 * runas_plan says what to do, early, before anything is opened;
 * runas_adopt hands a directory's entries that root created to the user;
 * runas_drop switches. Every reason is one line for the operator, written
 * into why[0..why_size) (why may be NULL).
 */
#ifndef KEFU_LIB_RUNAS_H
#define KEFU_LIB_RUNAS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The longest reason runas_* functions write, with its NUL. */
#define RUNAS_WHY_MAX 256

struct runas {
	char user[64];  /* the user's name; "" when none was configured */
	uid_t uid;      /* the user's, when user is set */
	gid_t gid;      /* the user's primary group */
	bool as_root;   /* the process runs as root (euid 0) */
	bool drop;      /* runas_drop switches to uid/gid (root, a user other than root) */
};

/*
 * runas_plan - what running as user (NULL or "" = as started) means for
 * this process, into *out. Returns 0, or KF_ECONFIG: no such user; or a
 * process not started as root whose user is not the configured one (it
 * cannot switch: start it as root or as that user).
 */
int runas_plan(const char *user, struct runas *out, char *why, size_t why_size);

/*
 * runas_owns - whether path (a directory, not followed if a link) belongs
 * to ra's user. Returns 0, -errno (cannot stat it), KF_ECONFIG (another
 * owner; why names both and the chown that fixes it).
 */
int runas_owns(const struct runas *ra, const char *what, const char *path, char *why,
	       size_t why_size);

/*
 * runas_adopt - every entry directly in dir (links not followed) that
 * belongs to another uid is given to ra's user and group: the files the
 * process, still root, has just created there. Call it only on a
 * directory runas_owns said belongs to the user. Sets *n to the number
 * changed. Returns 0, -errno.
 */
int runas_adopt(const struct runas *ra, const char *dir, unsigned *n, char *why,
		size_t why_size);

/*
 * runas_drop - when ra->drop: initgroups, setgid, setuid to ra's user,
 * then checks that real, effective and saved ids are the user's and that
 * root cannot be regained. A no-op otherwise. Returns 0, -errno (a call
 * failed), KF_EINTERNAL (root could be regained: the caller must exit).
 */
int runas_drop(const struct runas *ra, char *why, size_t why_size);

#endif
