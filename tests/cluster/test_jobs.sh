#!/bin/sh
# Leader jobs in a cluster: the BOSS inbox is imported by the leader alone,
# through the replicated log, so every node has the data; the retention job
# prunes on every node; a SEQ skip goes through any node; offline writes to
# a member's database are refused.
. "$(dirname "$0")/lib.inc"
for i in 1 2 3; do mkdir -p "$D/node$i/inbox"; done
"$H" up --nodes 3 --dir "$D" \
	--extra 'boss_inbox = {dir}/{node}/inbox' --extra 'boss_rejected = {dir}/{node}/rejected' \
	--extra 'boss_archive = {dir}/{node}/archive' --extra 'boss_poll_interval = 200ms' \
	--extra 'retention_interval = 300ms' >"$D/up.out" 2>&1 || { cat "$D/up.out"; fail "no cluster"; }
ok
l=$(leader)
"$SIM" boss --out "$D/boss" --users 200 --seed 9 >/dev/null
# Every node's inbox gets the files: only the leader's are imported.
for i in 1 2 3; do cp "$D"/boss/*_000001.* "$D/node$i/inbox/"; done
archived() { [ "$(ls "$D/$l/archive/"*.dat 2>/dev/null | wc -l)" -eq 6 ]; }
wait_for "the leader's inbox imported" 30 archived
for n in node1 node2 node3; do
	[ "$n" = "$l" ] && continue
	[ "$(ls "$D/$n/inbox/"*.dat | wc -l)" -eq 6 ] || fail "follower $n touched its inbox"
	ok
done
wait_for "replicated" 20 healthy
msisdn=$(head -n 1 "$D"/boss/*_USER_*_000001.dat | cut -d'|' -f3)
uid=$(head -n 1 "$D"/boss/*_USER_*_000001.dat | cut -d'|' -f2)
for n in node1 node2 node3; do
	"$KEFUCTL" lookup --db "$(data_dir "$n")" --msisdn "$msisdn" --json >/dev/null || fail "$msisdn missing on $n"
	ok
done

# An old CDR through an online import: the retention job removes it everywhere.
f=$D/SC_CDR_20261102020000_000002.dat
printf 'A|%s|20200105101010|60|10086|MO|成都|0\n' "$uid" >"$f"
printf '%s|1|%s|%s' "$(basename "$f")" "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -c1-64)" >"${f%.dat}.chk"
ctl import "$f" >"$D/cdr.out" 2>&1
grep -q '^applied ' "$D/cdr.out" || fail "online CDR import: $(cat "$D/cdr.out")"
ok
gone() {
	for n in node1 node2 node3; do
		"$KEFUCTL" dump --db "$(data_dir "$n")" --table cdr | grep -q 20200105101010 && return 1
	done
	return 0
}
wait_for "the old CDR pruned on every node" 20 gone

# A SEQ skip through a follower.
f=$(for n in node1 node2 node3; do [ "$n" != "$l" ] && echo "$n"; done | head -n 1)
ctl --node "$(addr "$f")" skip --prov SC --kind PAY --seq 2 --reason "never produced" >"$D/skip.out" 2>&1 ||
	fail "skip: $(cat "$D/skip.out")"
grep -q 'skipped SC PAY SEQ 000002' "$D/skip.out" || fail "skip reply: $(cat "$D/skip.out")"
ok
if ctl --node "$(addr "$f")" skip --prov SC --kind PAY --seq 9 --reason x >"$D/skip2.out" 2>&1; then
	fail "a wrong SEQ was skipped"
fi
grep -q 'not the next expected (000003)' "$D/skip2.out" || fail "skip refusal: $(cat "$D/skip2.out")"
ok

# Offline writes beside a member are refused.
if "$KEFUCTL" import --db "$(data_dir "$f")" "$D"/boss/*_CUST_*_000001.dat >"$D/off.out" 2>&1; then
	fail "offline import into a member"
fi
grep -q 'belongs to a cluster member' "$D/off.out" || fail "offline refusal unclear: $(cat "$D/off.out")"
ok
done_ok
