#!/bin/sh
# Ring-all: alert several, the first claim wins. Reassert after a Redis
# failover: idempotent, restores lost writes, never moves state back.
. "$(dirname "$0")/lib.inc"

claim() { ev claim epoch "call:$1" "agent:$2" strategy seq offers -- $E "$3" 15000; }

ringing() {
	strategy gen ring-all
	agent a1 n1 "gen:5" 1 1000
	agent a2 n2 "gen:5" 2 1000
	call c1 ordinary 0 2000 gen
	expect "alert c1 gen a1 a2" route_call c1 gen 3000
}

t_ring_all_two_claims_one_wins() {
	ringing
	claim c1 a2 4000 >"$T/claim2" &
	p2=$!
	claim c1 a1 4000 >"$T/claim1"
	wait "$p2"
	wins=$(cat "$T/claim1" "$T/claim2" | grep -c '^offer ')
	[ "$wins" -eq 1 ] || fail "claims: $(cat "$T/claim1") / $(cat "$T/claim2")"
	ok
	winner=$(hget call:c1 agent)
	loser=a1; [ "$winner" = a1 ] && loser=a2
	expect offered hget call:c1 state
	expect reserved hget "agent:$winner" state
	expect ready hget "agent:$loser" state
	expect c1 zmembers offers
}

t_claim_refusals() {
	ringing
	agent a3 n1 "gen:5" 3 1000
	refused STATE claim c1 a3 4000
	ev agent_state epoch agent:a2 strategy ready:gen -- $E 3500 not_ready break '' '' '' '' >/dev/null
	refused STATE claim c1 a2 4000
	expect "offer c1 a1 gen 19000" claim c1 a1 4000
	expect "" claim c1 a1 4001
}

t_route_agent_alerts_a_newly_ready_agent() {
	ringing
	agent a3 n1 "gen:5" 3 5000
	expect "alert c1 gen a3" route_agent a3 "gen:5" 5000
	expect "a1,a2,a3" hget call:c1 alerted
	expect "offer c1 a3 gen 21000" claim c1 a3 6000
}

# reassert_call ID STATE NOW [AGENT DEADLINE ANSWERED]: the node's view of c1-like calls;
# the state afterwards (the generation after it is left out: see test_ownership.sh).
reassert_call() {
	ev reassert_call epoch "call:$1" offers q:gen -- $E "$3" "$2" 1000 ordinary 0 60000 gw1 gateway-a 1380000 svc \
		"${4:-}" "${5:-}" "${6:-}" | sed 's/ [0-9][0-9]*$//'
}

t_reassert_does_not_resurrect_an_ended_call() {
	agent a1 n1 "gen:5" 1 1000
	call c1 ordinary 0 1000 gen
	route_call c1 gen 2000 >/dev/null
	answer c1 a1 3000 >/dev/null
	ev hangup epoch call:c1 agent:a1 -- $E 9000 0 3600000 >/dev/null
	expect ended reassert_call c1 queued 10000
	expect ended hget call:c1 state
	expect "" zmembers q:gen
}

t_reassert_does_not_requeue_an_answered_call() {
	agent a1 n1 "gen:5" 1 1000
	call c1 ordinary 0 1000 gen
	route_call c1 gen 2000 >/dev/null
	answer c1 a1 3000 >/dev/null
	expect answered reassert_call c1 queued 4000
	expect "" zmembers q:gen
	expect answered reassert_call c1 offered 4000 a1 17000
	expect "" zmembers offers
}

t_reassert_restores_a_lost_call_and_is_idempotent() {
	call c0 ordinary 0 500 gen
	expect queued reassert_call c1 queued 5000
	expect queued reassert_call c1 queued 5001
	expect "c0 c1" zmembers q:gen
	expect 1000 r ZSCORE "${PFX}q:gen" c1
	# The queue entry lost, the hash kept: reassert puts it back at its place.
	r ZREM "${PFX}q:gen" c1 >/dev/null
	expect queued reassert_call c1 queued 6000
	expect 1000 r ZSCORE "${PFX}q:gen" c1
}

t_reassert_moves_a_call_forward() {
	call c1 ordinary 0 1000 gen
	expect answered reassert_call c1 answered 5000 a1 '' 4000
	expect "" zmembers q:gen
	expect 4000 hget call:c1 answered_ms
	refused ARGS reassert_call c2 answered 5000
}

# reassert_agent ID STATE NOW [CALL]
reassert_agent() {
	ev reassert_agent epoch "agent:$1" strategy ready:gen -- $E "$3" "$2" '' n2 s2 "gen:5" 1 "${4:-}" '' | cut -d' ' -f1
}

t_reassert_agent_keeps_a_newer_offer() {
	agent a1 n1 "gen:5" 1 1000
	call c1 ordinary 0 1000 gen
	route_call c1 gen 2000 >/dev/null
	expect reserved reassert_agent a1 ready 3000
	expect reserved hget agent:a1 state
	expect n2 hget agent:a1 owner
	expect "" zmembers ready:gen
	expect on_call reassert_agent a1 on_call 3000 c1
}

t_reassert_agent_restores_a_lost_ready_agent() {
	r SET "${PFX}presence:a1" n2 PX 60000 >/dev/null
	expect ready reassert_agent a1 ready 3000
	expect ready reassert_agent a1 ready 4000
	expect 3000 hget agent:a1 idle_since_ms
	expect a1 zmembers ready:gen
	call c1 ordinary 0 5000 gen
	expect "offer c1 a1 gen 21000" route_call c1 gen 6000
}

t_reassert_agent_refuses_a_stale_call_view() {
	agent a1 n1 "gen:5" 1 1000
	call c1 ordinary 0 1000 gen
	route_call c1 gen 2000 >/dev/null
	answer c1 a1 3000 >/dev/null
	ev hangup epoch call:c1 agent:a1 -- $E 9000 30000 3600000 >/dev/null
	expect wrap_up reassert_agent a1 on_call 10000 c1
	expect wrap_up hget agent:a1 state
}

run_tests t_ring_all_two_claims_one_wins t_claim_refusals t_route_agent_alerts_a_newly_ready_agent \
	t_reassert_does_not_resurrect_an_ended_call t_reassert_does_not_requeue_an_answered_call \
	t_reassert_restores_a_lost_call_and_is_idempotent t_reassert_moves_a_call_forward \
	t_reassert_agent_keeps_a_newer_offer t_reassert_agent_restores_a_lost_ready_agent \
	t_reassert_agent_refuses_a_stale_call_view
