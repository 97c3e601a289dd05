/**
 * @file fuzz_refl_stamp.c  libFuzzer target: STAMP reflection
 *
 * Whatever a peer sends to an echo port goes through refl_stamp_is_test()
 * and, when it is a session-sender packet, refl_stamp_reflect() in place.
 * Whatever the input, they stay inside the datagram (AddressSanitizer),
 * the reply is exactly as long as the request, the sender's sequence
 * number, timestamp and error estimate come back where RFC 8762 §4.3.1
 * puts them, the padding is untouched, and anything else is left alone.
 *
 *   make fuzz && tests/fuzz/fuzz_refl_stamp tests/fuzz/corpus_stamp
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reflector/stamp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct timespec t = {.tv_sec = 1700000000, .tv_nsec = 1};
	uint8_t *p = malloc(size ? size : 1);

	if (!p)
		return 0;
	memcpy(p, data, size);

	if (refl_stamp_is_test(p, size)) {
		refl_stamp_reflect(p, size, &t, 64, 0x8001);
		refl_stamp_t3(p, &t);
		if (memcmp(p, data, 4) || memcmp(p + 24, data, 4) ||
		    memcmp(p + 28, data + 4, 8) ||
		    memcmp(p + 36, data + 12, 2) || p[40] != 64 ||
		    memcmp(p + 44, data + 44, size - 44))
			abort();
	}
	else {
		refl_stamp_reflect(p, size, &t, 64, 0x8001);
		if (memcmp(p, data, size))
			abort();
	}

	free(p);

	return 0;
}
