/* The append-only audit log. See audit.h. */
#include "storage/audit.h"

#include "lib/err.h"
#include "storage/listing.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Length of the UTF-8 sequence at s (n bytes left) when it is a valid,
 * shortest-form, non-control character; 0 otherwise. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return s[0] >= 0x20 && s[0] != 0x7f ? 1 : 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return len;
}

bool audit_text_is_valid(const char *s, size_t max)
{
	size_t n, i = 0, k;

	if (!s)
		return true;
	n = strnlen(s, max + 1);
	if (n > max)
		return false;
	while (i < n) {
		k = utf8_char((const unsigned char *)s + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

static bool action_ok(const char *a)
{
	size_t n = a ? strnlen(a, AUDIT_ACTION_MAX + 1) : 0;

	if (n == 0 || n > AUDIT_ACTION_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= '0' && a[i] <= '9') || a[i] == '_'))
			return false;
	return true;
}

static int refuse(char *why, size_t cap, const char *field)
{
	if (why && cap)
		snprintf(why, cap, "audit entry: bad or missing %s", field);
	return KF_EPARSE;
}

int audit_check(const Kefu__AuditEntry *e, char *why, size_t cap)
{
	static const struct {
		size_t off, max;
		bool required;
		const char *name;
	} texts[] = {
		{offsetof(Kefu__AuditEntry, node), AUDIT_NODE_MAX, true, "node"},
		{offsetof(Kefu__AuditEntry, agent), AUDIT_AGENT_MAX, true, "agent"},
		{offsetof(Kefu__AuditEntry, subject), AUDIT_SUBJECT_MAX, false, "subject"},
		{offsetof(Kefu__AuditEntry, detail), AUDIT_DETAIL_MAX, false, "detail"},
	};

	if (!e->has_time_ms || e->time_ms == 0)
		return refuse(why, cap, "time_ms");
	if (!action_ok(e->action))
		return refuse(why, cap, "action");
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		const char *s = *(char *const *)((const char *)e + texts[i].off);

		if ((texts[i].required && (!s || !*s)) || !audit_text_is_valid(s, texts[i].max))
			return refuse(why, cap, texts[i].name);
	}
	return 0;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

size_t audit_key(const Kefu__AuditEntry *e, uint8_t out[AUDIT_KEY_MAX])
{
	size_t n = strlen(e->node);

	put_be64(out, e->time_ms);
	put_be64(out + 8, e->has_seq ? e->seq : 0);
	memcpy(out + 16, e->node, n);
	return 16 + n;
}

int audit_append(struct batch *b, const Kefu__AuditEntry *e, char *why, size_t cap)
{
	uint8_t key[AUDIT_KEY_MAX], val[1024]; /* the largest valid entry packs to ~850 */
	size_t klen, vlen;
	int err = audit_check(e, why, cap);

	if (err)
		return err;
	klen = audit_key(e, key);
	vlen = kefu__audit_entry__get_packed_size(e);
	if (vlen > sizeof(val))
		return refuse(why, cap, "entry size");
	kefu__audit_entry__pack(e, val);
	return batch_put(b, STORE_AUDIT, key, klen, val, vlen);
}

struct list_ctx {
	audit_list_fn fn;
	void *arg;
};

static int list_visit(void *arg, const ProtobufCMessage *m)
{
	struct list_ctx *c = arg;

	return c->fn(c->arg, (const Kefu__AuditEntry *)m);
}

int audit_list(struct store_txn *t, uint64_t since_ms, const void *after, size_t alen,
	       audit_list_fn fn, void *arg)
{
	struct list_ctx c = {fn, arg};
	uint8_t start[8];
	struct listing l = {.table = STORE_AUDIT, .from = start, .flen = sizeof(start),
			    .after = after, .alen = after ? alen : 0};

	if (after && alen > AUDIT_KEY_MAX)
		return KF_EPARSE;
	put_be64(start, since_ms);
	return listing_scan_msgs(t, &l, &kefu__audit_entry__descriptor, list_visit, &c);
}
