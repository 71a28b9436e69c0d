/*
 * Small files read whole: a configuration, the files it names (holidays,
 * dispatch rules, categories). The size is bounded before anything is
 * parsed, so a file that grew by mistake is refused, not half read.
 */
#ifndef KEFU_LIB_FILE_H
#define KEFU_LIB_FILE_H

#include <stddef.h>

/*
 * file_read_all - the file at path into a new buffer *text (len bytes, and
 * a NUL after them; the caller frees it). Returns 0, -errno (cannot be
 * opened or read), KF_ETOOBIG (over max bytes); *text is untouched then.
 */
int file_read_all(const char *path, size_t max, char **text, size_t *len);

/*
 * file_records - visit the records of the file at path, each a 32-bit
 * length in host order and that many bytes (a spool this process wrote),
 * in order: fn(arg, p, n), p valid during the call. A nonzero return of fn
 * stops the walk and is returned. Returns 0, fn's error, -errno (cannot be
 * opened or read), KF_ECORRUPT (the file ends inside a record).
 */
typedef int (*file_record_fn)(void *arg, const unsigned char *p, size_t n);
int file_records(const char *path, file_record_fn fn, void *arg);

#endif
