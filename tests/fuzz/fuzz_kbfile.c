/*
 * Fuzz target: the knowledge base's import format (storage/kbfile.h,
 * kbfile_line and kbfile_time). Whatever the bytes, the answer is an
 * article or one terminated reason; an accepted article has a title, a
 * body and a category, and its validity window, when it has both ends,
 * is not empty.
 */
#include "lib/err.h"
#include "storage/kbfile.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Kefu__KbArticleIn *a = NULL;
	char why[KBFILE_WHY_MAX];
	uint64_t ms;
	int err;

	why[0] = '\0';
	err = kbfile_line((const char *)data, size, &a, why, sizeof(why));
	if (err) {
		if (a || !memchr(why, '\0', sizeof(why)) || !why[0])
			abort();
	} else {
		if (!a || !a->title || !*a->title || !a->body || !a->category)
			abort();
		if (a->valid_from_ms && a->valid_to_ms && a->valid_to_ms <= a->valid_from_ms)
			abort();
		kefu__kb_article_in__free_unpacked(a, NULL);
	}
	if (kbfile_time((const char *)data, size, &ms) == 0 && ms > 253402300800000ull)
		abort(); /* after 9999-12-31 */
	return 0;
}
