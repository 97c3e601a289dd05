#!/bin/sh
# libFuzzer on what Keepline reads out of SIP (fuzz_sip_read.c), from
# tests/fuzz/corpus_sip; see libfuzzer.sh.
FUZZ_TARGET=fuzz_sip_read FUZZ_CORPUS=corpus_sip
export FUZZ_TARGET FUZZ_CORPUS
exec ${SHELL:-/bin/sh} "$(dirname "$0")/libfuzzer.sh"
