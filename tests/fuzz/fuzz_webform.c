/*
 * The console's form and cookie parser (lib/webform.h) over arbitrary
 * bytes: every pair it returns is NUL-terminated inside its buffer, has a
 * key, and moves the position forward; the walk always ends; a cookie it
 * finds fits its buffer and holds no control character. Input: byte 0
 * picks the buffer sizes (1..16 for small ones), the rest is the body, and
 * also the Cookie header (up to its first NUL) asked for "k".
 */
#include "lib/err.h"
#include "lib/webform.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char key[64], val[256], cookie[64], *head;
	size_t ksize, vsize, csize, pos = 0, len, steps = 0;
	int r;

	if (size < 1)
		return 0;
	ksize = data[0] & 0x80 ? 1 + (data[0] & 15u) : sizeof(key);
	vsize = data[0] & 0x40 ? 1 + ((data[0] >> 2) & 15u) : sizeof(val);
	csize = data[0] & 0x20 ? 1 + (data[0] & 15u) : sizeof(cookie);
	len = size - 1;
	for (;;) {
		size_t before = pos;

		r = webform_next((const char *)data + 1, len, &pos, key, ksize, val, vsize);
		if (r == 0)
			break;
		if (pos <= before || pos > len || ++steps > len)
			abort(); /* no progress, or past the end */
		if (r == 1) {
			if (!key[0] || strlen(key) >= ksize || strlen(val) >= vsize)
				abort();
		} else if (r != KF_EPARSE && r != KF_ETOOBIG) {
			abort();
		}
	}
	if (pos != len)
		abort();
	head = malloc(len + 1);
	if (!head)
		abort();
	memcpy(head, data + 1, len);
	head[len] = '\0';
	r = webform_cookie(head, "k", cookie, csize);
	if (r == 0) {
		if (strlen(cookie) >= csize)
			abort();
		for (const char *c = cookie; *c; c++)
			if ((unsigned char)*c < 0x21 || *c == 0x7f)
				abort();
	} else if (r != KF_ENOTFOUND && r != KF_ETOOBIG && r != KF_EPARSE) {
		abort();
	}
	free(head);
	return 0;
}
