/*
 * The agent knowledge base (座席咨询知识库, docs/kb.md), a component of
 * the node (node/component.h): articles whose versions are written by
 * editors, approved by another editor or a supervisor (never by their
 * author alone) and published with a validity window; searched by agents
 * in Chinese, pinyin or both while the caller waits.
 *
 * Articles are replicated writes: a follower forwards a change to the
 * leader, which checks it against the stored article and writes it in the
 * same step. Every node derives the search index from the live versions
 * in the transaction that applies the change (storage/kb.h), and answers
 * searches from its own replica, checking validity as it answers.
 *
 * The files of node/kb/ share kb_int.h; nothing else of it is public.
 */
#ifndef KEFU_NODE_KB_H
#define KEFU_NODE_KB_H

#include "node/component.h"

extern const struct component kb_component;

#endif
