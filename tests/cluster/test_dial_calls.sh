#!/bin/sh
# Outbound calls through a three-node cluster (docs/dialing.md, "Calls"),
# one cluster for every case, the dialing clock moved through
# dial_clock_file (an offset in ms the nodes read every 200 ms):
#   - only a node with an outbound gateway paces; campaign show names it;
#   - progressive: one call per ready agent; nothing while the one agent
#     talks; a busy number comes back after its retry interval (10 min),
#     not before; a person's answer goes to the agent (DialConnect to the
#     gateway and, as its screen pop, to the agent), who records a
#     disposition;
#   - a number put on the do-not-call list mid-campaign is not dialled;
#   - a person answering when no agent is ready gets the drop message and
#     the number is not dialled again within 72 hours; after them it is;
#   - the calling window: a campaign dialling at 20:59 stops at 21:00
#     Asia/Shanghai;
#   - a call back asked for in a disposition is dialled at its time, not
#     before;
#   - preview: the agent sees a contact with its profile, skips it with a
#     reason (never dialled), dials the next, and gets the call;
#   - dialling stops at once when the last agent leaves;
#   - return visits by phone: a campaign of the work orders waiting for
#     their visit; "satisfied" closes an order, "not satisfied" reopens it
#     (with the agent's note in its history);
#   - an agent who logs out through routing but keeps its connection
#     leaves its campaigns: nothing more is dialled for it;
#   - kill -9 of the pacing node: the node of the other gateway paces
#     within 5 s, the call in flight is reconciled from the gateway's result
#     and no attempt is originated twice;
#   - a public holiday of the province's holiday file (wo_holidays) is not
#     called on; the day after is.
# The scripted gateways and agents take their timed steps (a result, a
# state) when the test says so (`await`), once it has seen what the step
# must follow. A window in which nothing may be dialled starts where an
# event shows the pacer has had its chance when the case has one (a number
# passed over, the next due number dialled), and lasts some of the pacer's
# 200 ms rounds.
. "$(dirname "$0")/lib.inc"

CLOCK=$D/dialclock
echo 0 >"$CLOCK"
# A public holiday five days from today (Shanghai), for the last case.
HOLIDAY=$(python3 -c 'import datetime, zoneinfo
print((datetime.datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai")) + datetime.timedelta(days=5)).strftime("%Y-%m-%d"))')
printf '# the province holidays\n%s closed\n' "$HOLIDAY" >"$D/holidays"
up 3 --extra "dial_clock_file = $CLOCK" --extra "wo_holidays = $D/holidays"

# set_clock HH:MM:SS [+DAYS]: the dialing clock at that Shanghai time today.
set_clock() {
	python3 - "$1" "${2:-0}" >"$CLOCK.new" <<'PY'
import datetime, sys, zoneinfo
z = zoneinfo.ZoneInfo("Asia/Shanghai")
now = datetime.datetime.now(z)
h, m, s = map(int, sys.argv[1].split(":"))
t = now.replace(hour=h, minute=m, second=s, microsecond=0) + datetime.timedelta(days=int(sys.argv[2]))
print(int((t - now).total_seconds() * 1000))
PY
	mv "$CLOCK.new" "$CLOCK"
}
set_clock 10:00:00

# Every account the cases use: the agents a01 and d01..d03, the supervisor s01.
printf 'agent-secret-1' >"$D/pw"
for a in a01 d01 d02 d03; do
	ctl agent add --id $a --name 坐席$a --skills general:5 --role agent --password-file "$D/pw" \
		>"$D/add.$a" 2>&1 || fail "agent add $a: $(cat "$D/add.$a")"
done
ctl agent add --id s01 --name 班长s01 --skills general:1 --role supervisor \
	--password-file "$D/pw" >"$D/add.s01" 2>&1 || fail "agent add s01: $(cat "$D/add.s01")"
has_agents() {
	"$KEFUCTL" agent list --db "$(data_dir "$1")" --json >"$D/agents.$1" &&
		for a in a01 d01 d02 d03 s01; do grep -q "\"$a\"" "$D/agents.$1" || return 1; done
}

show() { ctl campaign show "$1" --json; }
field() { show "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"; }
field_is() { [ "$(field "$1" "$2")" = "$3" ]; }
# state_is NAME STATE N: N of the campaign's contacts are in STATE.
state_is() { [ "$(show "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["by_state"].get(sys.argv[1], 0))' "$2")" = "$3" ]; }
# count NAME PATTERN: how many messages the actor received that match.
count() { grep -c "$2" "$D/$1.out" || true; }
# has NAME PATTERN N: at least N of them.
has() { [ "$(count "$1" "$2")" -ge "$3" ]; }
# go STEP: an actor waiting on `await $D/go.STEP` takes its next step. The
# test says when, once it has seen what the step must follow, instead of
# each script sleeping for as long as the slowest machine could need.
go() { : >"$D/go.$1"; }
# numbers NAME: the numbers the gateway NAME was asked to dial, in order.
numbers() { grep '"originate"' "$D/$1.out" | python3 -c 'import json,sys; print(" ".join(json.loads(l)["msisdn"] for l in sys.stdin))'; }
# Windows in which nothing may be dialled: QUIET seconds (ten of the
# pacer's 200 ms rounds) where nothing shows the pacer had its chance;
# SETTLE seconds more after an event that shows it had (a number passed
# over, the next number dialled).
QUIET=2
SETTLE=1

# The leader stays up; after the first case the gateways sit on the two
# other nodes, the first of them (G1) pacing.
L=$(leader)
set -- $(for n in node1 node2 node3; do [ "$n" = "$L" ] || echo "$n"; done)
G1=$1 G2=$2

# The work orders of the return visits by phone (below), taken to their
# visit by the supervisor while the first cases run.
order_prepare() {
	for n in 13900000051 13900000052; do
		ctl order create --msisdn $n --kind complaint --category 话费 --text 多扣月租费 \
			--owner a01 --json >"$D/o.$n" 2>&1 || fail "order create: $(cat "$D/o.$n")"
	done
	O51=$(order_id "$D/o.13900000051")
	O52=$(order_id "$D/o.13900000052")
	{
		printf 'send login agent_id=s01 password=agent-secret-1\nexpect login_reply\n'
		for o in "$O51" "$O52"; do
			printf 'send order_transition id=%s action=dispatch\nexpect order_reply order.state=dispatched\n' "$o"
			printf 'send order_transition id=%s action=accept\nexpect order_reply order.state=accepted\n' "$o"
			printf 'send order_transition id=%s action=reply note=已退还\nexpect order_reply order.state=replied\n' "$o"
			printf 'send order_transition id=%s action=close\nexpect order_reply order.state=visiting\n' "$o"
		done
	} >"$D/sv.in"
	actor sv "$L" agent <"$D/sv.in"
}
order_id() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$1"; }

printf '13900000001\n13900000002\n13900000003\n13900000004\n' >"$D/numbers"
ctl campaign create --name c1 --kind care --mode progressive --file "$D/numbers" >"$D/c1" 2>&1 ||
	fail "create: $(cat "$D/c1")"

# The gateway on node1 answers: busy, then a person, then waits.
actor gw1 node1 gateway <<EOF
send dial_gateway lines=4
expect admin_reply ok=true
expect originate campaign=c1 msisdn=13900000001 within=20000
send dial_result attempt_id=@attempt_id campaign=c1 result=busy
expect admin_reply ok=true
expect originate campaign=c1 msisdn=13900000002 within=5000
send dial_result attempt_id=@attempt_id campaign=c1 result=human
expect dial_connect agent=a01 drop=false msisdn=13900000002
none originate ${QUIET}000
send dial_result attempt_id=@attempt_id campaign=c1 result=human
expect dial_connect agent=a01 drop=false
expect originate campaign=c1 msisdn=13900000003 within=15000
send dial_result attempt_id=@attempt_id campaign=c1 result=machine
expect admin_reply ok=true
expect originate campaign=c1 msisdn=13900000001 within=15000
send dial_result attempt_id=@attempt_id campaign=c1 result=no_answer
expect admin_reply ok=true
EOF
ctl campaign start c1 >"$D/s1" 2>&1 || fail "start: $(cat "$D/s1")"
for n in node1 node2 node3; do wait_for "the accounts on $n" 20 has_agents "$n"; done
actor a01 node2 agent <<EOF
send login agent_id=a01 password=agent-secret-1
expect login_reply
send dial_agent campaign=c1 state=ready
expect admin_reply ok=true
expect dial_connect msisdn=13900000002 within=30000
await $D/go.c1-talked
send dial_disposition campaign=c1 disposition=promise promise_date=2026-12-20 note=下周缴费
expect write_reply
sleep 60000
EOF
order_prepare
wait_for "node1 paces c1" 10 field_is c1 pacer node1
# While a01 talks: the fourth number goes on the list.
wait_for "a01 gets the call" 30 said a01 dial_connect
ctl dnc add 13900000004 --reason 客户要求 >"$D/dnc" 2>&1 || fail "dnc add: $(cat "$D/dnc")"
ok
# The gateway's "none originate" while a01 talks has passed once it has the
# answer to its result sent again; then a01 records the disposition.
wait_for "the result sent again answered" 20 has gw1 '"dial_connect"' 2
go c1-talked
# After the disposition the third number is called (the first one's retry
# is not due, the fourth is listed); ten minutes on, the first again. The
# fourth is marked on the pacer's first round after the machine's result,
# one that walked every contact with a01 ready.
wait_for "the third number dialled" 40 said gw1 '"msisdn":"13900000003"'
wait_for "the listed number passed over" 20 state_is c1 dnc 1
sleep $SETTLE
[ "$(numbers gw1)" = "13900000001 13900000002 13900000003" ] ||
	fail "dialled before its retry was due, or a listed number: $(numbers gw1)"
ok
set_clock 10:11:00
finished gw1
if said gw1 '"msisdn":"13900000004"'; then fail "a number on the do-not-call list was dialled"; fi
ok
# The pacer was checked while c1 ran (node1 paces c1 above): gw1 has ended
# its session by now, and node1 has no outbound lines left to pace with.
show c1 >"$D/show1"
python3 - "$D/show1" <<'PY' || fail "campaign show: $(cat "$D/show1")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["placed"] == 4, s
assert s["agents"] == 1, s
r = s["by_result"]
assert r.get("human") == 1 and r.get("no_answer") == 1 and r.get("machine") == 1, s
assert s["by_state"].get("dnc") == 1, s
PY
ok
kill "$PID_a01" 2>/dev/null || true
ctl campaign stop c1 >/dev/null 2>&1 || fail "stop c1"
ok

# ---- a dropped call and the 72-hour rule ----
# The second number is due whenever a01 is ready: dialled two days on, it
# shows the pacer has walked past the first, held back by the 72 hours.
set_clock 12:00:00
printf '13900000011\n13900000012\n' >"$D/n2"
ctl campaign create --name c2 --kind arrears --mode progressive --file "$D/n2" >"$D/c2" 2>&1 ||
	fail "create c2: $(cat "$D/c2")"
actor gw2 "$G1" gateway <<EOF
send dial_gateway lines=4
expect admin_reply ok=true
expect originate campaign=c2 msisdn=13900000011 within=20000
await $D/go.c2-answer
send dial_result attempt_id=@attempt_id campaign=c2 result=human
expect dial_connect drop=true
expect originate campaign=c2 msisdn=13900000012 within=20000
send dial_result attempt_id=@attempt_id campaign=c2 result=busy
expect admin_reply ok=true
expect originate campaign=c2 msisdn=13900000011 within=20000
EOF
actor b01 "$L" agent <<EOF
send login agent_id=a01 password=agent-secret-1
expect login_reply
send dial_agent campaign=c2 state=ready
expect admin_reply ok=true
await $D/go.c2-away
send dial_agent campaign=c2 state=not_ready
expect admin_reply ok=true
await $D/go.c2-back
send dial_agent campaign=c2 state=ready
expect admin_reply ok=true
sleep 60000
EOF
ctl campaign start c2 >"$D/s2" 2>&1 || fail "start c2: $(cat "$D/s2")"
wait_for "b01 ready" 20 said b01 admin_reply
wait_for "the first number dialled" 20 said gw2 '"msisdn":"13900000011"'
go c2-away                # a01 not ready: the hot state has it once b01 has the answer
wait_for "b01 not ready" 20 has b01 admin_reply 2
go c2-answer              # then the person answers
wait_for "the drop message" 30 said gw2 '"drop":true'
set_clock 12:00:00 2      # two days on: within 72 hours, not dialled
sleep 0.5                 # read again at the pacer's next round
go c2-back
wait_for "the second number dialled" 20 said gw2 '"msisdn":"13900000012"'
wait_for "its result" 20 said gw2 '"message":"busy"'
sleep $SETTLE
[ "$(numbers gw2)" = "13900000011 13900000012" ] ||
	fail "dialled again within 72 hours of the drop: $(numbers gw2)"
ok
set_clock 12:01:00 3      # three days and a minute on: dialled again
finished gw2
[ "$(numbers gw2)" = "13900000011 13900000012 13900000011" ] || fail "c2 dialled $(numbers gw2)"
field_is c2 abandon_rate 1.0 || fail "c2's abandon rate: $(show c2)"
ok
kill "$PID_b01" 2>/dev/null || true
ctl campaign stop c2 >/dev/null 2>&1 || fail "stop c2"

# ---- the calling window, and the last agent leaving ----
set_clock 20:59:00
printf '13900000021\n13900000022\n13900000023\n' >"$D/n3"
ctl campaign create --name c3 --kind care --mode progressive --file "$D/n3" >"$D/c3" 2>&1 ||
	fail "create c3: $(cat "$D/c3")"
actor gw3 "$G1" gateway <<EOF
send dial_gateway lines=4
expect admin_reply ok=true
expect originate campaign=c3 msisdn=13900000021 within=20000
await $D/go.c3-closed
send dial_result attempt_id=@attempt_id campaign=c3 result=busy
expect admin_reply ok=true
expect originate campaign=c3 within=20000
await $D/go.c3-gone
send dial_result attempt_id=@attempt_id campaign=c3 result=busy
expect admin_reply ok=true
none originate ${QUIET}000
EOF
actor c01 "$L" agent <<'EOF'
send login agent_id=a01 password=agent-secret-1
expect login_reply
send dial_agent campaign=c3 state=ready
expect admin_reply ok=true
sleep 60000
EOF
ctl campaign start c3 >"$D/s3" 2>&1 || fail "start c3: $(cat "$D/s3")"
wait_for "c01 ready" 20 said c01 admin_reply
wait_for "c3 dialling at 20:59" 20 said gw3 13900000021
set_clock 21:00:00        # the window closes as the first call rings
sleep 0.5                 # read again at the pacer's next round
go c3-closed
wait_for "the first result" 20 said gw3 '"message":"busy"'
sleep $QUIET              # a01 ready, two numbers due but for the window
[ "$(count gw3 '"originate"')" = 1 ] || fail "c3 dialled after 21:00"
ok
set_clock 08:00:00 1      # the next morning: dialling again
wait_for "c3 dialling at 08:00" 20 has gw3 '"originate"' 2
kill "$PID_c01"           # the last agent goes while the call rings
wait_for "c3 without agents" 10 field_is c3 agents 0
go c3-gone
finished gw3
[ "$(count gw3 '"originate"')" = 2 ] || fail "dialled with no agent on the campaign"
ok
ctl campaign stop c3 >/dev/null 2>&1 || fail "stop c3"

# ---- a callback at the time the customer asked for ----
# The other two numbers are due whenever a01 is ready: the third one,
# dialled after the second's result (sent once the callback is written),
# shows the pacer has walked past the first, held back by its callback.
set_clock 09:00:00 1
printf '13900000031\n13900000032\n13900000033\n' >"$D/n6"
ctl campaign create --name c6 --kind care --mode progressive --file "$D/n6" >"$D/c6" 2>&1 ||
	fail "create c6: $(cat "$D/c6")"
# an hour on the dialing clock from now
at=$(python3 -c 'import sys,time; print(int(time.time()*1000) + int(open(sys.argv[1]).read()) + 3600000)' "$CLOCK")
actor gw6 "$G1" gateway <<EOF
send dial_gateway lines=4
expect admin_reply ok=true
expect originate campaign=c6 msisdn=13900000031 within=20000
send dial_result attempt_id=@attempt_id campaign=c6 result=human
expect dial_connect agent=a01 drop=false
expect originate campaign=c6 msisdn=13900000032 within=20000
await $D/go.c6-noted
send dial_result attempt_id=@attempt_id campaign=c6 result=busy
expect admin_reply ok=true
expect originate campaign=c6 msisdn=13900000033 within=20000
send dial_result attempt_id=@attempt_id campaign=c6 result=busy
expect admin_reply ok=true
expect originate campaign=c6 msisdn=13900000031 within=20000
EOF
actor e01 "$L" agent <<EOF
send login agent_id=a01 password=agent-secret-1
expect login_reply
send dial_agent campaign=c6 state=ready
expect admin_reply ok=true
expect dial_connect within=30000
send dial_disposition campaign=c6 disposition=callback callback_ms=$at note=客户说一小时后再打
expect write_reply
sleep 60000
EOF
ctl campaign start c6 >"$D/s6" 2>&1 || fail "start c6: $(cat "$D/s6")"
wait_for "e01 ready" 20 said e01 admin_reply
wait_for "the callback asked for" 30 said e01 write_reply
go c6-noted
wait_for "the third number dialled" 30 said gw6 '"msisdn":"13900000033"'
wait_for "its result" 20 has gw6 '"message":"busy"' 2
sleep $SETTLE             # not dialled before its time
[ "$(numbers gw6)" = "13900000031 13900000032 13900000033" ] ||
	fail "the callback dialled before its time: $(numbers gw6)"
ok
set_clock 10:00:30 1      # its time has come
finished gw6
[ "$(numbers gw6)" = "13900000031 13900000032 13900000033 13900000031" ] ||
	fail "c6 dialled $(numbers gw6)"
ok
kill "$PID_e01" 2>/dev/null || true
ctl campaign stop c6 >/dev/null 2>&1 || fail "stop c6"

# ---- preview: the agent sees the contact first, skips one, dials one ----
printf '13900000041\n13900000042\n' >"$D/n7"
ctl campaign create --name c7 --kind visit --mode preview --file "$D/n7" >"$D/c7" 2>&1 ||
	fail "create c7: $(cat "$D/c7")"
ctl campaign start c7 >"$D/s7" 2>&1 || fail "start c7: $(cat "$D/s7")"
actor gw7 "$G1" gateway <<'EOF'
send dial_gateway lines=4
expect admin_reply ok=true
expect originate campaign=c7 msisdn=13900000042 within=30000
send dial_result attempt_id=@attempt_id campaign=c7 result=human
expect dial_connect agent=a01 drop=false
EOF
# The agent's dial goes to a gateway of its node: one is there first.
wait_for "gw7 on $G1" 20 said gw7 admin_reply
actor f01 "$G1" agent <<'EOF'
send login agent_id=a01 password=agent-secret-1
expect login_reply
send dial_agent campaign=c7 state=ready
expect admin_reply ok=true
send dial_preview campaign=c7
expect dial_preview_reply contact=1 msisdn=13900000041
send dial_preview_action campaign=c7 contact=1 action=skip reason=已缴清
expect admin_reply ok=true
send dial_preview campaign=c7
expect dial_preview_reply contact=2 msisdn=13900000042
send dial_preview_action campaign=c7 contact=2 action=dial
expect admin_reply ok=true
expect dial_connect msisdn=13900000042 within=10000
send dial_disposition campaign=c7 disposition=satisfied
expect write_reply
EOF
finished gw7
finished f01
show c7 >"$D/show7"
python3 - "$D/show7" "$D/gw7.out" <<'PY' || fail "preview: $(cat "$D/show7")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["by_state"].get("skipped") == 1 and s["by_state"].get("done") == 1, s
assert s["placed"] == 1, s
assert "13900000041" not in open(sys.argv[2]).read()
PY
ok
ctl campaign stop c7 >/dev/null 2>&1 || fail "stop c7"

# ---- return visits by phone: the answer goes back to the work order ----
set_clock 11:00:00 1
finished sv               # the orders are waiting for their visit
ctl campaign create --name c8 --kind visit --mode progressive --from visits >"$D/c8" 2>&1 ||
	fail "create c8: $(cat "$D/c8")"
# Orders are listed newest first: 52, then 51.
actor gw8 "$G1" gateway <<'EOF'
send dial_gateway lines=4
expect admin_reply ok=true
expect originate campaign=c8 msisdn=13900000052 within=30000
send dial_result attempt_id=@attempt_id campaign=c8 result=human
expect dial_connect agent=a01 drop=false
expect originate campaign=c8 msisdn=13900000051 within=30000
send dial_result attempt_id=@attempt_id campaign=c8 result=human
expect dial_connect agent=a01 drop=false
EOF
actor f08 "$G1" agent <<'EOF'
send login agent_id=a01 password=agent-secret-1
expect login_reply
send dial_agent campaign=c8 state=ready
expect admin_reply ok=true
expect dial_connect msisdn=13900000052 within=30000
send dial_disposition campaign=c8 disposition=not_satisfied note=月租费仍未退还
expect write_reply
expect dial_connect msisdn=13900000051 within=30000
send dial_disposition campaign=c8 disposition=satisfied
expect write_reply
EOF
ctl campaign start c8 >"$D/s8" 2>&1 || fail "start c8: $(cat "$D/s8")"
finished gw8
finished f08
order_state() {
	[ "$(ctl --node "$(addr "$G2")" order show "$1" --json 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" = "$2" ]
}
wait_for "$O52 reopened" 10 order_state "$O52" reopened
wait_for "$O51 closed" 10 order_state "$O51" closed
ctl order show "$O52" --json >"$D/o52.show" 2>&1 || fail "order show: $(cat "$D/o52.show")"
python3 - "$D/o52.show" <<'PY' || fail "the visit in the history: $(cat "$D/o52.show")"
import json, sys
o = json.load(open(sys.argv[1]))
last = o["history"][-1]
assert last["action"] == "unsatisfied" and last["by"] == "a01", last
assert "月租费仍未退还" in last["note"] and "c8" in last["note"], last
PY
ctl audit --json >"$D/audit8" 2>&1 || fail "audit: $(cat "$D/audit8")"
grep -q '"order_unsatisfied"' "$D/audit8" && grep -q '"order_satisfied"' "$D/audit8" ||
	fail "the visit results are not audited"
ok
ctl campaign stop c8 >/dev/null 2>&1 || fail "stop c8"

# ---- an agent who logs out (its connection stays) leaves its campaigns ----
set_clock 11:30:00 1
printf '13900000061\n13900000062\n13900000063\n' >"$D/n9"
ctl campaign create --name c9 --kind care --mode progressive --file "$D/n9" >"$D/c9" 2>&1 ||
	fail "create c9: $(cat "$D/c9")"
# The first number rings unanswered while the agent, ready on the campaign,
# logs out and keeps its connection (a node closes it 10 s later). Had it
# stayed on the campaign, the second number would follow the no-answer.
actor gw9 "$G1" gateway <<EOF
send dial_gateway lines=4
expect admin_reply ok=true
expect originate campaign=c9 msisdn=13900000061 within=30000
await $D/go.c9-noanswer
send dial_result attempt_id=@attempt_id campaign=c9 result=no_answer
expect admin_reply ok=true
none originate ${QUIET}000
EOF
actor f09 "$G1" agent <<EOF
send login agent_id=a01 password=agent-secret-1
expect login_reply
send set_agent_state state=not_ready reason=外呼
expect agent_status state=not_ready
send dial_agent campaign=c9 state=ready
expect admin_reply ok=true
await $D/go.c9-logout
send set_agent_state state=logged_out
expect agent_status state=logged_out
await $D/go.c9-done
EOF
ctl campaign start c9 >"$D/s9" 2>&1 || fail "start c9: $(cat "$D/s9")"
wait_for "$G1 paces c9" 10 field_is c9 pacer "$G1"
wait_for "c9's first call" 20 said gw9 '"msisdn":"13900000061"'
go c9-logout
wait_for "a01 logged out" 20 said f09 logged_out
# Off the campaign while its connection stays (f09 still has it at the end).
wait_for "a01 off c9 after its logout" 8 field_is c9 agents 0
go c9-noanswer
finished gw9
go c9-done
finished f09
ctl campaign stop c9 >/dev/null 2>&1 || fail "stop c9"

# ---- kill -9 of the pacing node during a predictive run ----
set_clock 10:00:00 4
seq 13900000100 13900000139 >"$D/n4"
ctl campaign create --name c4 --kind care --mode predictive --file "$D/n4" >"$D/c4" 2>&1 ||
	fail "create c4: $(cat "$D/c4")"
actor gwa "$G1" gateway <<'EOF'
send dial_gateway lines=8
expect admin_reply ok=true
sleep 60000
EOF
ctl campaign start c4 >"$D/s4" 2>&1 || fail "start c4: $(cat "$D/s4")"
for a in d01 d02 d03; do
	actor $a "$L" agent <<EOF
send login agent_id=$a password=agent-secret-1
expect login_reply
send dial_agent campaign=c4 state=ready
expect admin_reply ok=true
sleep 60000
EOF
done
for a in d01 d02 d03; do wait_for "$a ready" 20 said $a admin_reply; done
pacer_is() { [ "$(ctl --node "$(addr "$L")" campaign show c4 --json |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["pacer"])')" = "$1" ]; }
wait_for "$G1 paces c4" 10 pacer_is "$G1"
# The second gateway comes once G1 paces (the first node with a gateway to
# try takes the campaign).
actor gwb "$G2" gateway <<'EOF'
send dial_gateway lines=8
expect admin_reply ok=true
expect originate campaign=c4 within=40000
sleep 1000
EOF
wait_for "calls in flight on $G1" 20 said gwa originate
killed=$(date +%s.%N)
"$H" kill "$G1" --dir "$D" >/dev/null 2>&1 || fail "kill $G1"
wait_for "$G2 paces c4" 10 pacer_is "$G2"
python3 -c 'import sys,time; sys.exit(time.time() - float(sys.argv[1]) > 5)' "$killed" ||
	fail "$G2 took more than 5 s to pace c4"
ok
# The calls in flight hold the new pacer back until the gateway of the
# dead node reports them, to another node; then it dials new numbers.
grep '"originate"' "$D/gwa.out" | python3 -c '
import json, sys
for l in sys.stdin:
    o = json.loads(l)
    print("send dial_result attempt_id=%s campaign=c4 result=no_answer" % o["attempt_id"])
    print("expect admin_reply ok=true")
' >"$D/results"
actor gwa2 "$L" gateway <"$D/results"
finished gwa2
finished gwb
python3 - "$D/gwa.out" "$D/gwb.out" <<'PY' || fail "an attempt or a number in flight dialled twice"
import json, sys
seen, twice = {}, 0
a = [json.loads(l) for l in open(sys.argv[1]) if '"originate"' in l]
b = [json.loads(l) for l in open(sys.argv[2]) if '"originate"' in l]
ids = [o["attempt_id"] for o in a + b]
assert len(ids) == len(set(ids)), ids
flying = {o["msisdn"] for o in a}
assert not flying & {o["msisdn"] for o in b}, (flying, b)
assert a and b
PY
ok
ctl --node "$(addr "$L")" campaign show c4 --json >"$D/show4"
python3 - "$D/show4" "$D/gwa.out" "$D/gwb.out" <<'PY' || fail "c4: $(cat "$D/show4")"
import json, sys
s = json.load(open(sys.argv[1]))
n = sum(1 for f in sys.argv[2:] for l in open(f) if '"originate"' in l)
assert s["placed"] >= n, (s["placed"], n)
assert s["by_result"].get("no_answer", 0) >= 1, s
PY
ok
ctl --node "$(addr "$L")" campaign stop c4 >/dev/null 2>&1 || fail "stop c4"

# ---- kefu-sim outbound: a short predictive run, a node down ----
seq 13900001000 13900001399 >"$D/n5"
ctl --node "$(addr "$L")" campaign create --name c5 --kind care --mode predictive --file "$D/n5" \
	>"$D/c5" 2>&1 || fail "create c5: $(cat "$D/c5")"
ctl --node "$(addr "$L")" campaign start c5 >"$D/s5" 2>&1 || fail "start c5: $(cat "$D/s5")"
timeout 60 "$SIM" outbound --cluster "$CJ" --campaign c5 --agents d01,d02,d03 \
	--password-file "$D/pw" --answer 0.5 --ring 2 --talk 3 --duration 15 --json \
	>"$D/sim.json" 2>"$D/sim.err" || fail "kefu-sim outbound: $(cat "$D/sim.err")"
ctl --node "$(addr "$L")" campaign show c5 --json >"$D/show5"
python3 - "$D/sim.json" "$D/show5" <<'PY' || fail "outbound run: $(cat "$D/sim.json") $(cat "$D/show5")"
import json, sys
r = json.load(open(sys.argv[1]))
s = json.load(open(sys.argv[2]))
assert r["dialed_twice"] == 0, r
assert r["placed"] > 0 and r["human"] > 0, r
assert r["human"] + r["machine"] + r["busy"] + r["no_answer"] + r["abandoned"] <= r["placed"], r
assert s["placed"] >= r["placed"], (s, r)
assert 0 < r["agent_occupancy"] <= 1, r
PY
ok
ctl --node "$(addr "$L")" campaign stop c5 >/dev/null 2>&1 || fail "stop c5"

# ---- a public holiday (wo_holidays) is not called on ----
set_clock 10:00:00 5
echo 13900000071 >"$D/n10"
ctl --node "$(addr "$L")" campaign create --name c10 --kind care --mode progressive \
	--file "$D/n10" >"$D/c10" 2>&1 || fail "create c10: $(cat "$D/c10")"
ctl --node "$(addr "$L")" campaign start c10 >"$D/s10" 2>&1 || fail "start c10: $(cat "$D/s10")"
actor gwh "$L" gateway <<'EOF'
send dial_gateway lines=4
expect admin_reply ok=true
expect originate campaign=c10 msisdn=13900000071 within=40000
send dial_result attempt_id=@attempt_id campaign=c10 result=busy
expect admin_reply ok=true
EOF
actor h01 "$L" agent <<'EOF'
send login agent_id=d01 password=agent-secret-1
expect login_reply
send dial_agent campaign=c10 state=ready
expect admin_reply ok=true
sleep 30000
EOF
wait_for "d01 on c10" 10 field_is c10 agents 1
wait_for "$L paces c10" 10 field_is c10 pacer "$L"
sleep $QUIET
if said gwh originate; then fail "a number was dialled on a public holiday ($HOLIDAY)"; fi
set_clock 10:00:00 6
finished gwh
ok
kill "$PID_h01" 2>/dev/null || true
done_ok
