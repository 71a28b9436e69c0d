/*
 * A child that outlives a test only to clean up: it waits until this
 * process ends (its pipe closes, however the process ended) and then runs
 * "<script> down --dir <dir>", which stops the servers the test started.
 */
#ifndef KEFU_TESTS_WATCHDOG_H
#define KEFU_TESTS_WATCHDOG_H

#include <sys/types.h>

struct watchdog {
	pid_t pid;
	int fd;     /* the write end of the pipe; closing it sets the child off */
};

/* watchdog_start - fork the child for script and dir (both must outlive it). */
void watchdog_start(struct watchdog *w, const char *script, const char *dir);

/* watchdog_finish - set it off now and wait until the servers are down. */
void watchdog_finish(struct watchdog *w);

#endif
