#!/bin/sh
# Every node serves Prometheus text exposition at its nodes[].metrics URL:
# promtool accepts it, the serving leader says kefu_leader 1 and the others
# 0, Redis and replication are there; another path is a 404, a request
# line over the limit is refused and the node keeps serving.
# Then the live board's families: with calls waiting and agents logged in
# (scripted clients), every node's queue and agent gauges agree with what
# Redis holds; after simulated traffic (kefu-sim, whose BOSS files go in
# through an upload) the routing decisions, offers, routing latency
# histogram and BOSS files by outcome are there, and promtool still accepts
# every node's output.
. "$(dirname "$0")/lib.inc"
command -v promtool >/dev/null || fail "promtool missing (Debian package prometheus)"
up 3
l=$(leader)
[ -n "$l" ] || fail "no leader"

# url NODE: its metrics URL from cluster.json.
url() {
	python3 -c 'import json,sys; print([n["metrics"] for n in json.load(open(sys.argv[1]))["nodes"] if n["name"]==sys.argv[2]][0])' "$CJ" "$1"
}
# get URL FILE: the body into FILE; prints the status (and the content type).
get() {
	python3 - "$1" "$2" <<'PY'
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=10)
    open(sys.argv[2], "wb").write(r.read())
    print(r.status, r.headers.get("Content-Type"))
except urllib.error.HTTPError as e:
    print(e.code)
PY
}
# value FILE NAME: the value of the unlabelled sample NAME.
value() { awk -v n="$2" '$1 == n { print $2 }' "$1"; }

# The leader's lag gauges and Redis come a moment after the cluster is healthy.
redis_up_everywhere() {
	for n in node1 node2 node3; do
		get "$(url "$n")" "$D/m.$n" >/dev/null
		[ "$(value "$D/m.$n" kefu_redis_up)" = 1 ] || return 1
	done
}
wait_for "kefu_redis_up 1 on every node" 30 redis_up_everywhere

for n in node1 node2 node3; do
	st=$(get "$(url "$n")" "$D/m.$n")
	[ "$st" = "200 text/plain; version=0.0.4; charset=utf-8" ] || fail "$n: /metrics answered $st"
	promtool check metrics <"$D/m.$n" >"$D/promtool.$n" 2>&1 ||
		fail "$n: promtool refused the exposition: $(cat "$D/promtool.$n")"
	want=0; [ "$n" = "$l" ] && want=1
	[ "$(value "$D/m.$n" kefu_leader)" = $want ] || fail "$n: kefu_leader is not $want"
	[ "$(value "$D/m.$n" kefu_up)" = 1 ] || fail "$n: kefu_up"
	[ "$(value "$D/m.$n" kefu_etcd_up)" = 1 ] || fail "$n: kefu_etcd_up"
	[ "$(value "$D/m.$n" kefu_epoch)" = "$(epoch)" ] || fail "$n: kefu_epoch"
	[ -n "$(value "$D/m.$n" kefu_replication_applied_index)" ] || fail "$n: applied index"
	# Every node has applied the log through its writer: jobs >= commits > 0,
	# and the time in bodies is part of the writer's busy time.
	awk '$1 == "kefu_writer_jobs_total" { j = $2 } $1 == "kefu_writer_commits_total" { c = $2 }
		$1 == "kefu_writer_busy_seconds_total" { b = $2 } $1 == "kefu_writer_body_seconds_total" { d = $2 }
		END { exit !(c > 0 && j >= c && b > 0 && d >= 0 && d <= b) }' "$D/m.$n" ||
		fail "$n: writer counters: $(grep '^kefu_writer' "$D/m.$n" | tr '\n' ' ')"
	for s in process_cpu_seconds_total process_resident_memory_bytes \
		'kefu_redis_roundtrip_seconds_bucket{le="+Inf"}' kefu_redis_roundtrip_seconds_count; do
		[ -n "$(value "$D/m.$n" "$s")" ] || fail "$n: no $s"
	done
	grep -q "^kefu_build_info{version=\"[^\"]*\",node=\"$n\"} 1$" "$D/m.$n" || fail "$n: kefu_build_info"
	ok
done
# Lag per member on the leader only.
for m in node1 node2 node3; do
	grep -q "^kefu_replication_lag_entries{member=\"$m\"} [0-9]" "$D/m.$l" || fail "no lag of $m on $l"
done
[ "$(grep -c '^kefu_replication_lag_entries' "$D/m.$l")" = 3 ] || fail "lag of other members on $l"
! grep -q '^kefu_replication_lag_entries' "$D/m.$(for n in node1 node2 node3; do [ "$n" != "$l" ] && echo "$n"; done | head -n 1)" ||
	fail "lag on a follower"
ok

u=$(url node1)
base=${u%/metrics}
[ "$(get "$base/other" "$D/other")" = 404 ] || fail "another path is not a 404"
ok
python3 - "$base" <<'PY' >"$D/long" || fail "oversized request line: $(cat "$D/long")"
import socket, sys
host, port = sys.argv[1][len("http://"):].split(":")
s = socket.create_connection((host, int(port)), timeout=10)
try:
    s.sendall(b"GET /" + b"a" * 8192 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
except OSError:
    pass  # the node may close before all of it is sent
got = b""
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        got += b
except OSError:
    pass
print(got.split(b"\r\n")[0].decode())
sys.exit(0 if got.startswith(b"HTTP/1.1 414 ") else 1)
PY
st=$(get "$u" "$D/after")
[ "$st" = "200 text/plain; version=0.0.4; charset=utf-8" ] || fail "node1 stopped serving: $st"
pid=$(python3 -c 'import json,sys; print([n["pid"] for n in json.load(open(sys.argv[1]))["nodes"] if n["name"]=="node1"][0])' "$CJ")
kill -0 "$pid" || fail "node1 died"
ok

# ---- the live board: calls waiting and agents, as Redis holds them ----
RPW=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["redis_password"])' "$CJ")
export TOP D RPW
# board_agrees NODE: NODE's queue, tier and agent gauges are what Redis holds
# now (calls queued per q:<skill>, and per tier once each; agents by state
# and not-ready reason), and its longest waits are within a few seconds of
# the oldest queued arrival.
board_agrees() {
	get "$(url "$1")" "$D/b.$1" >/dev/null || return 1
	REDIS_TLS="$(redis_tls_args)" python3 - "$D/b.$1" <<'PY'
import os, subprocess, sys, time
top, d = os.environ["TOP"], os.environ["D"]
prim = subprocess.run([top + "/tests/cluster/redis.sh", "primary", "--dir", d + "/redis"],
                      capture_output=True, text=True, timeout=10).stdout.strip()
host, port = prim.rsplit(":", 1)
cli = ["redis-cli"] + os.environ["REDIS_TLS"].split() + ["-h", host, "-p", port,
       "--no-auth-warning", "-a", os.environ["RPW"]]
def rc(*a):
    return subprocess.run(cli + list(a), capture_output=True, text=True, timeout=5).stdout.splitlines()
m = {}
for line in open(sys.argv[1]):
    if line.startswith("#"):
        continue
    k, v = line.rsplit(" ", 1)
    m[k] = float(v)
def g(name, label, value):
    return m.get('%s{%s="%s"}' % (name, label, value))
now = time.time()
tiers, seen = {}, set()
for skill in ("vip", "billing", "general"):
    n, oldest = 0, 0
    for cid in rc("ZRANGE", "kefu:test:q:" + skill, "0", "-1"):
        state, tier, arrived = rc("HMGET", "kefu:test:call:" + cid, "state", "tier", "arrived_ms")
        if state != "queued":
            continue
        n += 1
        oldest = int(arrived) if not oldest else min(oldest, int(arrived))
        if cid not in seen:
            seen.add(cid)
            t = tiers.setdefault(tier, [0, 0])
            t[0] += 1
            t[1] = int(arrived) if not t[1] else min(t[1], int(arrived))
    got = g("kefu_queue_waiting_calls", "skill", skill)
    assert got == n, (skill, n, got)
    wait = now - oldest / 1000 if oldest else 0
    assert abs(g("kefu_queue_longest_wait_seconds", "skill", skill) - wait) < 5, (skill, wait)
for tier in "01234":
    n, oldest = tiers.get(tier, [0, 0])
    got = g("kefu_tier_waiting_calls", "tier", tier)
    assert got == n, (tier, n, got)
    wait = now - oldest / 1000 if oldest else 0
    assert abs(g("kefu_tier_longest_wait_seconds", "tier", tier) - wait) < 5, (tier, wait)
states, reasons = {}, {}
for k in rc("--scan", "--pattern", "kefu:test:agent:*"):
    state, reason = rc("HMGET", k, "state", "reason")
    if state in ("", "logged_out"):
        continue
    states[state] = states.get(state, 0) + 1
    if state == "not_ready":
        reasons[reason] = reasons.get(reason, 0) + 1
for state in ("ready", "reserved", "on_call", "wrap_up", "not_ready"):
    got = g("kefu_agents", "state", state)
    assert got == states.get(state, 0), (state, states, got)
prefix = 'kefu_agents_not_ready{reason="'
got = {k[len(prefix):-2]: v for k, v in m.items() if k.startswith(prefix)}
assert got == reasons, (got, reasons)
assert 0 <= m["kefu_board_age_seconds"] < 5, m["kefu_board_age_seconds"]
PY
}

printf 'metrics-secret-1' >"$D/pw"
for a in m01:general:5 m02:vip:5; do
	id=${a%%:*}
	ctl agent add --id "$id" --name "坐席$id" --skills "${a#*:}" --password-file "$D/pw" \
		>"$D/add.$id" 2>&1 || fail "agent add $id: $(cat "$D/add.$id")"
done
has_agents() { "$KEFUCTL" agent list --db "$(data_dir "$1")" --json | grep -q '"m02"'; }
for n in node1 node2 node3; do wait_for "agents on $n" 20 has_agents "$n"; done
# m01 takes general calls but is at lunch; m02 is ready for vip calls only:
# the ordinary calls below stay queued in general.
actor m01 node1 agent <<EOF
send login agent_id=m01 password=metrics-secret-1
expect login_reply agent_id=m01
send set_agent_state state=not_ready reason=lunch
expect agent_status state=not_ready
none offer 90000
EOF
actor m02 node2 agent <<EOF
send login agent_id=m02 password=metrics-secret-1
expect login_reply agent_id=m02
send set_agent_state state=ready
expect agent_status state=ready
none offer 90000
EOF
wait_for "m01 at lunch" 20 said m01 '"state":"not_ready"'
wait_for "m02 ready" 20 said m02 '"state":"ready"'
actor gwm node3 gateway <<EOF
send call_arrived call_id=m1 ani=13700000011 service=10086
expect ivr_plan call_id=m1 tier=0
send call_arrived call_id=m2 ani=13700000012 service=10086
expect ivr_plan call_id=m2 tier=0
send call_arrived call_id=m3 ani=13700000013 service=10086
expect ivr_plan call_id=m3 tier=0
none connect_call 90000
EOF
wait_for "calls placed" 20 said gwm '"call_id":"m3"'
three_queued() {
	get "$(url node1)" "$D/q" >/dev/null &&
		[ "$(value "$D/q" 'kefu_queue_waiting_calls{skill="general"}')" = 3 ]
}
wait_for "3 calls waiting on the board" 20 three_queued
for n in node1 node2 node3; do wait_for "$n's board agrees with Redis" 20 board_agrees "$n"; done
[ "$(value "$D/b.node1" 'kefu_tier_waiting_calls{tier="0"}')" = 3 ] || fail "tier 0 does not wait 3 calls"
[ "$(value "$D/b.node1" 'kefu_agents_not_ready{reason="lunch"}')" = 1 ] || fail "nobody at lunch"
[ "$(value "$D/b.node1" 'kefu_agents{state="ready"}')" = 1 ] || fail "m02 is not ready on the board"
for n in node1 node2 node3; do
	promtool check metrics <"$D/b.$n" >"$D/promtool.$n" 2>&1 ||
		fail "$n: promtool refused the exposition: $(cat "$D/promtool.$n")"
done
ok
# The wallboard reads the same board.
actor wb node2 admin <<EOF
send wallboard
expect wallboard_reply
EOF
finished wb
python3 - "$D/wb.out" <<'PY' || fail "wallboard: $(cat "$D/wb.out")"
import json, sys
w = json.loads(open(sys.argv[1], encoding="utf-8").readline())
skills = {q["name"]: q for q in w["skills"]}
assert skills["general"]["waiting"] == 3 and skills["general"]["not_ready"] == 1, skills
assert {r["reason"]: r["agents"] for r in w["not_ready"]} == {"lunch": 1}, w["not_ready"]
PY
ok
# Away: nobody is offered a call without presence; the calls end after the
# gateway's grace period.
for p in $PID_m01 $PID_m02 $PID_gwm; do kill "$p" 2>/dev/null || true; done

# ---- simulated traffic: decisions, offers, latency, BOSS files ----
"$SIM" boss --out "$D/boss" --users 600 --seed 7 --kinds CUST,USER --no-changes >/dev/null ||
	fail "kefu-sim boss"
# Gold and diamond callers and agents of vip and billing only, so the calls
# above wait on in general, untouched.
timeout 150 "$SIM" --cluster "$CJ" --boss "$D/boss" --agents 4 --rate 2 --duration 10 --seed 3 \
	--unknown 0 --mix 0,0,1,0,1 --skills 'vip:8,billing:8' --handle 1500 --wrap 300 --ring 400 \
	--patience 60000 --no-answer 0 --json >"$D/summary.json" 2>"$D/sim.err" ||
	fail "kefu-sim traffic: $(tail -n 5 "$D/sim.err")"
ok
# The same CUST file once more: skipped.
ctl import "$D"/boss/*_CUST_*.dat >"$D/import.out" 2>&1 || fail "import again: $(cat "$D/import.out")"
ok
# sum NAME: the sum of the samples NAME and NAME{...} of the three nodes.
sum() {
	cat "$D/t.node1" "$D/t.node2" "$D/t.node3" |
		awk -v n="$1" 'index($1, n "{") == 1 || $1 == n { s += $2 } END { printf "%d\n", s }'
}
for n in node1 node2 node3; do
	get "$(url "$n")" "$D/t.$n" >/dev/null
	promtool check metrics <"$D/t.$n" >"$D/promtool.$n" 2>&1 ||
		fail "$n: promtool refused the exposition after traffic: $(cat "$D/promtool.$n")"
	for f in kefu_routing_decisions_total kefu_offers_total kefu_boss_files_total \
		kefu_routing_latency_seconds_count kefu_queue_waiting_calls kefu_tier_waiting_calls \
		kefu_agents kefu_board_age_seconds; do
		grep -q "^$f[{ ]" "$D/t.$n" || fail "$n: no $f"
	done
	# A histogram: its buckets never fall and +Inf is its count.
	awk '/^kefu_routing_latency_seconds_bucket/ { if ($2 < last) exit 1; last = $2 }
		/^kefu_routing_latency_seconds_bucket.*le="\+Inf"/ { inf = $2 }
		/^kefu_routing_latency_seconds_count/ { if ($2 != inf) exit 1 }' "$D/t.$n" ||
		fail "$n: the routing latency histogram is not one"
done
offers=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["offers"])' "$D/summary.json")
[ "$offers" -ge 5 ] || fail "kefu-sim saw only $offers offers: $(cat "$D/summary.json")"
[ "$(sum 'kefu_routing_decisions_total{step="arrive",decision="offer"}')" -ge 1 ] ||
	fail "no arrive decided an offer"
[ "$(sum kefu_routing_decisions_total)" -ge "$offers" ] || fail "fewer decisions than offers"
[ "$(sum kefu_offers_total)" -ge "$offers" ] || fail "offers sent $(sum kefu_offers_total) < $offers"
[ "$(sum kefu_routing_latency_seconds_count)" -ge 1 ] || fail "no routing latency"
l=$(leader)
for s in 'applied",kind="CUST' 'applied",kind="USER' 'skipped",kind="CUST'; do
	grep -q "^kefu_boss_files_total{outcome=\"$s\"} [1-9]" "$D/t.$l" || fail "no $s file on $l"
done
ok
# Settled after the traffic: the board agrees with Redis again.
for n in node1 node2 node3; do wait_for "$n's board agrees with Redis after traffic" 30 board_agrees "$n"; done
done_ok
