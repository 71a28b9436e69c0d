#!/bin/sh
# Who owns an agent: each login or resume (reassert_agent mode take) makes
# its node the owner with the next generation and tells the previous owner
# (owner_moved); the old node's re-assert after a Redis failover (mode
# keep, with the generation it got) and its agent_state are refused (OWNED)
# instead of taking the agent back.
. "$(dirname "$0")/lib.inc"

# assert_agent NODE MODE GEN NOW: reassert_agent of a1 (gen:5), not_ready, from NODE.
assert_agent() {
	ev reassert_agent epoch agent:a1 strategy ready:gen -- $E "$4" not_ready '' "$1" tok "gen:5" 1 '' '' "$2" "$3"
}

subscribe() { # NODE: events of NODE go to $T/sub.out
	redis-cli -p "$PORT" SUBSCRIBE "${PFX}events:$1" >"$T/sub.out" &
	SUB_PID=$!
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		[ "$(r PUBSUB NUMSUB "${PFX}events:$1" | tail -1)" = 1 ] && break
		sleep 0.1
	done
}

unsubscribe() {
	sleep 0.2
	kill "$SUB_PID"; SUB_PID=""
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

t_failover_that_lost_the_takeover() {
	assert_agent n1 take '' 1000 >/dev/null
	assert_agent n2 take '' 2000 >/dev/null
	# The new primary missed n2's takeover: it holds n1's view.
	r HSET "${PFX}agent:a1" owner n1 gen 1 >/dev/null
	expect "not_ready 1" assert_agent n1 keep 1 3000
	subscribe n1
	expect "not_ready 2" assert_agent n2 keep 2 3000
	unsubscribe
	expect n2 hget agent:a1 owner
	grep -q '"type":"owner_moved"' "$T/sub.out" || fail "n1 not told: $(cat "$T/sub.out")"
	ok
	refused OWNED assert_agent n1 keep 1 4000
}

run_tests t_resume_elsewhere_moves_the_agent t_old_owner_cannot_take_the_agent_back \
	t_failover_that_lost_the_takeover
