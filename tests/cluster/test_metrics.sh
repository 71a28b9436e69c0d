#!/bin/sh
# Every node serves Prometheus text exposition at its nodes[].metrics URL:
# promtool accepts it, the serving leader says kefu_leader 1 and the others
# 0, Redis and replication are there; another path is a 404, a request
# line over the limit is refused and the node keeps serving.
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
done_ok
