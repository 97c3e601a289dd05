#!/bin/sh
# libFuzzer on the pp-link/1 frame reader (fuzz_refl_frame.c), from
# tests/fuzz/corpus_frame; see libfuzzer.sh.
FUZZ_TARGET=fuzz_refl_frame FUZZ_CORPUS=corpus_frame
export FUZZ_TARGET FUZZ_CORPUS
exec ${SHELL:-/bin/sh} "$(dirname "$0")/libfuzzer.sh"
