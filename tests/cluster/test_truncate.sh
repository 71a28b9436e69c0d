#!/bin/sh
# The leader truncates its log once every member has applied it, keeping at
# most log_retain entries for a member that is away; a member further
# behind than that comes back through a snapshot.
. "$(dirname "$0")/lib.inc"
"$H" up --nodes 3 --dir "$D" --extra 'log_retain = 1000' >"$D/up.out" 2>&1 || { cat "$D/up.out"; fail "no cluster"; }
ok
l=$(leader)
wait_for "one sync standby" 15 one_standby
away=$(for n in node1 node2 node3; do [ "$n" != "$l" ] && [ "$n" != "$STANDBY" ] && echo "$n"; done | head -n 1)
[ -n "$away" ] || fail "no plain follower to stop"
"$H" kill "$away" --dir "$D"
ledger c1 4 --rate 0 --inflight 128
ledger_wait c1
n=$(grep -c '^ack' "$D/c1.ledger")
[ "$n" -gt 4000 ] || fail "too few writes to test truncation: $n"
ok
entries() { "$KEFUCTL" dump --db "$(data_dir "$l")" --table log | wc -l; }
truncated() { [ "$(entries)" -lt $((n / 2)) ]; }
wait_for "the leader's log truncated" 20 truncated
"$H" start "$away" --dir "$D"
wait_for "the member that was away caught up" 30 healthy
grep -q 'snapshot installed' "$D/$away/kefud.log" || fail "$away came back without a snapshot"
ok
all_acked_on c1 node1 node2 node3
done_ok
