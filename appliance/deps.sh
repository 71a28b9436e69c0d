#!/bin/sh
# Install the Debian packages listed in the given file(s) when any is missing.
# Runs apt-get only when needed, so a prepared machine pays nothing.
set -eu
missing=""
for list in "$@"; do
	for p in $(grep -v '^[[:space:]]*#' "$list"); do
		if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			missing="$missing $p"
		fi
	done
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages and not root; run: sudo apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
