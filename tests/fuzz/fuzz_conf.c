/*
 * conf_parse over arbitrary bytes, with a table holding every type. When a
 * text parses, every value must survive conf_format -> conf_set unchanged.
 */
#include "lib/conf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fcfg {
	char name[16];
	int64_t port;
	bool flag;
	int64_t size;
	int64_t wait;
	char addr[64];
	char path[128];
	int64_t any;
	int64_t part;
};

#define ROW(field, name, type, def, min, max) \
	CONF_ROW(struct fcfg, field, name, type, def, min, max, false, "")

static const struct conf_option fuzz_table[] = {
	ROW(name, "name", CONF_STRING, "n", 1, 0),
	ROW(port, "port", CONF_INT, "1", 1, 65535),
	ROW(flag, "flag", CONF_BOOL, "no", 0, 0),
	ROW(size, "size", CONF_SIZE, "1M", 0, 0),
	ROW(wait, "wait", CONF_DURATION, "1s", 0, INT64_C(1) << 40),
	ROW(addr, "addr", CONF_ADDRESS, "", 0, 0),
	ROW(path, "path", CONF_PATH, "", 0, 0),
	ROW(any, "any", CONF_INT, "0", 0, 0),
	ROW(part, "part", CONF_FRACTION, "1", 0, 0),
};
#define N (sizeof(fuzz_table) / sizeof(fuzz_table[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fcfg c, copy;
	struct conf_err err;

	conf_defaults(fuzz_table, N, &c);
	if (conf_parse(fuzz_table, N, &c, (const char *)data, size, &err) != 0) {
		if (strnlen(err.msg, sizeof(err.msg)) == sizeof(err.msg))
			abort(); /* the message must be terminated */
		return 0;
	}
	conf_check(fuzz_table, N, &c, &err);
	memcpy(&copy, &c, sizeof(c));
	for (size_t i = 0; i < N; i++) {
		char text[256];

		conf_format(&fuzz_table[i], &c, text, sizeof(text));
		if (conf_set(fuzz_table, N, &copy, fuzz_table[i].name, text, &err) != 0)
			abort();
	}
	if (conf_reload(fuzz_table, N, &c, &copy, NULL, NULL) != 0)
		abort();
	return 0;
}
