#!/bin/sh
# Every rejection rule of the BOSS interface, through `kefuctl import`:
# each bad file is rejected with a reason naming line and field, exits 1,
# lands in the rejected folder with a report, and lookups prove that
# nothing of it was applied.
. "$(dirname "$0")/lib.inc"
DB=$T/db
REJ=$T/rejected
ARC=$T/archive
imp() { "$KEFUCTL" import --db "$DB" --rejected "$REJ" --archive "$ARC" "$@"; }

# A base to refer to: one customer with one user.
C1=$(printf 'A|C1|张三|P|01|510104199001011234|成都市锦江区|13900000000|2|M01|20200101120000\n' |
	dat SC_CUST_20261101020000_000001.dat)
U1=$(printf 'A|U1|13800000001|C1|沃|P1|1|20200101120000|3|1234|0\n' |
	dat SC_USER_20261101020000_000001.dat)
expect_rc 0 imp "$C1" "$U1"
found "$DB" 13800000001

# reject FILE REASON-FRAGMENT FIELD: rejected with that reason, report in place.
reject() {
	f=$1; why=$2; field=$3
	b=$(basename "$f")
	expect_rc 1 imp "$f"
	grep -q "^rejected $b " "$T/last.out" || fail "no rejected line for $b: $(cat "$T/last.out")"
	grep -qF -- "$why" "$T/last.out" || fail "reason for $b lacks '$why': $(cat "$T/last.out")"
	[ -f "$REJ/$b" ] && [ -f "$REJ/${b%.dat}.chk" ] || fail "$b and its .chk not in rejected folder"
	grep -q "^field: $field\$" "$REJ/$b.report" || fail "report of $b lacks field $field: $(cat "$REJ/$b.report")"
	grep -q "^reason: " "$REJ/$b.report" || fail "report of $b has no reason"
	[ ! -e "$f" ] || fail "$b still in the inbox"
	ok
}

# Two good users first in each bad USER file: they must not be applied.
good2='A|U2|13800000002|C1|沃|P1|1|20200101120000|3|0|0
A|U3|13800000003|C1|沃|P1|1|20200101120000|3|0|0'
seq=2
bad_user() { # reason field record-line
	f=$(printf '%s\n%s\n' "$good2" "$3" | dat "SC_USER_20261101030000_$(printf %06d $seq).dat")
	reject "$f" "$1" "$2"
	notfound "$DB" 13800000002
	notfound "$DB" 13800000003
}

# Record rules (A/M/D and references), each proving the good lines were not applied.
bad_user "line 3: USER A: user_id U1 already exists" user_id 'A|U1|13800000009|C1|沃|P1|1|20200101120000|3|0|0'
bad_user "line 3: USER M: user_id U9 does not exist" user_id 'M|U9|13800000009|C1|沃|P1|1|20200101120000|3|0|0'
bad_user "line 3: USER D: user_id U9 does not exist" user_id 'D|U9'
bad_user "line 3: USER A: cust_id C9 does not exist" cust_id 'A|U9|13800000009|C9|沃|P1|1|20200101120000|3|0|0'
bad_user "msisdn 13800000001 already belongs to user U1" msisdn 'A|U9|13800000001|C1|沃|P1|1|20200101120000|3|0|0'
# Field rules.
bad_user "line 3:" status 'A|U9|13800000009|C1|沃|P1|7|20200101120000|3|0|0'
bad_user "line 3:" open_time 'A|U9|13800000009|C1|沃|P1|1|20201301120000|3|0|0'
bad_user "line 3:" balance 'A|U9|13800000009|C1|沃|P1|1|20200101120000|3|12x|0'
bad_user "line 3:" - 'A|U9|13800000009|C1|沃|P1|1|20200101120000|3|0'
bad_user "line 3:" - 'X|U9|13800000009|C1|沃|P1|1|20200101120000|3|0|0'
bad_user "line 3:" - 'A|U9|13800000009|C1|沃|P1|1|20200101120000|3|0|0|extra'
bad_user "line 3:" brand "$(printf 'A|U9|13800000009|C1|\377\376|P1|1|20200101120000|3|0|0')"
bad_user "line 3:" brand 'A|U9|13800000009|C1|a\qb|P1|1|20200101120000|3|0|0'
bad_user "line 3:" user_id 'A||13800000009|C1|沃|P1|1|20200101120000|3|0|0'
bad_user "line 3:" - "A|U9|13800000009|C1|$(head -c 17000 /dev/zero | tr '\0' x)|P1|1|20200101120000|3|0|0"

# A payment for a user that does not exist.
P=$(printf 'A|P1|U1|5000|20261001120000|APP\nA|P2|U9|5000|20261001120000|APP\n' |
	dat SC_PAY_20261101020000_000001.dat)
reject "$P" "line 2: PAY A: user_id U9 does not exist" user_id
[ "$(json_get "$DB" 13800000001 payments)" = 0 ] || fail "payment P1 of a rejected file was applied"
ok

# A customer that still has users cannot be deleted.
C=$(printf 'D|C1\n' | dat SC_CUST_20261101030000_000002.dat)
reject "$C" "CUST D: cust_id C1 still has users" cust_id
found "$DB" 13800000001

# Check-file rules: counts, bytes, hash, format, name.
mkbad() { # NAME: a good two-user file; prints its path
	printf '%s\n' "$good2" | dat "$1"
}
f=$(mkbad SC_USER_20261101040000_000002.dat)
printf '%s|3|%s|%s' "$(basename "$f")" "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -c1-64)" >"${f%.dat}.chk"
reject "$f" "check file says 3 records, file has 2" -
f=$(mkbad SC_USER_20261101040000_000002.dat)
printf '%s|2|999|%s' "$(basename "$f")" "$(sha256sum "$f" | cut -c1-64)" >"${f%.dat}.chk"
reject "$f" "check file says 999 bytes" -
f=$(mkbad SC_USER_20261101040000_000002.dat)
printf '%s|2|%s|%064d' "$(basename "$f")" "$(stat -c %s "$f")" 0 >"${f%.dat}.chk"
reject "$f" "sha256 differs" -
f=$(mkbad SC_USER_20261101040000_000002.dat)
printf '%s|2|%s|%s \n' "$(basename "$f")" "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -c1-64)" >"${f%.dat}.chk"
reject "$f" "check file:" -
f=$(mkbad SC_USER_20261101040000_000002.dat)
printf 'SC_USER_20261101040000_000007.dat|2|%s|%s' "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -c1-64)" >"${f%.dat}.chk"
reject "$f" "check file names another file" -
notfound "$DB" 13800000002

# A bad file name.
f=$(mkbad SC_USER_2026110104000_000002.dat)
reject "$f" "bad file name" -

# The same name again with other contents; and a used SEQ under a new name.
f=$(printf 'M|U1|13800000001|C1|沃|P2|1|20200101120000|3|1234|0\n' | dat SC_USER_20261101020000_000001.dat)
reject "$f" "already applied with another sha256" -
[ "$(json_get "$DB" 13800000001 plan_id)" = P1 ] || fail "plan changed by a rejected file"
ok
f=$(mkbad SC_USER_20261101050000_000001.dat)
reject "$f" "SEQ 000001 of SC USER already used" -
notfound "$DB" 13800000002

# Nothing of all that reached the database: still one customer, one user.
"$KEFUCTL" stat --db "$DB" >"$T/stat"
grep -q '^user  *1$' "$T/stat" && grep -q '^cust  *1$' "$T/stat" && grep -q '^pay  *0$' "$T/stat" ||
	fail "stray data after rejections: $(cat "$T/stat")"
ok
done_ok
