/*
 * Test certificates: runs tests/cluster/certs.sh (from the repository
 * root, where tests/run.sh runs the tests) to make a CA and certificates
 * in a directory. Keeps nothing.
 */
#ifndef KEFU_TESTS_UNIT_SUPPORT_CERTS_H
#define KEFU_TESTS_UNIT_SUPPORT_CERTS_H

#include <stddef.h>

/*
 * certs_make - tests/cluster/certs.sh dir specs[0] ... specs[n-1], each
 * spec "NAME:ROLE[:SAN]". Returns 0, or -1 when the script failed (its
 * errors are on stderr).
 */
int certs_make(const char *dir, const char *const *specs, size_t n);

/* certs_path - "dir/name.ext" into out. Returns out. */
char *certs_path(char *out, size_t cap, const char *dir, const char *name, const char *ext);

#endif
