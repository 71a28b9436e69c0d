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
#include "storage/store.h"

extern const struct component format_service;

/*
 * format_store_check - the form recorded in st is one this build reads (at
 * most KEFU_STORE_FORMAT). A newer one means the data was written by a
 * newer build (a downgrade, or a node that was down while the cluster
 * upgraded): this build would misread it and, leading, write an older form
 * into it. Logs why and returns KF_ESTATE then (kefud does not start);
 * 0, or KF_ECORRUPT / KF_ESTORE from reading it. The service checks the
 * same once a second while it runs (the form may arrive through the log or
 * a snapshot) and stops the node.
 */
int format_store_check(struct store *st);

#endif
