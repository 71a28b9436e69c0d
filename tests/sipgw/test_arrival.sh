#!/bin/sh
# A call's arrival through the whole SIP path (docs/sipgw.md), on one
# harness cluster with --sip (3 nodes, rtpengine, Kamailio, 3 kefu-sipgw):
# a sipp caller dials 10010 through the edge, is answered with media from
# rtpengine, the node takes the call (the gateway logs its IVR plan) and the
# caller hears the greeting and music on hold at 40 packets a second or
# more, all from one port; its hang-up ends the call at the gateway. A
# caller's key press while queued (RFC 4733 through rtpengine's DTMF events)
# becomes the call's IVR path, sent to the node again. A gateway that
# reaches no node refuses an INVITE with 503 and Retry-After.
. "$(dirname "$0")/../cluster/lib.inc"
up 3 --sip
. "$TOP/tests/sipgw/lib.inc"

# ---- a caller through the edge: answered, queued, music ----
python3 "$HERE/rtpcount.py" $((B + 80)) 4 "$D/rtp1.json" &
COUNT=$!
sleep 0.3
timeout 40 sipp -sf "$HERE/caller.xml" -s "$SERVICE" -set ani 13800000001 -set rtp_port $((B + 80)) \
	-i 127.0.0.1 -p $((B + 81)) -m 1 -d 6000 -timeout 30s "$EDGE" </dev/null >"$D/sipp1.out" 2>&1 ||
	fail "the caller's call failed: $(tail -n 5 "$D/sipp1.out")"
ok
wait $COUNT || fail "rtpcount failed"
python3 - "$D/rtp1.json" <<'PY' || fail "media to the caller: $(cat "$D/rtp1.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["packets"] / r["seconds"] >= 40, r
assert len(r["sources"]) == 1, r
PY
ok
# Which gateway took it: its log names the plan, the hang-up and the end.
gwlog=$(grep -l "call in call=.*ani=13800000001" "$D"/sip/sipgw*.log | head -n 1)
[ -n "$gwlog" ] || fail "no gateway logged the call"
grep -q "call queued call=.* plan=full-menu tier=0" "$gwlog" || fail "no IVR plan: $(tail -n 5 "$gwlog")"
ok
wait_for "the end of the call at the gateway" 10 grep -q "caller hung up call=.* state=queued" "$gwlog"
grep -q "call over call=" "$gwlog" || fail "call not over: $(tail -n 5 "$gwlog")"
ok

# ---- a menu choice: the caller presses 2 while queued ----
rtp dtmf $((B + 84)) 4 --talk --digit=2
caller dtmf 13800000002 $((B + 85)) $((B + 84)) 4000
caller_done dtmf
rtp_done dtmf
took CD 13800000002
# rtpengine saw the key and the gateway took it into the call's IVR path...
logged "dtmf call=$CD digit=2 path=2" || fail "no menu choice: $(grep -h "$CD" $GWLOGS)"
ok
# ...and the node answered the CallArrived that carried it (a second IvrPlan).
[ "$(grep -h "call queued call=$CD " $GWLOGS | wc -l)" -eq 2 ] ||
	fail "the node did not take the choice: $(grep -h "$CD" $GWLOGS)"
ok

# ---- no node reachable: 503 with Retry-After ----
"$KEFU_BIN/kefu-sipgw" --name lonely --nodes 127.0.0.1:$((B + 89)) --ca "$D/certs/ca.crt" \
	--cert "$D/certs/gateway.crt" --key "$D/certs/gateway.key" --sip 127.0.0.1:$((B + 82)) \
	--edge "$EDGE" --rtpengine "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sip"]["gateways"][0]["rtpengine"])' "$CJ")" \
	--prompts "$TOP/build/prompts" --retry-after 7 >"$D/lonely.log" 2>&1 &
LONELY=$!
CALL_PIDS="$CALL_PIDS $LONELY"
wait_for "the lonely gateway" 10 grep -q "kefu-sipgw up" "$D/lonely.log"
timeout 20 sipp -sf "$HERE/refused.xml" -s "$SERVICE" -i 127.0.0.1 -p $((B + 83)) -m 1 \
	-timeout 15s 127.0.0.1:$((B + 82)) </dev/null >"$D/sipp2.out" 2>&1 ||
	fail "no 503 with Retry-After: $(tail -n 5 "$D/sipp2.out")"
ok
kill "$LONELY"
wait "$LONELY" 2>/dev/null || true
done_ok
