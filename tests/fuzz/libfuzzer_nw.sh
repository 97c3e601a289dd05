#!/bin/sh
# libFuzzer on netwatch's wire readers (fuzz_nw_wire.c), from
# tests/fuzz/corpus_nw; see libfuzzer.sh.
FUZZ_TARGET=fuzz_nw_wire FUZZ_CORPUS=corpus_nw
export FUZZ_TARGET FUZZ_CORPUS
exec ${SHELL:-/bin/sh} "$(dirname "$0")/libfuzzer.sh"
