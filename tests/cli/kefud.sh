#!/bin/sh
# kefud's command line: --help lists every option, a bad configuration exits
# 2 with a message naming the problem, a missing data_dir exits 1, SIGTERM
# exits 0 after an orderly shutdown, SIGHUP applies reloadable options, a
# store written in a newer stored form exits 1.
set -eu
bin=${KEFU_BIN:-build/san/bin}/kefud
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

expect_exit() { # code, stderr pattern, args...
	want=$1; pat=$2; shift 2
	set +e
	"$bin" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	set -e
	[ "$rc" -eq "$want" ] || fail "kefud $*: exit $rc, expected $want: $(cat "$tmp/err")"
	grep -q -- "$pat" "$tmp/err" || fail "kefud $*: stderr lacks '$pat': $(cat "$tmp/err")"
}

# --help names every option of the table.
"$bin" --help >"$tmp/help"
for o in node_name data_dir map_size log_level boss_inbox boss_rejected boss_archive \
	boss_poll_interval retention_interval listen_addr cluster_name etcd_endpoints tls_ca lease_ttl \
	diamond_plan ordinary_ladder gold_max_wait general_strategy offer_timeout gateway_grace ring_progressive_step \
	province wo_complaint_first_response wo_appeal_solution wo_urgent_factor wo_tier4_factor \
	wo_calendar wo_calendars wo_holidays wo_timezone wo_escalate wo_visit_quiet wo_visit_delay \
	wo_visit_exclude wo_dispatch wo_default_group wo_categories dial_clock_file; do
	grep -q "^  $o = " "$tmp/help" || fail "--help lacks $o"
done

mkdir "$tmp/data"
printf 'data_dir = %s\nmap_size = 2T\n' "$tmp/data" >"$tmp/bad.conf"
expect_exit 2 'line 2: map_size: 2T is above the maximum 1T' --config "$tmp/bad.conf"
expect_exit 2 'data_dir: must be set'
expect_exit 2 'no.conf: No such file or directory' --config "$tmp/no.conf"
expect_exit 2 'unknown option "nope"' --set data_dir="$tmp/data" --set nope=1
expect_exit 2 'expected name=value' --set data_dir
expect_exit 2 'unknown argument' --bogus
expect_exit 2 'boss_rejected and boss_archive must be set' --set data_dir="$tmp/data" \
	--set boss_inbox="$tmp/in"
expect_exit 1 'init failed subsystem=storage' --set data_dir="$tmp/missing"
# Routing settings are checked at start too, each error naming its option.
expect_exit 2 'gold_ladder: the first step must start at 0s' --set data_dir="$tmp/data" \
	--set gold_ladder=billing:10s
expect_exit 2 'vip_strategy: unknown strategy "fastest"' --set data_dir="$tmp/data" \
	--set vip_strategy=fastest
expect_exit 2 'diamond_at_max: "hangup" is not callback or voicemail' --set data_dir="$tmp/data" \
	--set diamond_at_max=hangup
expect_exit 2 'province: "sc" is not two uppercase letters' --set data_dir="$tmp/data" \
	--set province=sc
# A work-order file that is missing or wrong stops the node before it starts.
expect_exit 2 "wo_dispatch: $tmp/none" --set data_dir="$tmp/data" --set wo_dispatch="$tmp/none"
printf 'complaint 话费 * Bad_Group\n' >"$tmp/dispatch"
expect_exit 2 "line 1" --set data_dir="$tmp/data" --set wo_dispatch="$tmp/dispatch"
expect_exit 2 "wo_escalate" --set data_dir="$tmp/data" --set wo_escalate=100%:lead,80%:supervisor
grep -q '^  wo_urgent_factor = "0.5"  (fraction, 0.01..1)' "$tmp/help" || fail "--help: wo_urgent_factor"

# Runs, reloads on SIGHUP, stops on SIGTERM with exit 0.
printf 'node_name = cli1\ndata_dir = %s\nlog_level = info\nmetrics_addr =\n' "$tmp/data" >"$tmp/k.conf"
: >"$tmp/log"
"$bin" --config "$tmp/k.conf" 2>>"$tmp/log" &
pid=$!
i=0
until grep -q 'running node=cli1' "$tmp/log"; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "kefud did not start: $(cat "$tmp/log")"
	sleep 0.1
done
printf 'node_name = cli2\ndata_dir = %s\nlog_level = warn\n' "$tmp/data" >"$tmp/k.conf"
kill -HUP $pid
i=0
until grep -q 'option=node_name changed' "$tmp/log"; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "no reload: $(cat "$tmp/log")"
	sleep 0.1
done
grep -q 'reload applied option=log_level value=warn' "$tmp/log" || fail "log_level not applied"
kill -TERM $pid
set +e
wait $pid
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "SIGTERM: exit $rc: $(cat "$tmp/log")"
[ -f "$tmp/data/data.mdb" ] || fail "no LMDB environment in data_dir"

# A store whose recorded form (meta store.format, docs/storage.md) is newer
# than this build's: kefud refuses it with exit 1 and says why, and leaves
# it as it was.
printf 'store.format\n999\n' | mdb_load -T -s meta "$tmp/data" 2>"$tmp/load.err" ||
	fail "mdb_load: $(cat "$tmp/load.err")"
expect_exit 1 'stored form 999 is newer than this build reads' --config "$tmp/k.conf"
mdb_dump -p -s meta "$tmp/data" | grep -qx ' 999' || fail "the recorded form changed"
echo "ok"
