#!/bin/sh
# The live board's read (board): calls really queued per skill and per tier
# with the longest wait, and the agents that are not logged out.
. "$(dirname "$0")/lib.inc"

# board NOW SKILL... -- AGENT...: the step over those queues and agents.
board() {
	now=$1; shift
	qs=""; nq=0
	while [ "$1" != -- ]; do qs="$qs q:$1"; nq=$((nq + 1)); shift; done
	shift
	as=""
	for a in "$@"; do as="$as agent:$a"; done
	# shellcheck disable=SC2086
	ev board epoch $qs $as -- $E "$now" "$nq"
}

t_empty_center() {
	expect "vip 0 0 billing 0 0 gen 0 0" board 1000 vip billing gen -- a1 a2
}

# Queued calls count per skill and once per tier; offered calls and entries
# left behind do not; the oldest arrival is the longest wait.
t_queues_and_tiers() {
	call c1 0 0 100000 gen
	call c2 0 0 90000 gen
	call c3 4 120000 95000 vip
	call c4 2 60000 80000 billing
	# c4 overflowed into gen as well: counted in both queues, once for tier 2.
	expect "billing,gen" ev overflow epoch call:c4 q:gen -- $E 100500
	# c5 is offered: out of its queue, not counted.
	call c5 0 0 70000 gen
	agent a1 n1 "gen:5" 1 100000
	expect "offer c5 a1 gen 116000" route_call c5 gen 101000
	# An entry whose call ended meanwhile, and one without a call at all.
	r ZADD "${PFX}q:gen" 1 gone >/dev/null
	r HSET "${PFX}call:gone" state abandoned tier 0 arrived_ms 1 >/dev/null
	r ZADD "${PFX}q:vip" 2 nothing >/dev/null
	expect "vip 1 95000 billing 1 80000 gen 3 80000 0 2 90000 2 1 80000 4 1 95000 a1 reserved  101000 0 gen:5" \
		board 102000 vip billing gen -- a1
	expect 4 r ZCARD "${PFX}q:gen"
}

# Agents: logged out and unknown ones are left out; not_ready carries its
# reason; state_ms is when the state began; calls is the agent's count.
t_agents() {
	agent a1 n1 "gen:5" 1 1000
	agent a2 n1 "vip:3,gen:2" 2 2000
	agent a3 n1 "billing:4" 3 3000
	expect not_ready ev agent_state epoch agent:a2 strategy ready:vip ready:gen -- $E 5000 not_ready lunch '' '' '' ''
	expect logged_out ev agent_state epoch agent:a3 strategy ready:billing -- $E 6000 logged_out '' '' '' '' ''
	r HSET "${PFX}agent:a1" calls 7 >/dev/null
	expect "gen 0 0  a1 ready  1000 7 gen:5 a2 not_ready lunch 5000 0 vip:3,gen:2" \
		board 7000 gen -- a1 a2 a3 a9
}

# The operations component's iv_read counts an agent's time up to now
# without moving state_ms: the board still says since when the agent is in
# its state, and no time is counted twice.
t_state_ms_survives_iv_read() {
	EMBED_STEPS="$TOP/node/ops/lua" EMBED_NAME=ops "$EMBED" text iv_read >"$T/iv_read.lua"
	SHA_iv_read=$(r -x SCRIPT LOAD <"$T/iv_read.lua")
	expect ready ev agent_state epoch agent:a1 strategy ready:gen -- $E 1000 ready '' n1 s-a1 gen:5 1 '' 60000
	ev iv_read epoch agent:a1 -- $E 30000 0 >/dev/null
	expect 29000 r HGET "${PFX}iv:0" a:a1:ready_ms
	expect "gen 0 0  a1 ready  1000 0 gen:5" board 31000 gen -- a1
	ev iv_read epoch agent:a1 -- $E 40000 0 >/dev/null
	expect 39000 r HGET "${PFX}iv:0" a:a1:ready_ms
	expect not_ready ev agent_state epoch agent:a1 strategy ready:gen -- $E 50000 not_ready lunch '' '' '' '' ''
	expect 49000 r HGET "${PFX}iv:0" a:a1:ready_ms
	expect 50000 hget agent:a1 state_ms
	ev iv_read epoch agent:a1 -- $E 70000 0 60000 >/dev/null
	expect 10000 r HGET "${PFX}iv:0" a:a1:not_ready_ms
	expect 10000 r HGET "${PFX}iv:60000" a:a1:nr:lunch
	expect 50000 hget agent:a1 state_ms
}

t_refusals() {
	refused ARGS ev board epoch q:gen -- $E 1000 2
	refused ARGS ev board epoch q:gen -- $E 1000 x
	refused KEYS ev board epoch agent:a1 -- $E 1000 1
	refused KEYS ev board epoch q:gen call:c1 -- $E 1000 1
}

run_tests t_empty_center t_queues_and_tiers t_agents t_state_ms_survives_iv_read t_refusals
