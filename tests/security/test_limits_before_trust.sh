#!/bin/sh
# Resource limits before trust (docs/security.md): what a client without a
# certificate and without a login can make a node spend. One 3-node cluster
# for every case; each attack goes to the leader, and after each the
# leader's memory, its leadership and the epoch are checked.
#
#   - one 16 MiB frame of empty sub-messages ("2a 00" pairs, the Cdr field
#     of a LookupReply): refused at its header, memory unchanged;
#   - the same in 60 KiB (under the 64 KiB limit): unpacking is refused
#     by its allocation budget, memory bounded;
#   - a connection that never logs in is closed after login_timeout;
#   - a session that sends nothing is closed after idle_timeout, one that
#     pings is not;
#   - connections over max_connections_per_address are refused at accept.
. "$(dirname "$0")/../cluster/lib.inc"
up 3 --extra "login_timeout = 2s
idle_timeout = 10s
max_connections_per_address = 16"
LEADER=$(leader)
[ -n "$LEADER" ] || fail "no leader"
PID=$(python3 -c 'import json,sys; print([n["pid"] for n in json.load(open(sys.argv[1]))["nodes"] if n["name"]==sys.argv[2]][0])' "$CJ" "$LEADER")
EPOCH=$(epoch)
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status"; }

# raw NAME ARGS...: an anonymous kefu-sim raw connection to the leader, its lines in $D/NAME.out.
raw() {
	name=$1; shift
	timeout 120 "$SIM" raw --cluster "$CJ" --node "$LEADER" --as agent "$@" >"$D/$name.out" 2>"$D/$name.err" ||
		fail "$name: kefu-sim raw failed: $(cat "$D/$name.err")"
}
# unmoved: the leader is still the leader in the same epoch, alive and serving.
unmoved() {
	kill -0 "$PID" 2>/dev/null || fail "after $1: the leader (pid $PID) is gone"
	[ "$(leader)" = "$LEADER" ] || fail "after $1: leadership moved from $LEADER to $(leader)"
	[ "$(epoch)" = "$EPOCH" ] || fail "after $1: the epoch went from $EPOCH to $(epoch)"
	ok
}

# ---- one 16 MiB frame of empty sub-messages, no certificate, no login ----
# Envelope field 31 (fa 01), length L as a varint, L/2 pairs "2a 00".
L=16777200
before=$(rss_kb)
raw huge --send "header:$((L + 6)),hex:fa01,varint:$L,repeat:$((L / 2))*2a00" --wait 5000
grep -q '"end":"closed"' "$D/huge.out" || fail "16 MiB probe: connection not closed: $(cat "$D/huge.out")"
ok
sleep 1
after=$(rss_kb)
echo "16 MiB probe: leader RSS ${before} kB -> ${after} kB"
[ $((after - before)) -lt 65536 ] || fail "16 MiB probe: RSS grew from ${before} to ${after} kB"
ok
unmoved "the 16 MiB probe"

# ---- the same in 60 KiB: under the frame limit, over the unpack budget ----
L=61400
before=$(rss_kb)
for i in 1 2 3 4 5 6 7 8; do
	timeout 60 "$SIM" raw --cluster "$CJ" --node "$LEADER" --as agent --wait 3000 \
		--send "header:$((L + 5)),hex:fa01,varint:$L,repeat:$((L / 2))*2a00" \
		>"$D/small$i.out" 2>"$D/small$i.err" &
done
wait
for i in 1 2 3 4 5 6 7 8; do
	grep -q '"error":"KF_ETOOBIG"' "$D/small$i.out" ||
		fail "60 KiB probe $i: no KF_ETOOBIG error: $(cat "$D/small$i.out")"
done
ok
after=$(rss_kb)
echo "8 x 60 KiB probes: leader RSS ${before} kB -> ${after} kB"
[ $((after - before)) -lt 65536 ] || fail "60 KiB probes: RSS grew from ${before} to ${after} kB"
ok
unmoved "the 60 KiB probes"

# ---- a connection that never logs in: closed after login_timeout (2 s) ----
raw nologin --send env:ping --wait 8000
grep -q '"body":"pong"' "$D/nologin.out" || fail "no pong before the login deadline: $(cat "$D/nologin.out")"
grep -q 'no login within 2 s' "$D/nologin.out" || fail "no login deadline error: $(cat "$D/nologin.out")"
grep -q '"end":"closed"' "$D/nologin.out" || fail "not closed at the login deadline: $(cat "$D/nologin.out")"
ok

# ---- sessions: a silent one is closed after idle_timeout (10 s), one that pings is not ----
printf 'agent-secret-1\n' >"$D/pw"
ctl agent add --id s01 --name S1 --skills billing:5 --password-file "$D/pw" >"$D/add.out" 2>&1 ||
	fail "agent add s01: $(cat "$D/add.out")"
ctl agent add --id s02 --name S2 --skills billing:5 --password-file "$D/pw" >"$D/add.out" 2>&1 ||
	fail "agent add s02: $(cat "$D/add.out")"
actor silent "$LEADER" agent <<EOF
send login agent_id=s01 password=agent-secret-1
expect login_reply agent_id=s01
sleep 16000
EOF
actor pinging "$LEADER" agent <<EOF
send login agent_id=s02 password=agent-secret-1
expect login_reply agent_id=s02
sleep 4000
send ping
expect pong
sleep 4000
send ping
expect pong
sleep 4000
send ping
expect pong
sleep 4000
send ping
expect pong
EOF
finished pinging
eval "p=\$PID_silent"
if wait "$p"; then fail "the silent session was not closed: $(cat "$D/silent.out")"; fi
said silent 'session idle for 10 s' || fail "no idle error for the silent session: $(cat "$D/silent.out")"
ok

# ---- connections over max_connections_per_address (16, nodes' own links included) ----
# (kefu-sim raw itself fails on a refused connection: called directly here.)
for i in $(seq 1 24); do
	timeout 60 "$SIM" raw --cluster "$CJ" --node "$LEADER" --as agent --send env:ping --wait 1500 \
		>"$D/conn$i.out" 2>"$D/conn$i.err" &
done
wait
served=$(grep -l '"body":"pong"' "$D"/conn*.out | wc -l)
refused=$(grep -l 'reset\|closed' "$D"/conn*.err | wc -l)
echo "24 connections at once from one address: $served served, $refused refused"
[ "$served" -ge 1 ] && [ "$served" -le 16 ] || fail "$served of 24 connections served with a cap of 16"
[ $((served + refused)) -eq 24 ] || fail "of 24 connections $served served and $refused refused"
grep -q 'too many connections from this address' "$D/node"*/kefud.log || fail "no refusal in the node logs"
ok
wait_for "the cluster to be healthy again" 30 healthy
raw after_cap --send env:ping --wait 3000
grep -q '"body":"pong"' "$D/after_cap.out" || fail "no pong after the connections closed"
ok
unmoved "the connection flood"
done_ok
