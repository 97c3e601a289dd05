/**
 * @file wire.h  What netwatch reads from the network, as pure functions
 *               (netwatch/ only; tests/fuzz/fuzz_nw_wire.c fuzzes them)
 */

#ifndef NW_WIRE_H
#define NW_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	NW_WIRE_COOKIE = 8,
	NW_ICMP_HDR = 8,
	NW_UDP_PROBE_LEN = 32,
};

/** An echo reply as read from an ICMP socket */
struct nw_echo {
	uint16_t ident, seq;
	const uint8_t *cookie;        /**< NW_WIRE_COOKIE bytes */
};

/**
 * Read an echo reply: from a raw IPv4 socket (ip_header: the IPv4 header
 * comes first, and the ICMP checksum is checked, RFC 1071; the kernel
 * checks no raw socket's), or an ICMP message alone (ping sockets, raw
 * ICMPv6, whose checksums the kernel checks).
 *
 * @param v6  ICMPv6 (type 129) rather than ICMP (type 0)
 * @return false when it is not a whole, valid echo reply with a cookie
 */
bool nw_echo_parse(const uint8_t *buf, size_t n, bool v6, bool ip_header,
		   struct nw_echo *e);

enum { NW_ECHO_LEN = NW_ICMP_HDR + 56 };   /**< as ping(8) sends */

/**
 * Write an echo request (NW_ECHO_LEN bytes): identifier, sequence, the
 * cookie and a marker. with_csum: the RFC 792 checksum too (a raw IPv4
 * socket; the kernel writes a ping socket's and every ICMPv6 one, RFC
 * 3542 §3.1).
 */
void nw_echo_write(uint8_t *pkt, bool v6, uint16_t ident, uint16_t seq,
		   const uint8_t *cookie, bool with_csum);

/** Write a UDP probe's payload (NW_UDP_PROBE_LEN bytes) */
void nw_udp_probe_write(uint8_t *d, uint16_t seq, const uint8_t *cookie);

/**
 * Read a UDP probe's payload back (an ICMP quote, or an application's
 * echo of it).
 * @return false when it is not one of ours (too short, another magic)
 */
bool nw_udp_probe_read(const uint8_t *d, size_t n, uint16_t *seq,
		       const uint8_t **cookie);

#endif
