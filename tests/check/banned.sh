#!/bin/sh
# Functions the house does not use: unbounded or error-blind string and number
# handling. snprintf, memcpy with a checked length and strtol-style parsing instead.
set -eu
cd "$(dirname "$0")/../.."
hits=$(grep -rnE '(^|[^_a-zA-Z0-9])(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|atoll|sscanf|gets)[[:space:]]*\(' \
	lib proto storage cluster node gateway tests --include='*.c' --include='*.h' 2>/dev/null || true)
if [ -n "$hits" ]; then
	echo "banned functions used:"; echo "$hits"; exit 1
fi
