/*
 * The console's translation of a browser's form into an Envelope
 * (node/console/bridge.c) over arbitrary bytes: a form it accepts packs
 * into an Envelope that unpacks again with the body named and the request
 * id given; one it refuses says why. Input: byte 0 picks the body's name
 * from a few the pages send, the rest is the form.
 */
#include "lib/err.h"
#include "node/console/console_int.h"
#include "proto/frame.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
	"login",       "set_agent_state", "verify_identity", "bills_request", "order_create",
	"kb_search",   "report",          "wallboard",       "answer_call",   "no_such_body",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *name;
	uint8_t *buf = NULL;
	size_t blen = 0;
	char why[160] = "";
	Kefu__Envelope *e;
	int r;

	if (size < 1)
		return 0;
	name = names[data[0] % (sizeof(names) / sizeof(names[0]))];
	r = console__form_envelope(name, (const char *)data + 1, size - 1, 42, &buf, &blen, why,
				   sizeof(why));
	if (r != 0) {
		if (buf || !why[0])
			abort();
		return 0;
	}
	if (strcmp(name, "no_such_body") == 0)
		abort();
	if (frame_envelope_decode(buf, blen, &e) != 0 || e->request_id != 42)
		abort();
	frame_envelope_free(e);
	free(buf);
	return 0;
}
