#!/bin/sh
# libFuzzer on the ICMP quote parser for FUZZ_SECONDS (default 20), from
# the corpus in tests/fuzz/corpus; TAP on stdout. A crash, an overread
# (AddressSanitizer) or undefined behaviour fails it and leaves the input
# that did it in tests/fuzz/ of the build tree.
bin=tests/fuzz/fuzz_icmp_quote
work=tests/fuzz/corpus.work
out=tests/fuzz/libfuzzer.out
secs=${FUZZ_SECONDS:-20}

echo "1..1"
rm -rf "$work"
mkdir -p "$work"
cp "$KEEPLINE_SRCDIR"/tests/fuzz/corpus/* "$work"/
if "$bin" -max_total_time="$secs" -print_final_stats=1 \
	-artifact_prefix=tests/fuzz/ "$work" >"$out" 2>&1; then
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out")
	echo "ok 1 - libFuzzer: ${runs:-?} inputs in ${secs} s, no crash"
else
	echo "not ok 1 - libFuzzer failed (see $out)"
	tail -40 "$out" | sed 's/^/# /'
	exit 1
fi
