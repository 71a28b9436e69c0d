/*
 * Outbound dialing (主动呼出, docs/dialing.md), a component of the node
 * (node/component.h): campaigns, the do-not-call list, the pacing of the
 * running campaigns (one node each, under an etcd lease), the calls placed
 * through the gateways and their results. The files of node/dialing/ share
 * dialing_int.h.
 */
#ifndef KEFU_NODE_DIALING_H
#define KEFU_NODE_DIALING_H

#include "node/component.h"

extern const struct component dialing_component;

#endif
