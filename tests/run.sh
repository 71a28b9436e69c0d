#!/bin/sh
# Runs every test of `make test` and ends with "N passed, N failed".
#   - unit tests (cmocka), ASan+UBSan build, each in its own process with a timeout
#   - fuzz corpora replayed through each fuzz target, ASan+UBSan build
#   - security tests (tests/security/test_*.sh): attacks on a cluster of their own
#   - browser tests (tests/console/test_*.sh): the console in headless Chromium
#     on a cluster of their own (SKIP where Chromium is not installed)
#   - routing script tests (tests/routing/test_*.sh) against a redis-server of their own
#   - SIP gateway tests (tests/sipgw/test_*.sh): sipp callers through Kamailio,
#     rtpengine and kefu-sipgw on a harness cluster of their own (--sip)
#   - appliance tests (tests/appliance/test_*.sh): units, package, certificates, templates
#   - command-line tests (tests/cli/*.sh) against the ASan+UBSan programs
#   - the layering check's own test (tests/check/test_layers.sh) on a scratch tree
# TESTS=pattern runs only the tests whose name contains pattern.
# A test that exits 77 could not run here (no network namespaces...): it is
# reported as SKIP with its last line as the reason, and counted apart,
# neither passed nor failed.
set -u
cd "$(dirname "$0")/.."
export KEFU_BIN="$PWD/build/san/bin"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# The system's python3 (the one .ci/run installs, with python3-selenium),
# even where a version manager's shim comes first on PATH: the tests call
# python3 hundreds of times, and a shim that execs a shell script before
# the interpreter made each call take 0.25 s instead of 0.04 s (make test
# took 35 minutes instead of 26).
if [ -x /usr/bin/python3 ] && [ "$(command -v python3)" != /usr/bin/python3 ]; then
	mkdir -p build/test-path
	ln -sf /usr/bin/python3 build/test-path/python3
	PATH="$PWD/build/test-path:$PATH"
	export PATH
fi
pass=0; fail=0; skip=0; failed=""; skipped=""
logdir=build/test-logs
mkdir -p "$logdir"

run() { # name, timeout, command...
	name=$1; limit=$2; shift 2
	case "$name" in *"${TESTS:-}"*) ;; *) return ;; esac
	log="$logdir/$(echo "$name" | tr '/ ' '__').log"
	start=$(date +%s)
	timeout -k 5 "$limit" "$@" >"$log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1)); echo "PASS $name ($(( $(date +%s) - start ))s)"
	elif [ $rc -eq 77 ]; then
		skip=$((skip + 1)); skipped="$skipped $name"
		echo "SKIP $name: $(tail -n 1 "$log")"
	else
		fail=$((fail + 1)); failed="$failed $name"; echo "FAIL $name (log: $log)"
		# The reason first (a shell test's fail line, an assertion, a
		# sanitizer's summary): the tail is mostly the nodes' logs.
		grep -m 5 -E '^FAIL: |Assertion|AssertionError|^SUMMARY: |runtime error:' "$log" |
			sed 's/^/  > /'
		tail -n 30 "$log" | sed 's/^/    /'
	fi
}

run check/test_layers 300 sh tests/check/test_layers.sh
for t in build/san/tests/test_*; do
	[ -x "$t" ] || continue
	run "unit/$(basename "$t")" 600 "$t"
done
for f in build/san/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	n=$(basename "$f")
	run "corpus/$n" 600 "$f" "tests/fuzz/corpus/${n#fuzz_}"
done
for s in tests/cluster/test_*.sh; do
	[ -f "$s" ] || continue
	run "cluster/$(basename "$s" .sh)" 300 sh "$s"
done
for s in tests/security/test_*.sh; do
	[ -f "$s" ] || continue
	run "security/$(basename "$s" .sh)" 300 sh "$s"
done
for s in tests/console/test_*.sh; do
	[ -f "$s" ] || continue
	run "console/$(basename "$s" .sh)" 300 sh "$s"
done
for s in tests/routing/test_*.sh; do
	[ -f "$s" ] || continue
	run "routing/$(basename "$s" .sh)" 300 sh "$s"
done
for s in tests/sipgw/test_*.sh; do
	[ -f "$s" ] || continue
	run "sipgw/$(basename "$s" .sh)" 300 sh "$s"
done
for s in tests/appliance/test_*.sh; do
	[ -f "$s" ] || continue
	run "appliance/$(basename "$s" .sh)" 600 sh "$s"
done
for s in tests/cli/*.sh; do
	[ -f "$s" ] || continue
	run "cli/$(basename "$s" .sh)" 1200 sh "$s"
done

echo
[ -n "$failed" ] && echo "failed:$failed"
[ -n "$skipped" ] && echo "skipped:$skipped"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
