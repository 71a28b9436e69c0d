#!/bin/sh
# kefu-sim kb from the command line: usage and exit codes, the articles'
# keys and values, reproducibility. Run by tests/run.sh with KEFU_BIN set.
. "$(dirname "$0")/lib.inc"
tmp=$T

# expect_exit CODE TEXT ARGS...: kefu-sim exits CODE and says TEXT.
expect_exit() {
	want=$1; text=$2; shift 2
	expect_rc "$want" "$SIM" "$@"
	grep -qF -- "$text" "$T/last.out" || fail "kefu-sim $*: no '$text' in: $(cat "$T/last.out")"
}

expect_exit 0 "--articles" kb --help
expect_exit 2 "--seed is required" kb --out "$tmp/a" --articles 10
expect_exit 2 "--articles: '0'" kb --out "$tmp/a" --articles 0 --seed 1
expect_exit 2 "the file name is empty" kb --out "" --articles 1 --seed 1
expect_exit 1 "$tmp/none/a.tmp" kb --out "$tmp/none/a" --articles 1 --seed 1
[ ! -e "$tmp/a" ] || fail "a refused command line wrote its file"

expect_exit 0 "wrote $tmp/a 3000 " kb --out "$tmp/a" --articles 3000 --seed 9
"$SIM" kb --out "$tmp/b" --articles 3000 --seed 9 >/dev/null
cmp -s "$tmp/a" "$tmp/b" || fail "the same arguments gave different files"
"$SIM" kb --out "$tmp/c" --articles 3000 --seed 10 >/dev/null
! cmp -s "$tmp/a" "$tmp/c" || fail "another seed gave the same file"
[ ! -e "$tmp/a.tmp" ] || fail "the temporary file was left"
[ "$(wc -l <"$tmp/a")" -eq 3000 ] || fail "not one line an article"

# Every line has the keys of the import format, and only those; times are
# RFC 3339 with +08:00; a window has both ends; a few drafts, windows and
# review dates, and the topics the desk meets.
awk '
/^\{"title":"[^"]+","body":"[^"]+","category":"[^"\/]+\/[^"\/]+","keywords":\["[^]]*\],"tags":\[[^]]*\],/ { ok++ }
/"valid_from":/ && !/"valid_to":/ { bad++ }
/"(valid_from|valid_to|review_by)":"/ && !/"(valid_from|valid_to|review_by)":"20[0-9][0-9]-[01][0-9]-[0-3][0-9]T08:00:00\+08:00"/ { bad++ }
!/"state":"(draft|published)"\}$/ { bad++ }
/"state":"draft"/ { drafts++ }
/"valid_from":/ { windows++ }
/"review_by":/ { reviews++ }
/携号转网/ { port++ }
/漫游/ { roam++ }
/套餐/ { plan++ }
/iPhone/ { phone++ }
END {
	if (ok != NR || bad) { print "lines in the format: " ok "/" NR ", bad: " bad; exit 1 }
	if (drafts < 60 || drafts > 300 || windows < 60 || windows > 400 || reviews < 600)
		{ print "drafts " drafts ", windows " windows ", reviews " reviews; exit 1 }
	if (!port || !roam || !plan || !phone) { print "a topic is missing"; exit 1 }
}' "$tmp/a" || fail "articles not as expected"
done_ok
