/* Agent accounts. See accounts.h. */
#include "storage/accounts.h"

#include "lib/err.h"
#include "lib/password.h"
#include "storage/audit.h"
#include "storage/listing.h"

#include <stdio.h>
#include <string.h>

/* The largest valid account packs well under this. */
#define VALUE_MAX 4096

static const char *const roles[] = {"agent", "handler", "supervisor", "editor"};

/* ---- skills ---- */

static bool skill_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

int accounts_skills_parse(const char *text, size_t len, struct accounts_skills *out, char *why,
			  size_t cap)
{
	size_t i = 0;

	out->n = 0;
	if (len == 0)
		return 0;
	for (;;) {
		size_t start = i, nlen, dstart;
		unsigned level = 0;

		while (i < len && skill_char(text[i]) && i - start <= ACCOUNTS_SKILL_NAME_MAX)
			i++;
		nlen = i - start;
		if (nlen == 0 || nlen > ACCOUNTS_SKILL_NAME_MAX)
			return kf_refuse(why, cap, "skill %zu: a name is 1..%d of a-z 0-9 _ . -",
				      out->n + 1, ACCOUNTS_SKILL_NAME_MAX);
		if (i == len || text[i] != ':')
			return kf_refuse(why, cap, "skill %.*s: expected ':' and a level", (int)nlen,
				      text + start);
		dstart = ++i;
		while (i < len && text[i] >= '0' && text[i] <= '9' && i - dstart < 3)
			level = level * 10 + (unsigned)(text[i++] - '0');
		if (i == dstart || text[dstart] == '0' || level < ACCOUNTS_LEVEL_MIN ||
		    level > ACCOUNTS_LEVEL_MAX)
			return kf_refuse(why, cap, "skill %.*s: the level is %d..%d", (int)nlen,
				      text + start, ACCOUNTS_LEVEL_MIN, ACCOUNTS_LEVEL_MAX);
		if (out->n == ACCOUNTS_SKILLS_MAX)
			return kf_refuse(why, cap, "more than %d skills", ACCOUNTS_SKILLS_MAX);
		for (size_t j = 0; j < out->n; j++)
			if (strlen(out->v[j].name) == nlen && memcmp(out->v[j].name, text + start, nlen) == 0)
				return kf_refuse(why, cap, "skill %.*s given twice", (int)nlen, text + start);
		memcpy(out->v[out->n].name, text + start, nlen);
		out->v[out->n].name[nlen] = '\0';
		out->v[out->n].level = level;
		out->n++;
		if (i == len)
			return 0;
		if (text[i] != ',')
			return kf_refuse(why, cap, "skill %.*s: expected ',' after the level (no spaces)",
				      (int)nlen, text + start);
		i++;
	}
}

int accounts_skills_format(const struct accounts_skills *sk, char *out, size_t cap)
{
	size_t used = 0;

	if (cap == 0)
		return KF_ETOOBIG;
	out[0] = '\0';
	for (size_t i = 0; i < sk->n; i++) {
		int n = snprintf(out + used, cap - used, "%s%s:%u", i ? "," : "", sk->v[i].name,
				 sk->v[i].level);

		if (n < 0 || (size_t)n >= cap - used)
			return KF_ETOOBIG;
		used += (size_t)n;
	}
	return (int)used;
}

/* ---- field checks ---- */

bool accounts_id_is_valid(const char *id)
{
	size_t n = id ? strnlen(id, ACCOUNTS_ID_MAX + 1) : 0;

	if (n == 0 || n > ACCOUNTS_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

bool accounts_group_is_valid(const char *g)
{
	size_t n = g ? strnlen(g, ACCOUNTS_GROUP_NAME_MAX + 1) : 0;

	if (n == 0 || n > ACCOUNTS_GROUP_NAME_MAX || !((g[0] >= 'a' && g[0] <= 'z') ||
						      (g[0] >= '0' && g[0] <= '9')))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!skill_char(g[i]))
			return false;
	return true;
}

bool accounts_in_group(const Kefu__Agent *a, const char *group)
{
	for (size_t i = 0; a && group && i < a->n_groups; i++)
		if (a->groups[i] && strcmp(a->groups[i], group) == 0)
			return true;
	return false;
}

/* The groups of a: each a group name, at most ACCOUNTS_GROUPS_MAX, none twice. */
static int check_groups(const Kefu__Agent *a, char *why, size_t cap)
{
	if (a->n_groups > ACCOUNTS_GROUPS_MAX)
		return kf_refuse(why, cap, "more than %d groups", ACCOUNTS_GROUPS_MAX);
	for (size_t i = 0; i < a->n_groups; i++) {
		if (!accounts_group_is_valid(a->groups[i]))
			return kf_refuse(why, cap, "group %zu: a name is 1..%d of a-z 0-9 _ . -, "
				      "beginning with a letter or digit", i + 1,
				      ACCOUNTS_GROUP_NAME_MAX);
		for (size_t k = 0; k < i; k++)
			if (strcmp(a->groups[k], a->groups[i]) == 0)
				return kf_refuse(why, cap, "group %s given twice", a->groups[i]);
	}
	return 0;
}

bool accounts_is_supervisor(const Kefu__Agent *a)
{
	return a && a->role && strcmp(a->role, "supervisor") == 0;
}

bool accounts_role_is_valid(const char *role)
{
	for (size_t i = 0; role && i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(role, roles[i]) == 0)
			return true;
	return false;
}

int accounts_check(const Kefu__Agent *a, char *why, size_t cap)
{
	struct accounts_skills sk;
	char swhy[ACCOUNTS_WHY_MAX];

	if (!accounts_id_is_valid(a->id))
		return kf_refuse(why, cap, "the id is 1..%d of A-Z a-z 0-9 _ . -", ACCOUNTS_ID_MAX);
	if (!a->name || !*a->name || !audit_text_is_valid(a->name, ACCOUNTS_NAME_MAX))
		return kf_refuse(why, cap, "the name is 1..%d bytes of UTF-8 without control characters",
			      ACCOUNTS_NAME_MAX);
	if (!password_encoded_is_valid(a->password_hash))
		return kf_refuse(why, cap, "the password hash is not a pbkdf2-sha256 hash string");
	if (a->n_password_history > PASSWORD_HISTORY)
		return kf_refuse(why, cap, "more than %d hashes in the password history", PASSWORD_HISTORY);
	for (size_t i = 0; i < a->n_password_history; i++)
		if (!password_encoded_is_valid(a->password_history[i]))
			return kf_refuse(why, cap, "password history %zu is not a hash string", i + 1);
	if (!a->skills || strlen(a->skills) > ACCOUNTS_SKILLS_TEXT_MAX)
		return kf_refuse(why, cap, "the skills are missing or too long");
	if (accounts_skills_parse(a->skills, strlen(a->skills), &sk, swhy, sizeof(swhy)))
		return kf_refuse(why, cap, "%s", swhy);
	if (!accounts_role_is_valid(a->role))
		return kf_refuse(why, cap, "the role is agent, handler, supervisor or editor");
	if (check_groups(a, why, cap))
		return KF_EPARSE;
	if (!a->has_order || a->order > ACCOUNTS_ORDER_MAX)
		return kf_refuse(why, cap, "the order is 0..%d", ACCOUNTS_ORDER_MAX);
	if (!a->has_enabled)
		return kf_refuse(why, cap, "enabled is not set");
	return 0;
}

/* ---- reads and writes ---- */

int accounts_get_packed(struct store_txn *t, const char *id, struct store_val *out)
{
	if (!accounts_id_is_valid(id))
		return KF_ENOTFOUND;
	return store_get(t, STORE_AGENT, id, strlen(id), out);
}

int accounts_get(struct store_txn *t, const char *id, Kefu__Agent **out)
{
	struct store_val v;
	int err = accounts_get_packed(t, id, &v);

	if (err)
		return err;
	*out = kefu__agent__unpack(NULL, v.len, v.data);
	return *out ? 0 : KF_ECORRUPT;
}

/* Check a complete account and append its put. */
static int put_account(const Kefu__Agent *a, struct batch *b, char *why, size_t cap)
{
	uint8_t val[VALUE_MAX];
	size_t len;
	int err = accounts_check(a, why, cap);

	if (err)
		return err;
	len = kefu__agent__get_packed_size(a);
	if (len > sizeof(val))
		return kf_refuse(why, cap, "the account is too large");
	kefu__agent__pack(a, val);
	return batch_put(b, STORE_AGENT, a->id, strlen(a->id), val, len);
}

int accounts_create(struct store_txn *t, const Kefu__Agent *a, uint64_t now_ms, struct batch *b,
		    char *why, size_t cap)
{
	Kefu__Agent n = *a, *old;
	int err;

	if (!n.skills)
		n.skills = "";
	if (!n.role)
		n.role = (char *)roles[0];
	if (!n.has_order) {
		n.has_order = 1;
		n.order = 0;
	}
	if (!n.has_enabled) {
		n.has_enabled = 1;
		n.enabled = 1;
	}
	n.has_groups_set = 0;
	n.groups_set = 0;
	n.has_created_ms = n.has_updated_ms = n.has_password_changed_ms = 1;
	n.created_ms = n.updated_ms = n.password_changed_ms = now_ms;
	if (n.n_password_history == 0 && n.password_hash) {
		n.n_password_history = 1;
		n.password_history = &n.password_hash;
	}
	if ((err = accounts_check(&n, why, cap)))
		return err;
	err = accounts_get(t, n.id, &old);
	if (err == 0) {
		kefu__agent__free_unpacked(old, NULL);
		kf_refuse(why, cap, "agent %s exists already", n.id);
		return KF_EEXISTS;
	}
	if (err != KF_ENOTFOUND)
		return err;
	return put_account(&n, b, why, cap);
}

/* The stored account id into *old, or the error with why filled. */
static int get_for_change(struct store_txn *t, const char *id, Kefu__Agent **old, char *why,
			  size_t cap)
{
	int err = accounts_get(t, id, old);

	if (err == KF_ENOTFOUND)
		kf_refuse(why, cap, "no agent %s", accounts_id_is_valid(id) ? id : "(bad id)");
	return err;
}

int accounts_update(struct store_txn *t, const Kefu__Agent *patch, uint64_t now_ms,
		    struct batch *b, char *why, size_t cap)
{
	Kefu__Agent *old, m;
	int err;

	if (patch->password_hash || patch->n_password_history || patch->has_password_changed_ms)
		return kf_refuse(why, cap, "a password changes only through a password change");
	err = get_for_change(t, patch->id, &old, why, cap);
	if (err)
		return err;
	m = *old;
	if (patch->name)
		m.name = patch->name;
	if (patch->skills)
		m.skills = patch->skills;
	if (patch->role)
		m.role = patch->role;
	if (patch->has_order) {
		m.has_order = 1;
		m.order = patch->order;
	}
	if (patch->has_enabled) {
		m.has_enabled = 1;
		m.enabled = patch->enabled;
	}
	if (patch->has_groups_set && patch->groups_set) {
		m.n_groups = patch->n_groups;
		m.groups = patch->groups;
	}
	m.has_groups_set = 0;
	m.groups_set = 0;
	m.has_updated_ms = 1;
	m.updated_ms = now_ms;
	err = put_account(&m, b, why, cap);
	kefu__agent__free_unpacked(old, NULL);
	return err;
}

size_t accounts_password_hashes(const Kefu__Agent *a, const char **out, size_t cap)
{
	size_t n = 0;

	if (a->password_hash && cap)
		out[n++] = a->password_hash;
	for (size_t i = 0; i < a->n_password_history && n < cap; i++) {
		bool seen = false;

		for (size_t k = 0; k < n; k++)
			seen = seen || strcmp(out[k], a->password_history[i]) == 0;
		if (!seen)
			out[n++] = a->password_history[i];
	}
	return n;
}

int accounts_set_password(struct store_txn *t, const char *id, const char *password_hash,
			  const char *expect, uint64_t now_ms, struct batch *b, char *why,
			  size_t cap)
{
	Kefu__Agent *old, m;
	const char *had[PASSWORD_HISTORY];
	char *hist[PASSWORD_HISTORY];
	size_t nhad;
	int err;

	if (!password_hash)
		return kf_refuse(why, cap, "no password hash given");
	err = get_for_change(t, id, &old, why, cap);
	if (err)
		return err;
	if (expect && (!old->password_hash || strcmp(old->password_hash, expect) != 0)) {
		kefu__agent__free_unpacked(old, NULL);
		kf_refuse(why, cap, "the password of agent %s changed meanwhile; try again", id);
		return KF_ESTATE;
	}
	m = *old;
	nhad = accounts_password_hashes(old, had, PASSWORD_HISTORY - 1);
	hist[0] = (char *)password_hash;
	for (size_t i = 0; i < nhad; i++)
		hist[i + 1] = (char *)had[i];
	m.password_hash = (char *)password_hash;
	m.password_history = hist;
	m.n_password_history = nhad + 1;
	m.has_updated_ms = m.has_password_changed_ms = 1;
	m.updated_ms = m.password_changed_ms = now_ms;
	err = put_account(&m, b, why, cap);
	kefu__agent__free_unpacked(old, NULL);
	return err;
}

int accounts_rehash(struct store_txn *t, const char *id, const char *old_hash,
		    const char *new_hash, struct batch *b, char *why, size_t cap)
{
	Kefu__Agent *old, m;
	char *hist[PASSWORD_HISTORY];
	int err;

	if (!old_hash || !new_hash)
		return kf_refuse(why, cap, "no password hash given");
	err = get_for_change(t, id, &old, why, cap);
	if (err)
		return err;
	if (!old->password_hash || strcmp(old->password_hash, old_hash) != 0) {
		kefu__agent__free_unpacked(old, NULL);
		kf_refuse(why, cap, "the password of agent %s changed meanwhile", id);
		return KF_ESTATE;
	}
	m = *old;
	m.password_hash = (char *)new_hash;
	for (size_t i = 0; i < old->n_password_history && i < PASSWORD_HISTORY; i++)
		hist[i] = strcmp(old->password_history[i], old_hash) == 0 ? (char *)new_hash
									 : old->password_history[i];
	if (old->n_password_history <= PASSWORD_HISTORY)
		m.password_history = hist;
	err = put_account(&m, b, why, cap);
	kefu__agent__free_unpacked(old, NULL);
	return err;
}

int accounts_disable(struct store_txn *t, const char *id, uint64_t now_ms, struct batch *b,
		     char *why, size_t cap)
{
	Kefu__Agent p = KEFU__AGENT__INIT;

	p.id = (char *)id;
	p.has_enabled = 1;
	p.enabled = 0;
	return accounts_update(t, &p, now_ms, b, why, cap);
}

struct list_ctx {
	accounts_list_fn fn;
	void *arg;
};

static int list_visit(void *arg, const ProtobufCMessage *m)
{
	struct list_ctx *c = arg;

	return c->fn(c->arg, (const Kefu__Agent *)m);
}

int accounts_list(struct store_txn *t, const char *after, accounts_list_fn fn, void *arg)
{
	struct list_ctx c = {fn, arg};
	struct listing l = {.table = STORE_AGENT};

	if (after && *after) {
		l.after = after;
		l.alen = strnlen(after, STORE_KEY_MAX);
	}
	return listing_scan_msgs(t, &l, &kefu__agent__descriptor, list_visit, &c);
}
