/**
 * @file wire.c  Echo replies and UDP probe payloads (wire.h)
 */

#include <string.h>

#include "gateway/inet.h"
#include "netwatch/wire.h"

enum {
	V4_ECHO = 8,
	V6_ECHO = 128,
	V4_ECHOREPLY = 0,
	V6_ECHOREPLY = 129,
	IPV4_MIN = 20,
};

static const uint8_t udp_magic[4] = {'K', 'L', 'N', 'W'};
static const char echo_magic[] = "keepline-netwatch";


static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}


static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}


void nw_echo_write(uint8_t *pkt, bool v6, uint16_t ident, uint16_t seq,
		   const uint8_t *cookie, bool with_csum)
{
	memset(pkt, 0, NW_ECHO_LEN);
	pkt[0] = v6 ? V6_ECHO : V4_ECHO;
	put16(pkt + 4, ident);
	put16(pkt + 6, seq);
	memcpy(pkt + NW_ICMP_HDR, cookie, NW_WIRE_COOKIE);
	memcpy(pkt + NW_ICMP_HDR + NW_WIRE_COOKIE, echo_magic,
	       sizeof(echo_magic) - 1);
	if (with_csum)
		put16(pkt + 2, gw_inet_csum(pkt, NW_ECHO_LEN));
}


bool nw_echo_parse(const uint8_t *buf, size_t n, bool v6, bool ip_header,
		   struct nw_echo *e)
{
	const uint8_t *icmp = buf;
	size_t len = n;

	if (!buf || !e)
		return false;

	if (ip_header) {
		size_t ihl;

		if (n < IPV4_MIN || (buf[0] >> 4) != 4)
			return false;
		ihl = (size_t)(buf[0] & 0x0f) * 4;
		if (ihl < IPV4_MIN || n < ihl + NW_ICMP_HDR)
			return false;
		icmp = buf + ihl;
		len = n - ihl;
	}

	if (len < NW_ICMP_HDR + NW_WIRE_COOKIE ||
	    icmp[0] != (v6 ? V6_ECHOREPLY : V4_ECHOREPLY) || icmp[1] != 0)
		return false;
	if (ip_header && gw_inet_csum(icmp, len) != 0)
		return false;

	e->ident = get16(icmp + 4);
	e->seq = get16(icmp + 6);
	e->cookie = icmp + NW_ICMP_HDR;

	return true;
}


void nw_udp_probe_write(uint8_t *d, uint16_t seq, const uint8_t *cookie)
{
	memset(d, 0, NW_UDP_PROBE_LEN);
	memcpy(d, udp_magic, sizeof(udp_magic));
	put16(d + 4, seq);
	memcpy(d + 6, cookie, NW_WIRE_COOKIE);
}


bool nw_udp_probe_read(const uint8_t *d, size_t n, uint16_t *seq,
		       const uint8_t **cookie)
{
	if (!d || n < 6 + NW_WIRE_COOKIE ||
	    memcmp(d, udp_magic, sizeof(udp_magic)))
		return false;

	*seq = get16(d + 4);
	*cookie = d + 6;

	return true;
}
