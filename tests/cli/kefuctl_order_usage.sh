#!/bin/sh
# `kefuctl order` refuses bad command lines before it talks to any node:
# exit status 2 and a message that names what is wrong. No cluster: the
# target is a closed port and a CA file that does not exist, so a command
# line that passes gets as far as the connection and fails there (exit 1).
. "$(dirname "$0")/lib.inc"
CTL="$KEFUCTL --node 127.0.0.1:1 --ca $T/no-ca.crt --cert $T/no.crt --key $T/no.key"

# usage MESSAGE ARGS...: exit status 2, and MESSAGE in what it printed.
usage() {
	msg=$1; shift
	# shellcheck disable=SC2086
	expect_rc 2 $CTL "$@"
	grep -qF -- "$msg" "$T/last.out" || fail "no '$msg' from order $*: $(cat "$T/last.out")"
	grep -q "^usage: kefuctl order " "$T/last.out" || fail "no usage after order $*"
	ok
}

# create_usage MESSAGE ARGS...: usage for a create that is good but for ARGS.
create_usage() {
	msg=$1; shift
	usage "$msg" order create --msisdn 13800000001 --kind complaint --category 话费/计费争议 \
		--text test "$@"
}

usage "--msisdn N is required" order create --kind complaint --category a --text t
usage "--kind K is required" order create --msisdn 13800000001 --category a --text t
usage "--category C is required" order create --msisdn 13800000001 --kind complaint --text t
usage "--text T is required" order create --msisdn 13800000001 --kind complaint --category a
create_usage "--msisdn takes a phone number" --msisdn 138x
create_usage "--urgency is urgent or normal" --urgency high
create_usage "--channel is one of phone, web, sms, email, letter, walk-in" --channel fax
usage "--msisdn needs a value" order create --msisdn

# Attachments: at most 4 files of at most 48 KiB, read before anything is sent.
head -c 61440 /dev/zero >"$T/big.bin"
head -c 49152 /dev/zero >"$T/max.bin"
create_usage "--attach $T/big.bin: 61440 bytes, over the limit" --attach "$T/big.bin"
create_usage "--attach $T/missing.bin: No such file or directory" --attach "$T/missing.bin"
create_usage "--attach $T: not a regular file" --attach "$T"
create_usage "--attach: at most 4 files" --attach "$T/max.bin" --attach "$T/max.bin" \
	--attach "$T/max.bin" --attach "$T/max.bin" --attach "$T/max.bin"
usage "--attach $T/big.bin: 61440 bytes" order update SC20261206000001 --attach "$T/big.bin"
# Exactly 48 KiB passes the command line and fails only at the connection.
# shellcheck disable=SC2086
expect_rc 1 $CTL order create --msisdn 13800000001 --kind complaint --category a --text t --attach "$T/max.bin" --attach "$T/max.bin"

# The subcommands and their arguments.
usage "which order command?" order
usage "unknown order command frobnicate" order frobnicate
usage "order show needs an order ID" order show
usage "unexpected argument B" order show A B
usage "order show does not take --msisdn" order show A --msisdn 13800000001
usage "--attachments $T/nowhere: No such file or directory" order show A --attachments "$T/nowhere"
usage "order transition needs an order ID and an ACTION" order transition A
usage "cancel needs --note T" order transition A cancel
usage "nothing to add" order update A
usage "--limit takes 1.." order list --limit 0
usage "unknown option --bogus" order list --bogus
usage "unexpected argument x" order check x
create_usage "--ref is 1..64" --ref "$(printf '%070d' 0)"

# The help lists every order subcommand.
"$KEFUCTL" --help >"$T/help.out" 2>&1 || fail "kefuctl --help failed"
for sub in create show list transition update categories check; do
	grep -qE "^ +(order )?$sub( |$)|^  order +$sub( |$)" "$T/help.out" ||
		fail "kefuctl --help does not list order $sub: $(cat "$T/help.out")"
	ok
done

done_ok
