#!/bin/sh
# kefu-firstboot renders a node's configuration from the province's, and
# the services take it: three nodes of a copy of SC.conf on 127.0.0.1-3
# (one found by the machine's own address, one by --address, one by
# --name); kefud --check passes on each kefud.conf, nft -c on the ruleset;
# each sipgw.env names its node's SIP address and its own node first;
# Redis runs the rendered redis.conf (TLS only, client certificates
# required, ACL users: the replica user cannot write), Sentinel its
# sentinel.conf (password, the first node as primary), and the three etcd
# members form a cluster from their etcd.env with client-certificate auth
# (the rendered ports moved to free ones).
set -eu
cd "$(dirname "$0")/../.."
BIN=${KEFU_BIN:-build/san/bin}
d=$(mktemp -d /tmp/kefu-fb.XXXXXX)
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
	rm -rf "$d"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$d"/*.log; do [ -f "$f" ] && tail -n 5 "$f"; done; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # seconds command...
	n=$(($1 * 10)); shift
	while ! "$@" >/dev/null 2>&1; do n=$((n - 1)); [ $n -gt 0 ] || return 1; sleep 0.1; done
}

"$BIN/kefuctl" certs init --province SC --nodes sc-cd-1=127.0.0.1,sc-cd-2=127.0.0.2,sc-cd-3=127.0.0.3 \
	--out "$d/ca" >/dev/null
sed 's/10\.20\.0\.1\([123]\)/127.0.0.\1/g' appliance/provinces/SC.conf >"$d/province.conf"
head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' | sed 's/^/kefu-/' >"$d/redis.password"

setup() { # node index
	n=$d/n$2; mkdir -p "$n/etc" "$n/var" "$n/cred"
	cp "$d/ca/ca.crt" "$n/etc/"; cp "$d/ca/$1.crt" "$n/etc/node.crt"
	cp "$d/ca/$1.key" "$n/etc/node.key"; cp "$d/redis.password" "$n/etc/"
	chmod 600 "$n/etc/node.key" "$n/etc/redis.password"
	for u in kefud kefu-etcd kefu-redis kefu-sentinel; do
		mkdir -p "$n/cred/$u.service"; cp "$n/etc/node.key" "$n/cred/$u.service/node.key"
	done
	cp "$d/redis.password" "$n/cred/kefud.service/redis.password"
	mkdir -p "$n/var/kefu-etcd" "$n/var/kefu-redis" "$n/var/kefu-sentinel"
}
firstboot() { # node index, identity options...
	i=$1; shift
	sh appliance/firstboot/kefu-firstboot --province "$d/province.conf" --etc "$d/n$i/etc" \
		--var "$d/n$i/var" --credentials "$d/n$i/cred" --templates appliance/templates \
		--nft-template appliance/nftables/kefu.nft.in --nft-render appliance/nftables/render.sh \
		--no-nft "$@"
}
for i in 1 2 3; do setup sc-cd-$i $i; done
firstboot 1 >"$d/fb1.out" || fail "firstboot by the machine's address: $(cat "$d/fb1.out")"
firstboot 2 --address 127.0.0.2 >"$d/fb2.out" || fail "firstboot --address"
firstboot 3 --name sc-cd-3 >"$d/fb3.out" || fail "firstboot --name"
grep -q "node sc-cd-1 address 127.0.0.1" "$d/fb1.out" || fail "node 1 not found by its address: $(cat "$d/fb1.out")"
firstboot 2 --address 127.0.0.2 | grep -q "done before" || fail "a second run writes again"
if firstboot 2 --force --name nobody 2>"$d/err"; then fail "an unknown node passed"; fi
grep -q "none of the nodes" "$d/err" || fail "no reason: $(cat "$d/err")"

for i in 1 2 3; do
	e=$d/n$i/etc
	grep -q "^node_name *= sc-cd-$i\$" "$e/kefud.conf" || fail "n$i node_name"
	grep -q "^listen_addr *= 127.0.0.$i:7400\$" "$e/kefud.conf" || fail "n$i listen_addr"
	grep -q "^tls_key *= $d/n$i/cred/kefud.service/node.key\$" "$e/kefud.conf" || fail "n$i tls_key"
	"$BIN/kefud" --config "$e/kefud.conf" --check >/dev/null || fail "n$i kefud.conf fails --check"
	nft -c -f "$e/kefu.nft" || fail "n$i ruleset"
	grep -q "elements = { 127.0.0.1, 127.0.0.2, 127.0.0.3 }" "$e/kefu.nft" || fail "n$i ruleset nodes"
	grep -q "agents.*10.30.0.0/16" "$e/kefu.nft" || fail "n$i agents"
	[ "$(stat -c %a "$e/redis.conf")" = 600 ] || fail "redis.conf is not 0600"
	grep -q '@[A-Z_]*@' "$e/redis.conf" "$e/sentinel.conf" "$e/etcd.env" "$e/sipgw.env" &&
		fail "placeholders left"
	grep -q "^SIPGW_SIP=127.0.0.$i:5070\$" "$e/sipgw.env" || fail "n$i sipgw.env SIP address"
	grep -q "^interface = 127.0.0.$i\$" "$e/rtpengine.conf" || fail "n$i rtpengine.conf interface"
	grep -q '@[A-Z_]*@' "$e/rtpengine.conf" && fail "placeholders left in rtpengine.conf"
done
# kefu-sipgw's node first, then the others.
grep -q '^SIPGW_NODES=127.0.0.2:7400,127.0.0.1:7400,127.0.0.3:7400$' "$d/n2/etc/sipgw.env" ||
	fail "sipgw.env nodes: $(grep NODES "$d/n2/etc/sipgw.env")"
grep -q '^replicaof' "$d/n1/etc/redis.conf" && fail "the first node is a replica"
grep -q '^replicaof 127.0.0.1 6379$' "$d/n2/etc/redis.conf" || fail "node 2 replicates no primary"
grep -q '^ETCD_INITIAL_CLUSTER=sc-cd-1=https://127.0.0.1:2380,sc-cd-2=https://127.0.0.2:2380,sc-cd-3=https://127.0.0.3:2380$' \
	"$d/n2/etc/etcd.env" || fail "etcd members"

# Redis with node 1's redis.conf (its port moved to a free one).
pw=$(cat "$d/redis.password")
rp=$(free_port)
redis-server "$d/n1/etc/redis.conf" --tls-port "$rp" --bind 127.0.0.1 >"$d/redis.log" 2>&1 &
pids="$pids $!"
rc() { redis-cli --tls --cacert "$d/ca/ca.crt" --cert "$d/ca/sc-cd-2.crt" --key "$d/ca/sc-cd-2.key" \
	-h 127.0.0.1 -p "$rp" "$@"; }
wait_for 10 rc PING || fail "redis-server does not take its configuration: $(tail -5 "$d/redis.log")"
[ "$(REDISCLI_AUTH=$pw rc ACL WHOAMI)" = default ] || fail "the password is not the default user's"
REDISCLI_AUTH=$pw rc SET k v 2>&1 | grep -q NOREPLICAS || fail "min-replicas-to-write is not on"
rc SET k v 2>&1 | grep -q NOAUTH || fail "a write without the password: $(rc SET k v 2>&1)"
rep=$(sed -n 's/^masterauth //p' "$d/n1/etc/redis.conf")
rc --user replica --pass "$rep" GET k 2>&1 | grep -q NOPERM || fail "the replica user may read keys"
REDISCLI_AUTH=$pw rc ACL USERS | tr '\n' ' ' | grep -q "default replica sentinel" || fail "ACL users"
REDISCLI_AUTH=$pw redis-cli -h 127.0.0.1 -p "$rp" PING >/dev/null 2>&1 && fail "plain TCP answers"
REDISCLI_AUTH=$pw redis-cli --tls --cacert "$d/ca/ca.crt" -h 127.0.0.1 -p "$rp" PING 2>&1 | grep -q PONG &&
	fail "a client without a certificate is served"

# Sentinel with node 2's sentinel.conf, in its data folder as the unit does.
sp=$(free_port)
cp "$d/n2/etc/sentinel.conf" "$d/n2/var/kefu-sentinel/sentinel.conf"
redis-sentinel "$d/n2/var/kefu-sentinel/sentinel.conf" --tls-port "$sp" --bind 127.0.0.1 >"$d/sentinel.log" 2>&1 &
pids="$pids $!"
sc() { redis-cli --tls --cacert "$d/ca/ca.crt" --cert "$d/ca/sc-cd-1.crt" --key "$d/ca/sc-cd-1.key" \
	-h 127.0.0.1 -p "$sp" "$@"; }
wait_for 10 sc PING || fail "redis-sentinel does not take its configuration"
REDISCLI_AUTH=$pw sc SENTINEL get-master-addr-by-name kefu | tr '\n' ' ' | grep -q "^127.0.0.1 6379 $" ||
	fail "sentinel watches $(REDISCLI_AUTH=$pw sc SENTINEL get-master-addr-by-name kefu)"
sc SENTINEL masters 2>&1 | grep -q NOAUTH || fail "sentinel answers without the password"

# etcd: the three members from their etcd.env, ports moved to free ones.
ports=""
for i in 1 2 3; do ports="$ports $(free_port) $(free_port)"; done
set -- $ports
c1=$1 p1=$2 c2=$3 p2=$4 c3=$5 p3=$6
move() { sed -e "s/127.0.0.1:2379/127.0.0.1:$c1/g; s/127.0.0.1:2380/127.0.0.1:$p1/g" \
	-e "s/127.0.0.2:2379/127.0.0.2:$c2/g; s/127.0.0.2:2380/127.0.0.2:$p2/g" \
	-e "s/127.0.0.3:2379/127.0.0.3:$c3/g; s/127.0.0.3:2380/127.0.0.3:$p3/g" "$1"; }
for i in 1 2 3; do
	move "$d/n$i/etc/etcd.env" >"$d/n$i/etcd.env"
	mkdir -p "$d/n$i/var/kefu-etcd"; chmod 700 "$d/n$i/var/kefu-etcd"
	(set -a; . "$d/n$i/etcd.env"; set +a; exec etcd) >"$d/etcd$i.log" 2>&1 &
	pids="$pids $!"
done
health() {
	curl -sf --cacert "$d/ca/ca.crt" --cert "$d/ca/admin.crt" --key "$d/ca/admin.key" \
		"https://127.0.0.2:$c2/health" | grep -q '"health":"true"'
}
wait_for 30 health || fail "etcd does not form from the rendered etcd.env: $(tail -3 "$d/etcd2.log")"
curl -s --cacert "$d/ca/ca.crt" "https://127.0.0.2:$c2/health" >/dev/null 2>&1 &&
	fail "etcd answers a client without a certificate"
curl -sf --cacert "$d/ca/ca.crt" --cert "$d/ca/admin.crt" --key "$d/ca/admin.key" \
	-X POST -d '{}' "https://127.0.0.1:$c1/v3/cluster/member/list" | python3 -c '
import json, sys
m = json.load(sys.stdin)["members"]
assert sorted(x["name"] for x in m) == ["sc-cd-1", "sc-cd-2", "sc-cd-3"], m' || fail "etcd members"
echo "ok: firstboot rendered 3 nodes; kefud --check, nft -c, Redis TLS+ACL, Sentinel and a 3-member etcd took them"
