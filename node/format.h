/*
 * The "format" service: the stored form the cluster writes
 * (storage/format.h, lib/version.h KEFU_STORE_FORMAT).
 *
 * On the serving leader, a timer compares the form recorded in the
 * replica with the newest form every registered member's build writes
 * (their member records in etcd) and, when every member reads a higher
 * one, records it through the log. Not while fewer members are registered
 * than this node has seen at once since it started: one that is down may
 * come back with the build it had. The form is never lowered: a rolling
 * upgrade raises it once its last node runs the new build, and until then
 * every writer keeps to the old form, which the old builds read.
 */
#ifndef KEFU_NODE_FORMAT_H
#define KEFU_NODE_FORMAT_H

#include "node/component.h"

extern const struct component format_service;

#endif
