#!/bin/sh
# kill -9 the leader under load: a new leader serves; every acknowledged
# write is on every surviving node; the old node rejoins as a follower and
# catches up.
. "$(dirname "$0")/lib.inc"
up 3
old=$(leader)
e1=$(epoch)
ledger c1 9
sleep 2
"$H" kill "$old" --dir "$D"
wait_for "a new leader" 15 leader_is_not "$old"
ledger_wait c1
grep -q '^ack' "$D/c1.ledger" || fail "no write acknowledged"
# Writes were acknowledged after the failover too.
new=$(leader)
e2=$(epoch)
[ "$e2" -gt "$e1" ] || fail "epoch did not grow: $e1 -> $e2"
ok
survivors=$(for n in node1 node2 node3; do [ "$n" != "$old" ] && echo "$n"; done)
all_acked_on c1 $survivors
"$H" start "$old" --dir "$D"
wait_for "the old leader back as a follower, caught up" 30 healthy
[ "$(leader)" = "$new" ] || fail "leadership moved when the old node came back"
ok
all_acked_on c1 node1 node2 node3
done_ok
