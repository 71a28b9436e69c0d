#!/bin/sh
# Logins and sessions (docs/security.md). One 3-node cluster for
# every case, with a session lifetime of 25 s (session_max_age):
#
#   - the password policy is the node's: kefuctl sends the password, the
#     leader refuses a short one, one of fewer than 3 kinds of characters,
#     one with the agent id in it, one of the agent's last 5; a hash sent
#     by a client is refused;
#   - the lock by construction: 240 wrong logins from 12 connections over
#     the 3 nodes get at most login_lock_after password checks, the rest
#     "locked"; then the right password is locked out too; a good login
#     resets the count;
#   - tokens: Redis holds the SHA-256 of a token, never the token; a
#     resume answers with a new token and the old one is spent;
#   - logout, `kefuctl agent disable` and `kefuctl agent passwd` end the
#     agent's session on whichever node holds it: the agent hears
#     logged_out with the reason, its connection is closed, its token is
#     dead;
#   - a node is killed under a logged-in agent and its password changed
#     meanwhile: the token is refused on the other nodes; the node comes
#     back with the real hashing cost (600,000 iterations);
#   - on that node an old hash (1,000 iterations, the test clusters' cost)
#     is upgraded at the next good login, on every node (a follower asks
#     the leader with an AccountRehash, which the leader refuses when the
#     hash it names is no longer the current one); an unknown and a
#     disabled id take a hash's time too;
#   - the supervisor role: a supervisor lists agents and callbacks, sees
#     the wallboard and forces an agent's logout (so does `kefuctl agent
#     logout`), audited; an agent asking the same is refused and stays
#     logged in; without a login the connection is closed;
#   - a session ends session_max_age after its login, resumes included.
. "$(dirname "$0")/../cluster/lib.inc"
up 3 --extra "session_max_age = 25s"
LEADER=$(leader)
[ -n "$LEADER" ] || fail "no leader"
FOLLOWERS=$(for n in node1 node2 node3; do [ "$n" = "$LEADER" ] || echo "$n"; done)
F1=$(echo "$FOLLOWERS" | sed -n 1p)
F2=$(echo "$FOLLOWERS" | sed -n 2p)

RPW=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["redis_password"])' "$CJ")
RTLS=$(python3 -c 'import json,sys; print(1 if json.load(open(sys.argv[1])).get("redis_tls") else 0)' "$CJ")
rcli() { # redis-cli against the Redis primary, with the cluster's password and TLS
	p=$("$TOP/tests/cluster/redis.sh" primary --dir "$D/redis") || return 1
	if [ "$RTLS" = 1 ]; then
		set -- --tls --cacert "$D/certs/ca.crt" --cert "$D/certs/redis.crt" \
			--key "$D/certs/redis.key" "$@"
	fi
	timeout 5 redis-cli -h "${p%:*}" -p "${p##*:}" --no-auth-warning -a "$RPW" "$@"
}
sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
# token NAME: the token of the first login_reply the actor received.
token() {
	python3 -c 'import json,sys
for l in open(sys.argv[1]):
    m = json.loads(l)
    if m.get("body") == "login_reply":
        print(m["token"]); break' "$D/$1.out"
}
# hash_iterations NODE AGENT: the iteration count of AGENT's hash in NODE's database.
hash_iterations() {
	"$KEFUCTL" dump --db "$(data_dir "$1")" --table agent | awk -F'\t' -v id="$2" '$2 == id' |
		grep -o 'pbkdf2-sha256\$[0-9]*' | head -n 1 | cut -d'$' -f2
}
iterations_are() { [ "$(hash_iterations "$1" "$2")" = "$3" ]; }
# resume_refused NAME NODE TOKEN: a SessionResume with TOKEN through NODE is refused.
resume_refused() {
	actor "$1" "$2" agent <<EOF
send session_resume token=$3
expect error
EOF
	finished "$1"
	! said "$1" login_reply || fail "$1: a dead token resumed: $(cat "$D/$1.out")"
}

printf 'Agent-secret-1\n' >"$D/pw1"
printf 'Agent-secret-2\n' >"$D/pw2"
printf 'Agent-secret-3\n' >"$D/pw3"

# ---- the password policy, on the node ----
# refused ID FILE RULE: agent add with the password in FILE is refused, naming RULE.
refused() {
	if ctl agent add --id "$1" --name X --skills billing:5 --password-file "$2" >"$D/refused.out" 2>&1; then
		fail "agent add $1 with $(cat "$2") was taken"
	fi
	grep -q "$3" "$D/refused.out" || fail "agent add $1: the refusal does not name '$3': $(cat "$D/refused.out")"
	ok
}
printf 'Ab1-short\n' >"$D/weak"
refused u01 "$D/weak" "password policy: at least 12 characters"
printf 'lowercase-only-here\n' >"$D/weak"
refused u01 "$D/weak" "password policy: at least 3 of the 4 kinds"
printf 'Has-U01-inside\n' >"$D/weak"
refused u01 "$D/weak" "password policy: it must not contain the agent id"
# A client's hash is refused, whatever its form.
actor hashed "$F1" admin <<EOF
send agent_write op=0 agent.id=u09 agent.name=X agent.skills=billing:5 agent.password_hash=pbkdf2-sha256\$1000\$AAAAAAAAAAAAAAAAAAAAAA==\$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
expect admin_reply ok=false
send agent_write op=0 agent.id=u09 agent.name=X agent.skills=billing:5
expect admin_reply ok=false
EOF
finished hashed
said hashed "never a hash" || fail "a client's hash: $(cat "$D/hashed.out")"
said hashed "needs the password" || fail "ADD without a password: $(cat "$D/hashed.out")"
ok
for a in u01 u02 u03 u04 u05 u06 u07; do
	ctl --node "$(addr "$F2")" agent add --id $a --name "Agent $a" --skills billing:5 \
		--password-file "$D/pw1" >"$D/add.$a" 2>&1 || fail "agent add $a: $(cat "$D/add.$a")"
done
ok
# The last 5 passwords: pw1 -> pw2 -> pw3, then pw1 again is refused.
ctl agent passwd --id u01 --password-file "$D/pw2" >"$D/pw.out" 2>&1 || fail "passwd 2: $(cat "$D/pw.out")"
ctl agent passwd --id u01 --password-file "$D/pw3" >"$D/pw.out" 2>&1 || fail "passwd 3: $(cat "$D/pw.out")"
if ctl --node "$(addr "$F1")" agent passwd --id u01 --password-file "$D/pw1" >"$D/pw.out" 2>&1; then
	fail "an earlier password was taken again"
fi
grep -q "one of the last 5 passwords" "$D/pw.out" || fail "history refusal unclear: $(cat "$D/pw.out")"
ok

# ---- the lock: 240 wrong logins from 12 connections over 3 nodes ----
i=0
for n in node1 node2 node3; do
	for c in 1 2 3 4; do
		i=$((i + 1))
		for k in $(seq 1 20); do
			echo "send login agent_id=u02 password=Wrong-pass-$i-$k"
			echo "expect error within=60000"
		done >"$D/lock$i.in"
		actor "lock$i" "$n" agent <"$D/lock$i.in"
	done
done
for i in $(seq 1 12); do finished "lock$i"; done
cat "$D"/lock*.out >"$D/lock.all"
[ "$(grep -c '"body":"error"' "$D/lock.all")" -eq 240 ] || fail "not 240 answers: $(wc -l <"$D/lock.all")"
checked=$(grep -c 'wrong agent id or password\|try again in' "$D/lock.all" || true)
locked=$(grep -c 'try again later' "$D/lock.all" || true)
echo "240 wrong logins: $checked checked, $locked refused unchecked as locked"
[ "$checked" -le 5 ] || fail "$checked wrong logins were checked, over login_lock_after (5)"
[ "$locked" -eq $((240 - checked)) ] || fail "answers other than wrong or locked: $(grep -v 'wrong agent\|try again' "$D/lock.all" | head -3)"
ok
actor lockright "$F2" agent <<EOF
send login agent_id=u02 password=Agent-secret-1
expect error
EOF
finished lockright
said lockright locked || fail "the right password got in while locked: $(cat "$D/lockright.out")"
ok
# A good login resets the count: 4 wrong, the right one, 4 wrong again, the right one.
{
	for round in 1 2; do
		for k in 1 2 3 4; do
			echo "send login agent_id=u07 password=Wrong-pass-$round-$k"
			echo "expect error"
		done
		echo "send login agent_id=u07 password=Agent-secret-1"
		echo "expect login_reply agent_id=u07"
		echo "send set_agent_state state=logged_out"
		echo "expect agent_status state=logged_out"
	done
} >"$D/reset.in"
actor reset "$F1" agent <"$D/reset.in"
finished reset
! said reset locked || fail "the count was not reset by a good login: $(cat "$D/reset.out")"
ok

# ---- tokens: hashed in Redis, rotated by a resume ----
actor tok1 node1 agent <<EOF
send login agent_id=u03 password=Agent-secret-1
expect login_reply agent_id=u03
EOF
finished tok1
T1=$(token tok1)
[ ${#T1} -eq 64 ] || fail "no token: $(cat "$D/tok1.out")"
[ "$(rcli EXISTS "kefu:test:session:$T1")" = 0 ] || fail "the token is a key in Redis"
[ "$(rcli EXISTS "kefu:test:session:$(sha256 "$T1")")" = 1 ] || fail "no session:<sha256 of the token>"
rcli --scan --pattern 'kefu:test:*' >"$D/keys"
rcli HGET kefu:test:agent:u03 session >>"$D/keys"
! grep -q "$T1" "$D/keys" || fail "the token is in Redis in clear"
ok
actor tok2 node2 agent <<EOF
send session_resume token=$T1
expect login_reply agent_id=u03
EOF
finished tok2
T2=$(token tok2)
[ ${#T2} -eq 64 ] && [ "$T2" != "$T1" ] || fail "the resume did not rotate the token: $(cat "$D/tok2.out")"
ok
resume_refused tok3 node3 "$T1"
said tok3 "no such session" || fail "a spent token: $(cat "$D/tok3.out")"
ok

# ---- logout ends the session ----
actor out1 node3 agent <<EOF
send session_resume token=$T2
expect login_reply agent_id=u03
send set_agent_state state=logged_out
expect agent_status state=logged_out
EOF
finished out1
T3=$(token out1)
resume_refused out2 node1 "$T3"
ok

# ---- kefuctl agent disable ends the session on the agent's node ----
actor dis1 "$F1" agent <<EOF
send login agent_id=u04 password=Agent-secret-1
expect login_reply agent_id=u04
expect agent_status state=logged_out reason=account-disabled within=15000
sleep 3000
send ping
expect pong
EOF
sleep 1
ctl --node "$(addr "$F2")" agent disable --id u04 >"$D/dis.out" 2>&1 || fail "disable: $(cat "$D/dis.out")"
eval "p=\$PID_dis1"
if wait "$p"; then fail "the disabled agent's connection stayed open: $(cat "$D/dis1.out")"; fi
said dis1 account-disabled || fail "no logged_out account-disabled: $(cat "$D/dis1.out") $(cat "$D/dis1.err")"
! said dis1 pong || fail "the disabled agent's connection served on"
ok
resume_refused dis2 "$LEADER" "$(token dis1)"
said dis2 "no such session\|disabled" || fail "a disabled agent's token: $(cat "$D/dis2.out")"
ok

# ---- kefuctl agent passwd ends the session ----
actor pw1 "$LEADER" agent <<EOF
send login agent_id=u05 password=Agent-secret-1
expect login_reply agent_id=u05
expect agent_status state=logged_out reason=password-changed within=15000
EOF
sleep 1
ctl --node "$(addr "$F1")" agent passwd --id u05 --password-file "$D/pw2" >"$D/pw.out" 2>&1 ||
	fail "passwd u05: $(cat "$D/pw.out")"
finished pw1
resume_refused pw2 "$F2" "$(token pw1)"
ok

# ---- a node killed under a logged-in agent, the password changed meanwhile ----
actor k1 "$F2" agent <<EOF
send login agent_id=u06 password=Agent-secret-1
expect login_reply agent_id=u06
EOF
finished k1
"$H" kill "$F2" --dir "$D" >/dev/null
ctl --node "$(addr "$LEADER")" agent passwd --id u06 --password-file "$D/pw2" >"$D/pw.out" 2>&1 ||
	fail "passwd u06 with $F2 down: $(cat "$D/pw.out")"
resume_refused k2 "$F1" "$(token k1)"
said k2 "password changed" || fail "the token after a password change: $(cat "$D/k2.out")"
ok
# It comes back with the real cost (600,000 iterations: the test-only option off).
conf=$(python3 -c 'import json,sys; print([n["config"] for n in json.load(open(sys.argv[1]))["nodes"] if n["name"]==sys.argv[2]][0])' "$CJ" "$F2")
sed -i 's/^test_password_iterations = .*/test_password_iterations = 0/' "$conf"
logged=$(wc -l <"$D/$F2/kefud.log")
"$H" start "$F2" --dir "$D" >/dev/null
wait_for "$F2 back" 60 healthy
! tail -n +"$((logged + 1))" "$D/$F2/kefud.log" | grep -q "for tests only" || fail "$F2 still hashes at the test cost"
ok

# ---- an old hash upgraded at the next good login, on every node ----
for n in node1 node2 node3; do
	wait_for "u01's old hash on $n" 10 iterations_are "$n" u01 1000
done
# in_and_out NAME NODE: u01 logs in with its password through NODE and out.
in_and_out() {
	actor "$1" "$2" agent <<EOF
send login agent_id=u01 password=Agent-secret-3
expect login_reply agent_id=u01 within=60000
send set_agent_state state=logged_out
expect agent_status state=logged_out
EOF
	finished "$1"
}
in_and_out up1 "$F2"
for n in node1 node2 node3; do
	wait_for "u01's hash upgraded on $n" 15 iterations_are "$n" u01 600000
done
in_and_out up2 "$LEADER" # a node of a lower cost does not downgrade it
iterations_are "$LEADER" u01 600000 || fail "u01's hash changed again"
ok
# A follower's upgrade is checked by the leader against the current hash: an
# AccountRehash from an old hash is refused and writes nothing; an admin may
# not send one at all.
rehash_spec() { # AGENT OLD NEW: a kefu-sim raw --send spec of an AccountRehash
	PYTHONPATH="$TOP/tests/cluster" python3 - "$@" <<'PY'
import sys
from pbwire import ld, spec, vi
print(spec(vi(1, 1) + ld(66, b"".join(ld(i + 1, a) for i, a in enumerate(sys.argv[1:4])))))
PY
}
before=$("$KEFUCTL" dump --db "$(data_dir "$LEADER")" --table agent | awk -F'\t' '$2 == "u01"')
stale='pbkdf2-sha256$1000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='
for as in "node:$F1" admin; do
	timeout 60 "$SIM" raw --cluster "$CJ" --node "$LEADER" --as "$as" --wait 3000 \
		--send "$(rehash_spec u01 "$stale" "$stale")" >"$D/rehash.out" 2>"$D/rehash.err" ||
		fail "kefu-sim raw as $as: $(cat "$D/rehash.err")"
	case $as in
	admin) want='not allowed for role kefu-admin' ;;
	*) want='changed meanwhile' ;;
	esac
	grep -q "$want" "$D/rehash.out" || fail "a stale AccountRehash as $as: $(cat "$D/rehash.out")"
	! grep -q '"body":"write_reply"' "$D/rehash.out" || fail "a stale AccountRehash as $as was written"
done
sleep 1
after=$("$KEFUCTL" dump --db "$(data_dir "$LEADER")" --table agent | awk -F'\t' '$2 == "u01"')
[ "$before" = "$after" ] || fail "u01's account changed by a refused AccountRehash"
ok
# An unknown id and a disabled one are checked against a hash at 600,000 too
# on that node (its log names the cost of each refused check); the answer
# is the same as for a wrong password. The times are printed, not judged.
elapsed_ms() { # NAME AGENT PASSWORD: ms of one refused login through $F2
	s=$(date +%s%N)
	actor "$1" "$F2" agent <<EOF
send login agent_id=$2 password=$3
expect error within=60000
EOF
	finished "$1"
	echo $(( ($(date +%s%N) - s) / 1000000 ))
}
known=$(elapsed_ms t1 u01 Wrong-password-1)
unknown=$(elapsed_ms t2 nobody-here Wrong-password-1)
disabled=$(elapsed_ms t3 u04 Agent-secret-1)
echo "refused logins on $F2: known ${known} ms, unknown ${unknown} ms, disabled ${disabled} ms"
for a in u01 nobody-here u04; do
	grep -q "login refused agent=$a checked=600000" "$D/$F2/kefud.log" ||
		fail "the refused login of $a was not checked at 600,000 iterations"
done
for t in t1 t2 t3; do
	said "$t" "wrong agent id or password" || fail "$t: another answer: $(cat "$D/$t.out")"
done
ok

# ---- the supervisor role: views and a forced logout; an agent gets neither ----
ctl agent add --id s01 --name "班长" --skills general:5 --role supervisor --password-file "$D/pw1" \
	>"$D/add.s01" 2>&1 || fail "agent add s01: $(cat "$D/add.s01")"
for a in u08 u09; do
	ctl agent add --id $a --name "Agent $a" --skills general:5 --password-file "$D/pw1" \
		>"$D/add.$a" 2>&1 || fail "agent add $a: $(cat "$D/add.$a")"
done
has_u09() { "$KEFUCTL" agent list --db "$(data_dir "$1")" | grep -q u09; }
for n in node1 node2 node3; do wait_for "u09 on $n" 20 has_u09 "$n"; done
# An agent asks for the supervisor's views and acts: refused, still logged in.
actor plain "$F1" agent <<EOF
send login agent_id=u08 password=Agent-secret-1
expect login_reply agent_id=u08
send agent_list
expect error
send callback_list
expect error
send routing_stats
expect error
send force_logout agent_id=u09
expect error
send set_agent_state state=ready
expect agent_status state=ready
EOF
finished plain
[ "$(grep -c "needs a supervisor's session" "$D/plain.out")" -eq 4 ] ||
	fail "an agent's supervisor requests: $(cat "$D/plain.out")"
ok
# Without a login at all: refused and the connection closed.
actor anon "$F1" agent <<EOF
send agent_list
expect error
EOF
finished anon
said anon "not allowed for role" || fail "an anonymous agent_list: $(cat "$D/anon.out")"
# u09 logs in on F2; the supervisor on the leader sees the agents, the
# callbacks and the wallboard, and logs u09 out.
actor victim "$F2" agent <<EOF
send login agent_id=u09 password=Agent-secret-1
expect login_reply agent_id=u09
send set_agent_state state=ready
expect agent_status state=ready
expect agent_status state=logged_out reason=forced-logout within=30000
EOF
wait_for "u09 ready" 20 said victim '"state":"ready"'
actor sup "$LEADER" agent <<EOF
send login agent_id=s01 password=Agent-secret-1
expect login_reply agent_id=s01
send agent_list
expect agent_list_reply
send callback_list
expect callback_list_reply
send routing_stats
expect routing_stats_reply
send force_logout agent_id=u09
expect admin_reply ok=true
send force_logout agent_id=u01
expect admin_reply ok=false
EOF
finished sup
finished victim
said sup '"u09"' || fail "the supervisor's agent list: $(cat "$D/sup.out")"
resume_refused dead9 "$F1" "$(token victim)"
# kefuctl does the same as an admin; both are in the audit log.
actor victim2 "$F1" agent <<EOF
send login agent_id=u09 password=Agent-secret-1
expect login_reply agent_id=u09
expect agent_status state=logged_out reason=forced-logout within=30000
EOF
wait_for "u09 back" 20 said victim2 login_reply
ctl --node "$(addr "$F2")" agent logout --id u09 >"$D/logout.out" 2>&1 ||
	fail "kefuctl agent logout: $(cat "$D/logout.out")"
finished victim2
forced_audited() {
	[ "$("$KEFUCTL" dump --db "$(data_dir "$1")" --table audit | grep force_logout | grep -c u09)" -ge 2 ]
}
for n in node1 node2 node3; do wait_for "forced logouts audited on $n" 20 forced_audited "$n"; done

# ---- the absolute lifetime (25 s here), resumes included ----
actor life1 "$LEADER" agent <<EOF
send login agent_id=u03 password=Agent-secret-1
expect login_reply agent_id=u03
EOF
finished life1
sleep 5
actor life2 "$F1" agent <<EOF
send session_resume token=$(token life1)
expect login_reply agent_id=u03
expect agent_status state=logged_out reason=session-expired within=40000
EOF
finished life2
resume_refused life3 "$LEADER" "$(token life2)"
ok

done_ok
