/*
 * The node's settings, shown to an admin (kefuctl config show / check): a
 * service of the node. Every option with its value as this node runs with
 * it, whether it is a cluster setting (node/config_table.h), whether it is
 * the default, and for a path the SHA-256 of the file it names, so that
 * nodes which name the same file with other contents are told apart.
 */
#ifndef KEFU_NODE_SETTINGS_H
#define KEFU_NODE_SETTINGS_H

#include "node/component.h"

extern const struct component settings_service;

#endif
