#!/bin/sh
# The province template parses (kefud --check) and a broken copy does not;
# the rendered nftables ruleset passes `nft -c`; the sysctl file names only
# settings the kernel has, and sets vm.overcommit_memory = 1.
set -eu
cd "$(dirname "$0")/../.."
BIN=${KEFU_BIN:-build/san/bin}
d=$(mktemp -d /tmp/kefu-tmpl.XXXXXX)
trap 'rm -rf "$d"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$BIN/kefud" --config appliance/provinces/SC.conf --check || fail "SC.conf does not parse"
sed 's/^gold_ladder .*/gold_ladder = nowhere/' appliance/provinces/SC.conf >"$d/bad.conf"
if "$BIN/kefud" --config "$d/bad.conf" --check 2>"$d/err"; then fail "a bad ladder passed --check"; fi
grep -q gold_ladder "$d/err" || fail "the refusal does not name the option: $(cat "$d/err")"

command -v nft >/dev/null || fail "nft is not installed (package nftables)"
sh appliance/nftables/render.sh --nodes 10.20.0.11,10.20.0.12,10.20.0.13 --agents 10.30.0.0/16 \
	--gateways 10.40.0.0/24 --admins 10.50.0.0/24 --monitoring 10.50.0.10 >"$d/kefu.nft"
grep -q "elements = { 10.20.0.11, 10.20.0.12, 10.20.0.13 }" "$d/kefu.nft" || fail "nodes not rendered"
grep -q "@[A-Z_]*@" "$d/kefu.nft" && fail "placeholders left"
nft -c -f "$d/kefu.nft" || fail "nft -c refuses the rendered ruleset"
sed 's/policy drop/policy nonsense/' "$d/kefu.nft" >"$d/broken.nft"
if nft -c -f "$d/broken.nft" 2>/dev/null; then fail "nft -c accepts a broken ruleset"; fi
if sh appliance/nftables/render.sh --nodes '1.2.3.4;' --agents 1.0.0.0/8 --gateways 1.0.0.0/8 \
	--admins 1.0.0.0/8 --monitoring 1.2.3.4 >/dev/null 2>&1; then fail "render.sh took a bad address"; fi

f=appliance/sysctl/90-kefu.conf
grep -q '^vm.overcommit_memory = 1$' "$f" || fail "no vm.overcommit_memory = 1"
grep -v '^[[:space:]]*#' "$f" | grep -v '^[[:space:]]*$' | while IFS='=' read -r k v; do
	k=$(echo "$k" | tr -d ' '); v=$(echo "$v" | tr -d ' ')
	[ -n "$v" ] || fail "$f: $k has no value"
	[ -e "/proc/sys/$(echo "$k" | tr . /)" ] || fail "$f: the kernel has no $k"
done
echo "ok: SC.conf parses, the ruleset checks, the sysctl settings exist"
