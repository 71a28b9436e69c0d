/*
 * Helpers shared by the unit tests: temporary directories and BOSS data
 * files written beside a matching (or deliberately wrong) .chk.
 * Every function works on caller-owned buffers and keeps nothing.
 */
#ifndef KEFU_TESTS_UNIT_SUPPORT_BOSSFILE_H
#define KEFU_TESTS_UNIT_SUPPORT_BOSSFILE_H

#include <stdbool.h>
#include <stddef.h>

/* bossfile_tmpdir - create a fresh directory /tmp/kefu-<tag>-XXXXXX and
 * write its path into out. Returns 0 or -errno. */
int bossfile_tmpdir(const char *tag, char *out, size_t cap);

/* bossfile_rmtree - remove dir and everything below it; missing is fine. */
void bossfile_rmtree(const char *dir);

/* bossfile_put - write exactly len bytes of data into dir/name.
 * Returns 0 or -errno. */
int bossfile_put(const char *dir, const char *name, const void *data, size_t len);

/* bossfile_chk_line - the correct check-file line for a data file called
 * name holding data: "name|records|bytes|sha256\n". Returns 0, or
 * -ENOSPC when out is too small. */
int bossfile_chk_line(const char *name, const void *data, size_t len, char *out, size_t cap);

/* bossfile_write - dir/name with data and dir/<name without .dat>.chk
 * that matches it. Returns 0 or -errno. */
int bossfile_write(const char *dir, const char *name, const void *data, size_t len);

/* bossfile_write_chk - dir/<name without .dat>.chk holding text as given. */
int bossfile_write_chk(const char *dir, const char *name, const char *text);

/* bossfile_exists - whether dir/name exists. */
bool bossfile_exists(const char *dir, const char *name);

/* bossfile_read - read dir/name into out (NUL-terminated, truncated to
 * cap - 1 bytes). Returns 0 or -errno. */
int bossfile_read(const char *dir, const char *name, char *out, size_t cap);

#endif
