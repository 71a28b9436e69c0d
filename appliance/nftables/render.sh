#!/bin/sh
# Renders appliance/nftables/kefu.nft.in into the node's ruleset.
#
#   render.sh --nodes A,B,C --agents NETS --gateways NETS --admins NETS \
#             --monitoring NETS [--template FILE] > /etc/nftables.d/kefu.nft
#
# Each value is a comma-separated list of IPv4 addresses or CIDR networks.
# Check the result with `nft -c -f FILE` before loading it.
set -eu
tmpl=$(dirname "$0")/kefu.nft.in
nodes= agents= gateways= admins= monitoring=
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || { echo "render.sh: $1 needs a value" >&2; exit 2; }
	case "$1" in
	--nodes) nodes=$2 ;;
	--agents) agents=$2 ;;
	--gateways) gateways=$2 ;;
	--admins) admins=$2 ;;
	--monitoring) monitoring=$2 ;;
	--template) tmpl=$2 ;;
	*) echo "render.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift 2
done
for v in "$nodes" "$agents" "$gateways" "$admins" "$monitoring"; do
	[ -n "$v" ] || { echo "render.sh: --nodes, --agents, --gateways, --admins and --monitoring are required" >&2; exit 2; }
	case "$v" in *[!0-9./,]*) echo "render.sh: $v: IPv4 addresses or networks only" >&2; exit 2 ;; esac
done
list() { echo "$1" | sed 's/,/, /g'; }
sed -e "s|@NODES@|$(list "$nodes")|" -e "s|@AGENT_NETS@|$(list "$agents")|" \
	-e "s|@GATEWAY_NETS@|$(list "$gateways")|" -e "s|@ADMIN_NETS@|$(list "$admins")|" \
	-e "s|@MONITOR_NETS@|$(list "$monitoring")|" "$tmpl"
