#!/bin/sh
# menu: a call of a tier with an IVR menu arrives held (arrive with hold_ms:
# in no queue, offered to nobody, even with agents ready, its hash expiring
# unless it is queued), and the
# caller's key queues it in the skill the menu maps it to, offered there and
# only there; it counts once, for that queue; a second choice, a retry or a
# key after the call was queued change nothing, and one offered meanwhile
# keeps its agent. Without a key, the menu step queues it in the ladder's
# first queues. A held call is listed in `held` until it leaves its menu;
# one whose node is gone (with its gateway) is ended by lost_calls as
# abandoned, and counted, once.
. "$(dirname "$0")/lib.inc"

# held CALL SKILLS NOW: the call from node gw1, tier 0, held for its menu
# (its hash expiring in 600 s unless the menu step queues it).
held() {
	# shellcheck disable=SC2046
	ev arrive epoch "call:$1" strategy seq offers $(skill_keys q: "$2") $(skill_keys ready: "$2") \
		-- $E "$3" "$3" 0 0 20000 gw1 gateway-a 1380000 "$1-svc" '' 15000 1 0 600000
}
# menu CALL CHOICE SKILLS NOW: the menu step, offer 15 s, ring 1.
menu() {
	# shellcheck disable=SC2046
	ev menu epoch "call:$1" strategy seq offers $(skill_keys q: "$3") $(skill_keys ready: "$3") \
		-- $E "$4" "$2" 15000 1
}

t_held_until_the_choice_then_offered_in_the_chosen_queue() {
	agent g1 n1 "gen:9" 1 1000
	agent b1 n2 "billing:5" 2 1000
	expect "queued 2000" held c1 gen 2000
	# Held: in no queue, and the ready general agent is not offered it.
	expect "" zmembers q:gen
	expect ready hget agent:g1 state
	expect open hget call:c1 menu
	ttl=$(r PTTL "${PFX}call:c1")
	[ "$ttl" -gt 590000 ] && [ "$ttl" -le 600000 ] || fail "a held call's hash expires in $ttl ms"
	ok
	expect "queued 2000" held c1 gen 2500
	expect "" zmembers q:gen
	expect "" route_agent g1 "gen:9" 2600
	subscribe n2
	expect "offered 2000 offer c1 b1 billing 18000" menu c1 1 billing 3000
	unsubscribe
	grep -q '"type":"offer".*"agent":"b1"\|"agent":"b1".*"type":"offer"' "$T/sub.out" ||
		fail "no offer to b1's node: $(cat "$T/sub.out")"
	expect reserved hget agent:b1 state
	expect ready hget agent:g1 state
	expect billing hget call:c1 skills
	expect billing hget call:c1 skill
	expect 1 hget call:c1 menu
	expect -1 r PTTL "${PFX}call:c1"
	# Counted once, for the queue it waits in.
	expect 1 hget rt:skill:billing offered
	expect 0 hget rt:skill:gen offered
	expect 1 hget rt:0 offered
	# Once only: another key (or the same again) keeps it where it is.
	expect "kept offered billing" menu c1 2 gen 4000
	expect "kept offered billing" menu c1 1 billing 4000
	expect b1 hget call:c1 agent
	expect 1 hget rt:skill:billing offered
}

t_chosen_queue_waits_when_nobody_is_ready() {
	agent g1 n1 "gen:9" 1 1000
	held c1 gen 2000 >/dev/null
	expect "queued 2000" menu c1 1 billing 3000
	expect c1 zmembers q:billing
	expect "" zmembers q:gen
	# A general agent never gets it; a billing agent who comes ready does.
	expect "" route_agent g1 "gen:9" 3500
	agent b1 n2 "billing:5" 2 4000
	expect "offer c1 b1 billing 19000" route_agent b1 "billing:5" 4000
}

t_no_choice_queues_in_the_ladder() {
	agent g1 n1 "gen:9" 1 1000
	held c1 gen 2000 >/dev/null
	expect "offered 2000 offer c1 g1 gen 25000" menu c1 '' gen 10000
	expect none hget call:c1 menu
	expect -1 r PTTL "${PFX}call:c1"
	expect 1 hget rt:skill:gen offered
}

t_refused_when_missing_or_over() {
	refused NOTFOUND menu c9 1 billing 3000
	held c1 gen 2000 >/dev/null
	ev abandon epoch call:c1 strategy offers -- $E 2500 60000 >/dev/null
	refused STATE menu c1 1 billing 3000
}

t_offered_meanwhile_keeps_its_agent() {
	agent g1 n1 "gen:9" 1 1000
	held c1 gen 2000 >/dev/null
	# As a node that took the call over routes it (re-asserted into its queues).
	expect "offer c1 g1 gen 17000" route_call c1 "gen:9" 2000
	expect "kept offered gen" menu c1 1 billing 3000
	expect 1 hget call:c1 menu
	expect -1 r PTTL "${PFX}call:c1"
	expect g1 hget call:c1 agent
	expect gen hget call:c1 skills
	expect "kept offered gen" menu c1 2 general 3500
}

t_without_menu_arrive_is_unchanged() {
	agent g1 n1 "gen:9" 1 1000
	# shellcheck disable=SC2046
	expect "offered 2000 offer c1 g1 gen 17000" ev arrive epoch call:c1 strategy seq offers q:gen ready:gen \
		-- $E 2000 2000 0 0 20000 gw1 gateway-a 1380000 c1-svc '' 15000 1 0 ''
	expect "" hget call:c1 menu
	expect "kept offered gen" menu c1 1 billing 3000
}

# sweep NODE NOW: lost_calls run by NODE (grace 5 s, keep 60 s, limit 200).
sweep() {
	ev lost_calls epoch strategy offers nodes q:gen q:billing -- $E "$2" "$1" 5000 60000 200
}

t_held_call_of_a_lost_node_is_abandoned_once() {
	held c1 gen 2000 >/dev/null
	held c2 gen 2100 >/dev/null
	held c3 gen 2200 >/dev/null
	expect "c1 c2 c3" zmembers held
	# c2 leaves its menu, the caller of c3 hangs up: both leave `held`.
	menu c2 1 billing 2500 >/dev/null
	ev abandon epoch call:c3 strategy offers -- $E 2600 60000 >/dev/null
	expect "c1" zmembers held
	# gw1, c1's node, is alive (it ran the sweep at 3000): n2 leaves c1.
	expect "" sweep gw1 3000
	expect "" sweep n2 7000
	expect queued hget call:c1 state
	expect 1 hget rt:0 abandoned
	# Gone for more than the grace: c1 ends abandoned, counted once, as
	# does c2 in the queue its menu chose.
	expect "c2 c1" sweep n2 8500
	expect abandoned hget call:c1 state
	expect gateway-lost hget call:c1 outcome
	expect "" zmembers held
	expect 3 hget rt:0 abandoned
	expect 2 hget rt:skill:gen abandoned
	expect 1 hget rt:skill:billing abandoned
	expect "" sweep n2 9000
	expect 3 hget rt:0 abandoned
	# An entry whose call expired is dropped.
	r ZADD "${PFX}held" 1000 c9 >/dev/null
	expect "" sweep n2 9500
	expect "" zmembers held
}

run_tests t_held_until_the_choice_then_offered_in_the_chosen_queue \
	t_chosen_queue_waits_when_nobody_is_ready t_no_choice_queues_in_the_ladder \
	t_refused_when_missing_or_over t_offered_meanwhile_keeps_its_agent \
	t_without_menu_arrive_is_unchanged t_held_call_of_a_lost_node_is_abandoned_once
