/**
 * @file icmp_quote.c  Reading ICMP errors and their quotes, defensively
 *
 *   outer IPv4 (IHL*4) | ICMP (8) | quoted IP (IHL*4 / 40 + ext) | UDP (8) | RTP...
 *
 * Routers may quote only the 8 bytes of UDP header (RFC 792); Linux quotes
 * up to 576 bytes (RFC 1812 §4.3.2.3). Either way the quote may be cut
 * anywhere after that, so the UDP length in the quote is never used to
 * read, only reported.
 */

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "media/icmp_quote.h"

enum {
	IP4_MIN = 20,
	IP6_HDR = 40,
	ICMP_HDR = 8,
	UDP_HDR = 8,
	EXT_MAX = 8,      /**< extension headers walked before giving up */
};


static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}


int icmp_classify(int family, uint8_t type, uint8_t code)
{
	if (family == AF_INET) {
		switch (type) {
		case 3:   /* destination unreachable, RFC 792 */
			if (code == 3)
				return ICMP_KIND_PORT_UNREACH;
			if (code == 4)
				return ICMP_KIND_FRAG_NEEDED;
			return ICMP_KIND_UNREACH;
		case 11:  /* time exceeded */
			return ICMP_KIND_TIME_EXCEEDED;
		default:
			return -1;
		}
	}

	switch (type) {
	case 1:   /* destination unreachable, RFC 4443 §3.1 */
		return code == 4 ? ICMP_KIND_PORT_UNREACH : ICMP_KIND_UNREACH;
	case 2:   /* packet too big, §3.2 */
		return ICMP_KIND_FRAG_NEEDED;
	case 3:   /* time exceeded, §3.3 */
		return ICMP_KIND_TIME_EXCEEDED;
	default:
		return -1;
	}
}


/* The UDP header and what follows of the payload */
static int read_udp(struct icmp_err *e, const uint8_t *p, size_t len)
{
	if (len < UDP_HDR)
		return EBADMSG;   /* RFC 792 promises 8 bytes of payload */

	if (e->src.ss_family == AF_INET) {
		((struct sockaddr_in *)&e->src)->sin_port = htons(be16(p));
		((struct sockaddr_in *)&e->dst)->sin_port = htons(be16(p + 2));
	}
	else {
		((struct sockaddr_in6 *)&e->src)->sin6_port = htons(be16(p));
		((struct sockaddr_in6 *)&e->dst)->sin6_port =
			htons(be16(p + 2));
	}

	e->udp_len = be16(p + 4);
	e->payload = p + UDP_HDR;
	e->plen = len - UDP_HDR;

	/* the quote may hold padding beyond the datagram: not payload */
	if (e->udp_len >= UDP_HDR && e->plen > (size_t)e->udp_len - UDP_HDR)
		e->plen = (size_t)e->udp_len - UDP_HDR;

	return 0;
}


static void set4(struct sockaddr_storage *ss, const uint8_t *addr)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, addr, 4);
}


static void set6(struct sockaddr_storage *ss, const uint8_t *addr)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, addr, 16);
}


int icmp4_parse(struct icmp_err *e, const uint8_t *p, size_t len)
{
	size_t ihl, tot, qihl;
	const uint8_t *icmp, *q;
	int kind;

	if (!e || !p)
		return EINVAL;

	memset(e, 0, sizeof(*e));
	e->path = ICMP_PATH_RAW;
	e->udp_len = -1;

	/* outer IPv4 header, as a raw socket delivers it */
	if (len < IP4_MIN || (p[0] >> 4) != 4)
		return EBADMSG;
	ihl = (size_t)(p[0] & 0x0f) * 4;
	tot = be16(p + 2);
	if (ihl < IP4_MIN || ihl > len || p[9] != IPPROTO_ICMP)
		return EBADMSG;
	if (tot >= ihl && tot < len)
		len = tot;        /* ignore trailing bytes after the packet */
	set4(&e->offender, p + 12);

	icmp = p + ihl;
	len -= ihl;
	if (len < ICMP_HDR)
		return EBADMSG;

	kind = icmp_classify(AF_INET, icmp[0], icmp[1]);
	if (kind < 0)
		return ENOTSUP;
	e->kind = (enum icmp_kind)kind;
	e->type = icmp[0];
	e->code = icmp[1];
	if (kind == ICMP_KIND_FRAG_NEEDED)
		e->info = be16(icmp + 6);     /* RFC 1191 §4 next-hop MTU */

	/* the quoted IPv4 header */
	q = icmp + ICMP_HDR;
	len -= ICMP_HDR;
	if (len < IP4_MIN || (q[0] >> 4) != 4)
		return EBADMSG;
	qihl = (size_t)(q[0] & 0x0f) * 4;
	if (qihl < IP4_MIN || qihl > len)
		return EBADMSG;
	if (q[9] != IPPROTO_UDP)
		return ENOTSUP;
	if (be16(q + 6) & 0x1fff)
		return ENOTSUP;   /* a later fragment: no UDP header in it */
	set4(&e->src, q + 12);
	set4(&e->dst, q + 16);

	return read_udp(e, q + qihl, len - qihl);
}


int icmp6_parse(struct icmp_err *e, const uint8_t *p, size_t len)
{
	struct sockaddr_storage offender;
	const uint8_t *q;
	uint8_t next;
	int kind;

	if (!e || !p)
		return EINVAL;

	/* the caller may have filled in the offender before calling */
	offender = e->offender;
	memset(e, 0, sizeof(*e));
	e->offender = offender;
	e->path = ICMP_PATH_RAW;
	e->udp_len = -1;

	if (len < ICMP_HDR)
		return EBADMSG;

	kind = icmp_classify(AF_INET6, p[0], p[1]);
	if (kind < 0)
		return ENOTSUP;
	e->kind = (enum icmp_kind)kind;
	e->type = p[0];
	e->code = p[1];
	if (kind == ICMP_KIND_FRAG_NEEDED)   /* RFC 4443 §3.2 MTU */
		e->info = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
			(uint32_t)p[6] << 8 | p[7];

	q = p + ICMP_HDR;
	len -= ICMP_HDR;
	if (len < IP6_HDR || (q[0] >> 4) != 6)
		return EBADMSG;
	set6(&e->src, q + 8);
	set6(&e->dst, q + 24);
	next = q[6];
	q += IP6_HDR;
	len -= IP6_HDR;

	/* RFC 8200 §4: walk the extension headers to the UDP header */
	for (int i = 0; next != IPPROTO_UDP; i++) {
		size_t hlen;

		if (i == EXT_MAX)
			return ENOTSUP;
		if (len < 8)
			return EBADMSG;

		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			hlen = ((size_t)q[1] + 1) * 8;
			break;
		case IPPROTO_FRAGMENT:
			if (be16(q + 2) & 0xfff8)
				return ENOTSUP;   /* not the first fragment */
			hlen = 8;
			break;
		case IPPROTO_AH:          /* RFC 4302 §2.2: in 4-byte units */
			hlen = ((size_t)q[1] + 2) * 4;
			break;
		default:                  /* ESP, no next header, TCP... */
			return ENOTSUP;
		}

		if (hlen > len)
			return EBADMSG;
		next = q[0];
		q += hlen;
		len -= hlen;
	}

	return read_udp(e, q, len);
}
