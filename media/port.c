/**
 * @file port.c  RTP/RTCP port pairs from media.rtp_ports
 *
 * RTP takes an even port and RTCP the next one (RFC 3550 §11). Pairs are
 * handed out round-robin from a cursor, so a port just released is not
 * reused at once (late packets of the old call would land in the new
 * one). A pair another process holds is skipped. No pair left is
 * ENOSPC, told apart from a media.bind that is no address of this host
 * (checked at start-up, media_bind_check()).
 */

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/conf.h"
#include "gateway/libre.h"
#include "gateway/log.h"
#include "gateway/reactor.h"
#include "media/media_int.h"


static void mgr_destructor(void *data)
{
	struct media_mgr *mm = data;

	mem_deref(mm->icmp);
	mem_deref(mm->by_pair);
	mem_deref(mm->used);
	mem_deref(mm->r);
}


int media_mgr_alloc(struct media_mgr **mmp, struct gw_reactor *r,
		    const struct gw_conf *conf)
{
	struct media_mgr *mm;
	unsigned first;

	if (!mmp || !r || !conf)
		return EINVAL;

	mm = mem_zalloc(sizeof(*mm), mgr_destructor);
	if (!mm)
		return ENOMEM;

	mm->r = mem_ref(r);
	mm->conf = conf;

	first = conf->media.rtp_ports.first;
	first += first & 1;                 /* RTP on an even port */
	mm->first = (uint16_t)first;
	if (first < conf->media.rtp_ports.last)
		mm->npairs = (conf->media.rtp_ports.last - first + 1) / 2;

	mm->used = mem_zalloc(mm->npairs ? mm->npairs : 1, NULL);
	mm->by_pair = mem_zalloc((mm->npairs ? mm->npairs : 1) *
				 sizeof(*mm->by_pair), NULL);
	if (!mm->used || !mm->by_pair ||
	    media_icmp_alloc(mm)) {
		mem_deref(mm);
		return ENOMEM;
	}

	*mmp = mm;

	return 0;
}


void media_mgr_ports(const struct media_mgr *mm, unsigned *used,
		     unsigned *total)
{
	if (used)
		*used = mm ? mm->nused * 2 : 0;
	if (total)
		*total = mm ? mm->npairs * 2 : 0;
}


int media_port_bind(const struct sa *laddr, uint16_t port, int *fdp,
		    int *recverr_err)
{
	struct sa a = *laddr;
	int fd, on = 1;
	bool ok;

	sa_set_port(&a, port);

	fd = socket(sa_af(&a), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;

	/* ICMP errors our RTP provokes are queued, not lost (icmp_io.c);
	 * a dual-stack IPv6 socket gets ICMPv4 errors through IP_RECVERR */
	ok = !setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
	if (sa_af(&a) == AF_INET6)
		ok &= !setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on,
				  sizeof(on));
	if (!ok && recverr_err)
		*recverr_err = errno;

	if (bind(fd, &a.u.sa, a.len)) {
		int err = errno;
		close(fd);
		return err;
	}

	*fdp = fd;

	return 0;
}


/* Said once per media plane: the error queue is how this host's dead
 * peers are found when the raw ICMP intake is not running */
static void recverr_warn(struct media_mgr *mm, int err)
{
	if (mm->recverr_logged)
		return;
	mm->recverr_logged = true;
	gw_log(GW_LOG_WARN, "media", "media_recverr_failed",
	       GW_FIELDS(GW_FERR(err)),
	       "setsockopt(IP_RECVERR) failed on an RTP socket: ICMP errors "
	       "about its packets are not queued, so a dead peer is found "
	       "only by the raw ICMP intake or the RTP timeout");
}


int media_port_take(struct media_mgr *mm, const struct sa *laddr,
		    uint16_t *portp, int fds[2])
{
	/* every free pair is tried once; a pair another process holds is
	 * passed over, any other bind error ends the search at once */
	for (unsigned n = 0; n < mm->npairs && mm->nused < mm->npairs; n++) {
		unsigned i = (mm->cursor + n) % mm->npairs;
		uint16_t port = (uint16_t)(mm->first + 2 * i);
		int recverr = 0, err;

		if (mm->used[i])
			continue;

		err = media_port_bind(laddr, port, &fds[0], &recverr);
		if (!err) {
			err = media_port_bind(laddr, (uint16_t)(port + 1),
					      &fds[1], &recverr);
			if (err)
				close(fds[0]);
		}
		if (err == EADDRINUSE)
			continue;
		if (err)
			return err;
		if (recverr)
			recverr_warn(mm, recverr);

		mm->used[i] = 1;
		++mm->nused;
		mm->cursor = (i + 1) % mm->npairs;
		*portp = port;
		return 0;
	}

	return ENOSPC;
}


int media_bind_check(const struct gw_conf *conf)
{
	const struct sa *b = &conf->media.bind;
	char addr[64];
	int fd, err;

	if (!sa_isset(b, SA_ADDR))
		return 0;

	err = media_port_bind(b, 0, &fd, NULL);
	if (!err) {
		close(fd);
		return 0;
	}

	re_snprintf(addr, sizeof(addr), "%j", b);
	gw_log(GW_LOG_ERROR, "media", "media_bind_unusable",
	       GW_FIELDS(GW_FS("bind", addr), GW_FERR(err)),
	       "media.bind %s cannot take RTP sockets (%s): it must be an "
	       "address of this host", addr, strerror(err));

	return err;
}


void media_port_give(struct media_mgr *mm, uint16_t port)
{
	unsigned i;

	if (port < mm->first)
		return;

	i = (unsigned)(port - mm->first) / 2;
	if (i < mm->npairs && mm->used[i]) {
		mm->used[i] = 0;
		--mm->nused;
	}
}
