#!/bin/sh
# libFuzzer on one target for FUZZ_SECONDS (default 20), from its corpus
# in tests/fuzz/; TAP on stdout. A crash, an overread (AddressSanitizer)
# or undefined behaviour fails it and leaves the input that did it in
# tests/fuzz/ of the build tree. FUZZ_TARGET and FUZZ_CORPUS name them:
# the ICMP quote parser and tests/fuzz/corpus unless told otherwise
# (libfuzzer_sip.sh).
target=${FUZZ_TARGET:-fuzz_icmp_quote}
bin=tests/fuzz/$target
work=tests/fuzz/$target.work
out=tests/fuzz/$target.out
secs=${FUZZ_SECONDS:-20}

echo "1..1"
rm -rf "$work"
mkdir -p "$work"
cp "$KEEPLINE_SRCDIR"/tests/fuzz/"${FUZZ_CORPUS:-corpus}"/* "$work"/
if "$bin" -max_total_time="$secs" -print_final_stats=1 \
	-artifact_prefix=tests/fuzz/ "$work" >"$out" 2>&1; then
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out")
	echo "ok 1 - libFuzzer $target: ${runs:-?} inputs in ${secs} s, no crash"
else
	echo "not ok 1 - libFuzzer failed (see $out)"
	tail -40 "$out" | sed 's/^/# /'
	exit 1
fi
