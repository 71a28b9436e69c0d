#!/bin/sh
# Outbound dialing through a three-node cluster (docs/dialing.md), one
# cluster for every case. The do-not-call list:
#   - an admin adds and removes numbers through any node; every node lists
#     the same entries; removing a number not on the list is refused;
#   - an agent may add a customer's own opt-out, never to the company's list
#     and never remove; a supervisor may;
#   - kill -9 of the leader between changes: every change acknowledged
#     before it is on every node after it, and the list goes on changing.
. "$(dirname "$0")/lib.inc"

up 3
printf 'agent-secret-1' >"$D/pw"
for a in "a01 agent" "s01 supervisor"; do
	set -- $a
	ctl agent add --id "$1" --name "坐席$1" --skills general:5 --role "$2" \
		--password-file "$D/pw" >"$D/add.$1" 2>&1 || fail "agent add $1: $(cat "$D/add.$1")"
done
has_agents() { "$KEFUCTL" agent list --db "$(data_dir "$1")" --json | grep -q '"s01"'; }
for n in node1 node2 node3; do wait_for "agents on $n" 20 has_agents "$n"; done

# listed NODE: the numbers on NODE's list, one line.
listed() {
	ctl --node "$(addr "$1")" dnc list --json |
		python3 -c 'import json,sys; print(" ".join(e["msisdn"] for e in json.load(sys.stdin)["dnc"]))'
}
listed_is() { [ "$(listed "$1")" = "$2" ]; }

ctl --node "$(addr node2)" dnc add 13800000001 --reason 投诉骚扰 >"$D/d1" 2>&1 || fail "dnc add: $(cat "$D/d1")"
ctl --node "$(addr node3)" dnc add 13800000002 >"$D/d2" 2>&1 || fail "dnc add: $(cat "$D/d2")"
for n in node1 node2 node3; do wait_for "two numbers on $n" 20 listed_is "$n" "13800000001 13800000002"; done
if ctl dnc remove 13900000000 >"$D/d3" 2>&1; then fail "removing a number not listed passed"; fi
grep -q "not on the do-not-call list" "$D/d3" || fail "remove: $(cat "$D/d3")"
ok
if ctl dnc add 12ab >"$D/d4" 2>&1; then fail "a bad number was added"; fi
ok
ctl dnc list --json | grep -q '"reason":"投诉骚扰"' || fail "the reason is not kept"
ok

# An agent records a customer's opt-out, nothing else; a supervisor removes.
actor a01 node2 agent <<EOF
send login agent_id=a01 password=agent-secret-1
expect login_reply
send dnc_change msisdn=13800000003 add=true source=customer reason=客户要求不再来电
expect admin_reply ok=true
send dnc_change msisdn=13800000004 add=true source=company
expect error
send dnc_change msisdn=13800000003 add=false
expect error
EOF
finished a01
actor s01 node3 agent <<EOF
send login agent_id=s01 password=agent-secret-1
expect login_reply
send dnc_change msisdn=13800000003 add=false
expect admin_reply ok=true
EOF
finished s01
for n in node1 node2 node3; do wait_for "the opt-out removed on $n" 20 listed_is "$n" "13800000001 13800000002"; done

# ---- kill -9 of the leader between changes ----
old=$(leader)
ctl dnc add 13800000005 >"$D/d5" 2>&1 || fail "dnc add: $(cat "$D/d5")"
"$H" kill "$old" --dir "$D"
wait_for "a new leader" 60 leader_is_not "$old"
ctl dnc add 13800000006 >"$D/d6" 2>&1 || fail "dnc add after the kill: $(cat "$D/d6")"
ctl dnc remove 13800000001 >"$D/d7" 2>&1 || fail "dnc remove after the kill: $(cat "$D/d7")"
"$H" start "$old" --dir "$D" >/dev/null || fail "restart $old"
for n in node1 node2 node3; do
	wait_for "the list on $n" 60 listed_is "$n" "13800000002 13800000005 13800000006"
done
# ---- campaigns ----
printf '# arrears list\n13900000001\n13900000002\n\n13900000003\r\n' >"$D/numbers"
ctl campaign create --name arrears-dec --kind arrears --mode progressive --file "$D/numbers" \
	--json >"$D/c1" 2>&1 || fail "campaign create: $(cat "$D/c1")"
python3 - "$D/c1" <<'PY' || fail "campaign create answered $(cat "$D/c1")"
import json, sys
c = json.load(open(sys.argv[1]))
for k in ("state", "pacer", "contacts", "done", "left", "by_result", "placed", "abandon_rate", "agents"):
    assert k in c, k
assert c["state"] == "draft" and c["contacts"] == 3 and c["left"] == 3 and c["done"] == 0, c
assert c["window"] == "08:00-21:00" and abs(c["abandon_cap"] - 0.03) < 1e-9, c
assert c["abandon_window"] == "30d" and len(c["retries"]) == 4, c
PY
ok
printf '13900000001\nnot-a-number\n' >"$D/bad-numbers"
if ctl campaign create --name bad --kind care --mode preview --file "$D/bad-numbers" >"$D/c2" 2>&1; then
	fail "a file with a bad number made a campaign"
fi
grep -q 'number 2, "not-a-number", is not 5 to 20 digits' "$D/c2" || fail "bad number: $(cat "$D/c2")"
ok
if ctl campaign create --name arrears-dec --kind care --mode preview --from callbacks >"$D/c3" 2>&1; then
	fail "a second campaign of the same name was made"
fi
grep -q "campaign arrears-dec exists" "$D/c3" || fail "same name: $(cat "$D/c3")"
ok
if ctl campaign create --name mk --kind marketing --mode predictive --from visits --window 21:00-08:00 \
	>"$D/c4" 2>&1; then fail "a window that ends before it starts was taken"; fi
grep -q "HH:MM-HH:MM" "$D/c4" || fail "window: $(cat "$D/c4")"
ok
ctl campaign create --name mk --kind marketing --mode predictive --from visits --abandon-cap 0.02 \
	--abandon-window 24h --json >"$D/c5" 2>&1 || fail "campaign create mk: $(cat "$D/c5")"
grep -q '"weekdays_only":true' "$D/c5" || fail "marketing is weekdays only: $(cat "$D/c5")"
ok
# An agent may not run campaigns; a supervisor may.
actor a01 node1 agent <<EOF
send login agent_id=a01 password=agent-secret-1
expect login_reply
send campaign_action name=mk action=start
expect error
EOF
finished a01
said a01 "needs a supervisor's session" || fail "an agent ran a campaign: $(cat "$D/a01.out")"
ok
actor s01 node2 agent <<EOF
send login agent_id=s01 password=agent-secret-1
expect login_reply
send campaign_action name=mk action=start
expect campaign_reply campaign.state=running
EOF
finished s01
# Transitions: start, pause, resume, stop; none out of turn.
ctl campaign start arrears-dec >"$D/c6" 2>&1 || fail "start: $(cat "$D/c6")"
if ctl campaign resume arrears-dec >"$D/c7" 2>&1; then fail "resume of a running campaign passed"; fi
grep -q "campaign arrears-dec is running: resume is not possible" "$D/c7" || fail "resume: $(cat "$D/c7")"
ok
ctl campaign pause arrears-dec >/dev/null 2>&1 || fail "pause"
old=$(leader)
"$H" kill "$old" --dir "$D"
wait_for "a new leader" 60 leader_is_not "$old"
ctl campaign resume arrears-dec >/dev/null 2>&1 || fail "resume after the kill"
ctl campaign stop mk >/dev/null 2>&1 || fail "stop after the kill"
if ctl campaign start mk >"$D/c8" 2>&1; then fail "a stopped campaign started again"; fi
ok
"$H" start "$old" --dir "$D" >/dev/null || fail "restart $old"
state_on() { # NODE NAME STATE
	ctl --node "$(addr "$1")" campaign show "$2" --json 2>/dev/null | grep -q "\"state\":\"$3\""
}
for n in node1 node2 node3; do
	wait_for "arrears-dec running on $n" 60 state_on "$n" arrears-dec running
	wait_for "mk stopped on $n" 60 state_on "$n" mk stopped
done
ctl campaign list --json >"$D/list" 2>&1 || fail "list: $(cat "$D/list")"
[ "$(grep -o '"name"' "$D/list" | wc -l)" -eq 2 ] || fail "list: $(cat "$D/list")"
ok

# ---- a campaign over the customer database ----
"$SIM" boss --out "$D/boss" --users 400 --seed 5 >/dev/null
ctl import "$D"/boss/*_CUST_*_000001.dat "$D"/boss/*_USER_*_000001.dat >"$D/boss.out" 2>&1 ||
	fail "BOSS import: $(cat "$D/boss.out")"
if ctl campaign create --name q1 --kind arrears --mode progressive --query 'vip = 3' >"$D/q0" 2>&1; then
	fail "a query with an unknown field was taken"
fi
grep -q 'unknown field "vip" at 1' "$D/q0" || fail "bad query: $(cat "$D/q0")"
ok
ctl campaign create --name q1 --kind arrears --mode progressive \
	--query 'status = stopped and arrears > 50' >"$D/q1" 2>&1 || fail "query campaign: $(cat "$D/q1")"
ctl campaign start q1 --json >"$D/q2" 2>&1 || fail "start q1: $(cat "$D/q2")"
want=$(awk -F'|' '$1 == "A" && $7 == "3" && $11 > 5000 { n++ } END { print n + 0 }' "$D"/boss/*_USER_*_000001.dat)
[ "$want" -gt 0 ] || fail "the data has no stopped subscriber owing over 50 yuan"
got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["contacts"])' "$D/q2")
[ "$got" = "$want" ] || fail "query campaign froze $got contacts, the data has $want: $(cat "$D/q2")"
ok

# Every change is in the audit log.
ctl audit --json >"$D/audit" 2>&1 || fail "audit: $(cat "$D/audit")"
[ "$(grep -c "\"dnc_change\"" "$D/audit")" -ge 7 ] && [ "$(grep -c "\"campaign_" "$D/audit")" -ge 7 ] || fail "dnc and campaign changes in the audit log: $(grep -c dnc_change "$D/audit") $(grep -c "\"campaign_" "$D/audit")"
ok
done_ok
