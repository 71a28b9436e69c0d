#!/bin/sh
# The knowledge base through a three-node cluster (docs/kb.md), one cluster
# for every case:
#   - an import of published, draft, expired and not-yet-valid articles;
#     one-character, phrase, pinyin-initial, full-pinyin, traditional,
#     full-width and mixed queries find the right articles in the right
#     order on every node; drafts, expired and future articles never show;
#   - a file with one bad line imports nothing; a file imported twice
#     makes no article twice;
#   - a new version in review never replaces the live one; its author
#     cannot approve it; a supervisor approves it through the agent
#     protocol and every node's search swaps to it;
#   - kill -9 of the leader while a version is approved: afterwards every
#     node has the same live version, the old or the new, and its search
#     finds that one's text and never the other's;
#   - views (a repeat by one agent counts once), "used in reply", the hot
#     list, not-helpful feedback in the editors' queue, archive.
. "$(dirname "$0")/lib.inc"

up 3

# ---- accounts: an editor, a supervisor, an agent ----
printf 'agent-secret-1' >"$D/pw"
for a in "ed1 editor" "s01 supervisor" "a01 agent"; do
	set -- $a
	ctl agent add --id "$1" --name "坐席$1" --skills vip:5,billing:5,general:5 --role "$2" \
		--password-file "$D/pw" >"$D/add.$1" 2>&1 || fail "agent add $1: $(cat "$D/add.$1")"
done
has_agents() { "$KEFUCTL" agent list --db "$(data_dir "$1")" --json | grep -q '"a01"'; }
for n in node1 node2 node3; do wait_for "agents on $n" 20 has_agents "$n"; done

# ---- the corpus ----
past=2020-01-01T00:00:00+08:00
cat >"$D/kb.jsonl" <<EOF
{"title": "话费查询方法", "body": "发送短信CXHF到10010即可查询当前话费余额和本月已用话费。", "category": "话费/查询", "keywords": ["话费", "余额"], "tags": ["常见"], "state": "published"}
{"title": "携号转网办理条件", "body": "在网满120天、无欠费的用户可申请携号转网，iPhone等终端无需更换。", "category": "业务/携号转网", "keywords": ["携号转网"], "state": "published"}
{"title": "4G套餐资费说明", "body": "4G 套餐月费含国内通话与流量，超出部分按标准资费计费。", "category": "套餐/4G", "keywords": ["套餐", "4G"], "state": "published"}
{"title": "国际漫游开通流程", "body": "出国前开通国际漫游，可在营业厅或银行卡绑定后自助办理。", "category": "漫游/国际", "keywords": ["漫游"], "state": "published"}
{"title": "宽带故障报修", "body": "宽带无法上网时先重启光猫，仍不能恢复请拨打10010报修。", "category": "宽带/故障", "keywords": ["宽带", "报修"], "state": "published"}
{"title": "账单说明", "body": "月度账单列出套餐费、话费和增值业务费用。", "category": "话费/账单", "state": "published"}
{"title": "旧版话费优惠活动", "body": "已经结束的话费优惠活动。", "category": "话费/活动", "state": "published", "valid_to": "$past"}
{"title": "明年话费新政", "body": "尚未生效的话费政策。", "category": "话费/活动", "state": "published", "valid_from": "2099-01-01T00:00:00Z"}
{"title": "话费草稿文章", "body": "还在编写中的话费说明。", "category": "话费/查询", "state": "draft"}
{"title": "欠费缴费方式", "body": "欠费停机后缴清欠费即可自动复机，可在营业厅、网上营业厅或银行缴费。", "category": "话费/缴费", "keywords": ["缴费", "复机"], "state": "published"}
EOF
ctl kb import "$D/kb.jsonl" --json >"$D/import.out" 2>&1 || fail "import: $(cat "$D/import.out")"
grep -q '"imported":10' "$D/import.out" || fail "import answered $(cat "$D/import.out")"
ok

# search NODE QUERY: the ids found, in order, one line.
search() {
	ctl --node "$(addr "$1")" kb search "$2" --json 2>/dev/null |
		python3 -c 'import json,sys; print(" ".join(str(r["id"]) for r in json.load(sys.stdin)["results"]))'
}
first_is() { # NODE QUERY ID
	got=$(search "$1" "$2") || true
	[ "${got%% *}" = "$3" ]
}
expect_first() { # QUERY ID
	for n in node1 node2 node3; do
		wait_for "\"$1\" first finds $2 on $n" 20 first_is "$n" "$1" "$2"
	done
}
expect_first "话费" 1
expect_first "话" 1
expect_first '"话费查询"' 1
expect_first "hfcx" 1
expect_first "huafei" 1
expect_first "hua fei" 1
expect_first "話費" 1
expect_first "４Ｇ" 3
expect_first "4G 套餐" 3
expect_first "iphone 携号转网" 2
expect_first "漫游" 4
expect_first "yinhang" 4
# Two initials find every article with 话费 (title, keywords or body).
has_all() { # NODE QUERY ID...
	n=$1; q=$2; shift 2
	ids=" $(search "$n" "$q") "
	for i in "$@"; do case "$ids" in *" $i "*) ;; *) return 1 ;; esac; done
}
for n in node1 node2 node3; do wait_for "hf finds 1, 6 and 10 on $n" 20 has_all "$n" hf 1 6 10; done
for n in node1 node2 node3; do
	ids=" $(search "$n" "话费") "
	case "$ids" in *" 6 "*) ;; *) fail "$n: 话费 misses the body-only article 6: $ids" ;; esac
	case "$ids" in *" 7 "* | *" 8 "* | *" 9 "*) fail "$n: 话费 shows an expired, future or draft article: $ids" ;; esac
	ok
done
# A phrase matches only as written.
[ -z "$(search node2 '"费话"')" ] || fail "the phrase 费话 matched"
ok

# Each node counts the searches it answered and their time, in /metrics.
murl=$(python3 -c 'import json,sys; print([n["metrics"] for n in json.load(open(sys.argv[1]))["nodes"] if n["name"]=="node2"][0])' "$CJ")
python3 -c 'import sys, urllib.request; open(sys.argv[2], "wb").write(urllib.request.urlopen(sys.argv[1], timeout=10).read())' \
	"$murl" "$D/metrics" || fail "no /metrics from node2"
hits=$(awk '$1 == "kefu_knowledge_searches_total{result=\"hits\"}" { print $2 }' "$D/metrics")
[ "${hits:-0}" -gt 2 ] || fail "node2 counted ${hits:-no} searches with hits"
grep -q '^kefu_knowledge_search_seconds_count ' "$D/metrics" || fail "no search latency histogram"
promtool check metrics <"$D/metrics" >"$D/promtool" 2>&1 || fail "promtool: $(cat "$D/promtool")"
ok

# ---- bad input ----
cp "$D/kb.jsonl" "$D/bad.jsonl"
printf '{"title": "x", "body": "y", "category": "a", "valid_to": "tomorrow"}\n' >>"$D/bad.jsonl"
if ctl kb import "$D/bad.jsonl" >"$D/bad.out" 2>&1; then fail "a bad file was imported"; fi
grep -q 'line 11: "valid_to" is not an RFC 3339 time' "$D/bad.out" || fail "bad line: $(cat "$D/bad.out")"
ok
if ctl kb search '"话费' >"$D/q.out" 2>&1; then fail "an unclosed quote was searched"; fi
ok
if ctl kb approve 999 >"$D/q.out" 2>&1; then fail "approve of no article passed"; fi
grep -q "no article 999" "$D/q.out" || fail "approve 999: $(cat "$D/q.out")"
ok
# The same file again makes no article twice.
ctl kb import "$D/kb.jsonl" --json >"$D/import2.out" 2>&1 || fail "import again: $(cat "$D/import2.out")"
grep -q '"ids":\[1,2,3,4,5,6,7,8,9,10\]' "$D/import2.out" || fail "import again: $(cat "$D/import2.out")"
ok

# live NODE ID: the live version of article ID on NODE.
live() {
	ctl --node "$(addr "$1")" kb show "$2" --json 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["live"])'
}
live_is() { [ "$(live "$1" "$2")" = "$3" ]; }

# ---- a new version in review; its author cannot approve it ----
printf '{"id": 1, "title": "话费余额查询指南", "body": "拨打10010按1号键查询话费余额。新版本。", "category": "话费/查询", "keywords": ["话费"], "state": "review", "author": "ed1"}\n' >"$D/v2.jsonl"
ctl kb import "$D/v2.jsonl" >"$D/v2.out" 2>&1 || fail "v2: $(cat "$D/v2.out")"
for n in node1 node2 node3; do
	wait_for "v2 in review on $n" 20 sh -c "\"$KEFUCTL\" --cluster \"$CJ\" --node $(addr $n) kb show 1 --json | grep -q '\"review\":2'"
	[ "$(live "$n" 1)" = 1 ] || fail "$n: the version in review replaced the live one"
	[ -z "$(search "$n" 新版本)" ] || fail "$n: the version in review is searchable"
	ok
done
actor ed1 node2 agent <<EOF
send login agent_id=ed1 password=agent-secret-1
expect login_reply
send kb_action id=1 action=approve
expect error
EOF
finished ed1
said ed1 "cannot approve it alone" || fail "the author's approval: $(cat "$D/ed1.out")"
ok
actor s01 node3 agent <<EOF
send login agent_id=s01 password=agent-secret-1
expect login_reply
send kb_action id=1 action=approve
expect kb_show_reply article.live=2
EOF
finished s01
for n in node1 node2 node3; do
	wait_for "v2 live on $n" 20 live_is "$n" 1 2
	wait_for "v2 searchable on $n" 20 first_is "$n" "新版本" 1
done

# ---- kill -9 of the leader while v3 is approved ----
printf '{"id": 1, "title": "话费余额查询（第三版）", "body": "登录手机营业厅查询话费余额。第三版独有词：翡翠。", "category": "话费/查询", "state": "review", "author": "ed1"}\n' >"$D/v3.jsonl"
ctl kb import "$D/v3.jsonl" >"$D/v3.out" 2>&1 || fail "v3: $(cat "$D/v3.out")"
old=$(leader)
timeout 60 "$KEFUCTL" --cluster "$CJ" kb approve 1 >"$D/approve.out" 2>&1 &
ap=$!
sleep 0.05
"$H" kill "$old" --dir "$D"
wait "$ap" || true
wait_for "a new leader" 60 leader_is_not "$old"
others=""
for n in node1 node2 node3; do [ "$n" = "$old" ] || others="$others $n"; done
set -- $others
wait_for "the same live version on $1 and $2" 30 sh -c "[ \"\$(\"$KEFUCTL\" --cluster \"$CJ\" --node $(addr $1) kb show 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"live\"])')\" = \"\$(\"$KEFUCTL\" --cluster \"$CJ\" --node $(addr $2) kb show 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"live\"])')\" ]"
v=$(live "$1" 1)
case "$v" in 2 | 3) ;; *) fail "after the kill the live version is $v" ;; esac
ok
for n in $others; do
	if [ "$v" = 3 ]; then
		wait_for "v3 searchable on $n" 20 first_is "$n" "翡翠" 1
		[ -z "$(search "$n" 新版本)" ] || fail "$n: v2's text still found with v3 live"
	else
		wait_for "v2 searchable on $n" 20 first_is "$n" "新版本" 1
		[ -z "$(search "$n" 翡翠)" ] || fail "$n: v3's text found with v2 live"
	fi
	ok
done
echo "live after the kill: v$v"
# When v3 is still in review, it is approved now through a follower.
if [ "$v" = 2 ]; then
	ctl kb approve 1 >"$D/approve2.out" 2>&1 || fail "approve v3: $(cat "$D/approve2.out")"
	for n in $others; do wait_for "v3 live on $n" 20 live_is "$n" 1 3; done
fi
"$H" start "$old" --dir "$D" >/dev/null 2>&1 || fail "restart $old"
wait_for "$old back with v3 live" 60 live_is "$old" 1 3
wait_for "v3 searchable on $old" 20 first_is "$old" "翡翠" 1

# ---- views, used in reply, hot, feedback, the queue ----
actor a01 node1 agent <<EOF
send login agent_id=a01 password=agent-secret-1
expect login_reply
send kb_view id=2
expect kb_show_reply stats.views=1
send kb_view id=2
expect kb_show_reply stats.views=1
send kb_view id=2 used=true
expect kb_show_reply stats.used=1
send kb_feedback id=3 helpful=false comment=资费已调整
expect kb_show_reply stats.unhelpful=1
EOF
finished a01
ctl kb hot --json >"$D/hot.out" 2>&1 || fail "hot: $(cat "$D/hot.out")"
python3 - "$D/hot.out" <<'PY' || fail "hot: $(cat "$D/hot.out")"
import json, sys
h = json.load(open(sys.argv[1]))["hot"]
assert h[0]["id"] == 2 and h[0]["views"] == 1 and h[0]["used"] == 1, h
PY
ok
ctl kb queue --json >"$D/queue.out" 2>&1 || fail "queue: $(cat "$D/queue.out")"
grep -q '资费已调整' "$D/queue.out" || fail "queue: $(cat "$D/queue.out")"
ok

# ---- the screen pop of a caller in arrears suggests the payment article ----
"$SIM" boss --out "$D/boss" --users 300 --seed 9 >/dev/null
ctl import "$D"/boss/*_CUST_*_000001.dat "$D"/boss/*_USER_*_000001.dat \
	>"$D/boss.out" 2>&1 || fail "BOSS import: $(cat "$D/boss.out")"
OWES=$(awk -F'|' '$1 == "A" && $7 != "4" && ($7 == "3" || $11 > 0) { print $3; exit }' \
	"$D"/boss/*_USER_*_000001.dat)
[ -n "$OWES" ] || fail "no subscriber in arrears in the data"
owes_known() { ctl --node "$(addr node2)" lookup --msisdn "$OWES"; }
wait_for "$OWES on node2" 20 owes_known
actor a01 node2 agent <<EOF
$(login_ready a01 agent-secret-1)
expect offer ani=$OWES articles.0.id=10 articles.0.title=欠费缴费方式 within=20000
send answer_call call_id=@call_id
expect agent_status state=on_call
EOF
actor gw node2 gateway <<EOF
send call_arrived call_id=kb-call-1 ani=$OWES service=10086
expect ivr_plan call_id=kb-call-1
expect connect_call call_id=kb-call-1 within=20000
sleep 500
send call_ended call_id=kb-call-1 reason=caller
EOF
finished a01
finished gw

# ---- archive ----
ctl kb archive 4 --note 停止办理 >"$D/arch.out" 2>&1 || fail "archive: $(cat "$D/arch.out")"
for n in node1 node2 node3; do
	wait_for "漫游 gone on $n" 20 sh -c "! \"$KEFUCTL\" --cluster \"$CJ\" --node $(addr $n) kb search 漫游 >/dev/null 2>&1"
done
done_ok
