#!/bin/sh
# kefud watches its BOSS inbox: files are applied once their .chk is there
# (a .dat alone is left alone) and the inbox has settled (a delivery copied
# in file by file is taken whole), applied files move to the archive, a bad one
# to the rejected folder with its report; the retention job prunes old CDRs.
# kefuctl reads the same database while kefud runs.
. "$(dirname "$0")/lib.inc"
KEFUD="$KEFU_BIN/kefud"
mkdir -p "$T/data" "$T/inbox" "$T/archive" "$T/rejected"
"$SIM" boss --out "$T/gen" --users 200 --seed 3 >/dev/null
"$KEFUD" --set data_dir="$T/data" --set boss_inbox="$T/inbox" --set boss_archive="$T/archive" \
	--set boss_rejected="$T/rejected" --set boss_poll_interval=100ms \
	--set retention_interval=300ms --set metrics_addr= 2>"$T/log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$T"' EXIT

wait_for() { # description, shell condition
	i=0
	until eval "$2"; do
		i=$((i + 1))
		[ $i -lt 300 ] || fail "timed out waiting for $1: $(tail -n 5 "$T/log")"
		kill -0 $pid 2>/dev/null || fail "kefud died: $(tail -n 20 "$T/log")"
		sleep 0.1
	done
	ok
}

# The data files first, without their .chk: still being written, untouched.
cp "$T"/gen/*_000001.dat "$T/inbox/"
sleep 0.5
[ "$(ls "$T/inbox" | wc -l)" -eq 6 ] || fail "a .dat without .chk was moved"
ok
cp "$T"/gen/*_000001.chk "$T/inbox/"
wait_for "all six files archived" '[ "$(ls "$T/archive"/*.dat 2>/dev/null | wc -l)" -eq 6 ]'
grep -q 'applied SC_USER_20261101020000_000001.dat 200' "$T/log" || fail "no applied line in the log"
ok
msisdn=$(head -n 1 "$T"/gen/*_USER_*_000001.dat | cut -d'|' -f3)
uid=$(head -n 1 "$T"/gen/*_USER_*_000001.dat | cut -d'|' -f2)
found "$T/data" "$msisdn"

# A delivery copied in file by file, the CDR file (of a user the USER file
# adds) before the USER file: the inbox is scanned only once it has been
# quiet for boss_settle (1 s), so the CDR is not rejected in between.
cust=$(head -n 1 "$T"/gen/*_CUST_*_000001.dat | cut -d'|' -f2)
printf 'A|8899000001|13899000001|%s|GSM|P1|1|20261101120000|3|0|0\n' "$cust" |
	dat SC_USER_20261102010000_000002.dat >/dev/null
printf 'A|8899000001|20261130101010|60|10086|MO|成都|0\n' | dat SC_CDR_20261102010000_000002.dat >/dev/null
cp "$T"/in/SC_CDR_* "$T/inbox/"
sleep 0.4
[ -f "$T/inbox/SC_CDR_20261102010000_000002.dat" ] || fail "the CDR file was taken before the delivery settled"
ok
cp "$T"/in/SC_USER_* "$T/inbox/"
rm -f "$T"/in/*
wait_for "the late USER file and the CDR applied" \
	'[ -f "$T/archive/SC_USER_20261102010000_000002.dat" ] && [ -f "$T/archive/SC_CDR_20261102010000_000002.dat" ]'
"$KEFUCTL" dump --db "$T/data" --table cdr | grep -q "^cdr	8899000001|" || fail "the CDR of the new user is missing"
ok

# A bad file goes to the rejected folder with its report.
printf 'M|NOBODY|13800000001|C1|x|P1|1|20200101120000|3|0|0\n' | dat SC_USER_20261102020000_000003.dat >/dev/null
mv "$T"/in/* "$T/inbox/"
wait_for "the bad file rejected" '[ -f "$T/rejected/SC_USER_20261102020000_000003.dat.report" ]'
grep -q '^reason: line 1: USER M: user_id NOBODY does not exist$' \
	"$T/rejected/SC_USER_20261102020000_000003.dat.report" || fail "report: $(cat "$T"/rejected/*.report)"
ok

# A CDR from 2020 is past the 6 months kept: the retention job removes it.
printf 'A|%s|20200105101010|60|10086|MO|成都|0\n' "$uid" | dat SC_CDR_20261102020000_000003.dat >/dev/null
mv "$T"/in/* "$T/inbox/"
wait_for "the old CDR applied" '[ -f "$T/archive/SC_CDR_20261102020000_000003.dat" ]'
wait_for "the old CDR pruned" '! "$KEFUCTL" dump --db "$T/data" --table cdr | grep -q 20200105101010'
"$KEFUCTL" dump --db "$T/data" --table cdr | grep -q "^cdr	$uid|" || fail "recent CDRs were pruned too"
ok

kill -TERM $pid
wait $pid || fail "kefud exited $? on SIGTERM"
ok
done_ok
