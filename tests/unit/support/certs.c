/* Test certificates through tests/cluster/certs.sh. See certs.h. */
#include "tests/unit/support/certs.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define CERTS_SPECS_MAX 16

int certs_make(const char *dir, const char *const *specs, size_t n)
{
	const char *argv[CERTS_SPECS_MAX + 3];
	pid_t pid;
	int status;

	if (n > CERTS_SPECS_MAX)
		return -1;
	argv[0] = "tests/cluster/certs.sh";
	argv[1] = dir;
	for (size_t i = 0; i < n; i++)
		argv[2 + i] = specs[i];
	argv[2 + n] = NULL;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		perror("certs.sh");
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

char *certs_path(char *out, size_t cap, const char *dir, const char *name, const char *ext)
{
	snprintf(out, cap, "%s/%s.%s", dir, name, ext);
	return out;
}
