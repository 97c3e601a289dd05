/**
 * @file echo.c  The UDP echo data plane (session_int.h)
 *
 * A session's socket answers datagrams from the granted peer's IP (any
 * port) with the same bytes, at most max_packet_rate a second (a token
 * bucket holding a tenth of a second's worth, at least 10), and counts
 * what it received, sent, and dropped. Datagrams are taken and sent 32
 * at a time (recvmmsg/sendmmsg), at most 8 batches a wake-up, then the
 * reactor has its turn.
 */

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/libre.h"
#include "gateway/conf.h"
#include "gateway/reactor.h"
#include "reflector/session.h"
#include "reflector/session_int.h"

enum {
	ECHO_BATCH = 32,
	ECHO_BATCHES = 8,             /**< per wake-up, then back to the loop */
};


static void refill(struct refl_session *s, uint64_t now_us)
{
	double add = (double)(now_us - s->refill_us) * s->rate / 1e6;

	s->refill_us = now_us;
	s->tokens = s->tokens + add > s->burst ? s->burst : s->tokens + add;
}


static bool from_peer(const struct refl_session *s,
		      const struct sockaddr_storage *ss)
{
	struct sa from;

	if (sa_set_sa(&from, (const struct sockaddr *)ss))
		return false;

	/* a v4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d */
	if (sa_af(&from) == AF_INET6 && sa_af(&s->peer) == AF_INET &&
	    IN6_IS_ADDR_V4MAPPED(&from.u.in6.sin6_addr)) {
		uint32_t v4;

		memcpy(&v4, &from.u.in6.sin6_addr.s6_addr[12], 4);
		sa_set_in(&from, ntohl(v4), 0);
	}

	return sa_cmp(&from, &s->peer, SA_ADDR);
}


static void echo_recv(int fd, int events, void *arg)
{
	static uint8_t bufs[ECHO_BATCH][REFL_ECHO_MAX_DGRAM];
	struct sockaddr_storage from[ECHO_BATCH];
	struct mmsghdr in[ECHO_BATCH], out[ECHO_BATCH];
	struct iovec iov[ECHO_BATCH], oiov[ECHO_BATCH];
	struct refl_session *s = arg;
	struct refl_sessions *m = s->m;
	(void)events;

	for (int b = 0; b < ECHO_BATCHES; b++) {
		int n, k = 0;

		memset(in, 0, sizeof(in));
		for (int i = 0; i < ECHO_BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			in[i].msg_hdr.msg_iov = &iov[i];
			in[i].msg_hdr.msg_iovlen = 1;
			in[i].msg_hdr.msg_name = &from[i];
			in[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		n = recvmmsg(fd, in, ECHO_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;

		refill(s, gw_now_us());
		memset(out, 0, sizeof(out));
		for (int i = 0; i < n; i++) {
			size_t len = in[i].msg_len;

			if (!from_peer(s, &from[i])) {
				++s->dropped_foreign;
				++m->st.dropped_foreign;
				continue;
			}
			++s->pkts_in;
			++m->st.echo_in;
			s->bytes_in += len;
			if (s->tokens < 1.0) {
				++s->dropped_rate;
				++m->st.dropped_rate;
				continue;
			}
			s->tokens -= 1.0;

			/* the bytes that came, no more */
			oiov[k].iov_base = bufs[i];
			oiov[k].iov_len = len;
			out[k].msg_hdr.msg_iov = &oiov[k];
			out[k].msg_hdr.msg_iovlen = 1;
			out[k].msg_hdr.msg_name = &from[i];
			out[k].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
			++k;
		}

		for (int sent = 0; sent < k;) {
			int r = sendmmsg(fd, out + sent, (unsigned)(k - sent),
					 MSG_DONTWAIT);

			if (r <= 0)
				break;  /* a full socket buffer drops, as UDP */
			for (int i = sent; i < sent + r; i++) {
				s->bytes_out += out[i].msg_hdr.msg_iov->iov_len;
				++s->pkts_out;
				++m->st.echo_out;
			}
			sent += r;
		}

		if (n < ECHO_BATCH)
			break;
	}
}


int refl_echo_bind(struct refl_sessions *m, int *fdp, uint16_t *portp)
{
	const struct gw_conf *c = m->conf;
	uint16_t first = c->reflector.network.data_port_range_start;
	uint16_t last = c->reflector.network.data_port_range_end;
	unsigned span = (unsigned)(last - first) + 1;
	struct sa addr = c->reflector.network.listen_address;
	int af = sa_af(&addr);

	if (c->reflector.network.mode == GW_REFL_DIRECT_EPHEMERAL)
		sa_init(&addr, af);   /* every address */

	if (m->next_port < first || m->next_port > last)
		m->next_port = first;

	for (unsigned i = 0; i < span; i++) {
		uint16_t port = (uint16_t)(first +
			(m->next_port - first + i) % span);
		int fd, off = 0;

		fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return errno;
		if (af == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off,
				   sizeof(off));
		sa_set_port(&addr, port);
		if (!bind(fd, &addr.u.sa, addr.len)) {
			*fdp = fd;
			*portp = port;
			m->next_port = (uint16_t)(first + (port - first + 1) %
						  span);
			return 0;
		}
		close(fd);
	}

	return EADDRINUSE;
}


int refl_echo_start(struct refl_session *s)
{
	s->rate = s->m->q.max_packet_rate;
	s->burst = s->rate / 10 < 10 ? 10 : s->rate / 10;
	s->tokens = s->burst;
	s->refill_us = gw_now_us();

	return gw_watch_alloc(&s->w, s->m->r, s->fd, GW_FD_READ, echo_recv,
			      s);
}
