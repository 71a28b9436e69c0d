#!/bin/sh
# Offer, answer, reject, timeout, abandon, hang-up and wrap-up; the events
# published to the nodes; the real-time counters.
. "$(dirname "$0")/lib.inc"

# An agent a1 (node n1) offered call c1 (gold, arrived at 1000) at 2000; deadline 17000.
offered() {
	agent a1 n1 "gen:5" 1 1000
	call c1 gold 60000 1000 gen 20000
	expect "offer c1 a1 gen 17000" route_call c1 gen 2000
}

t_offer_is_published_on_the_agents_node() {
	subscribe n1
	offered
	unsubscribe
	grep -q '"type":"offer"' "$T/sub.out" || fail "no offer on events:n1: $(cat "$T/sub.out")"
	grep -q '"call":"c1"' "$T/sub.out" || fail "offer without its call"
	ok
}

t_answer_before_deadline() {
	offered
	expect "answered c1 a1 9000" answer c1 a1 10000
	expect answered hget call:c1 state
	expect on_call hget agent:a1 state
	expect 1 hget agent:a1 calls
	expect "" zmembers offers
	expect "answered c1 a1 9000" answer c1 a1 10500
	expect 1 hget agent:a1 calls
}

t_answer_refusals() {
	offered
	agent a2 n1 "gen:5" 2 1000
	refused STATE answer c1 a2 3000
	refused EXPIRED answer c1 a1 17001
	expect offered hget call:c1 state
	expect reserved hget agent:a1 state
}

t_counters_per_tier_and_skill() {
	offered
	answer c1 a1 15000 >/dev/null
	call c2 gold 60000 5000 gen 20000
	agent a2 n1 "gen:5" 2 1000
	route_call c2 gen 30000 >/dev/null
	answer c2 a2 30000 >/dev/null
	call c3 gold 60000 40000 gen
	ev abandon epoch call:c3 strategy offers -- $E 45000 3600000 >/dev/null
	for k in rt:gold rt:skill:gen; do
		expect 3 r HGET "$PFX$k" offered
		expect 2 r HGET "$PFX$k" answered
		expect 1 r HGET "$PFX$k" answered_in_sl
		expect 1 r HGET "$PFX$k" abandoned
		expect 39000 r HGET "$PFX$k" wait_ms
	done
}

t_reject_requeues_at_its_place_and_agent_not_ready() {
	offered
	call c2 ordinary 0 1500 gen
	expect "requeued c1" ev reject epoch call:c1 agent:a1 strategy offers -- $E 3000 not_ready declined
	expect "c1 c2" zmembers q:gen
	expect -59000 r ZSCORE "${PFX}q:gen" c1
	expect not_ready hget agent:a1 state
	expect declined hget agent:a1 reason
	refused STATE ev reject epoch call:c1 agent:a1 strategy offers -- $E 3000 ready ''
}

t_offer_timeout_puts_call_back_and_agent_not_ready() {
	offered
	call c2 ordinary 0 1500 gen
	expect "" ev offer_timeout epoch offers strategy -- $E 17000 not_ready no-answer 100
	expect offered hget call:c1 state
	expect c1 ev offer_timeout epoch offers strategy -- $E 17001 not_ready no-answer 100
	expect queued hget call:c1 state
	expect "c1 c2" zmembers q:gen
	expect -59000 r ZSCORE "${PFX}q:gen" c1
	expect not_ready hget agent:a1 state
	expect no-answer hget agent:a1 reason
	expect "" zmembers offers
	expect "" zmembers ready:gen
	refused STATE answer c1 a1 17002
}

t_offer_timeout_can_leave_agent_ready() {
	offered
	expect c1 ev offer_timeout epoch offers strategy -- $E 20000 ready '' 100
	expect ready hget agent:a1 state
	expect a1 zmembers ready:gen
	expect "offer c1 a1 gen 36000" route_call c1 gen 21000
}

t_abandon_while_queued() {
	call c1 ordinary 0 1000 "gen,vip"
	expect "abandoned 4000" ev abandon epoch call:c1 strategy offers -- $E 5000 3600000
	expect "" zmembers q:gen
	expect "" zmembers q:vip
	expect abandoned hget call:c1 state
	expect "abandoned 4000" ev abandon epoch call:c1 strategy offers -- $E 6000 3600000
	expect 1 r HGET "${PFX}rt:ordinary" abandoned
}

t_abandon_while_offered_frees_the_agent() {
	offered
	expect "abandoned 2000" ev abandon epoch call:c1 strategy offers -- $E 3000 3600000
	expect ready hget agent:a1 state
	expect a1 zmembers ready:gen
	expect "" zmembers offers
	refused STATE answer c1 a1 3500
	call c2 ordinary 0 4000 gen
	expect "offer c2 a1 gen 20000" route_call c2 gen 5000
}

t_abandon_refused_once_answered() {
	offered
	answer c1 a1 3000 >/dev/null
	refused STATE ev abandon epoch call:c1 strategy offers -- $E 4000 3600000
}

t_hangup_wrap_up_then_ready() {
	offered
	answer c1 a1 3000 >/dev/null
	expect "ended 60000" ev hangup epoch call:c1 agent:a1 -- $E 63000 30000 3600000
	expect ended hget call:c1 state
	expect wrap_up hget agent:a1 state
	expect 93000 hget agent:a1 wrap_until_ms
	expect 60000 hget agent:a1 talk_ms
	expect "ended 60000" ev hangup epoch call:c1 agent:a1 -- $E 64000 30000 3600000
	ttl=$(r PTTL "${PFX}call:c1")
	[ "$ttl" -gt 0 ] && [ "$ttl" -le 3600000 ] || fail "ended call has no expiry: $ttl"
	ok
	expect ready ev wrap_up_done epoch agent:a1 strategy ready:gen -- $E 93000 ready ''
	expect a1 zmembers ready:gen
	refused STATE ev wrap_up_done epoch agent:a1 strategy ready:gen -- $E 93001 not_ready ''
}

# wrap_up_done with offer_ms: the agent goes ready and takes the best queued
# call in the same step (route_agent's reply after the state).
t_wrap_up_done_routes_in_the_same_step() {
	offered
	answer c1 a1 3000 >/dev/null
	ev hangup epoch call:c1 agent:a1 -- $E 63000 30000 3600000 >/dev/null
	call c2 ordinary 0 50000 gen
	call c3 ordinary 0 40000 gen
	refused KEYS ev wrap_up_done epoch agent:a1 strategy ready:gen offers seq q:gen -- $E 70000 ready '' 15000
	expect "ready offer c3 a1 gen 85000" \
		ev wrap_up_done epoch agent:a1 strategy ready:gen seq offers q:gen -- $E 70000 ready '' 15000
	expect reserved hget agent:a1 state
	expect offered hget call:c3 state
	expect c2 zmembers q:gen
	expect "" zmembers ready:gen
	# Nothing queued: ready alone.
	r DEL "${PFX}q:gen" >/dev/null
	r HSET "${PFX}agent:a1" state wrap_up >/dev/null
	expect ready ev wrap_up_done epoch agent:a1 strategy ready:gen seq offers q:gen -- $E 71000 ready '' 15000
	expect a1 zmembers ready:gen
	# not_ready: no routing.
	r HSET "${PFX}agent:a1" state wrap_up >/dev/null
	call c4 ordinary 0 50000 gen
	expect not_ready ev wrap_up_done epoch agent:a1 strategy ready:gen seq offers q:gen -- $E 72000 not_ready x 15000
	expect c4 zmembers q:gen
}

t_hangup_refusals() {
	offered
	refused STATE ev hangup epoch call:c1 agent:a1 -- $E 3000 30000 3600000
	answer c1 a1 3000 >/dev/null
	agent a2 n1 "gen:5" 2 1000
	refused STATE ev hangup epoch call:c1 agent:a2 -- $E 4000 30000 3600000
	expect answered hget call:c1 state
}

run_tests t_offer_is_published_on_the_agents_node t_answer_before_deadline t_answer_refusals \
	t_counters_per_tier_and_skill t_reject_requeues_at_its_place_and_agent_not_ready \
	t_offer_timeout_puts_call_back_and_agent_not_ready t_offer_timeout_can_leave_agent_ready \
	t_abandon_while_queued t_abandon_while_offered_frees_the_agent t_abandon_refused_once_answered \
	t_hangup_wrap_up_then_ready t_wrap_up_done_routes_in_the_same_step t_hangup_refusals
