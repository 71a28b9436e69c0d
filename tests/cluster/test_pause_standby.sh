#!/bin/sh
# SIGSTOP the sync standby: the leader names the other follower after
# sync_timeout, writes go on, and no write is acknowledged without a durable
# copy on two nodes: kill -9 the leader afterwards and the new standby, now
# leader, holds every acknowledged write.
. "$(dirname "$0")/lib.inc"
up 3
l=$(leader)
wait_for "one sync standby" 15 one_standby
s1=$STANDBY
ledger c1 8
sleep 1
"$H" stop "$s1" --dir "$D"
replaced() { s2=$(standby "$l") && [ -n "$s2" ] && ! in_list "$s1" $s2; }
in_list() { x=$1; shift; for y; do [ "$x" = "$y" ] && return 0; done; return 1; } # NAME LIST...
wait_for "the standby replaced" 15 replaced
ledger_wait c1
n_before=$(grep -c '^ack' "$D/c1.ledger")
[ "$n_before" -gt 0 ] || fail "no write acknowledged"
ok
# Writes were acknowledged while s1 was stopped (after the replacement).
last=$(grep '^ack' "$D/c1.ledger" | tail -n 1 | awk '{print $2}')
first_missing_on_s1=$( (acked c1; present "$s1" c1) | sort | uniq -u | head -n 1)
[ -n "$first_missing_on_s1" ] || fail "no acknowledgment happened while the standby was stopped"
ok
"$H" kill "$l" --dir "$D"
"$H" cont "$s1" --dir "$D"
new_standby_leads() { n=$(leader 2>/dev/null) && [ -n "$n" ] && in_list "$n" $s2; }
wait_for "the new standby leads" 15 new_standby_leads
s2=$(leader)
all_acked_on c1 "$s2"
"$H" start "$l" --dir "$D"
wait_for "all three back" 30 healthy
all_acked_on c1 node1 node2 node3
: "$last"
done_ok
