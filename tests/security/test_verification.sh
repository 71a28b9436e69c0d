#!/bin/sh
# Verification and customer data (docs/security.md). One 3-node cluster,
# the vip queue ringing every ready agent (ring-all):
#
#   - a gateway's certificate gets the routing profile only: its lookup and
#     its IvrPlan for a subscriber with an ID number and an address carry
#     neither, nor payments, bills or CDRs;
#   - a suspended number (not verified by caller id): the offer shows the ID
#     number and address masked; bills are refused; a VerifyIdentity with
#     the client's own `passed` is refused and changes nothing; wrong ID
#     characters fail, the right ones verify the call and bring the full
#     profile; then bills are shown;
#   - three wrong checks lock the call: the right characters, sent
#     pipelined behind them, are answered "locked" and bills stay refused;
#   - the subscriber's own number (caller id): ring-all alerts to two
#     agents are masked, the claimer's offer is full; bills need no check;
#   - the audit log holds every check (pass, fail, locked: never the
#     characters said), every bill view with how it was verified, and every
#     lookup with the role that made it.
. "$(dirname "$0")/../cluster/lib.inc"
up 3 --extra "vip_strategy = ring-all"

"$SIM" boss --out "$D/boss" --users 300 --seed 11 --start "$(date +%Y%m%d%H%M%S)" >/dev/null
ctl import "$D"/boss/*_CUST_*_000001.dat "$D"/boss/*_USER_*_000001.dat \
	"$D"/boss/*_PAY_*_000001.dat "$D"/boss/*_BILL_*_000001.dat \
	"$D"/boss/*_CDR_*_000001.dat >"$D/import.out" 2>&1 || fail "import: $(cat "$D/import.out")"
ok
# pick KIND: "msisdn id_no address masked_id masked_address right wrong" of
# a person with an ID number, an address and bills: suspended (status 2)
# outside the vip queue (A, B), or normal (status 1) in it (C).
pick() {
	python3 - "$1" "$D"/boss/*_CUST_*_000001.dat "$D"/boss/*_USER_*_000001.dat \
		"$D"/boss/*_BILL_*_000001.dat <<'EOF'
import sys
kind, cust, user, bill = sys.argv[1:]
custs = {}
for l in open(cust, encoding="utf-8"):
    f = l.rstrip("\n").split("|")
    if "\\" in l or len(f) < 9 or f[3] != "P" or len(f[5]) != 18 or not f[6]:
        continue
    custs[f[1]] = (f[5], f[6], int(f[8]))
billed = {l.split("|")[1] for l in open(bill, encoding="utf-8")}
def mask_addr(a):
    i = a.find("市")
    return (a[:i + 1] if 0 <= i < 16 else "") + "****"
n = 0
for l in open(user, encoding="utf-8"):
    f = l.rstrip("\n").split("|")
    uid, msisdn, cid, status = f[1], f[2], f[3], f[6]
    if uid not in billed or cid not in custs:
        continue
    idno, addr, vip = custs[cid]
    if (kind in ("A", "B") and status == "2" and vip <= 2) or (kind == "C" and status == "1" and vip >= 3):
        n += 1
        if kind == "B" and n == 1:
            continue
        right = idno[-6:]
        wrong = "000000" if right != "000000" else "111111"
        print(msisdn, idno, addr, idno[:6] + "*" * 12, mask_addr(addr), right, wrong)
        break
EOF
}
set -- $(pick A); A=$1 A_ID=$2 A_ADDR=$3 A_MID=$4 A_MADDR=$5 A_RIGHT=$6 A_WRONG=$7
set -- $(pick B); B=$1 B_ID=$2 B_RIGHT=$6 B_WRONG=$7
set -- $(pick C); C=$1 C_ID=$2 C_ADDR=$3 C_MID=$4 C_MADDR=$5
[ -n "$A" ] && [ -n "$B" ] && [ -n "$C" ] && [ "$A" != "$B" ] && [ -n "$A_MADDR" ] ||
	fail "no suspended or normal subscriber with an ID number, an address and bills"
ok
known_on() { ctl --node "$(addr "$1")" lookup --msisdn "$2"; }
for n in node1 node2 node3; do
	for m in "$A" "$B" "$C"; do wait_for "$m on $n" 20 known_on "$n" "$m"; done
done
printf 'Agent-secret-1\n' >"$D/pw"
for a in v1 v2 r1 r2; do
	case $a in r*) sk=vip:5 ;; *) sk=billing:5,general:5 ;; esac
	ctl agent add --id "$a" --name "坐席$a" --skills "$sk" --password-file "$D/pw" >"$D/add.$a" 2>&1 ||
		fail "agent add $a: $(cat "$D/add.$a")"
done
has_agent() { "$KEFUCTL" agent list --db "$(data_dir "$1")" --json | grep -q '"r2"'; }
for n in node1 node2 node3; do wait_for "agents on $n" 20 has_agent "$n"; done

# no_secret NAME STRING...: none of the strings is in what actor NAME received.
no_secret() {
	name=$1; shift
	for s in "$@"; do
		! grep -qF -- "$s" "$D/$name.out" || fail "$name received \"$s\": $(grep -F -- "$s" "$D/$name.out" | head -n 2)"
	done
	ok
}

# ---- a gateway gets the routing profile only ----
actor gw0 node2 gateway <<EOF
send lookup msisdn=$A
expect lookup_reply user.msisdn=$A
send lookup msisdn=$C
expect lookup_reply user.msisdn=$C
EOF
finished gw0
python3 - "$D/gw0.out" <<'EOF' || fail "a gateway's lookup: $(cat "$D/gw0.out")"
import json, sys
for m in map(json.loads, open(sys.argv[1], encoding="utf-8")):
    assert m["body"] == "lookup_reply", m
    assert not any(m.get(k) for k in ("payments", "bills", "cdrs")), m
    assert set(k for k in m if m[k] != []) <= {"body", "user", "customer"}, m
    assert set(m["user"]) <= {"msisdn", "brand", "status"}, m["user"]
    assert set(m.get("customer", {})) <= {"vip_level"}, m["customer"]
EOF
ok
no_secret gw0 "$A_ID" "$A_ADDR" "$C_ID" "$C_ADDR" '"id_no"' '"address"' '"balance"' '"bill_month"'

# ---- a suspended number: masked until the node verifies the caller ----
actor v1 node1 agent <<EOF
$(login_ready v1 Agent-secret-1)
expect offer ani=$A verified=false customer.id_no=$A_MID customer.address=$A_MADDR within=20000
send answer_call call_id=gateway:va
expect agent_status state=on_call
send bills_request call_id=gateway:va months=3
expect error
send verify_identity call_id=gateway:va method=id-digits id_digits=$A_RIGHT passed=true
expect error
send bills_request call_id=gateway:va months=3
expect error
send verify_identity call_id=gateway:va method=password
expect error
send verify_identity call_id=gateway:va method=id-digits id_digits=$A_WRONG
expect verify_reply result=failed attempts_left=2
send verify_identity call_id=gateway:va method=id-digits id_digits=$A_RIGHT
expect verify_reply result=verified verified=id-digits customer.id_no=$A_ID customer.address=$A_ADDR
send bills_request call_id=gateway:va months=3
expect bills_reply
$(hangup_logout gateway:va)
EOF
wait_for "v1 ready" 20 said v1 '"state":"ready"'
actor gwa node3 gateway <<EOF
send call_arrived call_id=va ani=$A service=10086
expect ivr_plan call_id=va known=true
expect connect_call call_id=va agent_id=v1 within=20000
expect call_ended call_id=va within=30000
EOF
finished v1
finished gwa
no_secret gwa "$A_ID" "$A_ADDR" "$A_MID" "$A_MADDR" '"id_no"' '"address"'
grep -q 'passed is refused' "$D/v1.out" || fail "a client's passed: $(cat "$D/v1.out")"
ok
[ "$(grep -c 'identity not verified' "$D/v1.out")" -eq 2 ] || fail "bills before verification: $(cat "$D/v1.out")"
ok
# Nothing before the passed check carries the full ID number or address.
python3 - "$D/v1.out" "$A_ID" "$A_ADDR" <<'EOF' || fail "full values before verification: $(cat "$D/v1.out")"
import sys
out, idno, addr = sys.argv[1:]
lines = open(out, encoding="utf-8").read().splitlines()
first = [i for i, l in enumerate(lines) if '"verify_reply"' in l and '"verified"' in l][0]
assert not any(idno in l or addr in l for l in lines[:first]), lines[:first]
assert idno in lines[first] and addr in lines[first], lines[first]
EOF
ok

# ---- three failed checks lock the call; pipelined checks get no more ----
actor v2 node2 agent <<EOF
$(login_ready v2 Agent-secret-1)
expect offer ani=$B verified=false within=20000
send answer_call call_id=gateway:vb
expect agent_status state=on_call
send verify_identity call_id=gateway:vb method=id-digits id_digits=$B_WRONG
send verify_identity call_id=gateway:vb method=id-digits id_digits=$B_WRONG
send verify_identity call_id=gateway:vb method=id-digits id_digits=$B_WRONG
send verify_identity call_id=gateway:vb method=id-digits id_digits=$B_RIGHT
expect verify_reply result=locked
send verify_identity call_id=gateway:vb method=id-digits id_digits=$B_RIGHT
expect verify_reply result=locked
send bills_request call_id=gateway:vb months=3
expect error
$(hangup_logout gateway:vb)
EOF
wait_for "v2 ready" 20 said v2 '"state":"ready"'
actor gwb node1 gateway <<EOF
send call_arrived call_id=vb ani=$B service=10086
expect connect_call call_id=vb agent_id=v2 within=20000
expect call_ended call_id=vb within=30000
EOF
finished v2
finished gwb
python3 - "$D/v2.out" "$B_ID" <<'EOF' || fail "the lock: $(cat "$D/v2.out")"
import json, sys
ms = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
res = [m["result"] for m in ms if m["body"] == "verify_reply"]
assert res == ["failed", "failed", "failed", "locked", "locked"], res
assert [m.get("attempts_left", 0) for m in ms if m["body"] == "verify_reply"][:3] == [2, 1, 0]
assert not any(sys.argv[2] in json.dumps(m, ensure_ascii=False) for m in ms)
assert any(m["body"] == "error" and "identity not verified" in m.get("message", "") for m in ms), ms
EOF
ok

# ---- the own number: alerts masked, the claimer's offer full, bills at once ----
actor r1 node1 agent <<EOF
$(login_ready r1 Agent-secret-1)
expect offer ani=$C alert=true verified=true customer.id_no=$C_MID customer.address=$C_MADDR within=20000
send answer_call call_id=@call_id
expect offer ani=$C alert=false verified=true customer.id_no=$C_ID customer.address=$C_ADDR
expect agent_status state=on_call
send bills_request call_id=gateway:vc months=3
expect bills_reply
send verify_identity call_id=gateway:vc method=id-digits id_digits=000000
expect verify_reply result=verified verified=caller-id customer.id_no=$C_ID
$(hangup_logout gateway:vc)
EOF
actor r2 node3 agent <<EOF
$(login_ready r2 Agent-secret-1)
expect offer ani=$C alert=true customer.id_no=$C_MID customer.address=$C_MADDR within=20000
expect offer_revoked call_id=gateway:vc within=20000
send set_agent_state state=logged_out
expect agent_status state=logged_out
EOF
wait_for "r1 ready" 20 said r1 '"state":"ready"'
wait_for "r2 ready" 20 said r2 '"state":"ready"'
actor gwc node2 gateway <<EOF
send call_arrived call_id=vc ani=$C service=10086
expect ivr_plan call_id=vc known=true
expect connect_call call_id=vc agent_id=r1 within=20000
expect call_ended call_id=vc within=30000
EOF
finished r1
finished r2
finished gwc
no_secret r2 "$C_ID" "$C_ADDR"
no_secret gwc "$C_ID" "$C_ADDR" "$C_MID" "$C_MADDR" '"id_no"' '"address"'

# ---- the audit log: every check, every bill view, every lookup ----
audited() { # NODE
	"$KEFUCTL" audit --db "$(data_dir "$1")" --json >"$D/audit.$1" || return 1
	python3 - "$D/audit.$1" "$A" "$B" "$C" "$A_RIGHT $A_WRONG $B_RIGHT $B_WRONG" <<'EOF'
import json, sys
es = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
a, b, c, said = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5].split()
def acts(subject, prefix=""):
    return [e["action"] for e in es if e.get("subject") == subject and e["action"].startswith(prefix)]
assert acts(a, "verify") == ["verify_fail", "verify_pass"], acts(a)
assert acts(b, "verify") == ["verify_fail"] * 3 + ["verify_locked"] * 2, acts(b)
assert acts(c, "verify") == ["verify_pass"], acts(c)
for e in es:
    if e["action"].startswith("verify_") or e["action"] == "view_bills":
        assert e["agent"] in ("v1", "v2", "r1"), e
        assert "call=gateway:v" in e["detail"], e
        assert not any(s in e["detail"] or s in e.get("subject", "") for s in said), e
bills = {e["subject"]: e["detail"] for e in es if e["action"] == "view_bills"}
assert set(bills) == {a, c}, bills
assert "verified=id-digits" in bills[a] and "verified=caller-id" in bills[c], bills
assert [e for e in es if e["action"] == "verify_pass" and e["subject"] == c][0]["detail"].endswith(
    "verified=caller-id before")
gw = [e for e in es if e["action"] == "lookup" and e["agent"] == "gateway"]
assert sorted(e["subject"] for e in gw) == sorted([a, c]), gw
assert all(e["detail"].startswith("role=gateway") for e in gw), gw
adm = [e for e in es if e["action"] == "lookup" and e["detail"].startswith("role=admin")]
assert {a, b, c} <= {e["subject"] for e in adm}, adm
EOF
}
for n in node1 node2 node3; do wait_for "checks, bills and lookups audited on $n" 20 audited "$n"; done
done_ok
