/*
 * Online imports: an admin (kefuctl import) streams a BOSS file and its
 * .chk to any node as ImportBegin, ImportChunk... and ImportEnd. The
 * leader stages them beside its data directory ("<data_dir>.import") and
 * imports the file through its log on a worker (node/jobs.h), answering
 * with the outcome; a follower forwards the whole upload on a link of its
 * own to the leader. One upload at a time per connection.
 */
#ifndef KEFU_NODE_UPLOAD_H
#define KEFU_NODE_UPLOAD_H

#include "node/component.h"

extern const struct component upload_service;

#endif
