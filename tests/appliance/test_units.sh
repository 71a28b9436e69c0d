#!/bin/sh
# Every unit of appliance/units/ scores an exposure of 2.0 or less by
# `systemd-analyze security --offline=true`; kefu-firstboot.service, which
# runs once as root to write /etc/kefu and load the firewall, 2.5 or less.
# No systemd-analyze: fails.
set -eu
cd "$(dirname "$0")/../.."
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze is not installed"; exit 1; }
# score UNIT BOUND: its exposure, checked against BOUND.
score() {
	s=$(systemd-analyze security --offline=true --no-pager "$1" 2>&1 |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	[ -n "$s" ] || { echo "FAIL: $1: no score"; exit 1; }
	echo "$1: $s"
	awk -v s="$s" -v b="$2" 'BEGIN { exit !(s <= b) }' || { echo "FAIL: $1 scores $s > $2"; exit 1; }
}
n=0
for u in appliance/units/*.service; do
	score "$u" 2.0
	n=$((n + 1))
done
[ "$n" -eq 5 ] || { echo "FAIL: expected 5 units, found $n"; exit 1; }
score appliance/firstboot/kefu-firstboot.service 2.5
echo "ok: $n units at 2.0 or less, the first boot's at 2.5 or less"
