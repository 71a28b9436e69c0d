#!/bin/sh
# Routing settings from the nodes' configuration, and callback requests
# (docs/routing.md "Configuration" and "Callback requests"), with real etcd
# and Redis. The nodes run with gold's maximum wait cut to 10 s (one ladder
# step) and diamond's IVR plan renamed. With no agent ready:
#   - a diamond caller gets the renamed plan, without a greeting;
#   - a gold caller waits 10 s and is offered a callback; the request is in
#     the callback table of every node (kefuctl callbacks, through each node
#     and offline) with the caller's number, subscriber, tier and queue;
#   - the same call's maximum wait coming again adds nothing;
#   - an ordinary caller's 15-minute wait is untouched meanwhile.
. "$(dirname "$0")/lib.inc"
up 3 --extra 'gold_max_wait = 10s' --extra 'gold_ladder = billing:0s' \
	--extra 'diamond_plan = diamond-line' --extra 'diamond_greeting = false'

"$SIM" boss --out "$D/boss" --users 300 --seed 5 >/dev/null
ctl import "$D"/boss/*_CUST_*_000001.dat "$D"/boss/*_USER_*_000001.dat \
	>"$D/import.out" 2>&1 || fail "import: $(cat "$D/import.out")"
ok
pick() { # VIP_LEVEL: "msisdn user_id" of a subscriber in service at that level
	python3 - "$1" "$D"/boss/*_CUST_*_000001.dat "$D"/boss/*_USER_*_000001.dat <<'PY'
import sys
level, cust, user = int(sys.argv[1]), sys.argv[2], sys.argv[3]
vip = {l.split("|")[1]: int(l.split("|")[8]) for l in open(cust, encoding="utf-8")}
for l in open(user, encoding="utf-8"):
    f = l.rstrip("\n").split("|")
    if vip.get(f[3]) == level and f[6] == "1":
        print(f[2], f[1]); break
PY
}
set -- $(pick 2)
GOLD=$1 GOLD_UID=$2
set -- $(pick 4)
DIAMOND=$1
set -- $(pick 0)
ORDINARY=$1
[ -n "$GOLD" ] && [ -n "$GOLD_UID" ] && [ -n "$DIAMOND" ] && [ -n "$ORDINARY" ] ||
	fail "no gold, diamond or ordinary subscriber in the data"
ok
known_on() { ctl --node "$(addr "$1")" lookup --msisdn "$2"; }
for n in node1 node2 node3; do
	for m in "$GOLD" "$DIAMOND" "$ORDINARY"; do wait_for "$m on $n" 20 known_on "$n" "$m"; done
done

# The diamond plan as configured, on the node the gateway is connected to.
actor gwd node3 gateway <<SCRIPT
send call_arrived call_id=d1 ani=$DIAMOND service=10086
expect ivr_plan call_id=d1 plan=diamond-line tier=4 known=true
SCRIPT
finished gwd
python3 - "$D/gwd.out" <<'PY' || fail "diamond greeted: $(head -n 1 "$D/gwd.out")"
import json, sys
plan = json.loads(open(sys.argv[1], encoding="utf-8").readline())
assert plan["body"] == "ivr_plan" and not plan.get("greeting"), plan
PY
ok

# The gold caller: the callback offer after 10 s, and its request.
actor gwg node2 gateway <<SCRIPT
send call_arrived call_id=g1 ani=$GOLD service=10086
expect ivr_plan call_id=g1 plan=vip-menu tier=2 known=true
send call_arrived call_id=o1 ani=$ORDINARY service=10086
expect ivr_plan call_id=o1 tier=0
expect callback_offered call_id=g1 kind=callback within=30000
none callback_offered 3000
SCRIPT
finished gwg
ok

callbacks_on() { # NODE: the pending requests through NODE, one JSON object a line
	ctl --node "$(addr "$1")" callbacks --json >"$D/cb.$1" 2>&1
}
has_gold() { callbacks_on "$1" && grep -q "\"ani\":\"$GOLD\"" "$D/cb.$1"; }
for n in node1 node2 node3; do
	wait_for "the callback request through $n" 20 has_gold "$n"
	python3 - "$D/cb.$n" "$GOLD" "$GOLD_UID" <<'PY' || fail "callbacks through $n: $(cat "$D/cb.$n")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(rows) == 1, rows  # one request, the gold caller's; none for the others
r = rows[0]
assert r["ani"] == sys.argv[2] and r["user_id"] == sys.argv[3], r
assert r["vip_level"] == 2 and r["skill"] == "billing" and r["status"] == "pending", r
assert r["call_id"] == "g1" and r["service"] == "10086" and r["node"] == "node2", r
PY
	ok
done
"$KEFUCTL" callbacks --db "$(data_dir node1)" --json >"$D/cb.offline" 2>&1 ||
	fail "offline callbacks: $(cat "$D/cb.offline")"
grep -q "\"ani\":\"$GOLD\"" "$D/cb.offline" || fail "offline callbacks: $(cat "$D/cb.offline")"
ok
done_ok
