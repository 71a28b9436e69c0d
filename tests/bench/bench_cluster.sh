#!/bin/sh
# The cluster figures of `make bench` (run.sh runs this after the import and
# lookup benches; it also runs alone). Two clusters on loopback, brought up
# by tests/cluster/harness under build/bench-tmp/cluster:
#   1. write throughput: `kefu-sim ledger --rate 0` keeps a window of writes
#      in flight against the leader for BENCH_CLUSTER_SECS, on a one-node
#      cluster (no standby: group commit alone) and on a three-node cluster
#      (every write waits for the sync standby), alternately, each window
#      size BENCH_CLUSTER_REPS times; the best run of each is kept;
#   2. failover: BENCH_FAILOVERS rounds on the three-node cluster, each a
#      kill -9 of the leader under a ledger of 8 writes in flight, timed
#      from just before the kill to the first write the new leader
#      acknowledges; the killed node is started again between rounds.
# Timings never fail the run; a step that fails (no leader, a ledger error,
# a cluster that does not come back) does, with the node logs' tails shown.
# Every process is started and stopped by PID: the harness's, the ledger's.
# BENCH_KEEP=1 keeps the node logs and ledgers in build/bench-tmp/cluster.
set -eu
cd "$(dirname "$0")/../.."

rounds=${BENCH_FAILOVERS:-10}
secs=${BENCH_CLUSTER_SECS:-4}
reps=${BENCH_CLUSTER_REPS:-3}
windows=${BENCH_CLUSTER_INFLIGHT:-64 256}
tmp=build/bench-tmp/cluster
. tests/bench/lib.inc
one=$tmp/one
three=$tmp/three
ledger_pid=""

cleanup() {
	if [ -n "$ledger_pid" ]; then kill "$ledger_pid" 2>/dev/null || true; fi
	"$H" down --dir "$one" >/dev/null 2>&1 || true
	"$H" down --dir "$three" >/dev/null 2>&1 || true
	if [ "${BENCH_KEEP:-}" = 1 ]; then echo "bench: kept $tmp"; else rm -rf "$tmp"; fi
	rmdir build/bench-tmp 2>/dev/null || true
}
rm -rf "$tmp"
mkdir -p "$tmp"
trap cleanup EXIT
trap 'exit 130' INT TERM

# fail MESSAGE: say what failed, show the node logs' tails, stop.
fail() {
	echo "bench: $*" >&2
	for f in "$tmp"/*/node*/kefud.log; do
		[ -f "$f" ] || continue
		echo "    --- $f" >&2
		tail -n 8 "$f" | sed 's/^/    /' >&2
	done
	exit 1
}

now_ms() { date +%s%3N; }

verdict() {
	awk "BEGIN { print (($1) ? \"met\" : \"NOT met\") }"
}

# leader DIR: "NAME ADDR" of the cluster's leader, nothing when there is none.
leader() { leader_of "$1/cluster.json"; }

up() { # NODES DIR
	"$H" up --nodes "$1" --dir "$2" >"$2.up" 2>&1 || { cat "$2.up" >&2; fail "a $1-node cluster did not come up"; }
}

# ---- write throughput ----

# rate DIR INFLIGHT: acknowledged writes per second of one ledger run against
# the leader of DIR. The ledger's own lines go to /dev/null: what is timed is
# the cluster, not the client's file.
rate() {
	set -- "$1" "$2" "$(leader "$1")"
	[ -n "$3" ] || fail "no leader in $1"
	out=$(ledger_run "$1/cluster.json" "${3#* }" "$2" "$secs" 2>"$tmp/ledger.err") ||
		fail "ledger failed: $(cat "$tmp/ledger.err")"
	echo "$out" | ledger_rate "$secs" || fail "ledger: writes failed on a healthy cluster: $out"
}

echo "bench: cluster write throughput, 1 node vs 3 nodes (sync standby)"
up 1 "$one"
up 3 "$three"
for w in $windows; do
	best1=0
	best3=0
	for i in $(seq 1 "$reps"); do
		r1=$(rate "$one" "$w")
		r3=$(rate "$three" "$w")
		echo "bench: inflight $w, run $i: 1 node $r1 writes/s, 3 nodes $r3 writes/s"
		if [ "$r1" -gt "$best1" ]; then best1=$r1; fi
		if [ "$r3" -gt "$best3" ]; then best3=$r3; fi
	done
	ratio=$(awk "BEGIN { printf \"%.2f\", $best3 / $best1 }")
	echo "single_node_writes_per_s=$best1 replicated_writes_per_s=$best3 ratio=$ratio" \
		"(goal >= 0.3) $(verdict "$best3 / $best1 >= 0.3")" \
		"[inflight $w, best of $reps runs of $secs s]"
done
"$H" down --dir "$one" >/dev/null 2>&1

# ---- failover ----

# first_ack LEDGER TK: the time (epoch ms) of the first acknowledgment from
# the new leader, if there is one yet. TK is when the kill was done: every
# acknowledgment stamped up to then came from the old leader, and the new
# leader's indexes follow the highest of them (it holds every acknowledged
# write). Acknowledgments read just after TK may still be the old leader's
# last replies; 20 ms leave them out.
first_ack() {
	awk -v tk="$2" '
	$1 == "ack" {
		t = substr($4, 3) + 0
		if (t <= tk) { if ($3 + 0 > hi) hi = $3 + 0; next }
		if (t > tk + 20 && $3 + 0 > hi) { printf "%.0f\n", t; found = 1; exit }
	}
	END { exit !found }' "$1"
}

# log_ms LOG TEXT T0: milliseconds from T0 (epoch ms) to the first line of
# LOG from T0 on that holds TEXT; "?" when there is none. The log's stamps
# are UTC with milliseconds: 2026-11-28T10:12:06.338Z.
log_ms() {
	awk -v text="$2" -v t0="$3" '
	index($0, text) {
		s = $1
		d = ((substr(s, 12, 2) * 60 + substr(s, 15, 2)) * 60 + substr(s, 18, 6)) * 1000 \
			- t0 % 86400000
		if (d < -43200000) d += 86400000
		if (d >= 0) { printf "%d", d; found = 1; exit }
	}
	END { if (!found) printf "?" }' "$1"
}

echo "bench: failover, $rounds rounds of kill -9 of the leader"
: >"$tmp/failover"
for i in $(seq 1 "$rounds"); do
	"$H" wait-healthy --dir "$three" --timeout 30 >/dev/null 2>&1 ||
		fail "the 3-node cluster is not healthy before failover round $i"
	old=$(leader "$three")
	old=${old%% *}
	[ -n "$old" ] || fail "no leader before failover round $i"
	led=$tmp/failover.$i.ledger
	"$SIM" ledger --cluster "$three/cluster.json" --out "$led" --client "f$i" --rate 0 \
		--inflight 8 --duration 60 --stamps >"$led.out" 2>&1 &
	ledger_pid=$!
	sleep 1
	t0=$(now_ms)
	"$H" kill "$old" --dir "$three" || fail "could not kill $old"
	tk=$(now_ms)
	until t=$(first_ack "$led" "$tk"); do
		kill -0 "$ledger_pid" 2>/dev/null || fail "the ledger stopped: $(cat "$led.out")"
		[ "$(now_ms)" -lt $((tk + 20000)) ] ||
			fail "round $i: no write acknowledged 20 s after $old was killed"
		sleep 0.1
	done
	kill "$ledger_pid"
	{ wait "$ledger_pid"; } 2>/dev/null || true
	ledger_pid=""
	new=$(leader "$three")
	new=${new%% *}
	if [ -z "$new" ] || [ "$new" = "$old" ]; then
		fail "round $i: no new leader after $old (got '$new')"
	fi
	ms=$((t - t0))
	echo "$ms" >>"$tmp/failover"
	nlog=$three/$new/kefud.log
	echo "bench: failover $i: $old killed, $new leads, first write acknowledged after $ms ms" \
		"(kill done +$((tk - t0)), link to $old down +$(log_ms "$nlog" "link down leader=$old" "$t0")," \
		"elected +$(log_ms "$nlog" "elected leader=$new" "$t0")," \
		"serving +$(log_ms "$nlog" "serving leader=$new" "$t0"))"
	"$H" start "$old" --dir "$three" || fail "could not start $old again"
done
"$H" wait-healthy --dir "$three" --timeout 30 >/dev/null 2>&1 ||
	fail "the 3-node cluster is not healthy after the last failover round"

sort -n "$tmp/failover" | awk '
	{ v[NR] = $1 }
	END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "failover_median_ms=%d (goal < 3000) %s [%d rounds, min %d ms, max %d ms]\n",
			m, m < 3000 ? "met" : "NOT met", NR, v[1], v[NR]
	}'
