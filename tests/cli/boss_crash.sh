#!/bin/sh
# kill -9 the importer halfway through a large file, run it again, and get
# exactly the database a clean import gives.
. "$(dirname "$0")/lib.inc"
USERS=${CRASH_USERS:-200000}
"$SIM" boss --out "$T/gen" --users "$USERS" --seed 7 --kinds CUST,USER >/dev/null
mkdir -p "$T/a" "$T/b"
cp "$T"/gen/*_000001.* "$T/a/"
cp "$T"/gen/*_000001.* "$T/b/"
cust_a=$(ls "$T"/a/*_CUST_*.dat); user_a=$(ls "$T"/a/*_USER_*.dat)
cust_b=$(ls "$T"/b/*_CUST_*.dat); user_b=$(ls "$T"/b/*_USER_*.dat)

# Clean import into db.clean.
expect_rc 0 "$KEFUCTL" import --db "$T/db.clean" "$cust_a" "$user_a"

# Crashed import into db.crash: customers first, then the users, killed halfway.
expect_rc 0 "$KEFUCTL" import --db "$T/db.crash" "$cust_b"
"$KEFUCTL" import --db "$T/db.crash" --progress "$user_b" >"$T/crash.out" 2>"$T/crash.err" &
pid=$!
half=$((USERS / 2))
killed=no
i=0
while [ $i -lt 6000 ]; do
	last=$(grep '^progress ' "$T/crash.err" 2>/dev/null | tail -n 1 | awk '{ print $3 }')
	if [ -n "$last" ] && [ "$last" -ge "$half" ]; then
		kill -9 "$pid"
		killed=yes
		break
	fi
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
	i=$((i + 1))
done
wait "$pid" 2>/dev/null || true
[ "$killed" = yes ] || fail "importer finished or stalled before it could be killed halfway: $(tail -n 3 "$T/crash.err")"
ok
grep -q '^applied' "$T/crash.out" && fail "a killed import reported applied"
ok

# Nothing of the killed file is visible.
first=$(head -n 1 "$user_b" | cut -d'|' -f3)
notfound "$T/db.crash" "$first"

# Run it again: applied, and the same data as the clean import.
expect_rc 0 "$KEFUCTL" import --db "$T/db.crash" "$user_b"
grep -q "^applied $(basename "$user_b") $USERS\$" "$T/last.out" || fail "rerun did not apply: $(cat "$T/last.out")"
ok
found "$T/db.crash" "$first"
for db in clean crash; do
	"$KEFUCTL" dump --db "$T/db.$db" --table cust --table cust_by_idno --table user \
		--table user_by_msisdn --table cust_users --table boss_seq >"$T/dump.$db"
done
[ -s "$T/dump.clean" ] || fail "empty dump"
cmp -s "$T/dump.clean" "$T/dump.crash" || fail "crash+rerun differs from a clean import"
ok
done_ok
