#!/bin/sh
# Certificates rotated one node at a time without an outage (docs/appliance.md,
# "Rotating certificates"): under a ledger of writes, each node's certificate
# is issued again by the cluster CA (`kefuctl certs rotate`), the node is
# stopped as systemctl stop does and started again (the leader last, after a
# switchover): it serves the new certificate, rejoins, and no acknowledged
# write is lost. The previous certificates are then revoked into one list.
. "$(dirname "$0")/lib.inc"
up 3 --no-redis
C=$D/certs
# served NODE: the serial of the certificate NODE's listener presents.
served() {
	echo | timeout 10 openssl s_client -connect "$(addr "$1")" -CAfile "$C/ca.crt" \
		-cert "$C/admin.crt" -key "$C/admin.key" 2>/dev/null |
		openssl x509 -noout -serial 2>/dev/null
}
serial() { openssl x509 -in "$1" -noout -serial; }

ledger c1 40 --rate 150
sleep 2
rotate() { # NODE
	old=$(served "$1")
	[ "$old" = "$(serial "$C/$1.crt")" ] || fail "$1 serves $old, not its certificate"
	ctl certs rotate --dir "$C" --name "$1" >"$D/rot.$1" 2>&1 || fail "rotate $1: $(cat "$D/rot.$1")"
	[ "$(serial "$C/$1.crt")" != "$old" ] || fail "rotate $1 kept the serial"
	restart "$1" 40
	[ "$(served "$1")" = "$(serial "$C/$1.crt")" ] || fail "$1 does not serve its new certificate"
	ok
}
rolling rotate
ledger_wait c1
all_acked_on c1 node1 node2 node3

# The previous certificates, revoked into one list the nodes can load.
for n in node1 node2 node3; do
	ctl certs revoke --dir "$C" --cert "$C/$n.crt.old" >/dev/null 2>&1 || fail "revoke $n.crt.old"
done
[ "$(openssl crl -in "$C/crl.pem" -noout -text | grep -c "Serial Number")" = 3 ] ||
	fail "the list: $(openssl crl -in "$C/crl.pem" -noout -text)"
cat "$C/ca.crt" "$C/crl.pem" >"$D/chain.pem"
for n in node1 node2 node3; do
	openssl verify -crl_check -CAfile "$D/chain.pem" "$C/$n.crt" >/dev/null 2>&1 ||
		fail "$n's new certificate does not verify with the list"
	if openssl verify -crl_check -CAfile "$D/chain.pem" "$C/$n.crt.old" >/dev/null 2>&1; then
		fail "$n's previous certificate still verifies"
	fi
done
ok
done_ok
