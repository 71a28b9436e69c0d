#!/bin/sh
# Secrets and transport (docs/security.md): what a node refuses to start
# with, the user it runs as, and revoked certificates.
#
# First without a cluster, kefud alone with configurations it must refuse:
# plaintext etcd or Redis outside loopback (the addresses are documentation
# ones, 192.0.2.1 and 198.51.100.1, written into the configuration only:
# the refusal comes from the configuration check, exit status 2, before
# any subsystem starts, so nothing is ever dialed), a Redis password file,
# an etcd client key and a TLS key open to others, a user that cannot be
# switched to, a data_dir that does not belong to the user. Every other
# endpoint is a closed loopback port.
#
# Then one 3-node cluster: node1 restarted as root with `user = kefu-test`
# runs as that user and serves; node1 restarted with crl_file refuses a
# revoked admin certificate at the handshake and admits the others, and a
# certificate revoked while it runs is refused after a SIGHUP.
. "$(dirname "$0")/../cluster/lib.inc"
KEFUD=$KEFU_BIN/kefud
TUSER=kefu-test
MADE_USER=0

[ "$(id -u)" = 0 ] || fail "this test runs as root (it starts a node that drops root)"
if ! id -u "$TUSER" >/dev/null 2>&1; then
	useradd --system --no-create-home --shell /usr/sbin/nologin "$TUSER" || fail "useradd $TUSER"
	MADE_USER=1
fi
# The cluster's cleanup first, then the user, if this test made it.
transport_cleanup() {
	cleanup
	[ $MADE_USER = 0 ] || userdel "$TUSER" 2>/dev/null || true
}
trap transport_cleanup EXIT

# ---- kefud alone: configurations refused at start ----

S=$D/solo
mkdir -p "$S/data"
"$TOP/tests/cluster/certs.sh" "$S/certs" n1:kefu-node >/dev/null || fail "certs"
# A port on loopback nobody listens on (the kernel's ephemeral range is
# above 32767; a port of the harness's range below it, unused now).
closed_port() {
	p=$((20000 + $$ % 9000))
	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
	echo $p
}
P=$(closed_port)
printf 'kefu-%s\n' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" >"$S/redis.password"
chmod 600 "$S/redis.password"
cp "$S/certs/n1.key" "$S/etcd.key"

# conf NAME [LINES...]: a configuration of kefud alone in $S/NAME.conf, with
# TLS to etcd and Redis on closed loopback ports, LINES ("name = value")
# in place of the lines of their names.
conf() {
	f=$S/$1.conf
	shift
	cat >"$f" <<EOF
node_name = solo
data_dir = $S/data
listen_addr = 127.0.0.1:$((P + 1))
metrics_addr =
etcd_endpoints = https://127.0.0.1:$P
etcd_ca = $S/certs/ca.crt
etcd_cert = $S/certs/n1.crt
etcd_key = $S/etcd.key
tls_ca = $S/certs/ca.crt
tls_cert = $S/certs/n1.crt
tls_key = $S/certs/n1.key
redis_sentinels = 127.0.0.1:$((P + 2))
redis_tls = true
redis_password_file = $S/redis.password
EOF
	for l in "$@"; do # a line of LINES replaces the base's line of its name
		grep -v "^${l%% *} = " "$f" >"$f.tmp" || true
		echo "$l" >>"$f.tmp"
		mv "$f.tmp" "$f"
	done
	echo "$f"
}

# refused CONF STATUS PATTERN...: kefud with CONF exits by itself with STATUS,
# its output holding every PATTERN. (timeout only bounds a kefud that would
# not exit: its 124 fails the check.)
refused() {
	c=$1 want=$2
	shift 2
	st=0
	timeout 30 "$KEFUD" --config "$c" >"$S/out" 2>&1 || st=$?
	[ "$st" = "$want" ] || fail "kefud with $(basename "$c") exited $st, not $want: $(tail -n 3 "$S/out")"
	for p in "$@"; do
		grep -qF -- "$p" "$S/out" || fail "kefud with $(basename "$c"): no \"$p\" in: $(tail -n 3 "$S/out")"
	done
	ok
}

# Plaintext etcd outside loopback: refused by the configuration check.
refused "$(conf etcd-plain "etcd_endpoints = http://192.0.2.1:2379")" 2 \
	"etcd_endpoints: http://192.0.2.1:2379 is plaintext to an address outside loopback" \
	"https://" "allow_plaintext = true"
refused "$(conf etcd-name "etcd_endpoints = http://127.0.0.1:$P,http://etcd.example:2379")" 2 \
	"etcd_endpoints: http://etcd.example:2379 is plaintext"
# Plaintext Redis outside loopback: the same.
refused "$(conf redis-plain "redis_sentinels = 127.0.0.1:$((P + 2)),198.51.100.1:26379" \
	"redis_tls = false")" 2 \
	"redis_sentinels: 198.51.100.1:26379 is plaintext to an address outside loopback" \
	"redis_tls = true" "allow_plaintext = true"
# Nothing started: not even the log's first line.
grep -q "starting node=" "$S/out" && fail "kefud started subsystems before refusing plaintext"
ok

# A secret open to others: refused before anything is dialed (the loop has
# not run), naming the file and the fix.
chmod 644 "$S/redis.password"
refused "$(conf pw)" 1 "redis_password_file $S/redis.password is open to group or others (mode 644): chmod 600 it"
chmod 600 "$S/redis.password"
chmod 644 "$S/etcd.key"
refused "$(conf etcdkey)" 1 "etcd_key $S/etcd.key is open to group or others (mode 644): chmod 600 it"
chmod 600 "$S/etcd.key"
chmod 640 "$S/certs/n1.key"
refused "$(conf tlskey)" 1 "key_file $S/certs/n1.key is open to group or others (mode 640): chmod 600 it"
chmod 600 "$S/certs/n1.key"
# Another user's secret: whoever owns it can change it. Refused for a node
# that runs as root and does not become that user.
chown "$TUSER:" "$S/redis.password"
refused "$(conf pw-owner)" 1 \
	"redis_password_file $S/redis.password belongs to uid $(id -u "$TUSER"), neither root nor the user reading it" \
	"chown it"
chown root: "$S/redis.password"
# The Redis password is never on kefud's command line: there is no option for it.
refused "$(conf pwrow "redis_password = secret")" 2 "redis_password"
grep -q "unknown" "$S/out" || fail "redis_password is still an option: $(cat "$S/out")"
ok

# A user to switch to: data_dir must be the user's already.
refused "$(conf user-dir "user = $TUSER")" 1 \
	"data_dir $S/data belongs to uid 0, not to user $TUSER" "chown -R $TUSER: $S/data"
refused "$(conf user-none "user = kefu-no-such-user")" 1 "user kefu-no-such-user: no such user"
# Not root, and user names another user: it cannot switch, and says so.
chmod 755 "$D" "$S"
c=$(conf user-other "user = nobody")
chmod 644 "$c"
st=0
timeout 30 setpriv --reuid="$TUSER" --regid="$TUSER" --init-groups "$KEFUD" --config "$c" >"$S/out" 2>&1 || st=$?
[ "$st" = 1 ] || fail "kefud as $TUSER with user = nobody exited $st: $(tail -n 3 "$S/out")"
grep -qF "user = nobody, but kefud runs as uid $(id -u "$TUSER"), which cannot switch users" "$S/out" ||
	fail "no clear refusal: $(tail -n 3 "$S/out")"
ok

# The control: the same node with every secret 0600 starts (and keeps
# trying the closed loopback ports) until it is stopped.
"$KEFUD" --config "$(conf good)" >"$S/good.out" 2>&1 &
GOOD=$!
wait_for "kefud with good secrets running" 30 grep -q "running node=solo" "$S/good.out"
kill "$GOOD"
wait "$GOOD" || true
grep -q "chmod 600\|plaintext" "$S/good.out" && fail "the good configuration was refused: $(cat "$S/good.out")"
ok

# ---- a cluster ----

up 3
grep -q "^redis_password_file = $D/node1/redis.password$" "$D/node1/kefud.conf" ||
	fail "the harness does not give node1 its Redis password in a file"
[ "$(stat -c %a "$D/node1/redis.password")" = 600 ] || fail "redis.password is not 0600"
PW=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["redis_password"])' "$CJ")
tr '\0' ' ' <"/proc/$(cat "$D/node1.pid")/cmdline" | grep -qF "$PW" && fail "the Redis password is on kefud's command line"
ok

# node1 as root with user = kefu-test: its files and directory handed over
# by the operator (chown), and the cluster's folder open to the user.
"$H" kill node1 --dir "$D"
chmod 755 "$D"
chown -R "$TUSER:" "$D/node1"
echo "user = $TUSER" >>"$D/node1/kefud.conf"
"$H" start node1 --dir "$D"
wait_for "the cluster healthy with node1 as $TUSER" 60 healthy
PID=$(cat "$D/node1.pid")
U=$(id -u "$TUSER") G=$(id -g "$TUSER")
grep -q "^Uid:	$U	$U	$U	$U$" "/proc/$PID/status" || fail "node1 runs as $(grep Uid "/proc/$PID/status")"
grep -q "^Gid:	$G	$G	$G	$G$" "/proc/$PID/status" || fail "node1 runs as $(grep Gid "/proc/$PID/status")"
awk '/^Groups:/ { for (i = 2; i <= NF; i++) if ($i == 0) exit 1 }' "/proc/$PID/status" ||
	fail "node1 kept root's group: $(grep Groups "/proc/$PID/status")"
ok
grep -q "dropped root user=$TUSER uid=$U gid=$G" "$D/node1/kefud.log" || fail "node1 did not log the switch"
[ "$(stat -c %U "$D/node1/data/data.mdb")" = "$TUSER" ] || fail "data.mdb is not $TUSER's"
ok
[ "$(status_json node1 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["members"]))')" = 3 ] ||
	fail "node1 does not serve status as $TUSER"
ok
ledger drop 2 --rate 50
ledger_wait drop
sleep 1
all_acked_on drop node1 node2 node3

# Revocation: admin2 revoked, node1 restarted with crl_file (the CRL of the
# cluster CA: its links to the other nodes, etcd and Redis are checked
# against it too, and the cluster is healthy with them).
CERTS=$D/certs
"$TOP/tests/cluster/certs.sh" "$CERTS" admin2:kefu-admin admin3:kefu-admin >/dev/null || fail "certs"
"$TOP/tests/cluster/certs.sh" "$CERTS" --revoke admin2 || fail "revoke admin2"
# node1 comes back wiped, its new data_dir given to the user: the LMDB files
# it creates as root are handed to the user before the switch, and it
# catches up with the writes made meanwhile.
"$H" kill node1 --dir "$D"
"$H" wipe node1 --dir "$D"
chown "$TUSER:" "$D/node1/data"
echo "crl_file = $CERTS/crl.pem" >>"$D/node1/kefud.conf"
"$H" start node1 --dir "$D"
wait_for "the cluster healthy with node1 checking revocation" 60 healthy
grep -q "dropped root user=$TUSER .* files_given=[1-9]" "$D/node1/kefud.log" ||
	fail "node1 did not hand its new files to $TUSER: $(grep 'dropped root' "$D/node1/kefud.log")"
[ -z "$(find "$D/node1/data" ! -user "$TUSER")" ] || fail "files in node1's data_dir not $TUSER's: $(find "$D/node1/data" ! -user "$TUSER")"
ok
all_acked_on drop node1

# as NAME NODE: kefuctl status through NODE with NAME's admin certificate.
as() {
	timeout 60 "$KEFUCTL" --node "$(addr "$2")" --ca "$CERTS/ca.crt" --cert "$CERTS/$1.crt" \
		--key "$CERTS/$1.key" status --json >"$D/as.out" 2>&1
}
# refused_as NAME: node1 refuses NAME's certificate at the handshake, as revoked.
# (kefuctl may only see the connection reset: TLS 1.3 checks the client's
# certificate after the client has finished its part; node1's log says why.)
refused_as() {
	before=$(grep -c "certificate verify failed (certificate revoked)" "$D/node1/kefud.log" || true)
	as "$1" node1 && fail "node1 admitted the revoked $1: $(cat "$D/as.out")"
	after=$(grep -c "certificate verify failed (certificate revoked)" "$D/node1/kefud.log" || true)
	[ "$after" -gt "$before" ] || fail "node1 did not refuse $1 as revoked: $(cat "$D/as.out")"
	ok
}
refused_as admin2
as admin node1 || fail "node1 refused admin: $(cat "$D/as.out")"
as admin3 node1 || fail "node1 refused admin3: $(cat "$D/as.out")"
as admin2 node2 || fail "node2 (no crl_file) refused admin2: $(cat "$D/as.out")"
ok

# Revoked while node1 runs: refused after SIGHUP, as node1's user reads the file.
"$TOP/tests/cluster/certs.sh" "$CERTS" --revoke admin3 || fail "revoke admin3"
kill -HUP "$(cat "$D/node1.pid")"
wait_for "node1 to read crl_file again" 30 grep -q "reload read crl_file=$CERTS/crl.pem" "$D/node1/kefud.log"
refused_as admin3
as admin node1 || fail "node1 refused admin after SIGHUP: $(cat "$D/as.out")"
ok
grep -q "hot up" "$D/node1/kefud.log" || fail "node1 did not reach Redis with crl_file"
ok

# kefuctl checks the node's certificate too (--crl): node3's revoked, a
# kefuctl given the list refuses node3 and still talks to node2; one
# without it reaches node3 as before. A list that is no list is refused.
"$TOP/tests/cluster/certs.sh" "$CERTS" --revoke node3 || fail "revoke node3"
ctl_crl() { # NODE CRL
	timeout 60 "$KEFUCTL" --node "$(addr "$1")" --ca "$CERTS/ca.crt" --cert "$CERTS/admin.crt" \
		--key "$CERTS/admin.key" --crl "$2" status --json >"$D/crl.out" 2>&1
}
ctl_crl node3 "$CERTS/crl.pem" && fail "kefuctl --crl talked to the revoked node3: $(cat "$D/crl.out")"
grep -q "revoked" "$D/crl.out" || fail "kefuctl --crl did not say node3 is revoked: $(cat "$D/crl.out")"
ctl_crl node2 "$CERTS/crl.pem" || fail "kefuctl --crl refused node2: $(cat "$D/crl.out")"
as admin node3 || fail "kefuctl without --crl refused node3: $(cat "$D/as.out")"
ctl_crl node2 "$CERTS/ca.crt" && fail "kefuctl took a CA certificate as its CRL: $(cat "$D/crl.out")"
grep -q "crl" "$D/crl.out" || fail "a bad --crl without a clear error: $(cat "$D/crl.out")"
ok
done_ok
