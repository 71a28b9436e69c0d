#!/bin/sh
# Two builds side by side: how a change moves the work-order write rate.
#
#   sh tests/bench/ab_workorders.sh A_BIN B_BIN [ROUNDS]
#
# A_BIN and B_BIN are directories holding kefud (a build before the change
# and one after, e.g. a worktree's build/rel/bin and bin/). Two three-node
# clusters come up with tests/cluster/harness (KEFU_BIN naming the build,
# no Redis) under build/bench-tmp/ab-a and ab-b, each with an agent a01.
# Then ROUNDS times (default 6), `kefu-sim orders` (this tree's) loads both
# leaders at once, AB_INFLIGHT (64) requests in flight for AB_SECS (4)
# seconds each; a round prints both rates and B/A, and the end the median
# B/A. AB_SIM sets more `kefu-sim orders` options (e.g. "--transitions 3");
# AB_ENV_B is an environment assignment for B's nodes only. AB_KIND=raw loads
# both with raw replicated writes (`kefu-sim ledger`) instead of orders, so a
# change to the write path can be read against both kinds of write.
#
# Why side by side: on a shared machine the write rate of one cluster moves
# by a tenth from one minute to the next, more than most changes do. Loaded
# at once, both clusters meet the same disturbance, and the ratio of a
# round stays within a few hundredths of its median (docs/workflow.md,
# "Tests and figures", where it measured what each part of an order write
# costs). A developer's tool, not part of `make bench`: it proves nothing
# about a single build.
set -eu
cd "$(dirname "$0")/../.."

[ $# -ge 2 ] || { echo "usage: $0 A_BIN B_BIN [ROUNDS]" >&2; exit 2; }
A_BIN=$(cd "$1" && pwd)
B_BIN=$(cd "$2" && pwd)
rounds=${3:-6}
secs=${AB_SECS:-4}
inflight=${AB_INFLIGHT:-64}
for d in "$A_BIN" "$B_BIN"; do
	[ -x "$d/kefud" ] || { echo "ab: no kefud in $d" >&2; exit 2; }
done
. tests/bench/lib.inc
tmp=build/bench-tmp

cleanup() {
	for x in a b; do
		"$H" down --dir "$tmp/ab-$x" >/dev/null 2>&1 || true
		rm -rf "$tmp/ab-$x"
	done
	rm -f "$tmp/ab.pw" "$tmp"/ab.out.* "$tmp/ab.ratios"
	rmdir "$tmp" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup
mkdir -p "$tmp"

leader() { leader_of "$1/cluster.json" | cut -d' ' -f2; }

printf 'bench-agent-1' >"$tmp/ab.pw"
for x in a b; do
	if [ $x = a ]; then bin=$A_BIN; envb=; else bin=$B_BIN; envb=${AB_ENV_B:-}; fi
	# shellcheck disable=SC2086 # AB_ENV_B is NAME=VALUE words
	env $envb KEFU_BIN="$bin" "$H" up --nodes 3 --dir "$tmp/ab-$x" --no-redis \
		>"$tmp/ab.out.up$x" 2>&1 || { tail -n 20 "$tmp/ab.out.up$x" >&2; exit 1; }
	"$CTL" --cluster "$tmp/ab-$x/cluster.json" agent add --id a01 --name A \
		--skills general:5 --password-file "$tmp/ab.pw" >/dev/null
done
la=$(leader "$tmp/ab-a")
lb=$(leader "$tmp/ab-b")
if [ -z "$la" ] || [ -z "$lb" ]; then echo "ab: a cluster has no leader" >&2; exit 1; fi

# load DIR LEADER: one round of writes on the cluster in DIR.
load() {
	if [ "${AB_KIND:-orders}" = raw ]; then
		ledger_run "$1/cluster.json" "$2" "$inflight" "$secs"
	else
		# shellcheck disable=SC2086 # AB_SIM is options
		"$SIM" orders --cluster "$1/cluster.json" --node "$2" --owner a01 \
			--inflight "$inflight" --duration "$secs" ${AB_SIM:-}
	fi
}
# rate FILE: writes a second of one round's output.
rate() {
	if [ "${AB_KIND:-orders}" = raw ]; then
		ledger_rate "$secs" <"$1" || true
	else
		sed -n 's/.* writes_per_s=\([0-9]*\) errors=0$/\1/p' "$1"
	fi
}
: >"$tmp/ab.ratios"
for i in $(seq 1 "$rounds"); do
	load "$tmp/ab-a" "$la" >"$tmp/ab.out.a" 2>&1 &
	pa=$!
	load "$tmp/ab-b" "$lb" >"$tmp/ab.out.b" 2>&1 || true
	wait "$pa" || true
	a=$(rate "$tmp/ab.out.a")
	b=$(rate "$tmp/ab.out.b")
	if [ -z "$a" ] || [ -z "$b" ]; then
		echo "ab: round $i: a run failed or was refused:" >&2
		cat "$tmp/ab.out.a" "$tmp/ab.out.b" >&2
		exit 1
	fi
	r=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')
	echo "$r" >>"$tmp/ab.ratios"
	echo "ab: round $i: A $a writes/s, B $b writes/s, B/A $r"
done
sort -n "$tmp/ab.ratios" | awk '{ v[NR] = $1 }
	END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	      printf "ab_median_b_over_a=%.3f [%d rounds of %s s, min %.3f, max %.3f]\n", m, NR, "'"$secs"'", v[1], v[NR] }'
