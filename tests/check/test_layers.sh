#!/bin/sh
# The layering check (tests/check/layers.sh) against a small tree of its own
# in a temporary directory: clean, it passes; each broken rule, written in
# turn, makes it fail and name the file, the header and the rule. Nothing is
# written in the real tree.
set -eu
check=$(cd "$(dirname "$0")" && pwd)/layers.sh
t=$(mktemp -d "${TMPDIR:-/tmp}/kefu-test-layers.XXXXXX")
trap 'rm -rf "$t"' EXIT
unset KEFU_CPPFLAGS
fail=0

# put FILE: write stdin to FILE of the scratch tree, keeping the clean
# version (or its absence) for undo.
put() {
	mkdir -p "$t/tree/$(dirname "$1")" "$t/saved/$(dirname "$1")"
	if [ -e "$t/tree/$1" ]; then
		[ -e "$t/saved/$1" ] || cp "$t/tree/$1" "$t/saved/$1"
	else
		echo "$1" >>"$t/new"
	fi
	cat >"$t/tree/$1"
}
undo() {
	(cd "$t/saved" && find . -type f) | while read -r f; do
		mv -f "$t/saved/$f" "$t/tree/$f"
	done
	if [ -f "$t/new" ]; then
		while read -r f; do rm -f "$t/tree/$f"; done <"$t/new"
		rm -f "$t/new"
	fi
}
# header NAME INCLUDE...: a guarded header including each INCLUDE (spelled
# as given: "x.h" or <x.h>).
header() {
	name=$1; shift
	g=$(echo "$name" | tr 'a-z/.' 'A-Z__')
	{
		echo "#ifndef $g"
		echo "#define $g"
		for i in "$@"; do echo "#include $i"; done
		echo "#endif"
	}
}
source_of() { # INCLUDE...
	for i in "$@"; do echo "#include $i"; done
	echo "int unused_$$;"
}
run() { # args of the check; output in $t/out, status in $rc
	rc=0
	"$check" --root "$t/tree" "$@" >"$t/out" 2>&1 || rc=$?
}
ok() { # name
	printf 'ok   %s\n' "$1"
}
bad() { # name, why
	printf 'FAIL %s: %s\n' "$1" "$2"
	sed 's/^/     | /' "$t/out"
	fail=1
}
# expect_pass NAME [args]: the check passes.
expect_pass() {
	name=$1; shift
	run "$@"
	if [ "$rc" -eq 0 ]; then ok "$name"; else bad "$name" "expected a pass, got status $rc"; fi
}
# expect_fail NAME TEXT...: the check fails and prints each TEXT on one line.
expect_fail() {
	name=$1; shift
	run
	if [ "$rc" -ne 1 ]; then
		bad "$name" "expected status 1, got $rc"
		return
	fi
	for want in "$@"; do
		if ! grep -qF -- "$want" "$t/out"; then
			bad "$name" "no line with: $want"
			return
		fi
	done
	ok "$name"
}

# ---- the clean tree ----
mkdir -p "$t/tree"
header lib/a.h '<stddef.h>' | put lib/a.h
source_of '"lib/a.h"' | put lib/a.c
header build/gen/proto/msg.pb-c.h '<stdint.h>' | put build/gen/proto/msg.pb-c.h
header proto/p.h '"lib/a.h"' '"proto/msg.pb-c.h"' | put proto/p.h
source_of '"proto/p.h"' | put proto/p.c
header storage/s.h '"proto/p.h"' | put storage/s.h
source_of '"storage/s.h"' | put storage/s.c
header cluster/c.h '"storage/s.h"' | put cluster/c.h
source_of '"cluster/c.h"' | put cluster/c.c
header cluster/kefuctl/ctl.h '"cluster/c.h"' | put cluster/kefuctl/ctl.h
source_of '"cluster/kefuctl/ctl.h"' | put cluster/kefuctl/main.c
header node/server.h '"cluster/c.h"' | put node/server.h
source_of '"node/server.h"' | put node/server.c
header build/gen/routing/scripts.h | put build/gen/routing/scripts.h
header node/routing/routing.h '"node/server.h"' '"routing/scripts.h"' | put node/routing/routing.h
source_of '"node/routing/routing.h"' '"lib/a.h"' | put node/routing/calls.c
header node/kb/kb.h '"node/server.h"' | put node/kb/kb.h
source_of '"node/kb/kb.h"' | put node/kb/kb.c
header node/config.h '"node/routing/routing.h"' '"node/kb/kb.h"' | put node/config.h
source_of '"node/config.h"' | put node/config.c
source_of '"node/config.h"' '"node/kb/kb.h"' | put node/main.c
header tests/unit/support/h.h '"node/config.h"' | put tests/unit/support/h.h
source_of '"tests/unit/support/h.h"' '"cluster/kefuctl/ctl.h"' | put tests/unit/test_x.c
# An include the compiler never sees is not one.
printf '#include "storage/s.h"\n#if 0\n#include "node/server.h"\n#endif\n' | put storage/hidden.c
rm -rf "$t/saved" "$t/new"

expect_pass "clean tree passes"
expect_pass "clean tree passes without the cache" --no-cache
expect_pass "clean tree passes with the cache filled"

# ---- one broken rule at a time ----
source_of '"storage/s.h"' '"node/server.h"' | put storage/s.c
expect_fail 'storage includes node: "node/server.h"' \
	'storage/s.c: includes node/server.h: storage/ may include only lib/, proto/ and storage/'
undo

source_of '"storage/s.h"' '<node/server.h>' | put storage/s.c
expect_fail 'storage includes node: <node/server.h>' \
	'storage/s.c: includes node/server.h: storage/ may include only'
undo

source_of '"storage/s.h"' '"../node/server.h"' | put storage/s.c
expect_fail 'storage includes node: "../node/server.h"' \
	'storage/s.c: includes node/server.h: storage/ may include only'
undo

printf '#define H "node/server.h"\n#include H\n' | put storage/s.c
expect_fail 'storage includes node through a macro' \
	'storage/s.c: includes node/server.h: storage/ may include only'
undo

# storage/s.c includes lib/ok.h, which lib may have; lib/ok.h includes
# node/server.h. The line names the header where the fix goes.
header lib/ok.h '"node/server.h"' | put lib/ok.h
source_of '"lib/ok.h"' | put storage/s.c
expect_fail 'storage includes node through a lib header' \
	'lib/ok.h: includes node/server.h: lib/ may include only lib/'
undo

# Every step allowed on its own (a component includes the composition
# root's header, which includes every component), the whole not.
source_of '"node/config.h"' | put node/kb/kb.c
expect_fail 'component reaches another component through node/config.h' \
	'node/kb/kb.c: includes node/routing/routing.h via node/config.h: component node/kb/ may not include another component (node/routing/)'
undo

source_of '"node/config.h"' | put node/server.c
expect_fail 'node core reaches a component through node/config.h' \
	'node/server.c: includes node/kb/kb.h via node/config.h: node/ core may not include a component (node/kb/)'
undo

source_of '"node/routing/routing.h"' '"node/kb/kb.h"' | put node/routing/calls.c
expect_fail 'component includes another component' \
	'node/routing/calls.c: includes node/kb/kb.h: component node/routing/ may not include another component (node/kb/)'
undo

header node/server.h '"cluster/c.h"' '"routing/scripts.h"' | put node/server.h
expect_fail 'node core includes a generated component header' \
	'node/server.h: includes build/gen/routing/scripts.h (counts as node/routing/scripts.h): node/ core may not include a component (node/routing/)'
undo

source_of '"cluster/kefuctl/ctl.h"' | put cluster/c.c
expect_fail 'cluster includes kefuctl' \
	'cluster/c.c: includes cluster/kefuctl/ctl.h: cluster/ may include only lib/, proto/, storage/ and cluster/'
undo

source_of '"node/server.h"' | put cluster/kefuctl/main.c
expect_fail 'kefuctl includes node' \
	'cluster/kefuctl/main.c: includes node/server.h: cluster/kefuctl/ may include only'
undo

source_of '"tests/unit/support/h.h"' | put node/kb/kb.c
expect_fail 'node includes a test header' \
	'node/kb/kb.c: includes tests/unit/support/h.h: only lib/, proto/, storage/, cluster/ and node/ may be included'
undo

source_of '"storage/none.h"' | put storage/s.c
expect_fail 'a header that does not exist' \
	'storage/s.c: includes storage/none.h, not found'
undo

header node/a.h '"node/b.h"' | put node/a.h
header node/b.h '"node/a.h"' | put node/b.h
expect_fail 'two headers include each other' \
	'include cycle: node/a.h -> node/b.h -> node/a.h'
undo

printf '#pragma once\n#include "storage/y.h"\n' | put storage/x.h
printf '#pragma once\n#include "storage/x.h"\n' | put storage/y.h
expect_fail 'two #pragma once headers include each other' \
	'include cycle: storage/x.h -> storage/y.h -> storage/x.h'
undo

awk 'BEGIN { for (i = 0; i < 1501; i++) print "/* line */" }' | put node/big.c
expect_fail 'a .c file over 1500 lines' \
	'node/big.c: 1501 lines, over the limit of 1500'
undo

awk 'BEGIN { for (i = 0; i < 1501; i++) print "/* line */" }' | put tests/unit/test_big.c
expect_fail 'a test .c file over 1500 lines' \
	'tests/unit/test_big.c: 1501 lines, over the limit of 1500'
undo

# The first file listed as already large, with its ceiling.
row=$(sed -n '/^BIG_FILES="/,/^"/p' "$check" | awk 'NF == 2 { print; exit }')
if [ -n "$row" ]; then
	big=${row% *} ceiling=${row#* }
	awk -v n="$ceiling" 'BEGIN { for (i = 0; i < n; i++) print "/* line */" }' | put "$big"
	expect_pass "$big at its ceiling of $ceiling lines"
	if grep -qF "note: $big" "$t/out"; then
		bad "$big at its ceiling" "a note for a file at its ceiling"
	fi
	awk -v n="$ceiling" 'BEGIN { for (i = 0; i <= n; i++) print "/* line */" }' | put "$big"
	expect_fail "$big over its ceiling" "$big: $((ceiling + 1)) lines, over its ceiling of $ceiling"
	awk 'BEGIN { for (i = 0; i < 1500; i++) print "/* line */" }' | put "$big"
	expect_pass "$big back within the limit"
	if grep -qF "note: $big is 1500 lines now, within 1500: remove it" "$t/out"; then
		ok "a note to remove $big from the list"
	else
		bad "a note to remove $big from the list" "no note"
	fi
	undo
	expect_pass "listed files that do not exist"
	if grep -qF "note: $big is listed in BIG_FILES in tests/check/layers.sh but does not exist" "$t/out"; then
		ok "a note for a listed file that does not exist"
	else
		bad "a note for a listed file that does not exist" "no note"
	fi
fi

expect_pass "clean again after every case"

[ "$fail" -eq 0 ] && echo "all cases passed"
exit "$fail"
