/*
 * Fuzz target: the work orders' category tree (node/workflow/conf.h,
 * wo_categories_parse). Whatever the text, the answer is a tree or one
 * terminated reason. In an accepted tree every line is a known kind, '/'
 * and 1..4 levels, no line is given twice, every line and every prefix of
 * it made of whole levels is a valid category of its kind, and a line with
 * a level added is not.
 */
#include "lib/err.h"
#include "node/workflow/conf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wo_settings s;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[WO_WHY_MAX], prefix[WO_PATH_MAX];
	int r;

	memset(&s, 0, sizeof(s));
	why[0] = '\0';
	r = wo_categories_parse(&s, (const char *)data, size, why, sizeof(why));
	if (r != 0) {
		if ((r != KF_EPARSE && r != KF_ETOOBIG) || !why[0] ||
		    strnlen(why, sizeof(why)) == sizeof(why) || s.categories)
			abort();
		return 0;
	}
	if (wo_categories_count(&s) > WO_CATEGORIES_MAX ||
	    wo_category_path(&s, wo_categories_count(&s)) != NULL)
		abort();
	for (size_t i = 0; i < wo_categories_count(&s); i++) {
		const char *p = wo_category_path(&s, i), *rest;
		const char *kind = wo_kind_name(s.categories[i].kind);
		size_t kl, levels = 1;

		if (!kind)
			abort();
		kl = strlen(kind);
		if (strncmp(p, kind, kl) != 0 || p[kl] != '/' || strlen(p) >= WO_PATH_MAX)
			abort();
		rest = p + kl + 1;
		if (!wo_category_valid(&s, s.categories[i].kind, rest))
			abort();
		for (size_t j = 0; rest[j]; j++) {
			if (rest[j] != '/')
				continue;
			if (j == 0 || rest[j + 1] == '\0' || rest[j + 1] == '/')
				abort(); /* an empty level */
			levels++;
			memcpy(prefix, rest, j);
			prefix[j] = '\0';
			if (!wo_category_valid(&s, s.categories[i].kind, prefix))
				abort();
		}
		if (levels > WO_LEVELS_MAX)
			abort();
		for (size_t j = i + 1; j < wo_categories_count(&s); j++)
			if (strcmp(p, wo_category_path(&s, j)) == 0)
				abort(); /* given twice */
		/* The line with a level added is not a category. */
		if (strlen(rest) + 3 < sizeof(prefix)) {
			memcpy(prefix, rest, strlen(rest));
			memcpy(prefix + strlen(rest), "/\x01", 3);
			if (wo_category_valid(&s, s.categories[i].kind, prefix))
				abort();
		}
	}
	wo_settings_free(&s);
	return 0;
}
