/*
 * The "audit" service: the audit log's hash chain (storage/audit.h).
 *
 * On the serving leader, a timer seals the entries written since the last
 * tick (audit_seal, inside the transaction that appends to the replicated
 * log, through leader_run): every node then stores the same hashes, and a
 * new leader continues from the head it has applied. On every node,
 * AuditVerifyRequest (admins) walks the local table in bounded chunks, one
 * per loop turn, and answers with the first broken link, if any.
 */
#ifndef KEFU_NODE_AUDIT_H
#define KEFU_NODE_AUDIT_H

#include "node/component.h"

extern const struct component audit_service;

#endif
