#!/bin/sh
# SIGSTOP the leader for longer than its lease, then SIGCONT: a new leader
# serves; the old one acknowledges nothing on its own after its lease ran
# out (writes a client queued on it are forwarded to the new leader, so
# every acknowledged one is in the new leader's log); it rejoins as a
# follower.
. "$(dirname "$0")/lib.inc"
up 3
old=$(leader)
oldaddr=$(addr "$old")
"$H" stop "$old" --dir "$D"
# A client stuck on the paused leader: whatever it sent must not be acknowledged.
ledger stuck 6 --node "$oldaddr"
wait_for "a new leader" 15 leader_is_not "$old"
sleep 1
"$H" cont "$old" --dir "$D"
ledger_wait stuck
grep -q '^sent' "$D/stuck.ledger" || fail "the stuck client sent nothing"
ok
new=$(leader)
if grep -q '^ack' "$D/stuck.ledger"; then
	all_acked_on stuck "$new"
fi
wait_for "the old leader back as a follower" 30 healthy
[ "$(leader)" != "$old" ] || fail "the paused node took leadership back"
ok
grep -q 'leadership ended' "$D/$old/kefud.log" || fail "old leader did not log the end of its leadership"
ok
# And the cluster takes writes through the old node again (forwarded).
ledger after 2 --node "$oldaddr"
ledger_wait after
all_acked_on after node1 node2 node3
done_ok
