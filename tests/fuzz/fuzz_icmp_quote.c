/**
 * @file fuzz_icmp_quote.c  libFuzzer target: the ICMP quote parser
 *
 * The first byte picks the parser (even: ICMPv4 with its outer IPv4
 * header, odd: ICMPv6), the rest is the packet a raw listener would read.
 * Whatever the input, the parser must return without reading outside it
 * (AddressSanitizer) and, on success, name a payload inside it.
 *
 *   make fuzz && tests/fuzz/fuzz_icmp_quote tests/fuzz/corpus
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/icmp_quote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct icmp_err e;
	uint8_t *pkt;
	size_t n;
	int err;

	if (size < 1)
		return 0;

	/* an exact-size copy, so that any overread is outside the heap
	 * block and AddressSanitizer sees it */
	n = size - 1;
	pkt = malloc(n ? n : 1);
	if (!pkt)
		return 0;
	memcpy(pkt, data + 1, n);

	memset(&e, 0, sizeof(e));
	err = (data[0] & 1) ? icmp6_parse(&e, pkt, n) : icmp4_parse(&e, pkt, n);
	if (!err) {
		volatile uint8_t sum = 0;

		if (e.payload < pkt || e.payload + e.plen > pkt + n)
			abort();   /* a payload outside the packet */
		for (size_t i = 0; i < e.plen; i++)
			sum ^= e.payload[i];
		(void)sum;
	}

	free(pkt);

	return 0;
}
