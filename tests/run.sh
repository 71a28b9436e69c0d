#!/bin/sh
# Lists every test of `make test` and has tests/runner.py run them, several
# at a time; ends with "N passed, N failed, N skipped".
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
logdir=build/test-logs
mkdir -p "$logdir"
jobs=$logdir/jobs
: >"$jobs"

# job NAME LIMIT [alone] COMMAND...: list a test (tests/runner.py runs them).
# "alone": no other test runs beside it (it changes the machine's network).
job() {
	name=$1; limit=$2; shift 2
	alone=-
	[ "$1" = alone ] && { alone=alone; shift; }
	case "$name" in *"${TESTS:-}"*) ;; *) return ;; esac
	printf '%s\t%s\t%s' "$name" "$limit" "$alone" >>"$jobs"
	printf '\t%s' "$@" >>"$jobs"
	printf '\n' >>"$jobs"
}

job check/test_layers 300 sh tests/check/test_layers.sh
for t in build/san/tests/test_*; do
	[ -x "$t" ] || continue
	job "unit/$(basename "$t")" 600 "$t"
done
for f in build/san/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	n=$(basename "$f")
	job "corpus/$n" 600 "$f" "tests/fuzz/corpus/${n#fuzz_}"
done
for s in tests/cluster/test_*.sh; do
	[ -f "$s" ] || continue
	job "cluster/$(basename "$s" .sh)" 300 sh "$s"
done
for s in tests/security/test_*.sh; do
	[ -f "$s" ] || continue
	job "security/$(basename "$s" .sh)" 300 sh "$s"
done
for s in tests/console/test_*.sh; do
	[ -f "$s" ] || continue
	job "console/$(basename "$s" .sh)" 300 sh "$s"
done
for s in tests/routing/test_*.sh; do
	[ -f "$s" ] || continue
	job "routing/$(basename "$s" .sh)" 300 sh "$s"
done
for s in tests/sipgw/test_*.sh; do
	[ -f "$s" ] || continue
	job "sipgw/$(basename "$s" .sh)" 300 sh "$s"
done
for s in tests/appliance/test_*.sh; do
	[ -f "$s" ] || continue
	# test_netns makes network namespaces and veth pairs: on its own.
	case $s in */test_netns.sh) a=alone ;; *) a= ;; esac
	job "appliance/$(basename "$s" .sh)" 600 $a sh "$s"
done
for s in tests/cli/*.sh; do
	[ -f "$s" ] || continue
	job "cli/$(basename "$s" .sh)" 1200 sh "$s"
done

# Several at a time: TEST_SLOTS (default 2) tests run at once, each with a
# port range of its own; TEST_SLOTS=1 runs them one after the other.
exec python3 tests/runner.py "$jobs" "$logdir" "${TEST_SLOTS:-2}"
