/*
 * Closed-loop work orders (docs/workflow.md), a component of the node
 * (node/component.h): complaints, faults, requests and the rest, owned by
 * the agent who first took them (首问负责), dispatched to a handling
 * group, worked through a table of transitions, timed by three clocks on
 * the group's business calendar, escalated when a clock runs late, closed
 * after a reply and a return visit.
 *
 * Orders are replicated writes: a follower forwards a change to the
 * leader, which checks it against the stored order and writes it in the
 * same step. Every node reads them from its replica; every read and every
 * change is in the audit log. The leader fires escalations from the
 * deadline index (storage/workorder.h) exactly once per order, clock and
 * level; every node tells its own sessions.
 *
 * It runs on a node of a cluster (node_ctx.leader); configuration is the
 * wo_* rows of kefud's options (node/workflow/conf.h). The files of
 * node/workflow/ share workflow_int.h; nothing else of it is public.
 */
#ifndef KEFU_NODE_WORKFLOW_H
#define KEFU_NODE_WORKFLOW_H

#include "node/component.h"

extern const struct component workflow_component;

#endif
