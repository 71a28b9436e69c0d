#!/bin/sh
# The calls of a gateway that is gone (docs/routing.md, "Gateways that
# reconnect"). With no agent ready, every call stays queued; then:
#   - a gateway on node2 places c1 and c2 and vanishes without a
#     GatewayResume: node2 ends both after the grace period, as abandoned
#     with outcome gateway-lost, and the wallboard counts them;
#   - a gateway on node3 places c3, vanishes, and resumes c3 through node1
#     within the grace period: c3 stays queued, owned by node1, after the
#     grace period of its first connection has passed;
#   - a gateway on node3 places c4, then node3 is killed with it: a surviving
#     node's sweep ends c4 once node3 has been silent for the grace period.
# The grace period is the nodes' gateway_grace, 12 s here (30 s by default):
# long enough for the checks made within it on a loaded machine.
. "$(dirname "$0")/lib.inc"
up 3 --extra 'gateway_grace = 12s'


# hget CALL FIELD: a field of the call's hash on the Redis primary.
RPW=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["redis_password"])' "$CJ")
hget() {
	p=$("$TOP/tests/cluster/redis.sh" primary --dir "$D/redis") || return 1
	# shellcheck disable=SC2046
	timeout 5 redis-cli $(redis_tls_args) -h "${p%:*}" -p "${p##*:}" --no-auth-warning -a "$RPW" \
		HGET "kefu:test:call:gateway:$1" "$2"
}
call_is() { [ "$(hget "$1" state)" = "$2" ]; } # CALL STATE

# ---- c3: placed on node3, resumed on node1 within the grace period ----
actor gw3 node3 gateway <<EOF
send call_arrived call_id=c3 ani=13700000003 service=10086
expect ivr_plan call_id=c3 plan=full-menu tier=0 known=false
EOF
finished gw3
actor gw3b node1 gateway <<EOF
send gateway_resume call_ids=c3
expect admin_reply ok=true
none call_ended 60000
EOF

# ---- c1, c2: placed on node2, never resumed ----
actor gw1 node2 gateway <<EOF
send call_arrived call_id=c1 ani=13700000001 service=10086
expect ivr_plan call_id=c1 tier=0
send call_arrived call_id=c2 ani=13700000002 service=10086
expect ivr_plan call_id=c2 tier=0
EOF
finished gw1

# ---- c4: placed on node3, which then dies with its gateway ----
LEADER=$(leader)
[ "$LEADER" != node3 ] || fail "node3 leads; this test needs it to be a follower"
actor gw4 node3 gateway <<EOF
send call_arrived call_id=c4 ani=13700000004 service=10086
expect ivr_plan call_id=c4 tier=0
none call_ended 120000
EOF
wait_for "c4 queued" 20 call_is c4 queued
"$H" kill node3 --dir "$D" >/dev/null || fail "kill node3"
ok

# Within the grace period nothing ended: gone is not yet lost.
for c in c1 c2 c3 c4; do
	call_is "$c" queued || fail "$c is $(hget "$c" state) right after its gateway left"
	ok
done
[ "$(hget c3 owner)" = node1 ] || fail "c3 is owned by $(hget c3 owner), not node1"
ok

# After the grace period: c1 and c2 are abandoned as gateway-lost by node2.
for c in c1 c2; do
	wait_for "$c ended" 60 call_is "$c" abandoned
	[ "$(hget "$c" outcome)" = gateway-lost ] || fail "$c outcome: $(hget "$c" outcome)"
	ok
done
grep -q 'call ended, gateway lost call=gateway:c1' "$D/node2/kefud.log" ||
	fail "node2 did not log the end of c1"
ok

# c4, whose node is gone too, is ended by the sweep of a node still up.
wait_for "c4 ended by the sweep" 60 call_is c4 abandoned
[ "$(hget c4 outcome)" = gateway-lost ] || fail "c4 outcome: $(hget c4 outcome)"
ok
grep -q 'its node and gateway lost call=gateway:c4' "$D/node1/kefud.log" "$D/node2/kefud.log" ||
	fail "no surviving node logged the sweep's end of c4"
ok

# c3 was resumed: node3's grace for it is long over (c1 left later than c3
# and has ended), yet it is still queued and still node1's.
call_is c3 queued || fail "the resumed c3 is $(hget c3 state) ($(hget c3 outcome))"
ok
[ "$(hget c3 owner)" = node1 ] || fail "c3 is owned by $(hget c3 owner) after the grace period"
ok

# The wallboard: the three lost calls are abandoned, c3 is not.
routing_stats node1
python3 - "$D/stats.out" <<'PY' || fail "routing stats: $(cat "$D/stats.out")"
import json, sys
c = {t["key"]: t for t in json.loads(open(sys.argv[1]).readline())["counters"]}
t0 = c["tier:0"]
assert t0.get("abandoned", 0) == 3, t0
assert c["skill:general"].get("waiting", 0) == 1, c["skill:general"]
assert sum(c["tier:%d" % i].get("abandoned", 0) for i in range(5)) == 3, c
PY
ok

# The resuming gateway never heard its call end.
kill "$PID_gw3b" 2>/dev/null || true
if grep -q '"body":"call_ended"' "$D/gw3b.out"; then fail "c3 ended: $(cat "$D/gw3b.out")"; fi
ok
done_ok
