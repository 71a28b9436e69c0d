#!/bin/sh
# Interval statistics (docs/ops.md): calls counted in the interval they
# leave the queue in, talk when it ends, an agent's time in each state split
# at interval boundaries, short abandons, and iv_read (node/ops/lua/) that
# brings agents up to now and returns the hashes of the intervals asked.
. "$(dirname "$0")/lib.inc"
OPS_EMBED() { EMBED_STEPS="$TOP/node/ops/lua" EMBED_NAME=ops "$EMBED" "$@"; }
IV=60000


# login ID SKILLS NOW: ready, with presence and the interval length.
login() {
	r SET "${PFX}presence:$1" n1 PX 600000 >/dev/null
	# shellcheck disable=SC2046
	got=$(ev agent_state epoch "agent:$1" strategy $(skill_keys ready: "$2") -- $E "$3" ready '' n1 "s-$1" "$2" 1 '' $IV)
	[ "$got" = ready ] || fail "agent $1 did not go ready: $got"
}

# arrive ID TIER SL_MS NOW SKILL: a call arrives (and is offered when an agent is ready).
arrive() {
	ev arrive epoch "call:$1" strategy seq offers "q:$5" "ready:$5" -- $E "$4" "$4" "$2" 0 "$3" n1 gw 1380000 svc '' 15000 1 $IV
}

t_calls_and_agent_time() {
	login a1 "gen:5" 1000
	expect "offered 2000 offer c1 a1 gen 17000" arrive c1 4 10000 2000 gen
	expect "answered c1 a1 3000" answer c1 a1 5000
	expect "ended 60000" ev hangup epoch call:c1 agent:a1 -- $E 65000 10000 3600000
	expect "ready" ev wrap_up_done epoch agent:a1 strategy ready:gen -- $E 70000 ready ''
	# The routing steps set no expiry: iv_read does (below, and each iv).
	expect -1 r PTTL "${PFX}iv:0"
	# A call's counts are stored once for its tier and skill together, without
	# offered (answered + abandoned + overflowed): half the fields to write.
	expect 1 r HGET "${PFX}iv:0" c:4:gen:answered
	expect "" r HGET "${PFX}iv:0" c:4:gen:offered
	expect "" r HGET "${PFX}iv:0" t:4:answered
	# The call left the queue at 5000: interval 0.
	for p in t:4 s:gen; do
		expect 1 iv 0 "$p:offered"
		expect 1 iv 0 "$p:answered"
		expect 1 iv 0 "$p:answered_in_sl"
		expect 3000 iv 0 "$p:wait_ms"
		expect 3000 iv 0 "$p:max_wait_ms"
		# Its talk ended at 65000: interval 60000, wrap-up with it.
		expect 1 iv $IV "$p:handled"
		expect 60000 iv $IV "$p:talk_ms"
		expect 5000 iv $IV "$p:wrap_ms"
		expect "" iv $IV "$p:offered"
	done
	expect 1 iv 0 a:a1:calls
	expect 1000 iv 0 a:a1:ready_ms
	expect 3000 iv 0 a:a1:ring_ms
	expect 55000 iv 0 a:a1:talk_ms
	expect 5000 iv $IV a:a1:talk_ms
	expect 5000 iv $IV a:a1:wrap_ms
	expect "" iv $IV a:a1:ready_ms
}

t_abandons_and_overflow() {
	expect "queued 10000" arrive c2 0 60000 10000 vip
	ev abandon epoch call:c2 strategy offers -- $E 15000 3600000 >/dev/null
	expect "queued 20000" arrive c3 0 60000 20000 vip
	ev abandon epoch call:c3 strategy offers -- $E 50000 3600000 >/dev/null
	expect "queued 70000" arrive c4 0 60000 70000 vip
	expect "overflowed voicemail" ev max_wait epoch call:c4 -- $E 130000 voicemail 3600000
	expect 2 iv 0 t:0:offered
	expect 2 iv 0 t:0:abandoned
	expect 1 iv 0 t:0:abandoned_short
	expect 2 iv 0 t:0:abandoned_in_sl
	expect 35000 iv 0 t:0:abandon_wait_ms
	expect 30000 iv 0 t:0:max_wait_ms
	expect "" iv 0 t:0:answered
	expect 1 iv 120000 t:0:overflowed
	expect 1 iv 120000 t:0:offered
	expect 60000 iv 120000 t:0:max_wait_ms
}

t_not_ready_by_reason() {
	login a2 "gen:5" 1000
	# shellcheck disable=SC2046
	expect not_ready ev agent_state epoch agent:a2 strategy ready:gen -- $E 11000 not_ready lunch n1 s-a2 "" 1
	# shellcheck disable=SC2046
	expect not_ready ev agent_state epoch agent:a2 strategy ready:gen -- $E 71000 not_ready training n1 s-a2 "" 1
	expect logged_out ev agent_state epoch agent:a2 strategy ready:gen -- $E 81000 logged_out '' n1 s-a2 "" 1
	expect 10000 iv 0 a:a2:ready_ms
	expect 49000 iv 0 a:a2:not_ready_ms
	expect 49000 iv 0 a:a2:nr:lunch
	expect 11000 iv $IV a:a2:nr:lunch
	expect 10000 iv $IV a:a2:nr:training
	expect 21000 iv $IV a:a2:not_ready_ms
	# Logged out: no more time.
	expect "" iv 120000 a:a2:not_ready_ms
}

t_iv_read_brings_agents_up_to_now() {
	login a3 "gen:5" 30000
	OPS_EMBED text iv_read >"$T/iv_read.lua"
	sha=$(r -x SCRIPT LOAD <"$T/iv_read.lua")
	got=$(r EVALSHA "$sha" 2 "${PFX}epoch" "${PFX}agent:a3" $E 150000 0 $IV 120000 | tr '\n' ' ')
	case "$got" in *"a:a3:ready_ms 30000"*"a:a3:ready_ms 60000"*"a:a3:ready_ms 30000"*) ok ;;
	*) fail "iv_read: $got" ;; esac
	expect 150000 hget agent:a3 counted_ms
	expect 30000 hget agent:a3 state_ms
	# Each hash read lives two days more.
	for st in 0 $IV 120000; do
		ttl=$(r PTTL "${PFX}iv:$st")
		[ "$ttl" -gt 0 ] && [ "$ttl" -le 172800000 ] || fail "iv:$st lives $ttl ms after iv_read"
	done
	ok
	# Again at once: nothing more to add.
	r EVALSHA "$sha" 2 "${PFX}epoch" "${PFX}agent:a3" $E 150000 120000 >/dev/null
	expect 30000 iv 120000 a:a3:ready_ms
	# A stale epoch is refused before anything is written.
	refused STALE r EVALSHA "$sha" 2 "${PFX}epoch" "${PFX}agent:a3" 0 160000 120000
	expect 150000 hget agent:a3 counted_ms
}

t_read_view() {
	# A hash with fields of a build before the combined ones (t:, s: with
	# offered, during a rolling upgrade) and combined ones: iv_read sums
	# them, takes the greatest wait, derives offered from the outcomes.
	r HSET "${PFX}iv:240000" t:0:offered 2 t:0:answered 2 t:0:max_wait_ms 5000 \
		s:vip:offered 2 s:vip:answered 2 s:vip:max_wait_ms 5000 \
		c:0:vip:answered 1 c:0:vip:abandoned 1 c:0:vip:max_wait_ms 7000 \
		c:1:vip:answered 3 c:1:vip:max_wait_ms 1000 c:0:gen:overflowed 1 >/dev/null
	expect 5 iv 240000 t:0:offered
	expect 3 iv 240000 t:0:answered
	expect 1 iv 240000 t:0:abandoned
	expect 1 iv 240000 t:0:overflowed
	expect 7000 iv 240000 t:0:max_wait_ms
	expect 3 iv 240000 t:1:offered
	expect 1000 iv 240000 t:1:max_wait_ms
	expect 7 iv 240000 s:vip:offered
	expect 6 iv 240000 s:vip:answered
	expect 7000 iv 240000 s:vip:max_wait_ms
	expect 1 iv 240000 s:gen:offered
	expect "" iv 240000 c:0:vip:answered
}

t_off_counts_nothing() {
	# A call without iv_ms (statistics off): no interval hash at all.
	ev arrive epoch call:c9 strategy seq offers q:vip ready:vip -- $E 1000 1000 0 0 60000 n1 gw 1 svc '' 15000 1 0 >/dev/null
	ev abandon epoch call:c9 strategy offers -- $E 2000 3600000 >/dev/null
	expect 0 r EXISTS "${PFX}iv:0"
}

run_tests t_calls_and_agent_time t_abandons_and_overflow t_not_ready_by_reason \
	t_iv_read_brings_agents_up_to_now t_read_view t_off_counts_nothing
