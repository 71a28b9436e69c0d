/*
 * Operations statistics (docs/ops.md), a component of the node
 * (node/component.h): the spec's 客服运营管理 - the live wallboard for
 * supervisors, interval statistics against each customer tier's targets
 * (客户层次接通率指标) and the reports made of them.
 *
 * The routing steps count every call's outcome and every agent's time in
 * a state into the Redis hash of the interval they fall in
 * (node/routing/lua/prelude.lua, "interval statistics"). The leader closes
 * each interval into the replicated table "ops" (storage/opsstat.h),
 * keyed by its start, so exactly once whatever leader does it; every node
 * answers reports from its replica, with the intervals not closed yet read
 * from Redis. The wallboard joins the live board (node/board.h) with
 * today's counts.
 *
 * Configuration: stats_interval and <tier>_sl_target / <tier>_answer_target
 * (node/ops/conf.h). The files of node/ops/ share ops_int.h.
 */
#ifndef KEFU_NODE_OPS_H
#define KEFU_NODE_OPS_H

#include "node/component.h"

extern const struct component ops_component;

#endif
