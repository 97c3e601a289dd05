/**
 * @file prober.c  The probe engine: one ICMP socket per family, echo
 *                 requests and their replies, kernel timestamps
 *
 * Echo requests (RFC 792, RFC 4443 §4.1) carry the engine's identifier,
 * a 16-bit sequence number that indexes a ring of in-flight probes (as
 * dpinger keeps its slots) and an 8-byte random cookie. A reply counts
 * only when its slot holds a probe with that sequence, the cookie is
 * ours and it comes from the address the request went to, so concurrent
 * probes, other ping programs on the host and forged replies can never
 * answer for each other.
 */

#include <errno.h>
#include <time.h>
#include <linux/errqueue.h>
#include <linux/icmp.h>
#include <linux/net_tstamp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/libre.h"
#include <re_sys.h>
#include "gateway/log.h"
#include "gateway/reactor.h"
#include "netwatch/prober_int.h"
#include "netwatch/sched.h"
#include "gateway/inet.h"
#include "netwatch/wire.h"

enum {
	SLOTS = 16384,                /**< echo requests in flight, per family */
	GRID_MS = 10,                 /**< timeouts are told this late at most */
	V4_ECHOREPLY = 0,
};

struct icmp_sock {
	struct nw_engine *e;
	int family;
	int fd;
	struct gw_watch *w;
	enum nw_icmp_kind kind;
	uint16_t ident;               /**< raw only: the kernel sets a ping
				           socket's */
	uint16_t next_seq;
	struct nw_probe **slots;
	struct nw_tsq tsq;
	char why[200];                /**< why ICMP is unavailable */
};

struct nw_engine {
	struct gw_reactor *r;
	struct media_mgr *mm;
	struct icmp_sock v4, v6;
	struct list inflight;         /**< every probe, by deadline */
	struct nw_sched *sweep;
	uint64_t in_flight, stray;
};


const char *nw_method_name(enum nw_method m)
{
	switch (m) {
	case NW_M_ICMP: return "icmp";
	case NW_M_UDP:  return "udp";
	case NW_M_TCP:  return "tcp";
	default:        return "?";
	}
}


const char *nw_icmp_kind_name(enum nw_icmp_kind k)
{
	switch (k) {
	case NW_ICMP_PING: return "ping";
	case NW_ICMP_RAW:  return "raw";
	default:           return "none";
	}
}


void nw_clock(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);   /* the kernel stamps' clock */
}


/* Receive stamps (SO_TIMESTAMPNS) and transmit stamps taken as the packet
 * is handed to the device, before any capture tap sees it (TX_SCHED: the
 * driver's TX_SOFTWARE stamp comes after the tap has delivered its copy,
 * microseconds later when a capture reader must be woken); a socket that
 * refuses either still probes, on the clock read beside the call */
void nw_stamps_enable(int fd)
{
	int on = 1;
	int flags = SOF_TIMESTAMPING_TX_SCHED | SOF_TIMESTAMPING_SOFTWARE |
		SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;

	(void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	(void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags,
			 sizeof(flags));
}


bool nw_rx_stamp(struct msghdr *msg, struct timespec *ts)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c;
	     c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_TIMESTAMPNS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(*ts))) {
			memcpy(ts, CMSG_DATA(c), sizeof(*ts));
			return ts->tv_sec != 0;
		}
	}

	return false;
}


bool nw_tx_stamp(struct msghdr *msg, struct timespec *ts)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c;
	     c = CMSG_NXTHDR(msg, c)) {
		struct scm_timestamping st;

		if (c->cmsg_level != SOL_SOCKET ||
		    c->cmsg_type != SCM_TIMESTAMPING ||
		    c->cmsg_len < CMSG_LEN(sizeof(st)))
			continue;
		memcpy(&st, CMSG_DATA(c), sizeof(st));
		*ts = st.ts[0];
		return ts->tv_sec != 0;
	}

	return false;
}


void nw_tsq_sent(struct nw_tsq *q, struct nw_probe *p)
{
	uint32_t key = q->next_key++;
	struct nw_probe **slot = &q->ring[key % NW_TSQ];

	if (*slot)
		(*slot)->keyed = false;   /* its stamp never came */
	*slot = p;
	p->tsq = q;
	p->tskey = key;
	p->keyed = true;
}


void nw_tsq_forget(struct nw_probe *p)
{
	struct nw_probe **slot;

	if (!p->keyed)
		return;
	slot = &p->tsq->ring[p->tskey % NW_TSQ];
	if (*slot == p)
		*slot = NULL;
	p->keyed = false;
}


void nw_tsq_stamp(struct nw_tsq *q, uint32_t key, const struct timespec *ts)
{
	struct nw_probe **slot = &q->ring[key % NW_TSQ];
	struct nw_probe *p = *slot;
	int64_t d;

	if (!p || p->tskey != key)
		return;
	*slot = NULL;
	p->keyed = false;

	/* a stamp must follow the clock read just before sendto(), and
	 * closely: anything else is a key that slipped, not this probe */
	d = (int64_t)(ts->tv_sec - p->tx.tv_sec) * 1000000000 +
		(ts->tv_nsec - p->tx.tv_nsec);
	if (d < 0 || d > 1000000000)
		return;
	p->tx = *ts;
	p->tx_kernel = true;
}


int nw_errqueue_read(int fd, uint8_t *data, size_t size,
		     struct nw_errmsg *m)
{
	union { char buf[512]; struct cmsghdr align; } cbuf;
	struct iovec iov = {data, size};
	struct msghdr msg = {0};
	bool have = false;
	ssize_t n;

	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof(cbuf.buf);
	n = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
	if (n < 0)
		return errno;

	memset(m, 0, sizeof(*m));
	m->len = (size_t)n;
	sa_init(&m->offender, AF_UNSPEC);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
	     c = CMSG_NXTHDR(&msg, c)) {
		if (!((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
		      (c->cmsg_level == SOL_IPV6 &&
		       c->cmsg_type == IPV6_RECVERR)) ||
		    c->cmsg_len < CMSG_LEN(sizeof(m->ee)))
			continue;
		memcpy(&m->ee, CMSG_DATA(c), sizeof(m->ee));
		have = true;
		/* the offender's address follows the error */
		if (c->cmsg_len >= CMSG_LEN(sizeof(m->ee) +
					    sizeof(struct sockaddr)))
			(void)sa_set_sa(&m->offender, SO_EE_OFFENDER(
				(struct sock_extended_err *)CMSG_DATA(c)));
	}
	m->have_tx = nw_tx_stamp(&msg, &m->tx);
	m->have_rx = nw_rx_stamp(&msg, &m->rx);

	return have ? 0 : ENOMSG;
}


/* Drain an ICMP socket's error queue: transmit stamps. A ping socket's
 * ICMP errors (unreachable...) leave the probe to its timeout: the kernel
 * quotes only the header, and loss is what the operator sees anyway */
static void icmp_errqueue(struct icmp_sock *is)
{
	for (int i = 0; i < 256; i++) {
		uint8_t data[512];
		struct nw_errmsg m;
		int err = nw_errqueue_read(is->fd, data, sizeof(data), &m);

		if (err == ENOMSG)
			continue;
		if (err)
			return;
		if (m.ee.ee_origin == SO_EE_ORIGIN_TIMESTAMPING && m.have_tx)
			nw_tsq_stamp(&is->tsq, m.ee.ee_data, &m.tx);
	}
}


static void icmp_reply(struct icmp_sock *is, const uint8_t *buf, size_t len,
		       const struct sa *from, const struct timespec *rx,
		       bool rx_kernel)
{
	struct nw_probe *p;
	struct nw_echo er;

	/* only a raw IPv4 socket hands us the IP header */
	if (!nw_echo_parse(buf, len, is->family == AF_INET6,
			   is->kind == NW_ICMP_RAW && is->family == AF_INET,
			   &er))
		goto stray;
	if (is->kind == NW_ICMP_RAW && er.ident != is->ident)
		return;            /* another program's ping */

	p = is->slots[er.seq % SLOTS];
	if (!p || p->seq != er.seq ||
	    memcmp(er.cookie, p->cookie, NW_COOKIE) ||
	    !sa_cmp(from, nw_target_addr(p->t), SA_ADDR))
		goto stray;

	nw_probe_done(p, true, rx, rx_kernel, "echo reply", NULL);
	return;

 stray:
	++is->e->stray;
}


static void icmp_readable(int fd, int events, void *arg)
{
	struct icmp_sock *is = arg;

	if (events & GW_FD_ERROR)
		icmp_errqueue(is);

	for (int i = 0; i < 256; i++) {
		uint8_t buf[1500];
		union { char buf[256]; struct cmsghdr align; } cbuf;
		struct sockaddr_storage ss;
		struct iovec iov = {buf, sizeof(buf)};
		struct msghdr msg = {0};
		struct timespec rx;
		bool rx_kernel;
		struct sa from;
		ssize_t n;

		msg.msg_name = &ss;
		msg.msg_namelen = sizeof(ss);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = sizeof(cbuf.buf);
		n = recvmsg(fd, &msg, MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				icmp_errqueue(is);
			return;
		}
		rx_kernel = nw_rx_stamp(&msg, &rx);
		if (!rx_kernel)
			nw_clock(&rx);
		if (sa_set_sa(&from, (struct sockaddr *)&ss))
			continue;
		icmp_reply(is, buf, (size_t)n, &from, &rx, rx_kernel);
	}
}


static int open_kind(struct icmp_sock *is, int type)
{
	int proto = is->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	int fd = socket(is->family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	int on = 1;

	if (fd < 0)
		return -1;

	if (is->family == AF_INET)
		(void)setsockopt(fd, SOL_IP, IP_RECVERR, &on, sizeof(on));
	else
		(void)setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &on, sizeof(on));

	if (type == SOCK_RAW && is->family == AF_INET) {
		/* ICMP_FILTER: the bits set are the types dropped */
		struct icmp_filter f = {~(1u << V4_ECHOREPLY)};

		(void)setsockopt(fd, SOL_RAW, ICMP_FILTER, &f, sizeof(f));
	}
	else if (type == SOCK_RAW) {
		struct icmp6_filter f;

		ICMP6_FILTER_SETBLOCKALL(&f);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
		(void)setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f,
				 sizeof(f));
	}
	nw_stamps_enable(fd);

	return fd;
}


static const char *fam_name(int family)
{
	return family == AF_INET ? "ipv4" : "ipv6";
}


/* Ping socket first (no privilege where ping_group_range allows), then
 * raw (CAP_NET_RAW). EACCES from the first is the sysctl, EPERM from the
 * second the missing capability: the hint names the one that applies */
static int icmp_open(struct icmp_sock *is, struct nw_engine *e, int family)
{
	int perr, rerr, err;

	is->e = e;
	is->family = family;
	is->fd = open_kind(is, SOCK_DGRAM);
	if (is->fd >= 0) {
		is->kind = NW_ICMP_PING;
	}
	else {
		perr = errno;
		is->fd = open_kind(is, SOCK_RAW);
		if (is->fd < 0) {
			rerr = errno;
			snprintf(is->why, sizeof(is->why),
				 "ping socket: %s%s; raw socket: %s%s",
				 strerror(perr), perr == EACCES ?
				 " (sysctl net.ipv4.ping_group_range does "
				 "not include our group)" : "",
				 strerror(rerr), rerr == EPERM ?
				 " (needs CAP_NET_RAW: setcap cap_net_raw+ep "
				 "keepline, or run as root)" : "");
			is->kind = NW_ICMP_NONE;
			return 0;
		}
		is->kind = NW_ICMP_RAW;
		is->ident = rand_u16();
	}

	is->slots = mem_zalloc(SLOTS * sizeof(*is->slots), NULL);
	if (!is->slots)
		return ENOMEM;
	is->next_seq = rand_u16();
	err = gw_watch_alloc(&is->w, e->r, is->fd, GW_FD_READ | GW_FD_ERROR,
			     icmp_readable, is);

	return err;
}


void nw_engine_log(const struct nw_engine *e)
{
	const struct icmp_sock *socks[] = {&e->v4, &e->v6};

	for (size_t i = 0; i < 2; i++) {
		const struct icmp_sock *is = socks[i];

		if (!is->family)
			continue;
		if (is->kind != NW_ICMP_NONE) {
			gw_log(GW_LOG_INFO, "netwatch", "icmp_available",
			       GW_FIELDS(GW_FS("family", fam_name(is->family)),
					 GW_FS("method",
					       nw_icmp_kind_name(is->kind))),
			       "ICMP probing available method=%s family=%s",
			       nw_icmp_kind_name(is->kind),
			       fam_name(is->family));
		}
		else {
			gw_log(GW_LOG_WARN, "netwatch", "icmp_unavailable",
			       GW_FIELDS(GW_FS("family", fam_name(is->family)),
					 GW_FS("why", is->why)),
			       "ICMP probing unavailable (insufficient "
			       "permissions), will use UDP family=%s: %s",
			       fam_name(is->family), is->why);
		}
	}
}


/* Every probe whose deadline has come: lost (or its failure told) */
static void sweep(uint64_t now, void *arg)
{
	struct nw_engine *e = arg;

	mem_ref(e);   /* a handler may free its target, and more */
	while (e->inflight.head) {
		struct nw_probe *p = e->inflight.head->data;

		if (p->deadline > now) {
			nw_sched_at(e->sweep, p->deadline);
			break;
		}
		nw_probe_expire(p);
	}
	mem_deref(e);
}


void nw_engine_arm(struct nw_engine *e, struct nw_probe *p)
{
	struct le *le = e->inflight.tail;

	/* mostly at the end: probes of one timeout come in deadline order */
	while (le && ((struct nw_probe *)le->data)->deadline > p->deadline)
		le = le->prev;
	if (le)
		list_insert_after(&e->inflight, le, &p->le_e, p);
	else
		list_prepend(&e->inflight, &p->le_e, p);
	nw_sched_at(e->sweep, p->deadline);
}


static void engine_destructor(void *data)
{
	struct nw_engine *e = data;
	struct icmp_sock *socks[] = {&e->v4, &e->v6};

	mem_deref(e->sweep);
	for (size_t i = 0; i < 2; i++) {
		socks[i]->w = mem_deref(socks[i]->w);
		if (socks[i]->fd >= 0)
			close(socks[i]->fd);
		/* targets free their probes, and outlive no engine */
		socks[i]->slots = mem_deref(socks[i]->slots);
	}
}


int nw_engine_alloc(struct nw_engine **ep, struct gw_reactor *r,
		    struct media_mgr *mm, bool icmp)
{
	struct nw_engine *e;
	int err = 0;

	if (!ep || !r)
		return EINVAL;

	e = mem_zalloc(sizeof(*e), engine_destructor);
	if (!e)
		return ENOMEM;
	e->r = r;
	e->mm = mm;
	e->v4.fd = e->v6.fd = -1;

	err = nw_sched_alloc(&e->sweep, r, GRID_MS, sweep, e);
	if (!err && icmp) {
		err = icmp_open(&e->v4, e, AF_INET);
		if (!err)
			err = icmp_open(&e->v6, e, AF_INET6);
	}

	if (err)
		mem_deref(e);
	else
		*ep = e;

	return err;
}


struct gw_reactor *nw_engine_reactor(const struct nw_engine *e)
{
	return e->r;
}


struct media_mgr *nw_engine_media(const struct nw_engine *e)
{
	return e->mm;
}


static const struct icmp_sock *sock_of(const struct nw_engine *e, int family)
{
	return family == AF_INET ? &e->v4 : &e->v6;
}


enum nw_icmp_kind nw_engine_icmp(const struct nw_engine *e, int family)
{
	return e ? sock_of(e, family)->kind : NW_ICMP_NONE;
}


const char *nw_engine_icmp_why(const struct nw_engine *e, int family)
{
	const struct icmp_sock *is = sock_of(e, family);

	if (is->kind != NW_ICMP_NONE)
		return "";

	return is->family ? is->why : "ICMP probing is not enabled";
}


void nw_engine_counts(const struct nw_engine *e, uint64_t *in_flight,
		      uint64_t *stray)
{
	if (in_flight)
		*in_flight = e->in_flight;
	if (stray)
		*stray = e->stray;
}


void nw_icmp_forget(struct nw_probe *p)
{
	struct icmp_sock *is = p->slot_owner;

	if (!is)
		return;
	if (is->slots[p->seq % SLOTS] == p)
		is->slots[p->seq % SLOTS] = NULL;
	p->slot_owner = NULL;
	--is->e->in_flight;
}


int nw_icmp_send(struct nw_engine *e, struct nw_probe *p)
{
	const struct sa *dst = nw_target_addr(p->t);
	struct icmp_sock *is = dst->u.sa.sa_family == AF_INET ? &e->v4 :
		&e->v6;
	uint8_t pkt[NW_ECHO_LEN];
	ssize_t n;

	if (is->kind == NW_ICMP_NONE)
		return ENOTSUP;

	/* a free slot: in-flight probes keep theirs until they end */
	for (unsigned tries = 0; ; tries++) {
		if (tries == SLOTS) {
			p->fail_why = "too many echo requests in flight";
			p->fail_err = EBUSY;
			return 0;
		}
		p->seq = is->next_seq++;
		if (!is->slots[p->seq % SLOTS])
			break;
	}

	rand_bytes(p->cookie, NW_COOKIE);
	nw_echo_write(pkt, is->family == AF_INET6, is->ident, p->seq,
		      p->cookie, is->kind == NW_ICMP_RAW &&
		      is->family == AF_INET);

	nw_clock(&p->tx);
	n = sendto(is->fd, pkt, sizeof(pkt), 0, &dst->u.sa, dst->len);
	if (n < 0) {
		p->fail_err = errno;
		p->fail_why = "send failed";
		if (errno == EPERM || errno == EACCES)
			return errno;   /* the method, not the path: retry */
		return 0;
	}

	is->slots[p->seq % SLOTS] = p;
	p->slot_owner = is;
	++e->in_flight;
	nw_tsq_sent(&is->tsq, p);

	return 0;
}
