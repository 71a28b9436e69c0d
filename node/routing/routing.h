/*
 * Tiered inbound routing (docs/routing.md), a component of the node
 * (node/component.h): gateways' calls and agents' sessions through any
 * node, the routing steps run in Redis through the hot state (node/hot.h),
 * events of other nodes' steps, and the mirror of what this node owns,
 * written again after a Redis failover.
 *
 * It runs on a node with Redis and a cluster (node_ctx.hot and .leader);
 * elsewhere its messages are refused as not configured. Its rows are every
 * routing message of the node's table: the gateways' (CallArrived,
 * CallEnded, WaitRequest, GatewayResume), the agents' (Login,
 * SessionResume, then, logged in, SetAgentState, AnswerCall, RejectCall,
 * HangupCall, WrapUpDone, VerifyIdentity, BillsRequest) and the admins'
 * (RoutingStats, CallbackList). Configuration is the routing rows of
 * kefud's options (node/routing/conf.h). Durable writes (audit entries,
 * callback requests) go through the leader; password checks run on the
 * node's jobs pool (node/jobs.h).
 *
 * Identity: a call is verified when its calling number is the subscriber's
 * own number and the number is in a state in which the phone is trusted to
 * be in the subscriber's hands (normal, or stopped for arrears; not
 * suspended, which covers a phone reported lost), or when the node finds
 * the ID characters an agent sends for the caller (VerifyIdentity) equal to
 * the customer record; the agent's own verdict is refused. Until then the
 * screen pop's ID number and address are masked. Bills are shown only for
 * a verified call and only once the access is in the audit log.
 *
 * The files of node/routing/ share node/routing/routing_int.h; nothing
 * else of the component is public.
 */
#ifndef KEFU_NODE_ROUTING_ROUTING_H
#define KEFU_NODE_ROUTING_ROUTING_H

#include "node/component.h"

extern const struct component routing_component;

#endif
