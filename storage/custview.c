/*
 * What of a customer's record a client is shown: the routing profile, the
 * masked screen pop and the ID check. See custview.h.
 */
#include "storage/custview.h"

#include "lib/err.h"

#include <string.h>

/* How far into an address its city is looked for, in characters. */
#define ADDR_LOOK 16

/* The length in bytes of the UTF-8 character at s (1..4); a byte that does
 * not start a well-formed character counts as one of its own. */
static size_t u8len(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = u[0] < 0x80 ? 1 : u[0] >= 0xf0 && u[0] < 0xf8 ? 4 : u[0] >= 0xe0 ? 3
		 : u[0] >= 0xc0 ? 2 : 1;

	for (size_t i = 1; i < n; i++)
		if ((u[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

static size_t u8count(const char *s)
{
	size_t n = 0;

	for (; *s; s += u8len(s))
		n++;
	return n;
}

int custview_mask_id(const char *id, char *out, size_t cap)
{
	size_t keep, i = 0, o = 0, c;

	if (!cap)
		return KF_ETOOBIG;
	out[0] = '\0';
	if (!id)
		return 0;
	keep = u8count(id) >= CUSTVIEW_ID_KEEP_FROM ? CUSTVIEW_ID_KEEP : 0;
	for (size_t n = 0; id[i]; n++, i += c) {
		c = u8len(id + i);
		if (n < keep) {
			if (o + c >= cap)
				goto too_big;
			memcpy(out + o, id + i, c);
			o += c;
		} else {
			if (o + 1 >= cap)
				goto too_big;
			out[o++] = '*';
		}
	}
	out[o] = '\0';
	return 0;
too_big:
	out[0] = '\0';
	return KF_ETOOBIG;
}

/* The byte offset just past the first of the characters marks (each a
 * UTF-8 character) within the first ADDR_LOOK characters of a; 0 when none. */
static size_t addr_prefix(const char *a, const char *const *marks, size_t nmarks)
{
	size_t i = 0, c;

	for (size_t n = 0; a[i] && n < ADDR_LOOK; n++, i += c) {
		c = u8len(a + i);
		for (size_t m = 0; m < nmarks; m++)
			if (strlen(marks[m]) == c && memcmp(a + i, marks[m], c) == 0)
				return i + c;
	}
	return 0;
}

int custview_mask_address(const char *addr, char *out, size_t cap)
{
	static const char *const city[] = {"市"}, *const pref[] = {"州", "盟"},
				 *const prov[] = {"省"};
	size_t keep;

	if (!cap)
		return KF_ETOOBIG;
	out[0] = '\0';
	if (!addr || !*addr)
		return 0;
	keep = addr_prefix(addr, city, 1);
	if (!keep)
		keep = addr_prefix(addr, pref, 2);
	if (!keep)
		keep = addr_prefix(addr, prov, 1);
	if (keep + sizeof(CUSTVIEW_ADDR_MARK) > cap)
		return KF_ETOOBIG;
	memcpy(out, addr, keep);
	memcpy(out + keep, CUSTVIEW_ADDR_MARK, sizeof(CUSTVIEW_ADDR_MARK));
	return 0;
}

static char ascii_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

bool custview_digits_are_valid(const char *digits)
{
	size_t n = 0;

	if (!digits)
		return false;
	for (; digits[n]; n++) {
		char c = digits[n];

		if (n >= CUSTVIEW_DIGITS_MAX ||
		    !((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
			return false;
	}
	return n > 0;
}

bool custview_id_digits_match(const char *id_no, const char *digits)
{
	size_t idlen, want, dlen;
	const char *tail;
	unsigned diff = 0;

	if (!id_no || !*id_no || !custview_digits_are_valid(digits))
		return false;
	idlen = strlen(id_no);
	want = idlen < CUSTVIEW_ID_DIGITS ? idlen : CUSTVIEW_ID_DIGITS;
	tail = id_no + idlen - want;
	dlen = strlen(digits);
	diff |= (unsigned)(dlen != want);
	for (size_t i = 0; i < want; i++)
		diff |= (unsigned)(unsigned char)(ascii_upper(tail[i]) ^
						  ascii_upper(digits[i < dlen ? i : 0]));
	return diff == 0;
}

void custview_routing(const Kefu__Subscriber *u, const Kefu__Customer *c, Kefu__Subscriber *ou,
		      Kefu__Customer *oc)
{
	kefu__subscriber__init(ou);
	kefu__customer__init(oc);
	if (u) {
		ou->msisdn = u->msisdn;
		ou->brand = u->brand;
		ou->has_status = u->has_status;
		ou->status = u->status;
	}
	if (c) {
		oc->has_vip_level = c->has_vip_level;
		oc->vip_level = c->vip_level;
	}
}

int custview_masked(const Kefu__Customer *c, Kefu__Customer *out, char id[CUSTVIEW_MASK_MAX],
		    char addr[CUSTVIEW_MASK_MAX])
{
	int err;

	*out = *c;
	out->id_no = NULL;
	out->address = NULL;
	err = custview_mask_id(c->id_no, id, CUSTVIEW_MASK_MAX);
	if (!err)
		err = custview_mask_address(c->address, addr, CUSTVIEW_MASK_MAX);
	if (err)
		return err;
	out->id_no = c->id_no ? id : NULL;
	out->address = c->address ? addr : NULL;
	return 0;
}
