#!/bin/sh
# The SIP gateway's answers to ConnectCall (node/routing/lua/connect_failed.lua,
# connected.lua): an agent phone that fails puts the call back at its place
# with the answer's counts taken back and the agent not ready ("phone"); a
# connect moves the wait and service level to the start of talk, and the talk
# is counted from it.
. "$(dirname "$0")/lib.inc"
IV=60000


# login ID SKILLS ORDER NOW: ready on node n1, counted in intervals of IV.
login() {
	r SET "${PFX}presence:$1" n1 PX 600000 >/dev/null
	# shellcheck disable=SC2046
	got=$(ev agent_state epoch "agent:$1" strategy $(skill_keys ready: "$2") -- $E "$4" ready '' n1 "s-$1" "$2" "$3" '' $IV)
	[ "$got" = ready ] || fail "agent $1 did not go ready: $got"
}

# arrive ID SL_MS NOW: a tier-4 call of skill gen from node n1 (offered when an agent is ready).
arrive() {
	ev arrive epoch "call:$1" strategy seq offers q:gen ready:gen -- $E "$3" "$3" 4 0 "$2" n1 gw 1380000 svc '' 15000 1 $IV
}

failed() { ev connect_failed epoch "call:$1" "agent:$2" strategy offers -- $E "$3" phone "${4:-no-answer}"; }
connected() { ev connected epoch "call:$1" -- $E "$2"; }

# Call c1 (arrived 2000, service level 10 s) answered by a1 at 5000; a2 logged in, busy elsewhere.
answered() {
	login a1 "gen:5" 1 1000
	expect "offered 2000 offer c1 a1 gen 17000" arrive c1 10000 2000
	expect "answered c1 a1 3000" answer c1 a1 5000
}

t_connect_failed_requeues_at_its_place() {
	answered
	expect "queued 3000" arrive c2 10000 3000
	subscribe n1
	expect "requeued c1" failed c1 a1 8000 busy
	unsubscribe
	expect queued hget call:c1 state
	expect "" hget call:c1 agent
	expect "" hget call:c1 answered_ms
	expect busy hget call:c1 connect_failed
	# Its place: ahead of c2, which arrived later, with its original score.
	expect "c1 c2" zmembers q:gen
	expect 2000 r ZSCORE "${PFX}q:gen" c1
	expect not_ready hget agent:a1 state
	expect phone hget agent:a1 reason
	expect "" hget agent:a1 call
	expect 0 hget agent:a1 calls
	expect "" zmembers ready:gen
	grep -q '"type":"requeued".*"why":"phone"\|"why":"phone".*"type":"requeued"' "$T/sub.out" ||
		fail "no requeued event: $(cat "$T/sub.out")"
	grep -q '"type":"offer_end"' "$T/sub.out" || fail "no offer_end to the agent's node"
	ok
	# Another agent gets it next, and the answer counts its whole wait once.
	login a2 "gen:5" 2 9000
	expect "offer c1 a2 gen 25000" ev route_call epoch call:c1 strategy seq offers ready:gen -- $E 10000 15000 1
	expect "answered c1 a2 9000" answer c1 a2 11000
	for k in rt:4 rt:skill:gen; do
		expect 2 r HGET "$PFX$k" offered
		expect 1 r HGET "$PFX$k" answered
		expect 1 r HGET "$PFX$k" answered_in_sl
		expect 9000 r HGET "$PFX$k" wait_ms
	done
	for p in t:4 s:gen; do
		expect 1 iv 0 "$p:offered"
		expect 1 iv 0 "$p:answered"
		expect 9000 iv 0 "$p:wait_ms"
		expect 1 iv 0 "$p:answered_in_sl"
	done
	expect 0 iv 0 a:a1:calls
	expect 1 iv 0 a:a2:calls
	expect 1 hget agent:a2 calls
}

t_connect_failed_refusals() {
	answered
	login a2 "gen:5" 2 1000
	refused STATE failed c1 a2 6000
	refused ARGS ev connect_failed epoch call:c1 agent:a1 strategy offers -- $E 6000 '' busy
	refused NOTFOUND failed c9 a1 6000
	expect answered hget call:c1 state
	expect on_call hget agent:a1 state
	# Once requeued, a second ConnectFailed is refused and counts nothing back.
	expect "requeued c1" failed c1 a1 7000
	refused STATE failed c1 a1 7100
	expect 0 r HGET "${PFX}rt:4" answered
	expect 0 r HGET "${PFX}rt:4" wait_ms
}

# A connected call has talked: a late ConnectFailed is refused.
t_connect_failed_refused_once_connected() {
	answered
	expect "connected c1 4000" connected c1 6000
	refused STATE failed c1 a1 7000
	expect answered hget call:c1 state
	expect on_call hget agent:a1 state
}

t_connected_moves_wait_and_talk_start() {
	answered
	# Answered at 5000 (wait 3000, in SL 10000); the phone answers at 13000: wait 11000, out of SL.
	expect "connected c1 11000" connected c1 13000
	expect 13000 hget call:c1 connected_ms
	expect "connected c1 11000" connected c1 14000
	for k in rt:4 rt:skill:gen; do
		expect 1 r HGET "$PFX$k" answered
		expect 0 r HGET "$PFX$k" answered_in_sl
		expect 11000 r HGET "$PFX$k" wait_ms
	done
	for p in t:4 s:gen; do
		expect 0 iv 0 "$p:answered_in_sl"
		expect 11000 iv 0 "$p:wait_ms"
		expect 11000 iv 0 "$p:max_wait_ms"
	done
	# Talk from the connect: 13000 to 43000.
	expect "ended 30000" ev hangup epoch call:c1 agent:a1 -- $E 43000 10000 3600000
	expect 30000 hget agent:a1 talk_ms
	expect 30000 iv 0 t:4:talk_ms
	expect "ended 30000" ev hangup epoch call:c1 agent:a1 -- $E 44000 10000 3600000
}

t_connected_within_service_level_stays_in_it() {
	answered
	expect "connected c1 4000" connected c1 6000
	expect 1 r HGET "${PFX}rt:4" answered_in_sl
	expect 4000 r HGET "${PFX}rt:4" wait_ms
}

# A gateway that never sends CallConnected (kefu-sim): talk from the answer.
t_without_connected_talk_counts_from_the_answer() {
	answered
	expect "ended 30000" ev hangup epoch call:c1 agent:a1 -- $E 35000 10000 3600000
	expect 3000 r HGET "${PFX}rt:4" wait_ms
	expect 1 r HGET "${PFX}rt:4" answered_in_sl
}

t_connected_refusals() {
	login a1 "gen:5" 1 1000
	expect "offered 2000 offer c1 a1 gen 17000" arrive c1 10000 2000
	refused STATE connected c1 3000
	refused NOTFOUND connected c9 3000
	expect "" hget call:c1 connected_ms
}

run_tests t_connect_failed_requeues_at_its_place t_connect_failed_refusals \
	t_connect_failed_refused_once_connected \
	t_connected_moves_wait_and_talk_start t_connected_within_service_level_stays_in_it \
	t_without_connected_talk_counts_from_the_answer t_connected_refusals
