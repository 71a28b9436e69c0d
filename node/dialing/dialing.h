/*
 * Outbound dialing (主动呼出, docs/dialing.md), a component of the node
 * (node/component.h). Now: the do-not-call list, a replicated write through
 * the leader, read from every node's replica when a number is about to be
 * dialed. The files of node/dialing/ share dialing_int.h.
 */
#ifndef KEFU_NODE_DIALING_H
#define KEFU_NODE_DIALING_H

#include "node/component.h"

extern const struct component dialing_component;

#endif
