#!/bin/sh
# libFuzzer on what media/sdp.c reads of a peer's SDP (fuzz_media_sdp.c),
# from tests/fuzz/corpus_sdp; see libfuzzer.sh.
FUZZ_TARGET=fuzz_media_sdp FUZZ_CORPUS=corpus_sdp
export FUZZ_TARGET FUZZ_CORPUS
exec ${SHELL:-/bin/sh} "$(dirname "$0")/libfuzzer.sh"
