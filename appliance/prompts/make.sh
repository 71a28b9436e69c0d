#!/bin/sh
# Makes one prompt: make.sh NAME.sox OUT.wav. NAME.sox holds the arguments
# of sox's synth effect (comment lines start with #); the prompt is 8 kHz,
# mono, 16-bit PCM, which rtpengine's play media takes as it is.
set -eu
args=$(grep -v '^[[:space:]]*#' "$1" | tr '\n' ' ')
# shellcheck disable=SC2086
sox -q -n -r 8000 -c 1 -b 16 "$2.tmp.wav" synth $args
mv -f "$2.tmp.wav" "$2"
