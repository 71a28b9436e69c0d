#!/bin/sh
# Operations statistics through the 3-node cluster (docs/ops.md), with
# 20-second intervals: a simulator run with a fixed seed over more than three
# intervals, the leader killed (kill -9) as an interval closes. Afterwards
# every figure of `kefuctl report --by tier --json` equals the one computed
# from the simulator's own record of each call (--calls): offered,
# answered, abandoned, answered within the tier's threshold, ASA and AHT
# (waits and talk times measured at the two ends differ by milliseconds:
# a call whose wait is that close to its threshold may fall on either
# side, and the means are compared to within a few ms); the report by
# interval has each interval once, closed, and sums to the same; agents'
# calls add up; the wallboard answers with the targets.
. "$(dirname "$0")/lib.inc"
IV=20
up 3 --extra "stats_interval = ${IV}s"

"$SIM" boss --out "$D/boss" --users 400 --seed 5 --kinds CUST,USER --no-changes >/dev/null ||
	fail "kefu-sim boss"
ok

SIM_PID=""
trap '[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null; cleanup' EXIT
# Intervals count in a report when they start in its range: from the start
# of the current one.
now=$(date +%s)
start=$(date -d "@$((now - now % IV))" +%Y%m%d%H%M%S)
# 6 agents take about 1.5 calls/s; 2/s keeps a queue, so some callers abandon.
timeout 300 "$SIM" --cluster "$CJ" --boss "$D/boss" --agents 6 --rate 2 --duration 70 --seed 17 \
	--mix 40,20,15,15,10 --handle 2500 --wrap 600 --ring 800 --patience 15000 --no-answer 0 \
	--calls "$D/calls.jsonl" --json >"$D/sim.json" 2>"$D/sim.err" &
SIM_PID=$!

# The leader closes an interval 5 s after its end: kill it then, as the
# second interval of traffic closes.
now=$(date +%s)
wait_s=$(( (IV - now % IV) % IV + IV + 5 ))
sleep "$wait_s"
L=$(leader) && [ -n "$L" ] || fail "no leader"
"$H" kill "$L" --dir "$D" >/dev/null || fail "kill $L"
ok
wait_for "a new leader after $L was killed" 30 leader_is_not "$L"
"$H" start "$L" --dir "$D" >/dev/null || fail "restart $L"
wait_for "the cluster healthy with $L back" 60 healthy

wait "$SIM_PID" || fail "kefu-sim: $(tail -n 5 "$D/sim.err")"
SIM_PID=""
echo "sim: $(cat "$D/sim.json")"
[ -s "$D/calls.jsonl" ] || fail "no call record"
ok

# The interval before the last closes 5 s after its end; the last one may
# still be open (the report reads it from Redis).
sleep 6
to=$(date -d '+2 minutes' +%Y%m%d%H%M%S)
ctl report --from "$start" --to "$to" --by tier --json >"$D/tier.json" || fail "report by tier"
ctl report --from "$start" --to "$to" --by interval --json >"$D/interval.json" ||
	fail "report by interval"
ctl report --from "$start" --to "$to" --by agent --json >"$D/agent.json" || fail "report by agent"
ctl report --from "$start" --to "$to" --by skill --csv >"$D/skill.csv" || fail "report by skill"
ok
python3 - "$D/calls.jsonl" "$D/tier.json" "$D/interval.json" "$D/agent.json" "$D/skill.csv" <<'PY' ||
import csv, json, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
tier = json.load(open(sys.argv[2]))
by_iv = json.load(open(sys.argv[3]))
agent = json.load(open(sys.argv[4]))
skill = list(csv.DictReader(open(sys.argv[5])))
JITTER = 100   # ms: a wait measured by the simulator and by the node
assert tier["interval_ms"] == 20000, tier["interval_ms"]
rows = {r["tier"]: r for r in tier["rows"]}
for t in range(5):
    mine = [c for c in calls if c["tier"] == t]
    if not mine:
        continue
    r = rows.get(str(t))
    assert r, ("no row for tier", t, tier)
    thr = r["sl_threshold_ms"]
    # The callers still waiting when the run ends hang up then: abandoned.
    ans = [c for c in mine if c["outcome"] == "answered"]
    ab = [c for c in mine if c["outcome"] in ("abandoned", "queued", "waiting")]
    ov = [c for c in mine if c["outcome"] == "overflowed"]
    assert not [c for c in mine if c["outcome"] == "dropped"], ("dropped calls", t)
    want = {"offered": len(mine), "answered": len(ans), "abandoned": len(ab), "overflowed": len(ov)}
    got = {k: r[k] for k in want}
    assert got == want, ("tier", t, "report", got, "simulator", want)
    sure_in = sum(1 for c in ans if c["wait_ms"] <= thr - JITTER)
    maybe = sum(1 for c in ans if abs(c["wait_ms"] - thr) < JITTER)
    assert sure_in <= r["answered_in_sl"] <= sure_in + maybe, \
        ("answered in SL", t, r["answered_in_sl"], sure_in, maybe)
    assert abs(r["service_level"] - r["answered_in_sl"] / len(mine)) < 1e-9
    assert abs(r["answer_rate"] - len(ans) / len(mine)) < 1e-9
    if ans:
        asa = sum(c["wait_ms"] for c in ans) / len(ans)
        # The node times each wait inside the simulator's (the frames'
        # way there and back is the simulator's alone), so its average is
        # never longer, and shorter by the frames' delays: a few ms, more
        # when two tests share the machine's two cores.
        assert -5 <= asa - r["asa_ms"] <= JITTER, ("ASA", t, r["asa_ms"], asa)
        # Every answered call has ended by now; the simulator timed the
        # talk of those that ended before its run did.
        assert r["handled"] == len(ans), ("handled", t, r["handled"], len(ans))
        talked = [c for c in ans if c["talk_ms"] > 0]
        talk = sum(c["talk_ms"] for c in talked)
        if len(talked) == len(ans):
            assert abs(r["talk_ms"] - talk) <= 25 * len(ans), ("talk", t, r["talk_ms"], talk)
        else:
            assert r["talk_ms"] >= talk - 25 * len(talked), ("talk", t, r["talk_ms"], talk)
        assert r["aht_ms"] >= r["talk_ms"] / r["handled"], ("AHT below talk", t, r)
    short = sum(1 for c in ab if c["wait_ms"] < 10000 - JITTER)
    assert short <= r["abandoned_short"] <= short + sum(1 for c in ab if abs(c["wait_ms"] - 10000) < JITTER), \
        ("short abandons", t, r["abandoned_short"], short)
    assert 0 < r["sl_target"] <= 1 and 0 < r["answer_target"] <= 1, r
# By interval: each interval once, closed now, summing to every call.
ivs = [r["interval"] for r in by_iv["rows"]]
assert len(ivs) == len(set(ivs)) and len(ivs) >= 3, ("intervals", ivs)
assert all(r["intervals"] == 1 for r in by_iv["rows"]), by_iv["rows"]
assert sum(r["offered"] for r in by_iv["rows"]) == len(calls), \
    ("intervals sum", sum(r["offered"] for r in by_iv["rows"]), len(calls))
assert sum(r["open_intervals"] for r in by_iv["rows"][:-1]) == 0, ("not closed", by_iv["rows"])
# Agents: their calls are the answered calls; time in states adds up.
answered = sum(1 for c in calls if c["outcome"] == "answered")
assert sum(r["calls"] for r in agent["rows"]) == answered, \
    ("agent calls", sum(r["calls"] for r in agent["rows"]), answered)
assert len(agent["rows"]) == 6, [r["agent"] for r in agent["rows"]]
for r in agent["rows"]:
    assert r["talk_ms"] > 0 and r["ready_ms"] + r["talk_ms"] + r["wrap_ms"] > 30000, r   # of a 70 s run
    assert 0 < r["occupancy"] <= 1, r
# Skills count every call once, under the skill that served or lost it.
assert sum(int(r["offered"]) for r in skill) == len(calls), skill
print("calls", len(calls), "tiers", {t: (r["offered"], r["answered"], r["abandoned"]) for t, r in rows.items()})
PY
	fail "report differs from the simulator's record"
ok

# Staffing per interval from the measured rate, AHT and patience.
ctl forecast --from "$start" --to "$to" --by interval --threshold 20 --target 80% --json \
	>"$D/forecast.json" || fail "forecast from the measured intervals"
python3 - "$D/forecast.json" "$D/interval.json" <<'PY' || fail "forecast: $(cat "$D/forecast.json")"
import json, sys
f = json.load(open(sys.argv[1]))
iv = {r["interval"]: r for r in json.load(open(sys.argv[2]))["rows"]}
rows = [r for r in f["rows"] if iv[r["interval"]]["handled"] > 0]
assert rows, f
for r in rows:
    m = iv[r["interval"]]
    assert abs(r["calls_per_hour"] - m["offered"] * 180) < 1e-6, (r, m)   # 20-second intervals
    assert abs(r["aht_s"] * 1000 - m["aht_ms"]) < 1e-6, (r, m)
    assert r["model"] == ("erlang-a" if m["abandoned"] else "erlang-c"), (r, m)
    assert r["agents"] >= 1 and r["service_level"] >= 0.8, r
PY
ok

# Every node answers the same report from its own replica. The last interval
# closes 5 s after its end, which may fall between two of the questions (its
# row then changes on every node): node1 is asked again after the others, and
# the round counts only when its answer did not change meanwhile.
for round in 1 2 3; do
	for n in node1 node2 node3 node1; do
		ctl --node "$(addr $n)" report --from "$start" --to "$to" --by interval --json \
			>"$D/iv.$n.last.json" || fail "report on $n"
		[ -f "$D/iv.$n.json" ] || cp "$D/iv.$n.last.json" "$D/iv.$n.json"
	done
	cmp -s "$D/iv.node1.json" "$D/iv.node1.last.json" && break
	rm -f "$D"/iv.node*.json
	[ "$round" -lt 3 ] || fail "the report kept changing while the nodes were asked"
done
for n in node2 node3; do
	cmp -s "$D/iv.node1.json" "$D/iv.$n.json" || fail "$n reports otherwise: $(cat "$D/iv.$n.json")"
done
ok

# Bad input gets a clear error and changes nothing.
ctl report --from 20261301000000 --to "$to" >"$D/bad.out" 2>&1 && fail "a 13th month was taken"
grep -q 'local time' "$D/bad.out" || fail "bad --from: $(cat "$D/bad.out")"
ctl report --from "$to" --to "$start" >"$D/bad.out" 2>&1 && fail "--from after --to was taken"
ctl report --from "$start" --to "$to" --by queue >"$D/bad.out" 2>&1 && fail "--by queue was taken"
ok

# The wallboard: today's counts include the run's; a supervisor watching it
# through the agent protocol gets a push when the board changes (an agent
# logs in and goes ready); an agent may not see it.
ctl wallboard --json >"$D/wb.json" || fail "wallboard"
python3 - "$D/wb.json" "$D/tier.json" <<'PY' || fail "wallboard: $(cat "$D/wb.json")"
import json, sys
w = json.load(open(sys.argv[1]))
rep = {r["tier"]: r for r in json.load(open(sys.argv[2]))["rows"]}
tiers = {q["name"]: q for q in w["tiers"]}
assert sorted(tiers) == ["0", "1", "2", "3", "4"], tiers
for t, r in rep.items():
    today = tiers[t]["today"]
    # The run is today's unless it crossed midnight.
    assert today["offered"] >= r["offered"] or today["offered"] == 0, (t, today, r)
    assert today["sl_target"] == r["sl_target"], (t, today, r)
assert all(q["waiting"] == 0 for q in w["tiers"]), w["tiers"]
assert w["agents"] == [], w["agents"]    # the simulator's agents logged out
PY
ok
printf 'agent-secret-1' >"$D/pw"
ctl agent add --id s01 --name 班长 --skills general:5 --role supervisor --password-file "$D/pw" \
	>/dev/null || fail "agent add s01"
ctl agent add --id a09 --name 坐席 --skills general:5 --password-file "$D/pw" >/dev/null ||
	fail "agent add a09"
has_agents() { "$KEFUCTL" agent list --db "$(data_dir "$1")" --json | grep -q '"a09"'; }
for n in node1 node2 node3; do wait_for "agents on $n" 20 has_agents "$n"; done
actor sup node2 agent <<EOF
send login agent_id=s01 password=agent-secret-1
expect login_reply
send wallboard watch=true
expect wallboard_reply
expect wallboard_reply within=15000
EOF
sleep 3
actor a09 node1 agent <<EOF
$(login_ready a09 agent-secret-1)
send wallboard
expect error
EOF
finished a09
finished sup
python3 - "$D/sup.out" <<'PY' || fail "supervisor's wallboard: $(cat "$D/sup.out")"
import json, sys
boards = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if '"skills"' in l]
assert len(boards) >= 2, boards
last = {a["id"]: a for a in boards[-1].get("agents", [])}
assert last["a09"]["state"] == "ready", boards[-1]
PY
ok
# --watch redraws in place, each screen within 80x24, until interrupted.
timeout -s INT 4 "$KEFUCTL" --cluster "$CJ" wallboard --watch >"$D/watch.out" 2>"$D/watch.err" &&
	fail "wallboard --watch ended by itself: $(cat "$D/watch.err")"
python3 - "$D/watch.out" <<'PY' || fail "wallboard --watch: $(cat "$D/watch.out")"
import sys
text = open(sys.argv[1], encoding="utf-8").read()
screens = [s for s in text.split("\033[H\033[2J") if s]
assert screens and text.startswith("\033[H\033[2J"), repr(text[:200])
for s in screens:
    lines = s.rstrip("\n").split("\n")
    assert len(lines) <= 24 and all(len(l) <= 80 for l in lines), lines
assert "kefu wallboard" in screens[0] and "diamond" in screens[0], screens[0]
PY
ok
# Every interval hash read (by the close and by the reports) lives
# IV_KEEP_MS (two days) more: none is left to live for ever.
RPW=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["redis_password"])' "$CJ")
p=$("$TOP/tests/cluster/redis.sh" primary --dir "$D/redis") || fail "no Redis primary"
# shellcheck disable=SC2046
rc() { timeout 5 redis-cli $(redis_tls_args) -h "${p%:*}" -p "${p##*:}" --no-auth-warning -a "$RPW" "$@"; }
ivs=$(rc --scan --pattern 'kefu:test:iv:*')
[ -n "$ivs" ] || fail "no interval hash in Redis"
for k in $ivs; do
	ttl=$(rc PTTL "$k")
	[ "$ttl" -gt 0 ] && [ "$ttl" -le 172800000 ] || fail "$k lives $ttl ms"
done
ok
done_ok
