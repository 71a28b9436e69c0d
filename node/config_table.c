/* kefud's options by name. See config_table.h. */
#include "node/config_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The field of the option named name, which must be of one of types[0..n). */
static const void *config_table_field(const struct config *c, const char *name,
				      const enum conf_type *types, size_t n)
{
	const struct conf_option *o = conf_find(config_table, config_table_len, name);

	for (size_t i = 0; o && i < n; i++)
		if (o->type == types[i])
			return (const char *)c + o->offset;
	fprintf(stderr, "config: no option %s of the type asked for\n", name);
	abort();
}

const char *config_table_text(const struct config *c, const char *name)
{
	static const enum conf_type text[] = {CONF_STRING, CONF_PATH, CONF_ADDRESS};

	return config_table_field(c, name, text, sizeof(text) / sizeof(text[0]));
}

int64_t config_table_number(const struct config *c, const char *name)
{
	static const enum conf_type number[] = {CONF_INT, CONF_SIZE, CONF_DURATION,
						CONF_FRACTION};
	int64_t v;

	memcpy(&v, config_table_field(c, name, number, sizeof(number) / sizeof(number[0])),
	       sizeof(v));
	return v;
}

bool config_table_bool(const struct config *c, const char *name)
{
	static const enum conf_type boolean[] = {CONF_BOOL};
	bool v;

	memcpy(&v, config_table_field(c, name, boolean, 1), sizeof(v));
	return v;
}
