#!/bin/sh
# Queue order (tier weight plus aging), route_agent, overflow, maximum wait,
# estimated wait; and no call is ever reserved twice.
. "$(dirname "$0")/lib.inc"

# A diamond call (weight 120 s) beats an ordinary one that arrived at the same time.
t_diamond_beats_ordinary_of_same_arrival() {
	call c_ord ordinary 0 500000 gen
	call c_dia diamond 120000 500000 gen
	agent a1 n1 "gen:5" 1 510000
	expect "offer c_dia a1 gen 525000" route_agent a1 "gen:5" 510000
}

# An ordinary call that has waited longer than the diamond weight is served first.
t_ordinary_waiting_longer_than_weight_wins() {
	call c_ord ordinary 0 100000 gen
	call c_dia diamond 120000 221000 gen
	agent a1 n1 "gen:5" 1 222000
	expect "offer c_ord a1 gen 237000" route_agent a1 "gen:5" 222000
}

t_route_agent_takes_lowest_score_over_its_skills() {
	call c1 ordinary 0 300000 gen
	call c2 gold 60000 300000 billing
	call c3 silver 30000 200000 vip
	agent a1 n1 "gen:5,billing:5" 1 400000
	expect "offer c2 a1 billing 415000" route_agent a1 "gen:5,billing:5" 400000
	expect "" zmembers q:billing
	expect reserved hget agent:a1 state
	expect "" zmembers ready:gen
}

t_route_agent_nothing_when_not_ready_or_no_call() {
	agent a1 n1 "gen:5" 1 1000
	expect "" route_agent a1 "gen:5" 2000
	ev agent_state epoch agent:a1 strategy ready:gen -- $E 2000 not_ready break '' '' '' '' >/dev/null
	call c1 ordinary 0 3000 gen
	expect "" route_agent a1 "gen:5" 4000
	expect queued hget call:c1 state
}

t_two_route_call_never_offer_twice() {
	agent a1 n1 "gen:5" 1 1000
	agent a2 n1 "gen:5" 2 2000
	call c1 ordinary 0 3000 gen
	expect "offer c1 a1 gen 19000" route_call c1 gen 4000
	expect "" route_call c1 gen 4001
	expect ready hget agent:a2 state
	expect c1 zmembers offers
}

t_route_agent_for_two_agents_never_reserve_one_call_twice() {
	call c1 ordinary 0 3000 gen
	agent a1 n1 "gen:5" 1 1000
	agent a2 n1 "gen:5" 2 2000
	expect "offer c1 a1 gen 19000" route_agent a1 "gen:5" 4000
	expect "" route_agent a2 "gen:5" 4000
	expect ready hget agent:a2 state
	expect a1 hget call:c1 agent
}

t_overflow_adds_queues_with_original_score() {
	call c1 diamond 120000 200000 vip
	call c0 ordinary 0 50000 gen
	expect "vip,billing,gen" ev overflow epoch call:c1 q:billing q:gen q:vip -- $E 220000
	expect 80000 r ZSCORE "${PFX}q:gen" c1
	expect "c0 c1" zmembers q:gen
	expect c1 zmembers q:billing
	agent a1 n1 "gen:5" 1 221000
	expect "offer c0 a1 gen 236000" route_agent a1 "gen:5" 221000
}

t_overflow_refused_once_answered() {
	call c1 ordinary 0 1000 gen
	agent a1 n1 "gen:5" 1 1000
	route_call c1 gen 2000 >/dev/null
	answer c1 a1 3000 >/dev/null
	refused STATE ev overflow epoch call:c1 q:billing -- $E 4000
	expect gen hget call:c1 skills
}

t_max_wait_overflows_to_callback() {
	call c1 gold 60000 1000 "vip,gen"
	expect "overflowed callback" ev max_wait epoch call:c1 -- $E 300000 callback 3600000
	expect "" zmembers q:vip
	expect "" zmembers q:gen
	expect overflowed hget call:c1 state
	expect 1 r HGET "${PFX}rt:gold" overflowed
	expect "overflowed callback" ev max_wait epoch call:c1 -- $E 300001 voicemail 3600000
	refused ARGS ev max_wait epoch call:c1 -- $E 300000 hangup 3600000
}

t_max_wait_leaves_an_offered_call() {
	call c1 ordinary 0 1000 gen
	agent a1 n1 "gen:5" 1 1000
	route_call c1 gen 2000 >/dev/null
	refused STATE ev max_wait epoch call:c1 -- $E 3000 voicemail 3600000
	expect offered hget call:c1 state
}

# Three calls answered on gen in the last minute: 20 s per call; the second in line waits ~40 s.
t_estimated_wait_from_position_and_answer_rate() {
	i=0
	for c in h1 h2 h3; do
		i=$((i + 1))
		call "$c" ordinary 0 $((100000 + i)) gen
		agent "a$c" n1 "gen:5" 1 100000
		route_call "$c" gen 110000 >/dev/null
		answer "$c" "a$c" 110000 >/dev/null
	done
	call w1 ordinary 0 120000 gen
	call w2 ordinary 0 121000 gen
	expect "40 1" ev estimated_wait epoch call:w2 q:gen -- $E 130000 60000
	expect "20 0" ev estimated_wait epoch call:w1 q:gen -- $E 130000 60000
	expect "-1 1" ev estimated_wait epoch call:w2 q:gen -- $E 900000 60000
	refused KEYS ev estimated_wait epoch call:w2 q:vip -- $E 130000 60000
	refused STATE ev estimated_wait epoch call:h1 q:gen -- $E 130000 60000
}

# answered CALL AGENT NOW: call CALL on gen is offered to a new agent AGENT and answered at NOW.
answered() {
	call "$1" ordinary 0 $(($3 - 2000)) gen
	agent "$2" n1 "gen:5" 1 $(($3 - 2000))
	route_call "$1" gen $(($3 - 1000)) >/dev/null
	answer "$1" "$2" "$3" >/dev/null
}

# Answers are counted in 10 s buckets kept in 361 slots: an hour later the
# same slot serves the new bucket, so the hash never grows past one hour.
t_answer_counts_reuse_their_slot_after_an_hour() {
	answered h1 a1 100000
	expect "10:1" hget anscount:gen 10
	answered h2 a2 3710000
	expect 1 r HLEN "${PFX}anscount:gen"
	expect "371:1" hget anscount:gen 10
	call w1 ordinary 0 3715000 gen
	expect "3600 0" ev estimated_wait epoch call:w1 q:gen -- $E 3720000 3600000
}

# The bucket the window starts in counts for its part inside the window:
# one answer at 191 s, window 195..255 s holds half of its bucket (190..200 s).
t_estimated_wait_counts_part_of_the_first_bucket() {
	answered h1 a1 191000
	call w1 ordinary 0 250000 gen
	expect "120 0" ev estimated_wait epoch call:w1 q:gen -- $E 255000 60000
}

run_tests t_diamond_beats_ordinary_of_same_arrival t_ordinary_waiting_longer_than_weight_wins \
	t_route_agent_takes_lowest_score_over_its_skills t_route_agent_nothing_when_not_ready_or_no_call \
	t_two_route_call_never_offer_twice t_route_agent_for_two_agents_never_reserve_one_call_twice \
	t_overflow_adds_queues_with_original_score t_overflow_refused_once_answered \
	t_max_wait_overflows_to_callback t_max_wait_leaves_an_offered_call \
	t_estimated_wait_from_position_and_answer_rate t_answer_counts_reuse_their_slot_after_an_hour \
	t_estimated_wait_counts_part_of_the_first_bucket
