/**
 * @file icmp_echo.c  Echo replies from the shared raw listeners, by
 *                    identifier, to the prober that sent the requests
 *
 * A prober (netwatch) that sends ICMP echo requests through a raw socket
 * of its own would also read every other ICMP message of the host; with
 * media_icmp_echo_listen() it registers its identifier instead and gets
 * only its replies from the intake's listeners, whose kernel filter lets
 * echo replies through only while someone listens. IPv4 replies are
 * checked (RFC 792 checksum; the kernel hands raw sockets unchecked
 * packets); ICMPv6 checksums are the kernel's (RFC 3542 §3.1).
 */

#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <string.h>

#include "gateway/inet.h"
#include "gateway/log.h"
#include "gateway/reactor.h"
#include "media/icmp_int.h"

enum {
	ICMP_ECHOREPLY_V4 = 0,
	ICMP_HDR = 8,
};

struct media_icmp_echo {
	struct le le;
	struct media_icmp *mi;        /**< NULL once the intake is gone */
	int family;
	uint16_t ident;
	media_icmp_echo_h *h;
	void *arg;
};


static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}


bool icmp_echo_wanted(const struct media_icmp *mi, int family)
{
	for (const struct le *le = mi->echoes.head; le; le = le->next) {
		const struct media_icmp_echo *x = le->data;

		if (x->family == family)
			return true;
	}

	return false;
}


bool icmp_echo_input(struct media_icmp *mi, const uint8_t *buf, size_t n,
		     int family, const struct sockaddr_storage *from)
{
	struct media_icmp_echo_reply r;
	const uint8_t *icmp = buf;
	size_t len = n;

	memset(&r, 0, sizeof(r));
	r.ttl = -1;

	if (family == AF_INET) {
		size_t ihl;

		/* the IP header comes first on a v4 raw socket */
		if (n < 20 || (buf[0] >> 4) != 4)
			return false;
		ihl = (size_t)(buf[0] & 0x0f) * 4;
		if (ihl < 20 || n < ihl + ICMP_HDR ||
		    buf[ihl] != ICMP_ECHOREPLY_V4)
			return false;
		icmp = buf + ihl;
		len = n - ihl;
		r.ttl = buf[8];
		if (gw_inet_csum(icmp, len) != 0)
			return true;   /* damaged: nobody's */
	}
	else {
		if (n < ICMP_HDR || buf[0] != ICMP6_ECHO_REPLY)
			return false;
	}

	if (sa_set_sa(&r.from, (const struct sockaddr *)from))
		return true;

	r.ident = get16(icmp + 4);
	r.seq = get16(icmp + 6);
	r.data = icmp + ICMP_HDR;
	r.len = len - ICMP_HDR;
	r.rx_us = gw_now_us();

	for (struct le *le = mi->echoes.head; le; le = le->next) {
		struct media_icmp_echo *x = le->data;

		if (x->family != family || x->ident != r.ident)
			continue;

		++mi->echo_replies;
		x->h(&r, x->arg);   /* last: it may withdraw x */
		return true;
	}

	++mi->echo_unclaimed;

	return true;
}


static void echo_destructor(void *data)
{
	struct media_icmp_echo *x = data;

	list_unlink(&x->le);
	if (x->mi)
		icmp_raw_filter(x->mi, x->family);
}


void icmp_echo_forget(struct media_icmp *mi)
{
	while (mi->echoes.head) {
		struct media_icmp_echo *x = mi->echoes.head->data;

		list_unlink(&x->le);
		x->mi = NULL;
	}
}


int media_icmp_echo_listen(struct media_icmp_echo **ep, struct media_mgr *mm,
			   int family, uint16_t ident, media_icmp_echo_h *h,
			   void *arg)
{
	struct media_icmp *mi = mm ? mm->icmp : NULL;
	struct media_icmp_echo *x;

	if (!ep || !mi || !h || (family != AF_INET && family != AF_INET6))
		return EINVAL;

	if (mi->raw_fd[family == AF_INET ? 0 : 1] < 0)
		return ENOTSUP;

	for (const struct le *le = mi->echoes.head; le; le = le->next) {
		const struct media_icmp_echo *o = le->data;

		if (o->family == family && o->ident == ident)
			return EADDRINUSE;
	}

	x = mem_zalloc(sizeof(*x), echo_destructor);
	if (!x)
		return ENOMEM;

	x->mi = mi;
	x->family = family;
	x->ident = ident;
	x->h = h;
	x->arg = arg;
	list_append(&mi->echoes, &x->le, x);
	icmp_raw_filter(mi, family);
	*ep = x;

	return 0;
}
