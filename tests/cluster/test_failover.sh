#!/bin/sh
# kill -9 the leader under load: a new leader serves; every acknowledged
# write is on every surviving node; the old node rejoins as a follower and
# catches up.
. "$(dirname "$0")/lib.inc"
up 3
old=$(leader)
e1=$(epoch)
# --stamps: each ledger line ends with t=<epoch ms>, to compare with the
# moment the new leader is seen.
ledger c1 9 --stamps
sleep 2
"$H" kill "$old" --dir "$D"
wait_for "a new leader" 15 leader_is_not "$old"
elected_ms=$(date +%s%3N)
ledger_wait c1
grep -q '^ack' "$D/c1.ledger" || fail "no write acknowledged"
new=$(leader)
e2=$(epoch)
# Writes sent after the new leader was elected were acknowledged too.
after=$(awk -v t0="$elected_ms" '
	{ t = $NF; sub(/^t=/, "", t) }
	$1 == "sent" && t + 0 >= t0 { sent[$2] = 1; nsent++ }
	$1 == "ack" && ($2 in sent) { nack++ }
	END { printf "%d %d", nsent, nack }' "$D/c1.ledger")
[ "${after#* }" -gt 0 ] ||
	fail "no write sent after $new was elected was acknowledged (sent ${after% *}, ledger: $(tail -n 3 "$D/c1.ledger" | tr '\n' ' '))"
ok
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
