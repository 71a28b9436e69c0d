#!/bin/sh
# kefuctl certs init: the files, their modes, openssl verify, the EKUs and
# SANs, refusal to overwrite, --json, and a TLS 1.3 handshake with client
# certificates between openssl s_server and s_client on 127.0.0.1.
set -eu
cd "$(dirname "$0")/../.."
BIN=${KEFU_BIN:-build/san/bin}
d=$(mktemp -d /tmp/kefu-certs.XXXXXX)
srv=
cleanup() { [ -z "$srv" ] || kill "$srv" 2>/dev/null || true; rm -rf "$d"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$BIN/kefuctl" certs init --province SC --nodes sc-cd-1=127.0.0.1,sc-cd-2=10.20.0.12,sc-cd-3=sc3.example.net \
	--out "$d/c" --json >"$d/out.json"
python3 - "$d/out.json" "$d/c" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
names = [f["name"] for f in o["files"]]
assert names == ["ca", "sc-cd-1", "sc-cd-2", "sc-cd-3", "admin", "supervisor", "gateway"], names
assert all(f["cert"] == sys.argv[2] + "/" + f["name"] + ".crt" for f in o["files"])
PY
for f in "$d"/c/*.key; do
	[ "$(stat -c %a "$f")" = 600 ] || fail "$f is not 0600"
done
for f in "$d"/c/*.crt; do
	[ "$(stat -c %a "$f")" = 644 ] || fail "$f is not 0644"
	openssl verify -CAfile "$d/c/ca.crt" "$f" >/dev/null || fail "$f does not verify"
done
ext() { openssl x509 -in "$d/c/$1.crt" -noout -text; }
ext sc-cd-1 | grep -q "TLS Web Server Authentication, TLS Web Client Authentication" || fail "node EKU"
ext sc-cd-1 | grep -q "DNS:sc-cd-1, IP Address:127.0.0.1" || fail "sc-cd-1 SAN"
ext sc-cd-2 | grep -q "DNS:sc-cd-2, IP Address:10.20.0.12" || fail "sc-cd-2 SAN"
ext sc-cd-3 | grep -q "DNS:sc-cd-3, DNS:sc3.example.net" || fail "sc-cd-3 SAN"
ext sc-cd-1 | grep -q "Subject: CN = sc-cd-1, OU = kefu-node" || fail "node subject"
for c in admin:kefu-admin supervisor:kefu-supervisor gateway:kefu-gateway; do
	ext "${c%%:*}" | grep -q "OU = ${c#*:}" || fail "$c subject"
	ext "${c%%:*}" | grep -A1 "Extended Key Usage" | grep -q "^ *TLS Web Client Authentication$" ||
		fail "$c EKU is not clientAuth only"
done
ext ca | grep -q "CA:TRUE" || fail "CA basicConstraints"
# Nothing is overwritten.
if "$BIN/kefuctl" certs init --province SC --nodes sc-cd-1 --out "$d/c" 2>"$d/err"; then
	fail "a second init into the same folder succeeded"
fi
grep -q "exists already" "$d/err" || fail "no reason for the refusal: $(cat "$d/err")"
# Bad arguments.
"$BIN/kefuctl" certs init --province sc --nodes a --out "$d/x" 2>/dev/null && fail "--province sc accepted"
"$BIN/kefuctl" certs init --province SC --nodes admin --out "$d/x" 2>/dev/null && fail "node named admin accepted"

# A handshake: the node's certificate serves, the admin's is the client's.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
openssl s_server -accept "127.0.0.1:$port" -tls1_3 -cert "$d/c/sc-cd-1.crt" -key "$d/c/sc-cd-1.key" \
	-CAfile "$d/c/ca.crt" -Verify 1 -verify_return_error -naccept 1 -rev >"$d/server.log" 2>&1 &
srv=$!
i=0
until grep -q ACCEPT "$d/server.log"; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "s_server did not start: $(cat "$d/server.log")"; sleep 0.1
done
echo kefu | timeout 20 openssl s_client -connect "127.0.0.1:$port" -tls1_3 -CAfile "$d/c/ca.crt" \
	-verify_ip 127.0.0.1 -verify_return_error -cert "$d/c/admin.crt" -key "$d/c/admin.key" \
	-brief -no_ign_eof >"$d/client.log" 2>&1 || fail "s_client: $(cat "$d/client.log")"
grep -q "Protocol version: TLSv1.3" "$d/client.log" || fail "no TLS 1.3: $(cat "$d/client.log")"
grep -q "Verification: OK" "$d/client.log" || fail "server not verified: $(cat "$d/client.log")"
timeout 20 sh -c "while kill -0 $srv 2>/dev/null; do sleep 0.1; done" || true
grep -q "CN = admin, OU = kefu-admin" "$d/server.log" || fail "client not seen: $(cat "$d/server.log")"
grep -q "verify error" "$d/server.log" && fail "client refused: $(cat "$d/server.log")"
srv=

# Rotation: the same subject, use and names, a new key and serial; the
# previous pair kept as .old; both verify against the CA until revoked.
serial() { openssl x509 -in "$1" -noout -serial; }
pubkey() { openssl x509 -in "$1" -noout -pubkey; }
before=$(serial "$d/c/sc-cd-1.crt")
ext sc-cd-1 >"$d/before.txt"
"$BIN/kefuctl" certs rotate --dir "$d/c" --name sc-cd-1 --json >"$d/rot.json" 2>"$d/err" ||
	fail "certs rotate: $(cat "$d/err")"
[ "$(serial "$d/c/sc-cd-1.crt.old")" = "$before" ] || fail "the previous certificate is not kept"
[ "$(serial "$d/c/sc-cd-1.crt")" != "$before" ] || fail "rotate kept the serial"
[ "$(pubkey "$d/c/sc-cd-1.crt")" != "$(pubkey "$d/c/sc-cd-1.crt.old")" ] || fail "rotate kept the key"
[ "$(openssl pkey -in "$d/c/sc-cd-1.key" -pubout)" = "$(pubkey "$d/c/sc-cd-1.crt")" ] ||
	fail "the new key does not match the new certificate"
[ "$(stat -c %a "$d/c/sc-cd-1.key")" = 600 ] || fail "the new key is not 0600"
ext sc-cd-1 >"$d/after.txt"
for want in "Subject: CN = sc-cd-1, OU = kefu-node" "TLS Web Server Authentication, TLS Web Client Authentication" \
	"DNS:sc-cd-1, IP Address:127.0.0.1"; do
	grep -q "$want" "$d/before.txt" || fail "before rotation: no $want"
	grep -q "$want" "$d/after.txt" || fail "after rotation: no $want: $(cat "$d/after.txt")"
done
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["name"] == "sc-cd-1" and o["role"] == "kefu-node" and o["old_cert"].endswith("sc-cd-1.crt.old"), o' "$d/rot.json" ||
	fail "rotate --json: $(cat "$d/rot.json")"
openssl verify -CAfile "$d/c/ca.crt" "$d/c/sc-cd-1.crt" "$d/c/sc-cd-1.crt.old" >/dev/null ||
	fail "a rotated certificate does not verify"
# Revocation: the old certificate listed, the new one not (openssl verify -crl_check).
"$BIN/kefuctl" certs revoke --dir "$d/c" --cert "$d/c/sc-cd-1.crt.old" >"$d/rev.out" 2>&1 ||
	fail "certs revoke: $(cat "$d/rev.out")"
[ "$(stat -c %a "$d/c/crl.pem")" = 644 ] || fail "crl.pem is not 0644"
cat "$d/c/ca.crt" "$d/c/crl.pem" >"$d/chain.pem"
if openssl verify -crl_check -CAfile "$d/chain.pem" "$d/c/sc-cd-1.crt.old" >"$d/v.out" 2>&1; then
	fail "the revoked certificate still verifies"
fi
grep -q "certificate revoked" "$d/v.out" || fail "not refused as revoked: $(cat "$d/v.out")"
openssl verify -crl_check -CAfile "$d/chain.pem" "$d/c/sc-cd-1.crt" >/dev/null 2>&1 ||
	fail "the new certificate does not verify with the list"
# A second revocation keeps the first; the same one again is said to be listed.
"$BIN/kefuctl" certs revoke --dir "$d/c" --name gateway >/dev/null 2>&1 || fail "revoke gateway"
"$BIN/kefuctl" certs revoke --dir "$d/c" --name gateway --json >"$d/again.json" 2>&1 || fail "revoke again"
grep -q '"already":true' "$d/again.json" || fail "a second revocation: $(cat "$d/again.json")"
[ "$(openssl crl -in "$d/c/crl.pem" -noout -text | grep -c "Serial Number")" = 2 ] ||
	fail "the list does not hold both: $(openssl crl -in "$d/c/crl.pem" -noout -text)"
# Refusals: a certificate of another CA, the CA itself, no --dir, a name not there.
"$BIN/kefuctl" certs init --province GD --nodes gd-1 --out "$d/other" >/dev/null 2>&1 || fail "second CA"
"$BIN/kefuctl" certs revoke --dir "$d/c" --cert "$d/other/gd-1.crt" 2>"$d/err" &&
	fail "a certificate of another CA revoked"
grep -q "not issued by the CA" "$d/err" || fail "no reason: $(cat "$d/err")"
"$BIN/kefuctl" certs rotate --dir "$d/c" --name ca 2>/dev/null && fail "rotate of the CA accepted"
"$BIN/kefuctl" certs rotate --name sc-cd-1 2>/dev/null && fail "rotate without --dir accepted"
"$BIN/kefuctl" certs rotate --dir "$d/c" --name nosuch 2>"$d/err" && fail "rotate of a missing name"
grep -q "no PEM certificate" "$d/err" || fail "no reason: $(cat "$d/err")"
echo "ok: certificates verify, EKUs and SANs as given, keys 0600, handshake done, rotated and revoked"
