#!/bin/sh
# Wipe a follower's data: it rebuilds from a snapshot and the log.
. "$(dirname "$0")/lib.inc"
up 3
ledger c1 3
ledger_wait c1
wait_for "caught up" 15 healthy
l=$(leader)
f=$(for n in node1 node2 node3; do [ "$n" != "$l" ] && echo "$n"; done | tail -n 1)
"$H" kill "$f" --dir "$D"
"$H" wipe "$f" --dir "$D"
ledger c2 2
ledger_wait c2
"$H" start "$f" --dir "$D"
wait_for "the wiped node rebuilt" 30 healthy
grep -q 'snapshot installed' "$D/$f/kefud.log" || fail "no snapshot was installed on $f"
ok
all_acked_on c1 "$f"
all_acked_on c2 "$f"
done_ok
