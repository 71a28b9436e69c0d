#!/bin/sh
# Node identity (docs/security.md): a node speaks for itself only. A Hello
# on the replication link must name the node of the certificate it comes
# with; one follower's certificate cannot follow the leader as another
# node (and so cannot take that node's place in the sync set). The dialing
# side's check (the leader it reaches must hold the leader's own node
# certificate) is tests/unit/test_repl.c's. One 3-node cluster.
. "$(dirname "$0")/../cluster/lib.inc"
up 3
L=$(leader)
[ -n "$L" ] || fail "no leader"
set -- $(for n in node1 node2 node3; do [ "$n" = "$L" ] || echo "$n"; done)
F=$1 G=$2
EPOCH=$(epoch)

# hello_hex NAME: one frame, an Envelope (request_id 1) whose Hello names NAME.
hello_hex() {
	python3 -c '
import sys
n = sys.argv[1].encode()
hello = b"\x0a" + bytes([len(n)]) + n
env = b"\x08\x01\x7a" + bytes([len(hello)]) + hello
print("header:%d,hex:%s" % (len(env), env.hex()))' "$1"
}

# F's certificate says Hello as G: refused, closed, G still follows.
timeout 60 "$SIM" raw --cluster "$CJ" --node "$L" --as "node:$F" --send "$(hello_hex "$G")" \
	--wait 3000 >"$D/impostor.out" 2>"$D/impostor.err" || fail "kefu-sim raw: $(cat "$D/impostor.err")"
grep -q "hello as $G from the certificate of $F" "$D/impostor.out" ||
	fail "a Hello as $G from $F's certificate was not refused: $(cat "$D/impostor.out")"
grep -q '"end":"closed"' "$D/impostor.out" || fail "the impostor's link stayed open"
ok
grep -q "hello refused name=$G cn=$F" "$D/$L/kefud.log" || fail "the leader did not log the refusal"
ok

# A Hello with no name at all, from a node certificate: refused as well.
timeout 60 "$SIM" raw --cluster "$CJ" --node "$L" --as "node:$F" --send env:hello \
	--wait 3000 >"$D/noname.out" 2>&1 || true
grep -q 'hello as nobody' "$D/noname.out" || fail "a nameless Hello was not refused: $(cat "$D/noname.out")"
ok

# The real members are undisturbed: healthy, same leader and epoch, writes still acknowledged.
wait_for "healthy" 30 healthy
[ "$(leader)" = "$L" ] && [ "$(epoch)" = "$EPOCH" ] || fail "leadership moved: $(leader) epoch $(epoch)"
ok
ledger id 3 --rate 50
ledger_wait id
[ "$(acked id | wc -l)" -gt 0 ] || fail "no write acknowledged after the impostor"
sleep 2
all_acked_on id "$F" "$G"
done_ok
