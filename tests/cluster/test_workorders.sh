#!/bin/sh
# Work orders through a three-node cluster (docs/workflow.md), one cluster
# for every case:
#   - a kefu-sim call answered by agent a01 on node1, who creates an order
#     for the caller from the call and dispatches it: the dispatch rules
#     send it to the caller's city group;
#   - a handler of another group is refused on node2, the group's handler
#     accepts, starts and replies there; an agent who is not the owner
#     cannot close it; the owner closes it on node1, a return visit is
#     worked by another agent on node3: satisfied, closed;
#   - every node shows the same history, and every read and change of the
#     order is in the audit log;
#   - a supervisor on a follower hands an order to another agent (reassign),
#     who is told on a third node, not to one who is no agent; at the end
#     every open order of a01 is handed to a02 at once (order handover); kefuctl hands it back, refusing what is
#     not a reassign's; the history says from whom and to whom;
#   - with targets of seconds, 12 orders fall due while the leader is
#     killed with -9: every escalation level fires exactly once per order,
#     clock and level (in the orders and in the audit log), none is lost;
#     a supervisor logged in on a follower is told of each upgrade; every
#     node's stored deadlines equal those computed again from the history;
#   - at the end, a follower that meets a newer stored form stops and says
#     why, and the leader goes on.
. "$(dirname "$0")/lib.inc"

cat >"$D/dispatch" <<'EOF'
# kind      category  city    group
complaint   话费      成都市  cd-billing
fault       网络      *       network
*           *         *       backoffice
EOF
up 3 --extra "wo_dispatch = $D/dispatch" \
	--extra 'wo_complaint_first_response = 6s' --extra 'wo_complaint_update = 1h' \
	--extra 'wo_complaint_solution = 14s' --extra 'wo_escalated_first_response = 6s' \
	--extra 'wo_escalated_solution = 14s' --extra 'wo_escalated_update = 1h' \
	--extra 'wo_visit_quiet = 1m'

"$SIM" boss --out "$D/boss" --users 300 --seed 9 >/dev/null
ctl import "$D"/boss/*_CUST_*_000001.dat "$D"/boss/*_USER_*_000001.dat \
	>"$D/import.out" 2>&1 || fail "import: $(cat "$D/import.out")"
# A subscriber in service whose customer lives in 成都市, and its user id.
set -- $(python3 - "$D"/boss/*_CUST_*_000001.dat "$D"/boss/*_USER_*_000001.dat <<'PY'
import sys
city = {}
for l in open(sys.argv[1], encoding="utf-8"):
    f = l.split("|")
    a = f[6].split("省", 1)[-1]
    city[f[1]] = a[: a.find("市") + 1] if "市" in a else ""
for l in open(sys.argv[2], encoding="utf-8"):
    f = l.rstrip("\n").split("|")
    if city.get(f[3]) == "成都市" and f[6] == "1":
        print(f[2], f[1]); break
PY
)
CALLER=${1:-} CALLER_UID=${2:-}
[ -n "$CALLER" ] || fail "no subscriber of 成都市 in the data"
known_on() { ctl --node "$(addr "$1")" lookup --msisdn "$CALLER"; }
for n in node1 node2 node3; do wait_for "$CALLER on $n" 20 known_on "$n"; done
ok

# Every member's build writes stored form 2, so the leader records it and
# every replica has it (lib/version.h): the orders below are written in it.
form_on() {
	status_json "$1" 2>/dev/null | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin).get("store_format") != 2)'
}
for n in node1 node2 node3; do wait_for "stored form 2 on $n" 20 form_on "$n"; done
ctl status --json | python3 -c '
import json, sys
ms = json.load(sys.stdin)["members"]
assert len(ms) == 3 and all(m["format"] == 2 for m in ms), ms' || fail "members' forms"
ok

printf 'agent-secret-1' >"$D/pw"
add() { # ID ROLE GROUPS
	ctl agent add --id "$1" --name "坐席$1" --skills vip:5,billing:5,general:5 --role "$2" \
		--groups "$3" --password-file "$D/pw" >"$D/add.$1" 2>&1 ||
		fail "agent add $1: $(cat "$D/add.$1")"
}
add a01 agent ""
add a02 agent ""
add h01 handler cd-billing
add h02 handler gz-network
add s01 supervisor cd-billing
has_agents() { "$KEFUCTL" agent list --db "$(data_dir "$1")" --json | grep -q '"s01"'; }
for n in node1 node2 node3; do wait_for "agents on $n" 20 has_agents "$n"; done
ok

# ---- the call, and the order its agent creates on node1 ----
actor a01 node1 agent <<EOF
$(login_ready a01 agent-secret-1)
expect offer within=20000
send answer_call call_id=@call_id
expect agent_status state=on_call
send order_create client_ref=call-wo-1 msisdn=$CALLER kind=complaint category=话费/计费争议 description=客户称本月多扣月租费20元 call_id=wo-call-1
expect order_reply order.state=new order.owner=a01 order.msisdn=$CALLER
send order_transition id=@order.id action=dispatch
expect order_reply order.state=dispatched order.group=cd-billing
send order_create client_ref=call-wo-1 msisdn=$CALLER kind=complaint category=话费/计费争议 description=客户称本月多扣月租费20元 call_id=wo-call-1
expect order_reply order.state=dispatched order.owner=a01
EOF
actor gw node1 gateway <<EOF
send call_arrived call_id=wo-call-1 ani=$CALLER service=10086
expect ivr_plan call_id=wo-call-1
expect connect_call call_id=wo-call-1 within=20000
sleep 3000
send call_ended call_id=wo-call-1 reason=caller
EOF
finished a01
finished gw
ID=$(python3 -c '
import json, sys
for l in open(sys.argv[1], encoding="utf-8"):
    m = json.loads(l)
    if m.get("body") == "order_reply":
        print(m["order"]["id"]); break' "$D/a01.out")
case "$ID" in CN2[0-9][0-9][0-9][0-9][0-9][0-9][0-9]0000[0-9][0-9]) ;; *) fail "order id: '$ID'" ;; esac
# The create sent again with its client_ref: the order it made, not a second one.
python3 - "$D/a01.out" "$ID" <<'PY' || fail "the create sent again: $(grep order_reply "$D/a01.out")"
import json, sys
ids = [m["order"]["id"] for m in map(json.loads, open(sys.argv[1], encoding="utf-8"))
       if m.get("body") == "order_reply"]
assert ids == [sys.argv[2]] * 3, ids
PY
ok

# ---- the handlers on node2 ----
actor h02 node2 agent <<EOF
send login agent_id=h02 password=agent-secret-1
expect login_reply
send order_transition id=$ID action=accept
expect error
EOF
finished h02
grep '"error"' "$D/h02.out" | grep -q 'not allowed for h02 (handler of groups gz-network' ||
	fail "h02's refusal: $(cat "$D/h02.out")"
ok
# Two accepts sent at once: the leader may make both on the same snapshot
# before either is written, and the writer must find the second's order
# changed and make it again, which refuses it (accept is from dispatched).
actor h01 node2 agent <<EOF
send login agent_id=h01 password=agent-secret-1
expect login_reply
send order_transition id=$ID action=accept
send order_transition id=$ID action=accept
expect order_reply order.state=accepted order.handler=h01
expect error
send order_transition id=$ID action=start
expect order_reply order.state=processing
send order_update id=$ID note=已核实计费记录
expect order_reply order.state=processing
send order_transition id=$ID action=reply note=已退还多扣的月租费20元
expect order_reply order.state=replied
EOF
finished h01
accepts=$(ctl order show "$ID" --json | python3 -c '
import json, sys
print(sum(1 for h in json.load(sys.stdin)["history"] if h["action"] == "accept"))') ||
	fail "order show $ID"
[ "$accepts" = 1 ] || fail "two accepts sent at once: $accepts accept steps in the history"
ok

# ---- close: not by another agent; by the owner; the visit on node3 ----
actor a02 node3 agent <<EOF
send login agent_id=a02 password=agent-secret-1
expect login_reply
send order_transition id=$ID action=close
expect error
EOF
finished a02
grep '"error"' "$D/a02.out" | grep -q 'a02 (agent, not the owner)' ||
	fail "a02's close: $(cat "$D/a02.out")"
ok
ctl --node "$(addr node1)" order transition "$ID" close --json >"$D/close.out" 2>&1 ||
	fail "close: $(cat "$D/close.out")"
grep -q '"state":"visiting"' "$D/close.out" || fail "close: $(cat "$D/close.out")"
ctl --node "$(addr node3)" order list --state visiting --json >"$D/visits.out" 2>&1 ||
	fail "visits: $(cat "$D/visits.out")"
grep -q "\"id\":\"$ID\"" "$D/visits.out" || fail "no return visit listed: $(cat "$D/visits.out")"
actor visit node3 agent <<EOF
send login agent_id=a02 password=agent-secret-1
expect login_reply
send order_transition id=$ID action=satisfied
expect order_reply order.state=closed order.satisfaction=satisfied
EOF
finished visit
ok

# ---- anti-fatigue: the same customer again within wo_visit_quiet: no visit ----
actor quiet node1 agent <<EOF
send login agent_id=s01 password=agent-secret-1
expect login_reply
send order_create client_ref=quiet-1 msisdn=$CALLER kind=complaint category=话费 description=再次来电询问 owner=a01
expect order_reply order.state=new order.owner=a01
send order_transition id=@order.id action=dispatch
expect order_reply order.state=dispatched
send order_transition id=@order.id action=accept
expect order_reply order.state=accepted
send order_transition id=@order.id action=reply note=已答复
expect order_reply order.state=replied
send order_transition id=@order.id action=close
expect order_reply order.state=closed
EOF
finished quiet
grep '"order_reply"' "$D/quiet.out" | tail -n 1 | grep -q 'no return visit: the customer had one' ||
	fail "a second visit within wo_visit_quiet: $(tail -n 1 "$D/quiet.out")"
ok

# ---- reassign: a supervisor hands an order to another agent ----
# a02, logged in on node3, is told when an order is handed to it.
actor a02n node3 agent <<EOF
send login agent_id=a02 password=agent-secret-1
expect login_reply
expect order_notice escalation.action=reassign owner=a02 within=20000
EOF
wait_for "a02 logged in on node3" 20 said a02n login_reply
actor handover node2 agent <<EOF
send login agent_id=s01 password=agent-secret-1
expect login_reply
send order_create client_ref=handover-1 msisdn=$CALLER kind=complaint category=话费 description=转交测试 owner=a01
expect order_reply order.state=new order.owner=a01
send order_transition id=@order.id action=reassign owner=a02 note=a01休假
expect order_reply order.state=new order.owner=a02
send order_transition id=@order.id action=reassign owner=nobody note=转交
expect error
EOF
finished handover
finished a02n
grep '"error"' "$D/handover.out" | grep -q 'the owner nobody is no enabled agent' ||
	fail "a reassign to nobody: $(cat "$D/handover.out")"
HO=$(python3 -c '
import json, sys
for l in open(sys.argv[1], encoding="utf-8"):
    m = json.loads(l)
    if m.get("body") == "order_reply":
        print(m["order"]["id"]); break' "$D/handover.out")
[ -n "$HO" ] || fail "no order in $(cat "$D/handover.out")"
ctl order transition "$HO" reassign --note 转交 >"$D/ho.out" 2>&1 && fail "a reassign without --owner was taken"
grep -q 'reassign needs --owner' "$D/ho.out" || fail "reassign without --owner: $(cat "$D/ho.out")"
ctl order transition "$HO" note --owner a01 --note 备注 >"$D/ho.out" 2>&1 && fail "--owner with a note was taken"
grep -q -- '--owner goes with reassign only' "$D/ho.out" || fail "--owner with a note: $(cat "$D/ho.out")"
ctl order transition "$HO" reassign --owner a02 --note 再转 >"$D/ho.out" 2>&1 && fail "a reassign to its owner was taken"
grep -q 'a02 owns it already' "$D/ho.out" || fail "reassign to its owner: $(cat "$D/ho.out")"
ctl order transition "$HO" reassign --owner a01 --note 销假 --json >"$D/ho.out" 2>&1 ||
	fail "kefuctl reassign: $(cat "$D/ho.out")"
ctl order show "$HO" --json >"$D/ho.show" 2>&1 || fail "show $HO: $(cat "$D/ho.show")"
python3 - "$D/ho.show" <<'PY' || fail "the reassigned order: $(cat "$D/ho.show")"
import json, sys
o = json.load(open(sys.argv[1], encoding="utf-8"))
assert o["owner"] == "a01" and o["state"] == "new", o
h = [(s["action"], s["by"], s["role"], s["owner"], s["note"]) for s in o["history"]]
assert h[1:] == [("reassign", "s01", "supervisor", "a02", "from a01: a01休假"),
                 ("reassign", "admin", "admin", "a01", "from a02: 销假")], h
PY
ok
# Twenty notes sent at once on the leader itself: the leader makes each on
# a snapshot as it arrives, often before the one before it is written, and
# the writer must then make it again on that one's result, else its record
# would drop the notes before it. Every note must be in the history.
{
	echo "send login agent_id=s01 password=agent-secret-1"
	echo "expect login_reply"
	for i in $(seq 1 20); do echo "send order_update id=$HO note=并发备注$i"; done
	for i in $(seq 1 20); do echo "expect order_reply"; done
} >"$D/s01.in"
actor s01 "$(leader)" agent <"$D/s01.in"
finished s01
notes=$(ctl order show "$HO" --json | python3 -c '
import json, sys
n = [h.get("note") for h in json.load(sys.stdin)["history"]]
print(sum(1 for i in range(1, 21) if "并发备注%d" % i in n))') || fail "order show $HO"
[ "$notes" = 20 ] || fail "twenty notes sent at once: $notes of them in the history"
ok

# ---- every node: the same history; the audit log has it all ----
for n in node1 node2 node3; do
	ctl --node "$(addr "$n")" order show "$ID" --json >"$D/show.$n" 2>&1 ||
		fail "show through $n: $(cat "$D/show.$n")"
done
python3 - "$D/show.node1" "$D/show.node2" "$D/show.node3" "$CALLER_UID" <<'PY' || fail "histories differ or are wrong"
import json, sys
orders = [json.loads(open(p, encoding="utf-8").read()) for p in sys.argv[1:4]]
h = [o["history"] for o in orders]
assert h[0] == h[1] == h[2], h
acts = [(s["action"], s["from"], s["to"], s["by"]) for s in h[0]]
want = [("create", "", "new", "a01"), ("dispatch", "new", "dispatched", "a01"),
        ("accept", "dispatched", "accepted", "h01"), ("start", "accepted", "processing", "h01"),
        ("note", "processing", "processing", "h01"), ("reply", "processing", "replied", "h01"),
        ("close", "replied", "visiting", "admin"), ("satisfied", "visiting", "closed", "a02")]
assert acts == want, acts
o = orders[0]
assert o["state"] == "closed" and o["group"] == "cd-billing" and o["owner"] == "a01", o
assert o["user_id"] == sys.argv[4] and o["city"] == "成都市", o
assert o["clocks"]["first_response"]["met_ms"] and o["clocks"]["solution"]["met_ms"], o["clocks"]
PY
ok
ctl audit --json >"$D/audit.out" 2>&1 || fail "audit: $(cat "$D/audit.out")"
python3 - "$D/audit.out" "$ID" <<'PY' || fail "audit entries of $ID: $(grep "$ID" "$D/audit.out" | head)"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
acts = [r["action"] for r in rows if r.get("subject") == sys.argv[2]]
for a in ("order_create", "order_dispatch", "order_accept", "order_start", "order_update",
          "order_reply", "order_close", "order_satisfied", "order_show"):
    assert a in acts, (a, acts)
PY
ok

# ---- escalations while the leader dies ----
actor sup node3 agent <<EOF
send login agent_id=s01 password=agent-secret-1
expect login_reply
expect order_notice escalation.action=upgrade within=60000
EOF
: >"$D/ids"
i=0
while [ $i -lt 12 ]; do
	i=$((i + 1))
	ctl order create --msisdn "$CALLER" --kind complaint --category 话费 --owner a01 \
		--text "批量工单$i" --json >"$D/create.$i" 2>&1 || fail "create $i: $(cat "$D/create.$i")"
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$D/create.$i" >>"$D/ids"
done
ok
# Attachments travel with the order: added through one node, saved from another.
first=$(head -n 1 "$D/ids")
head -c 30000 /dev/urandom >"$D/回执.bin"
ctl --node "$(addr node2)" order update "$first" --note "客户提供扣费短信截图" \
	--attach "$D/回执.bin" >"$D/attach.out" 2>&1 || fail "attach: $(cat "$D/attach.out")"
mkdir "$D/saved"
has_attachment() {
	ctl --node "$(addr node3)" order show "$first" --attachments "$D/saved" >/dev/null 2>&1 &&
		cmp -s "$D/回执.bin" "$D/saved/回执.bin"
}
wait_for "the attachment through node3" 20 has_attachment
ok
ctl order categories --kind complaint --json >"$D/cat.out" 2>&1 || fail "categories: $(cat "$D/cat.out")"
python3 -c '
import json, sys
c = json.load(open(sys.argv[1], encoding="utf-8"))["categories"]
assert "complaint/话费/计费争议" in c and all(p.startswith("complaint/") for p in c), c' "$D/cat.out" ||
	fail "categories: $(cat "$D/cat.out")"
ok
sleep 3
old=$(leader)
"$H" kill "$old" --dir "$D"
wait_for "a new leader" 20 leader_is_not "$old"
ok
survivor=$(for n in node1 node2 node3; do [ "$n" != "$old" ] && echo "$n"; done | head -n 1)
# first_response 6s: 4.8s, 6s, 9s; solution 14s: 11.2s, 14s, 21s after creation.
all_fired() {
	ctl --node "$(addr "$survivor")" order list --msisdn "$CALLER" --json >"$D/esc.out" 2>&1 &&
		python3 - "$D/esc.out" "$D/ids" <<'PY'
import json, sys
ids = set(open(sys.argv[2]).read().split())
rows = {r["id"]: r for r in map(json.loads, filter(str.strip, open(sys.argv[1], encoding="utf-8")))}
for i in ids:
    e = rows[i]["escalations"]
    if len([x for x in e if x["clock"] in ("first_response", "solution")]) < 6:
        sys.exit(1)
PY
}
wait_for "every level fired" 60 all_fired
"$H" start "$old" --dir "$D"
wait_for "the old leader back, caught up" 60 healthy
for n in node1 node2 node3; do
	ctl --node "$(addr "$n")" order list --msisdn "$CALLER" --json >"$D/esc.$n" 2>&1 ||
		fail "list through $n: $(cat "$D/esc.$n")"
	python3 - "$D/esc.$n" "$D/ids" <<'PY' || fail "escalations through $n"
import json, sys, collections
ids = set(open(sys.argv[2]).read().split())
rows = {r["id"]: r for r in map(json.loads, filter(str.strip, open(sys.argv[1], encoding="utf-8")))}
for i in ids:
    r = rows[i]
    seen = collections.Counter((x["clock"], x["level"]) for x in r["escalations"])
    for clock in ("first_response", "solution"):
        for level in (80, 100, 150):
            assert seen[(clock, level)] == 1, (i, clock, level, r["escalations"])
    assert r["kind"] == "escalated", r
PY
	ok
	ctl --node "$(addr "$n")" order check --json >"$D/check.$n" 2>&1 ||
		fail "deadlines through $n: $(cat "$D/check.$n")"
	ok
done
ctl audit --json >"$D/audit2.out" 2>&1 || fail "audit: $(cat "$D/audit2.out")"
python3 - "$D/audit2.out" "$D/ids" <<'PY' || fail "escalations in the audit log"
import json, sys, collections
ids = set(open(sys.argv[2]).read().split())
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
c = collections.Counter((r["subject"], r["detail"]) for r in rows
                        if r["action"] == "order_escalate" and r["subject"] in ids)
assert c and max(c.values()) == 1, c.most_common(3)
for i in ids:
    for clock in ("first_response", "solution"):
        for level in (80, 100, 150):
            assert any(s == i and d.startswith("%s %d%% " % (clock, level)) for s, d in c), (i, clock, level)
PY
ok
finished sup
grep -q '"order_notice"' "$D/sup.out" || fail "no notice reached s01"
ok

# ---- the caller calls again: the screen pop carries the open orders ----
actor pop node2 agent <<EOF
$(login_ready a02 agent-secret-1)
expect offer within=20000
EOF
actor gw2 node1 gateway <<EOF
send call_arrived call_id=wo-call-2 ani=$CALLER service=10086
expect ivr_plan call_id=wo-call-2
expect connect_call call_id=wo-call-2 within=20000
EOF
finished pop
python3 - "$D/pop.out" "$D/ids" <<'PY' || fail "screen pop: $(grep '"offer"' "$D/pop.out")"
import json, sys
ids = set(open(sys.argv[2]).read().split())
offer = [m for m in map(json.loads, open(sys.argv[1], encoding="utf-8")) if m["body"] == "offer"][0]
pop = offer.get("open_orders", [])
assert len(pop) == 5, pop                      # the newest five
assert all(o["id"] in ids and o["state"] == "new" for o in pop), pop
assert all(len(o["clocks"]) == 3 and not o.get("history") for o in pop), pop
PY
ok

# ---- handover: every open order of an agent who leaves, to another ----
# open_of AGENT: the ids of AGENT's open orders, one per line, sorted.
open_of() {
	ctl order list --state open --json | python3 -c '
import json, sys
print("\n".join(sorted(o["id"] for o in map(json.loads, sys.stdin) if o["owner"] == sys.argv[1])))' "$1"
}
open_of a01 >"$D/a01.before" || fail "order list"
# --owner: the node's filter gives the same orders as the full list filtered here
ctl order list --state open --owner a01 --json >"$D/own.json" 2>&1 || fail "order list --owner: $(cat "$D/own.json")"
python3 - "$D/own.json" "$D/a01.before" <<'PY' || fail "order list --owner a01: $(cat "$D/own.json")"
import json, sys
got = sorted(json.loads(l)["id"] for l in open(sys.argv[1]) if l.strip())
assert got == open(sys.argv[2]).read().split(), got
PY
[ "$(ctl order list --state open --owner a01 --limit 2 --json | wc -l)" = 2 ] || fail "order list --owner a01 --limit 2"
ctl order list --owner "$(printf 'a\001b')" >"$D/own.bad" 2>&1 && fail "an owner with a control character was listed"
grep -q "not text" "$D/own.bad" || fail "an owner with a control character: $(cat "$D/own.bad")"
[ "$(ctl order list --state open --limit 3 --json | wc -l)" = 3 ] || fail "order list --limit 3"
[ "$(wc -l <"$D/a01.before")" -ge 12 ] || fail "a01 has too few open orders: $(cat "$D/a01.before")"
ctl order handover --from a01 --to a01 --note 离职 >"$D/ho.out" 2>&1 && fail "a handover to the same agent was taken"
ctl order handover --from a01 --to a02 >"$D/ho.out" 2>&1 && fail "a handover without --note was taken"
grep -q -- "--note" "$D/ho.out" || fail "a handover without --note: $(cat "$D/ho.out")"
ctl order handover --from a01 --to a02 --note 离职 --json >"$D/ho.json" 2>&1 ||
	fail "handover: $(cat "$D/ho.json")"
python3 - "$D/ho.json" "$D/a01.before" <<'PY' || fail "handover: $(cat "$D/ho.json")"
import json, sys
r = json.load(open(sys.argv[1]))
want = open(sys.argv[2]).read().split()
assert r["from"] == "a01" and r["to"] == "a02" and r["refused"] == [], r
assert sorted(r["handed"]) == want, (r["handed"], want)
PY
[ -z "$(open_of a01)" ] || fail "a01 still owns open orders: $(open_of a01)"
[ -z "$(ctl order list --state open --owner a01 --json)" ] || fail "order list --owner a01 still lists orders"
open_of a02 >"$D/a02.after"
for id in $(cat "$D/a01.before"); do grep -qx "$id" "$D/a02.after" || fail "$id is not a02's"; done
ok

# Twenty creates sent at once on the leader itself: the leader makes each on
# a snapshot as it arrives, most before the ones before it are written, so
# it numbers each past the ids it gave ahead, and the writer checks that the
# id and the client_ref are still free. Ten references, each sent twice in a
# row (every other one for a01, named as the owner): ten orders with ten
# ids, each pair answered with one order, each with the caller's profile.
{
	echo "send login agent_id=s01 password=agent-secret-1"
	echo "expect login_reply"
	for i in $(seq 1 10); do
		o=; [ $((i % 2)) = 0 ] && o=" owner=a01"
		for k in 1 2; do
			echo "send order_create client_ref=burst-$i msisdn=$CALLER kind=consult category=业务/办理渠道 description=并发新建$i$o"
		done
	done
	for i in $(seq 1 20); do echo "expect order_reply"; done
} >"$D/burst.in"
actor burst "$(leader)" agent <"$D/burst.in"
finished burst
python3 - "$D/burst.out" "$CALLER_UID" >"$D/burst.ids" <<'PY' || fail "twenty creates sent at once: $(grep order_reply "$D/burst.out" | head -n 3)"
import json, sys
got = {}
for m in map(json.loads, open(sys.argv[1], encoding="utf-8")):
    if m.get("body") != "order_reply":
        continue
    o = m["order"]
    got.setdefault(o["client_ref"], set()).add(o["id"])
    assert o["user_id"] == sys.argv[2] and o["city"] == "成都市", o
    assert o["owner"] == ("a01" if int(o["client_ref"].split("-")[1]) % 2 == 0 else "s01"), o
assert sorted(got) == sorted("burst-%d" % i for i in range(1, 11)), got
assert all(len(v) == 1 for v in got.values()), got
ids = [min(v) for v in got.values()]
assert len(set(ids)) == 10, ids
print("\n".join(ids))
PY
for id in $(cat "$D/burst.ids"); do
	ctl order show "$id" --json >"$D/burst.show" 2>&1 || fail "order show $id: $(cat "$D/burst.show")"
	python3 -c 'import json, sys
o = json.load(open(sys.argv[1]))
assert o["state"] == "new" and [h["action"] for h in o["history"]] == ["create"], o' "$D/burst.show" ||
		fail "$id: $(cat "$D/burst.show")"
done
ctl --node "$(addr "$(leader)")" order check --json >"$D/check.burst" 2>&1 ||
	fail "deadlines after the creates at once: $(cat "$D/check.burst")"
ok

# A follower that meets a stored form newer than its build stops within
# seconds and says why (docs/storage.md), and the others go on. Here the
# form is written into its replica beside it with LMDB's own tool; in
# service it would come through the log or a snapshot from a leader that did
# not count this node.
lead=$(leader)
fo=$(for n in node1 node2 node3; do [ "$n" = "$lead" ] || { echo "$n"; break; }; done)
fpid=$(python3 -c 'import json, sys
print([n["pid"] for n in json.load(open(sys.argv[1]))["nodes"] if n["name"] == sys.argv[2]][0])' "$CJ" "$fo")
printf 'store.format\n999\n' | mdb_load -T -s meta "$(data_dir "$fo")" 2>"$D/load.err" ||
	fail "mdb_load: $(cat "$D/load.err")"
wait_for "$fo to stop on stored form 999" 30 sh -c "! kill -0 $fpid"
grep -q 'stored form 999 is newer than this build reads' "$D/$fo/kefud.log" ||
	fail "$fo: no reason logged: $(tail -n 5 "$D/$fo/kefud.log")"
grep -q 'stopping reason="stored form 999"' "$D/$fo/kefud.log" || fail "$fo: no stop logged"
[ "$(leader)" = "$lead" ] || fail "the leader changed when a follower stopped"
ok
done_ok
