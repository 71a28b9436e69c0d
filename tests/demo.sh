#!/bin/sh
# make demo: the local customer database end to end on one node.
# Generates sample BOSS files, imports them (twice: the second run skips),
# shows a file held behind a missing SEQ being released, and looks several
# kinds of subscribers up.
set -eu
cd "$(dirname "$0")/.."
D=$(mktemp -d /tmp/kefu-demo.XXXXXX)
trap 'rm -rf "$D"' EXIT
K=bin/kefuctl
say() { printf '\n== %s\n' "$*"; }

say "BOSS generates incremental batch files (kefu-sim boss, 2,000 subscribers)"
bin/kefu-sim boss --out "$D/gen" --users 2000 --seed 2026
mkdir -p "$D/inbox"
cp "$D"/gen/*_000001.* "$D"/gen/*_CUST_*_000002.* "$D"/gen/*_USER_*_000002.* "$D/inbox/"

say "import: applied|skipped|held|rejected NAME RECORDS [reason]"
$K import --db "$D/db" --archive "$D/archive" --rejected "$D/rejected" "$D"/inbox/*.dat

say "the same files again are skipped (same name and sha256)"
cp "$D"/archive/*_USER_*_000001.* "$D/inbox/"
$K import --db "$D/db" --archive "$D/archive" --rejected "$D/rejected" "$D"/inbox/*.dat

say "PAY 000003 (an empty file) arrives before PAY 000002: held until the gap is filled"
pay3=$(basename "$D"/gen/*_PAY_*_000002.dat | sed 's/_000002\.dat$/_000003.dat/; s/_20261102/_20261103/')
: >"$D/inbox/$pay3"
printf '%s|0|0|%s' "$pay3" "$(sha256sum "$D/inbox/$pay3" | cut -c1-64)" >"$D/inbox/${pay3%.dat}.chk"
$K import --db "$D/db" --archive "$D/archive" --rejected "$D/rejected" "$D"/inbox/*.dat || true
cp "$D"/gen/*_PAY_*_000002.* "$D/inbox/"
$K import --db "$D/db" --archive "$D/archive" --rejected "$D/rejected" "$D"/inbox/*.dat

say "a corrupted file is rejected whole, with a report"
bad=$(basename "$D"/gen/*_CHG_*_000002.dat)
cp "$D/gen/$bad" "$D/gen/${bad%.dat}.chk" "$D/inbox/"
printf 'M|NO_SUCH_CHG|8800000001|PLAN|20261102090000|套餐变更\n' >>"$D/inbox/$bad"
n=$(awk 'END { print NR }' "$D/inbox/$bad")
printf '%s|%s|%s|%s' "$bad" "$n" "$(stat -c %s "$D/inbox/$bad")" "$(sha256sum "$D/inbox/$bad" | cut -c1-64)" >"$D/inbox/${bad%.dat}.chk"
$K import --db "$D/db" --archive "$D/archive" --rejected "$D/rejected" "$D/inbox/$bad" || true
cat "$D/rejected/$bad.report"

# Pick subscribers worth showing from the generated files. Escaped bars and
# backslashes are blanked first so awk can split on '|'.
plain() { sed 's/\\\\/__/g; s/\\|/__/g' "$@"; }
vip_cust=$(plain "$D"/gen/*_CUST_*_000001.dat | awk -F'|' '$9 == 4 { print $2; exit }')
ent_cust=$(plain "$D"/gen/*_CUST_*_000001.dat | awk -F'|' '$4 == "E" { print $2; exit }')
users=$(plain "$D"/gen/*_USER_*_000001.dat)
pick() { echo "$users" | awk -F'|' -v c="$1" '$4 == c && $7 != 4 { print $3; exit }'; }
diamond=$(pick "$vip_cust")
enterprise=$(pick "$ent_cust")
arrears=$(echo "$users" | awk -F'|' '$7 == 3 { print $3; exit }')

for who in "diamond-card customer:$diamond" "enterprise customer:$enterprise" \
	"stopped for arrears:$arrears"; do
	say "screen pop, ${who%%:*} (kefuctl lookup --msisdn ${who##*:})"
	[ -n "${who##*:}" ] && $K lookup --db "$D/db" --msisdn "${who##*:}"
done

say "the same as JSON"
$K lookup --db "$D/db" --msisdn "$diamond" --json
say "a number that is not ours"
$K lookup --db "$D/db" --msisdn 10000000000 || true
say "database"
$K stat --db "$D/db"
