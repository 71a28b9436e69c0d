#!/bin/bash
# Redis on loopback for tests: a primary, 2 replicas and 3 sentinels.
#
#   redis.sh up --dir DIR [--base-port P] [--tls CERTDIR] [--password PW] [--quick]
#       starts r1 (primary), r2 and r3 (replicas of r1) and sentinels s1..s3
#       watching them under the master name "kefu" (quorum 2), waits until
#       both replicas are in sync and every sentinel knows both replicas and
#       the other two sentinels (with --quick: until every sentinel answers;
#       they find each other within about 2 s more, and kill-primary waits
#       for that first), then writes DIR/redis.json:
#         {"redis": [{"name", "addr", "pid", "role"}], "sentinels": [{"name",
#          "addr", "pid"}], "master_name", "password", "tls"}
#       (pid 0 = not running; role "master", "slave" or "down"). Instance i
#       (r1 r2 r3 s1 s2 s3) listens on P+i; without --base-port a free block
#       below 32768 is picked. Every server runs with min-replicas-to-write 1.
#       --password PW: requirepass and masterauth on the servers, auth-pass,
#       requirepass and sentinel-pass on the sentinels.
#       --tls CERTDIR: TLS only (no plain port) with CERTDIR/ca.crt and
#       CERTDIR/redis.crt/.key, made with tests/cluster/certs.sh
#       (redis:kefu-node, SAN IP:127.0.0.1) when missing; replication and
#       sentinel links use TLS too, and clients must show a certificate
#       signed by the CA.
#   redis.sh down --dir DIR            SIGTERM every instance, SIGKILL after 5 s
#   redis.sh kill-primary --dir DIR    kill -9 the primary the sentinels name
#                                      once every sentinel knows every peer;
#                                      prints its address
#   redis.sh wait-failover --dir DIR   wait (30 s) until the sentinels name
#                                      another primary that says it is master
#                                      and has a replica; prints its address
#   redis.sh primary --dir DIR         the address the sentinels name now
#
# Logs are DIR/NAME.log, configs DIR/NAME.conf. Processes are found through
# DIR/NAME.pid and signalled only while their command line names DIR (the
# process title includes the config file), so a stale pid file never hits
# an unrelated process.
set -euo pipefail

die() { echo "redis.sh: $*" >&2; exit 2; }

cmd=${1:-}
[ -n "$cmd" ] || die "usage: redis.sh up|down|kill-primary|wait-failover|primary --dir DIR ..."
shift
dir=""; base=""; certdir=""; password=""; quick=0
while [ $# -gt 0 ]; do
	case "$1" in
	--dir) dir=$2; shift 2 ;;
	--base-port) base=$2; shift 2 ;;
	--tls) certdir=$2; shift 2 ;;
	--password) password=$2; shift 2 ;;
	--quick) quick=1; shift ;;
	*) die "unknown argument $1" ;;
	esac
done
[ -n "$dir" ] || die "--dir DIR is required"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
TOP=$(cd "$(dirname "$0")/../.." && pwd)
REDIS_SERVER=${REDIS_SERVER:-redis-server}
REDIS_SENTINEL=${REDIS_SENTINEL:-redis-sentinel}
master_name=kefu
servers="r1 r2 r3"
sentinels="s1 s2 s3"

# A block of 6 free ports (tests/cluster/ports.inc).
. "$(dirname "$0")/ports.inc"
pick_base() { pick_port_block 6 6 10 || die "no free port block found"; }

# mine PID: the process is alive and is one of ours (its title names DIR).
mine() {
	[ "$1" -gt 0 ] 2>/dev/null && [ -r "/proc/$1/cmdline" ] &&
		tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$dir/"
}

pid_of() { [ -f "$dir/$1.pid" ] && cat "$dir/$1.pid" || echo 0; }

port_of() { # NAME
	local i=0 n
	for n in $servers $sentinels; do
		[ "$n" = "$1" ] && { echo $((base + i)); return; }
		i=$((i + 1))
	done
	die "no instance $1"
}

name_of_port() { # PORT
	local n
	for n in $servers $sentinels; do [ "$(port_of "$n")" = "$1" ] && { echo "$n"; return; }; done
	echo ""
}

load_env() {
	[ -f "$dir/redis.env" ] || die "no cluster in $dir"
	# shellcheck disable=SC1091
	. "$dir/redis.env"
}

# cli PORT ARGS...: redis-cli against one instance, with the cluster's password and TLS.
cli() {
	local p=$1; shift
	local a=(-h 127.0.0.1 -p "$p")
	[ -z "$password" ] || a+=(--no-auth-warning -a "$password")
	[ -z "$certdir" ] || a+=(--tls --cacert "$certdir/ca.crt" --cert "$certdir/redis.crt" --key "$certdir/redis.key")
	timeout 3 redis-cli "${a[@]}" "$@" 2>/dev/null
}

role_of() { # NAME -> master, slave or down
	local r
	mine "$(pid_of "$1")" || { echo down; return; }
	r=$(cli "$(port_of "$1")" ROLE | head -n 1) || true
	echo "${r:-down}"
}

write_json() {
	local n sep="" out='{"redis": ['
	for n in $servers; do
		out="$out$sep{\"name\": \"$n\", \"addr\": \"127.0.0.1:$(port_of "$n")\", \"pid\": $(pid_of "$n"), \"role\": \"$(role_of "$n")\"}"
		sep=", "
	done
	out="$out], \"sentinels\": ["; sep=""
	for n in $sentinels; do
		out="$out$sep{\"name\": \"$n\", \"addr\": \"127.0.0.1:$(port_of "$n")\", \"pid\": $(pid_of "$n")}"
		sep=", "
	done
	out="$out], \"master_name\": \"$master_name\", \"password\": \"$password\", \"tls\": $([ -n "$certdir" ] && echo true || echo false)}"
	printf '%s\n' "$out" >"$dir/redis.json.tmp"
	mv "$dir/redis.json.tmp" "$dir/redis.json"
}

# The lines every instance shares: listening, TLS, logs, the title that names DIR.
common_conf() { # NAME
	local p
	p=$(port_of "$1")
	echo "bind 127.0.0.1"
	echo "daemonize no"
	echo "logfile $dir/$1.log"
	echo "dir $dir/$1"
	echo "proc-title-template \"{title} {listen-addr} {server-mode} {config-file}\""
	if [ -n "$certdir" ]; then
		echo "port 0"
		echo "tls-port $p"
		echo "tls-cert-file $certdir/redis.crt"
		echo "tls-key-file $certdir/redis.key"
		echo "tls-ca-cert-file $certdir/ca.crt"
		echo "tls-replication yes"
	else
		echo "port $p"
	fi
	[ -z "$password" ] || echo "requirepass \"$password\""
}

server_conf() { # NAME
	common_conf "$1"
	echo 'save ""'
	echo "appendonly no"
	echo "min-replicas-to-write 1"
	echo "min-replicas-max-lag 10"
	echo "repl-diskless-sync-delay 0" # else a full sync waits 5 s for more replicas
	[ -z "$password" ] || echo "masterauth \"$password\""
	[ "$1" = r1 ] || echo "replicaof 127.0.0.1 $(port_of r1)"
}

sentinel_conf() { # NAME
	common_conf "$1"
	echo "sentinel monitor $master_name 127.0.0.1 $(port_of r1) 2"
	echo "sentinel down-after-milliseconds $master_name 1000"
	echo "sentinel failover-timeout $master_name 5000"
	echo "sentinel parallel-syncs $master_name 2"
	if [ -n "$password" ]; then
		echo "sentinel auth-pass $master_name \"$password\""
		echo "sentinel sentinel-pass \"$password\""
	fi
}

start() { # NAME
	local n=$1
	mkdir -p "$dir/$n"
	case "$n" in
	r*) server_conf "$n" >"$dir/$n.conf"; "$REDIS_SERVER" "$dir/$n.conf" </dev/null >>"$dir/$n.log" 2>&1 & ;;
	s*) sentinel_conf "$n" >"$dir/$n.conf"; "$REDIS_SENTINEL" "$dir/$n.conf" </dev/null >>"$dir/$n.log" 2>&1 & ;;
	esac
	echo $! >"$dir/$n.pid"
}

# stop NAME...: SIGTERM every running instance, wait up to 5 s, then SIGKILL.
stop() {
	local n p live end=$((SECONDS + 5))
	for n in "$@"; do p=$(pid_of "$n"); mine "$p" && kill -TERM "$p" 2>/dev/null && kill -CONT "$p" 2>/dev/null; done
	while :; do
		live=""
		for n in "$@"; do p=$(pid_of "$n"); mine "$p" && live="$live $p"; done
		[ -z "$live" ] && break
		# shellcheck disable=SC2086
		[ $SECONDS -lt $end ] || kill -KILL $live 2>/dev/null || true
		sleep 0.05
	done
	for n in "$@"; do rm -f "$dir/$n.pid"; done
}

# field KEY: the value after line KEY in redis-cli's alternating key/value output.
field() { awk -v k="$1" 'f { print; exit } $0 == k { f = 1 }'; }

replicas_online() { # PORT N: the server at PORT has at least N replicas online
	[ "$(cli "$1" INFO replication | tr -d '\r' | grep -c '^slave[0-9]*:.*state=online')" -ge "$2" ]
}

sentinel_ready() { # NAME: knows the primary's 2 replicas and 2 other sentinels
	local out
	out=$(cli "$(port_of "$1")" SENTINEL master "$master_name") || return 1
	[ "$(echo "$out" | field num-slaves)" = 2 ] && [ "$(echo "$out" | field num-other-sentinels)" = 2 ]
}

# The primary's address as the first sentinel that answers names it.
primary_addr() {
	local n out
	for n in $sentinels; do
		mine "$(pid_of "$n")" || continue
		out=$(cli "$(port_of "$n")" SENTINEL get-master-addr-by-name "$master_name" | tr '\n' ' ') || continue
		set -- $out
		[ $# -eq 2 ] && { echo "$1:$2"; return 0; }
	done
	return 1
}

wait_until() { # SECONDS DESCRIPTION COMMAND...
	local end=$((SECONDS + $1)) desc=$2
	shift 2
	until "$@"; do
		[ $SECONDS -lt $end ] || { echo "redis.sh: $desc not reached in time" >&2; return 1; }
		sleep 0.1
	done
}

all_answer() { # NAME...
	local n
	for n in "$@"; do
		mine "$(pid_of "$n")" || { tail -n 20 "$dir/$n.log" >&2; die "$n exited"; }
		cli "$(port_of "$n")" PING | grep -q PONG || return 1
	done
}

all_sentinels_ready() {
	local n
	for n in $sentinels; do sentinel_ready "$n" || return 1; done
}

case "$cmd" in
up)
	[ -f "$dir/redis.env" ] && die "$dir already holds a cluster; run down and use a fresh dir"
	[ -n "$base" ] || base=$(pick_base)
	if [ -n "$certdir" ]; then
		certdir=$(cd "$certdir" 2>/dev/null && pwd) || die "no directory $certdir"
		[ -f "$certdir/redis.crt" ] || "$TOP/tests/cluster/certs.sh" "$certdir" redis:kefu-node >/dev/null
	fi
	printf 'base=%s\ncertdir=%q\npassword=%q\n' "$base" "$certdir" "$password" >"$dir/redis.env"
	# Sentinels start once both replicas are online: a sentinel learns the
	# replicas from the primary's INFO, asked at once and then every 10 s.
	for n in $servers; do start "$n"; done
	if ! wait_until 20 "every server answering" all_answer $servers ||
		! wait_until 20 "both replicas online" replicas_online "$(port_of r1)" 2 ||
		! { for n in $sentinels; do start "$n"; done; wait_until 20 "every sentinel answering" all_answer $sentinels; } ||
		{ [ $quick = 0 ] && ! wait_until 30 "sentinels knowing every peer" all_sentinels_ready; }; then
		# shellcheck disable=SC2086
		stop $servers $sentinels; write_json; exit 1
	fi
	write_json
	;;
down)
	[ -f "$dir/redis.env" ] || exit 0
	load_env
	# shellcheck disable=SC2086
	stop $servers $sentinels
	write_json
	;;
kill-primary)
	load_env
	wait_until 30 "sentinels knowing every peer" all_sentinels_ready || exit 1
	addr=$(primary_addr) || die "no sentinel names a primary"
	n=$(name_of_port "${addr##*:}")
	[ -n "$n" ] || die "primary $addr is not one of ours"
	p=$(pid_of "$n")
	mine "$p" || die "$n is not running"
	kill -KILL "$p"
	while mine "$p"; do sleep 0.02; done
	rm -f "$dir/$n.pid"
	echo "$addr" >"$dir/killed"
	write_json
	echo "$addr"
	;;
wait-failover)
	load_env
	killed=$(cat "$dir/killed" 2>/dev/null || echo none)
	failed_over() {
		local a
		a=$(primary_addr) && [ "$a" != "$killed" ] &&
			[ "$(cli "${a##*:}" ROLE | head -n 1)" = master ] && replicas_online "${a##*:}" 1
	}
	wait_until 30 "failover" failed_over || exit 1
	write_json
	primary_addr
	;;
primary)
	load_env
	primary_addr
	;;
*) die "unknown command $cmd" ;;
esac
