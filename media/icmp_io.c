/**
 * @file icmp_io.c  The two ICMP intakes: socket error queues, raw listeners
 *
 * Error queue (any user): with IP_RECVERR / IPV6_RECVERR the kernel keeps
 * each ICMP error about a datagram the socket sent, with a
 * sock_extended_err (origin, type, code, MTU, offender), the original
 * destination in msg_name and the quoted UDP payload as data (ip(7)).
 *
 * Raw listeners (CAP_NET_RAW): every ICMP/ICMPv6 error reaching the host,
 * filtered in the kernel to the types the judge reads, parsed by
 * icmp_quote.c. They also see errors about packets other sockets sent
 * (probes), and errors the queue would lose when it is full.
 */

#include <errno.h>
#include <time.h>
#include <linux/errqueue.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/conf.h"
#include "gateway/log.h"
#include "gateway/reactor.h"
#include "media/icmp_int.h"

enum {
	QUEUE_MAX = 16,     /**< errors read per wake-up and socket */
	RAW_MAX = 64,       /**< datagrams read per wake-up of a listener */
	RAW_BUF = 1500,
};

static void from_sa(struct sockaddr_storage *ss, const struct sa *sa)
{
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &sa->u, sa->len);
}


void media_icmp_drain(struct media_mgr *mm, int fd, const struct sa *local)
{
	for (int i = 0; i < QUEUE_MAX; i++) {
		uint8_t data[64], ctl[512];
		struct sockaddr_storage dst;
		struct iovec iov = {data, sizeof(data)};
		struct msghdr msg = {
			.msg_name = &dst, .msg_namelen = sizeof(dst),
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl, .msg_controllen = sizeof(ctl),
		};
		ssize_t n;

		memset(&dst, 0, sizeof(dst));
		n = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
		if (n < 0)
			return;

		if (!mm->icmp)
			continue;   /* icmp.enabled off: just empty the queue */

		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
		     c = CMSG_NXTHDR(&msg, c)) {
			const struct sock_extended_err *ee;
			struct icmp_err e;
			int kind, family;

			if (!((c->cmsg_level == SOL_IP &&
			       c->cmsg_type == IP_RECVERR) ||
			      (c->cmsg_level == SOL_IPV6 &&
			       c->cmsg_type == IPV6_RECVERR)))
				continue;
			if (c->cmsg_len < CMSG_LEN(sizeof(*ee)))
				continue;

			ee = (const void *)CMSG_DATA(c);
			if (ee->ee_origin == SO_EE_ORIGIN_ICMP)
				family = AF_INET;
			else if (ee->ee_origin == SO_EE_ORIGIN_ICMP6)
				family = AF_INET6;
			else
				continue;  /* local errors, timestamps */

			kind = icmp_classify(family, ee->ee_type, ee->ee_code);
			if (kind < 0)
				continue;

			memset(&e, 0, sizeof(e));
			e.path = ICMP_PATH_QUEUE;
			e.kind = (enum icmp_kind)kind;
			e.type = ee->ee_type;
			e.code = ee->ee_code;
			e.info = ee->ee_info;
			/* the offender follows the struct in the cmsg */
			if (c->cmsg_len >= CMSG_LEN(sizeof(*ee) +
						     sizeof(struct sockaddr_in6)))
				memcpy(&e.offender, SO_EE_OFFENDER(ee),
				       sizeof(struct sockaddr_in6));
			else if (c->cmsg_len >= CMSG_LEN(sizeof(*ee) +
					sizeof(struct sockaddr_in)))
				memcpy(&e.offender, SO_EE_OFFENDER(ee),
				       sizeof(struct sockaddr_in));
			from_sa(&e.src, local);
			e.dst = dst;
			e.udp_len = -1;
			e.payload = data;
			e.plen = (size_t)n;
			media_icmp_input(mm, &e);
		}
	}
}


static void raw_read(int fd, int events, void *arg, int family)
{
	struct media_mgr *mm = arg;
	(void)events;

	if (!mm->icmp)
		return;

	for (int i = 0; i < RAW_MAX; i++) {
		uint8_t buf[RAW_BUF];
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		struct icmp_err e;
		ssize_t n;
		int err;

		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &flen);
		if (n < 0)
			return;

		if (icmp_echo_input(mm->icmp, buf, (size_t)n, family, &from))
			continue;

		memset(&e, 0, sizeof(e));
		if (family == AF_INET) {
			err = icmp4_parse(&e, buf, (size_t)n);
		}
		else {
			e.offender = from;   /* no IPv6 header on v6 raw */
			err = icmp6_parse(&e, buf, (size_t)n);
		}

		if (err == EBADMSG) {
			gw_log(GW_LOG_DEBUG, "media", "icmp_malformed",
			       GW_FIELDS(GW_FI("bytes", n)),
			       "Malformed ICMP error dropped (%zd bytes)", n);
			continue;
		}
		if (err)
			continue;   /* not a UDP error this module reads */

		media_icmp_input(mm, &e);
	}
}


static void raw4_event(int fd, int events, void *arg)
{
	raw_read(fd, events, arg, AF_INET);
}


static void raw6_event(int fd, int events, void *arg)
{
	raw_read(fd, events, arg, AF_INET6);
}


/* Only the types icmp_classify() reads reach us, and echo replies while
 * a prober waits for some: the host's pings do not wake us otherwise */
static void set_filter(int fd, int family, bool echo)
{
	if (family == AF_INET) {
		/* ICMP_FILTER: a set bit blocks that type */
		struct icmp_filter f = {
			.data = ~((1u << ICMP_DEST_UNREACH) |
				  (1u << ICMP_TIME_EXCEEDED) |
				  (echo ? 1u << ICMP_ECHOREPLY : 0)),
		};
		setsockopt(fd, SOL_RAW, ICMP_FILTER, &f, sizeof(f));
	}
	else {
		struct icmp6_filter f;

		ICMP6_FILTER_SETBLOCKALL(&f);
		ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &f);
		ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &f);
		ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &f);
		if (echo)
			ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
		setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f));
	}
}


void icmp_raw_filter(struct media_icmp *mi, int family)
{
	int fd = mi->raw_fd[family == AF_INET ? 0 : 1];

	if (fd >= 0)
		set_filter(fd, family, icmp_echo_wanted(mi, family));
}


static int raw_socket(int family)
{
	int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
			family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);

	if (fd < 0)
		return -errno;

	set_filter(fd, family, false);

	return fd;
}


void icmp_raw_close(struct media_icmp *mi)
{
	int *fd = mi->raw_fd;
	struct gw_watch **w = mi->raw_w;

	for (int i = 0; i < 2; i++) {
		w[i] = mem_deref(w[i]);
		if (fd[i] >= 0)
			close(fd[i]);
		fd[i] = -1;
	}
}


int icmp_raw_open(struct media_icmp *mi, struct media_mgr *mm)
{
	static const struct {
		int family;
		gw_fd_h *h;
		const char *ok_ev, *ok, *fail_ev, *fail;
	} raw[2] = {
		{AF_INET, raw4_event, "icmp_raw4_started",
		 "IPv4 ICMP listener started successfully", "icmp_raw4_failed",
		 "Failed to create IPv4 ICMP socket (requires CAP_NET_RAW or "
		 "root)"},
		{AF_INET6, raw6_event, "icmp_raw6_started",
		 "IPv6 ICMPv6 listener started successfully",
		 "icmp_raw6_failed",
		 "Failed to create IPv6 ICMPv6 socket (requires CAP_NET_RAW or "
		 "root)"},
	};
	enum gw_tristate want = mm->conf->icmp.raw_listeners;
	int *fd = mi->raw_fd;
	struct gw_watch **w = mi->raw_w;

	if (want == GW_OFF) {
		gw_log(GW_LOG_INFO, "media", "icmp_raw_off", NULL,
		       "ICMP raw listeners off (icmp.raw_listeners), using "
		       "socket error queues");
		return 0;
	}

	for (int i = 0; i < 2; i++) {
		int s = raw_socket(raw[i].family), err;

		if (s < 0) {
			gw_log(want == GW_ON ? GW_LOG_ERROR : GW_LOG_WARN,
			       "media", raw[i].fail_ev,
			       GW_FIELDS(GW_FERR(-s)), "%s", raw[i].fail);
			if (want == GW_ON)
				return -s;
			continue;
		}

		err = gw_watch_alloc(&w[i], mm->r, s, GW_FD_READ, raw[i].h,
				     mm);
		if (err) {
			close(s);
			return err;
		}
		fd[i] = s;
		gw_log(GW_LOG_INFO, "media", raw[i].ok_ev, NULL, "%s",
		       raw[i].ok);
	}

	return 0;
}
