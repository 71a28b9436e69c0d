#!/bin/sh
# The routing steps load as embedded, fence on the cluster epoch, check their
# keys and arguments; enqueue and agent_state do what they say.
. "$(dirname "$0")/lib.inc"

# The C table embed.sh generates names every step with the SHA-1 Redis gives its text.
t_embedded_sha_matches_redis() {
	"$EMBED" c "$T/scripts.c" "$T/scripts.h"
	gen="$T/scripts.c"
	for n in $("$EMBED" names); do
		eval "sha=\$SHA_$n"
		grep -q "{\"$n\", text_$n, sizeof text_$n - 1, \"$sha\"}" "$gen" || fail "$n: $sha not in $gen"
		ok
	done
}

# Every step refuses an epoch below the stored one before looking at anything else.
t_every_step_refuses_stale_epoch() {
	r SET "${PFX}epoch" 5 >/dev/null
	for n in $("$EMBED" names); do
		refused STALE ev "$n" epoch call:x agent:x -- 4 1000
	done
	expect 5 r GET "${PFX}epoch"
}

t_higher_epoch_is_stored() {
	r SET "${PFX}epoch" 5 >/dev/null
	expect "queued 1000" ev enqueue epoch call:c2 q:gen -- 7 1000 1000 ordinary 0 60000 gw1 g a s
	expect 7 r GET "${PFX}epoch"
	refused STALE ev enqueue epoch call:c3 q:gen -- 6 1000 1000 ordinary 0 60000 gw1 g a s
	expect 0 r EXISTS "${PFX}call:c3"
}

t_keys_and_args_are_checked() {
	refused KEYS ev enqueue epox call:c1 q:gen -- $E 1000 1000 ordinary 0 60000 gw1 g a s
	refused KEYS ev enqueue epoch call:c1 -- $E 1000 1000 ordinary 0 60000 gw1 g a s
	refused KEYS ev enqueue epoch q:gen call:c1 -- $E 1000 1000 ordinary 0 60000 gw1 g a s
	refused ARGS ev enqueue epoch call:c1 q:gen -- $E 1000 soon ordinary 0 60000 gw1 g a s
	refused ARGS ev enqueue epoch call:c1 q:gen -- $E 1000 1000 ordinary 0 60000 '' g a s
	expect 0 r EXISTS "${PFX}call:c1"
	call c1 gold 60000 1000 "vip,billing"
	refused KEYS ev route_call epoch call:c1 strategy seq offers ready:vip -- $E 2000 15000 1
	refused KEYS ev route_call epoch call:c1 strategy seq offers ready:billing ready:vip -- $E 2000 15000 1
	refused NOTFOUND ev route_call epoch call:nope strategy seq offers ready:vip -- $E 2000 15000 1
}

t_enqueue_scores_and_is_idempotent() {
	call c1 gold 60000 100000 "vip,billing"
	expect 40000 r ZSCORE "${PFX}q:vip" c1
	expect 40000 r ZSCORE "${PFX}q:billing" c1
	expect queued hget call:c1 state
	expect "vip,billing" hget call:c1 skills
	expect "queued 40000" ev enqueue epoch call:c1 q:vip -- $E 200000 200000 ordinary 0 60000 gw2 g a s
	expect gw1 hget call:c1 owner
	expect 40000 r ZSCORE "${PFX}q:billing" c1
	expect 1 r HGET "${PFX}rt:gold" offered
	expect 1 r HGET "${PFX}rt:skill:vip" offered
	expect "" r HGET "${PFX}rt:skill:billing" offered
}

t_agent_login_ready_not_ready_logout() {
	expect not_ready ev agent_state epoch agent:a1 strategy ready:vip ready:gen -- $E 1000 not_ready lunch n1 s1 "vip:7,gen:3" 4
	expect "" zmembers ready:vip
	expect lunch hget agent:a1 reason
	expect ready ev agent_state epoch agent:a1 strategy ready:vip ready:gen -- $E 2000 ready '' '' '' '' ''
	expect a1 zmembers ready:vip
	expect a1 zmembers ready:gen
	# longest-idle-agent by default: (10 - 7) * 2^44 + idle since 2000
	expect 52776558135248 r ZSCORE "${PFX}ready:vip" a1
	expect ready ev agent_state epoch agent:a1 strategy ready:vip ready:gen -- $E 9000 ready '' '' '' '' ''
	expect 2000 hget agent:a1 idle_since_ms
	expect logged_out ev agent_state epoch agent:a1 strategy ready:vip ready:gen -- $E 3000 logged_out '' '' '' '' ''
	expect "" zmembers ready:vip
	expect "" zmembers ready:gen
}

t_agent_state_refusals() {
	refused ARGS ev agent_state epoch agent:a1 strategy ready:vip -- $E 1000 ready '' n1 s1 '' 1
	refused ARGS ev agent_state epoch agent:a1 strategy ready:vip -- $E 1000 ready '' n1 s1 "vip:11" 1
	refused ARGS ev agent_state epoch agent:a1 strategy ready:vip -- $E 1000 busy '' n1 s1 "vip:5" 1
	refused KEYS ev agent_state epoch agent:a1 strategy ready:gen -- $E 1000 ready '' n1 s1 "vip:5" 1
	agent a1 n1 "vip:5" 1 1000
	refused STATE ev agent_state epoch agent:a1 strategy ready:vip -- $E 1000 ready '' '' '' "vip:6" ''
	call c1 ordinary 0 1000 vip
	expect "offer c1 a1 vip 17000" route_call c1 vip 2000
	refused STATE ev agent_state epoch agent:a1 strategy ready:vip -- $E 3000 not_ready '' '' '' '' ''
	refused STATE ev agent_state epoch agent:a1 strategy ready:vip -- $E 3000 logged_out '' '' '' '' ''
	expect reserved hget agent:a1 state
}

t_unknown_strategy_is_refused_before_writes() {
	strategy vip fastest-finger
	refused CONFIG ev agent_state epoch agent:a1 strategy ready:vip -- $E 1000 ready '' n1 s1 "vip:5" 1
	expect "" zmembers ready:vip
	expect 0 r EXISTS "${PFX}agent:a1"
}

run_tests t_embedded_sha_matches_redis t_every_step_refuses_stale_epoch t_higher_epoch_is_stored \
	t_keys_and_args_are_checked t_enqueue_scores_and_is_idempotent t_agent_login_ready_not_ready_logout \
	t_agent_state_refusals t_unknown_strategy_is_refused_before_writes
