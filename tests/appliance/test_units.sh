#!/bin/sh
# Every unit of appliance/units/ scores an exposure of 2.0 or less by
# `systemd-analyze security --offline=true`. No systemd-analyze: fails.
set -eu
cd "$(dirname "$0")/../.."
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze is not installed"; exit 1; }
n=0
for u in appliance/units/*.service; do
	score=$(systemd-analyze security --offline=true --no-pager "$u" 2>&1 |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	[ -n "$score" ] || { echo "FAIL: $u: no score"; exit 1; }
	echo "$u: $score"
	awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || { echo "FAIL: $u scores $score > 2.0"; exit 1; }
	n=$((n + 1))
done
[ "$n" -eq 4 ] || { echo "FAIL: expected 4 units, found $n"; exit 1; }
echo "ok: $n units at 2.0 or less"
