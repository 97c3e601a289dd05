/**
 * @file fuzz_nw_wire.c  libFuzzer target: what netwatch reads from the
 *                       network (netwatch/wire.c)
 *
 * Every datagram an ICMP socket hands the prober goes through
 * nw_echo_parse() (as from a raw IPv4 socket, with the IP header, and as
 * a bare ICMP or ICMPv6 message), and every UDP quote or reply through
 * nw_udp_probe_read(). Whatever the input, they read only inside it
 * (AddressSanitizer), and what they accept is what was there: a raw IPv4
 * reply they accept has a valid checksum, and its cookie lies inside the
 * input; a UDP payload read back is one nw_udp_probe_write() would make.
 *
 *   make fuzz && tests/fuzz/fuzz_nw_wire tests/fuzz/corpus_nw
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/inet.h"
#include "netwatch/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void inside(const uint8_t *p, size_t len, const uint8_t *data,
		   size_t size)
{
	if (p < data || p + len > data + size)
		abort();
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	struct nw_echo e;
	const uint8_t *cookie;
	uint16_t seq;

	if (!buf)
		return 0;
	memcpy(buf, data, size);

	for (int v6 = 0; v6 < 2; v6++) {
		for (int ip = 0; ip < 2; ip++) {
			if (!nw_echo_parse(buf, size, v6, ip, &e))
				continue;
			inside(e.cookie, NW_WIRE_COOKIE, buf, size);
			if (ip && gw_inet_csum(e.cookie - NW_ICMP_HDR,
					  size - (size_t)(e.cookie -
							  NW_ICMP_HDR - buf)))
				abort();
		}
	}

	if (nw_udp_probe_read(buf, size, &seq, &cookie)) {
		uint8_t again[NW_UDP_PROBE_LEN];

		inside(cookie, NW_WIRE_COOKIE, buf, size);
		nw_udp_probe_write(again, seq, cookie);
		if (memcmp(again, buf, 6 + NW_WIRE_COOKIE))
			abort();
	}

	if (memcmp(buf, data, size))
		abort();       /* nothing is written into what was read */
	free(buf);

	return 0;
}
