#!/bin/sh
# Outbound calls through kefu-sipgw (docs/sipgw.md "Outbound", docs/dialing.md),
# on one harness cluster with --sip, the dialing clock at 10:00 Shanghai: a
# progressive campaign of one number; every gateway tells its node it
# carries outbound calls (--trunk); the pacer's Originate becomes an INVITE
# to the number at the trunk (a sipp there answers); the gateway reports a
# person (DialResult human); the node's DialConnect names the campaign's
# ready agent, whose desktop gets the screen pop and whose phone is
# connected: the called party's audio reaches the agent's phone and comes
# back; the campaign counts the human result. A person answering when no
# agent is free hears the drop message and the gateway hangs up (abandoned);
# a busy number (486) is the result busy.
. "$(dirname "$0")/../cluster/lib.inc"
CLOCK=$D/dialclock
python3 - >"$CLOCK" <<'PY'
import datetime, zoneinfo
now = datetime.datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai"))
print(int((now.replace(hour=10, minute=0, second=0, microsecond=0) - now).total_seconds() * 1000))
PY
up 3 --sip --extra "dial_clock_file = $CLOCK"
. "$TOP/tests/sipgw/lib.inc"
TRUNK=127.0.0.1:$((B + 47))
printf 'agent-secret-1' >"$D/pw"
ctl agent add --id o1 --name 外呼o1 --skills general:5 --role agent --password-file "$D/pw" \
	>"$D/add" 2>&1 || fail "agent add: $(cat "$D/add")"
has_agent() { "$KEFUCTL" agent list --db "$(data_dir "$1")" --json | grep -q '"o1"'; }
for n in node1 node2 node3; do wait_for "o1 on $n" 20 has_agent "$n"; done
wait_for "the gateways carry outbound calls" 10 sh -c "[ \$(grep -l 'node up' $GWLOGS | wc -l) -eq 3 ]"

# ---- the campaign; the called party at the trunk, the agent's phone and desktop ----
printf '13900000031\n' >"$D/numbers"
ctl campaign create --name c1 --kind care --mode progressive --file "$D/numbers" >"$D/c1" 2>&1 ||
	fail "create: $(cat "$D/c1")"
ctl campaign start c1 >"$D/s1" 2>&1 || fail "start: $(cat "$D/s1")"
ok
rtp cust $((B + 81)) 6 --talk
timeout 90 sipp -sf "$HERE/customer.xml" -set rtp_port $((B + 81)) -i 127.0.0.1 -p $((B + 47)) \
	-m 1 -d 8000 -timeout 80s </dev/null >"$D/customer.out" 2>&1 &
CUSTOMER=$!
CALL_PIDS="$CALL_PIDS $CUSTOMER"
phone o1 phone_answer $((B + 83)) $((B + 84))
rtp o1 $((B + 84)) 4 --echo
actor o1 node2 agent <<'EOF'
send login agent_id=o1 password=agent-secret-1
expect login_reply
send dial_agent campaign=c1 state=ready
expect admin_reply ok=true
expect dial_connect msisdn=13900000031 within=40000
sleep 9000
EOF


# ---- the call: placed, answered, connected to o1 ----
wait $CUSTOMER || fail "the called party's call: $(tail -n 8 "$D/customer.out")"
ok
finished o1
phone_done o1
logged "originate call=.* number=13900000031 campaign=c1" || fail "no Originate reached a gateway"
ok
logged "outbound result call=.* number=13900000031 result=human" || fail "no human result: $(grep -h 13900000031 $GWLOGS)"
ok
logged "call connected call=.* agent=o1" || fail "not connected to o1: $(tail -n 5 $GWLOGS)"
ok
rtp_done cust
rtp_done o1
python3 - "$D/rtp.cust.json" "$D/rtp.o1.json" <<'PY' || fail "media: $(cat "$D/rtp.cust.json" "$D/rtp.o1.json")"
import json, sys
cust, phone = (json.load(open(f)) for f in sys.argv[1:])
# The agent's phone heard the called party, who heard itself back through the phone.
assert phone["marked"] >= 50, phone
assert cust["marked"] >= 50, cust
assert len(cust["sources"]) == 1, cust
PY
ok
# results CAMPAIGN RESULT: the campaign counts one call with that result.
results() { ctl campaign show "$1" --json | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["by_result"].get(sys.argv[1]) != 1)' "$2"; }
wait_for "c1's human result" 10 results c1 human

# ---- no agent free when the person answers: the drop message, then BYE ----
# o2 is ready for c2 when its call is placed and leaves while the number
# still rings (5 s); then it is ready for c3, whose number is busy.
printf '13900000032\n' >"$D/n2"
printf '13900000033\n' >"$D/n3"
for c in c2 c3; do
	ctl campaign create --name $c --kind care --mode progressive --file "$D/n${c#c}" >"$D/$c" 2>&1 ||
		fail "create $c: $(cat "$D/$c")"
done
ctl agent add --id o2 --name 外呼o2 --skills general:5 --role agent --password-file "$D/pw" \
	>"$D/add2" 2>&1 || fail "agent add o2: $(cat "$D/add2")"
has_o2() { "$KEFUCTL" agent list --db "$(data_dir "$1")" --json | grep -q '"o2"'; }
for n in node1 node2 node3; do wait_for "o2 on $n" 20 has_o2 "$n"; done
rtp late $((B + 85)) 1 --within=20
timeout 60 sipp -sf "$HERE/customer_late.xml" -set rtp_port $((B + 85)) -i 127.0.0.1 -p $((B + 47)) \
	-m 1 -timeout 50s </dev/null >"$D/late.out" 2>&1 &
LATE=$!
CALL_PIDS="$CALL_PIDS $LATE"
ctl campaign start c2 >"$D/s2" 2>&1 || fail "start c2: $(cat "$D/s2")"
actor o2 node3 agent <<'EOF'
send login agent_id=o2 password=agent-secret-1
expect login_reply
send dial_agent campaign=c2 state=ready
expect admin_reply ok=true
sleep 2500
send dial_agent campaign=c2 state=leave
expect admin_reply ok=true
send dial_agent campaign=c3 state=ready
expect admin_reply ok=true
sleep 20000
EOF
wait $LATE || fail "the late called party's call: $(tail -n 8 "$D/late.out")"
ok
logged "outbound dropped call=" || fail "no drop: $(grep -h 13900000032 $GWLOGS)"
ok
rtp_done late
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(r["packets"] < 30)' "$D/rtp.late.json" ||
	fail "no drop message heard: $(cat "$D/rtp.late.json")"
ok
wait_for "c2's abandoned result" 10 results c2 abandoned

# ---- a busy number (486) ----
timeout 60 sipp -sf "$HERE/phone_busy.xml" -s customer -i 127.0.0.1 -p $((B + 47)) -m 1 \
	-timeout 50s </dev/null >"$D/busy.out" 2>&1 &
BUSY=$!
CALL_PIDS="$CALL_PIDS $BUSY"
ctl campaign start c3 >"$D/s3" 2>&1 || fail "start c3: $(cat "$D/s3")"
wait $BUSY || fail "the busy number's call: $(tail -n 8 "$D/busy.out")"
ok
logged "outbound result call=.* number=13900000033 result=busy" || fail "no busy result: $(grep -h 13900000033 $GWLOGS)"
ok
wait_for "c3's busy result" 10 results c3 busy
done_ok
