#!/bin/sh
# Online import staging (docs/security.md): the leader stages an uploaded
# file in <data_dir>.import under the file's own name. A file or link that
# is already there is never opened (O_EXCL | O_NOFOLLOW): a link planted
# under an upload's name does not make the node write elsewhere, and two
# uploads of one name at once cannot clobber each other. One 3-node
# cluster; the leader is killed midway and the new leader stages afresh.
. "$(dirname "$0")/../cluster/lib.inc"
up 3
L=$(leader)
[ -n "$L" ] || fail "no leader"
"$SIM" boss --out "$D/boss" --users 2000 --seed 5 >/dev/null
USER=$(ls "$D"/boss/*_USER_*_000001.dat)
CUST=$(ls "$D"/boss/*_CUST_*_000001.dat)
STAGE="$(data_dir "$L").import"

# ---- a link planted under the upload's name: refused, its target untouched ----
mkdir -p "$STAGE"
printf 'precious\n' >"$D/victim"
ln -s "$D/victim" "$STAGE/$(basename "$CUST")"
if ctl --node "$(addr "$L")" import "$CUST" >"$D/planted.out" 2>&1; then
	fail "an import through a planted link succeeded: $(cat "$D/planted.out")"
fi
grep -q 'in progress on another connection' "$D/planted.out" ||
	fail "the planted link was not refused as such: $(cat "$D/planted.out")"
[ "$(cat "$D/victim")" = precious ] || fail "the link's target was written: $(cat "$D/victim")"
[ -L "$STAGE/$(basename "$CUST")" ] || fail "the planted link is gone"
ok
rm -f "$STAGE/$(basename "$CUST")"
ctl --node "$(addr "$L")" import "$CUST" >"$D/cust.out" 2>&1 || fail "import after the link went: $(cat "$D/cust.out")"
grep -q '^applied ' "$D/cust.out" || fail "customers not applied: $(cat "$D/cust.out")"
ok

# ---- two uploads of one name at once: one applies, the other is told, nothing clobbered ----
ctl --node "$(addr "$L")" import "$USER" >"$D/u1.out" 2>&1 &
p1=$!
ctl --node "$(addr "$L")" import "$USER" >"$D/u2.out" 2>&1 &
p2=$!
wait "$p1" || true
wait "$p2" || true
applied=$(grep -l '^applied ' "$D/u1.out" "$D/u2.out" | wc -l)
[ "$applied" -eq 1 ] || fail "$applied of two same-name uploads applied: $(cat "$D/u1.out" "$D/u2.out")"
for f in u1 u2; do
	grep -q '^applied \|^skipped \|in progress on another connection' "$D/$f.out" ||
		fail "upload $f neither applied, skipped nor told of the other: $(cat "$D/$f.out")"
	! grep -qi 'check\|hash\|size' "$D/$f.out" || fail "upload $f saw a clobbered file: $(cat "$D/$f.out")"
done
ok
msisdn=$(head -n 1 "$USER" | cut -d'|' -f3)
wait_for "replicated" 30 healthy
for n in node1 node2 node3; do
	"$KEFUCTL" lookup --db "$(data_dir "$n")" --msisdn "$msisdn" --json >/dev/null || fail "$msisdn missing on $n"
done
ok

# ---- the leader dies with a staged file left behind: the new leader stages afresh ----
printf 'left over\n' >"$STAGE/leftover.dat"
"$H" kill "$L" --dir "$D" >/dev/null 2>&1 || fail "cannot kill $L"
wait_for "a new leader" 30 leader_is_not "$L"
N=$(leader)
ctl --node "$(addr "$N")" import "$USER" >"$D/again.out" 2>&1 || fail "import on the new leader: $(cat "$D/again.out")"
grep -q '^skipped \|^applied ' "$D/again.out" || fail "re-import on $N: $(cat "$D/again.out")"
ok
"$H" start "$L" --dir "$D" >/dev/null 2>&1 || fail "cannot restart $L"
wait_for "$L back" 60 healthy
[ ! -e "$STAGE/leftover.dat" ] || fail "the staged file of a dead upload survived the restart"
ok
done_ok
