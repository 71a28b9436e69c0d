#!/bin/sh
# kefuctl switchover --to NAME under load moves leadership to NAME without
# losing an acknowledged write; kefuctl failover names a node that may take
# over; admin commands need an admin certificate.
. "$(dirname "$0")/lib.inc"
up 3
l=$(leader)
to=$(for n in node1 node2 node3; do [ "$n" != "$l" ] && echo "$n"; done | head -n 1)
ledger c1 6
sleep 1
ctl switchover --to "$to" >"$D/sw.out" 2>&1 || fail "switchover refused: $(cat "$D/sw.out")"
wait_for "$to leads" 15 leader_is "$to"
ledger_wait c1
all_acked_on c1 "$to"
wait_for "healthy again" 30 healthy
all_acked_on c1 node1 node2 node3

# Operator-forced failover to a named node.
target=$(for n in node1 node2 node3; do [ "$n" != "$to" ] && echo "$n"; done | tail -n 1)
ctl failover --to "$target" >"$D/fo.out" 2>&1 || fail "failover refused: $(cat "$D/fo.out")"
grep -q "may take over" "$D/fo.out" || fail "failover reply: $(cat "$D/fo.out")"
ok
wait_for "$target leads" 15 leader_is "$target"
wait_for "healthy after failover" 30 healthy

# A gateway certificate is not an admin certificate.
c=$D/certs
if "$KEFUCTL" --node "$(addr "$target")" --ca "$c/ca.crt" --cert "$c/gateway.crt" --key "$c/gateway.key" \
	status >"$D/gw.out" 2>&1; then
	fail "status answered a gateway certificate"
fi
grep -q "not allowed for role kefu-gateway" "$D/gw.out" || fail "gateway refusal unclear: $(cat "$D/gw.out")"
ok
done_ok
