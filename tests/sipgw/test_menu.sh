#!/bin/sh
# The IVR menu through the whole SIP path (docs/sipgw.md "DTMF", docs/routing.md
# "IVR menus"), on one harness cluster with --sip whose ordinary tier has the
# menu 1:billing,2:general: a general and a billing agent are ready.
#   - A caller who presses 1 is held out of the queues until the key, then
#     queued in billing alone: offered to the billing agent, whose phone
#     answers and hears the caller, while the general agent (ready the whole
#     time, and first in the ladder's queue) is offered nothing; the call
#     counts once, for billing.
#   - A caller who presses nothing is queued after menu_timeout in the
#     ladder's first queue (general) and offered to the general agent.
#   - A caller held in the menu when the gateway's node dies (kill -9): the
#     gateway resumes the call on another node, and the key pressed after
#     that (once the resume is seen) still chooses: the call is queued in
#     billing, offered to a billing agent on another node, connected, and
#     counted once, for billing.
. "$(dirname "$0")/../cluster/lib.inc"
up 3 --sip --extra "ordinary_menu = 1:billing,2:general" --extra "menu_timeout = 8s"
. "$TOP/tests/sipgw/lib.inc"
SKILLS=general:9 agents gen1
SKILLS=billing:5 agents bil1 bil2

# ---- the key 1: billing, and nobody else ----
answering_agent bil1 node2 $((B + 84)) $((B + 85)) 4
ready bil1
# The general agent's desktop takes the first offer it gets and stops.
actor gen1 node3 agent <<EOF
$(login_ready gen1 agent-secret-1)
expect offer within=90000
EOF
ready gen1
rtp c1 $((B + 81)) 10 --talk --digit=1
caller c1 13800000021 $((B + 80)) $((B + 81)) 10000
caller_done c1
finished bil1
phone_done bil1
rtp_done c1
rtp_done bil1
took C1 13800000021
logged "dtmf call=$C1 digit=1 path=1" || fail "no key: $(grep -h "$C1" $GWLOGS)"
ok
logged "call connected call=$C1 agent=bil1" || fail "not connected to bil1: $(grep -h "$C1" $GWLOGS)"
ok
python3 - "$D/rtp.bil1.json" <<'PY' || fail "media to bil1's phone: $(cat "$D/rtp.bil1.json")"
import json, sys
assert json.load(open(sys.argv[1]))["marked"] >= 50
PY
ok
[ "$(call_field "$C1" skills)" = billing ] || fail "skills: $(call_field "$C1" skills)"
[ "$(call_field "$C1" menu)" = 1 ] || fail "menu: $(call_field "$C1" menu)"
[ "$(call_field "$C1" agent)" = bil1 ] || fail "agent: $(call_field "$C1" agent)"
ok
# The general agent was ready all along and was offered nothing.
if said gen1 offer; then fail "gen1 was offered: $(cat "$D/gen1.out")"; fi
ok
# Counted once, for billing.
[ "$(rcli HGET kefu:test:rt:skill:billing offered)" = 1 ] ||
	fail "billing offered: $(rcli HGETALL kefu:test:rt:skill:billing | tr '\n' ' ')"
[ "$(rcli HGET kefu:test:rt:skill:general offered)" = 0 ] ||
	fail "general offered: $(rcli HGETALL kefu:test:rt:skill:general | tr '\n' ' ')"
ok

# ---- no key: after menu_timeout in the ladder's queue, to the general agent ----
caller c2 13800000022 $((B + 82)) $((B + 83)) 12000
finished gen1
took C2 13800000022
said gen1 "$C2" || fail "gen1's offer is not $C2's: $(cat "$D/gen1.out")"
ok
[ "$(call_field "$C2" menu)" = none ] || fail "menu: $(call_field "$C2" menu)"
[ "$(call_field "$C2" skills)" = general ] || fail "skills: $(call_field "$C2" skills)"
ok
caller_done c2

# ---- the gateway's node dies while a caller is in the menu ----
GW1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sip"]["gateways"][0]["sip"])' "$CJ")
GW1LOG=$D/sip/sipgw1.log
billing_before=$(rcli HGET kefu:test:rt:skill:billing offered)
general_before=$(rcli HGET kefu:test:rt:skill:general offered)
answering_agent bil2 node3 $((B + 86)) $((B + 87)) 4
ready bil2
rtp c3 $((B + 89)) 10 --talk --digit=1 --digit-file="$D/press"
caller c3 13800000023 $((B + 88)) $((B + 89)) 14000 "$GW1"
wait_for "the call in the menu" 20 grep -q "call in call=.* ani=13800000023 " "$GW1LOG"
C3=$(call_of 13800000023)
held() { [ "$(call_field "$C3" menu)" = open ]; }
wait_for "$C3 held in the menu" 10 held
"$H" kill node1 --dir "$D" >/dev/null || fail "cannot kill node1"
ok
wait_for "the gateway's resume" 20 grep -q "resuming calls=1" "$GW1LOG"
moved() { o=$(call_field "$C3" owner) && [ -n "$o" ] && [ "$o" != node1 ]; }
wait_for "$C3 owned by another node" 20 moved
held || fail "menu closed before the key: $(call_field "$C3" menu)"
: >"$D/press"
caller_done c3
finished bil2
phone_done bil2
rtp_done c3
rtp_done bil2
grep -q "dtmf call=$C3 digit=1" "$GW1LOG" || fail "no key: $(grep -h "$C3" "$GW1LOG")"
grep -q "call connected call=$C3 agent=bil2" "$GW1LOG" ||
	fail "not connected to bil2: $(grep -h "$C3" "$GW1LOG")"
ok
[ "$(call_field "$C3" menu)" = 1 ] || fail "menu: $(call_field "$C3" menu)"
[ "$(call_field "$C3" skills)" = billing ] || fail "skills: $(call_field "$C3" skills)"
ok
python3 - "$D/rtp.bil2.json" <<'PY' || fail "media to bil2's phone: $(cat "$D/rtp.bil2.json")"
import json, sys
assert json.load(open(sys.argv[1]))["marked"] >= 50
PY
ok
# Counted once, for billing, whatever the resume re-asserted.
[ "$(rcli HGET kefu:test:rt:skill:billing offered)" = $((billing_before + 1)) ] ||
	fail "billing offered: $(rcli HGETALL kefu:test:rt:skill:billing | tr '\n' ' ') (before: $billing_before)"
[ "$(rcli HGET kefu:test:rt:skill:general offered)" = "$general_before" ] ||
	fail "general offered: $(rcli HGETALL kefu:test:rt:skill:general | tr '\n' ' ') (before: $general_before)"
ok
done_ok
