#!/bin/sh
# kill one etcd member: the cluster keeps working. kill two: the leader
# stops acknowledging writes and says why.
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
"$KEFUCTL" --cluster "$CJ" status >"$D/status" 2>&1 || true
grep -qi 'lease\|etcd' "$D/status" || fail "status does not say why: $(cat "$D/status")"
ok
done_ok
