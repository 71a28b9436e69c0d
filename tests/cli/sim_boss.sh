#!/bin/sh
# kefu-sim boss from the command line: usage and exit codes, the files and
# their .chk lines, reproducibility. Run by tests/run.sh with KEFU_BIN set.
set -eu
sim="${KEFU_BIN:-bin}/kefu-sim"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*"; exit 1; }

# expect_exit CODE TEXT ARGS... : exit status CODE, and TEXT in the output
expect_exit() {
	want=$1; text=$2; shift 2
	set +e; out=$("$sim" "$@" 2>&1); got=$?; set -e
	[ "$got" -eq "$want" ] || fail "kefu-sim $*: exit $got, want $want: $out"
	case "$out" in *"$text"*) ;; *) fail "kefu-sim $*: no '$text' in: $out" ;; esac
}

expect_exit 0 "boss" --help
expect_exit 0 "--cdrs-per-user" boss --help
expect_exit 2 "usage" 
expect_exit 2 "unknown command 'nope'" nope
expect_exit 2 "--seed is required" boss --out "$tmp/x" --users 10
expect_exit 2 "--users: '0'" boss --out "$tmp/x" --users 0 --seed 1
expect_exit 2 "--users: 'ten'" boss --out "$tmp/x" --users ten --seed 1
expect_exit 2 "--kinds: 'FOO'" boss --out "$tmp/x" --users 10 --seed 1 --kinds CUST,FOO
expect_exit 2 "--start" boss --out "$tmp/x" --users 10 --seed 1 --start 20250229000000
expect_exit 2 "--prov" boss --out "$tmp/x" --users 10 --seed 1 --prov sc
expect_exit 2 "unknown option '--bogus'" boss --out "$tmp/x" --users 10 --seed 1 --bogus
[ ! -e "$tmp/x" ] || fail "a refused command line created its folder"

"$sim" boss --out "$tmp/a" --users 300 --seed 9 --prov GD --start 20260301080000 >"$tmp/a.out"
[ "$(grep -c '^wrote GD_[A-Z]*_2026030[12]080000_00000[12]\.dat [0-9][0-9]*$' "$tmp/a.out")" -eq 12 ] ||
	fail "want 12 'wrote' lines: $(cat "$tmp/a.out")"
grep -q '^wrote GD_USER_20260301080000_000001.dat 300$' "$tmp/a.out" || fail "USER file: $(cat "$tmp/a.out")"

# every .chk: name|records|bytes|sha256 of its .dat, and the count the program printed
for chk in "$tmp"/a/*.chk; do
	dat=${chk%.chk}.dat; name=$(basename "$dat")
	want="$name|$(wc -l <"$dat" | tr -d ' ')|$(wc -c <"$dat" | tr -d ' ')|$(sha256sum "$dat" | cut -d' ' -f1)"
	[ "$(cat "$chk")" = "$want" ] || fail "$chk: '$(cat "$chk")' want '$want'"
	grep -q "^wrote $name $(wc -l <"$dat" | tr -d ' ')\$" "$tmp/a.out" || fail "no wrote line for $name"
done

# same arguments, same bytes; another seed, other bytes
"$sim" boss --out "$tmp/b" --users 300 --seed 9 --prov GD --start 20260301080000 >/dev/null
"$sim" boss --out "$tmp/c" --users 300 --seed 10 --prov GD --start 20260301080000 >/dev/null
for chk in "$tmp"/a/*.chk; do
	cmp -s "$chk" "$tmp/b/$(basename "$chk")" || fail "$(basename "$chk") differs between equal runs"
	! cmp -s "$chk" "$tmp/c/$(basename "$chk")" || fail "$(basename "$chk") equal under another seed"
done

# a rerun into the same folder rewrites the same files
"$sim" boss --out "$tmp/b" --users 300 --seed 9 --prov GD --start 20260301080000 >/dev/null
for chk in "$tmp"/a/*.chk; do
	cmp -s "$chk" "$tmp/b/$(basename "$chk")" || fail "$(basename "$chk") differs after a rerun"
done
[ "$(ls -A "$tmp/b" | wc -l)" -eq 24 ] || fail "stray files after a rerun: $(ls -A "$tmp/b")"
echo ok
