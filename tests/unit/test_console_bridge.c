/*
 * Unit tests of node/console/bridge.c, the console's translations read off
 * protobuf-c's descriptors: a form becomes the Envelope of the body named
 * (scalars, nested fields, enums by name or number, repeated fields, the
 * csrf field left out); unknown bodies and fields, bad values and too many
 * values are refused with why; an Envelope becomes {type, body, request_id}
 * JSON with unset optional fields left out.
 */
#include "lib/err.h"
#include "node/console/console_int.h"
#include "proto/frame.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The form as an Envelope of body name, decoded; NULL when refused (why set). */
static Kefu__Envelope *translate(const char *name, const char *form, char *why, size_t wsize)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	Kefu__Envelope *e = NULL;

	why[0] = '\0';
	if (console__form_envelope(name, form, strlen(form), 7, &buf, &len, why, wsize) != 0) {
		assert_null(buf);
		assert_true(why[0] != '\0');
		return NULL;
	}
	assert_int_equal(frame_envelope_decode(buf, len, &e), 0);
	free(buf);
	assert_int_equal(e->request_id, 7);
	return e;
}

static void test_scalars_and_nesting(void **state)
{
	char why[160];
	Kefu__Envelope *e;

	(void)state;
	e = translate("set_agent_state", "state=not_ready&reason=%E5%B0%8F%E4%BC%91&csrf=ab", why,
		      sizeof(why));
	assert_non_null(e);
	assert_int_equal(e->body_case, KEFU__ENVELOPE__BODY_SET_AGENT_STATE);
	assert_string_equal(e->set_agent_state->state, "not_ready");
	assert_string_equal(e->set_agent_state->reason, "小休");
	frame_envelope_free(e);

	e = translate("agent_write", "op=PASSWD&agent.id=a01&agent.enabled=true&agent.order=12", why,
		      sizeof(why));
	assert_non_null(e);
	assert_int_equal(e->agent_write->op, KEFU__AGENT_WRITE_REQUEST__OP__PASSWD);
	assert_string_equal(e->agent_write->agent->id, "a01");
	assert_true(e->agent_write->agent->has_enabled && e->agent_write->agent->enabled);
	assert_int_equal(e->agent_write->agent->order, 12);
	frame_envelope_free(e);

	e = translate("agent_write", "op=3", why, sizeof(why)); /* an enum by its number */
	assert_non_null(e);
	assert_int_equal(e->agent_write->op, KEFU__AGENT_WRITE_REQUEST__OP__DISABLE);
	frame_envelope_free(e);

	e = translate("gateway_resume", "call_ids=c1&call_ids=c2", why, sizeof(why));
	assert_non_null(e);
	assert_int_equal(e->gateway_resume->n_call_ids, 2);
	assert_string_equal(e->gateway_resume->call_ids[1], "c2");
	frame_envelope_free(e);

	e = translate("answer_call", "", why, sizeof(why)); /* an empty body is still that body */
	assert_non_null(e);
	assert_int_equal(e->body_case, KEFU__ENVELOPE__BODY_ANSWER_CALL);
	frame_envelope_free(e);
}

static void test_refusals(void **state)
{
	static const char *const bad[][2] = {
		{"no_such_body", "a=1"},
		{"request_id", "a=1"},                  /* a field of the Envelope, no body */
		{"set_agent_state", "colour=red"},      /* no such field */
		{"wrap_up_done", "ready=maybe"},        /* not a bool */
		{"bills_request", "months=-1"},         /* not a uint32 */
		{"bills_request", "months=4294967296"}, /* over it */
		{"agent_write", "op=NOPE"},             /* no such enum value */
		{"agent_write", "agent=x"},             /* a message: name one of its fields */
		{"agent_write", "op.x=1"},              /* a scalar has no fields */
		{"set_agent_state", "state=%zz"},       /* a malformed form */
	};
	char why[160];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(translate(bad[i][0], bad[i][1], why, sizeof(why)));
}

static void test_repeated_limit(void **state)
{
	char form[2048] = "", why[160];
	size_t n = 0;
	Kefu__Envelope *e;

	(void)state;
	for (int i = 0; i < 64; i++)
		n += (size_t)snprintf(form + n, sizeof(form) - n, "%scall_ids=c%d", i ? "&" : "", i);
	e = translate("gateway_resume", form, why, sizeof(why));
	assert_non_null(e);
	assert_int_equal(e->gateway_resume->n_call_ids, 64);
	frame_envelope_free(e);
	snprintf(form + n, sizeof(form) - n, "&call_ids=one-more");
	assert_null(translate("gateway_resume", form, why, sizeof(why)));
}

static void test_json(void **state)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__AgentStatus st = KEFU__AGENT_STATUS__INIT;
	Kefu__VerifyReply vr = KEFU__VERIFY_REPLY__INIT;
	json_t *o;
	char *t;

	(void)state;
	st.state = "on_call";
	st.call_id = "gw:c1";
	e.body_case = KEFU__ENVELOPE__BODY_AGENT_STATUS;
	e.agent_status = &st;
	e.request_id = 9;
	t = console__envelope_json(&e);
	o = json_loads(t, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "type")), "agent_status");
	assert_int_equal(json_integer_value(json_object_get(o, "request_id")), 9);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "body"), "state")),
			    "on_call");
	assert_null(json_object_get(json_object_get(o, "body"), "reason")); /* unset: left out */
	json_decref(o);
	free(t);

	vr.result = "failed";
	vr.has_attempts_left = 1;
	vr.attempts_left = 2;
	e.body_case = KEFU__ENVELOPE__BODY_VERIFY_REPLY;
	e.verify_reply = &vr;
	t = console__envelope_json(&e);
	o = json_loads(t, 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "body"), "attempts_left")), 2);
	assert_null(json_object_get(json_object_get(o, "body"), "user"));
	json_decref(o);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars_and_nesting),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_repeated_limit),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
