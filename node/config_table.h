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
 * statistics, accounts policy, the sync set); the others are the node's
 * own (its name, addresses, paths, certificates, limits, log level).
 * `kefuctl config check` compares the cluster settings of every node.
 */
bool config_table_is_cluster(const char *name);

/* config_table_is_default - option o of the table has its default value in c. */
bool config_table_is_default(const struct config *c, const struct conf_option *o);

#endif
