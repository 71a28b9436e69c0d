/*
 * kefuctl audit: `audit verify` (the hash chain of the audit log, walked on
 * one node, or offline on a database directory with --db), and the listing
 * of agents.c for everything else.
 */
#ifndef KEFU_CLUSTER_KEFUCTL_AUDIT_H
#define KEFU_CLUSTER_KEFUCTL_AUDIT_H

/* ctl_audit_cmd / ctl_audit_cmd_offline - `audit verify ...`, or the
 * listing (ctl_audit / ctl_audit_offline). */
int ctl_audit_cmd(int argc, char **argv);
int ctl_audit_cmd_offline(int argc, char **argv);

#endif
