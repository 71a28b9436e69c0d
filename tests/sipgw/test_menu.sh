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
. "$(dirname "$0")/../cluster/lib.inc"
up 3 --sip --extra "ordinary_menu = 1:billing,2:general" --extra "menu_timeout = 6s"
. "$TOP/tests/sipgw/lib.inc"
SKILLS=general:9 agents gen1
SKILLS=billing:5 agents bil1

# ---- the key 1: billing, and nobody else ----
phone bil1 phone_answer $((B + 84)) $((B + 85))
rtp bil1 $((B + 85)) 4 --echo
actor bil1 node2 agent <<EOF
$(talking_desktop bil1)
EOF
ready bil1
# The general agent's desktop takes the first offer it gets and stops.
actor gen1 node3 agent <<EOF
$(login_ready gen1 agent-secret-1)
expect offer within=90000
EOF
ready gen1
rtp c1 $((B + 81)) 10 --talk --digit=1
sleep 0.3
caller c1 13800000021 $((B + 80)) $((B + 81)) 10000
caller_done c1
finished bil1
phone_done bil1
rtp_done c1
rtp_done bil1
C1=$(call_of 13800000021)
[ -n "$C1" ] || fail "no gateway took the call of 13800000021"
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
C2=$(call_of 13800000022)
[ -n "$C2" ] || fail "no gateway took the call of 13800000022"
said gen1 "$C2" || fail "gen1's offer is not $C2's: $(cat "$D/gen1.out")"
ok
[ "$(call_field "$C2" menu)" = none ] || fail "menu: $(call_field "$C2" menu)"
[ "$(call_field "$C2" skills)" = general ] || fail "skills: $(call_field "$C2" skills)"
ok
caller_done c2
done_ok
