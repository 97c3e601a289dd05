/**
 * @file icmp_quote.h  ICMP error messages and the UDP packets they quote
 *
 * An ICMP error carries the start of the packet that provoked it (RFC 792,
 * RFC 4443 §2.4(c)): the quoted IP header, then at least 8 bytes of its
 * payload, here a UDP header and as much of our RTP as the sender kept.
 * This parser reads such a message from a raw socket. It depends on libc
 * only, so that the fuzz target can link it alone. Every length is checked
 * before it is read; nothing in the packet is trusted.
 */

#ifndef ICMP_QUOTE_H
#define ICMP_QUOTE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** What an error says about the packet it quotes */
enum icmp_kind {
	ICMP_KIND_PORT_UNREACH = 0,   /**< v4 3/3, v6 1/4: nobody listens */
	ICMP_KIND_UNREACH,            /**< any other destination-unreachable */
	ICMP_KIND_FRAG_NEEDED,        /**< v4 3/4, v6 type 2: MTU in info */
	ICMP_KIND_TIME_EXCEEDED,      /**< v4 11, v6 3 */
};

/** Which intake saw an error */
enum icmp_path {
	ICMP_PATH_QUEUE = 0,          /**< a socket's MSG_ERRQUEUE */
	ICMP_PATH_RAW,                /**< a raw ICMP/ICMPv6 listener */
	ICMP_PATH_N
};

/** One ICMP error about a UDP packet, from either intake */
struct icmp_err {
	enum icmp_path path;
	enum icmp_kind kind;
	uint8_t type, code;           /**< as on the wire */
	uint32_t info;                /**< MTU for ICMP_KIND_FRAG_NEEDED */
	struct sockaddr_storage offender;  /**< who sent the error (port 0) */
	struct sockaddr_storage src;  /**< quoted source: our address:port */
	struct sockaddr_storage dst;  /**< quoted destination: the peer */
	int udp_len;                  /**< quoted UDP length; -1 unknown */
	const uint8_t *payload;       /**< quoted UDP payload (may be cut) */
	size_t plen;
};

/**
 * Parse an ICMPv4 error as read from a raw IPPROTO_ICMP socket: the outer
 * IPv4 header, the ICMP header, the quoted IPv4 header (options honoured
 * through IHL) and the quoted UDP header and payload.
 *
 * @return 0; EBADMSG malformed or truncated; ENOTSUP not an error this
 *         module reads (other types, not UDP, a non-first fragment)
 */
int icmp4_parse(struct icmp_err *e, const uint8_t *p, size_t len);

/**
 * Parse an ICMPv6 error as read from a raw IPPROTO_ICMPV6 socket (the
 * kernel strips the outer IPv6 header; the offender is the source address
 * recvfrom() gave, which the caller fills in). Extension headers of the
 * quoted packet are walked.
 */
int icmp6_parse(struct icmp_err *e, const uint8_t *p, size_t len);

/** Classify an ICMP type/code of the given family; -1 if not an error
 *  this module reads */
int icmp_classify(int family, uint8_t type, uint8_t code);

#endif
