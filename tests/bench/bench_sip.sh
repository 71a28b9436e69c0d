#!/bin/sh
# The SIP bench (run by run.sh; see README.md): calls per second through
# Kamailio + kefu-sipgw + kefu against the SIP floor, sipp through the same
# Kamailio alone, in the same run, on a one-node cluster with --sip from
# tests/cluster/harness under build/bench-tmp/sip, taken down by PID at the
# end whatever happens.
#   1. kefu: BENCH_SIP_CALLS (default 160) sipp callers to 10010 through the
#      edge, at most BENCH_SIP_AGENTS (8) at once, each held
#      BENCH_SIP_HOLD_MS (100) after its 200 and then hung up. Each call
#      arrives at the gateway (rtpengine answers it, CallArrived, IvrPlan),
#      waits for one of as many agents (scripted desktops, kefu-sim call,
#      that answer every offer and end each wrap-up at once), and is
#      connected to the agent's phone (ConnectCall, an INVITE through the
#      edge to one answering sipp for every agent, rtpengine's second
#      offer and answer, CallConnected); the caller's BYE ends both legs.
#   2. the floor: the same number of calls at the same concurrency and hold,
#      sipp calling the answering sipp through the same Kamailio (from the
#      gateway's address once the gateway is stopped, so the edge routes
#      them as a gateway's calls to a registered phone).
# Figure: calls / wall time of each sipp run, counting for kefu only the
# calls connected to a phone before their caller hung up (the gateway's
# "call connected"); ratio = kefu / floor.
# Timings never fail the run; a step that fails (no cluster, a call failed) does.
set -eu
cd "$(dirname "$0")/../.."

calls=${BENCH_SIP_CALLS:-160}
agents=${BENCH_SIP_AGENTS:-8}
hold=${BENCH_SIP_HOLD_MS:-100}
tmp=build/bench-tmp/sip
H=tests/cluster/harness
CJ=$tmp/cluster.json
PIDS=""

rm -rf "$tmp"
mkdir -p "$tmp"
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	"$H" down --dir "$tmp" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "bench_sip: $*" >&2; exit 1; }
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$CJ" "$1"; }
now() { date +%s.%N; }

echo "bench: sip: one-node cluster with Kamailio, rtpengine and kefu-sipgw"
"$H" up --nodes 1 --sip --dir "$tmp" >"$tmp/up.out" 2>&1 || { tail -n 20 "$tmp/up.out" >&2; die "cluster did not come up"; }
edge=$(json 'd["sip"]["edge"]')
password=$(json 'd["sip"]["password"]')
gw=$(json 'd["sip"]["gateways"][0]["sip"]')
gwpid=$(json 'd["sip"]["gateways"][0]["pid"]')
base=$((${edge#*:} - 46))
phone_port=$((base + 90))

# The agents, their desktops and their phone (one sipp answering them all).
printf 'agent-secret-1' >"$tmp/pw"
ids=$(seq -f 'bn%03g' 1 "$agents")
for a in $ids; do
	bin/kefuctl --cluster "$CJ" agent add --id "$a" --name "$a" --skills vip:5,billing:5,general:5 \
		--password-file "$tmp/pw" >"$tmp/add.$a" 2>&1 || die "agent add $a: $(cat "$tmp/add.$a")"
done
sipp -sf tests/bench/sip_phone.xml -set rtp_port 9 -i 127.0.0.1 -p "$phone_port" \
	-timeout 600s </dev/null >"$tmp/phone.out" 2>&1 &
PIDS="$PIDS $!"
for a in $ids; do
	timeout 20 sipp -sf tests/sipgw/register.xml -s "$a" -au "$a" -ap "$password" \
		-set phone_port "$phone_port" -i 127.0.0.1 -p $((base + 91)) -m 1 -timeout 15s "$edge" \
		</dev/null >"$tmp/reg.$a.out" 2>&1 || die "$a's phone did not register"
done
# Each desktop answers offers and ends its wrap-ups for as many calls as
# could come its way (the script's steps are bounded: 90 calls).
per=$((calls / agents * 3 + 5))
[ "$per" -le 90 ] || per=90
for a in $ids; do
	{
		printf 'send login agent_id=%s password=agent-secret-1\nexpect login_reply\n' "$a"
		printf 'send set_agent_state state=ready\nexpect agent_status state=ready\n'
		for _ in $(seq 1 "$per"); do
			printf 'expect offer within=120000\nsend answer_call call_id=@call_id\n'
			printf 'expect agent_status state=wrap_up within=120000\nsend wrap_up_done\n'
		done
	} >"$tmp/desk.$a.script"
	timeout 600 bin/kefu-sim call --cluster "$CJ" --node node1 --as agent \
		--script "$tmp/desk.$a.script" >"$tmp/desk.$a.out" 2>"$tmp/desk.$a.err" &
	PIDS="$PIDS $!"
done
for a in $ids; do
	n=0
	until grep -q '"state":"ready"' "$tmp/desk.$a.out" 2>/dev/null; do
		n=$((n + 1)); [ $n -lt 200 ] || die "desktop $a not ready"; sleep 0.1
	done
done

# run NAME TARGET SERVICE LOCAL_PORT: the sipp callers; prints calls per second.
run() {
	t0=$(now)
	timeout 600 sipp -sf tests/sipgw/caller.xml -s "$3" -set ani 13900000000 -set rtp_port 9 \
		-i 127.0.0.1 -p "$4" -r 1000 -l "$agents" -m "$calls" -d "$hold" \
		-timeout 500s "$2" </dev/null >"$tmp/$1.out" 2>&1 ||
		die "$1: calls failed: $(tail -n 5 "$tmp/$1.out")"
	t1=$(now)
	awk "BEGIN { printf \"%.1f\", $calls / ($t1 - $t0) }"
}

echo "bench: sip: $calls calls through the gateway, $agents at once, held $hold ms"
kefu=$(run kefu "$edge" 10010 $((base + 92)))
connected=$(grep -c "call connected call=" "$tmp/sip/sipgw1.log" || true)
[ "$connected" -gt 0 ] || die "no call connected to a phone"
kefu=$(awk "BEGIN { printf \"%.1f\", $kefu * $connected / $calls }")

echo "bench: sip: the same calls through Kamailio alone"
kill "$gwpid"
n=0
while kill -0 "$gwpid" 2>/dev/null; do n=$((n + 1)); [ $n -lt 100 ] || die "gateway did not stop"; sleep 0.1; done
# From the gateway's address: the edge takes them as a gateway's calls.
floor=$(run floor "$edge" bn001 "${gw##*:}")

echo "sip_calls_per_s=$kefu sip_floor_calls_per_s=$floor ratio=$(awk "BEGIN { printf \"%.2f\", $kefu / $floor }")" \
	"[$calls calls ($connected connected), $agents at once, held $hold ms; floor: sipp through Kamailio alone]"
