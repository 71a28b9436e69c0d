/* etcd values as JSON. See meta.h. */
#include "cluster/meta.h"

#include "lib/err.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool meta_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n < META_NAME_MAX &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

bool meta_sync_has(const struct meta_sync *s, const char *name)
{
	for (unsigned i = 0; i < s->nstandbys; i++)
		if (strcmp(s->standbys[i], name) == 0)
			return true;
	return false;
}

static int dump(json_t *o, char *out, size_t cap)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	size_t n;

	json_decref(o);
	if (!s)
		abort();
	n = strlen(s);
	if (n >= cap) {
		free(s);
		return KF_ETOOBIG;
	}
	memcpy(out, s, n + 1);
	free(s);
	return (int)n;
}

static json_t *u64(uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
	return json_string(b);
}

int meta_member_encode(const struct meta_member *m, char *out, size_t cap)
{
	return dump(json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:o}", "name", m->name, "addr",
			      m->addr, "role", m->role, "applied", u64(m->applied),
			      "applied_epoch", u64(m->applied_epoch), "epoch", u64(m->epoch),
			      "version", m->version, "format", u64(m->format ? m->format : 1)),
		    out, cap);
}

int meta_sync_encode(const struct meta_sync *s, char *out, size_t cap)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < s->nstandbys; i++)
		json_array_append_new(a, json_string(s->standbys[i]));
	return dump(json_pack("{s:s, s:o, s:o}", "leader", s->leader, "epoch", u64(s->epoch),
			      "standbys", a),
		    out, cap);
}

int meta_failover_encode(const struct meta_failover *f, char *out, size_t cap)
{
	return dump(json_pack("{s:s}", "to", f->to), out, cap);
}

static json_t *load(const char *buf, size_t len)
{
	if (len == 0 || len > META_VALUE_MAX)
		return NULL;
	return json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
}

/* A name field: present, a string, a valid node name. */
static int get_name(json_t *o, const char *key, char *out, size_t cap, bool allow_empty)
{
	json_t *v = json_object_get(o, key);
	const char *s;

	if (!json_is_string(v))
		return KF_EPARSE;
	s = json_string_value(v);
	if (!(allow_empty && !*s) && !meta_name_ok(s))
		return KF_EPARSE;
	snprintf(out, cap, "%s", s);
	return 0;
}

static int get_text(json_t *o, const char *key, char *out, size_t cap)
{
	json_t *v = json_object_get(o, key);
	const char *s;
	size_t n;

	if (!json_is_string(v))
		return KF_EPARSE;
	s = json_string_value(v);
	n = strlen(s);
	if (n >= cap || n != json_string_length(v))
		return KF_EPARSE;
	memcpy(out, s, n + 1);
	return 0;
}

/* A counter: a decimal string (as written) or a non-negative JSON integer. */
static int get_u64(json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		unsigned long long x;

		if (*s < '0' || *s > '9')
			return KF_EPARSE;
		errno = 0;
		x = strtoull(s, &end, 10);
		if (errno || *end)
			return KF_EPARSE;
		*out = x;
		return 0;
	}
	return KF_EPARSE;
}

int meta_member_parse(const char *buf, size_t len, struct meta_member *m)
{
	json_t *o = load(buf, len);
	int r = KF_EPARSE;

	memset(m, 0, sizeof(*m));
	if (json_is_object(o) && get_name(o, "name", m->name, sizeof(m->name), false) == 0 &&
	    get_text(o, "addr", m->addr, sizeof(m->addr)) == 0 &&
	    get_text(o, "role", m->role, sizeof(m->role)) == 0 &&
	    get_u64(o, "applied", &m->applied) == 0 &&
	    get_u64(o, "applied_epoch", &m->applied_epoch) == 0 &&
	    get_u64(o, "epoch", &m->epoch) == 0 &&
	    /* absent in the records of builds before it: "" */
	    (!json_object_get(o, "version") ||
	     get_text(o, "version", m->version, sizeof(m->version)) == 0) &&
	    (!json_object_get(o, "format") || get_u64(o, "format", &m->format) == 0))
		r = 0;
	if (r == 0 && m->format == 0)
		m->format = 1; /* the records of builds before it, or a nonsense 0 */
	json_decref(o);
	if (r)
		memset(m, 0, sizeof(*m));
	return r;
}

int meta_sync_parse(const char *buf, size_t len, struct meta_sync *s)
{
	json_t *o = load(buf, len), *a;
	int r = KF_EPARSE;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(o) || get_name(o, "leader", s->leader, sizeof(s->leader), false) ||
	    get_u64(o, "epoch", &s->epoch))
		goto out;
	a = json_object_get(o, "standbys");
	if (!json_is_array(a) || json_array_size(a) > META_STANDBYS_MAX)
		goto out;
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *v = json_array_get(a, i);

		if (!json_is_string(v) || !meta_name_ok(json_string_value(v)))
			goto out;
		snprintf(s->standbys[i], sizeof(s->standbys[i]), "%s", json_string_value(v));
		s->nstandbys++;
	}
	r = 0;
out:
	json_decref(o);
	if (r)
		memset(s, 0, sizeof(*s));
	return r;
}

int meta_failover_parse(const char *buf, size_t len, struct meta_failover *f)
{
	json_t *o = load(buf, len);
	int r = KF_EPARSE;

	memset(f, 0, sizeof(*f));
	if (json_is_object(o) && get_name(o, "to", f->to, sizeof(f->to), false) == 0)
		r = 0;
	json_decref(o);
	if (r)
		memset(f, 0, sizeof(*f));
	return r;
}
