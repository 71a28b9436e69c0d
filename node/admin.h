/*
 * The cluster services every node offers, as rows of the one message
 * table: ping, the replication hello and acknowledgments, raw writes
 * (nodes and admins), status, switchover and failover, subscriber lookup
 * in the local replica, and BOSS SEQ skips. Requests only the leader may
 * serve are forwarded to it (node/leader.h).
 */
#ifndef KEFU_NODE_ADMIN_H
#define KEFU_NODE_ADMIN_H

#include "node/component.h"

extern const struct component admin_service;

#endif
