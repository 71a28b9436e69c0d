#!/bin/sh
# kill one etcd member: the cluster keeps working. kill two: the leader
# stops acknowledging writes, and every node's status says why.
. "$(dirname "$0")/lib.inc"
up 3
"$H" kill-etcd etcd1 --dir "$D"
ledger c1 3
ledger_wait c1
grep -q '^ack' "$D/c1.ledger" || fail "no write acknowledged with two etcd members"
ok
"$H" kill-etcd etcd2 --dir "$D"
sleep 4 # past the lease: no quorum, no renewal
l=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nodes"][0]["addr"])' "$CJ")
ledger c2 3 --node "$l"
ledger_wait c2
if grep -q '^ack' "$D/c2.ledger"; then fail "a write was acknowledged without etcd quorum"; fi
ok
grep -q '^fail' "$D/c2.ledger" || fail "writes neither acknowledged nor refused"
ok
# Each node says why in the note of its status (cluster/repl.h,
# REPL_NOTE_NO_QUORUM): the note alone, not the etcd table beside it.
for n in node1 node2 node3; do
	note=$(status_json "$n" 2>"$D/status.err" |
		python3 -c 'import json,sys; print(json.load(sys.stdin).get("note", "(no note)"))') ||
		note="(no status: $(cat "$D/status.err"))"
	case "$note" in
	"writes refused: no etcd quorum"*) ok ;;
	*) fail "status of $n does not say that writes stop for want of etcd quorum: note: $note" ;;
	esac
done
done_ok
