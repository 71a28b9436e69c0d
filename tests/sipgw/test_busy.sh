#!/bin/sh
# A busy node (docs/sipgw.md "Arrival", docs/routing.md "Backpressure"): with
# busy_at = 10 and the Redis primary pausing writes (CLIENT PAUSE WRITE: the
# routing steps wait; the sentinels are told to wait 30 s before they call
# it down), ten calls of a kefu-sim gateway on each node (with the steps of
# the routing tick) leave every node with ten steps or more in flight, so
# each refuses a new CallArrived as busy. A SIP caller arriving then is
# answered and hears the greeting at once, while its gateway presents the call
# again with backoff (250 ms, doubling); once Redis takes writes again the
# node takes the call (its IVR plan), the call is queued in Redis and the
# caller's media went on from one port throughout.
. "$(dirname "$0")/../cluster/lib.inc"
up 3 --sip --extra "busy_at = 10" --extra "redis_timeout = 15s"
. "$TOP/tests/sipgw/lib.inc"

# A sentinel's PING to the primary waits behind its hello PUBLISH, which the
# pause holds: after 1 s the sentinels would call the primary down and might
# fail it over in the middle of the test (a failover is not what it is about).
for a in $(python3 -c 'import json,sys; print(" ".join(s["addr"] for s in json.load(open(sys.argv[1]))["sentinels"]))' "$CJ"); do
	# shellcheck disable=SC2046
	[ "$(timeout 5 redis-cli $(redis_tls_args) -h "${a%:*}" -p "${a##*:}" --no-auth-warning -a "$RPW" \
		SENTINEL SET kefu down-after-milliseconds 30000)" = OK ] || fail "sentinel $a: SENTINEL SET refused"
done
[ "$(rcli CLIENT PAUSE 7000 WRITE)" = OK ] || fail "CLIENT PAUSE refused"
for n in 1 2 3; do
	for i in 1 2 3 4 5 6 7 8 9 10; do
		echo "send call_arrived call_id=b$n-$i ani=139000000$n$i service=10010"
	done >"$D/busy$n.script"
	# A routing tick's step that went out during the pause holds a place
	# too, so the last calls may already be refused: ten answers of
	# either kind, and the node holds ten steps or more until Redis writes.
	for i in 1 2 3 4 5 6 7 8 9 10; do
		echo "expect ivr_plan|error within=10000"
	done >>"$D/busy$n.script"
	actor "gw$n" "node$n" gateway <"$D/busy$n.script"
done
for n in 1 2 3; do finished "gw$n"; done
rtp c1 $((B + 81)) 12
caller c1 13800000031 $((B + 80)) $((B + 81)) 12000
caller_done c1
rtp_done c1
took C1 13800000031
gwlog=$(grep -l "call in call=$C1 " $GWLOGS | head -n 1)
# Refused as busy at least twice, each time again after twice as long, then taken.
python3 - "$gwlog" "$C1" "$D/rtp.c1.json" <<'PY' || fail "busy retries: $(grep -h "$C1" $GWLOGS)"
import datetime, json, re, sys
log, call, rtp = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
def ts(line):
    return datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc).timestamp()
busy, queued = [], None
for line in open(log):
    if "node busy call=%s " % call in line:
        assert queued is None, "busy after the call was taken: " + line
        busy.append((ts(line), int(re.search(r"again_ms=(\d+)", line).group(1))))
    elif "call queued call=%s " % call in line and queued is None:
        queued = ts(line)
assert len(busy) >= 2, busy
assert busy[0][1] == 250, busy
for (t0, a), (t1, b) in zip(busy, busy[1:]):
    assert b == min(2 * a, 4000), busy
    assert t1 - t0 >= a / 1000.0 - 0.05, busy
assert queued is not None and queued >= busy[-1][0] + busy[-1][1] / 1000.0 - 0.05, (busy, queued)
# The greeting reached the caller while the node refused it, and media went
# on at 40 packets a second or more from one port.
assert 0 < rtp["first"] < queued - 0.2, (rtp["first"], queued)
assert rtp["packets"] / rtp["seconds"] >= 40, rtp
assert len(rtp["sources"]) == 1, rtp
PY
ok
# The node took it for good: in Redis once, abandoned when the caller hung up.
wait_for "the abandon of $C1" 10 call_is "$C1" abandoned
ok
done_ok
