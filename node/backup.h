/*
 * Online backups, a service of the node (docs/appliance.md): a consistent
 * copy of the node's replica made while writes go on, read by an admin in
 * chunks (kefuctl backup). See backup.c.
 */
#ifndef KEFU_NODE_BACKUP_H
#define KEFU_NODE_BACKUP_H

#include "node/component.h"

extern const struct component backup_service;

#endif
