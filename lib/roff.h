/*
 * Manual pages in roff (man(7) macros), written from the tables that also
 * print a program's --help, so the two never disagree. Pure text out: no
 * files, no globals.
 */
#ifndef KEFU_LIB_ROFF_H
#define KEFU_LIB_ROFF_H

#include <stdio.h>

/*
 * roff_text - s as roff text: backslashes and hyphens escaped, a line that
 * would begin with '.' or '\'' guarded, each newline of s a line break
 * (.br) with the blanks that indented the next line dropped; a newline
 * at the end of s is dropped.
 */
void roff_text(FILE *out, const char *s);

/*
 * roff_head - the page's .TH line and NAME section: name, section ("8"),
 * version (the footer, e.g. "kefu 0.1.0") and a one-line summary.
 */
void roff_head(FILE *out, const char *name, const char *section, const char *version,
	       const char *summary);

/* roff_section - a .SH heading (upper case by convention, as given). */
void roff_section(FILE *out, const char *title);

/* roff_item - a tagged paragraph (.TP): tag (one line) in bold, then body as roff_text. */
void roff_item(FILE *out, const char *tag, const char *body);

#endif
