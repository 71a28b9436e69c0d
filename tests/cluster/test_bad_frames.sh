#!/bin/sh
# Bad frames (oversized, truncated, unknown type, wrong role, no login,
# garbage) get an Error frame or a closed connection, never a crash: each
# is written with `kefu-sim raw` to the leader of a three-node cluster
# (max_frame 64 KiB), and after each the leader's process is alive, it
# still answers `kefuctl status`, and a ping on a fresh connection gets
# its pong.
. "$(dirname "$0")/lib.inc"
MAX=65536
"$H" up --nodes 3 --dir "$D" --extra "max_frame = $MAX" >"$D/up.out" 2>&1 ||
	{ cat "$D/up.out" >&2; fail "cluster did not come up"; }
ok
NODE=$(leader)
[ -n "$NODE" ] || fail "no leader"
PID=$(python3 -c 'import json,sys; print([n["pid"] for n in json.load(open(sys.argv[1]))["nodes"] if n["name"]==sys.argv[2]][0])' "$CJ" "$NODE")

# raw NAME AS ARGS...: kefu-sim raw against the leader, its lines in $D/NAME.out.
raw() {
	name=$1; as=$2; shift 2
	timeout 60 "$SIM" raw --cluster "$CJ" --node "$NODE" --as "$as" "$@" >"$D/$name.out" 2>"$D/$name.err" ||
		fail "$name: kefu-sim raw failed: $(cat "$D/$name.err")"
}
# answered NAME: an Error frame came back or the node closed the connection.
answered() {
	grep -q '"body":"error"' "$D/$1.out" || grep -q '"end":"closed"' "$D/$1.out" ||
		fail "$1: neither an Error frame nor a close: $(cat "$D/$1.out")"
	ok
}
# expect_line NAME TEXT: the output of NAME has TEXT.
expect_line() {
	grep -qF "$2" "$D/$1.out" || fail "$1: no '$2' in: $(cat "$D/$1.out")"
	ok
}
# serving NAME: the leader's process is alive and it still serves.
serving() {
	kill -0 "$PID" 2>/dev/null || fail "after $1: $NODE (pid $PID) is gone"
	ctl --node "$(addr "$NODE")" status >"$D/status.out" 2>&1 ||
		fail "after $1: status does not answer: $(cat "$D/status.out")"
	raw "$1.ping" admin --send env:ping --wait 5000 --until pong
	expect_line "$1.ping" '"body":"pong"'
}

# A header announcing one byte over max_frame, and the bytes behind it: cut off.
raw oversized agent --send "header:$((MAX + 1)),random:$((MAX + 1))" --wait 5000
answered oversized
expect_line oversized '"end":"closed"'
serving oversized

# Far over it (64 MiB), from a gateway: cut off at the header.
raw oversized_huge gateway --send "header:4294967295,random:1024" --wait 5000
expect_line oversized_huge '"end":"closed"'
serving oversized_huge

# A header for 100 bytes, 3 of them, then the client is gone.
raw truncated agent --send "header:100,hex:0a0b0c" --close
expect_line truncated '"end":"sent"'
serving truncated

# A header alone, cut in the middle, then gone.
raw truncated_header gateway --send "hex:0000" --close
serving truncated_header

# A valid Envelope (request_id 7) whose body is field 1999, which no build knows.
raw unknown agent --send "hex:000000050807fa7c00" --wait 3000
answered unknown
expect_line unknown '"error":"KF_EPROTO"'
serving unknown

# An empty frame: a protocol violation.
raw empty admin --send "header:0" --wait 3000
answered empty
serving empty

# Wrong role: a gateway asks for the cluster's status (nodes and admins only).
raw wrong_role gateway --send env:status --wait 3000
answered wrong_role
expect_line wrong_role 'status is not allowed for role kefu-gateway'
serving wrong_role

# Wrong role: an agent (no certificate) sends a replication Hello.
raw wrong_role_agent agent --send env:hello --wait 3000
answered wrong_role_agent
expect_line wrong_role_agent '"error":"KF_EPROTO"'
serving wrong_role_agent

# No login: an agent connection sets a state before logging in.
raw no_login agent --send env:set_agent_state --wait 3000
answered no_login
expect_line no_login 'log in first'
serving no_login

# No login: an answer to a call, on a connection that never logged in.
raw no_login_answer agent --send env:answer_call --wait 3000
answered no_login_answer
serving no_login_answer

# A well-sized frame of garbage: not an Envelope.
raw garbage_frame agent --send "header:64,random:64" --wait 3000
answered garbage_frame
serving garbage_frame

# Garbage from the first byte, a lot of it.
raw garbage agent --send "random:200000" --wait 5000
answered garbage
serving garbage

# All of it again at once, on parallel connections, and the node is still there.
for i in 1 2 3 4 5 6 7 8; do
	timeout 60 "$SIM" raw --cluster "$CJ" --node "$NODE" --as agent --wait 2000 \
		--send "random:$((i * 1000)),env:login,header:$((MAX + i))" >/dev/null 2>&1 &
	timeout 60 "$SIM" raw --cluster "$CJ" --node "$NODE" --as gateway --wait 2000 \
		--send "env:status,hex:000000050807fa7c00,header:50" >/dev/null 2>&1 &
done
wait
serving parallel
healthy || fail "the cluster is not healthy after the bad frames"
ok
done_ok
