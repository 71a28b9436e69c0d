#!/bin/sh
# The audit log is tamper-evident (docs/security.md): every entry
# carries the SHA-256 of the one before it, sealed by the leader inside the
# replicated log, so every node holds the same chain. One 3-node cluster:
#
#   - account changes through every node: `kefuctl audit verify` says
#     "chain intact" on each node, with the same head hash everywhere;
#   - the leader killed (kill -9) while changes are being written: the new
#     leader continues the chain; intact on the survivors, and on the old
#     leader once it is back;
#   - one follower stopped, one of its entries edited offline with LMDB's
#     own tools (mdb_dump/mdb_load, lmdb-utils), started again: verify on it
#     names the edited entry and exits 1; the others stay intact;
#   - another follower stopped, one of its entries deleted (its environment
#     rebuilt without it): verify names the entry after the gap.
. "$(dirname "$0")/../cluster/lib.inc"
up 3
l=$(leader)
[ -n "$l" ] || fail "no leader"
ok
printf 'first-secret-1\n' >"$D/pw1"
printf 'second-secret-2\n' >"$D/pw2"

# verify NODE: `audit verify --json` of NODE into $D/verify.NODE.json; its exit status.
verify() { ctl --node "$(addr "$1")" audit verify --json >"$D/verify.$1.json" 2>"$D/verify.$1.err"; }
# vfield NODE EXPR: a Python expression over the verify reply d, printed.
vfield() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$D/verify.$1.json" "$2"; }
# settled NODE [MIN]: intact, nothing waiting to be sealed, at least MIN entries.
settled() {
	verify "$1" || return 1
	[ "$(vfield "$1" 'd["intact"] and d["pending"] == 0 and d["entries"] == d["sealed"]')" = True ] &&
		[ "$(vfield "$1" 'd["entries"]')" -ge "${2:-1}" ]
}
# same_head NODE...: the nodes' chains end at the same hash, over as many entries.
same_head() {
	first=""
	for n in "$@"; do
		settled "$n" || return 1
		h="$(vfield "$n" 'd["head_hash"]') $(vfield "$n" 'd["entries"]')"
		[ -z "$first" ] && first=$h
		[ "$h" = "$first" ] || return 1
	done
}
pid_of() { python3 -c 'import json,sys; print([n["pid"] for n in json.load(open(sys.argv[1]))["nodes"] if n["name"]==sys.argv[2]][0])' "$CJ" "$1"; }
# stop NODE: SIGTERM to its kefud, by PID, and wait until it has exited.
stop() {
	p=$(pid_of "$1")
	kill -TERM "$p"
	i=0
	while kill -0 "$p" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ]; do
		i=$((i + 1))
		[ $i -lt 150 ] || fail "$1 (pid $p) did not stop"
		sleep 0.1
	done
	ok
}

# ---- entries through every node; intact everywhere, one head ----
ctl agent add --id a01 --name "张三" --skills billing:5 --password-file "$D/pw1" >"$D/add.out" 2>&1 ||
	fail "agent add: $(cat "$D/add.out")"
ctl agent passwd --id a01 --password-file "$D/pw2" >"$D/pw.out" 2>&1 || fail "agent passwd: $(cat "$D/pw.out")"
ok
for i in 1 2 3 4 5 6; do
	n=node$((i % 3 + 1))
	ctl --node "$(addr "$n")" agent update --id a01 --name "name$i" >"$D/upd.out" 2>&1 ||
		fail "agent update through $n: $(cat "$D/upd.out")"
done
ok
wait_for "one sealed chain of 8 entries on every node" 20 same_head node1 node2 node3
for n in node1 node2 node3; do
	settled "$n" 8 || fail "verify on $n: $(cat "$D/verify.$n.json" "$D/verify.$n.err")"
	[ "$(vfield "$n" 'd["broken_at"]')" = None ] || fail "broken_at set on $n"
	ok
	ctl --node "$(addr "$n")" audit verify >"$D/text.$n" || fail "text verify on $n: $(cat "$D/text.$n")"
	grep -q "chain intact" "$D/text.$n" || fail "text verify on $n: $(cat "$D/text.$n")"
	ok
done

# ---- the leader killed while changes are written ----
(
	i=0
	while [ $i -lt 30 ]; do
		i=$((i + 1))
		timeout 20 "$KEFUCTL" --cluster "$CJ" agent update --id a01 --name "k$i" >/dev/null 2>&1 || true
	done
) &
CALL_PIDS="$CALL_PIDS $!"
writer=$!
sleep 1.5
killed=$(leader)
[ -n "$killed" ] || fail "no leader to kill"
"$H" kill "$killed" --dir "$D"
ok
wait_for "a new leader" 30 leader_is_not "$killed"
wait "$writer" || true
survivors=$(for n in node1 node2 node3; do [ "$n" != "$killed" ] && echo "$n"; done | tr '\n' ' ')
# shellcheck disable=SC2086
wait_for "intact chains on the survivors ($survivors)" 30 same_head $survivors
for n in $survivors; do
	[ "$(vfield "$n" 'd["entries"]')" -gt 8 ] || fail "no entry was written around the kill on $n"
	ok
done
"$H" start "$killed" --dir "$D"
wait_for "the cluster healthy again" 60 healthy
wait_for "the old leader $killed back on the same chain" 30 same_head node1 node2 node3
echo "after the kill: $(vfield "$killed" 'd["entries"]') entries, head $(vfield "$killed" 'd["head_hash"]')"

# ---- one follower's entry edited offline ----
l=$(leader)
f=$(for n in node1 node2 node3; do [ "$n" != "$l" ] && echo "$n"; done | head -n 1)
g=$(for n in node1 node2 node3; do [ "$n" != "$l" ] && echo "$n"; done | tail -n 1)
stop "$f"
# tamper DATA_DIR edit|delete INDEX: change one audit entry (the INDEX-th, from 0)
# with mdb_dump / mdb_load; prints the time_ms of the entry changed (or the
# one after the deleted one).
tamper() {
	mdb_dump -a "$1" >"$D/all.dump" || fail "mdb_dump $1"
	python3 - "$D/all.dump" "$2" "$3" "$D/load.dump" <<'PY' || fail "tamper $2 $3"
import sys
src, how, idx, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
sections, cur = [], None
for line in open(src).read().splitlines():
    if cur is None:
        cur = {"head": [], "pairs": [], "name": None}
    if line.startswith(" "):
        cur["pairs"].append(line)
    elif line == "DATA=END":
        sections.append(cur); cur = None
    else:
        cur["head"].append(line)
        if line.startswith("database="):
            cur["name"] = line[len("database="):]
audit = [s for s in sections if s["name"] == "audit"][0]
keys, vals = audit["pairs"][0::2], audit["pairs"][1::2]
assert idx + 1 < len(keys), "too few entries"
when = lambda k: int(k.strip()[:16], 16)
with open(out, "w") as o:
    if how == "edit":
        v = bytes.fromhex(vals[idx].strip())
        assert b"agent_update" in v, "entry %d is not an update" % idx
        v = v.replace(b"agent_update", b"agent_delete", 1)   # same length, still valid
        o.write("\n".join(audit["head"]) + "\n" + keys[idx] + "\n " + v.hex() + "\nDATA=END\n")
        print(when(keys[idx]))
    else:
        del audit["pairs"][2 * idx:2 * idx + 2]
        for s in sections:
            o.write("\n".join(s["head"]) + "\n" + "".join(p + "\n" for p in s["pairs"]) + "DATA=END\n")
        print(when(keys[idx + 1]))
PY
}
dd=$(data_dir "$f")
edited=$(tamper "$dd" edit 3)
mdb_load -s audit "$dd" <"$D/load.dump" 2>"$D/load.err" || fail "mdb_load: $(cat "$D/load.err")"
ok
# offline, on the stopped node's directory
set +e
"$KEFUCTL" audit verify --db "$dd" >"$D/offline.out" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "BROKEN" "$D/offline.out" && grep -q "edited" "$D/offline.out" ||
	fail "offline verify of the edited node: rc=$rc $(cat "$D/offline.out")"
ok
"$H" start "$f" --dir "$D"
wait_for "the cluster healthy with $f back" 60 healthy
set +e
verify "$f"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "verify on the edited $f: exit $rc, $(cat "$D/verify.$f.json" "$D/verify.$f.err")"
[ "$(vfield "$f" 'd["intact"]')" = False ] || fail "verify on $f says intact after an edit"
[ "$(vfield "$f" 'd["broken_at"]["time_ms"]')" = "$edited" ] ||
	fail "verify on $f: broken at $(vfield "$f" 'd["broken_at"]'), the edited entry is at $edited"
vfield "$f" 'd["broken_at"]["why"]' | grep -q edited || fail "verify on $f: $(vfield "$f" 'd["broken_at"]')"
[ "$(vfield "$f" 'd["entries"]')" = 4 ] || fail "verify on $f checked $(vfield "$f" 'd["entries"]') entries, not 4"
ok
set +e
ctl --node "$(addr "$f")" audit verify >"$D/text.$f"
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "chain BROKEN" "$D/text.$f" || fail "text verify on $f: rc=$rc $(cat "$D/text.$f")"
ok
echo "edited on $f: $(cat "$D/text.$f")"
same_head "$l" "$g" || fail "the untouched nodes $l and $g: $(cat "$D/verify.$l.json" "$D/verify.$g.json")"
ok

# ---- another follower's entry deleted offline ----
stop "$g"
dd=$(data_dir "$g")
after=$(tamper "$dd" delete 5)
rm -rf "$D/rebuilt" && mkdir "$D/rebuilt"
mdb_load "$D/rebuilt" <"$D/load.dump" 2>"$D/load.err" || fail "mdb_load: $(cat "$D/load.err")"
mv "$D/rebuilt/data.mdb" "$dd/data.mdb" && rm -f "$dd/lock.mdb"
ok
"$H" start "$g" --dir "$D"
wait_for "the cluster healthy with $g back" 60 healthy
set +e
verify "$g"
rc=$?
set -e
[ "$rc" -eq 1 ] && [ "$(vfield "$g" 'd["intact"]')" = False ] ||
	fail "verify on $g after a deletion: exit $rc, $(cat "$D/verify.$g.json" "$D/verify.$g.err")"
[ "$(vfield "$g" 'd["broken_at"]["time_ms"]')" = "$after" ] ||
	fail "verify on $g: broken at $(vfield "$g" 'd["broken_at"]'), the entry after the gap is at $after"
vfield "$g" 'd["broken_at"]["why"]' | grep -q missing || fail "verify on $g: $(vfield "$g" 'd["broken_at"]')"
ok
echo "deleted on $g: $(vfield "$g" 'd["broken_at"]')"
settled "$l" || fail "the leader $l: $(cat "$D/verify.$l.json")"
ok
# the tampering stays where it was: new entries are sealed on every node
ctl agent update --id a01 --name "after" >"$D/upd.out" 2>&1 || fail "agent update: $(cat "$D/upd.out")"
wait_for "the new entry sealed on $l" 20 settled "$l"
verify "$f" || true
[ "$(vfield "$f" 'd["broken_at"]["time_ms"]')" = "$edited" ] || fail "$f: $(cat "$D/verify.$f.json")"
ok
done_ok
