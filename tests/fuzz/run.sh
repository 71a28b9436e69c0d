#!/bin/sh
# make fuzz: run each libFuzzer target for N seconds, starting from a copy
# of its seed corpus (the seeds in git stay as they are). Crashes are kept
# in tests/fuzz/artifacts/ (ignored by git).
set -eu
secs=$1; shift
cd "$(dirname "$0")/../.."
mkdir -p tests/fuzz/artifacts
for bin in "$@"; do
	n=$(basename "$bin"); c=${n#fuzz_}
	work=build/fuzz/corpus/$c
	mkdir -p "$work"
	cp -n tests/fuzz/corpus/"$c"/* "$work"/ 2>/dev/null || true
	echo "== $n for ${secs}s"
	"$bin" -max_total_time="$secs" -artifact_prefix=tests/fuzz/artifacts/"$n"- "$work" tests/fuzz/corpus/"$c"
done
