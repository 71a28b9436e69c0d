#!/bin/sh
# A leader is elected; a write sent to each node is visible on every node;
# lookups and online imports answer the same on every node.
. "$(dirname "$0")/lib.inc"
up 3
l=$(leader)
[ -n "$l" ] || fail "no leader"
ok
for n in node1 node2 node3; do
	ledger "$n" 2 --node "$(addr "$n")"
done
for n in node1 node2 node3; do ledger_wait "$n"; done
wait_for "every node caught up" 10 healthy
for n in node1 node2 node3; do
	all_acked_on "$n" node1 node2 node3
done

# Online import through a follower; the same lookup answer from every node.
"$SIM" boss --out "$D/boss" --users 300 --seed 5 >/dev/null
f=$(for n in node1 node2 node3; do [ "$n" != "$l" ] && echo "$n"; done | head -n 1)
ctl --node "$(addr "$f")" import "$D"/boss/*.dat >"$D/import.out" || fail "online import: $(cat "$D/import.out")"
[ "$(grep -c '^applied ' "$D/import.out")" -eq 12 ] || fail "not all applied: $(cat "$D/import.out")"
ok
msisdn=$(head -n 1 "$D"/boss/*_USER_*_000001.dat | cut -d'|' -f3)
for n in node1 node2 node3; do
	ctl --node "$(addr "$n")" lookup --msisdn "$msisdn" --json >"$D/lookup.$n" || fail "lookup on $n"
done
cmp -s "$D/lookup.node1" "$D/lookup.node2" && cmp -s "$D/lookup.node1" "$D/lookup.node3" ||
	fail "lookups differ between nodes"
ok
# The same file again through another node is skipped; the offline JSON matches.
ctl --node "$(addr "$l")" import "$D"/boss/*_USER_*_000001.dat | grep -q '^skipped ' || fail "re-import not skipped"
ok
"$KEFUCTL" lookup --db "$(data_dir "$f")" --msisdn "$msisdn" --json >"$D/lookup.offline"
cmp -s "$D/lookup.offline" "$D/lookup.node1" || fail "offline and online lookup JSON differ"
ok
done_ok
