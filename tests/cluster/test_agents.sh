#!/bin/sh
# Agent accounts through any node: an account added through a follower is
# on every node's disk with a hash of its password; a new password and a
# disable reach every node; each change is in the audit log of every node;
# no listing shows a hash; a gateway certificate may not manage agents;
# an update re-enables it; a handler's work-order groups are replaced by an
# update and a bad group name is refused before anything is sent.
. "$(dirname "$0")/lib.inc"
up 3
l=$(leader)
[ -n "$l" ] || fail "no leader"
ok
f=$(for n in node1 node2 node3; do [ "$n" != "$l" ] && echo "$n"; done | head -n 1)
g=$(for n in node1 node2 node3; do [ "$n" != "$l" ] && echo "$n"; done | tail -n 1)
printf 'first-secret-1\n' >"$D/pw1"
printf 'second-secret-2' >"$D/pw2"

# agent_field NODE ID FIELD: a field of the account in NODE's database (offline listing).
agent_field() {
	"$KEFUCTL" agent list --db "$(data_dir "$1")" --json | python3 -c '
import json, sys
for line in sys.stdin:
    a = json.loads(line)
    if a["id"] == sys.argv[1]:
        v = a[sys.argv[2]]
        print(str(v).lower() if isinstance(v, bool) else v)' "$2" "$3"
}
# hash_is NODE PASSWORD_FILE: the stored hash of a01 on NODE is of that password
# (the first hash of the record: the current one, before its history).
hash_is() {
	"$KEFUCTL" dump --db "$(data_dir "$1")" --table agent |
		grep -o 'pbkdf2-sha256\$[0-9]*\$[A-Za-z0-9+/=]*\$[A-Za-z0-9+/=]*' | head -n 1 | python3 -c '
import base64, hashlib, sys
_, it, salt, h = sys.stdin.read().strip().split("$")
pw = open(sys.argv[1], "rb").read().rstrip(b"\n")
sys.exit(0 if hashlib.pbkdf2_hmac("sha256", pw, base64.b64decode(salt), int(it)) == base64.b64decode(h) else 1)' "$2"
}
field_is() { [ "$(agent_field "$1" a01 "$2")" = "$3" ]; }
audit_actions() { # NODE: the audit actions on a01 in NODE's database, in order
	"$KEFUCTL" audit --db "$(data_dir "$1")" --json | python3 -c '
import json, sys
print(" ".join(e["action"] for e in map(json.loads, sys.stdin) if e["subject"] == "a01"))'
}
audit_is() { [ "$(audit_actions "$1")" = "$2" ]; }

# Added through a follower: on every node, with the hash of the first password.
ctl --node "$(addr "$f")" agent add --id a01 --name "张三" --skills billing:5,vip:3 --order 2 \
	--password-file "$D/pw1" >"$D/add.out" 2>&1 || fail "agent add through $f: $(cat "$D/add.out")"
ok
for n in node1 node2 node3; do
	wait_for "a01 on $n" 10 field_is "$n" skills billing:5,vip:3
	[ "$(agent_field "$n" a01 name)" = "张三" ] && [ "$(agent_field "$n" a01 order)" = 2 ] &&
		[ "$(agent_field "$n" a01 role)" = agent ] && [ "$(agent_field "$n" a01 enabled)" = true ] ||
		fail "a01 on $n: $("$KEFUCTL" agent list --db "$(data_dir "$n")" --json)"
	ok
	hash_is "$n" "$D/pw1" || fail "the hash on $n is not of the first password"
	ok
done

# The same id again, bad skills, a missing agent: refused.
if ctl --node "$(addr "$g")" agent add --id a01 --name X --skills vip:1 --password-file "$D/pw1" \
	>"$D/dup.out" 2>&1; then
	fail "a second a01 was accepted"
fi
grep -q "exists" "$D/dup.out" || fail "duplicate refusal unclear: $(cat "$D/dup.out")"
ok
if ctl agent add --id a02 --name Y --skills vip:11 --password-file "$D/pw1" >"$D/bad.out" 2>&1; then
	fail "a level of 11 was accepted"
fi
grep -q "level" "$D/bad.out" || fail "skills refusal unclear: $(cat "$D/bad.out")"
ok
if ctl agent add --id a02 --name Y --skills vip:1 --password "$D/pw1" >"$D/pwarg.out" 2>&1; then
	fail "--password was taken as an option"
fi
grep -q "never given on the command line" "$D/pwarg.out" || fail "--password refusal unclear: $(cat "$D/pwarg.out")"
ok
set +e
ctl agent disable --id nobody >"$D/nobody.out" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "no agent nobody" "$D/nobody.out" || fail "disable of a missing agent: rc=$rc $(cat "$D/nobody.out")"
ok

# A gateway certificate may neither change nor list accounts.
c=$D/certs
for cmd in "agent disable --id a01" "agent list"; do
	# shellcheck disable=SC2086
	if "$KEFUCTL" --node "$(addr "$f")" --ca "$c/ca.crt" --cert "$c/gateway.crt" --key "$c/gateway.key" \
		$cmd >"$D/gw.out" 2>&1; then
		fail "a gateway certificate was allowed: $cmd"
	fi
	grep -q "not allowed for role kefu-gateway" "$D/gw.out" || fail "gateway refusal unclear: $(cat "$D/gw.out")"
	ok
done
field_is "$f" enabled true || fail "a01 changed by a gateway"
ok

# A new password from stdin through the other follower reaches every node.
ctl --node "$(addr "$g")" agent passwd --id a01 --password-file - <"$D/pw2" >"$D/pw.out" 2>&1 ||
	fail "agent passwd: $(cat "$D/pw.out")"
ok
for n in node1 node2 node3; do
	wait_for "new hash on $n" 10 hash_is "$n" "$D/pw2"
	! hash_is "$n" "$D/pw1" || fail "the first password still matches on $n"
	ok
done

# Disabled through the leader: disabled everywhere, and kept.
ctl --node "$(addr "$l")" agent disable --id a01 >"$D/dis.out" 2>&1 || fail "agent disable: $(cat "$D/dis.out")"
ok
for n in node1 node2 node3; do
	wait_for "a01 disabled on $n" 10 field_is "$n" enabled false
done

# No listing shows a hash; the online listing agrees with the offline one.
ctl --node "$(addr "$g")" agent list --json >"$D/list.online" || fail "online agent list"
"$KEFUCTL" agent list --db "$(data_dir "$g")" --json >"$D/list.offline"
cmp -s "$D/list.online" "$D/list.offline" || fail "online and offline listings differ"
ok
! grep -q pbkdf2 "$D/list.online" "$D/list.offline" || fail "a listing shows a password hash"
ok
ctl agent list | grep -q '^a01 .*disabled' || fail "text listing: $(ctl agent list)"
ok

# Enabled again with other skills through a follower.
ctl --node "$(addr "$f")" agent update --id a01 --skills vip:7 --enable >"$D/upd.out" 2>&1 ||
	fail "agent update: $(cat "$D/upd.out")"
ok
for n in node1 node2 node3; do
	wait_for "a01 updated on $n" 10 field_is "$n" skills vip:7
	field_is "$n" enabled true && [ "$(agent_field "$n" a01 name)" = "张三" ] || fail "a01 update on $n"
	ok
done

# Every change is in the audit log of every node, in order, by the admin.
for n in node1 node2 node3; do
	wait_for "audit log on $n" 10 audit_is "$n" "agent_add agent_passwd agent_disable agent_update"
done
ctl --node "$(addr "$f")" audit --json >"$D/audit.json" || fail "online audit"
python3 -c '
import json, sys
es = [json.loads(l) for l in open(sys.argv[1])]
# The seed of the cluster configuration by the first leader comes first.
assert es[0]["action"] == "config_seed" and es[0]["agent"] == "seed", es[0]
es = es[1:]
assert [e["action"] for e in es] == ["agent_add", "agent_passwd", "agent_disable", "agent_update"], es
assert all(e["agent"] == "admin" and e["subject"] == "a01" for e in es), es
assert "pbkdf2" not in open(sys.argv[1]).read()
assert "skills=billing:5,vip:3" in es[0]["detail"], es[0]
assert es[3]["detail"] == "enabled=yes skills=vip:7", es[3]
' "$D/audit.json" || fail "audit log: $(cat "$D/audit.json")"
ok
[ "$(ctl audit --since 20991231000000 | wc -l)" -eq 0 ] || fail "audit --since in the future lists entries"
ok
since=$(date -d '-1 hour' +%Y%m%d%H%M%S)
[ "$(ctl audit --since "$since" | wc -l)" -eq 5 ] || fail "audit --since an hour ago: $(ctl audit --since "$since")"
ok

# A handler with work-order groups; an update through a follower replaces them.
ctl agent add --id h01 --name "李四" --skills billing:4 --role handler \
	--groups cd-billing,backoffice --password-file "$D/pw1" >"$D/h-add.out" 2>&1 ||
	fail "handler add: $(cat "$D/h-add.out")"
ok
ctl --node "$(addr "$f")" agent update --id h01 --groups cd-network >"$D/h-upd.out" 2>&1 ||
	fail "handler update: $(cat "$D/h-upd.out")"
ok
# h01_is NODE: h01 on NODE is a handler of cd-network alone, skills kept.
h01_is() {
	"$KEFUCTL" agent list --db "$(data_dir "$1")" --json | python3 -c '
import json, sys
a = [a for a in map(json.loads, sys.stdin) if a["id"] == "h01"]
sys.exit(0 if a and a[0]["role"] == "handler" and a[0]["groups"] == ["cd-network"]
         and a[0]["skills"] == "billing:4" else 1)'
}
for n in node1 node2 node3; do
	wait_for "h01 updated on $n" 10 h01_is "$n"
	ok
done
ctl agent list --json >"$D/h-list.json" || fail "online agent list"
python3 -c '
import json, sys
es = {a["id"]: a for a in map(json.loads, open(sys.argv[1]))}
assert es["h01"]["role"] == "handler" and es["h01"]["groups"] == ["cd-network"], es
assert es["a01"]["groups"] == [], es
' "$D/h-list.json" || fail "online listing of h01: $(cat "$D/h-list.json")"
ok
ctl agent list | grep -q '^h01 .*handler .* cd-network ' || fail "text listing: $(ctl agent list)"
ok
ctl --node "$(addr "$f")" audit --json >"$D/h-audit.json" || fail "online audit"
python3 -c '
import json, sys
es = [e for e in map(json.loads, open(sys.argv[1])) if e["subject"] == "h01"]
assert [e["action"] for e in es] == ["agent_add", "agent_update"], es
assert "role=handler" in es[0]["detail"], es[0]
assert "groups=cd-billing,backoffice skills=billing:4" in es[0]["detail"], es[0]
assert es[1]["detail"] == "groups=cd-network", es[1]
' "$D/h-audit.json" || fail "audit of h01: $(cat "$D/h-audit.json")"
ok

# A bad group name: a usage error (exit 2) naming it; nothing changes.
set +e
ctl agent update --id h01 --groups cd-network,Back_Office >"$D/h-bad.out" 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q 'bad group name "Back_Office"' "$D/h-bad.out" ||
	fail "bad group name: rc=$rc $(cat "$D/h-bad.out")"
ok
h01_is "$l" || fail "h01 changed by a refused update"
ok
done_ok
