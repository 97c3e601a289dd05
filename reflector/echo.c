/**
 * @file echo.c  The UDP echo data plane (session_int.h)
 *
 * A session's socket answers datagrams from the granted peer's IP (any
 * port) with the same bytes, at most max_packet_rate a second (a token
 * bucket holding a tenth of a second's worth, at least 10), and counts
 * what it received, sent, and dropped. A STAMP session-sender packet
 * (stamp.h) gets the session-reflector's answer instead of its own bytes:
 * T2 the kernel's receive time (SO_TIMESTAMPNS), T3 read just before the
 * batch is sent, the sender's TTL (IP_RECVTTL / IPV6_RECVHOPLIMIT).
 * Datagrams are taken and sent 32
 * at a time (recvmmsg/sendmmsg), at most 8 batches a wake-up, then the
 * reactor has its turn.
 */

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gateway/libre.h"
#include "gateway/conf.h"
#include "gateway/reactor.h"
#include "reflector/session.h"
#include "reflector/session_int.h"
#include "reflector/stamp.h"

enum {
	ECHO_BATCH = 32,
	ECHO_BATCHES = 8,             /**< per wake-up, then back to the loop */
	/** a receive time and a TTL (or hop limit) per datagram */
	CTL_SPACE = CMSG_SPACE(sizeof(struct timespec)) +
		2 * CMSG_SPACE(sizeof(int)),
};


static void refill(struct refl_session *s, uint64_t now_us)
{
	double add = (double)(now_us - s->refill_us) * s->rate / 1e6;

	s->refill_us = now_us;
	s->tokens = s->tokens + add > s->burst ? s->burst : s->tokens + add;
}


bool refl_is_peer(const struct refl_session *s, struct sa *a)
{
	/* a v4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d */
	if (sa_af(a) == AF_INET6 && sa_af(&s->peer) == AF_INET &&
	    IN6_IS_ADDR_V4MAPPED(&a->u.in6.sin6_addr)) {
		uint32_t v4;

		memcpy(&v4, &a->u.in6.sin6_addr.s6_addr[12], 4);
		sa_set_in(a, ntohl(v4), 0);
	}

	return sa_cmp(a, &s->peer, SA_ADDR);
}


static bool from_peer(const struct refl_session *s,
		      const struct sockaddr_storage *ss)
{
	struct sa from;

	return !sa_set_sa(&from, (const struct sockaddr *)ss) &&
		refl_is_peer(s, &from);
}


/* The kernel's receive time and the TTL / hop limit of a datagram */
static void rx_meta(struct msghdr *mh, struct timespec *t2, uint8_t *ttl)
{
	bool have_t2 = false;

	*ttl = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c;
	     c = CMSG_NXTHDR(mh, c)) {
		int v;

		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_TIMESTAMPNS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(*t2))) {
			memcpy(t2, CMSG_DATA(c), sizeof(*t2));
			have_t2 = true;
		}
		else if (((c->cmsg_level == IPPROTO_IP &&
			   c->cmsg_type == IP_TTL) ||
			  (c->cmsg_level == IPPROTO_IPV6 &&
			   c->cmsg_type == IPV6_HOPLIMIT)) &&
			 c->cmsg_len >= CMSG_LEN(sizeof(v))) {
			memcpy(&v, CMSG_DATA(c), sizeof(v));
			*ttl = v > 0 && v < 256 ? (uint8_t)v : 0;
		}
	}
	if (!have_t2)
		clock_gettime(CLOCK_REALTIME, t2);
}


/* 0 or -1: the datagram from[i] is not answered */
static int take(struct refl_session *s, const struct sockaddr_storage *from,
		size_t len)
{
	struct refl_sessions *m = s->m;

	if (!from_peer(s, from)) {
		++s->dropped_foreign;
		++m->st.dropped_foreign;
		return -1;
	}
	++s->pkts_in;
	++m->st.echo_in;
	s->bytes_in += len;
	s->h->bytes_today += len;
	if (s->tokens < 1.0) {
		++s->dropped_rate;
		++m->st.dropped_rate;
		return -1;
	}
	s->tokens -= 1.0;

	return 0;
}


static void echo_recv(int fd, int events, void *arg)
{
	static uint8_t bufs[ECHO_BATCH][REFL_ECHO_MAX_DGRAM];
	static uint8_t ctl[ECHO_BATCH][CTL_SPACE];
	struct sockaddr_storage from[ECHO_BATCH];
	struct mmsghdr in[ECHO_BATCH], out[ECHO_BATCH];
	struct iovec iov[ECHO_BATCH], oiov[ECHO_BATCH];
	uint8_t *stamped[ECHO_BATCH];
	struct refl_session *s = arg;
	struct refl_sessions *m = s->m;
	(void)events;

	for (int b = 0; b < ECHO_BATCHES; b++) {
		int n, k = 0, nst = 0;
		uint16_t ee = 0;

		memset(in, 0, sizeof(in));
		for (int i = 0; i < ECHO_BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			in[i].msg_hdr.msg_iov = &iov[i];
			in[i].msg_hdr.msg_iovlen = 1;
			in[i].msg_hdr.msg_name = &from[i];
			in[i].msg_hdr.msg_namelen = sizeof(from[i]);
			in[i].msg_hdr.msg_control = ctl[i];
			in[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
		}
		n = recvmmsg(fd, in, ECHO_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;

		refill(s, gw_now_us());
		refl_hist_today(s->h);
		memset(out, 0, sizeof(out));
		for (int i = 0; i < n; i++) {
			size_t len = in[i].msg_len;

			if (take(s, &from[i], len))
				continue;

			if (refl_stamp_is_test(bufs[i], len)) {
				struct timespec t2;
				uint8_t ttl;

				if (!nst)
					ee = refl_stamp_error_estimate();
				rx_meta(&in[i].msg_hdr, &t2, &ttl);
				refl_stamp_reflect(bufs[i], len, &t2, ttl, ee);
				stamped[nst++] = bufs[i];
			}

			/* the bytes that came, no more */
			oiov[k].iov_base = bufs[i];
			oiov[k].iov_len = len;
			out[k].msg_hdr.msg_iov = &oiov[k];
			out[k].msg_hdr.msg_iovlen = 1;
			out[k].msg_hdr.msg_name = &from[i];
			out[k].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
			++k;
		}

		/* T3 as late as the batch allows: just before it goes */
		if (nst) {
			struct timespec t3;

			clock_gettime(CLOCK_REALTIME, &t3);
			for (int i = 0; i < nst; i++)
				refl_stamp_t3(stamped[i], &t3);
			s->stamp_pkts += (uint64_t)nst;
			m->st.stamp += (uint64_t)nst;
		}

		for (int sent = 0; sent < k;) {
			int r = sendmmsg(fd, out + sent, (unsigned)(k - sent),
					 MSG_DONTWAIT);

			if (r <= 0)
				break;  /* a full socket buffer drops, as UDP */
			for (int i = sent; i < sent + r; i++) {
				s->bytes_out += out[i].msg_hdr.msg_iov->iov_len;
				s->h->bytes_today +=
					out[i].msg_hdr.msg_iov->iov_len;
				++s->pkts_out;
				++m->st.echo_out;
			}
			sent += r;
		}

		/* the peer's bytes today, both directions: past its quota
		 * the session ends (and says so in the audit log) */
		if (s->h->bytes_today >= m->q.max_bytes_per_day_per_peer) {
			refl_session_end(s, "quota_exceeded");
			return;
		}

		if (n < ECHO_BATCH)
			break;
	}
}


int refl_port_pick(struct refl_sessions *m, refl_port_h *try_port,
		   void *arg, uint16_t *portp)
{
	const struct gw_conf *c = m->conf;
	uint16_t first = c->reflector.network.data_port_range_start;
	uint16_t last = c->reflector.network.data_port_range_end;
	unsigned span = (unsigned)(last - first) + 1;

	if (m->next_port < first || m->next_port > last)
		m->next_port = first;

	for (unsigned i = 0; i < span; i++) {
		uint16_t port = (uint16_t)(first +
			(m->next_port - first + i) % span);
		int err = try_port(port, arg);

		if (err == EADDRINUSE)
			continue;
		if (err)
			return err;
		*portp = port;
		m->next_port = (uint16_t)(first + (port - first + 1) % span);
		return 0;
	}

	return EADDRINUSE;
}


struct echo_bind {
	struct sa addr;
	int fd;
};


static int echo_bind_port(uint16_t port, void *arg)
{
	struct echo_bind *eb = arg;
	int af = sa_af(&eb->addr), off = 0, on = 1;
	int fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return errno;
	if (af == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on,
			   sizeof(on));
	}
	/* for STAMP: T2 from the kernel, the sender's TTL */
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &on, sizeof(on));
	sa_set_port(&eb->addr, port);
	if (bind(fd, &eb->addr.u.sa, eb->addr.len)) {
		close(fd);
		return EADDRINUSE;
	}
	eb->fd = fd;

	return 0;
}


int refl_echo_bind(struct refl_sessions *m, int *fdp, uint16_t *portp)
{
	struct echo_bind eb = {.addr = m->conf->reflector.network.listen_address,
			       .fd = -1};
	int err;

	if (m->conf->reflector.network.mode == GW_REFL_DIRECT_EPHEMERAL)
		sa_init(&eb.addr, sa_af(&eb.addr));   /* every address */
	err = refl_port_pick(m, echo_bind_port, &eb, portp);
	if (!err)
		*fdp = eb.fd;

	return err;
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
