/*
 * kefud's option table, for the components. A component may not include
 * node/config.h: it includes every component's header (for the fields of
 * struct config), so a component reaching it would reach its neighbours
 * (tests/check/README.md). A component reads its own options from the
 * struct config it is given, by name, through the one table instead.
 */
#ifndef KEFU_NODE_CONFIG_TABLE_H
#define KEFU_NODE_CONFIG_TABLE_H

#include "lib/conf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;

/* The rows of struct config (node/config.c). */
extern const struct conf_option config_table[];
extern const size_t config_table_len;

/*
 * config_table_text - the value in c of the text option (CONF_STRING,
 * CONF_PATH, CONF_ADDRESS) named name; NUL-terminated, valid while c is.
 * No such option is a bug of the caller: it aborts.
 */
const char *config_table_text(const struct config *c, const char *name);

/* config_table_number - the value in c of the number option (CONF_INT,
 * CONF_SIZE, CONF_DURATION, CONF_FRACTION) named name; aborts like
 * config_table_text. */
int64_t config_table_number(const struct config *c, const char *name);

/* config_table_bool - the value in c of the CONF_BOOL option named name;
 * aborts like config_table_text. */
bool config_table_bool(const struct config *c, const char *name);

/*
 * config_table_is_cluster - the option named name is a cluster setting:
 * every node must run with the same value (routing, work orders,
 * statistics, accounts policy); the others are the node's
 * own (its name, addresses, paths, certificates, limits, log level).
 * `kefuctl config check` compares the cluster settings of every node.
 */
bool config_table_is_cluster(const char *name);

/* config_table_is_default - option o of the table has its default value in c. */
bool config_table_is_default(const struct config *c, const struct conf_option *o);

/* The longest value conf_format writes for an option of the table. */
#define CONFIG_VALUE_MAX 4096

/* config_table_new - a configuration of the defaults; free() it. Never NULL. */
struct config *config_table_new(void);

/* config_table_copy - *to = *from. */
void config_table_copy(struct config *to, const struct config *from);

/*
 * The cluster configuration (docs/operations.md, "Settings"): the cluster
 * settings kept as one replicated text, versioned (storage/ccfg.h).
 *
 * config_cluster_text - c's cluster settings that are not their default, as
 * "name = \"value\"" lines in table order; malloc'd, never NULL.
 */
char *config_cluster_text(const struct config *c);

/* One setting a change moves. */
struct config_edit_change {
	const char *name;          /* the table's row name (static) */
	char *old_value, *new_value;
	bool restart;              /* not reloadable: nodes take it when restarted */
};

struct config_edit {
	char *text;                /* the new version's text (config_cluster_text) */
	struct config_edit_change *ch;
	size_t n;                  /* 0: the change changes nothing */
};

/*
 * config_cluster_edit - the cluster configuration after a change, checked
 * by the rules of start (conf_check and config_check, with every
 * component's settings and the files they name) on this node, whose own
 * settings own gives. The configuration in force is cur_text (NULL: none
 * written yet, own's cluster settings are it). The change is either the
 * "NAME=VALUE" items sets[0..nsets) over it, each naming a cluster
 * setting, or (replace not NULL) the whole text replace, in which a
 * cluster setting left out is its default. On 0, *out holds the new text
 * and the settings that changed (release with config_edit_free).
 * Returns 0, KF_ECONFIG or KF_EPARSE with err saying which setting and why.
 */
int config_cluster_edit(const struct config *own, const char *cur_text, const char *const *sets,
			size_t nsets, const char *replace, struct config_edit *out,
			struct conf_err *err);

/* config_edit_free - release what e holds; e is zeroed. */
void config_edit_free(struct config_edit *e);

#endif
