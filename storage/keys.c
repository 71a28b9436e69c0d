/*
 * Composite keys: parts joined by a 0x00 terminator each. See keys.h.
 */
#include "storage/keys.h"

#include "lib/err.h"

#include <string.h>

void key_init(struct key *k)
{
	k->len = 0;
	k->overflow = false;
}

/*
 * key_add - a part that holds a 0x00 byte would break the ordering and the
 * prefix rule, so it spoils the key like a part that does not fit; it is
 * told apart by KF_EPARSE.
 */
int key_add(struct key *k, const void *part, size_t len)
{
	if (k->overflow)
		return KF_ETOOBIG;
	if (len && memchr(part, 0, len)) {
		k->overflow = true;
		return KF_EPARSE;
	}
	if (len >= sizeof(k->b) - k->len) {
		k->overflow = true;
		return KF_ETOOBIG;
	}
	if (len)
		memcpy(k->b + k->len, part, len);
	k->b[k->len + len] = 0;
	k->len += len + 1;
	return 0;
}

int key_add_str(struct key *k, const char *s)
{
	return key_add(k, s, strlen(s));
}

int key_part(const void *buf, size_t len, unsigned i, const uint8_t **part, size_t *plen)
{
	const uint8_t *p = buf, *end = p + len;

	for (;;) {
		const uint8_t *nul = p < end ? memchr(p, 0, (size_t)(end - p)) : NULL;

		if (!nul)
			return KF_ENOTFOUND; /* fewer parts, or an unterminated tail */
		if (i-- == 0) {
			*part = p;
			*plen = (size_t)(nul - p);
			return 0;
		}
		p = nul + 1;
	}
}
