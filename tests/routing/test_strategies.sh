#!/bin/sh
# route_call picks the agent each strategy of docs/routing.md says, with
# proficiency first and agents without presence passed over.
. "$(dirname "$0")/lib.inc"

# offered_to CALL SKILL NOW: route_call and print the agent offered.
offered_to() {
	route_call "$1" "$2" "$3" | cut -d' ' -f3
}

# The agents' metrics as if each had a history: calls, talk_ms, last_offer_ms.
history() { # AGENT CALLS TALK_MS LAST_OFFER_MS
	r HSET "${PFX}agent:$1" calls "$2" talk_ms "$3" last_offer_ms "$4" >/dev/null
}

t_proficiency_comes_first() {
	agent a1 n1 "gen:4" 1 1000
	agent a2 n1 "gen:9" 2 5000
	call c1 ordinary 0 6000 gen
	expect a2 offered_to c1 gen 7000
}

t_agent_without_presence_is_passed_over() {
	agent a1 n1 "gen:9" 1 1000
	agent a2 n1 "gen:5" 2 1000
	r DEL "${PFX}presence:a1" >/dev/null
	call c1 ordinary 0 6000 gen
	expect a2 offered_to c1 gen 7000
}

t_longest_idle_agent() {
	agent a1 n1 "gen:5" 1 3000
	agent a2 n1 "gen:5" 2 1000
	agent a3 n1 "gen:5" 3 2000
	call c1 ordinary 0 6000 gen
	expect a2 offered_to c1 gen 7000
}

t_least_talk_time() {
	strategy gen agent-with-least-talk-time
	history a1 1 900 0; history a2 9 300 0; history a3 1 600 0
	agent a1 n1 "gen:5" 1 1000; agent a2 n1 "gen:5" 2 1000; agent a3 n1 "gen:5" 3 1000
	call c1 ordinary 0 6000 gen
	expect a2 offered_to c1 gen 7000
}

t_fewest_calls() {
	strategy gen agent-with-fewest-calls
	history a1 5 100 0; history a2 2 900 0; history a3 7 10 0
	agent a1 n1 "gen:5" 1 1000; agent a2 n1 "gen:5" 2 1000; agent a3 n1 "gen:5" 3 1000
	call c1 ordinary 0 6000 gen
	expect a2 offered_to c1 gen 7000
}

t_round_robin_takes_least_recently_offered() {
	strategy gen round-robin
	history a1 0 0 5000; history a2 0 0 3000; history a3 0 0 4000
	agent a1 n1 "gen:5" 1 1000; agent a2 n1 "gen:5" 2 1000; agent a3 n1 "gen:5" 3 1000
	call c1 ordinary 0 6000 gen
	expect a2 offered_to c1 gen 7000
	# a2 was offered at 7000: back in the ready set it is last in turn.
	ev reject epoch call:c1 agent:a2 strategy offers -- $E 7100 ready '' >/dev/null
	expect 7000 hget agent:a2 last_offer_ms
	expect a3 offered_to c1 gen 7200
}

t_top_down_always_from_the_top() {
	strategy gen top-down
	agent a3 n1 "gen:5" 3 1000; agent a1 n1 "gen:5" 1 2000; agent a2 n1 "gen:5" 2 3000
	call c1 ordinary 0 6000 gen
	expect a1 offered_to c1 gen 7000
	ev reject epoch call:c1 agent:a1 strategy offers -- $E 7100 ready '' >/dev/null
	expect a1 offered_to c1 gen 7200
}

t_sequentially_continues_after_last_offered() {
	strategy gen sequentially-by-agent-order
	agent a1 n1 "gen:5" 1 1000; agent a2 n1 "gen:5" 2 1000; agent a3 n1 "gen:5" 3 1000
	call c1 ordinary 0 6000 gen
	expect a1 offered_to c1 gen 7000
	ev reject epoch call:c1 agent:a1 strategy offers -- $E 7100 ready '' >/dev/null
	expect a2 offered_to c1 gen 7200
	ev reject epoch call:c1 agent:a2 strategy offers -- $E 7300 ready '' >/dev/null
	expect a3 offered_to c1 gen 7400
	ev reject epoch call:c1 agent:a3 strategy offers -- $E 7500 ready '' >/dev/null
	expect a1 offered_to c1 gen 7600
}

t_sequentially_keeps_proficiency_first() {
	strategy gen sequentially-by-agent-order
	agent a1 n1 "gen:5" 1 1000; agent a2 n1 "gen:8" 2 1000; agent a3 n1 "gen:8" 3 1000
	r HSET "${PFX}seq" gen 3 >/dev/null
	call c1 ordinary 0 6000 gen
	expect a2 offered_to c1 gen 7000
}

# random: the ready agent with the lowest draw, a draw stored with each agent.
t_random_takes_lowest_draw() {
	strategy gen random
	for a in a1 a2 a3 a4 a5; do agent "$a" n1 "gen:5" 1 1000; done
	want=$(for a in a1 a2 a3 a4 a5; do echo "$(hget agent:$a rand) $a"; done | sort -n | head -1 | cut -d' ' -f2)
	draws=$(for a in a1 a2 a3 a4 a5; do hget agent:$a rand; done | sort -u | wc -l)
	[ "$draws" -eq 5 ] || fail "draws are not distinct"
	call c1 ordinary 0 6000 gen
	expect "$want" offered_to c1 gen 7000
}

t_ring_all_alerts_every_ready_agent() {
	strategy gen ring-all
	agent a1 n1 "gen:5" 1 1000; agent a2 n2 "gen:9" 2 1000; agent a3 n1 "gen:5" 3 1000
	call c1 ordinary 0 6000 gen
	expect "alert c1 gen a2 a1 a3" route_call c1 gen 7000
	expect queued hget call:c1 state
	expect ready hget agent:a1 state
}

t_ring_progressively_alerts_one_more_each_time() {
	strategy gen ring-progressively
	agent a3 n1 "gen:5" 3 1000; agent a1 n1 "gen:5" 1 1000; agent a2 n1 "gen:5" 2 1000
	call c1 ordinary 0 6000 gen
	expect "alert c1 gen a1" route_call c1 gen 7000 1
	expect "alert c1 gen a1 a2" route_call c1 gen 9000 2
	expect "alert c1 gen a1 a2 a3" route_call c1 gen 11000 3
}

run_tests t_proficiency_comes_first t_agent_without_presence_is_passed_over t_longest_idle_agent \
	t_least_talk_time t_fewest_calls t_round_robin_takes_least_recently_offered \
	t_top_down_always_from_the_top t_sequentially_continues_after_last_offered \
	t_sequentially_keeps_proficiency_first t_random_takes_lowest_draw \
	t_ring_all_alerts_every_ready_agent t_ring_progressively_alerts_one_more_each_time
