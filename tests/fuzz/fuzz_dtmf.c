/*
 * rtpengine's DTMF events (gateway/sipgw/dtmf.h) over arbitrary bytes: an
 * event taken has a NUL-terminated call id and a digit of the DTMF set.
 */
#include "gateway/sipgw/dtmf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dtmf_event d;

	if (dtmf_parse((const char *)data, size, &d) == 0) {
		if (!memchr(d.call_id, '\0', sizeof(d.call_id)) || !d.digit ||
		    !strchr("0123456789*#ABCD", d.digit))
			abort();
	}
	return 0;
}
