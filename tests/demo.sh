#!/bin/sh
# make demo: the local customer database on one node (sample BOSS files,
# an import, a file held behind a missing SEQ, a corrupted file, lookups),
# then the cluster: three nodes with etcd, Redis and Sentinels through the
# test harness, the sample data imported online through a node, and about a
# minute of calls and agents from kefu-sim traffic with its live wallboard
# line, then its summary; then a work order from the diamond customer's
# complaint through its whole loop: created for the agent who took the
# call, dispatched by the rules, refused to an operator who is no handler,
# accepted and answered by a handler, closed, its return visit satisfied.
# Then the knowledge base: a generated corpus imported, searched in
# Chinese and pinyin, a new version approved. Then outbound dialing: an
# arrears campaign from a query over the customer database, paced
# predictively while kefu-sim plays its gateways and agents. Then a real
# call over SIP (docs/sipgw.md): a sipp caller through Kamailio to
# kefu-sipgw, music on hold from rtpengine, an agent's desktop answering
# and the agent's phone (sipp) connected, audio both ways.
# Everything is torn down on exit, by PID.
# Last, the browser console: its URLs and demo accounts; from a terminal the
# cluster then stays up until Enter is pressed (DEMO_WAIT=0: it does not).
# DEMO_TRAFFIC_SECS sets the traffic time (default 60).
set -eu
cd "$(dirname "$0")/.."
D=$(mktemp -d /tmp/kefu-demo.XXXXXX)
H=tests/cluster/harness
cleanup() {
	[ ! -f "$D/cluster/cluster.json" ] || "$H" down --dir "$D/cluster" >/dev/null 2>&1 || true
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
K=bin/kefuctl
say() { printf '\n== %s\n' "$*"; }

say "BOSS generates incremental batch files (kefu-sim boss, 2,000 subscribers)"
bin/kefu-sim boss --out "$D/gen" --users 2000 --seed 2026
mkdir -p "$D/inbox"
cp "$D"/gen/*_000001.* "$D"/gen/*_CUST_*_000002.* "$D"/gen/*_USER_*_000002.* "$D/inbox/"

say "import: applied|skipped|held|rejected NAME RECORDS [reason]"
$K import --db "$D/db" --archive "$D/archive" --rejected "$D/rejected" "$D"/inbox/*.dat

say "the same files again are skipped (same name and sha256)"
cp "$D"/archive/*_USER_*_000001.* "$D/inbox/"
$K import --db "$D/db" --archive "$D/archive" --rejected "$D/rejected" "$D"/inbox/*.dat

say "PAY 000003 (an empty file) arrives before PAY 000002: held until the gap is filled"
pay3=$(basename "$D"/gen/*_PAY_*_000002.dat | sed 's/_000002\.dat$/_000003.dat/; s/_20261102/_20261103/')
: >"$D/inbox/$pay3"
printf '%s|0|0|%s' "$pay3" "$(sha256sum "$D/inbox/$pay3" | cut -c1-64)" >"$D/inbox/${pay3%.dat}.chk"
$K import --db "$D/db" --archive "$D/archive" --rejected "$D/rejected" "$D"/inbox/*.dat || true
cp "$D"/gen/*_PAY_*_000002.* "$D/inbox/"
$K import --db "$D/db" --archive "$D/archive" --rejected "$D/rejected" "$D"/inbox/*.dat

say "a corrupted file is rejected whole, with a report"
bad=$(basename "$D"/gen/*_CHG_*_000002.dat)
cp "$D/gen/$bad" "$D/gen/${bad%.dat}.chk" "$D/inbox/"
printf 'M|NO_SUCH_CHG|8800000001|PLAN|20261102090000|套餐变更\n' >>"$D/inbox/$bad"
n=$(awk 'END { print NR }' "$D/inbox/$bad")
printf '%s|%s|%s|%s' "$bad" "$n" "$(stat -c %s "$D/inbox/$bad")" "$(sha256sum "$D/inbox/$bad" | cut -c1-64)" >"$D/inbox/${bad%.dat}.chk"
$K import --db "$D/db" --archive "$D/archive" --rejected "$D/rejected" "$D/inbox/$bad" || true
cat "$D/rejected/$bad.report"

# Pick subscribers worth showing from the generated files. Escaped bars and
# backslashes are blanked first so awk can split on '|'.
plain() { sed 's/\\\\/__/g; s/\\|/__/g' "$@"; }
vip_cust=$(plain "$D"/gen/*_CUST_*_000001.dat | awk -F'|' '$9 == 4 { print $2; exit }')
ent_cust=$(plain "$D"/gen/*_CUST_*_000001.dat | awk -F'|' '$4 == "E" { print $2; exit }')
users=$(plain "$D"/gen/*_USER_*_000001.dat)
pick() { echo "$users" | awk -F'|' -v c="$1" '$4 == c && $7 != 4 { print $3; exit }'; }
diamond=$(pick "$vip_cust")
enterprise=$(pick "$ent_cust")
arrears=$(echo "$users" | awk -F'|' '$7 == 3 { print $3; exit }')

for who in "diamond-card customer:$diamond" "enterprise customer:$enterprise" \
	"stopped for arrears:$arrears"; do
	say "screen pop, ${who%%:*} (kefuctl lookup --msisdn ${who##*:})"
	[ -n "${who##*:}" ] && $K lookup --db "$D/db" --msisdn "${who##*:}"
done

say "the same as JSON"
$K lookup --db "$D/db" --msisdn "$diamond" --json
say "a number that is not ours"
$K lookup --db "$D/db" --msisdn 10000000000 || true
say "database"
$K stat --db "$D/db"

say "the cluster: 3 nodes, etcd, Redis with Sentinels, and the SIP side (tests/cluster/harness --sip)"
"$H" up --nodes 3 --sip --dir "$D/cluster" >"$D/up.out" 2>&1 || { cat "$D/up.out" >&2; exit 1; }
grep -E '^(node[0-9]|sip|cluster):' "$D/up.out" || true
CJ=$D/cluster/cluster.json
$K --cluster "$CJ" status

say "one configuration for the cluster: the gold tier waits 8 minutes at most, on every node at once"
$K --cluster "$CJ" config set gold_max_wait=8m
sleep 1
$K --cluster "$CJ" config check
say "a node's own setting is refused (it stays in that node's kefud.conf); the history"
$K --cluster "$CJ" config set listen_addr=0.0.0.0:7400 || true
$K --cluster "$CJ" config history

say "online import through a node: the day-one files (kefuctl --cluster import)"
$K --cluster "$CJ" import "$D"/gen/*_000001.dat

secs=${DEMO_TRAFFIC_SECS:-60}
say "kefu-sim traffic: 12 agents, 2 calls/s for ${secs} s (wallboard line below)"
bin/kefu-sim traffic --cluster "$CJ" --boss "$D/gen" --no-import --agents 12 --rate 2 \
	--duration "$secs" --handle 8000 --wrap 1000 --seed 2026

day=$(date +%Y%m%d)
say "operations: what the run achieved per tier against its targets (kefuctl report)"
$K --cluster "$CJ" report --from "${day}000000" --to "$(date -d '+1 day' +%Y%m%d)000000"
say "per agent: calls, time by state, occupancy"
$K --cluster "$CJ" report --from "${day}000000" --to "$(date -d '+1 day' +%Y%m%d)000000" --by agent
say "the wallboard (kefuctl wallboard; --watch redraws it every second)"
$K --cluster "$CJ" wallboard

say "work orders: the diamond customer's complaint, owned by sim001 who took the call"
printf 'Demo-handler-2026' >"$D/pw"
$K --cluster "$CJ" agent add --id h001 --name 后台处理员 --skills general:5 --role handler \
	--groups backoffice --password-file "$D/pw"
$K --cluster "$CJ" order create --msisdn "$diamond" --kind complaint --category 话费/计费争议 \
	--owner sim001 --urgency urgent --text "客户反映本月月租多扣20元" --json >"$D/order.json"
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$D/order.json")
say "dispatched by the rules (no rule file: the default group backoffice)"
$K --cluster "$CJ" order transition "$id" dispatch --note "转后台核实计费"
say "an operator is no handler of the group: the table refuses, naming both"
$K --cluster "$CJ" order transition "$id" accept || true
say "handler h001 logs in on node2, accepts, starts and replies"
cat >"$D/h001.script" <<EOF
send login agent_id=h001 password=Demo-handler-2026
expect login_reply
send order_transition id=$id action=accept
expect order_reply order.state=accepted
send order_transition id=$id action=start
expect order_reply order.state=processing
send order_transition id=$id action=reply note=已核实，多扣的20元月租已退回
expect order_reply order.state=replied
EOF
bin/kefu-sim call --cluster "$CJ" --node node2 --as agent --script "$D/h001.script" >/dev/null
say "the owner's side closes it; the return visit is answered: satisfied"
$K --cluster "$CJ" order transition "$id" close
$K --cluster "$CJ" order transition "$id" satisfied
say "the order as every node shows it (kefuctl order show $id)"
$K --cluster "$CJ" order show "$id"
say "deadlines computed again from every open order's history (kefuctl order check)"
$K --cluster "$CJ" order check

say "knowledge base: 2,000 generated articles imported (kefu-sim kb, kefuctl kb import)"
bin/kefu-sim kb --out "$D/kb.jsonl" --articles 2000 --seed 2026 >/dev/null
$K --cluster "$CJ" kb import "$D/kb.jsonl"
say "search while the caller waits: Chinese, pinyin initials, full pinyin, traditional"
for q in 话费查询 hfcx huafei 話費 "5G 套餐"; do
	printf -- '-- kefuctl kb search "%s" --limit 3\n' "$q"
	$K --cluster "$CJ" kb search "$q" --limit 3 || true
done
say "an editor's new version waits in review; the live one stays until another approves it"
first=$($K --cluster "$CJ" kb search 话费 --limit 1 --json |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["id"])')
printf '{"id": %s, "title": "话费查询（新版）", "body": "发送CXHF到10010，或在手机营业厅首页查看话费余额。", "category": "话费/查询", "keywords": ["话费", "余额"], "state": "review", "author": "editor01"}\n' \
	"$first" >"$D/kb-v2.jsonl"
$K --cluster "$CJ" kb import "$D/kb-v2.jsonl"
$K --cluster "$CJ" kb approve "$first"
$K --cluster "$CJ" kb search "话费查询（新版）" --limit 1
say "every version stays in the history, with who wrote and who approved it (kefuctl kb show)"
$K --cluster "$CJ" kb show "$first" | grep -E '^(article|v[0-9])'

say "outbound: an arrears campaign over the customer database, predictive (kefuctl campaign)"
printf 'Demo-agent-2026' >"$D/opw"
for i in 1 2 3 4 5 6; do
	$K --cluster "$CJ" agent add --id "o00$i" --name "外呼坐席$i" --skills general:5 --role agent \
		--password-file "$D/opw" >/dev/null
done
# The window is the whole day here, so the demo dials at any hour (the default is 08:00-21:00).
$K --cluster "$CJ" campaign create --name arrears-demo --kind arrears --mode predictive \
	--query "status != cancelled and arrears >= 0" --window 00:00-24:00
$K --cluster "$CJ" campaign start arrears-demo
sleep 2
say "kefu-sim outbound: gateways answer 35% (10% machines), 6 agents talk; 20 s"
bin/kefu-sim outbound --cluster "$CJ" --campaign arrears-demo --password-file "$D/opw" \
	--agents o001,o002,o003,o004,o005,o006 --ring 3 --talk 5 --duration 20 --json
say "the campaign as any node shows it: its pacer, calls placed, results, abandon rate"
$K --cluster "$CJ" campaign pause arrears-demo >/dev/null
$K --cluster "$CJ" campaign show arrears-demo

say "a real call over SIP: caller -> Kamailio -> kefu-sipgw (rtpengine media) -> agent s001's phone"
sip() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sip"][sys.argv[2]])' "$CJ" "$1"; }
edge=$(sip edge)
b=$((${edge#*:} - 46))
printf 'Demo-agent-2026' >"$D/spw"
$K --cluster "$CJ" agent add --id s001 --name "语音坐席" --skills vip:5,billing:5,general:5 \
	--role agent --password-file "$D/spw" >/dev/null
python3 tests/sipgw/rtpcount.py $((b + 84)) 8 "$D/phone-rtp.json" --echo &
timeout 60 sipp -sf tests/sipgw/phone_answer.xml -s s001 -set rtp_port $((b + 84)) -i 127.0.0.1 \
	-p $((b + 83)) -m 1 -timeout 50s </dev/null >"$D/phone.out" 2>&1 &
timeout 20 sipp -sf tests/sipgw/register.xml -s s001 -au s001 -ap "$(sip password)" \
	-set phone_port $((b + 83)) -i 127.0.0.1 -p $((b + 82)) -m 1 -timeout 15s "$edge" \
	</dev/null >"$D/reg.out" 2>&1
echo "s001's phone registered at the edge $edge"
printf 'send login agent_id=s001 password=Demo-agent-2026\nexpect login_reply\nsend set_agent_state state=ready\nexpect agent_status state=ready\nexpect offer within=30000\nsend answer_call call_id=@call_id\nexpect agent_status state=wrap_up within=30000\n' \
	>"$D/desk.script"
timeout 60 bin/kefu-sim call --cluster "$CJ" --node node1 --as agent --script "$D/desk.script" \
	>"$D/desk.out" 2>&1 &
sleep 1
python3 tests/sipgw/rtpcount.py $((b + 81)) 8 "$D/caller-rtp.json" --talk &
sleep 0.3
timeout 30 sipp -sf tests/sipgw/caller.xml -s "$(sip service)" -set ani 13800138000 \
	-set rtp_port $((b + 81)) -i 127.0.0.1 -p $((b + 80)) -m 1 -d 8000 -timeout 25s "$edge" \
	</dev/null >"$D/caller.out" 2>&1
wait
echo "-- the gateway's log of the call"
grep -h "ani=13800138000" "$D"/cluster/sip/sipgw*.log | sed 's/.*call in call=\([^ ]*\).*/\1/' | head -n 1 >"$D/callid"
grep -h "call=$(cat "$D/callid")" "$D"/cluster/sip/sipgw*.log | cut -d' ' -f3-
echo "-- RTP the caller got (music on hold, then its own voice back through the agent's phone):"
cat "$D/caller-rtp.json"; echo
echo "-- RTP the agent's phone got (the caller's voice):"
cat "$D/phone-rtp.json"; echo
say "the browser console, served by every node (docs/console.md)"
printf 'Demo-agent-2026' >"$D/cpw"
$K --cluster "$CJ" agent add --id demo01 --name 演示坐席 --skills vip:5,billing:5,general:5 \
	--role agent --password-file "$D/cpw" >/dev/null
$K --cluster "$CJ" agent add --id sup01 --name 演示班长 --skills general:5 --role supervisor \
	--password-file "$D/cpw" >/dev/null
python3 - "$CJ" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
print("console:    " + "  ".join(n["console"] for n in c["nodes"]))
print("agent:      demo01 / Demo-agent-2026   (the desktop)")
print("supervisor: sup01  / Demo-agent-2026   (then 班长监控台, /sup)")
print("the nodes' certificates come from the cluster CA " + c["ca"] +
      ": trust it in the browser, or accept its warning once per node")
PY
# From a terminal, the cluster stays up for a person to try the console.
if [ "${DEMO_WAIT:-1}" != 0 ] && [ -t 0 ] && [ -t 1 ]; then
	printf '\nThe cluster runs until Enter is pressed. '
	read -r _ || true
fi
