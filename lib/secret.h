/*
 * Files that hold secrets: private keys and password files.
 *
 * A secret that group or others may read is as good as published, and one
 * they may write can be swapped for theirs: such a file is refused, not
 * used, with the fix in the reason ("chmod 600 it"). Only regular files
 * hold secrets; a FIFO, a device or a directory under a secret's name is
 * refused as well. A symbolic link is followed and the file it names is
 * judged: its mode is what keeps the secret (keys under a certificate
 * manager's "live" links stay usable), the link's own mode means nothing.
 *
 * Every reason is one line naming the option (what) and the file, for the
 * operator, written into why[0..why_size) (why may be NULL).
 */
#ifndef KEFU_LIB_SECRET_H
#define KEFU_LIB_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The longest reason secret_* functions write, with its NUL. */
#define SECRET_WHY_MAX 256

/*
 * secret_owner_ok - whether a secret file owned by owner may be used by a
 * process whose effective user is reader: it is reader's own, or root's
 * (which root installed for it). Another user's file is refused, even
 * where reader could open it (root): whoever owns it can change it.
 */
bool secret_owner_ok(uid_t owner, uid_t reader);

/*
 * secret_trust_uid - files of uid count as the reader's own from now on: a
 * program started as root that drops to that user (kefud's `user`), whose
 * files the operator hands to it before it starts. Process-wide; call it
 * before the first secret is read.
 */
void secret_trust_uid(uid_t uid);

/*
 * secret_file_check - whether path may hold a secret, for a file another
 * library opens by name (OpenSSL, libcurl). what names the option
 * ("tls_key"). Returns 0, or:
 *   -errno      path cannot be found (stat)
 *   KF_ECONFIG  not a regular file, group or others have any access
 *               (mode & 077), or its owner is neither root nor the
 *               effective user (secret_owner_ok) nor the trusted one
 *               (secret_trust_uid)
 */
int secret_file_check(const char *path, const char *what, char *why, size_t why_size);

/*
 * secret_file_read - the whole file at path, checked as secret_file_check
 * checks it but on the file it opened (no window between the check and the
 * read), into a new buffer *out of *len bytes with a NUL after them; the
 * caller frees it with secret_free. Returns 0, or (*out NULL) the errors of
 * secret_file_check, -errno (cannot open or read it), KF_ETOOBIG (over max
 * bytes).
 */
int secret_file_read(const char *path, const char *what, size_t max, char **out, size_t *len,
		     char *why, size_t why_size);

/*
 * secret_file_first_line - the first line of the file at path (without
 * "\n" or "\r\n"), read with secret_file_read, into out[0..size). A
 * password file. Returns 0, the errors of secret_file_read, KF_ECONFIG (the
 * first line is empty or holds a NUL), KF_ETOOBIG (the line does not fit
 * size - 1 bytes).
 */
int secret_file_first_line(const char *path, const char *what, char *out, size_t size,
			   char *why, size_t why_size);

/* secret_free - wipes buf[0..len) and frees it; NULL is fine. */
void secret_free(char *buf, size_t len);

/* secret_wipe - zeroes buf[0..len) so that the compiler cannot drop it. */
void secret_wipe(void *buf, size_t len);

#endif
