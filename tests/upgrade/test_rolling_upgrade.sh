#!/bin/sh
# A rolling upgrade (docs/appliance.md, "Upgrading") from an earlier build
# to this one, under calls and writes:
#   - the earlier build (KEFU_UPGRADE_FROM, default HEAD~1) is exported
#     with git archive and built in the test's folder; its own harness
#     brings up a three-node cluster with Redis and Sentinels running it;
#   - kefu-sim traffic (calls from a BOSS file's customers to agents on
#     every node) and a ledger of replicated writes run throughout;
#   - the followers, then the leader after `kefuctl switchover` moved
#     leadership away, are stopped as systemctl stop does (SIGTERM) and
#     started from this build, one at a time, each waited for until the
#     cluster is healthy again;
#   - at the end every node runs this build, no call was lost or offered
#     to two agents at once, and every acknowledged write is on every node.
# Not part of `make test` (it builds a second tree): `make upgrade-test`.
. "$(dirname "$0")/../cluster/lib.inc"

FROM=${KEFU_UPGRADE_FROM:-HEAD~1}
OLD=$D/old
git -C "$TOP" rev-parse --verify --quiet "$FROM^{commit}" >/dev/null ||
	fail "no commit $FROM to upgrade from (a shallow clone? set KEFU_UPGRADE_FROM)"
mkdir -p "$OLD"
git -C "$TOP" archive "$FROM" | tar -x -C "$OLD" || fail "git archive $FROM"
echo "building $(git -C "$TOP" rev-parse --short "$FROM") in $OLD"
make -C "$OLD" KEFU_DEPS_OK=1 -j2 all >"$D/old-build.log" 2>&1 ||
	fail "the earlier build failed: $(tail -n 20 "$D/old-build.log")"
ok

KEFU_BIN=$OLD/bin "$OLD/tests/cluster/harness" up --nodes 3 --dir "$D" >"$D/up.out" 2>&1 ||
	fail "the earlier build's cluster did not come up: $(tail -n 20 "$D/up.out")"
ok
runs_build() { # NODE BINDIR: the node's process runs BINDIR/kefud
	pid=$(python3 -c 'import json,sys
print([n["pid"] for n in json.load(open(sys.argv[1]))["nodes"] if n["name"] == sys.argv[2]][0])' "$CJ" "$1")
	[ "$(readlink -f "/proc/$pid/exe")" = "$(readlink -f "$2/kefud")" ]
}
for n in node1 node2 node3; do runs_build "$n" "$OLD/bin" || fail "$n does not run the earlier build"; done
ok

"$SIM" boss --out "$D/boss" --users 300 --seed 5 --kinds CUST,USER --no-changes >/dev/null ||
	fail "kefu-sim boss"
SIM_PID=""
trap '[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null; cleanup' EXIT
SECS=${KEFU_UPGRADE_SECS:-75}
timeout $((SECS + 90)) "$SIM" --cluster "$CJ" --boss "$D/boss" --agents 6 --duration "$SECS" \
	--rate 1.2 --handle 3000 --wrap 500 --patience 60000 --seed 31 --json \
	>"$D/traffic.json" 2>"$D/traffic.err" &
SIM_PID=$!
ledger c1 "$SECS" --rate 100
sleep 8

# stored_form NODE: the stored form NODE's replica has recorded (docs/storage.md).
stored_form() {
	status_json "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("store_format", ""))'
}
# form_of TREE: the newest stored form the build of TREE writes (1 before
# builds said: lib/version.h KEFU_STORE_FORMAT).
form_of() {
	f=$(sed -n 's/^#define KEFU_STORE_FORMAT \([0-9][0-9]*\)$/\1/p' "$1/lib/version.h")
	echo "${f:-1}"
}
OLD_FORM=$(form_of "$OLD")
NEW_FORM=$(form_of "$TOP")
# upgrade NODE: stopped as systemctl stop does, started from this build.
# While a member still runs the earlier build, the form recorded stays the
# one that build writes.
UPGRADED=0
upgrade() {
	restart "$1" 60
	runs_build "$1" "$KEFU_BIN" || fail "$1 does not run this build"
	UPGRADED=$((UPGRADED + 1))
	if [ "$UPGRADED" -lt 3 ]; then
		f=$(stored_form "$1")
		[ "$f" = "$OLD_FORM" ] ||
			fail "stored form '$f' on $1 while a build writing $OLD_FORM is a member"
	fi
	ok
	sleep 4
}
rolling upgrade
# Every member runs this build: the leader records its form, on every node.
form_is_new() { [ "$(stored_form "$1")" = "$NEW_FORM" ]; }
for n in node1 node2 node3; do wait_for "stored form $NEW_FORM on $n" 30 form_is_new "$n"; done
ok

wait "$SIM_PID" || fail "kefu-sim traffic: $(tail -n 5 "$D/traffic.err")"
SIM_PID=""
ok
ledger_wait c1
all_acked_on c1 node1 node2 node3
# Every member says it runs this build (kefuctl status, from the member records).
v=$("$KEFU_BIN/kefud" --version | awk '{ print $2 }')
ctl status --json >"$D/status.json" 2>&1 || fail "status: $(cat "$D/status.json")"
python3 - "$D/status.json" "$v" <<'PY' || fail "versions after the upgrade: $(cat "$D/status.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert len(s["members"]) == 3 and all(m["version"] == sys.argv[2] for m in s["members"]), s["members"]
PY
ok
python3 - "$D/traffic.json" <<'PY' || fail "calls through the upgrade: $(cat "$D/traffic.json")"
import json, sys
s = json.load(open(sys.argv[1]))
answered = sum(t["answered"] for t in s["tiers"].values())
assert answered >= 20, ("few calls answered", answered)
assert s["reconnects"] >= 1, ("nothing moved off a restarted node", s["reconnects"])
assert s["lost_calls"] == 0, ("lost calls", s["lost_calls"])
assert s["double_offers"] == 0, ("double offers", s["double_offers"])
PY
ok
echo "traffic: $(cat "$D/traffic.json")"
done_ok
