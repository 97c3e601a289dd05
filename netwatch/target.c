/**
 * @file target.c  A probed destination: its probes' lives, and the UDP
 *                 and TCP probes
 *
 * UDP: a connected socket with IP_RECVERR. On Linux only a *connected*
 * UDP socket is told of the port-unreachable its datagram provokes
 * (RFC 1122 §4.1.3.3 leaves it to the application; an unconnected socket
 * never hears it), and that error from the target itself proves the path
 * as well as an echo reply does. The datagram carries the probe's
 * sequence and cookie, which the ICMP quote brings back. The daemon's
 * ICMP intake is told to expect these errors, so a probe of a host that
 * also carries a call never counts against that call.
 *
 * TCP: one non-blocking connect() per probe; SYN-ACK or RST both prove
 * the path (RFC 9293 §3.5). The RTT of a SYN-ACK is the kernel's own
 * measure of it (tcpi_rtt), the connection reset at once.
 */

#include <errno.h>
#include <time.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/libre.h"
#include <re_sys.h>
#include "gateway/reactor.h"
#include "media/icmp.h"
#include "netwatch/prober_int.h"
#include "netwatch/wire.h"

enum {
	ICMP4_UNREACH = 3, ICMP4_PORT = 3,
	ICMP6_UNREACH = 1, ICMP6_PORT = 4,
	EXPECT_FOREVER_MS = 100ULL * 365 * 24 * 3600 * 1000,
};



static void probe_destructor(void *data)
{
	struct nw_probe *p = data;

	list_unlink(&p->le);
	list_unlink(&p->le_e);
	nw_tsq_forget(p);
	nw_icmp_forget(p);
	mem_deref(p->w);
	if (p->fd >= 0)
		close(p->fd);
}


struct nw_probe *nw_probe_new(struct nw_target *t, enum nw_method m)
{
	struct nw_probe *p = mem_zalloc(sizeof(*p), probe_destructor);

	if (!p)
		return NULL;
	p->fd = -1;
	p->t = t;
	p->m = m;
	p->n = ++t->n;
	list_append(&t->pending, &p->le, p);

	return p;
}


void nw_probe_done(struct nw_probe *p, bool answered,
		   const struct timespec *rx, bool rx_kernel,
		   const char *how, const char *why)
{
	struct nw_target *t = p->t;
	struct nw_result r;

	memset(&r, 0, sizeof(r));
	r.method = p->m;
	r.n = p->n;
	r.answered = answered;
	r.how = how;
	r.why = why;
	r.err = p->fail_err;
	if (answered && rx) {
		int64_t d = (int64_t)(rx->tv_sec - p->tx.tv_sec) * 1000000000 +
			(rx->tv_nsec - p->tx.tv_nsec);

		r.rtt_ns = d > 0 ? (uint64_t)d : 0;
		r.kernel_ts = rx_kernel && p->tx_kernel;
	}

	mem_deref(p);
	t->h(t, &r, t->arg);   /* last: it may free the target */
}


void nw_probe_expire(struct nw_probe *p)
{
	if (p->soon_how)
		nw_probe_done(p, true, &p->rx_soon, false, p->soon_how, NULL);
	else if (p->fail_why)
		nw_probe_done(p, false, NULL, false, NULL, p->fail_why);
	else
		nw_probe_done(p, false, NULL, false, NULL, "timeout");
}


void nw_probe_arm(struct nw_probe *p, uint64_t timeout_ms)
{
	p->deadline = gw_now_ms() + (p->fail_why || p->soon_how ? 0 :
				     timeout_ms);
	nw_engine_arm(p->t->e, p);
}


/* ---- UDP ---- */

static struct nw_probe *udp_find(struct nw_target *t, const uint8_t *d,
				 size_t n)
{
	struct nw_probe *oldest = NULL;
	const uint8_t *cookie = NULL;
	uint16_t seq = 0;
	bool ours = nw_udp_probe_read(d, n, &seq, &cookie);

	for (struct le *le = t->pending.head; le; le = le->next) {
		struct nw_probe *p = le->data;

		if (p->m != NW_M_UDP)
			continue;
		if (!oldest)
			oldest = p;
		if (ours && seq == p->seq &&
		    !memcmp(cookie, p->cookie, NW_COOKIE))
			return p;
	}

	/* a quote cut short (RFC 792 asks only for 8 bytes past the IP
	 * header: our UDP header) or an application that answers with
	 * its own bytes: the oldest probe waiting is the one answered */
	if (ours)
		return NULL;       /* ours, but of a probe already ended */

	return oldest;
}


static const char *unreach_why(const struct sock_extended_err *ee)
{
	if (ee->ee_origin == SO_EE_ORIGIN_ICMP) {
		switch (ee->ee_code) {
		case 0:  return "network unreachable";
		case 1:  return "host unreachable";
		case 2:  return "protocol unreachable";
		case 9: case 10: case 13: return "administratively prohibited";
		default: return "destination unreachable";
		}
	}
	switch (ee->ee_code) {
	case 0:  return "no route to destination";
	case 1:  return "administratively prohibited";
	case 3:  return "address unreachable";
	default: return "destination unreachable";
	}
}


static void udp_error(struct nw_target *t)
{
	for (int i = 0; i < 64; i++) {
		uint8_t data[512];
		struct sock_extended_err *ee;
		struct nw_errmsg m;
		struct nw_probe *p;
		int err = nw_errqueue_read(t->ufd, data, sizeof(data), &m);

		if (err == ENOMSG)
			continue;
		if (err)
			return;
		ee = &m.ee;

		if (ee->ee_origin == SO_EE_ORIGIN_TIMESTAMPING) {
			if (m.have_tx)
				nw_tsq_stamp(&t->utsq, ee->ee_data, &m.tx);
			continue;
		}
		if (ee->ee_origin != SO_EE_ORIGIN_ICMP &&
		    ee->ee_origin != SO_EE_ORIGIN_ICMP6)
			continue;

		p = udp_find(t, data, m.len);
		if (!p)
			continue;
		if (!m.have_rx)
			nw_clock(&m.rx);

		if (((ee->ee_origin == SO_EE_ORIGIN_ICMP &&
		      ee->ee_type == ICMP4_UNREACH &&
		      ee->ee_code == ICMP4_PORT) ||
		     (ee->ee_origin == SO_EE_ORIGIN_ICMP6 &&
		      ee->ee_type == ICMP6_UNREACH &&
		      ee->ee_code == ICMP6_PORT)) &&
		    sa_cmp(&m.offender, &t->addr, SA_ADDR)) {
			nw_probe_done(p, true, &m.rx, m.have_rx,
				      "port unreachable", NULL);
			return;    /* the handler may have freed t */
		}
		if (ee->ee_errno == ECONNREFUSED) {
			/* a port-unreachable, but not from the target: a
			 * middlebox, or a host answering for an address it
			 * does not own. Not proof of the path to it */
			nw_probe_done(p, false, NULL, false, NULL,
				      "port unreachable from another address");
			return;
		}
		if ((ee->ee_origin == SO_EE_ORIGIN_ICMP && ee->ee_type == 3) ||
		    (ee->ee_origin == SO_EE_ORIGIN_ICMP6 &&
		     ee->ee_type == 1)) {
			nw_probe_done(p, false, NULL, false, NULL,
				      unreach_why(ee));
			return;
		}
		/* time exceeded, too big...: not an answer, let it time out */
	}
}


static void udp_readable(int fd, int events, void *arg)
{
	struct nw_target *t = arg;
	uint8_t data[1500];
	union { char buf[256]; struct cmsghdr align; } cbuf;
	struct iovec iov = {data, sizeof(data)};
	struct msghdr msg = {0};
	struct timespec ts;
	struct nw_probe *p;
	bool rxk;
	ssize_t n;

	if (events & GW_FD_ERROR) {
		udp_error(t);
		return;    /* again on the next turn if data waits too */
	}

	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof(cbuf.buf);
	n = recvmsg(fd, &msg, MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			udp_error(t);
		return;
	}

	/* connected: only the target can send to us; any datagram from it
	 * is an application's answer */
	rxk = nw_rx_stamp(&msg, &ts);
	if (!rxk)
		nw_clock(&ts);
	p = udp_find(t, data, (size_t)n);
	if (p)
		nw_probe_done(p, true, &ts, rxk, "udp reply", NULL);
}


static void expected_error(const struct icmp_err *e, void *arg)
{
	(void)e;
	(void)arg;   /* our own socket's error queue has it too */
}


static int udp_open(struct nw_target *t)
{
	int fam = t->addr.u.sa.sa_family;
	struct media_mgr *mm = nw_engine_media(t->e);
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	struct sa dst = t->addr;
	struct sa me;
	int on = 1, err;

	t->ufd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->ufd < 0)
		return errno;

	if (fam == AF_INET)
		(void)setsockopt(t->ufd, SOL_IP, IP_RECVERR, &on, sizeof(on));
	else
		(void)setsockopt(t->ufd, SOL_IPV6, IPV6_RECVERR, &on,
				 sizeof(on));
	nw_stamps_enable(t->ufd);

	sa_set_port(&dst, t->udp_port);
	if (connect(t->ufd, &dst.u.sa, dst.len) < 0)
		return errno;

	if (mm && !getsockname(t->ufd, (struct sockaddr *)&local, &llen) &&
	    !sa_set_sa(&me, (struct sockaddr *)&local)) {
		err = media_icmp_expect((struct media_icmp_expect **)&t->expect,
					mm, &dst, sa_port(&me),
					EXPECT_FOREVER_MS, expected_error, t);
		if (err)
			return err;
	}

	return gw_watch_alloc(&t->uw, nw_engine_reactor(t->e), t->ufd,
			      GW_FD_READ | GW_FD_ERROR, udp_readable, t);
}


int nw_udp_send(struct nw_target *t, struct nw_probe *p)
{
	uint8_t d[NW_UDP_PROBE_LEN];

	if (t->ufd < 0 && !t->uerr) {
		t->uerr = udp_open(t);
		if (t->uerr) {
			t->uw = mem_deref(t->uw);
			if (t->ufd >= 0)
				close(t->ufd);
			t->ufd = -1;
		}
	}
	if (t->ufd < 0) {
		int err = t->uerr;

		t->uerr = 0;     /* a later probe tries again */
		return err ? err : EBADF;
	}

	p->seq = (uint16_t)p->n;
	rand_bytes(p->cookie, NW_COOKIE);
	nw_udp_probe_write(d, p->seq, p->cookie);

	nw_clock(&p->tx);
	if (send(t->ufd, d, sizeof(d), 0) < 0) {
		/* a connected socket reports the previous datagram's error
		 * here too: that one was read from the queue, send again */
		if (errno == ECONNREFUSED &&
		    send(t->ufd, d, sizeof(d), 0) >= 0)
			goto sent;
		p->fail_err = errno;
		p->fail_why = "send failed";
		return 0;
	}
 sent:
	nw_tsq_sent(&t->utsq, p);

	return 0;
}


/* ---- TCP ---- */

static void tcp_event(int fd, int events, void *arg)
{
	struct nw_probe *p = arg;
	struct timespec now;
	struct tcp_info ti;
	socklen_t len = sizeof(int);
	int soerr = 0;

	nw_clock(&now);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;

	if (!soerr) {
		len = sizeof(ti);
		memset(&ti, 0, sizeof(ti));
		/* the kernel timed the SYN-ACK [us]: exact where ours is not */
		if (!getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) &&
		    ti.tcpi_rtt) {
			struct timespec rx = p->tx;
			uint64_t ns = (uint64_t)ti.tcpi_rtt * 1000 +
				(uint64_t)rx.tv_nsec;

			rx.tv_sec += (time_t)(ns / 1000000000);
			rx.tv_nsec = (long)(ns % 1000000000);
			p->tx_kernel = true;
			nw_probe_done(p, true, &rx, true, "syn-ack", NULL);
			return;
		}
		nw_probe_done(p, true, &now, false, "syn-ack", NULL);
	}
	else if (soerr == ECONNREFUSED) {
		nw_probe_done(p, true, &now, false, "rst", NULL);
	}
	else if (soerr == EHOSTUNREACH || soerr == ENETUNREACH) {
		p->fail_err = soerr;
		nw_probe_done(p, false, NULL, false, NULL,
			      soerr == EHOSTUNREACH ? "host unreachable" :
			      "network unreachable");
	}
	else if (events) {
		p->fail_err = soerr;
		nw_probe_done(p, false, NULL, false, NULL, "connect failed");
	}
}


int nw_tcp_send(struct nw_target *t, struct nw_probe *p)
{
	struct linger lg = {1, 0};    /* close with RST: no TIME_WAIT */
	struct sa dst = t->addr;
	int err;

	if (!t->tcp_port)
		return ENOTSUP;

	p->fd = socket(dst.u.sa.sa_family,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		p->fail_err = errno;
		p->fail_why = "socket failed";
		return 0;
	}
	(void)setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));

	sa_set_port(&dst, t->tcp_port);
	nw_clock(&p->tx);
	if (connect(p->fd, &dst.u.sa, dst.len) < 0 && errno != EINPROGRESS) {
		if (errno == ECONNREFUSED) {
			/* refused at once (a local RST): still an answer */
			nw_clock(&p->rx_soon);
			p->soon_how = "rst";
		}
		else {
			p->fail_err = errno;
			p->fail_why = "connect failed";
		}
		return 0;
	}

	err = gw_watch_alloc(&p->w, nw_engine_reactor(t->e), p->fd,
			     GW_FD_WRITE | GW_FD_ERROR, tcp_event, p);
	if (err) {
		p->fail_err = err;
		p->fail_why = "watch failed";
	}

	return 0;
}


/* ---- the target ---- */

static void target_destructor(void *data)
{
	struct nw_target *t = data;

	/* probes still waiting end unreported: their owner is gone */
	while (t->pending.head)
		mem_deref(t->pending.head->data);
	t->expect = mem_deref(t->expect);
	t->uw = mem_deref(t->uw);
	if (t->ufd >= 0)
		close(t->ufd);
	mem_deref(t->e);
}


int nw_target_alloc(struct nw_target **tp, struct nw_engine *e,
		    const struct sa *addr, uint16_t udp_port,
		    uint16_t tcp_port, nw_result_h *h, void *arg)
{
	struct nw_target *t;

	if (!tp || !e || !addr || !h || !sa_isset(addr, SA_ADDR))
		return EINVAL;

	t = mem_zalloc(sizeof(*t), target_destructor);
	if (!t)
		return ENOMEM;
	t->e = mem_ref(e);
	t->addr = *addr;
	sa_set_port(&t->addr, 0);
	t->udp_port = udp_port;
	t->tcp_port = tcp_port;
	t->h = h;
	t->arg = arg;
	t->ufd = -1;
	*tp = t;

	return 0;
}


const struct sa *nw_target_addr(const struct nw_target *t)
{
	return &t->addr;
}


uint32_t nw_target_probed(const struct nw_target *t)
{
	return t->n;
}


unsigned nw_target_pending(const struct nw_target *t)
{
	return list_count(&t->pending);
}


int nw_target_probe(struct nw_target *t, enum nw_method m,
		    uint64_t timeout_ms)
{
	struct nw_probe *p;
	int err;

	if (!t || m >= NW_M_N)
		return EINVAL;
	if (m == NW_M_ICMP &&
	    nw_engine_icmp(t->e, t->addr.u.sa.sa_family) == NW_ICMP_NONE)
		return ENOTSUP;
	if (m == NW_M_TCP && !t->tcp_port)
		return ENOTSUP;

	p = nw_probe_new(t, m);
	if (!p)
		return ENOMEM;

	switch (m) {
	case NW_M_ICMP: err = nw_icmp_send(t->e, p); break;
	case NW_M_UDP:  err = nw_udp_send(t, p); break;
	default:        err = nw_tcp_send(t, p); break;
	}
	if (err) {
		/* the method cannot be used (EPERM...): nothing was sent */
		--t->n;
		mem_deref(p);
		return err;
	}

	nw_probe_arm(p, timeout_ms);

	return 0;
}
