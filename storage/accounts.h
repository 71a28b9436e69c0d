/*
 * Agent accounts: table "agent", key = agent id, value = a packed
 * kefu.Agent (id, name, password hash, skills with proficiency levels,
 * agent order, role, work-order groups, enabled, created/updated times).
 *
 * The functions that change an account check the request against the
 * stored account in a transaction and append the op to a batch; they apply
 * nothing. In a cluster the leader runs them inside the transaction that
 * appends the batch to the replicated log, so the check and the write are
 * one step. Passwords never come here: only hashes made by lib/password.h,
 * which are checked for form. An account keeps the hashes of its last
 * PASSWORD_HISTORY passwords (password_history, newest, the current one,
 * first) and when the password last changed (password_changed_ms).
 *
 * Skills are text "skill:level,..." (the form of the Redis agent hash,
 * docs/routing.md): skill names [a-z0-9_.-]{1,32}, levels 1..10 without
 * leading zeros, no spaces, no repeats, at most ACCOUNTS_SKILLS_MAX. The
 * empty string is no skills.
 *
 * Roles: "agent", "handler" (acts on the work orders of its groups),
 * "supervisor" (the supervisor's views; the lead of its groups) and
 * "editor" (writes and approves knowledge-base articles). Groups
 * are the work-order groups an account belongs to, of any role: each
 * [a-z0-9][a-z0-9_.-]{0,31}, at most ACCOUNTS_GROUPS_MAX, none twice.
 * groups_set is a request's flag only (an UPDATE with it replaces the
 * groups) and is never stored.
 */
#ifndef KEFU_STORAGE_ACCOUNTS_H
#define KEFU_STORAGE_ACCOUNTS_H

#include "storage/batch.h"
#include "storage/store.h"

#include "proto/kefu.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACCOUNTS_ID_MAX 32
#define ACCOUNTS_NAME_MAX 64          /* bytes of UTF-8 */
#define ACCOUNTS_SKILLS_MAX 32
#define ACCOUNTS_SKILL_NAME_MAX 32
#define ACCOUNTS_LEVEL_MIN 1
#define ACCOUNTS_LEVEL_MAX 10
#define ACCOUNTS_ORDER_MAX 999999
#define ACCOUNTS_GROUPS_MAX 16
#define ACCOUNTS_GROUP_NAME_MAX 32
/* Longest skills text: every skill at its longest with level 10, commas. */
#define ACCOUNTS_SKILLS_TEXT_MAX (ACCOUNTS_SKILLS_MAX * (ACCOUNTS_SKILL_NAME_MAX + 4))
/* A useful size for the why buffers below. */
#define ACCOUNTS_WHY_MAX 160

struct accounts_skill {
	char name[ACCOUNTS_SKILL_NAME_MAX + 1];
	unsigned level;
};

struct accounts_skills {
	size_t n;
	struct accounts_skill v[ACCOUNTS_SKILLS_MAX];
};

/*
 * accounts_skills_parse - parse len bytes of skills text into out (pure:
 * no NUL needed, nothing else read). why (may be NULL) says what is wrong.
 * Returns 0 or KF_EPARSE; out is undefined after an error.
 */
int accounts_skills_parse(const char *text, size_t len, struct accounts_skills *out, char *why,
			  size_t cap);

/*
 * accounts_skills_format - the text of sk into out, NUL-terminated; the
 * inverse of accounts_skills_parse (the same order, so a parsed text comes
 * back byte for byte). Returns the length, or KF_ETOOBIG when cap is short.
 */
int accounts_skills_format(const struct accounts_skills *sk, char *out, size_t cap);

/* accounts_id_is_valid - id matches [A-Za-z0-9_.-]{1,32}. */
bool accounts_id_is_valid(const char *id);

/* accounts_role_is_valid - "agent", "handler", "supervisor" or "editor" (NULL: false). */
bool accounts_role_is_valid(const char *role);

/* accounts_group_is_valid - g (may be NULL: false) matches [a-z0-9][a-z0-9_.-]{0,31}. */
bool accounts_group_is_valid(const char *g);

/* accounts_is_supervisor - whether a (may be NULL) has the supervisor role. */
bool accounts_is_supervisor(const Kefu__Agent *a);

/* accounts_in_group - whether a (may be NULL) belongs to group (NULL: false). */
bool accounts_in_group(const Kefu__Agent *a, const char *group);

/*
 * accounts_check - a complete account: valid id, a name (1..64 bytes of
 * clean UTF-8), a well-formed password hash, skills, role, groups (valid
 * names, at most ACCOUNTS_GROUPS_MAX, none twice), order within bounds,
 * enabled set. Returns 0 or KF_EPARSE with why filled.
 */
int accounts_check(const Kefu__Agent *a, char *why, size_t cap);

/*
 * accounts_create - a new account from a (id, name, password_hash, skills,
 * groups, whether groups_set or not; role defaults to "agent", order to 0,
 * enabled to true), stamped with now_ms as created and updated time,
 * appended to b as one put.
 * Returns 0; KF_EPARSE (why filled); KF_EEXISTS (the id is taken);
 * KF_ETOOBIG (batch cap); KF_ESTORE.
 */
int accounts_create(struct store_txn *t, const Kefu__Agent *a, uint64_t now_ms, struct batch *b,
		    char *why, size_t cap);

/*
 * accounts_update - change the account patch->id: every field the patch
 * carries (name, skills, role: non-NULL; order, enabled: has_ set)
 * replaces the stored one; with groups_set true the patch's groups replace
 * the stored ones (none: cleared), else the patch's groups are ignored and
 * the stored ones kept; updated_ms becomes now_ms. The result must pass
 * accounts_check. A patch with a password hash, history or change time is
 * refused (KF_EPARSE): passwords change through accounts_set_password.
 * Returns 0; KF_ENOTFOUND; KF_EPARSE (why filled); KF_ECORRUPT (the
 * stored value is not an Agent); KF_ETOOBIG; KF_ESTORE.
 */
int accounts_update(struct store_txn *t, const Kefu__Agent *patch, uint64_t now_ms,
		    struct batch *b, char *why, size_t cap);

/*
 * accounts_set_password - a new password hash for id: it becomes the first
 * of the history (the older ones follow, PASSWORD_HISTORY in all), and
 * password_changed_ms and updated_ms become now_ms. expect (NULL: any) is
 * the current hash the caller checked the new password's history against:
 * when the stored one differs, KF_ESTATE (why filled) and nothing changes.
 * Else returns as accounts_update.
 */
int accounts_set_password(struct store_txn *t, const char *id, const char *password_hash,
			  const char *expect, uint64_t now_ms, struct batch *b, char *why,
			  size_t cap);

/*
 * accounts_rehash - the same password hashed again (more iterations): the
 * current hash old_hash becomes new_hash, in the history too; nothing else
 * changes (not password_changed_ms: sessions go on). KF_ESTATE when the
 * stored hash is no longer old_hash (changed meanwhile). Else returns as
 * accounts_update.
 */
int accounts_rehash(struct store_txn *t, const char *id, const char *old_hash,
		    const char *new_hash, struct batch *b, char *why, size_t cap);

/*
 * accounts_password_hashes - the hashes a new password of a must match
 * none of: the current one, then the history, each once; at most cap into
 * out (pointers into a). Returns the count.
 */
size_t accounts_password_hashes(const Kefu__Agent *a, const char **out, size_t cap);

/* accounts_disable - accounts_update with enabled = false (kept, so the
 * audit log's names stay meaningful; a disabled agent cannot log in). */
int accounts_disable(struct store_txn *t, const char *id, uint64_t now_ms, struct batch *b,
		     char *why, size_t cap);

/*
 * accounts_get - the account id. On 0 *out is the caller's: free it with
 * kefu__agent__free_unpacked(*out, NULL). Returns 0, KF_ENOTFOUND,
 * KF_ECORRUPT, KF_ESTORE.
 */
int accounts_get(struct store_txn *t, const char *id, Kefu__Agent **out);

/* accounts_get_packed - the stored bytes of account id (valid until t
 * ends), as accounts_get reads them. Returns 0, KF_ENOTFOUND, KF_ESTORE. */
int accounts_get_packed(struct store_txn *t, const char *id, struct store_val *out);

/*
 * accounts_list - visit the accounts in id order, starting after the id
 * `after` (NULL: from the first). fn gets each account, valid during the
 * call only; it returns 0 to go on, 1 to stop, or a negative error.
 * Returns 0 (also when stopped), fn's error, KF_ECORRUPT, KF_ESTORE.
 */
typedef int (*accounts_list_fn)(void *arg, const Kefu__Agent *a);
int accounts_list(struct store_txn *t, const char *after, accounts_list_fn fn, void *arg);

#endif
