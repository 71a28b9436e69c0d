#!/bin/sh
# Three appliance nodes in three network namespaces joined by veth to a
# bridge, and an outside namespace on the same network (an agent, gateway
# and admin address, but no node):
#   - each node is set up by kefu-firstboot from a copy of SC.conf on
#     10.77.0.1-3 (found by its address), with the certificates of kefuctl
#     certs init, and loads the rendered nftables rules;
#   - each runs etcd, Redis, Sentinel and kefud from the rendered
#     configuration: TLS everywhere, etcd with client-certificate auth;
#   - the cluster forms (a leader, 3 members, a sync standby, Redis up);
#   - kefu-sim traffic from the outside namespace is served: calls answered,
#     lost_calls 0, double_offers 0;
#   - the ports the rules keep for the nodes (Redis, etcd) are closed to the
#     outside namespace and open between nodes.
# The programs come from the image's root filesystem (chroot) when
# build/appliance/SC/rootfs.tar exists (make appliance), otherwise from
# KEFU_BIN (build/san/bin) with the host's etcd and Redis; the output says
# which. Without network namespaces (not root, no `ip netns`), exits 77:
# tests/run.sh reports SKIP with the reason.
set -eu
cd "$(dirname "$0")/../.."
TOP=$(pwd)
BIN=${KEFU_BIN:-$TOP/build/san/bin}
ROOTFS=${KEFU_ROOTFS:-$TOP/build/appliance/SC/rootfs.tar}
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "network namespaces need root"
command -v ip >/dev/null || skip "no ip (iproute2)"
command -v nft >/dev/null || skip "no nft (nftables)"
tag=kf$$
ip netns add "$tag-probe" 2>/dev/null || skip "this machine cannot make network namespaces (ip netns add failed)"
ip netns del "$tag-probe"

d=$(mktemp -d /tmp/kefu-netns.XXXXXX)
pids= mounts= spaces=
cleanup() {
	set +e
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do
		i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$p" 2>/dev/null
	done
	for m in $mounts; do umount -l "$m" 2>/dev/null; done
	for s in $spaces; do ip netns del "$s" 2>/dev/null; done
	rm -rf "$d"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	for f in "$d"/logs/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 8 "$f"; }; done
	exit 1
}
wait_for() { # seconds command...
	n=$(($1 * 5)); shift
	while ! "$@" >/dev/null 2>&1; do n=$((n - 1)); [ $n -gt 0 ] || return 1; sleep 0.2; done
}
mkdir -p "$d/logs"

if [ -f "$ROOTFS" ]; then mode=image; else mode=host; fi
if [ $mode = image ]; then
	echo "nodes run from the image: $ROOTFS (chroot)"
else
	echo "nodes run from $BIN and the host's etcd and Redis ($ROOTFS does not exist; make appliance)"
fi

# The network: a bridge in its own namespace, a veth to each node and to
# the outside namespace.
sw=$tag-sw
ip netns add "$sw"; spaces="$sw"
ip -n "$sw" link add br0 type bridge
ip -n "$sw" link set br0 up
for i in 1 2 3 9; do
	ns=$tag-$i; ip netns add "$ns"; spaces="$spaces $ns"
	ip link add "${tag}a$i" netns "$ns" type veth peer name "p$i" netns "$sw"
	ip -n "$ns" link set "${tag}a$i" name eth0
	ip -n "$ns" addr add "10.77.0.$i/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
	ip -n "$sw" link set "p$i" master br0 up
done

# The province: SC.conf on 10.77.0.1-3; agents, gateways and admins the
# whole network, monitoring the outside namespace.
sed -e 's/10\.20\.0\.1\([123]\)/10.77.0.\1/g' -e 's|10\.30\.0\.0/16|10.77.0.0/24|' \
	-e 's|10\.40\.0\.0/24|10.77.0.0/24|' -e 's|10\.50\.0\.0/24|10.77.0.0/24|' \
	-e 's|10\.50\.0\.10$|10.77.0.9|' appliance/provinces/SC.conf >"$d/province.conf"
echo "test_password_iterations = 1000" >>"$d/province.conf"
"$BIN/kefuctl" certs init --province SC --nodes sc-cd-1=10.77.0.1,sc-cd-2=10.77.0.2,sc-cd-3=10.77.0.3 \
	--out "$d/ca" >/dev/null
od -An -N12 -tx1 /dev/urandom | tr -d ' \n' | sed 's/^/kefu-/' >"$d/redis.password"

# Each node's root: the image unpacked (paths as on a node), or a folder
# whose etc/kefu, var/lib and run/credentials stand for the node's.
for i in 1 2 3; do
	r=$d/r$i; mkdir -p "$r"
	if [ $mode = image ]; then
		tar -C "$r" -xf "$ROOTFS"
		mount -t proc proc "$r/proc"; mounts="$r/proc $mounts"
		mount --bind /dev "$r/dev"; mounts="$r/dev $mounts"
		X=
	else
		mkdir -p "$r/etc/kefu" "$r/var/lib/kefu" "$r/var/lib/kefu-etcd" "$r/var/lib/kefu-redis" \
			"$r/var/lib/kefu-sentinel"
		sed -i '/^user *=/d' "$d/province.conf"
		X=$r
	fi
	e=$r/etc/kefu
	cp "$d/province.conf" "$e/province.conf"
	cp "$d/ca/ca.crt" "$e/ca.crt"; cp "$d/ca/sc-cd-$i.crt" "$e/node.crt"
	cp "$d/ca/sc-cd-$i.key" "$e/node.key"; cp "$d/redis.password" "$e/redis.password"
	chmod 600 "$e/node.key" "$e/redis.password"
	# What systemd's LoadCredential= would give each service.
	for u in kefud kefu-etcd kefu-redis kefu-sentinel; do
		c=$r/run/credentials/$u.service; mkdir -p "$c"; cp "$e/node.key" "$c/node.key"
	done
	cp "$e/redis.password" "$r/run/credentials/kefud.service/redis.password"
	if [ $mode = image ]; then
		chroot "$r" chown -R kefu:kefu /run/credentials/kefud.service
		chmod 700 "$r/var/lib/kefu-etcd"
	fi
done

# run NODE NAME COMMAND...: in the node's namespace (and root), in the background.
run() {
	i=$1 name=$2; shift 2
	if [ $mode = image ]; then
		ip netns exec "$tag-$i" chroot "$d/r$i" "$@" >>"$d/logs/$name$i.log" 2>&1 &
	else
		ip netns exec "$tag-$i" "$@" >>"$d/logs/$name$i.log" 2>&1 &
	fi
	pids="$pids $!"
	eval "pid_$name$i=$!"
}
# on NODE COMMAND...: in the node's namespace (and root), in the foreground.
on() {
	i=$1; shift
	if [ $mode = image ]; then ip netns exec "$tag-$i" chroot "$d/r$i" "$@"
	else ip netns exec "$tag-$i" "$@"; fi
}

# firstboot NODE [OPTION...]: kefu-firstboot in the node's namespace and root,
# then its ruleset loaded.
firstboot() {
	i=$1; shift
	r=$d/r$i
	if [ $mode = image ]; then
		on $i /usr/sbin/kefu-firstboot --no-nft "$@" >>"$d/logs/firstboot$i.log" 2>&1 ||
			fail "firstboot of node $i"
		on $i nft -f /etc/kefu/kefu.nft || fail "node $i: the ruleset does not load"
	else
		on $i sh appliance/firstboot/kefu-firstboot --etc "$r/etc/kefu" --var "$r/var/lib" \
			--credentials "$r/run/credentials" --templates appliance/templates \
			--nft-template appliance/nftables/kefu.nft.in --nft-render appliance/nftables/render.sh \
			--no-nft "$@" >>"$d/logs/firstboot$i.log" 2>&1 || fail "firstboot of node $i"
		on $i nft -f "$r/etc/kefu/kefu.nft" || fail "node $i: the ruleset does not load"
	fi
	grep -q "node sc-cd-$i address 10.77.0.$i" "$d/logs/firstboot$i.log" ||
		fail "node $i did not find itself by its address: $(cat "$d/logs/firstboot$i.log")"
}
# services NODE: etcd, Redis and Sentinel of the node, as their units start them.
services() {
	i=$1 r=$d/r$1; X=; [ $mode = image ] || X=$r
	run $i etcd sh -c "set -a; . $X/etc/kefu/etcd.env; set +a; exec etcd"
	run $i redis redis-server "$X/etc/kefu/redis.conf" --daemonize no --dir "$X/var/lib/kefu-redis"
	cp "$r/etc/kefu/sentinel.conf" "$r/var/lib/kefu-sentinel/sentinel.conf"
	run $i sentinel redis-sentinel "$X/var/lib/kefu-sentinel/sentinel.conf" --daemonize no
}
node_kefud() { # NODE
	i=$1; X=; [ $mode = image ] || X=$d/r$1
	if [ $mode = image ]; then run $i kefud /usr/sbin/kefud --config /etc/kefu/kefud.conf
	else run $i kefud "$BIN/kefud" --config "$X/etc/kefu/kefud.conf"; fi
}

for i in 1 2 3; do firstboot $i; done
for i in 1 2 3; do services $i; done
for i in 1 2 3; do node_kefud $i; done

python3 - "$d" >"$d/cluster.json" <<'PY'
import json, sys
d = sys.argv[1]
print(json.dumps({
    "nodes": [{"name": "sc-cd-%d" % i, "addr": "10.77.0.%d:7400" % i} for i in (1, 2, 3)],
    "ca": d + "/ca/ca.crt", "admin_cert": d + "/ca/admin.crt", "admin_key": d + "/ca/admin.key",
    "gateway_cert": d + "/ca/gateway.crt", "gateway_key": d + "/ca/gateway.key"}))
PY
out() { ip netns exec "$tag-9" "$@"; }
healthy() {
	out timeout 20 "$BIN/kefuctl" --cluster "$d/cluster.json" status --json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
m = s.get("members", [])
ok = bool(s.get("leader")) and len(m) == 3 and \
    all(x["role"] in ("leader", "standby", "follower") and x["lag"] == 0 for x in m) and \
    any(x["sync"] for x in m) and s.get("redis", {}).get("up") is True
sys.exit(0 if ok else 1)'
}
wait_for 90 healthy || fail "the cluster does not form: $(out "$BIN/kefuctl" --cluster "$d/cluster.json" status 2>&1)"
echo "cluster formed over 10.77.0.1-3 with TLS and the rules loaded"

# The rules: Redis and etcd are the nodes' alone.
tcp_open() { # namespace address port
	ip netns exec "$1" timeout 3 python3 -c 'import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)' "$2" "$3"
}
tcp_open "$tag-2" 10.77.0.1 6379 || fail "node 2 cannot reach node 1's Redis"
tcp_open "$tag-2" 10.77.0.1 2379 || fail "node 2 cannot reach node 1's etcd"
tcp_open "$tag-9" 10.77.0.1 7400 || fail "the outside cannot reach kefud"
for p in 6379 26379 2379 2380; do
	tcp_open "$tag-9" 10.77.0.1 $p && fail "port $p is open to the outside namespace"
done
for i in 1 2 3; do tcp_open "$tag-9" 10.77.0.$i 9464 || fail "node $i metrics closed to monitoring"; done
echo "the rules close Redis, Sentinel and etcd to the outside namespace and open them between nodes"

out timeout 150 "$BIN/kefu-sim" --cluster "$d/cluster.json" --agents 4 --rate 1 --duration 15 --seed 5 \
	--handle 2000 --wrap 300 --ring 500 --no-answer 0 --json >"$d/summary.json" 2>"$d/logs/sim.log" ||
	fail "kefu-sim traffic"
python3 - "$d/summary.json" <<'PY' || fail "traffic: $(cat "$d/summary.json")"
import json, sys
s = json.load(open(sys.argv[1]))
answered = sum(t["answered"] for t in s["tiers"].values())
assert answered >= 5, ("too few calls answered", answered)
assert s["lost_calls"] == 0, ("lost calls", s["lost_calls"])
assert s["double_offers"] == 0, ("double offers", s["double_offers"])
print("traffic: %d calls answered, lost_calls 0, double_offers 0" % answered)
PY

# A dead node replaced (docs/appliance.md, "Replacing a dead node"): node 3's
# processes killed and its disks wiped but for its identity (certificate,
# key, province file, Redis secret); it boots again with /etc/kefu/join:
# kefu-firstboot swaps its etcd member for a new one and points Redis at the
# live primary; kefud starts empty, catches up, and the cluster is whole.
etcd_members() {
	ip netns exec "$tag-1" env ETCDCTL_API=3 etcdctl --endpoints https://10.77.0.1:2379 \
		--cacert "$d/ca/ca.crt" --cert "$d/ca/sc-cd-1.crt" --key "$d/ca/sc-cd-1.key" \
		member list 2>/dev/null
}
command -v etcdctl >/dev/null || fail "no etcdctl (package etcd-client)"
before=$(etcd_members | awk -F', ' '$3 == "sc-cd-3" { print $1 }')
[ -n "$before" ] || fail "sc-cd-3 is no etcd member: $(etcd_members)"
for n in kefud etcd redis sentinel; do
	eval "p=\$pid_${n}3"
	kill -9 "$p" 2>/dev/null || true
done
r=$d/r3
# The disks' contents go; the folders (their owners and modes) stay.
for v in kefu kefu-etcd kefu-redis kefu-sentinel; do find "$r/var/lib/$v" -mindepth 1 -delete; done
touch "$r/etc/kefu/join"
# As on site, the replacement boots once the others noticed the death: etcd
# has elected a leader among the two left.
etcd_leads() { # NODE: its etcd is the leader
	ip netns exec "$tag-$1" env ETCDCTL_API=3 etcdctl --endpoints "https://10.77.0.$1:2379" \
		--cacert "$d/ca/ca.crt" --cert "$d/ca/sc-cd-$1.crt" --key "$d/ca/sc-cd-$1.key" \
		endpoint status 2>/dev/null | awk -F', ' '$5 == "true" { f = 1 } END { exit !f }'
}
n=0
until etcd_leads 1 || etcd_leads 2; do
	n=$((n + 1)); [ $n -lt 120 ] || fail "etcd elects no leader without node 3"; sleep 0.5
done
firstboot 3
grep -q "etcd existing" "$d/logs/firstboot3.log" || fail "node 3 did not join: $(tail -n 3 "$d/logs/firstboot3.log")"
services 3
node_kefud 3
wait_for 120 healthy || fail "the cluster is not whole again: $(out "$BIN/kefuctl" --cluster "$d/cluster.json" status 2>&1)"
after=$(etcd_members | awk -F', ' '$3 == "sc-cd-3" && $2 == "started" { print $1 }')
[ -n "$after" ] && [ "$after" != "$before" ] ||
	fail "sc-cd-3's etcd member was not replaced (before $before): $(etcd_members)"
[ "$(etcd_members | wc -l)" = 3 ] || fail "etcd does not have three members: $(etcd_members)"
echo "node 3 replaced: etcd member $before -> $after, kefud caught up, the cluster whole"
echo "ok: 3 namespaces ($mode), cluster over TLS behind the rules, traffic served, a dead node replaced"
