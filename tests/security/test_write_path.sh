#!/bin/sh
# The raw Write (docs/security.md): for nodes only, and only to what a node
# writes that way — callback requests, its own audit appends, the ledger's
# probe keys in meta. Everything else changes through its own message
# (accounts, audit listing and sealing, imports). Each refused write is
# checked not to have landed; the ledger's writes through the same message,
# with a node's certificate, keep being acknowledged through every node (a
# follower forwards them, marked, to the leader), before and after a
# follower is killed midway.
. "$(dirname "$0")/../cluster/lib.inc"
up 3
L=$(leader)
[ -n "$L" ] || fail "no leader"
set -- $(for n in node1 node2 node3; do [ "$n" = "$L" ] || echo "$n"; done)
F=$1 G=$2

# write_spec TABLE KIND KEY_HEX VALUE_HEX: a kefu-sim raw --send spec of one
# Envelope (request_id 1) holding a WriteRequest with one op.
write_spec() {
	PYTHONPATH="$TOP/tests/cluster" python3 - "$@" <<'PY'
import sys
from pbwire import ld, spec, vi
table, kind, key, value = int(sys.argv[1]), int(sys.argv[2]), bytes.fromhex(sys.argv[3]), bytes.fromhex(sys.argv[4])
op = vi(1, kind) + vi(2, table) + ld(3, key) + ld(4, value)
print(spec(vi(1, 1) + ld(13, ld(1, ld(1, op)))))
PY
}
# audit_hex NODE: a packed AuditEntry of NODE (time 1000, seq 1); audit_key_of NODE: its key.
audit_hex() {
	PYTHONPATH="$TOP/tests/cluster" python3 - "$1" <<'PY'
import sys
from pbwire import ld, vi
print((vi(1, 1000) + ld(2, sys.argv[1]) + ld(3, "x") + ld(4, "forged") + vi(7, 1)).hex())
PY
}
audit_key_of() { printf '00000000000003e80000000000000001%s' "$(hx "$1")"; }
hx() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

# refused NAME AS SPEC TEXT: the write, sent as AS to the leader, is answered by an error with TEXT.
refused() {
	timeout 60 "$SIM" raw --cluster "$CJ" --node "$L" --as "$2" --send "$3" --wait 3000 \
		>"$D/$1.out" 2>"$D/$1.err" || fail "$1: kefu-sim raw: $(cat "$D/$1.err")"
	grep -q "$4" "$D/$1.out" || fail "$1: not refused with '$4': $(cat "$D/$1.out")"
	grep -q '"body":"write_reply"' "$D/$1.out" && fail "$1: the write was acknowledged"
	ok
}

# An admin certificate may not use a raw Write at all, through the leader or
# a follower, not even for the ledger's keys.
refused admin admin "$(write_spec 20 0 "$(hx rX)" 00)" 'write is not allowed for role kefu-admin'
L_SAVED=$L L=$F
refused admin_via_follower admin "$(write_spec 1 0 "$(hx ledger.x.1)" 00)" \
	'write is not allowed for role kefu-admin'
L=$L_SAVED
# A request a node marks forwarded is never forwarded again: sent to a
# follower, it is answered "not the leader".
fwd_spec=$(PYTHONPATH="$TOP/tests/cluster" python3 - "$(hx ledger.fwd.1)" <<'PY'
import sys
from pbwire import ld, spec, vi
op = vi(1, 0) + vi(2, 1) + ld(3, bytes.fromhex(sys.argv[1])) + ld(4, b"\x00")
print(spec(vi(1, 1) + vi(2, 1) + ld(13, ld(1, ld(1, op)))))
PY
)
L_SAVED=$L L=$F
refused forwarded_twice "node:$G" "$fwd_spec" 'not the leader'
L=$L_SAVED
# A node's certificate: not the accounts table (18) ...
refused agent "node:$F" "$(write_spec 18 0 "$(hx a99)" 0a03613939)" 'table 18 is not written by a raw Write'
# ... nor meta outside the ledger's keys ...
refused meta "node:$F" "$(write_spec 1 0 "$(hx boss.seq)" 00)" 'meta keys other than ledger'
# ... nor an audit entry in another node's name, nor one under a foreign key, nor a deletion.
refused forged "node:$F" "$(write_spec 19 0 "$(audit_key_of "$G")" "$(audit_hex "$G")")" \
	"an audit entry of $G from the certificate of $F"
refused wrongkey "node:$F" "$(write_spec 19 0 "$(audit_key_of "$G")" "$(audit_hex "$F")")" \
	'under a key that is not its own'
refused delete "node:$F" "$(write_spec 19 1 "$(audit_key_of "$F")" 00)" 'never deleted'

# Nothing of it landed anywhere.
for n in node1 node2 node3; do
	"$KEFUCTL" dump --db "$(data_dir "$n")" --table agent >"$D/agents.$n" 2>&1 || true
	! grep -q a99 "$D/agents.$n" || fail "the forged account is on $n"
	"$KEFUCTL" dump --db "$(data_dir "$n")" --table callback >"$D/callback.$n" 2>&1 || true
	! grep -q -E 'r[XY]' "$D/callback.$n" || fail "the admin's callback request is on $n"
	"$KEFUCTL" dump --db "$(data_dir "$n")" --table meta >"$D/meta.$n" 2>&1 || true
	! grep -q -E 'ledger\.(x|fwd)\.' "$D/meta.$n" || fail "a refused ledger key is on $n"
	"$KEFUCTL" dump --db "$(data_dir "$n")" --table audit >"$D/audit.$n" 2>&1 || true
	! grep -q forged "$D/audit.$n" || fail "the forged audit entry is on $n"
done
ok

# The ledger writes through the same message, as a node through every node,
# and is acknowledged before and after a follower dies midway.
ledger w 6 --rate 100
sleep 2
"$H" kill "$G" --dir "$D" >/dev/null 2>&1 || fail "cannot kill $G"
ledger_wait w
sleep 1
all_acked_on w "$L" "$F"
done_ok
