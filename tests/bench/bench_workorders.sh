#!/bin/sh
# The work-order write figure of `make bench` (run.sh runs this after the
# routing bench; it also runs alone). Two three-node clusters on loopback
# of the same build, brought up by tests/cluster/harness under
# build/bench-tmp/workorders/raw and .../orders (no Redis: orders do not
# use it), and an agent account a01 to own the orders. Two, because the raw
# writes' probe keys land in table meta, beside the log's state that every
# commit rewrites: a cluster that has taken 150,000 of them makes every
# later commit write two more branch pages of meta, which no cluster in
# service has (docs/workflow.md). Only one cluster is loaded at a time.
# Then, alternately, BENCH_WO_REPS times each, against its leader:
#   1. the raw replicated write rate: `kefu-sim ledger --rate 0` keeps 64
#      one-key writes in flight for BENCH_WO_SECS seconds (acknowledged
#      writes / seconds, as bench_cluster.sh counts them);
#   2. order writes: `kefu-sim orders` keeps 64 requests in flight for as
#      long: each order an OrderCreate, then its dispatch once the create is
#      answered, each a replicated write that the leader checks against the
#      stored order (writes acknowledged / seconds).
# The best run of each is kept; the figure is their ratio. Then the audit
# chain: every order write adds an audit entry, which the leader seals into
# the hash chain; `kefuctl audit verify` on the leader says how many were
# still pending right after the last order run and how long until none is
# (docs/security.md: the chain keeps up with the log). Beside the figure,
# where each kind of write goes, summed over its runs, for the leader and
# for the followers (the mean of the two): the page cache a write dirtied
# (write_bytes of /proc/PID/io / 1024 / writes acknowledged: the kernel
# counts each folio it dirties whole, so this is more than the pages LMDB
# writes, and the disk figures below say what reached the disk), how busy the
# writer thread was (kefu_writer_busy_seconds_total / run time), the
# process's CPU per write (/proc/PID/stat) and the writes per commit
# (kefu_writer_commits_total); and for the three nodes together, the write
# requests the disk under build/bench-tmp completed and the kilobytes it
# wrote per write (/proc/diskstats: the whole device, so other work on the
# machine adds to it): docs/workflow.md reads them.
# Timings never fail the run; a step that fails (no cluster, no leader, a
# write refused on a healthy cluster) does, with the node logs' tails shown.
# Every process is started and stopped by PID (the harness's own `down`).
# BENCH_KEEP=1 keeps build/bench-tmp/workorders.
set -eu
cd "$(dirname "$0")/../.."

secs=${BENCH_WO_SECS:-4}
reps=${BENCH_WO_REPS:-3}
inflight=64
tmp=build/bench-tmp/workorders
. tests/bench/lib.inc
CJR=$tmp/raw/cluster.json
CJO=$tmp/orders/cluster.json

cleanup() {
	"$H" down --dir "$tmp/raw" >/dev/null 2>&1 || true
	"$H" down --dir "$tmp/orders" >/dev/null 2>&1 || true
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
	for f in "$tmp"/raw/node*/kefud.log "$tmp"/orders/node*/kefud.log; do
		[ -f "$f" ] || continue
		echo "    --- $f" >&2
		tail -n 8 "$f" | sed 's/^/    /' >&2
	done
	exit 1
}

verdict() {
	awk "BEGIN { print (($1) ? \"met\" : \"NOT met\") }"
}

# leader CLUSTER_JSON: the address of its leader, nothing when there is none.
leader() { leader_of "$1" | cut -d' ' -f2; }

# field NAME LINE: the value of NAME=... in LINE.
field() {
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# raw_rate: acknowledged writes per second of one ledger run against the
# leader; its lines go to /dev/null (the client's file is not timed).
raw_rate() {
	addr=$(leader "$CJR")
	[ -n "$addr" ] || fail "no leader"
	out=$(ledger_run "$CJR" "$addr" "$inflight" "$secs" 2>"$tmp/ledger.err") ||
		fail "ledger failed: $(cat "$tmp/ledger.err")"
	echo "$out" | ledger_rate "$secs" || fail "ledger: writes failed on a healthy cluster: $out"
}

# order_run: one `kefu-sim orders` run against the leader; its line in $orders.
order_run() {
	addr=$(leader "$CJO")
	[ -n "$addr" ] || fail "no leader"
	orders=$("$SIM" orders --cluster "$CJO" --node "$addr" --owner a01 \
		--inflight "$inflight" --duration "$secs" 2>"$tmp/orders.err") ||
		fail "kefu-sim orders failed: $(cat "$tmp/orders.err")"
	[ "$(field errors "$orders")" = 0 ] && [ -n "$(field writes_per_s "$orders")" ] ||
		fail "kefu-sim orders: changes refused on a healthy cluster: $orders" \
			"$(head -n 5 "$tmp/orders.err")"
}

# snap CLUSTER_JSON: one line per node, "name write_bytes cpu_ticks
# writer_busy_s commits".
snap() {
	python3 - "$1" <<'PY'
import json, sys, urllib.request
for n in json.load(open(sys.argv[1]))["nodes"]:
    pid = n["pid"]
    wb = [l.split()[1] for l in open("/proc/%d/io" % pid) if l.startswith("write_bytes:")][0]
    st = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    busy, commits = "0", "0"
    for l in urllib.request.urlopen(n["metrics"], timeout=5).read().decode().splitlines():
        if l.startswith("kefu_writer_busy_seconds_total "):
            busy = l.split()[1]
        elif l.startswith("kefu_writer_commits_total "):
            commits = l.split()[1]
    print(n["name"], wb, int(st[11]) + int(st[12]), busy, commits)
PY
}
# cost KIND CLUSTER_JSON BEFORE AFTER WRITES: adds the run between two
# snaps of the cluster to KIND's sums in $tmp/cost.KIND (one line per node
# and run: name, bytes, ticks, busy s, writes, leader name, commits).
cost() {
	ldr=$("$CTL" --cluster "$2" status --json 2>/dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin).get("leader") or "")')
	printf '%s\n%s\n' "$3" "$4" | awk -v w="$5" -v l="$ldr" \
		'{ if ($1 in b) print $1, $2 - b[$1], $3 - t[$1], $4 - u[$1], w, l, $5 - c[$1]
		  else { b[$1] = $2; t[$1] = $3; u[$1] = $4; c[$1] = $5 } }' \
		>>"$tmp/cost.$1"
}
# disk: "requests sectors" the device under $tmp has written so far, "0 0"
# when it is no block device of /proc/diskstats (tmpfs, overlay).
dev=$(df -P "$tmp" | awk 'NR == 2 { sub("^/dev/", "", $1); print $1 }')
disk() {
	awk -v d="$dev" '$3 == d { print $8, $10; f = 1 } END { if (!f) print 0, 0 }' /proc/diskstats
}
# disk_cost KIND BEFORE AFTER WRITES: adds a run's disk writes to KIND's sums.
disk_cost() {
	printf '%s %s %s\n' "$2" "$3" "$4" | awk '{ print $3 - $1, $4 - $2, $5 }' >>"$tmp/disk.$1"
}
# disk_costs KIND: "disk_requests_per_write=R kb_per_write=K" of KIND.
disk_costs() {
	awk '{ r += $1; s += $2; w += $3 }
	END { if (r) printf " disk_requests_per_write=%.2f kb_per_write=%.1f", r / w, s / 2 / w }' "$tmp/disk.$1"
}
# costs KIND: "dirtied_kb_per_write=L/F writer_busy=L/F cpu_us_per_write=L/F
# writes_per_commit=L/F" of KIND.
costs() {
	awk -v hz="$(getconf CLK_TCK)" -v secs="$secs" '
	{ r = ($1 == $6) ? "l" : "f"; b[r] += $2; t[r] += $3; u[r] += $4; w[r] += $5; c[r] += $7; n[r]++ }
	END {
		printf "dirtied_kb_per_write=%.1f/%.1f writer_busy=%.2f/%.2f cpu_us_per_write=%.1f/%.1f writes_per_commit=%.1f/%.1f",
			b["l"] / 1024 / w["l"], b["f"] / 1024 / w["f"],
			u["l"] / (n["l"] * secs), u["f"] / (n["f"] * secs),
			t["l"] * 1e6 / hz / w["l"], t["f"] * 1e6 / hz / w["f"],
			w["l"] / (c["l"] ? c["l"] : 1), w["f"] / (c["f"] ? c["f"] : 1)
	}' "$tmp/cost.$1"
}

echo "bench: work orders: two three-node clusters, one for the raw writes, one for the orders"
for c in raw orders; do
	"$H" up --nodes 3 --dir "$tmp/$c" --no-redis >"$tmp/up.$c.out" 2>&1 ||
		{ tail -n 20 "$tmp/up.$c.out" >&2; fail "the $c cluster did not come up"; }
done
printf 'bench-agent-1' >"$tmp/pw"
"$CTL" --cluster "$CJO" agent add --id a01 --name A --skills general:5 \
	--password-file "$tmp/pw" >"$tmp/agent.out" 2>&1 ||
	fail "agent add a01: $(cat "$tmp/agent.out")"

best_raw=0
best_ord=0
best_line=""
pairs=""
for i in $(seq 1 "$reps"); do
	s0=$(snap "$CJR")
	d0=$(disk)
	raw=$(raw_rate)
	s1=$(snap "$CJR")
	d1=$(disk)
	o1=$(snap "$CJO")
	order_run
	o2=$(snap "$CJO")
	d2=$(disk)
	rate=$(field writes_per_s "$orders")
	cost raw "$CJR" "$s0" "$s1" $((raw * secs))
	cost orders "$CJO" "$o1" "$o2" "$(field writes "$orders")"
	disk_cost raw "$d0" "$d1" $((raw * secs))
	disk_cost orders "$d1" "$d2" "$(field writes "$orders")"
	echo "bench: run $i: raw $raw writes/s, orders $rate writes/s" \
		"($(field orders_created "$orders") creates, $(field transitions "$orders") transitions)"
	pairs="$pairs${pairs:+,}$(awk "BEGIN { if ($raw > 0) printf \"%.2f\", $rate / $raw }")"
	if [ "$raw" -gt "$best_raw" ]; then best_raw=$raw; fi
	if [ "$rate" -gt "$best_ord" ]; then best_ord=$rate; best_line=$orders; fi
done

# pending: entries of the leader's audit table not sealed yet.
pending() {
	"$CTL" --cluster "$CJO" audit verify --node "$(leader "$CJO")" --json 2>/dev/null |
		python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["pending"] if d.get("intact") else "broken")'
}
audit_t0=$(date +%s%N)
audit_pending=$(pending) || fail "audit verify failed"
[ "$audit_pending" != broken ] || fail "the audit chain is broken"
left=$audit_pending
while [ "$left" != 0 ]; do
	[ $(( ($(date +%s%N) - audit_t0) / 1000000000 )) -lt 120 ] || fail "audit entries still pending after 120 s: $left"
	sleep 0.2
	left=$(pending) || fail "audit verify failed"
	[ "$left" != broken ] || fail "the audit chain is broken"
done
audit_ms=$(( ($(date +%s%N) - audit_t0) / 1000000 ))

[ "$best_raw" -gt 0 ] || fail "no raw write was acknowledged"
ratio=$(awk "BEGIN { printf \"%.2f\", $best_ord / $best_raw }")
echo "order_writes_per_s=$best_ord raw_writes_per_s=$best_raw ratio=$ratio (goal >= 0.5)" \
	"$(verdict "$best_ord / $best_raw >= 0.5")" \
	"[creates $(field orders_created "$best_line"), transitions $(field transitions "$best_line")," \
	"inflight $inflight, best of $reps runs of $secs s; each run's orders/raw $pairs]"
echo "where_raw_writes_go $(costs raw)$(disk_costs raw)" \
	"where_order_writes_go $(costs orders)$(disk_costs orders)" \
	"[leader/followers, summed over the runs: page cache KB dirtied per write, share of the run" \
	"the writer thread was busy, the process's CPU per write, writes per commit; the three" \
	"nodes' disk: write requests and KB per write]"
echo "audit_pending_after_orders=$audit_pending audit_sealed_after_ms=$audit_ms" \
	"[entries of the leader's audit table not in the hash chain when the last order run ended," \
	"and the time until every one was]"
