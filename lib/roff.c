/* roff text for manual pages. See roff.h. */
#include "lib/roff.h"

#include <stdbool.h>

/* s escaped, without a newline at its end; a newline inside breaks the line. */
static void roff_put(FILE *out, const char *s)
{
	bool bol = true;

	for (; *s; s++) {
		if (*s == '\n' && s[1] == '\0')
			break;
		if (*s == '\n') {
			fputs("\n.br\n", out);
			while (s[1] == ' ' || s[1] == '\t')
				s++;
			bol = true;
			continue;
		}
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", out);
		bol = false;
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else
			fputc(*s, out);
	}
}

void roff_text(FILE *out, const char *s)
{
	roff_put(out, s);
	fputc('\n', out);
}

void roff_head(FILE *out, const char *name, const char *section, const char *version,
	       const char *summary)
{
	fprintf(out, ".TH \"%s\" \"%s\" \"\" \"%s\" \"kefu\"\n", name, section, version);
	roff_section(out, "NAME");
	fprintf(out, "%s \\- ", name);
	roff_text(out, summary);
}

void roff_section(FILE *out, const char *title)
{
	fprintf(out, ".SH \"%s\"\n", title);
}

void roff_item(FILE *out, const char *tag, const char *body)
{
	/* \fB..\fR rather than .B: a tag may hold double quotes. */
	fputs(".TP\n\\fB", out);
	roff_put(out, tag);
	fputs("\\fR\n", out);
	roff_text(out, body);
}
