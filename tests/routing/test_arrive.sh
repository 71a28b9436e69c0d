#!/bin/sh
# arrive: a new call is queued and offered in one step. A call that finds an
# agent ready is offered without ever entering a queue; one that finds none,
# or only rings (ring strategies), waits in its queues; a retry of the same
# call changes nothing.
. "$(dirname "$0")/lib.inc"

# arrive CALL TIER SKILLS(comma list) NOW: the call from node gw1, offer 15 s, ring 1.
arrive() {
	# shellcheck disable=SC2046
	ev arrive epoch "call:$1" strategy seq offers $(skill_keys q: "$3") $(skill_keys ready: "$3") \
		-- $E "$4" "$4" "$2" 0 20000 gw1 gateway-a 1380000 "$1-svc" '' 15000 1
}

t_offered_at_once_leaves_no_queue_entry() {
	agent a1 n1 "gen:5" 1 1000
	expect "offered 2000 offer c1 a1 gen 17000" arrive c1 ordinary gen 2000
	expect "" zmembers q:gen
	expect offered hget call:c1 state
	expect reserved hget agent:a1 state
	expect c1 zmembers offers
	expect "" zmembers ready:gen
	expect 1 hget rt:ordinary offered
}

t_no_agent_ready_waits_in_every_queue() {
	expect "queued 2000" arrive c1 ordinary gen,billing 2000
	expect c1 zmembers q:gen
	expect c1 zmembers q:billing
	expect queued hget call:c1 state
	expect 1 hget rt:ordinary offered
	agent a1 n1 "billing:5" 1 3000
	expect "offer c1 a1 billing 18000" route_agent a1 "billing:5" 3000
	expect "" zmembers q:gen
}

t_ringing_call_waits_in_its_queue() {
	strategy gen ring-all
	agent a1 n1 "gen:5" 1 1000
	agent a2 n1 "gen:5" 2 1000
	expect "queued 2000 alert c1 gen a1 a2" arrive c1 ordinary gen 2000
	expect c1 zmembers q:gen
	expect queued hget call:c1 state
	expect "a1,a2" hget call:c1 alerted
}

t_retry_changes_nothing() {
	agent a1 n1 "gen:5" 1 1000
	arrive c1 ordinary gen 2000 >/dev/null
	expect "offered 2000" arrive c1 ordinary gen 2500
	expect "" zmembers q:gen
	expect a1 hget call:c1 agent
	expect 1 hget rt:ordinary offered
	expect "queued 4000" arrive c2 ordinary gen 4000
	expect "queued 4000" arrive c2 ordinary gen 4500
	expect c2 zmembers q:gen
	expect 2 hget rt:ordinary offered
}

run_tests t_offered_at_once_leaves_no_queue_entry t_no_agent_ready_waits_in_every_queue \
	t_ringing_call_waits_in_its_queue t_retry_changes_nothing
