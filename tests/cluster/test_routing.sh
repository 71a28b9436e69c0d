#!/bin/sh
# Tiered routing through any node (docs/routing.md), with real etcd and
# Redis: an agent on node1 logs in and goes ready; a gateway on node3 sends
# CallArrived for a diamond subscriber and gets the vip-direct plan with a
# greeting; the agent gets the Offer with the profile, answers, and the
# gateway gets ConnectCall. Wrong passwords lock an account. Bills are
# refused before the node verified the caller (the last 6 characters of
# the ID number) and shown (and audited on every node) after. An unanswered offer times out and the call goes to another
# agent, never to two at once. The wallboard counts it all.
. "$(dirname "$0")/lib.inc"
up 3

# Subscribers: day one of a generated BOSS set; one diamond caller with a
# normal number and one suspended caller (a call from it is not verified).
# Stamped now, so that the CDRs fall in the months the bill view shows.
"$SIM" boss --out "$D/boss" --users 300 --seed 5 --start "$(date +%Y%m%d%H%M%S)" >/dev/null
ctl import "$D"/boss/*_CUST_*_000001.dat "$D"/boss/*_USER_*_000001.dat \
	"$D"/boss/*_BILL_*_000001.dat "$D"/boss/*_CDR_*_000001.dat >"$D/import.out" 2>&1 ||
	fail "import: $(cat "$D/import.out")"
ok
pick() { # diamond|suspended|ordinary: an msisdn of that kind that has bills
	python3 - "$1" "$D"/boss/*_CUST_*_000001.dat "$D"/boss/*_USER_*_000001.dat \
		"$D"/boss/*_BILL_*_000001.dat <<'EOF'
import sys
kind, cust, user, bill = sys.argv[1:]
vip = {l.split("|")[1]: int(l.split("|")[8]) for l in open(cust, encoding="utf-8")}
billed = {l.split("|")[1] for l in open(bill, encoding="utf-8")}
for l in open(user, encoding="utf-8"):
    f = l.rstrip("\n").split("|")
    uid, msisdn, cid, status = f[1], f[2], f[3], f[6]
    if uid not in billed:
        continue
    if (kind == "diamond" and vip.get(cid) == 4 and status == "1") or \
       (kind == "suspended" and status == "2") or \
       (kind == "ordinary" and vip.get(cid) == 0 and status == "1"):
        print(msisdn); break
EOF
}
DIAMOND=$(pick diamond)
SUSPENDED=$(pick suspended)
ORDINARY=$(pick ordinary)
[ -n "$DIAMOND" ] && [ -n "$SUSPENDED" ] && [ -n "$ORDINARY" ] ||
	fail "no diamond, suspended or ordinary subscriber with bills in the data"
ok
# The last 6 characters of the suspended caller's ID number: what the caller
# says for the identity check.
SUSPENDED_DIGITS=$(python3 - "$SUSPENDED" "$D"/boss/*_CUST_*_000001.dat "$D"/boss/*_USER_*_000001.dat <<'EOF'
import sys
msisdn, cust, user = sys.argv[1:]
cid = [l.split("|")[3] for l in open(user, encoding="utf-8") if l.split("|")[2] == msisdn][0]
print([l.split("|")[5] for l in open(cust, encoding="utf-8") if l.split("|")[1] == cid][0][-6:])
EOF
)
[ ${#SUSPENDED_DIGITS} -eq 6 ] || fail "no ID number for $SUSPENDED"
known_on() { ctl --node "$(addr "$1")" lookup --msisdn "$2"; }
for n in node1 node2 node3; do
	for m in "$DIAMOND" "$SUSPENDED" "$ORDINARY"; do wait_for "$m on $n" 20 known_on "$n" "$m"; done
done

# Agents, every one able to take every skill.
printf 'agent-secret-1' >"$D/pw"
for a in a01 a02 a03 a04 a05; do
	ctl agent add --id "$a" --name "坐席$a" --skills vip:5,billing:5,general:5 \
		--password-file "$D/pw" >"$D/add.$a" 2>&1 || fail "agent add $a: $(cat "$D/add.$a")"
done
ok
has_agent() { "$KEFUCTL" agent list --db "$(data_dir "$1")" --json | grep -q '"a05"'; }
for n in node1 node2 node3; do wait_for "agents on $n" 20 has_agent "$n"; done


# ---- the diamond call: gateway on node3, agent on node1 ----
actor agent1 node1 agent <<EOF
send login agent_id=a01 password=agent-secret-1
expect login_reply agent_id=a01 state=not_ready
send set_agent_state state=ready
expect agent_status state=ready
expect offer ani=$DIAMOND tier=4 verified=true user.msisdn=$DIAMOND customer.vip_level=4 within=20000
send answer_call call_id=@call_id
expect agent_status state=on_call
send hangup_call call_id=@call_id
expect agent_status state=wrap_up
send set_agent_state state=logged_out
expect agent_status state=logged_out
EOF
wait_for "a01 ready" 20 said agent1 '"state":"ready"'
actor gw1 node3 gateway <<EOF
send call_arrived call_id=c1 ani=$DIAMOND service=10086 ivr_path=0
expect ivr_plan call_id=c1 plan=vip-direct tier=4 known=true
expect connect_call call_id=c1 agent_id=a01 within=20000
expect call_ended call_id=c1 reason=agent
EOF
finished gw1
finished agent1
# The greeting names the customer the agent's screen pop shows.
python3 - "$D/gw1.out" "$D/agent1.out" <<'EOF' || fail "no greeting by name: $(head -n 1 "$D/gw1.out")"
import json, sys
plan = json.loads(open(sys.argv[1], encoding="utf-8").readline())
offer = [m for m in map(json.loads, open(sys.argv[2], encoding="utf-8")) if m["body"] == "offer"][0]
assert plan["greeting"] == offer["customer"]["name"] + "您好", (plan, offer["customer"])
EOF
ok

# ---- wrong passwords lock the account, through any node ----
actor lock1 node2 agent <<EOF
send login agent_id=a04 password=wrong-1
expect error
send login agent_id=a04 password=wrong-2
expect error
send login agent_id=a04 password=wrong-3
expect error
send login agent_id=a04 password=wrong-4
expect error
send login agent_id=a04 password=wrong-5
expect error
EOF
finished lock1
[ "$(grep -c 'wrong agent id or password' "$D/lock1.out")" -eq 4 ] && grep -q 'locked after 5' "$D/lock1.out" ||
	fail "failed logins: $(cat "$D/lock1.out")"
ok
actor lock2 node3 agent <<EOF
send login agent_id=a04 password=agent-secret-1
expect error
EOF
finished lock2
grep -q locked "$D/lock2.out" || fail "the right password got in while locked: $(cat "$D/lock2.out")"
ok

# ---- bills: refused before verification, shown and audited after ----
actor agent5 node2 agent <<EOF
$(login_ready a05 agent-secret-1)
expect offer ani=$SUSPENDED verified=false within=20000
send answer_call call_id=gateway:c2
expect agent_status state=on_call
send bills_request call_id=gateway:c2 months=3
expect error
send verify_identity call_id=gateway:c2 method=id-digits id_digits=$SUSPENDED_DIGITS
expect verify_reply result=verified verified=id-digits
send bills_request call_id=gateway:c2 months=3
expect bills_reply
$(hangup_logout gateway:c2)
EOF
wait_for "a05 ready" 20 said agent5 '"state":"ready"'
actor gw2 node1 gateway <<EOF
send call_arrived call_id=c2 ani=$SUSPENDED service=10086
expect ivr_plan call_id=c2 known=true
expect connect_call call_id=c2 agent_id=a05 within=20000
expect call_ended call_id=c2 within=30000
EOF
finished agent5
finished gw2
grep -q 'identity not verified' "$D/agent5.out" || fail "bills before verification: $(cat "$D/agent5.out")"
ok
grep '"body":"bills_reply"' "$D/agent5.out" | grep -q '"bill_month"' || fail "no bills after verification"
ok
# The bill view carries the caller's CDRs of those months, newest first, as imported.
python3 - "$D/agent5.out" "$SUSPENDED" "$D"/boss/*_USER_*_000001.dat "$D"/boss/*_CDR_*_000001.dat <<'PY' ||
import json, sys, time
out, msisdn, user, cdr = sys.argv[1:]
reply = [m for m in map(json.loads, open(out, encoding="utf-8")) if m["body"] == "bills_reply"][0]
uid = [l.split("|")[1] for l in open(user, encoding="utf-8") if l.split("|")[2] == msisdn][0]
t = time.localtime()
first = "%04d%02d" % ((t.tm_year, t.tm_mon - 2) if t.tm_mon > 2 else (t.tm_year - 1, t.tm_mon + 10))
want = sorted((l.split("|")[2] for l in open(cdr, encoding="utf-8")
               if l.split("|")[1] == uid and l.split("|")[2] >= first), reverse=True)
got = [c["start_time"] for c in reply.get("cdrs", [])]
assert want and got == want, (got, want)
assert all(c["user_id"] == uid for c in reply["cdrs"]), reply["cdrs"]
PY
	fail "CDRs in the bill view: $(grep bills_reply "$D/agent5.out")"
ok
audited() { # NODE: the verification and the bills access are in NODE's audit log
	"$KEFUCTL" audit --db "$(data_dir "$1")" --json | python3 -c '
import json, sys
es = [e for e in map(json.loads, sys.stdin) if e.get("subject") == sys.argv[1] and e["action"] != "lookup"]
acts = [e["action"] for e in es]
assert acts == ["verify_pass", "view_bills"], acts
assert all(e["agent"] == "a05" and "call=gateway:c2" in e["detail"] for e in es), es' "$SUSPENDED"
}
for n in node1 node2 node3; do wait_for "bills access audited on $n" 20 audited "$n"; done

# ---- an unanswered offer times out; the call goes to another agent ----
actor agent2 node1 agent <<EOF
send login agent_id=a02 password=agent-secret-1
expect login_reply
send set_agent_state state=ready
expect agent_status state=ready
expect offer ani=$ORDINARY within=20000
expect offer_revoked reason=timeout within=20000
expect agent_status state=not_ready reason=no-answer
EOF
wait_for "a02 ready" 20 said agent2 '"state":"ready"'
actor gw3 node2 gateway <<EOF
send call_arrived call_id=c3 ani=$ORDINARY service=10086
expect ivr_plan call_id=c3 plan=full-menu tier=0
send wait_request call_id=c3
expect connect_call call_id=c3 agent_id=a03 within=40000
EOF
wait_for "the offer to a02" 20 said agent2 '"body":"offer"'
actor agent3 node3 agent <<EOF
send login agent_id=a03 password=agent-secret-1
expect login_reply
send set_agent_state state=ready
expect agent_status state=ready
none offer 6000
expect offer call_id=gateway:c3 within=20000
send answer_call call_id=@call_id
expect agent_status state=on_call
EOF
finished agent2
finished agent3
finished gw3
grep -q '"body":"wait_reply"' "$D/gw3.out" || fail "no estimated wait: $(cat "$D/gw3.out")"
ok

# ---- resume: the agent and the gateway come back through other nodes ----
actor agent1b node1 agent <<EOF
send login agent_id=a01 password=agent-secret-1
expect login_reply agent_id=a01
send set_agent_state state=ready
expect agent_status state=ready
EOF
finished agent1b
token=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["token"])' "$D/agent1b.out")
actor gw4 node3 gateway <<EOF
send call_arrived call_id=c4 ani=$DIAMOND service=10086
expect ivr_plan call_id=c4 plan=vip-direct
none connect_call 1000
EOF
finished gw4
actor gw4b node1 gateway <<EOF
send gateway_resume call_ids=c4
expect admin_reply ok=true
expect connect_call call_id=c4 agent_id=a01 within=20000
EOF
sleep 1
actor agent1c node2 agent <<EOF
send session_resume token=$token
expect login_reply agent_id=a01 state=ready
expect offer call_id=gateway:c4 within=20000
send answer_call call_id=@call_id
expect agent_status state=on_call
EOF
finished agent1c
finished gw4b
actor bad node2 agent <<EOF
send session_resume token=0000000000000000000000000000000000000000000000000000000000000000
expect error code=-1003
send set_agent_state state=ready
expect error
EOF
finished bad

# ---- the wallboard ----
routing_stats node2
python3 - "$D/stats.out" <<'EOF' || fail "routing stats: $(cat "$D/stats.out")"
import json, sys
c = {t["key"]: t for t in json.loads(open(sys.argv[1]).readline())["counters"]}
tiers = [c["tier:%d" % i] for i in range(5)]
assert sum(t["offered"] for t in tiers) == 4 and sum(t["answered"] for t in tiers) == 4, tiers
assert c["tier:4"]["answered"] >= 1 and c["tier:4"]["answered_in_sl"] >= 1, c["tier:4"]
assert c["tier:0"]["answered"] >= 1 and c["skill:vip"]["answered"] >= 1, c
EOF
ok

# ---- the answering node's round trips to Redis, in kefuctl status ----
ctl status --json >"$D/status.json" || fail "kefuctl status: $(cat "$D/status.json")"
python3 - "$D/status.json" <<'EOF' || fail "redis round trips in status: $(cat "$D/status.json")"
import json, sys
r = json.load(open(sys.argv[1]))["redis"]
assert r["up"] and r["commands"] > 0, r
assert 0 < r["rtt_p50_us"] <= r["rtt_p99_us"] < 10000000, r
EOF
ctl status | grep -q "round trip p50 .* ms, p99 .* ms" || fail "kefuctl status shows no round trips"
ok
done_ok
