/*
 * Fuzz target: the contact query (node/dialing/query.h, dial_query_parse).
 * Whatever the text, the answer is a compiled query or one terminated
 * reason ending in a position within the text (or just past it). An
 * accepted query is within its limits and evaluates against an empty
 * subscriber and a filled one without fault.
 */
#include "lib/err.h"
#include "node/dialing/query.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dial_query q;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[DIAL_QUERY_WHY_MAX];
	Kefu__Subscriber u = KEFU__SUBSCRIBER__INIT;
	Kefu__Customer cu = KEFU__CUSTOMER__INIT;
	int r = dial_query_parse((const char *)data, size, &q, why, sizeof(why));

	if (r != 0) {
		const char *at = NULL;

		/* the position follows the last " at " (a quoted word may hold one) */
		for (const char *p = strstr(why, " at "); p; p = strstr(p + 1, " at "))
			at = p;

		if ((r != KF_EPARSE && r != KF_ETOOBIG) || !at ||
		    strnlen(why, sizeof(why)) == sizeof(why))
			abort();
		if (strtoul(at + 4, NULL, 10) > size + 1 && r != KF_ETOOBIG)
			abort();
		return 0;
	}
	if (q.nterms == 0 || q.nterms > DIAL_QUERY_MAX_TERMS)
		abort();
	for (unsigned i = 0; i < q.nterms; i++)
		if (q.terms[i].nvals == 0 || q.terms[i].nvals > DIAL_QUERY_MAX_IN ||
		    (q.terms[i].op != DIAL_IN && q.terms[i].nvals != 1))
			abort();
	(void)dial_query_match(&q, &u, NULL);
	u.has_status = u.has_arrears = u.has_balance = 1;
	u.status = 3;
	u.arrears = 12345;
	u.balance = -500;
	u.brand = "gotone";
	cu.has_vip_level = 1;
	cu.vip_level = 4;
	cu.cust_type = "P";
	(void)dial_query_match(&q, &u, &cu);
	return 0;
}
