#!/bin/sh
# Redis behind Sentinel, as every node sees it: each node reports the Redis
# primary in its status; kill -9 of the primary makes the sentinels promote
# a replica, every node follows to it and runs its failover hook (the moment
# routing re-asserts what it owns). Over plain TCP (harness --redis-plain)
# first, then over TLS (the harness's default) with the nodes' certificates.
. "$(dirname "$0")/lib.inc"

# redis_seen NODE: "PRIMARY UP" as NODE reports them in `status --json`.
redis_seen() {
	status_json "$1" 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin).get("redis")
print("%s %s" % (r["primary"], "up" if r["up"] else "down") if r else "none")'
}
# redis_up_on NODE ADDR: NODE is up on the Redis primary ADDR.
redis_up_on() { [ "$(redis_seen "$1")" = "$2 up" ]; }
# cj_field KEY: a top-level field of cluster.json.
cj_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
cj_primary() {
	python3 -c 'import json,sys; print([r["addr"] for r in json.load(open(sys.argv[1]))["redis"] if r["role"]=="master"][0])' "$1"
}

up 3 --redis-plain
first=$(cj_primary "$CJ")
[ -n "$first" ] || fail "cluster.json names no Redis primary"
[ "$(cj_field "$CJ" redis_tls)" = False ] || fail "redis_tls should be false"
[ -n "$(cj_field "$CJ" redis_password)" ] || fail "Redis runs without a password"
ok
for n in node1 node2 node3; do
	wait_for "$n up on Redis $first" 10 redis_up_on "$n" "$first"
done

old=$("$H" kill-redis-primary --dir "$D") || fail "kill-redis-primary failed"
[ "$old" = "$first" ] || fail "killed $old, but the primary was $first"
ok
new=$("$H" wait-redis-failover --dir "$D") || fail "the sentinels promoted no replica"
[ -n "$new" ] && [ "$new" != "$old" ] || fail "no new primary: '$new' (old $old)"
[ "$(cj_primary "$CJ")" = "$new" ] || fail "cluster.json does not name the new primary $new"
ok
for n in node1 node2 node3; do
	wait_for "$n up on the new Redis primary $new" 20 redis_up_on "$n" "$new"
	grep -q "hot failover from=$old to=$new" "$D/$n/kefud.log" ||
		fail "$n did not run its failover hook"
	ok
done

# The TLS variant, in a folder of its own inside this test's.
"$H" down --dir "$D" >/dev/null 2>&1
T=$D/tls
trap '"$H" down --dir "$T" >/dev/null 2>&1 || true; cleanup' EXIT
"$H" up --nodes 1 --dir "$T" >"$D/up-tls.out" 2>&1 ||
	{ cat "$D/up-tls.out" >&2; fail "the cluster with Redis over TLS did not come up"; }
ok
[ "$(cj_field "$T/cluster.json" redis_tls)" = True ] || fail "cluster.json: redis_tls is not true"
[ "$(cj_field "$T/cluster.json" etcd_tls)" = True ] || fail "cluster.json: etcd_tls is not true"
tp=$(cj_primary "$T/cluster.json")
seen=$(timeout 60 "$KEFUCTL" --cluster "$T/cluster.json" status --json |
	python3 -c 'import json,sys; r=json.load(sys.stdin)["redis"]; print(r["primary"], r["up"])')
[ "$seen" = "$tp True" ] || fail "over TLS the node reports '$seen', want '$tp True'"
ok
grep -q "hot starting .* tls=yes" "$T/node1/kefud.log" || fail "the node did not use TLS for Redis"
ok
done_ok
