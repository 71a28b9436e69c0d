#!/bin/sh
# Two routing paths that span nodes, on one 3-node cluster:
#
#   - ring-progressively widens (docs/routing.md): a call waiting in the
#     general queue rings its first agent by order, then one more every
#     ring_progressive_step (3 s here), seen in the call's `alerted` field
#     in Redis growing r1 -> r1,r2 -> r1,r2,r3; a node other than the
#     call's is killed after the first ring and the ring goes on widening;
#     the last agent rung claims the call (after a moment, so that the
#     last ring is seen) and the others hear it was claimed;
#   - writes forwarded by a follower fail rather than leak when the leader
#     changes (docs/security.md): an agent on a follower asks for the bills
#     of its verified caller 60 times (each one an audit write forwarded to
#     the leader) while leadership moves back and forth between the two
#     other nodes; every request is answered (bills or an error), and the
#     follower's count of steps in flight (RoutingStats.in_flight) comes
#     back to 0.
. "$(dirname "$0")/lib.inc"
up 3 --extra 'general_strategy = ring-progressively' --extra 'ring_progressive_step = 3s'

printf 'agent-secret-1' >"$D/pw"
add_agent() { # ID SKILLS ORDER
	ctl agent add --id "$1" --name "坐席$1" --skills "$2" --order "$3" \
		--password-file "$D/pw" >"$D/add.$1" 2>&1 || fail "agent add $1: $(cat "$D/add.$1")"
}
add_agent r1 general:5 1
add_agent r2 general:5 2
add_agent r3 general:5 3
add_agent f1 vip:5 1
has_agent() { "$KEFUCTL" agent list --db "$(data_dir "$1")" --json | grep -q '"f1"'; }
for n in node1 node2 node3; do wait_for "agents on $n" 20 has_agent "$n"; done

RPW=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["redis_password"])' "$CJ")
hget() { # CALL FIELD: a field of the call's hash on the Redis primary
	p=$("$TOP/tests/cluster/redis.sh" primary --dir "$D/redis") || return 1
	# shellcheck disable=SC2046
	timeout 5 redis-cli $(redis_tls_args) -h "${p%:*}" -p "${p##*:}" --no-auth-warning -a "$RPW" \
		HGET "kefu:test:call:gateway:$1" "$2"
}

# ---- ring-progressively: r1 and r2 on node2, r3 and the gateway on node1 ----
ringer() { # NAME NODE AGENT: logs in, goes ready, waits for the ring of call ring1
	actor "$1" "$2" agent <<EOF
send login agent_id=$3 password=agent-secret-1
expect login_reply agent_id=$3
send set_agent_state state=ready
expect agent_status state=ready
expect offer call_id=gateway:ring1 alert=true within=60000
expect offer_revoked call_id=gateway:ring1 reason=claimed within=60000
EOF
}
ringer ag1 node2 r1
ringer ag2 node2 r2
wait_for "r1 ready" 20 said ag1 '"state":"ready"'
wait_for "r2 ready" 20 said ag2 '"state":"ready"'
actor ag3 node1 agent <<EOF
send login agent_id=r3 password=agent-secret-1
expect login_reply agent_id=r3
send set_agent_state state=ready
expect agent_status state=ready
expect offer call_id=gateway:ring1 alert=true within=60000
sleep 1500
send answer_call call_id=gateway:ring1
expect agent_status state=on_call within=20000
EOF
wait_for "r3 ready" 20 said ag3 '"state":"ready"'
actor gw node1 gateway <<EOF
send call_arrived call_id=ring1 ani=13700000042 service=10086
expect ivr_plan call_id=ring1 tier=0
expect connect_call call_id=ring1 agent_id=r3 within=60000
EOF
# The ring as Redis holds it, polled: every distinct value, in order.
: >"$D/alerted"
watch_ring() {
	last=
	while :; do
		v=$(hget ring1 alerted 2>/dev/null) || v=
		if [ -n "$v" ] && [ "$v" != "$last" ]; then echo "$v" >>"$D/alerted"; last=$v; fi
		sleep 0.2
	done
}
watch_ring &
WATCH=$!
wait_for "the first ring" 20 grep -q . "$D/alerted"
# A node that holds neither the call nor a ringing agent dies midway.
"$H" kill node3 --dir "$D" >/dev/null 2>&1 || fail "cannot kill node3"
wait_for "the ring widened to r3" 60 grep -qx 'r1,r2,r3' "$D/alerted"
kill "$WATCH"
wait "$WATCH" 2>/dev/null || true
python3 - "$D/alerted" <<'EOF' || fail "the ring did not widen one agent at a time: $(cat "$D/alerted")"
import sys
seen = [l.strip() for l in open(sys.argv[1]) if l.strip()]
assert seen == ["r1", "r1,r2", "r1,r2,r3"], seen
EOF
ok
finished ag3
finished gw
finished ag1
finished ag2
"$H" start node3 --dir "$D" >/dev/null || fail "cannot start node3"
wait_for "node3 back" 60 healthy

# ---- forwarded writes across leader changes ----
"$SIM" boss --out "$D/boss" --users 60 --seed 5 --start "$(date +%Y%m%d%H%M%S)" >/dev/null
ctl import "$D"/boss/*_CUST_*_000001.dat "$D"/boss/*_USER_*_000001.dat \
	"$D"/boss/*_BILL_*_000001.dat >"$D/import.out" 2>&1 || fail "import: $(cat "$D/import.out")"
DIAMOND=$(python3 - "$D"/boss/*_CUST_*_000001.dat "$D"/boss/*_USER_*_000001.dat <<'EOF'
import sys
cust, user = sys.argv[1:]
vip = {l.split("|")[1]: int(l.split("|")[8]) for l in open(cust, encoding="utf-8")}
for l in open(user, encoding="utf-8"):
    f = l.rstrip("\n").split("|")
    if vip.get(f[3]) == 4 and f[6] == "1":
        print(f[2]); break
EOF
)
[ -n "$DIAMOND" ] || fail "no active diamond subscriber in the data"
known_on() { ctl --node "$(addr "$1")" lookup --msisdn "$DIAMOND" >/dev/null 2>&1; }
for n in node1 node2 node3; do wait_for "$DIAMOND on $n" 20 known_on "$n"; done
L=$(leader)
set -- $(for n in node1 node2 node3; do [ "$n" = "$L" ] || echo "$n"; done)
F=$1 O=$2 # the agent's follower, and the other one leadership moves to and back
{
	echo "send login agent_id=f1 password=agent-secret-1"
	echo "expect login_reply agent_id=f1"
	echo "send set_agent_state state=ready"
	echo "expect agent_status state=ready"
	echo "expect offer call_id=gateway:fw1 verified=true within=30000"
	echo "send answer_call call_id=gateway:fw1"
	echo "expect agent_status state=on_call"
	i=0
	while [ $i -lt 60 ]; do
		echo "send bills_request call_id=gateway:fw1 months=1"
		echo "expect bills_reply|error within=40000"
		echo "sleep 250"
		i=$((i + 1))
	done
} >"$D/fw.in"
actor fw "$F" agent <"$D/fw.in"
wait_for "f1 ready" 20 said fw '"state":"ready"'
actor gwf "$O" gateway <<EOF
send call_arrived call_id=fw1 ani=$DIAMOND service=10086
expect connect_call call_id=fw1 agent_id=f1 within=30000
EOF
finished gwf
for to in "$O" "$L" "$O" "$L"; do
	ctl switchover --to "$to" >"$D/sw.out" 2>&1 || fail "switchover to $to: $(cat "$D/sw.out")"
	wait_for "$to leads" 30 leader_is "$to"
	sleep 1
done
finished fw
replies=$(grep -c '"body":"bills_reply"' "$D/fw.out")
[ "$replies" -gt 0 ] || fail "no bills shown at all: $(tail -n 5 "$D/fw.out")"
in_flight_zero() {
	routing_stats "$F"
	python3 -c 'import json,sys; sys.exit(json.loads(open(sys.argv[1]).readline()).get("in_flight", 0) != 0)' \
		"$D/stats.out"
}
wait_for "nothing in flight on $F" 20 in_flight_zero
echo "bills requests answered with bills: $replies of 60, in flight on $F back to 0"
ok
done_ok
