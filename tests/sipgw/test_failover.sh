#!/bin/sh
# The gateway's node dies (docs/sipgw.md "The node dies"), on one harness
# cluster with --sip: two callers reach kefu-sipgw 1 (whose node is node1);
# one is bridged to agent b1's phone, the other waits with no agent ready.
# node1 is killed with SIGKILL: the gateway resumes its calls on another
# node; the bridged call's audio goes on both ways, and the queued call is
# connected later, through that node, to agent b2 who goes ready then.
. "$(dirname "$0")/../cluster/lib.inc"
up 3 --sip
. "$TOP/tests/sipgw/lib.inc"
agents b1 b2
GW1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sip"]["gateways"][0]["sip"])' "$CJ")
GW1LOG=$D/sip/sipgw1.log

# ---- a bridged call and a queued one, both on gateway 1 (node1) ----
answering_agent b1 node2 $((B + 83)) $((B + 84)) 30
ready b1
rtp x $((B + 81)) 24 --talk
caller x 13800000021 $((B + 80)) $((B + 81)) 24000 "$GW1"
wait_for "the bridge to b1" 20 grep -q "call connected call=.* agent=b1" "$GW1LOG"
X=$(call_of 13800000021)
rtp y $((B + 89)) 30 --talk
caller y 13800000022 $((B + 88)) $((B + 89)) 30000 "$GW1"
wait_for "the second call" 20 grep -q "call in call=.* ani=13800000022 " "$GW1LOG"
Y=$(call_of 13800000022)
wait_for "$Y queued in Redis" 10 call_is "$Y" queued

# ---- node1 dies ----
"$H" kill node1 --dir "$D" >/dev/null || fail "cannot kill node1"
KILLED=$(date +%s)
ok
wait_for "the gateway's resume" 20 grep -q "resuming calls=2" "$GW1LOG"
moved() { o=$(call_field "$1" owner) && [ -n "$o" ] && [ "$o" != node1 ]; } # CALL
wait_for "$X owned by another node" 20 moved "$X"
wait_for "$Y owned by another node" 20 moved "$Y"

# ---- the queued call goes to b2, who goes ready on node3 ----
answering_agent b2 node3 $((B + 85)) $((B + 86)) 4
wait_for "the bridge to b2" 30 grep -q "call connected call=$Y agent=b2" "$GW1LOG"
rtp_done b2
python3 - "$D/rtp.b2.json" <<'PY' || fail "media to b2: $(cat "$D/rtp.b2.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["marked"] >= 50, r
PY
ok
caller_done x
caller_done y
finished b1
finished b2
phone_done b1
phone_done b2
rtp_done x
rtp_done b1
# The bridged call's audio went on both ways after the kill, from the same port.
python3 - "$D/rtp.x.json" "$D/rtp.b1.json" "$KILLED" <<'PY' || fail "media of $X: $(cat "$D/rtp.x.json" "$D/rtp.b1.json")"
import json, sys
caller, phone = (json.load(open(f)) for f in sys.argv[1:3])
killed = int(sys.argv[3])
assert caller["last_marked"] >= killed + 5, (caller, killed)
assert phone["last_marked"] >= killed + 5, (phone, killed)
assert len(caller["sources"]) == 1, caller
PY
ok
wait_for "the end of $X" 20 call_is "$X" ended
wait_for "the end of $Y" 20 call_is "$Y" ended
done_ok
