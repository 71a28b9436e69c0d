#!/bin/sh
# Connecting calls to agents' phones through the whole SIP path
# (docs/sipgw.md "Connect", "Hang-ups"), on one harness cluster with --sip:
#   - re-offers and connect: one caller waits while the agent who answered on
#     the desktop has a phone that never answers (cancelled at the ring
#     timeout), then one that answers 486, then one not registered (480):
#     each time the agent goes not ready ("phone") and the call is offered to
#     the next agent, until a phone answers (none reaches the phone that
#     only rang, though it offered early media); the caller hears the agent (its
#     own audio echoed back through both legs), the phone hears the caller,
#     all from the one port of the caller's 200; the node counts the call
#     answered once and talking (connected_ms).
#   - hang-up while queued: the node records the abandon.
#   - hang-up while ringing: the ringing phone gets CANCEL, the agent wraps up.
. "$(dirname "$0")/../cluster/lib.inc"
# A short ring timeout for the phone that never answers.
KEFU_SIP_RING=6
export KEFU_SIP_RING
up 3 --sip
. "$TOP/tests/sipgw/lib.inc"
agents a1 a2 a3 a4 a5

# An agent's desktop that answers the offer; its phone then fails.
failing_desktop() {
	login_ready "$1" agent-secret-1
	printf 'expect offer within=60000\nsend answer_call call_id=@call_id\nexpect agent_status state=on_call\n'
	printf 'expect offer_revoked reason=phone within=30000\nexpect agent_status state=not_ready reason=phone\n'
}

# ---- re-offers after no answer, 486 and 480, then the connect ----
phone a2 phone_noanswer $((B + 83)) $((B + 88))
phone a3 phone_busy $((B + 84))
phone a5 phone_answer $((B + 85)) $((B + 86))
rtp a5 $((B + 86)) 5 --echo
# Longest idle first: a2, a3, a4 (no phone registered), a5.
actor a2 node1 agent <<EOF
$(failing_desktop a2)
EOF
ready a2
actor a3 node2 agent <<EOF
$(failing_desktop a3)
EOF
ready a3
actor a4 node3 agent <<EOF
$(failing_desktop a4)
EOF
ready a4
actor a5 node1 agent <<EOF
$(talking_desktop a5)
EOF
ready a5
rtp c1 $((B + 81)) 16 --talk
# a2's phone offers early media: nothing may reach it while it rings.
rtp a2 $((B + 88)) 1 --within=14
caller c1 13800000011 $((B + 80)) $((B + 81)) 16000
caller_done c1
for a in a2 a3 a4 a5; do finished "$a"; done
phone_done a2
phone_done a3
phone_done a5
took C1 13800000011
for want in "agent=a2 reason=no-answer" "agent=a3 reason=busy" "agent=a4 reason=unregistered"; do
	logged "agent phone failed call=$C1 $want" || fail "no failure $want: $(grep -h "$C1" $GWLOGS)"
	ok
done
logged "call connected call=$C1 agent=a5" || fail "not connected to a5: $(grep -h "$C1" $GWLOGS)"
ok
rtp_done a5
rtp_done c1
rtp_done a2
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(r["packets"] != 0)' "$D/rtp.a2.json" ||
	fail "media to a phone that never answered: $(cat "$D/rtp.a2.json")"
ok
python3 - "$D/rtp.c1.json" "$D/rtp.a5.json" <<'PY' || fail "media: $(cat "$D/rtp.c1.json" "$D/rtp.a5.json")"
import json, sys
caller, phone = (json.load(open(f)) for f in sys.argv[1:])
# The phone heard the caller; the caller heard its own audio back through the phone.
assert phone["marked"] >= 50, phone
assert caller["marked"] >= 50, caller
# Prompts, music and the agent all came from the one port of the caller's 200.
assert len(caller["sources"]) == 1, caller
assert len(phone["sources"]) == 1, phone
PY
ok
# The node: answered once (three answers taken back), the talk from the connect.
[ -n "$(call_field "$C1" connected_ms)" ] || fail "no connected_ms on $C1"
ok
wait_for "the call's end" 10 call_is "$C1" ended
[ "$(rcli HGET kefu:test:rt:0 answered)" = 1 ] || fail "answered: $(rcli HGETALL kefu:test:rt:0 | tr '\n' ' ')"
ok

# ---- hang-up while queued: an abandon ----
caller c2 13800000012 $((B + 80)) $((B + 81)) 2000
caller_done c2
took C2 13800000012
wait_for "the abandon of $C2" 10 call_is "$C2" abandoned
logged "caller hung up call=$C2 state=queued" || fail "not hung up while queued: $(grep -h "$C2" $GWLOGS)"
ok

# ---- hang-up while ringing: CANCEL to the phone, the agent wraps up ----
phone a1 phone_noanswer $((B + 87)) $((B + 89))
actor a1 node2 agent <<EOF
$(talking_desktop a1)
EOF
ready a1
caller c3 13800000013 $((B + 80)) $((B + 81)) 2500
caller_done c3
finished a1
phone_done a1
C3=$(call_of 13800000013)
logged "caller hung up call=$C3 state=ringing" || fail "not hung up while ringing: $(grep -h "$C3" $GWLOGS)"
ok
wait_for "the end of $C3" 10 call_is "$C3" ended
done_ok
