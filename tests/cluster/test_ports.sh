#!/bin/sh
# tests/cluster/ports.inc, which the harness, etcd.sh and redis.sh pick
# their ports with: a test's port blocks stay in its slot's part of
# 20000..31999 (tests/runner.py runs two tests at once), blocks whose ports
# are taken are passed over, and no block is given when every one is taken.
# No cluster: a listener of its own on loopback, stopped by its PID.
set -eu
cd "$(dirname "$0")/../.."
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d)
lpid=
trap '[ -z "$lpid" ] || kill "$lpid" 2>/dev/null; rm -rf "$tmp"' EXIT

# picks SLOTS SLOT CHECK SPAN STEP N: N picks, one a line ("-" for none).
picks() {
	KEFU_PORT_SLOTS=$1 KEFU_PORT_SLOT=$2 bash -c '
		. tests/cluster/ports.inc
		for i in $(seq 1 "$6"); do pick_port_block "$3" "$4" "$5" || echo -; done
	' picks "$@"
}

# Two slots: the harness's blocks (46 checked, 200 spanned, every 100) and
# etcd.sh's (6, every 20) stay in their half, spans included.
for slot in 0 1; do
	lo=$((20000 + slot * 6000)); hi=$((lo + 6000))
	for shape in "46 200 100" "6 6 20"; do
		# shellcheck disable=SC2086 # the shape is three numbers
		picks 2 $slot $shape 12 >"$tmp/p"
		set -- $shape
		while read -r b; do
			[ "$b" != - ] || fail "slot $slot: no block found ($shape)"
			[ "$b" -ge $lo ] && [ $((b + $2)) -le $hi ] ||
				fail "slot $slot: block $b+$2 outside $lo..$hi ($shape)"
			[ $(( (b - lo) % $3 )) -eq 0 ] || fail "slot $slot: block $b not on a step of $3"
		done <"$tmp/p"
	done
done
# Without slots: the whole range.
picks "" "" 46 200 100 12 | while read -r b; do
	[ "$b" != - ] && [ "$b" -ge 20000 ] && [ $((b + 200)) -le 32000 ] || fail "no slots: block $b"
done

# Sixty slots of 200 ports: one block each. Taken, it is passed over and
# none is left; free again, it is the one given.
slot=17; b=$((20000 + slot * 200))
[ "$(picks 60 $slot 46 200 100 1)" = $b ] || fail "slot $slot: not its one block $b"
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
open(sys.argv[2], "w").close()
time.sleep(60)' $((b + 30)) "$tmp/up" &
lpid=$!
i=0
until [ -e "$tmp/up" ]; do i=$((i + 1)); [ $i -lt 100 ] || fail "listener did not start"; sleep 0.05; done
[ "$(picks 60 $slot 46 200 100 1)" = - ] || fail "a block with a taken port was given"
# etcd.sh's blocks of 6 every 20 there: the taken port is in none of them
for r in $(picks 60 $slot 6 6 20 10); do
	[ "$r" != - ] && [ "$r" -ge $b ] && [ $((r + 6)) -le $((b + 200)) ] ||
		fail "a block of 6 in slot $slot: $r"
done
kill "$lpid"; wait "$lpid" 2>/dev/null || true; lpid=
[ "$(picks 60 $slot 46 200 100 1)" = $b ] || fail "the block freed again was not given"
echo ok
