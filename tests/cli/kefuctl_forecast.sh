#!/bin/sh
# `kefuctl forecast`, offline: the published Erlang C example (48 Erlangs,
# AHT 240 s, 55 agents, 15 s: 84.6%, ASA 8.2 s) in JSON, --target picking
# the fewest agents, Erlang A with --patience, and bad command lines
# refused with exit status 2 and a message naming the option.
. "$(dirname "$0")/lib.inc"
F="$KEFUCTL forecast --calls-per-hour 720 --aht 240"

# json_check FILE PYTHON-EXPRESSION: the expression over the parsed line j is true.
json_check() {
	python3 -c '
import json, math, sys
j = json.loads(open(sys.argv[1]).read())
if not eval(sys.argv[2]):
    sys.exit("not true: %s for %s" % (sys.argv[2], j))
' "$1" "$2" || fail "$2: $(cat "$1")"
	ok
}

# shellcheck disable=SC2086
$F --threshold 15 --agents 55 --json >"$T/c.json" || fail "forecast --agents 55 failed"
[ "$(wc -l <"$T/c.json")" -eq 1 ] || fail "not one line: $(cat "$T/c.json")"
json_check "$T/c.json" 'set(j) >= {"agents", "service_level", "asa_s", "p_wait", "erlangs", "occupancy", "model"}'
json_check "$T/c.json" '"abandon" not in j and j["model"] == "erlang-c"'
json_check "$T/c.json" 'j["agents"] == 55 and abs(j["erlangs"] - 48) < 1e-9'
json_check "$T/c.json" 'abs(j["service_level"] - 0.846) <= 0.001'
json_check "$T/c.json" 'abs(j["asa_s"] - 8.2) <= 0.05'
json_check "$T/c.json" 'abs(j["occupancy"] - 48 / 55) < 1e-9 and 0.2 < j["p_wait"] < 0.3'

# The text form says the same.
# shellcheck disable=SC2086
expect_out "service level   84.6% answered within 15 s" $F --threshold 15 --agents 55
# shellcheck disable=SC2086
expect_out "ASA             8.2 s" $F --threshold 15 --agents 55

# --target: the fewest agents reaching 80% in 20 s is 54 (53 give less).
for t in 0.8 80%; do
	# shellcheck disable=SC2086
	$F --threshold 20 --target "$t" --json >"$T/t.json" || fail "--target $t failed"
	json_check "$T/t.json" 'j["agents"] == 54 and j["service_level"] >= 0.8'
done
# shellcheck disable=SC2086
$F --threshold 20 --agents 53 --json >"$T/53.json"
json_check "$T/53.json" 'j["service_level"] < 0.8'

# 500 agents at 480 Erlangs.
"$KEFUCTL" forecast --calls-per-hour 7200 --aht 240 --threshold 20 --agents 500 --json \
	>"$T/500.json" || fail "500 agents failed"
json_check "$T/500.json" 'j["agents"] == 500 and 0 < j["p_wait"] < 1 and 0.9 < j["service_level"] < 1'

# Erlang A: abandonment reported, less waiting than Erlang C.
# shellcheck disable=SC2086
$F --threshold 15 --agents 55 --patience 60 --json >"$T/a.json" || fail "--patience failed"
json_check "$T/a.json" 'j["model"] == "erlang-a" and 0 < j["abandon"] < 0.1 and j["asa_s"] < 8.2'
# shellcheck disable=SC2086
expect_out "abandoned " $F --threshold 15 --agents 55 --patience 60

# Too few agents for Erlang C: defined values, no ASA.
# shellcheck disable=SC2086
$F --threshold 15 --agents 40 --json >"$T/u.json" || fail "--agents 40 failed"
json_check "$T/u.json" 'j["asa_s"] is None and j["service_level"] == 0 and j["stable"] is False'

# No number of agents reaches the target: exit status 1.
expect_rc 1 "$KEFUCTL" forecast --calls-per-hour 1e12 --aht 240 --threshold 15 --target 0.8

# usage MESSAGE ARGS...: exit status 2, MESSAGE and the usage printed.
usage() {
	msg=$1; shift
	expect_rc 2 "$KEFUCTL" forecast "$@"
	grep -qF -- "$msg" "$T/last.out" || fail "no '$msg' from forecast $*: $(cat "$T/last.out")"
	grep -q "^usage: kefuctl forecast " "$T/last.out" || fail "no usage after forecast $*"
	ok
}
usage "--calls-per-hour R is required" --aht 240 --threshold 15 --agents 55
usage "--aht S is required" --calls-per-hour 720 --threshold 15 --agents 55
usage "--threshold S is required" --calls-per-hour 720 --aht 240 --agents 55
usage "give one of --agents N or --target SL" --calls-per-hour 720 --aht 240 --threshold 15
usage "not both" --calls-per-hour 720 --aht 240 --threshold 15 --agents 55 --target 0.8
usage "--calls-per-hour takes a number" --calls-per-hour many --aht 240 --threshold 15 --agents 55
usage "--aht takes seconds above 0" --calls-per-hour 720 --aht -240 --threshold 15 --agents 55
usage "--aht takes seconds above 0" --calls-per-hour 720 --aht 0 --threshold 15 --agents 55
usage "--threshold takes seconds above 0" --calls-per-hour 720 --aht 240 --threshold 15s --agents 55
usage "--patience takes seconds above 0" --calls-per-hour 720 --aht 240 --threshold 15 --agents 55 --patience -1
usage "--agents takes a whole number 1..100000" --calls-per-hour 720 --aht 240 --threshold 15 --agents 100001
usage "--agents takes a whole number" --calls-per-hour 720 --aht 240 --threshold 15 --agents 5.5
usage "--target takes a fraction" --calls-per-hour 720 --aht 240 --threshold 15 --target 1
usage "--target takes a fraction" --calls-per-hour 720 --aht 240 --threshold 15 --target 80
usage "--target takes a fraction" --calls-per-hour 720 --aht 240 --threshold 15 --target 0
usage "--agents needs a value" --calls-per-hour 720 --aht 240 --threshold 15 --agents
usage "unknown option --bogus" --calls-per-hour 720 --aht 240 --threshold 15 --agents 5 --bogus

# The help lists it.
"$KEFUCTL" help | grep -q "^  forecast " || fail "kefuctl help does not list forecast"
ok

done_ok
