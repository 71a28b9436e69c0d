/*
 * The browser console (docs/console.md): the agent's desktop and the
 * supervisor's console over HTTPS on console_addr, one more client of the
 * message table's handlers (node/msg.h, local peers).
 */
#ifndef KEFU_NODE_CONSOLE_H
#define KEFU_NODE_CONSOLE_H

#include "node/component.h"

extern const struct component console_component;

#endif
