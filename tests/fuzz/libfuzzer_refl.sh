#!/bin/sh
# libFuzzer on the Endpoint ID parser (fuzz_refl_id.c), from
# tests/fuzz/corpus_refl; see libfuzzer.sh.
FUZZ_TARGET=fuzz_refl_id FUZZ_CORPUS=corpus_refl
export FUZZ_TARGET FUZZ_CORPUS
exec ${SHELL:-/bin/sh} "$(dirname "$0")/libfuzzer.sh"
