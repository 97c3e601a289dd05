#!/bin/sh
# libFuzzer on STAMP reflection (fuzz_refl_stamp.c), from
# tests/fuzz/corpus_stamp; see libfuzzer.sh.
FUZZ_TARGET=fuzz_refl_stamp FUZZ_CORPUS=corpus_stamp
export FUZZ_TARGET FUZZ_CORPUS
exec ${SHELL:-/bin/sh} "$(dirname "$0")/libfuzzer.sh"
