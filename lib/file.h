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

#endif
