/* kefu-sipgw's pure parts (gateway/sipgw/): the black-hole SDP, NG commands
 * and replies, rtpengine's DTMF events. */
#include "gateway/sipgw/dtmf.h"
#include "gateway/sipgw/ng.h"
#include "gateway/sipgw/sdp.h"
#include "lib/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#define CALLER_SDP                                                                         \
	"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=c\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"          \
	"m=audio 30000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n" \
	"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n"

static void test_blackhole_takes_first_codec_and_telephone_event(void **state)
{
	char out[SDP_MAX];
	int n;

	(void)state;
	n = sdp_blackhole(CALLER_SDP, strlen(CALLER_SDP), out, sizeof(out));
	assert_int_equal(n, (int)strlen(out));
	assert_non_null(strstr(out, "m=audio 9 RTP/AVP 8 101\r\n"));
	assert_non_null(strstr(out, "a=rtpmap:8 PCMA/8000\r\n"));
	assert_non_null(strstr(out, "a=rtpmap:101 telephone-event/8000\r\n"));
	assert_null(strstr(out, "PCMU"));
	assert_non_null(strstr(out, "c=IN IP4 127.0.0.1\r\n"));
}

static void test_blackhole_without_telephone_event(void **state)
{
	const char *offer = "v=0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
	char out[SDP_MAX];

	(void)state;
	assert_true(sdp_blackhole(offer, strlen(offer), out, sizeof(out)) > 0);
	assert_non_null(strstr(out, "m=audio 9 RTP/AVP 0\r\n"));
	assert_null(strstr(out, "telephone-event"));
}

static void test_blackhole_refuses_bad_offers(void **state)
{
	const char *none = "v=0\r\nm=video 4000 RTP/AVP 96\r\n";
	const char *word = "v=0\r\nm=audio 4000 RTP/AVP PCMU\r\n";
	char out[SDP_MAX], small[40];

	(void)state;
	assert_int_equal(sdp_blackhole(none, strlen(none), out, sizeof(out)), KF_EPARSE);
	assert_int_equal(sdp_blackhole(word, strlen(word), out, sizeof(out)), KF_EPARSE);
	assert_int_equal(sdp_blackhole(CALLER_SDP, strlen(CALLER_SDP), small, sizeof(small)),
			 KF_ETOOBIG);
}

static void test_ng_offer_asks_for_port_latching(void **state)
{
	struct ng_cmd c = {.command = "offer", .call_id = "gw-1", .from_tag = "caller",
			   .sdp = "v=0\r\n", .latch = true};
	char buf[NG_MSG_MAX];
	int n;

	(void)state;
	n = ng_encode(&c, "k1", buf, sizeof(buf));
	assert_true(n > 0);
	buf[n] = '\0';
	assert_memory_equal(buf, "k1 d", 4);
	assert_non_null(strstr(buf, "7:command5:offer"));
	assert_non_null(strstr(buf, "7:call-id4:gw-1"));
	assert_non_null(strstr(buf, "13:port latching"));
	assert_int_equal(ng_encode(&c, "a b", buf, sizeof(buf)), KF_EINVAL);
	assert_int_equal(ng_encode(&c, "k1", buf, 10), KF_ETOOBIG);
}

static void test_ng_reply_with_sdp_and_duration(void **state)
{
	const char *ok = "k1 d3:sdp5:v=0\r\n6:result2:oke";
	const char *play = "k2 d8:durationi8000e6:result2:oke";
	const char *err = "k3 d12:error-reason9:no such 16:result5:errore";
	struct ng_reply r;

	(void)state;
	assert_int_equal(ng_decode(ok, strlen(ok), &r), 0);
	assert_true(r.ok);
	assert_int_equal(r.cookie_len, 2);
	assert_int_equal(r.sdp_len, 5);
	assert_memory_equal(r.sdp, "v=0\r\n", 5);
	assert_int_equal(ng_decode(play, strlen(play), &r), 0);
	assert_int_equal(r.duration_ms, 8000);
	assert_int_equal(ng_decode(err, strlen(err), &r), 0);
	assert_false(r.ok);
	assert_int_equal(r.why_len, 9);
	assert_int_equal(ng_decode("k4 d3:sdp", 9, &r), KF_EPARSE);
	assert_int_equal(ng_decode("nospace", 7, &r), KF_EPARSE);
}

static void test_dtmf_event_of_rtpengine(void **state)
{
	const char *ev = "{\"callid\":\"sipgw1-ab-3\",\"source_tag\":\"caller\",\"type\":\"DTMF\","
			 "\"event\":2,\"duration\":100,\"volume\":10}";
	const char *star = "{\"callid\":\"c\",\"event\":10}";
	const char *hash = "{\"callid\":\"c\",\"event\":11}";
	struct dtmf_event d;

	(void)state;
	assert_int_equal(dtmf_parse(ev, strlen(ev), &d), 0);
	assert_string_equal(d.call_id, "sipgw1-ab-3");
	assert_int_equal(d.digit, '2');
	assert_int_equal(dtmf_parse(star, strlen(star), &d), 0);
	assert_int_equal(d.digit, '*');
	assert_int_equal(dtmf_parse(hash, strlen(hash), &d), 0);
	assert_int_equal(d.digit, '#');
	assert_int_equal(dtmf_parse("{\"event\":2}", 11, &d), KF_EPARSE);
	assert_int_equal(dtmf_parse("{\"callid\":\"c\",\"event\":99}", 26, &d), KF_EPARSE);
	assert_int_equal(dtmf_parse("not json", 8, &d), KF_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blackhole_takes_first_codec_and_telephone_event),
		cmocka_unit_test(test_blackhole_without_telephone_event),
		cmocka_unit_test(test_blackhole_refuses_bad_offers),
		cmocka_unit_test(test_ng_offer_asks_for_port_latching),
		cmocka_unit_test(test_ng_reply_with_sdp_and_duration),
		cmocka_unit_test(test_dtmf_event_of_rtpengine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
