/*
 * A fresh store in its own temporary directory, with a batch to fill: the
 * fixture of the unit tests of the modules that sit on storage/store.c.
 */
#ifndef KEFU_TESTS_UNIT_SUPPORT_TMPSTORE_H
#define KEFU_TESTS_UNIT_SUPPORT_TMPSTORE_H

#include <stddef.h>

struct batch;
struct store;

struct tmpstore {
	char dir[64];
	struct store *s;
	struct batch *b;
};

/* tmpstore_open - create /tmp/kefu-<tag>-XXXXXX, open a store in it and
 * a batch. Returns 0 or an error; on error nothing is left behind. */
int tmpstore_open(struct tmpstore *ts, const char *tag);

/* tmpstore_close - free the batch and the store, remove the directory. */
void tmpstore_close(struct tmpstore *ts);

#endif
