#!/bin/sh
# Routing through failures, with real etcd and Redis over TLS (the harness's
# default): calls and agents keep going while a node is killed (kill -9;
# its agents and gateways resume on the other nodes) and then while the
# Redis primary is killed (Sentinel fails over; each node re-resolves the
# primary and reasserts what it owns). No call is lost and none is offered
# to two agents at once; after the failover a fresh run of traffic is
# answered, so routing resumed.
. "$(dirname "$0")/lib.inc"
"$H" up --nodes 3 --dir "$D" >"$D/up.out" 2>&1 || { cat "$D/up.out" >&2; fail "cluster did not come up"; }
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["redis_tls"]' "$CJ" || fail "Redis without TLS"
ok
"$SIM" boss --out "$D/boss" --users 300 --seed 9 --kinds CUST,USER --no-changes >/dev/null || fail "kefu-sim boss"
ok

SIM_PID=""
trap '[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null; cleanup' EXIT
# traffic NAME SECONDS [ARGS...]: a simulator run in the background.
traffic() {
	name=$1; secs=$2; shift 2
	timeout $((secs + 90)) "$SIM" --cluster "$CJ" --boss "$D/boss" --agents 6 --duration "$secs" \
		--handle 3000 --wrap 500 --patience 60000 --json "$@" >"$D/$name.json" 2>"$D/$name.err" &
	SIM_PID=$!
}
traffic_wait() { # NAME
	wait "$SIM_PID" || fail "kefu-sim $1: $(tail -n 5 "$D/$1.err")"
	SIM_PID=""
	echo "$1: $(cat "$D/$1.json")"
	ok
}

traffic faults 45 --rate 1.2 --seed 21
sleep 12
"$H" kill node2 --dir "$D" >/dev/null || fail "kill node2"
ok
sleep 10
"$H" kill-redis-primary --dir "$D" >"$D/killed.out" 2>&1 || fail "kill-redis-primary: $(cat "$D/killed.out")"
"$H" wait-redis-failover --dir "$D" >"$D/failover.out" 2>&1 || fail "no Redis failover: $(cat "$D/failover.out")"
ok
traffic_wait faults
python3 - "$D/faults.json" <<'PY' || fail "traffic through the faults: $(cat "$D/faults.json")"
import json, sys
s = json.load(open(sys.argv[1]))
answered = sum(t["answered"] for t in s["tiers"].values())
assert s["reconnects"] >= 1, ("nothing moved off the killed node", s["reconnects"])
assert answered >= 10, ("few calls answered", answered)
assert s["lost_calls"] == 0, ("lost calls", s["lost_calls"])
assert s["double_offers"] == 0, ("double offers", s["double_offers"])
PY
ok

# After the failover, on the two nodes left: calls are answered again.
traffic after 12 --rate 1 --seed 22 --no-import
traffic_wait after
python3 - "$D/after.json" <<'PY' || fail "routing after the Redis failover: $(cat "$D/after.json")"
import json, sys
s = json.load(open(sys.argv[1]))
answered = sum(t["answered"] for t in s["tiers"].values())
assert answered >= 4, ("routing did not resume after the failover", answered)
assert s["lost_calls"] == 0, ("lost calls", s["lost_calls"])
assert s["double_offers"] == 0, ("double offers", s["double_offers"])
PY
ok
done_ok
