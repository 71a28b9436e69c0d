/* rtpengine's DTMF events. See dtmf.h. */
#include "gateway/sipgw/dtmf.h"

#include "lib/err.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

int dtmf_parse(const char *buf, size_t len, struct dtmf_event *out)
{
	static const char digits[] = "0123456789*#ABCD";
	json_error_t je;
	json_t *j, *id, *ev;
	int rc = KF_EPARSE;

	memset(out, 0, sizeof(*out));
	if (len > DTMF_MSG_MAX)
		return KF_ETOOBIG;
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return KF_EPARSE;
	id = json_object_get(j, "callid");
	ev = json_object_get(j, "event");
	if (json_is_string(id) && json_is_integer(ev) && json_integer_value(ev) >= 0 &&
	    json_integer_value(ev) < (json_int_t)(sizeof(digits) - 1)) {
		if (json_string_length(id) >= sizeof(out->call_id) ||
		    strlen(json_string_value(id)) != json_string_length(id)) {
			rc = KF_ETOOBIG;
		} else {
			snprintf(out->call_id, sizeof(out->call_id), "%s", json_string_value(id));
			out->digit = digits[json_integer_value(ev)];
			rc = 0;
		}
	}
	json_decref(j);
	return rc;
}
