/* The cluster configuration's table. See ccfg.h. */
#include "storage/ccfg.h"

#include "lib/err.h"
#include "storage/keys.h"

#include <string.h>

static Kefu__ClusterConfig *unpack(const struct store_val *v)
{
	return kefu__cluster_config__unpack(NULL, v->len, v->data);
}

int ccfg_current(struct store_txn *t, Kefu__ClusterConfig **out)
{
	struct store_val k, v;
	int err;

	*out = NULL;
	if ((err = store_last(t, STORE_CCFG, &k)))
		return err == KF_ENOTFOUND ? 0 : err;
	if (k.len != 8)
		return KF_ECORRUPT;
	if ((err = store_get(t, STORE_CCFG, k.data, k.len, &v)))
		return err == KF_ENOTFOUND ? KF_ECORRUPT : err;
	*out = unpack(&v);
	if (!*out)
		return KF_ECORRUPT;
	if ((*out)->version != key_be64_get(k.data)) {
		kefu__cluster_config__free_unpacked(*out, NULL);
		*out = NULL;
		return KF_ECORRUPT;
	}
	return 0;
}

int ccfg_version(struct store_txn *t, uint64_t *version)
{
	struct store_val k;
	int err;

	*version = 0;
	if ((err = store_last(t, STORE_CCFG, &k)))
		return err == KF_ENOTFOUND ? 0 : err;
	if (k.len != 8)
		return KF_ECORRUPT;
	*version = key_be64_get(k.data);
	return 0;
}

int ccfg_put(struct batch *b, const Kefu__ClusterConfig *c)
{
	uint8_t k[8];

	if (!c->has_version || c->version == 0 || !c->text || strlen(c->text) > CCFG_TEXT_MAX ||
	    c->n_changes > CCFG_CHANGES_MAX)
		return KF_EPARSE;
	key_be64_put(k, c->version);
	return batch_put_msg(b, STORE_CCFG, k, sizeof(k), &c->base);
}

struct walk {
	size_t left;
	ccfg_fn fn;
	void *arg;
};

static int walk_one(void *arg, const struct store_val *key, const struct store_val *val)
{
	struct walk *w = arg;
	Kefu__ClusterConfig *c;
	int r;

	if (key->len != 8 || !(c = unpack(val)))
		return KF_ECORRUPT;
	r = w->fn(w->arg, c);
	kefu__cluster_config__free_unpacked(c, NULL);
	if (r)
		return r;
	return w->left && --w->left == 0 ? 1 : 0;
}

int ccfg_history(struct store_txn *t, size_t limit, ccfg_fn fn, void *arg)
{
	struct walk w = {limit, fn, arg};

	return store_scan(t, STORE_CCFG, NULL, 0, NULL, 0, true, walk_one, &w);
}
