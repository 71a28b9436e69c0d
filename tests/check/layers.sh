#!/bin/sh
# The source tree's shape, checked from what the compiler itself reads:
#
#   1. one-way layering: lib <- proto <- storage <- cluster <- node, node/
#      core apart from its components (node/<dir>/), cluster/kefuctl/ and
#      gateway/ (gateway programs such as kefu-sipgw) on top of cluster/ (the
#      rules are in rule() below; tests/check/README.md);
#   2. no include cycles between files;
#   3. no C file over MAX_LINES lines, but for the few listed in BIG_FILES.
#
# Every project .c and .h (and the generated headers) is preprocessed on its
# own with `cc -MM -MG -H` and the project's CPPFLAGS: -H prints every
# header the preprocessor opens and how deep, -MM -MG also names the ones it
# could not find. So every spelling ("x/y.h", <x/y.h>, "../x/y.h") and every
# header included through another counts, and only what the compiler really
# includes (after #if) does.
#
# Usage: tests/check/layers.sh [--root DIR] [--no-cache] [-j N]
#   --root DIR   check the tree at DIR instead of this one (tests/check/test_layers.sh)
#   --no-cache   preprocess everything again, keep nothing
#   -j N         N compilers at a time (default: the number of CPUs)
# Environment: CC (default cc); KEFU_CPPFLAGS, the preprocessor flags
# (default -D_GNU_SOURCE -I. -Ibuild/gen; the Makefile passes its own).
#
# Results of the preprocessor are kept in DIR/build/check/ and reused for a
# file when nothing it opened has changed (content hashes), no file named
# like one it opened was added or removed, and the compiler and the flags
# are the same.
# Exit status: 0 clean, 1 a rule is broken, 2 the check could not run.
set -eu

# ---- the rules that are data ----

# The composition root: the node's files that put the components together
# (kefud's main with its subsystem table, the option table with every
# component's options). Only these node/ core files may include a
# component's header (node/<dir>/...).
COMPOSITION_ROOT="node/main.c node/config.c node/config.h"

# Generated files count as the folder they are generated for.
GENERATED="build/gen/proto/=proto/ build/gen/routing/=node/routing/ build/gen/ops/=node/ops/ build/gen/hanzi/=lib/ build/gen/console/=node/console/"

# No .c file, tests/ included, grows past MAX_LINES lines.
MAX_LINES=1500
# Files that were already larger, each with its line count as a ceiling:
# they may shrink, never grow. Remove a row once its file is split (the
# check says when a row is no longer needed).
BIG_FILES="
cluster/repl.c 1853
"

# ---- one batch of files, run by xargs below ----
if [ "${1:-}" = "--scan" ]; then
	shift
	for f in "$@"; do
		out="$KEFU_CHECK_REC/$f"
		: >"$out.mm"
		rc=0
		# shellcheck disable=SC2086
		$KEFU_CHECK_CC $KEFU_CHECK_FLAGS -MM -MG -MT x -MF "$out.mm" -H "$f" \
			>/dev/null 2>"$out.err" || rc=$?
		echo "$rc" >"$out.rc"
	done
	# One record per file: the headers opened (H depth path parent), the
	# names of the system's headers opened (S name), re-entries of a header
	# still open (C path...), headers not found (X spelling), if the
	# preprocessor failed its messages (E), and Z once the record is whole.
	awk -v rec="$KEFU_CHECK_REC/" -v pwd="$PWD/" '
	function norm(p,   a, o, n, k, i, s) {
		if (substr(p, 1, length(pwd)) == pwd)
			p = substr(p, length(pwd) + 1)
		else if (p ~ /^\//)
			return ""
		n = split(p, a, "/"); k = 0
		for (i = 1; i <= n; i++) {
			if (a[i] == "" || a[i] == ".")
				continue
			if (a[i] == ".." && k > 0 && o[k] != "..")
				k--
			else
				o[++k] = a[i]
		}
		s = ""
		for (i = 1; i <= k; i++)
			s = s (i > 1 ? "/" : "") o[i]
		return s
	}
	function record(f, out,   rc, line, dep, seen, sys, stk, n, i, j, d, p, q, s, t, nerr, x) {
		out = rec f
		getline rc < (out ".rc")
		close(out ".rc")
		print "F", f, rc > (out ".rec")
		while ((getline line < (out ".mm")) > 0) {
			n = split(line, t, " ")
			for (i = 1; i <= n; i++)
				if (t[i] != "x:" && t[i] != "\\")
					dep[norm(t[i])] = t[i]
		}
		close(out ".mm")
		stk[0] = f
		seen[f] = 1
		while ((getline line < (out ".err")) > 0) {
			if (line !~ /^\.+ /) {
				if (rc != 0 && line != "" && ++nerr <= 3)
					print "E", line > (out ".rec")
				continue
			}
			d = match(line, /[^.]/) - 1
			p = norm(substr(line, d + 2))
			if (p == "" || p ~ /^\.\.(\/|$)/) {
				p = substr(line, d + 2)
				sub(/.*\//, "", p)
				if (!(p in sys)) {
					sys[p] = 1
					print "S", p > (out ".rec")
				}
				p = ""
			}
			stk[d] = p
			for (i = d + 1; i in stk; i++)
				delete stk[i]
			if (p == "")
				continue
			seen[p] = 1
			q = ""
			for (i = d - 1; i >= 0; i--)
				if (stk[i] != "") {
					q = stk[i]
					break
				}
			print "H", d, p, q > (out ".rec")
			for (i = 0; i < d; i++)
				if (stk[i] == p) {
					s = p
					for (j = i + 1; j <= d; j++)
						if (stk[j] != "")
							s = s "\t" stk[j]
					print "C", s > (out ".rec")
					break
				}
		}
		close(out ".err")
		for (p in dep) {
			if (p == "" || (p in seen))
				continue
			if ((getline x < p) >= 0) {
				close(p)
				continue
			}
			print "X", dep[p] > (out ".rec")
		}
		print "Z" > (out ".rec")
		close(out ".rec")
	}
	BEGIN {
		OFS = "\t"
		for (i = 1; i < ARGC; i++)
			record(ARGV[i])
	}' "$@"
	for f in "$@"; do
		echo "$KEFU_CHECK_REC/$f.mm $KEFU_CHECK_REC/$f.err $KEFU_CHECK_REC/$f.rc"
	done | xargs rm -f
	exit 0
fi

# ---- the check ----
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
root=$(dirname "$0")/../..
cache=yes
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
while [ $# -gt 0 ]; do
	case $1 in
	--root) root=$2; shift 2 ;;
	--no-cache) cache=no; shift ;;
	-j) jobs=$2; shift 2 ;;
	*) echo "usage: $0 [--root DIR] [--no-cache] [-j N]" >&2; exit 2 ;;
	esac
done
cd "$root"
CC=${CC:-cc}
flags=${KEFU_CPPFLAGS:--D_GNU_SOURCE -I. -Ibuild/gen}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kefu-layers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM
if [ "$cache" = yes ]; then
	dir=build/check
	mkdir -p "$dir"
	# One run at a time uses the cache (two builds in one tree).
	exec 9>"$dir/lock"
	if command -v flock >/dev/null 2>&1; then
		flock 9
	fi
else
	dir=$tmp/cache
	mkdir -p "$dir"
fi

# Every file of the tree (build/ but for build/gen/, .git/ aside) by content:
# a header anywhere could be included, or shadow another.
{ find . \( -path ./build -o -path ./.git \) -prune -o -type f -print
  [ -d build/gen ] && find build/gen -type f; } | sed 's|^\./||' | sort >"$tmp/files"
tr '\n' '\0' <"$tmp/files" | xargs -0 -r md5sum >"$tmp/sig"
# The files preprocessed: every .c and .h of the source folders, and the
# generated headers.
for d in lib proto storage cluster node gateway tests build/gen; do
	[ -d "$d" ] && find "$d" -type f \( -name '*.c' -o -name '*.h' \)
done | grep -v '^build/gen/.*\.c$' | sort >"$tmp/scan"

key="$CC $flags $($CC -dumpfullversion 2>/dev/null || $CC -dumpversion 2>/dev/null || true)"
if [ ! -f "$dir/key" ] || [ "$(cat "$dir/key")" != "$key" ] || [ ! -f "$dir/sig" ]; then
	rm -rf "$dir/rec"
	: >"$dir/sig"
fi
mkdir -p "$dir/rec"

# Which files to preprocess again: those without a record, with errors or
# headers not found, or that opened a file whose content changed. A file
# added or removed anywhere can change what an include finds only where a
# header of the same name was opened (or looked for), so records that
# opened a file of that name, in the tree or the system's, go as well.
awk -v rec="$dir/rec" '
function base(p) {
	sub(/.*\//, "", p)
	return p
}
FILENAME == ARGV[1] { old[$2] = $1; next }
FILENAME == ARGV[2] {
	if (!($2 in old))
		names[base($2)] = 1
	else if (old[$2] != $1)
		changed[$2] = 1
	now[$2] = 1
	next
}
FNR == 1 && FILENAME == ARGV[3] {
	for (p in old)
		if (!(p in now))
			names[base(p)] = 1
}
{
	f = $0; r = rec "/" f ".rec"
	stale = (f in changed) || (base(f) in names)
	whole = 0
	if ((getline line < r) <= 0)
		stale = 1
	while (!stale && (getline line < r) > 0) {
		split(line, a, "\t")
		if (a[1] == "Z")
			whole = 1
		else if (a[1] == "E" || a[1] == "X")
			stale = 1
		else if (a[1] == "H" && ((a[3] in changed) || (base(a[3]) in names)))
			stale = 1
		else if (a[1] == "S" && (a[2] in names))
			stale = 1
	}
	close(r)
	if (stale || !whole)
		print f
}' "$dir/sig" "$tmp/sig" "$tmp/scan" >"$tmp/todo"

if [ -s "$tmp/todo" ]; then
	sed -n 's|/[^/]*$||p' "$tmp/todo" | sort -u | (cd "$dir/rec" && xargs mkdir -p)
	n=$(wc -l <"$tmp/todo")
	per=$(( (n + jobs * 4 - 1) / (jobs * 4) ))
	KEFU_CHECK_REC=$dir/rec KEFU_CHECK_CC=$CC KEFU_CHECK_FLAGS=$flags \
		xargs -P "$jobs" -n "$per" sh "$self" --scan <"$tmp/todo" ||
		{ echo "layers: could not preprocess the tree" >&2; exit 2; }
fi
printf '%s\n' "$key" >"$dir/key"
cp "$tmp/sig" "$dir/sig"

# Line counts of every .c file.
find . \( -path ./build -o -path ./.git \) -prune -o -type f -name '*.c' -print |
	sed 's|^\./||' | tr '\n' '\0' | xargs -0 -r wc -l | awk '$2 != "total"' >"$tmp/lines"

sed "s|^|$dir/rec/|; s|\$|.rec|" "$tmp/scan" | tr '\n' '\0' | xargs -0 cat >"$tmp/records" ||
	{ echo "layers: records missing in $dir/rec" >&2; exit 2; }

awk -F '\t' -v root_files="$COMPOSITION_ROOT" -v generated="$GENERATED" '
BEGIN {
	n = split(root_files, a, " ")
	for (i = 1; i <= n; i++)
		comproot[a[i]] = 1
	ngen = split(generated, a, " ")
	for (i = 1; i <= ngen; i++) {
		split(a[i], b, "=")
		gen_from[i] = b[1]; gen_to[i] = b[2]
	}
	rank["lib"] = 0; rank["proto"] = 1; rank["storage"] = 2; rank["cluster"] = 3
	below[0] = "lib/"
	below[1] = "lib/ and proto/"
	below[2] = "lib/, proto/ and storage/"
	below[3] = "lib/, proto/, storage/ and cluster/ (not cluster/kefuctl/)"
}

# The path a generated file counts as; others are themselves.
function counts_as(p,   i) {
	for (i = 1; i <= ngen; i++)
		if (index(p, gen_from[i]) == 1)
			return gen_to[i] substr(p, length(gen_from[i]) + 1)
	return p
}

# The layer of a file: lib, proto, storage, cluster, kefuctl, core (node/
# itself), comp:<dir> (node/<dir>/), tests, or other (in no layer).
function layer(p,   a) {
	p = counts_as(p)
	if (p ~ /^lib\//) return "lib"
	if (p ~ /^proto\//) return "proto"
	if (p ~ /^storage\//) return "storage"
	if (p ~ /^cluster\/kefuctl\//) return "kefuctl"
	if (p ~ /^cluster\//) return "cluster"
	if (p ~ /^node\/[^\/]+\//) {
		split(p, a, "/")
		return "comp:" a[2]
	}
	if (p ~ /^node\//) return "core"
	if (p ~ /^gateway\//) return "gateway"
	if (p ~ /^tests\//) return "tests"
	return "other"
}

function checked(f,   l) {
	l = layer(f)
	return l != "tests" && l != "other"
}

# The rule f breaks by including p, or "" when it may.
function rule(f, p,   a, b) {
	a = layer(f); b = layer(p)
	if (a == "tests" || a == "other" || a == b)
		return ""
	if (b == "tests" || b == "other")
		return "only lib/, proto/, storage/, cluster/ and node/ may be included; " p " is in none of them"
	if (a in rank) {
		if ((b in rank) && rank[b] <= rank[a])
			return ""
		return a "/ may include only " below[rank[a]]
	}
	if (a == "gateway") {
		# A gateway program (gateway/<dir>/) is a client of the cluster, like
		# kefuctl: it stands on cluster/ and never reaches into a node.
		if (b in rank)
			return ""
		return "gateway/ may include only lib/, proto/, storage/, cluster/ and itself"
	}
	if (a == "kefuctl") {
		if (b in rank)
			return ""
		return "cluster/kefuctl/ may include only lib/, proto/, storage/, cluster/ and itself"
	}
	if (a == "core") {
		if (b in rank)
			return ""
		if (b ~ /^comp:/) {
			if (f in comproot)
				return ""
			return "node/ core may not include a component (node/" substr(b, 6) \
				"/); only the composition root may (" root_files ")"
		}
		return "node/ may include only lib/, proto/, storage/, cluster/ and node/"
	}
	# a component
	if ((b in rank) || b == "core")
		return ""
	if (b ~ /^comp:/)
		return "component node/" substr(a, 6) "/ may not include another component (node/" \
			substr(b, 6) "/)"
	return "node/" substr(a, 6) "/ may include only lib/, proto/, storage/, cluster/, node/ core and itself"
}

function shown(p,   c) {
	c = counts_as(p)
	return c == p ? p : p " (counts as " c ")"
}

# The first path by which f opened p: ch[0] = f ... ch[k] = p; returns k.
function path_to(f, p,   k, q, i, t) {
	k = 0; q = p
	while (q != f && k < 1000) {
		t[k++] = q
		q = parent[f, q]
	}
	ch[0] = f
	for (i = 1; i <= k; i++)
		ch[i] = t[k - i]
	return k
}

function find(x) {
	while (uf[x] != x)
		x = uf[x] = uf[uf[x]]
	return x
}
function join(x, y) {
	if (!(x in uf)) uf[x] = x
	if (!(y in uf)) uf[y] = y
	x = find(x); y = find(y)
	if (x < y) uf[y] = x; else if (y < x) uf[x] = y
}

function problem(s) {
	print "layers: " s
	problems++
}

$1 == "F" { cur = $2; files[cur] = 1; nreach[cur] = 0; next }
$1 == "E" { if (!(cur in failed)) failed[cur] = $2; next }
$1 == "X" {
	# Only a header of the tree counts; a missing system or library header
	# is left to the compiler to report.
	g = counts_as("build/gen/" $2) != "build/gen/" $2
	if (layer($2) == "other" && !g && $2 !~ /(^|\/)\.\.\//)
		next
	if (g)
		missing_gen[cur] = 1
	s = (cur in missing) ? missing[cur] ", " $2 : $2
	missing[cur] = s
	next
}
$1 == "H" {
	if (!((cur, $3) in parent)) {
		parent[cur, $3] = $4
		reach[cur, ++nreach[cur]] = $3
		reached[cur, $3] = 1
	}
	next
}
$1 == "C" {
	s = $2
	for (i = 3; i <= NF; i++)
		s = s " -> " $i
	for (i = 2; i < NF; i++)
		join($2, $i)
	cyc_at[++ncyc] = $2
	cyc_path[ncyc] = s
	next
}

END {
	for (f in failed)
		problem(f ": the preprocessor failed: " failed[f])
	for (f in missing)
		problem(f ": includes " missing[f] ", not found, so what it includes cannot be checked" \
			(missing_gen[f] ? " (generated headers: make builds them before the check)" : ""))

	# Layering. Each file against every header it opens. A violation
	# that follows from another one on the same path (f includes a header
	# that breaks a rule itself) is left to that one; what remains is
	# where the fix goes.
	for (f in files) {
		if (!checked(f))
			continue
		for (i = 1; i <= nreach[f]; i++) {
			p = reach[f, i]
			r = rule(f, p)
			if (r == "")
				continue
			nviol++
			k = path_to(f, p)
			own = 1
			for (x = 0; x < k && own; x++)
				for (y = x + 1; y <= k && own; y++)
					if ((x != 0 || y != k) && rule(ch[x], ch[y]) != "")
						own = 0
			if (!own)
				later[nviol] = 1
			via = ""
			for (x = 1; x < k; x++)
				via = via (x > 1 ? " -> " : " via ") ch[x]
			viol[nviol] = f ": includes " shown(p) via ": " r
		}
	}
	shown_any = 0
	for (v = 1; v <= nviol; v++)
		if (!(v in later)) {
			problem(viol[v])
			shown_any = 1
		}
	if (nviol && !shown_any)
		for (v = 1; v <= nviol; v++)
			problem(viol[v])

	# Cycles: two files that each open the other, or a header opened again
	# inside itself (the C records).
	for (f in files)
		for (i = 1; i <= nreach[f]; i++) {
			p = reach[f, i]
			if (p == f || ((p in files) && ((p, f) in reached)))
				join(f, p)
		}
	for (i = 1; i <= ncyc; i++)
		if (!(find(cyc_at[i]) in witness))
			witness[find(cyc_at[i])] = cyc_path[i]
	for (x in uf) {
		c = find(x)
		members[c] = members[c] (c in members ? " " : "") x
		count[c]++
	}
	for (c in members) {
		if (count[c] < 2 && !(c in witness) && !((c, c) in reached))
			continue
		s = witness[c]
		if (s == "") {
			# c opens some other member m, which opens c again.
			split(members[c], m, " ")
			for (j in m)
				if (m[j] != c && ((c, m[j]) in reached) && ((m[j], c) in reached))
					break
			k = path_to(c, m[j])
			s = ch[0]
			for (x = 1; x <= k; x++)
				s = s " -> " ch[x]
			k = path_to(m[j], c)
			for (x = 1; x <= k; x++)
				s = s " -> " ch[x]
		}
		problem("include cycle: " s " (files in it: " members[c] ")")
	}
}' - <"$tmp/records" >"$tmp/out"

# Sizes.
awk -v max_lines="$MAX_LINES" -v big="$BIG_FILES" '
BEGIN {
	n = split(big, a, "\n")
	for (i = 1; i <= n; i++)
		if (split(a[i], b, " ") == 2)
			ceiling[b[1]] = b[2] + 0
}
{
	lines = $1 + 0; f = $2
	if (f in ceiling) {
		c = ceiling[f]
		delete ceiling[f]
		if (lines > c)
			print "layers: " f ": " lines " lines, over its ceiling of " c \
				" (BIG_FILES in tests/check/layers.sh): a listed file may only shrink"
		else if (lines <= max_lines)
			print "layers: note: " f " is " lines " lines now, within " max_lines \
				": remove it from BIG_FILES in tests/check/layers.sh"
		else if (lines < c)
			print "layers: note: " f " is " lines " lines now: lower its ceiling in BIG_FILES in tests/check/layers.sh to " lines
	} else if (lines > max_lines)
		print "layers: " f ": " lines " lines, over the limit of " max_lines \
			" for a .c file: split it"
}
END {
	for (f in ceiling)
		print "layers: note: " f " is listed in BIG_FILES in tests/check/layers.sh but does not exist: remove it"
}' "$tmp/lines" >>"$tmp/out"

sort -u "$tmp/out" | grep -v '^layers: note:' >"$tmp/bad" || true
grep '^layers: note:' "$tmp/out" | sort -u || true
if [ -s "$tmp/bad" ]; then
	cat "$tmp/bad"
	echo "layers: $(wc -l <"$tmp/bad") problem(s); the rules: tests/check/README.md"
	exit 1
fi
exit 0
