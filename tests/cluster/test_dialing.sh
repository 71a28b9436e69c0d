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
# Every change is in the audit log.
ctl audit --json >"$D/audit" 2>&1 || fail "audit: $(cat "$D/audit")"
[ "$(grep -c '"dnc_change"' "$D/audit")" -ge 7 ] || fail "dnc changes in the audit log: $(grep -c dnc_change "$D/audit")"
ok
done_ok
