#!/bin/sh
# Who owns an agent: each login or resume (reassert_agent mode take) makes
# its node the owner with the next generation and tells the previous owner
# (owner_moved); the old node's re-assert after a Redis failover (mode
# keep, with the generation it got) and its agent_state are refused (OWNED)
# instead of taking the agent back. Calls the same way: a GatewayResume
# (reassert_call mode take) moves the call with the next generation, and
# the old node's re-assert (mode keep) is refused.
. "$(dirname "$0")/lib.inc"

# assert_agent NODE MODE GEN NOW: reassert_agent of a1 (gen:5), not_ready, from NODE.
assert_agent() {
	ev reassert_agent epoch agent:a1 strategy ready:gen -- $E "$4" not_ready '' "$1" tok "gen:5" 1 '' '' "$2" "$3"
}

t_resume_elsewhere_moves_the_agent() {
	expect "not_ready 1" assert_agent n1 take '' 1000
	subscribe n1
	expect "not_ready 2" assert_agent n2 take '' 2000
	unsubscribe
	grep -q '"type":"owner_moved"' "$T/sub.out" || fail "no owner_moved on events:n1: $(cat "$T/sub.out")"
	grep -q '"gen":2' "$T/sub.out" || fail "owner_moved without the new gen: $(cat "$T/sub.out")"
	ok
	expect n2 hget agent:a1 owner
	expect 2 hget agent:a1 gen
}

t_old_owner_cannot_take_the_agent_back() {
	assert_agent n1 take '' 1000 >/dev/null
	assert_agent n2 take '' 2000 >/dev/null
	# n1 still holds a1 (gen 1) and re-asserts it after a failover.
	refused OWNED assert_agent n1 keep 1 3000
	expect n2 hget agent:a1 owner
	refused OWNED ev agent_state epoch agent:a1 strategy ready:gen -- $E 3000 ready '' n1 tok '' '' 1
	expect not_ready hget agent:a1 state
	# The owner's own re-assert and state changes go through.
	expect "not_ready 2" assert_agent n2 keep 2 4000
	expect ready ev agent_state epoch agent:a1 strategy ready:gen -- $E 5000 ready '' n2 tok '' '' 2
}

# takeover_lost ASSERT KEY OLD GEN STATE: n2 took KEY from OLD (which holds
# GEN) but the new primary missed it and holds OLD's view: OLD's keep goes
# through, then n2's keep (GEN + 1) wins and tells OLD, whose next keep is
# refused.
takeover_lost() {
	r HSET "$PFX$2" owner "$3" gen "$4" >/dev/null
	expect "$5 $4" "$1" "$3" keep "$4" 3000
	subscribe "$3"
	expect "$5 $(($4 + 1))" "$1" n2 keep $(($4 + 1)) 3000
	unsubscribe
	expect n2 hget "$2" owner
	grep -q '"type":"owner_moved"' "$T/sub.out" || fail "$3 not told: $(cat "$T/sub.out")"
	ok
	refused OWNED "$1" "$3" keep "$4" 4000
}

t_failover_that_lost_the_takeover() {
	assert_agent n1 take '' 1000 >/dev/null
	assert_agent n2 take '' 2000 >/dev/null
	takeover_lost assert_agent agent:a1 n1 1 not_ready
}

# assert_call NODE MODE GEN NOW: reassert_call of c1 (queued in gen), from NODE.
assert_call() {
	ev reassert_call epoch call:c1 offers q:gen -- $E "$4" queued 1000 0 0 60000 "$1" gw-a 1380000 svc \
		'' '' '' "$2" "$3"
}

t_gateway_resume_elsewhere_moves_the_call() {
	call c1 0 0 1000 gen # arrived through gw1
	subscribe gw1
	expect "queued 1" assert_call n2 take '' 2000
	unsubscribe
	grep -q '"type":"owner_moved"' "$T/sub.out" || fail "no owner_moved on events:gw1: $(cat "$T/sub.out")"
	grep -q '"call":"c1"' "$T/sub.out" || fail "owner_moved without the call: $(cat "$T/sub.out")"
	grep -q '"gen":1' "$T/sub.out" || fail "owner_moved without the new gen: $(cat "$T/sub.out")"
	ok
	expect n2 hget call:c1 owner
	expect 1 hget call:c1 gen
	expect "queued 2" assert_call n3 take '' 3000
	expect n3 hget call:c1 owner
}

t_old_owner_cannot_take_the_call_back() {
	call c1 0 0 1000 gen
	assert_call n2 take '' 2000 >/dev/null
	# gw1 still holds c1 (gen 0: it took it by arrive) and re-asserts it after a failover.
	refused OWNED assert_call gw1 keep 0 3000
	expect n2 hget call:c1 owner
	expect 1 hget call:c1 gen
	expect c1 zmembers q:gen
	# The owner's own re-assert goes through and keeps its generation.
	expect "queued 1" assert_call n2 keep 1 4000
	expect n2 hget call:c1 owner
}

t_failover_that_lost_the_call_takeover() {
	call c1 0 0 1000 gen
	assert_call n2 take '' 2000 >/dev/null
	takeover_lost assert_call call:c1 gw1 0 queued
	grep -q '"call":"c1"' "$T/sub.out" || fail "owner_moved without the call: $(cat "$T/sub.out")"
	ok
}

t_ended_call_keeps_its_owner() {
	call c1 0 0 1000 gen
	ev abandon epoch call:c1 strategy offers -- $E 1500 3600000 >/dev/null
	expect "abandoned 0" assert_call n2 take '' 2000
	expect gw1 hget call:c1 owner
}

run_tests t_resume_elsewhere_moves_the_agent t_old_owner_cannot_take_the_agent_back \
	t_failover_that_lost_the_takeover t_gateway_resume_elsewhere_moves_the_call \
	t_old_owner_cannot_take_the_call_back t_failover_that_lost_the_call_takeover \
	t_ended_call_keeps_its_owner
