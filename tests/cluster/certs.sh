#!/bin/sh
# Makes a per-cluster CA and certificates signed by it (openssl CLI).
#
#   tests/cluster/certs.sh DIR NAME:ROLE[:SAN] ...
#   tests/cluster/certs.sh DIR --revoke NAME ...
#   tests/cluster/certs.sh DIR --crl
#
# Writes DIR/ca.crt and DIR/ca.key (once: an existing CA in DIR is reused),
# then DIR/NAME.crt and DIR/NAME.key for each argument. The certificate's
# subject is CN=NAME, OU=ROLE; ROLE is kefu-node, kefu-admin, kefu-gateway or
# kefu-service.
#   kefu-node     serverAuth and clientAuth; subjectAltName SAN, by default
#                 IP:127.0.0.1,DNS:localhost (give the node's real addresses
#                 outside tests, e.g. n1:kefu-node:IP:10.1.2.3,DNS:n1.example)
#   kefu-admin,   clientAuth only; SAN only when one is given
#   kefu-gateway
#   kefu-service  etcd and Redis servers: serverAuth and clientAuth (etcd
#                 dials its own members and gateway with it), SAN as for
#                 kefu-node. Not a role a node admits: a kefu node treats
#                 it as no certificate at all.
# Keys are EC P-256, unencrypted, mode 0600. Certificates are valid 825 days.
#
# Revocation (`openssl ca` over DIR's CA, its records in DIR/ca.index):
# --revoke NAME ... revokes DIR/NAME.crt of each NAME, then writes
# DIR/crl.pem; --crl writes DIR/crl.pem with what is revoked so far (none:
# an empty list, which a node with crl_file needs all the same: every CA
# must have a CRL). The CRL is valid 30 days; run --crl again before then.
set -eu

usage() {
	echo "usage: $0 DIR NAME:ROLE[:SAN] ... | DIR --revoke NAME ... | DIR --crl" >&2
	exit 2
}
[ $# -ge 2 ] || usage
dir=$1; shift
mkdir -p "$dir"
umask 077
days=825

# crl_run ARGS...: `openssl ca` with DIR's CA and revocation records.
crl_run() {
	[ -f "$dir/ca.crt" ] && [ -f "$dir/ca.key" ] || { echo "$0: no CA in $dir" >&2; exit 1; }
	[ -f "$dir/ca.index" ] || : >"$dir/ca.index"
	[ -f "$dir/ca.crlnumber" ] || echo 1000 >"$dir/ca.crlnumber"
	printf '%s\n' "[ca]" "default_ca = kefu_ca" "[kefu_ca]" "database = $dir/ca.index" \
		"crlnumber = $dir/ca.crlnumber" "certificate = $dir/ca.crt" \
		"private_key = $dir/ca.key" "default_md = sha256" "default_crl_days = 30" \
		>"$dir/ca.cnf"
	openssl ca -batch -config "$dir/ca.cnf" "$@" 2>"$dir/ca.log" || {
		cat "$dir/ca.log" >&2
		exit 1
	}
}

case "$1" in
--revoke | --crl)
	op=$1; shift
	[ "$op" = --crl ] || [ $# -ge 1 ] || usage
	for name in "$@"; do
		[ -f "$dir/$name.crt" ] || { echo "$0: no certificate $dir/$name.crt" >&2; exit 1; }
		crl_run -revoke "$dir/$name.crt"
	done
	crl_run -gencrl -out "$dir/crl.pem"
	chmod 644 "$dir/crl.pem"
	exit 0
	;;
esac

key_new() { # path
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

if [ ! -f "$dir/ca.crt" ] || [ ! -f "$dir/ca.key" ]; then
	key_new "$dir/ca.key"
	openssl req -x509 -new -key "$dir/ca.key" -sha256 -days "$days" \
		-subj "/CN=kefu cluster CA $(basename "$dir")/OU=kefu-ca" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$dir/ca.crt"
fi

for spec in "$@"; do
	name=${spec%%:*}
	rest=${spec#*:}
	[ "$rest" != "$spec" ] && [ -n "$name" ] || usage
	role=${rest%%:*}
	san=
	[ "$role" != "$rest" ] && san=${rest#*:}
	case "$name" in *[!A-Za-z0-9._-]*) echo "$0: bad name: $name" >&2; exit 2 ;; esac
	case "$role" in
	kefu-node | kefu-service) eku=serverAuth,clientAuth; san=${san:-IP:127.0.0.1,DNS:localhost} ;;
	kefu-admin | kefu-gateway) eku=clientAuth ;;
	*) echo "$0: unknown role: $role" >&2; exit 2 ;;
	esac
	ext=$(mktemp)
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature"
		echo "extendedKeyUsage=$eku"
		[ -z "$san" ] || echo "subjectAltName=$san"
	} >"$ext"
	key_new "$dir/$name.key"
	if ! openssl req -new -key "$dir/$name.key" -subj "/CN=$name/OU=$role" |
		openssl x509 -req -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
			-sha256 -days "$days" -extfile "$ext" -out "$dir/$name.crt" 2>/dev/null; then
		rm -f "$ext"
		echo "$0: signing $name failed" >&2
		exit 1
	fi
	rm -f "$ext"
	chmod 644 "$dir/$name.crt"
done
chmod 644 "$dir/ca.crt"
