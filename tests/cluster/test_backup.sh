#!/bin/sh
# Online backup and restore (docs/appliance.md), under a running ledger of
# writes:
#   - kefuctl backup through a follower while the ledger writes: the file's
#     header names the copy's log position, its bytes match their SHA-256;
#   - a damaged backup is refused and restores nothing;
#   - restored onto a wiped node (offline): every write acknowledged before
#     the backup started is there; started again, the node catches up with
#     the log and holds every write the ledger had acknowledged by its end;
#   - restored with --new-cluster as the one node of a second cluster: the
#     writes are there, the node leads the new cluster, and a new ledger's
#     writes are acknowledged on it.
. "$(dirname "$0")/lib.inc"

D2=$(mktemp -d /tmp/kefu-cluster.XXXXXX)
L2_PID=""
cleanup2() {
	[ -z "$L2_PID" ] || kill "$L2_PID" 2>/dev/null || true
	"$H" down --dir "$D2" >/dev/null 2>&1 || true
	[ "${KEEP:-}" = 1 ] && echo "kept $D2" || rm -rf "$D2"
	cleanup
}
trap cleanup2 EXIT

up 3
ledger L1 25
sleep 4
acked L1 >"$D/acked.before"
[ "$(wc -l <"$D/acked.before")" -gt 100 ] || fail "the ledger got too few acknowledgments before the backup"
ctl --node "$(addr node2)" backup --out "$D/b.kefu" --json >"$D/backup.out" 2>&1 ||
	fail "backup: $(cat "$D/backup.out")"
python3 - "$D/b.kefu" <<'PY' || fail "the backup file: $(head -c 300 "$D/b.kefu")"
import hashlib, json, sys
raw = open(sys.argv[1], "rb").read()
head, _, data = raw.partition(b"\n")
assert head.startswith(b"KEFU-BACKUP 1 "), head[:40]
h = json.loads(head[len("KEFU-BACKUP 1 "):])
assert h["node"] == "node2" and h["applied_index"] > 0, h
assert len(data) == h["size"] and hashlib.sha256(data).hexdigest() == h["sha256"], h
PY
ok
# The node keeps no copy once it has been read.
[ -z "$(ls "$D/node2/data.backup" 2>/dev/null)" ] || fail "node2 kept the copy: $(ls "$D/node2/data.backup")"
ok

# ---- a damaged file restores nothing ----
"$H" kill node3 --dir "$D"
"$H" wipe node3 --dir "$D"
python3 - "$D/b.kefu" "$D/bad.kefu" <<'PY'
import sys
raw = bytearray(open(sys.argv[1], "rb").read())
raw[-100] ^= 0xFF
open(sys.argv[2], "wb").write(raw)
PY
if "$KEFUCTL" restore --in "$D/bad.kefu" --db "$(data_dir node3)" >"$D/bad.out" 2>&1; then
	fail "a damaged backup was restored"
fi
grep -q "damaged" "$D/bad.out" || fail "damaged backup: $(cat "$D/bad.out")"
[ -z "$(ls "$(data_dir node3)")" ] || fail "a damaged backup left files in node3's data"
ok

# ---- restore onto the wiped node ----
"$KEFUCTL" restore --in "$D/b.kefu" --db "$(data_dir node3)" >"$D/restore.out" 2>&1 ||
	fail "restore: $(cat "$D/restore.out")"
present node3 L1 >"$D/present.restored"
missing=$(comm -23 "$D/acked.before" "$D/present.restored" | wc -l)
[ "$missing" -eq 0 ] || fail "$missing writes acknowledged before the backup are not in it"
ok
"$H" start node3 --dir "$D" >/dev/null || fail "start node3"
ledger_wait L1
wait_for "node3 caught up" 60 sh -c "[ \"\$(\"$KEFUCTL\" --cluster \"$CJ\" status --json | python3 -c 'import json,sys; m={x[\"name\"]: x for x in json.load(sys.stdin)[\"members\"]}; print(m[\"node3\"][\"applied\"] >= m[\"node1\"][\"applied\"] - 0)')\" = True ]"
"$H" kill node3 --dir "$D"
all_acked_on L1 node3

# ---- a new cluster from the backup ----
"$H" up --nodes 1 --dir "$D2" >"$D2/up.out" 2>&1 || { cat "$D2/up.out" >&2; fail "second cluster"; }
"$H" kill node1 --dir "$D2"
"$KEFUCTL" restore --in "$D/b.kefu" --db "$D2/node1/data" --new-cluster >"$D/new.out" 2>&1 ||
	fail "restore --new-cluster: $(cat "$D/new.out")"
grep -q "first node of a new cluster" "$D/new.out" || fail "restore --new-cluster: $(cat "$D/new.out")"
ok
# A new cluster starts on an empty etcd: its keys of the first life go
# (through etcd's v3 JSON gateway, with the node's client certificate).
ep=$(sed -n 's/^etcd_endpoints = \([^,]*\).*/\1/p' "$D2/node1/kefud.conf")
curl -sS --cacert "$D2/certs/ca.crt" --cert "$D2/certs/node1.crt" --key "$D2/certs/node1.key" \
	-X POST "$ep/v3/kv/deleterange" \
	-d "{\"key\":\"$(printf '/kefu/test/' | base64)\",\"range_end\":\"$(printf '/kefu/test0' | base64)\"}" \
	>"$D/etcd-clear.out" 2>&1 || fail "clearing etcd: $(cat "$D/etcd-clear.out")"
"$H" start node1 --dir "$D2" >/dev/null || fail "start the new cluster's node"
"$KEFUCTL" dump --db "$D2/node1/data" --table meta | grep -o 'ledger\.L1\.[0-9]*' | sort >"$D/present.new"
missing=$(comm -23 "$D/acked.before" "$D/present.new" | wc -l)
[ "$missing" -eq 0 ] || fail "$missing writes acknowledged before the backup are missing in the new cluster"
ok
new_leads() { [ "$("$KEFUCTL" --cluster "$D2/cluster.json" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["leader"])')" = node1 ]; }
wait_for "node1 leads the new cluster" 60 new_leads
timeout 60 "$SIM" ledger --cluster "$D2/cluster.json" --out "$D/L2.ledger" --client L2 --duration 5 \
	--rate 100 >"$D/L2.summary" 2>&1 &
L2_PID=$!
wait "$L2_PID" || fail "ledger on the new cluster: $(cat "$D/L2.summary")"
L2_PID=""
n=$(awk '$1 == "ack"' "$D/L2.ledger" | wc -l)
[ "$n" -gt 100 ] || fail "the new cluster acknowledged $n writes: $(tail -3 "$D/L2.summary") $(tail -5 "$D2/node1/kefud.log")"
ok
done_ok
