/* The clean-up child of tests with servers. See watchdog.h. */
#include "tests/unit/support/watchdog.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

void watchdog_start(struct watchdog *w, const char *script, const char *dir)
{
	int p[2];
	char c;

	if (pipe(p) != 0)
		abort();
	w->pid = fork();
	if (w->pid < 0)
		abort();
	if (w->pid == 0) {
		close(p[1]);
		while (read(p[0], &c, 1) > 0)
			;
		execl(script, script, "down", "--dir", dir, (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	w->fd = p[1];
}

void watchdog_finish(struct watchdog *w)
{
	close(w->fd);
	waitpid(w->pid, NULL, 0);
}
