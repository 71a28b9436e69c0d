#!/bin/bash
# An N-member etcd cluster on loopback, for tests and the cluster harness.
#
#   etcd.sh up --members N --dir DIR [--base-port P] [--tls CERTDIR]
#       starts members etcd1..etcdN, waits until every one reports healthy,
#       prints the client URLs comma-separated and writes DIR/etcd.json:
#       [{"name", "client_url", "peer_url", "pid"}, ...] (pid 0 = not running).
#       Member i (from 0) listens on P+2i (client) and P+2i+1 (peer); without
#       --base-port a free block is picked. With --tls, clients and peers
#       talk https and must show a certificate signed by CERTDIR/ca.crt
#       (client-cert-auth); the members use CERTDIR/etcd.crt (OU kefu-service:
#       serverAuth and clientAuth), which the caller makes with certs.sh.
#   etcd.sh down --dir DIR              SIGTERM every member, SIGKILL after 5 s
#   etcd.sh kill-member NAME --dir DIR  SIGKILL one member
#   etcd.sh start-member NAME --dir DIR start it again (same data) and wait for health
#   etcd.sh pause-member|resume-member NAME --dir DIR   SIGSTOP / SIGCONT
#
# Members run with pre-vote and loopback-sized heartbeat and election
# timeouts; data lives in DIR/NAME.etcd, logs in DIR/NAME.log. Processes are
# found through DIR/NAME.pid and signalled only when their command line names
# DIR, so a stale pid file never hits an unrelated process.
set -euo pipefail

die() { echo "etcd.sh: $*" >&2; exit 2; }

cmd=${1:-}
[ -n "$cmd" ] || die "usage: etcd.sh up|down|kill-member|start-member|pause-member|resume-member ..."
shift
name=""
case "$cmd" in
kill-member | start-member | pause-member | resume-member) name=${1:-}; shift || true
	[ -n "$name" ] || die "$cmd needs a member name" ;;
esac
members=3; dir=""; base=""; tlsdir=""
while [ $# -gt 0 ]; do
	case "$1" in
	--members) members=$2; shift 2 ;;
	--tls) tlsdir=$2; shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	--base-port) base=$2; shift 2 ;;
	*) die "unknown argument $1" ;;
	esac
done
[ -n "$dir" ] || die "--dir DIR is required"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
ETCD=${ETCD:-etcd}

# A block of 2*members free ports (tests/cluster/ports.inc).
. "$(dirname "$0")/ports.inc"
pick_base() { pick_port_block $((2 * members)) $((2 * members)) 20 || die "no free port block found"; }

names() { cat "$dir/members"; }

# mine PID: the process is alive and is one of ours (its command line names DIR).
mine() {
	[ "$1" -gt 0 ] 2>/dev/null && [ -r "/proc/$1/cmdline" ] &&
		tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "--data-dir $dir/"
}

pid_of() { [ -f "$dir/$1.pid" ] && cat "$dir/$1.pid" || echo 0; }

write_json() {
	local n sep="" out="["
	for n in $(names); do
		# shellcheck disable=SC1090
		. "$dir/$n.env"
		out="$out$sep{\"name\": \"$n\", \"client_url\": \"$client_url\", \"peer_url\": \"$peer_url\", \"pid\": $(pid_of "$n")}"
		sep=", "
	done
	printf '%s]\n' "$out" >"$dir/etcd.json.tmp"
	mv "$dir/etcd.json.tmp" "$dir/etcd.json"
}

start_member() { # NAME
	local n=$1
	[ -f "$dir/$n.env" ] || die "no member $n in $dir"
	mine "$(pid_of "$n")" && die "$n is running"
	# shellcheck disable=SC1090
	. "$dir/$n.env"
	local tls=()
	[ -z "${certs:-}" ] || tls=(--cert-file "$certs/etcd.crt" --key-file "$certs/etcd.key"
		--trusted-ca-file "$certs/ca.crt" --client-cert-auth
		--peer-cert-file "$certs/etcd.crt" --peer-key-file "$certs/etcd.key"
		--peer-trusted-ca-file "$certs/ca.crt" --peer-client-cert-auth)
	"$ETCD" --name "$n" --data-dir "$dir/$n.etcd" "${tls[@]}" \
		--listen-client-urls "$client_url" --advertise-client-urls "$client_url" \
		--listen-peer-urls "$peer_url" --initial-advertise-peer-urls "$peer_url" \
		--initial-cluster "$cluster" --initial-cluster-token "$token" \
		--initial-cluster-state new --pre-vote=true \
		--heartbeat-interval 50 --election-timeout 500 \
		--logger zap --log-outputs stderr \
		</dev/null >>"$dir/$n.log" 2>&1 &
	echo $! >"$dir/$n.pid"
}

healthy() { # NAME
	# shellcheck disable=SC1090
	. "$dir/$1.env"
	local tls=()
	[ -z "${certs:-}" ] || tls=(--cacert "$certs/ca.crt" --cert "$certs/etcd.crt" --key "$certs/etcd.key")
	curl -sf --max-time 1 "${tls[@]}" "$client_url/health" 2>/dev/null | grep -q '"health":"true"'
}

wait_healthy() { # NAME... (20 s)
	local n end=$((SECONDS + 20))
	for n in "$@"; do
		until healthy "$n"; do
			mine "$(pid_of "$n")" || { tail -n 20 "$dir/$n.log" >&2; die "$n exited"; }
			[ $SECONDS -lt $end ] || { tail -n 20 "$dir/$n.log" >&2; die "$n not healthy after 20 s"; }
			sleep 0.1
		done
	done
}

# stop_members NAME...: SIGTERM every running member, wait up to 5 s, then SIGKILL.
stop_members() { # NAME...
	local n p live end=$((SECONDS + 5))
	for n in "$@"; do p=$(pid_of "$n"); mine "$p" && kill -TERM "$p" 2>/dev/null && kill -CONT "$p" 2>/dev/null; done
	while :; do
		live=""
		for n in "$@"; do p=$(pid_of "$n"); mine "$p" && live="$live $p"; done
		[ -z "$live" ] && break
		if [ $SECONDS -ge $end ]; then
			# shellcheck disable=SC2086
			kill -KILL $live 2>/dev/null || true
		fi
		sleep 0.05
	done
	for n in "$@"; do rm -f "$dir/$n.pid"; done
}

case "$cmd" in
up)
	[ "$members" -ge 1 ] && [ "$members" -le 9 ] || die "--members must be 1..9"
	[ -f "$dir/members" ] && die "$dir already holds a cluster; run down and use a fresh dir"
	[ -n "$base" ] || base=$(pick_base)
	cluster=""; urls=""; scheme=http
	if [ -n "$tlsdir" ]; then
		tlsdir=$(cd "$tlsdir" && pwd)
		for f in ca.crt etcd.crt etcd.key; do [ -f "$tlsdir/$f" ] || die "--tls: no $tlsdir/$f"; done
		scheme=https
	fi
	for i in $(seq 0 $((members - 1))); do
		n=etcd$((i + 1))
		echo "$n" >>"$dir/members"
		cluster="$cluster${cluster:+,}$n=$scheme://127.0.0.1:$((base + 2 * i + 1))"
		urls="$urls${urls:+,}$scheme://127.0.0.1:$((base + 2 * i))"
	done
	token="kefu-$$-$base"
	for i in $(seq 0 $((members - 1))); do
		cat >"$dir/etcd$((i + 1)).env" <<EOF
client_url=$scheme://127.0.0.1:$((base + 2 * i))
peer_url=$scheme://127.0.0.1:$((base + 2 * i + 1))
cluster=$cluster
token=$token
certs=$tlsdir
EOF
	done
	for n in $(names); do start_member "$n"; done
	write_json
	# shellcheck disable=SC2046
	if ! (wait_healthy $(names)); then
		# shellcheck disable=SC2046
		stop_members $(names); write_json; exit 1
	fi
	echo "$urls"
	;;
down)
	[ -f "$dir/members" ] || exit 0
	# shellcheck disable=SC2046
	stop_members $(names)
	write_json
	;;
kill-member)
	p=$(pid_of "$name")
	mine "$p" || die "$name is not running"
	kill -KILL "$p"
	while mine "$p"; do sleep 0.02; done
	rm -f "$dir/$name.pid"
	write_json
	;;
start-member)
	start_member "$name"
	write_json
	wait_healthy "$name"
	;;
pause-member | resume-member)
	p=$(pid_of "$name")
	mine "$p" || die "$name is not running"
	if [ "$cmd" = pause-member ]; then kill -STOP "$p"; else kill -CONT "$p"; fi
	;;
*) die "unknown command $cmd" ;;
esac
