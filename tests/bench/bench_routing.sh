#!/bin/sh
# The routing bench (run by run.sh; see README.md): a three-node cluster
# with Redis and Sentinels from tests/cluster/harness, under
# build/bench-tmp/routing, taken down by PID at the end whatever happens.
#   1. routing decisions per second through the cluster: kefu-sim traffic
#      at BENCH_ROUTING_RATE calls/s (default 10000, more than the cluster
#      takes here: calls it refuses as busy are presented again)
#      from unknown numbers with a few agents that stay busy, so every call
#      is one decision (one arrive step finding no agent ready);
#      callers hang up after about 1 s, which keeps the live calls under
#      each node's limit. The figure counts the steady window only: the
#      cluster's own count of calls queued (rt:<tier> "offered" in Redis,
#      read in one script call) is sampled once arrivals have run for 1 s
#      and again 2 s before they stop, each sample timed on the clock;
#      decisions = its growth / the time between the samples;
#   2. the raw EVALSHA rate of the same arrive script on the same Redis
#      primary, in the same run: redis-benchmark with one connection per
#      node (each node sends its steps on one Redis connection), each time
#      for a new call id, with no agent ready (the same path as in 1);
#   3. offer latency at 1,000 calls/s: kefu-sim traffic's route latency
#      (route_latency_us: CallArrived sent -> Offer at the agent for a call
#      that found a ready agent, the agent's request to be ready -> Offer
#      for one that waited), with enough agents on short calls (ring 50 ms,
#      talk 100 ms, wrap-up 50 ms: 300 agents take ~1,400 calls/s) that
#      calls find an agent ready; run first, since the overload of 1 leaves
#      calls in the queues (callers hung up while Redis timed out) that
#      would be offered before new ones. Beside it, once calls flow, the
#      floor: bench_hops times a message around four relay processes that
#      do nothing (an offer crosses four processes), every 5 ms for half
#      the run, under the same load;
#   4. the cost of the interval statistics on the routing path: two fresh
#      clusters side by side, one with them on (stats_interval 15m), one
#      the same but for stats_interval = 0, BENCH_ROUTING_OPS_PAIRS (2)
#      such pairs one after the other: (a) both loaded at the same time,
#      each at half of BENCH_ROUTING_OPS_CPU_RATE (default 5000) calls/s,
#      which both take whole, BENCH_ROUTING_OPS_REPS (3) windows per pair:
#      the CPU each decision costs (the three nodes' and the Redis
#      primary's CPU time over the window / the decisions in it); the
#      figure is decisions per CPU second on / off (the capacity a core
#      gives), the median over the windows; (b) decisions as in 1 at
#      BENCH_ROUTING_OPS_RATE (default 20000) calls/s, twice what a
#      cluster takes, on / off, one cluster at a time, printed beside it:
#      on two shared cores the same cluster's figure there varies by a
#      third from run to run.
# Timings never fail the run; a step that fails (no cluster, no sample) does.
set -eu
cd "$(dirname "$0")/../.."

rate=${BENCH_ROUTING_RATE:-10000}
secs=${BENCH_ROUTING_SECS:-8}
lat_secs=${BENCH_ROUTING_LAT_SECS:-20}
lat_agents=${BENCH_ROUTING_LAT_AGENTS:-300}
ops_rate=${BENCH_ROUTING_OPS_RATE:-20000}
ops_cpu_rate=${BENCH_ROUTING_OPS_CPU_RATE:-5000}
# Extra harness options, e.g. "--redis-plain --etcd-plain" to measure
# over plain transport (as a build from before TLS was the default did).
harness_args=${BENCH_ROUTING_HARNESS_ARGS:-}
tmp=build/bench-tmp/routing
H=tests/cluster/harness
SIM=bin/kefu-sim
CJ=$tmp/cluster.json

rm -rf "$tmp"
mkdir -p "$tmp"
cleanup() {
	"$H" down --dir "$tmp" >/dev/null 2>&1 || true
	for x in "$tmp"/on* "$tmp"/off*; do
		[ ! -d "$x" ] || "$H" down --dir "$x" >/dev/null 2>&1 || true
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "bench_routing: $*" >&2; exit 1; }
verdict() { awk "BEGIN { print (($1) ? \"met\" : \"NOT met\") }"; }
# json FILE EXPR: a value of the JSON in FILE (d is the document).
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

echo "bench: routing: three-node cluster with Redis and Sentinels"
# shellcheck disable=SC2086
"$H" up --nodes 3 --dir "$tmp" $harness_args >"$tmp/up.out" 2>&1 || { tail -n 20 "$tmp/up.out" >&2; die "cluster did not come up"; }

# redis_of: primary, port, pass and tls of the cluster of $CJ: the Redis
# primary the sentinels name, as the nodes use it, with TLS as they use it
# (the harness's default; nothing under --redis-plain).
redis_of() {
	primary=$(json "$CJ" '[r["addr"] for r in d["redis"] if r["role"] == "master"][0]')
	port=${primary##*:}
	pass=$(json "$CJ" 'd["redis_password"]')
	tls=$(json "$CJ" '"--tls --cacert %s/certs/ca.crt --cert %s/certs/redis.crt --key %s/certs/redis.key" % ((sys.argv[1].rsplit("/", 1)[0],) * 3) if d.get("redis_tls") else ""')
}
redis_of
nodes=$(json "$CJ" 'len(d["nodes"])')
# shellcheck disable=SC2086
rcli() { REDISCLI_AUTH=$pass redis-cli $tls -h 127.0.0.1 -p "$port" "$@"; }
rcli ping >/dev/null || die "Redis primary $primary does not answer"

# calls_queued: the sum of "offered" over every rt:<tier> counter of the
# cluster, read in one round trip.
calls_queued() {
	rcli eval "local n = 0
for _, k in ipairs(redis.call('keys', ARGV[1])) do
	n = n + tonumber(redis.call('hget', k, 'offered') or 0)
end
return n" 0 'kefu:*:rt:[0-9]'
}
# first_call BEFORE PID: waits (60 s at most) until the cluster has queued a
# call since calls_queued read BEFORE, or simulator PID has exited.
# Arrivals start once every agent is logged in and ready.
first_call() {
	waited=0
	while [ "$(calls_queued)" -le "$1" ] && kill -0 "$2" 2>/dev/null; do
		sleep 0.1
		waited=$((waited + 1))
		[ "$waited" -lt 600 ] || { kill "$2"; die "no call queued within 60 s"; }
	done
}
# 3. Offer latency at 1,000 calls/s, first, on the fresh cluster: the
# overload of step 1 leaves calls queued that would be offered first.
echo "bench: routing: 1000 calls/s for $lat_secs s ($lat_agents agents, short calls)"
before=$(calls_queued)
timeout $((lat_secs + 180)) "$SIM" traffic --cluster "$CJ" --agents "$lat_agents" --prefix lat \
	--rate 1000 --duration "$lat_secs" --unknown 1000 --handle 100 --wrap 50 --ring 50 \
	--no-answer 0 --patience 600000 --seed 12 --json >"$tmp/lat.json" 2>"$tmp/lat.err" &
sim=$!
# The floor under the same load: once calls flow, a message around four
# relays that do nothing (bench_hops), every 5 ms for about 10 s.
first_call "$before" "$sim"
floor=$(build/rel/bench/bench_hops --hops 4 --count $((lat_secs * 100)) --period-us 5000) ||
	{ kill "$sim" 2>/dev/null; die "bench_hops failed"; }
wait "$sim" || { tail -n 20 "$tmp/lat.err" >&2; die "kefu-sim traffic (latency) failed"; }
# ms with two decimals from the simulator's us figures.
lat() { json "$tmp/lat.json" "'%.2f' % (d['route_latency_us']['$1'] / 1000.0) if d['route_latency_us']['$1'] is not None else None"; }
p50=$(lat p50)
p99=$(lat p99)
max=$(lat max)
n=$(json "$tmp/lat.json" 'd["route_latency_us"]["samples"]')
once=$(json "$tmp/lat.json" 'd["route_latency_us"]["at_once"]')
[ "$p99" != None ] || die "no offer latency sample"
echo "offer_latency_p50_ms=$p50 offer_latency_p99_ms=$p99 (goal p99 < 2 at 1000 calls/s)" \
	"$(verdict "$p99 < 2")" "[$n offers, $once to an agent ready at arrival, max $max ms]"
# ms from bench_hops' us figures.
hop() { echo "$floor" | awk -v k="hop_floor_$1_us" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) printf "%.2f", kv[2] / 1000 } }'; }
[ -n "$(hop p99)" ] || die "bench_hops gave no figure: $floor"
echo "hop_floor_p50_ms=$(hop p50) hop_floor_p99_ms=$(hop p99) (four loopback hops that do no work, under the same load:" \
	"no offer is faster) [$(echo "$floor" | cut -d' ' -f2), max $(hop max) ms]"

# evalsha_calls: EVALSHA commands Redis has run since it started.
evalsha_calls() {
	rcli info commandstats | awk -F'[=,:]' '/^cmdstat_evalsha:/ { print $3 }' | tr -d '\r'
}
# node_cpu_us: CPU time (user + system) the cluster's kefud processes have
# used, in µs.
node_cpu_us() {
	for f in "${CJ%/*}"/node*.pid; do cat "/proc/$(cat "$f")/stat"; done |
		awk -v hz="$(getconf CLK_TCK)" '{ t += $14 + $15 } END { printf "%d", t * 1e6 / hz }'
}
# redis_cpu_us: CPU time the Redis primary has used (its own, not its
# children's), in µs.
redis_cpu_us() {
	rcli info cpu | tr -d '\r' | awk -F: '$1 == "used_cpu_sys" || $1 == "used_cpu_user" { t += $2 }
		END { printf "%d", t * 1e6 }'
}
# sample: "<calls queued> <evalsha calls> <ns> <nodes' CPU µs> <Redis CPU µs>",
# the time taken between the reads.
sample() {
	s0=$(date +%s%N)
	q=$(calls_queued)
	x=$(evalsha_calls)
	c=$(node_cpu_us)
	r=$(redis_cpu_us)
	s1=$(date +%s%N)
	echo "$q ${x:-0} $(((s0 + s1) / 2)) $c $r"
}

# traffic RATE NAME: kefu-sim traffic at RATE calls/s into the cluster of
# $CJ for $secs s in the background (its PID in sim; NAME.json and
# NAME.err in $tmp), as 1 and 4 load it: unknown callers, 10 agents that
# stay busy, callers who hang up after 1 s.
traffic() {
	timeout $((secs + 120)) "$SIM" traffic --cluster "$CJ" --agents 10 --prefix "$2" --rate "$1" \
		--duration "$secs" --unknown 1000 --handle 600000 --patience 1000 --no-answer 0 \
		--gateways 3 --seed 11 --json >"$tmp/$2.json" 2>"$tmp/$2.err" &
	sim=$!
}
# window_of S0 S1: from two samples, sets window (s), cluster_rate and
# evalsha_rate (per s), q0, q1, and node_us and redis_us: the nodes' and
# the Redis primary's CPU µs per decision.
window_of() {
	set -- $1 $2
	q0=$1 x0=$2 t0=$3 c0=$4 r0=$5 q1=$6 x1=$7 t1=$8 c1=$9 r1=${10}
	window=$(awk "BEGIN { printf \"%.2f\", ($t1 - $t0) / 1e9 }")
	cluster_rate=$(awk "BEGIN { printf \"%d\", ($q1 - $q0) / (($t1 - $t0) / 1e9) }")
	evalsha_rate=$(awk "BEGIN { printf \"%d\", ($x1 - $x0) / (($t1 - $t0) / 1e9) }")
	[ "$cluster_rate" -gt 0 ] || die "no call was queued by the cluster"
	node_us=$(awk "BEGIN { printf \"%.1f\", ($c1 - $c0) / ($q1 - $q0) }")
	redis_us=$(awk "BEGIN { printf \"%.1f\", ($r1 - $r0) / ($q1 - $q0) }")
}
# decisions RATE NAME: decisions per second through the cluster of $CJ,
# over the steady window of arrivals at RATE calls/s (1 and 4 below); sets
# what window_of sets, and sent.
decisions() {
	before=$(calls_queued)
	traffic "$1" "$2"
	first_call "$before" "$sim"
	sleep 1
	s0=$(sample)
	sleep $((secs - 3))
	s1=$(sample)
	wait "$sim" || { tail -n 20 "$tmp/$2.err" >&2; die "kefu-sim traffic ($2) failed"; }
	window_of "$s0" "$s1"
	sent=$(json "$tmp/$2.json" 'sum(t["offered"] for t in d["tiers"].values())')
}

# 1. Decisions through the cluster, over the steady window of arrivals.
[ "$secs" -ge 4 ] || die "BENCH_ROUTING_SECS must be 4 or more"
echo "bench: routing: $rate calls/s offered for $secs s (10 busy agents, unknown callers)"
decisions "$rate" thr

# 2. The same script straight on the same Redis: the arrival of a new call
# (its own id each time: __rand_int__), no agent ready, as in 1.
sha=$(rcli script load "$(node/routing/embed.sh text arrive)")
p=kefu:bench:
arrive_args() { # CALL_ID
	echo "${p}epoch ${p}call:$1 ${p}strategy ${p}seq ${p}offers ${p}q:general ${p}ready:general" \
		"1 1000 1000 0 0 60000 bench gw 17000000000 10010 '' 12000 1"
}
raw_rate=$(eval redis-benchmark $tls -h 127.0.0.1 -p "$port" -a "$pass" -c "$nodes" -n 100000 -r 1000000000 \
	--csv evalsha "$sha" 7 "$(arrive_args b__rand_int__)" 2>/dev/null |
	awk -F'"' 'NR > 1 && $4 != "" { printf "%d", $4; exit }')
[ -n "$raw_rate" ] && [ "$raw_rate" -gt 0 ] || die "redis-benchmark gave no rate"
got=$(eval rcli evalsha "$sha" 7 "$(arrive_args check)" 2>&1 | tr '\n' ' ')
case "$got" in "queued "*) ;; *) die "arrive did not run cleanly on the bench call: $got" ;; esac
rcli eval "local n = 0
for _, k in ipairs(redis.call('keys', ARGV[1])) do redis.call('del', k); n = n + 1 end
return n" 0 "${p}*" >/dev/null

ratio=$(awk "BEGIN { printf \"%.2f\", $cluster_rate / $raw_rate }")
echo "cluster_decisions_per_s=$cluster_rate raw_evalsha_per_s=$raw_rate ratio=$ratio (goal >= 0.5)" \
	"$(verdict "$cluster_rate / $raw_rate >= 0.5")" \
	"[arrive; $((q1 - q0)) calls queued in the ${window} s window ($sent offered by the simulator);" \
	"EVALSHA of every step in the window: $evalsha_rate/s; raw: $nodes connections, one per node]"

# 4. The cost of the interval statistics (docs/ops.md) on the routing path:
# two fresh clusters side by side, statistics on (stats_interval 15m) in
# onN and off (stats_interval = 0) in offN, BENCH_ROUTING_OPS_PAIRS pairs
# one after the other. (a) Both clusters of a pair loaded at once, each at
# half of ops_cpu_rate calls/s, over BENCH_ROUTING_OPS_REPS windows: what
# else runs on the machine meanwhile weighs on both alike, where clusters
# measured one after the other differed by a fifth. The figure: decisions
# per CPU second on / off, the median over every window. (b) Decisions per
# second at ops_rate calls/s, about twice what a cluster takes, one
# cluster at a time, printed beside it (there the same cluster's figure
# varies by a third from run to run).
pairs=${BENCH_ROUTING_OPS_PAIRS:-2}
reps=${BENCH_ROUTING_OPS_REPS:-3}
half=$((ops_cpu_rate / 2))
echo "bench: routing: interval statistics on and off: CPU per decision with both clusters at" \
	"$half calls/s at once, $pairs pairs x $reps windows; decisions at $ops_rate calls/s, $secs s each"
"$H" down --dir "$tmp" >/dev/null 2>&1 || true
# up NAME EXTRA...: a fresh cluster in $tmp/NAME; its cluster.json and
# Redis primary kept for use NAME.
up() {
	name=$1; shift
	mkdir -p "$tmp/$name"
	CJ=$tmp/$name/cluster.json
	# shellcheck disable=SC2086
	"$H" up --nodes 3 --dir "$tmp/$name" $harness_args "$@" >"$tmp/up-$name.out" 2>&1 ||
		{ tail -n 20 "$tmp/up-$name.out" >&2; die "the cluster $name did not come up"; }
	redis_of
	eval "cj_$name=\$CJ port_$name=\$port pass_$name=\$pass tls_$name=\$tls"
}
# use NAME: the cluster of up NAME is the one the functions above read.
use() { eval "CJ=\$cj_$1 port=\$port_$1 pass=\$pass_$1 tls=\$tls_$1"; }
cpu_ratios="" redis_ratios="" on_all="" off_all="" rates=""
for i in $(seq 1 "$pairs"); do
	for d in "$tmp"/on* "$tmp"/off*; do [ ! -d "$d" ] || "$H" down --dir "$d" >/dev/null 2>&1 || true; done
	up "on$i"
	up "off$i" --extra 'stats_interval = 0'
	for k in $(seq 1 "$reps"); do
		use "on$i"; b_on=$(calls_queued); traffic "$half" "cpuon$i.$k"; sim_on=$sim
		use "off$i"; b_off=$(calls_queued); traffic "$half" "cpuoff$i.$k"; sim_off=$sim
		use "on$i"; first_call "$b_on" "$sim_on"
		use "off$i"; first_call "$b_off" "$sim_off"
		sleep 1
		use "on$i"; s_on0=$(sample)
		use "off$i"; s_off0=$(sample)
		sleep $((secs - 3))
		# The reverse order: both windows have the same middle.
		s_off1=$(sample)
		use "on$i"; s_on1=$(sample)
		wait "$sim_on" || { tail -n 20 "$tmp/cpuon$i.$k.err" >&2; die "kefu-sim traffic (on) failed"; }
		wait "$sim_off" || { tail -n 20 "$tmp/cpuoff$i.$k.err" >&2; die "kefu-sim traffic (off) failed"; }
		window_of "$s_on0" "$s_on1"
		on_us=$(awk "BEGIN { printf \"%.1f\", $node_us + $redis_us }") on_redis=$redis_us on_dec=$cluster_rate
		window_of "$s_off0" "$s_off1"
		off_us=$(awk "BEGIN { printf \"%.1f\", $node_us + $redis_us }") off_redis=$redis_us off_dec=$cluster_rate
		[ "$on_dec" -ge $((half * 9 / 10)) ] && [ "$off_dec" -ge $((half * 9 / 10)) ] ||
			echo "bench: routing: pair $i window $k: a cluster took less than it was offered" \
				"(on $on_dec, off $off_dec decisions/s of $half): its CPU per decision is not comparable"
		cpu_ratios="$cpu_ratios $(awk "BEGIN { printf \"%.3f\", $off_us / $on_us }")"
		redis_ratios="$redis_ratios $(awk "BEGIN { printf \"%.3f\", $off_redis / $on_redis }")"
		on_all="$on_all on=${on_us}us(${on_redis})/${on_dec}"
		off_all="$off_all off=${off_us}us(${off_redis})/${off_dec}"
	done
	use "on$i"; decisions "$ops_rate" "opson$i"; rates="$rates on=$cluster_rate"
	use "off$i"; decisions "$ops_rate" "opsoff$i"; rates="$rates off=$cluster_rate"
done
# median WORDS...: the median of numbers.
median() { echo "$@" | tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio=$(median $cpu_ratios)
on_med=$(median $(echo "$on_all" | tr ' ' '\n' | sed -n 's/^on=\([0-9.]*\)us.*/\1/p'))
off_med=$(median $(echo "$off_all" | tr ' ' '\n' | sed -n 's/^off=\([0-9.]*\)us.*/\1/p'))
echo "decisions_per_cpu_s_stats_on=$(awk "BEGIN { printf \"%d\", 1e6 / $on_med }")" \
	"decisions_per_cpu_s_stats_off=$(awk "BEGIN { printf \"%d\", 1e6 / $off_med }")" \
	"ratio=$ratio (goal >= 0.9)" "$(verdict "$ratio >= 0.9")" \
	"[nodes + Redis primary, both clusters at $half calls/s at once; the Redis primary alone (the" \
	"one thread every decision goes through): $(median $redis_ratios); the median of each window's" \
	"off/on:$cpu_ratios; us per decision (Redis's share)/decisions per s:$on_all;$off_all]"
best() { echo "$rates" | tr ' ' '\n' | sed -n "s/^$1=//p" | sort -n | tail -n 1; }
on_rate=$(best on) off_rate=$(best off)
echo "decisions_stats_on_per_s=$on_rate decisions_stats_off_per_s=$off_rate" \
	"ratio=$(awk "BEGIN { printf \"%.2f\", $on_rate / $off_rate }")" \
	"[at $ops_rate calls/s offered, one cluster at a time, best of each:$rates]"
