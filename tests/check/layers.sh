#!/bin/sh
# One-way layering: lib/ and proto/ at the bottom, storage/ above them,
# cluster/ above storage/, node/ on top. A lower folder may not include a
# header from a higher one.
set -eu
cd "$(dirname "$0")/../.."
fail=0
# The one exception: lib/net.c frames its connections with proto/frame.h.
allowed='^lib/net\.c:[0-9]+:#include "proto/frame\.h"$'
check() { # folder, forbidden folders...
	dir=$1; shift
	for up in "$@"; do
		hits=$(grep -rnE "#[[:space:]]*include[[:space:]]*\"$up/" "$dir" --include='*.c' --include='*.h' 2>/dev/null |
			grep -vE "$allowed" || true)
		if [ -n "$hits" ]; then
			echo "layering: $dir/ may not include $up/:"; echo "$hits"; fail=1
		fi
	done
}
check lib proto storage cluster node
check proto storage cluster node
check storage cluster node
check cluster node
exit $fail
