#!/bin/sh
# Memory stays bounded whatever the file size: an 80 MB file of 1,000,000
# USER records imports under a 64 MiB limit on the process's data segment
# (RLIMIT_DATA: heap and private mappings; the LMDB map is a shared mapping
# of the file and does not count). Runs the release kefuctl: the ASan
# runtime's own shadow memory would not fit any such limit.
. "$(dirname "$0")/lib.inc"
REL="$(cd "$(dirname "$0")/../.." && pwd)/bin/kefuctl"
[ -x "$REL" ] || fail "release kefuctl not built (make all)"
"$SIM" boss --out "$T/gen" --users 1000000 --seed 11 --kinds CUST,USER --no-changes >/dev/null
user=$(ls "$T"/gen/*_USER_*.dat)
size=$(stat -c %s "$user")
[ "$size" -gt $((64 * 1024 * 1024)) ] || fail "test file too small to prove anything: $size bytes"
ok
expect_rc 0 "$REL" import --db "$T/db" "$T"/gen/*_CUST_*.dat
set +e
(ulimit -d 65536 && exec "$REL" import --db "$T/db" "$user") >"$T/out" 2>&1
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "import under a 64 MiB data limit failed ($rc): $(cat "$T/out")"
grep -q "^applied $(basename "$user") 1000000\$" "$T/out" || fail "not applied: $(cat "$T/out")"
ok
found "$T/db" "$(head -n 1 "$user" | cut -d'|' -f3)"
found "$T/db" "$(tail -n 1 "$user" | cut -d'|' -f3)"
done_ok
