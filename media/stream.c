/**
 * @file stream.c  One leg's RTP and RTCP sockets
 *
 * Symmetric RTP: the first packet from the peer latches the address we
 * send to, whatever its SDP said (peers behind NAT send from elsewhere);
 * packets from any other source are then dropped and counted. A new offer
 * (re-INVITE) unlatches. Packets are read and echoed (or relayed to the
 * other leg of a bridge, unchanged) in batches of up to BATCH with
 * recvmmsg/sendmmsg: one system call each way per wake-up.
 *
 * RTCP has a port of its own (RTP + 1, or a=rtcp) unless the leg
 * negotiated rtcp-mux (RFC 5761): then the RTCP socket is closed and RTCP
 * shares the RTP port, told apart by its packet type (§4). Each packet
 * goes on as what it is: RTCP from a muxed leg reaches a plain one on its
 * RTCP port and back. A peer whose RTCP port refuses our RTCP (ICMP) gets
 * no more RTCP until it sends some itself; its RTP is not touched.
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
#include "media/icmp.h"
#include "media/media_int.h"

enum {
	PROBE_AFTER_MS = 40,          /**< two packets missed at 50/s */
	PROBE_MS = 2,                 /**< silence probe interval */
	PROBE_SPAN_MS = 1500,         /**< and for how long */
	PROBE_GAP_MS = 10000,         /**< at most one run per 10 s */
	BATCH = 32,
	PKT_MAX = 2048,
	RTP_HDR = 12,                 /**< RFC 3550 §5.1 fixed header */
	RTCP_HDR = 8,
};


/* One thread: the batch buffers need not live on every stream. */
static uint8_t bufs[BATCH][PKT_MAX];
static struct sockaddr_storage froms[BATCH];


/* RFC 5761 §4: RTCP packet types 192-223 sit where RTP's marker bit
 * and payload types 64-95 would, which RTP on a shared port never uses */
static bool rtcp_type(const uint8_t *p)
{
	return p[1] >= 192 && p[1] <= 223;
}


static bool is_rtp(const uint8_t *p, size_t len)
{
	return len >= RTP_HDR && (p[0] >> 6) == 2 && !rtcp_type(p);
}


static bool is_rtcp(const uint8_t *p, size_t len)
{
	return len >= RTCP_HDR && (p[0] >> 6) == 2 && rtcp_type(p);
}


/* What arrived on socket which: 0 RTP, 1 RTCP, -1 neither */
static int kind_of(const struct media_stream *ms, int which,
		   const uint8_t *p, size_t len)
{
	if (which == 1)
		return len >= RTCP_HDR ? 1 : -1;
	if (is_rtp(p, len))
		return 0;

	return ms->mux && is_rtcp(p, len) ? 1 : -1;
}


/* The socket RTCP leaves from: the RTP one when muxed; -1 if none */
static int rtcp_sock(const struct media_stream *ms)
{
	return ms->mux ? 0 : ms->fd[1] >= 0 ? 1 : -1;
}


static void sock_to_sa(struct sa *sa, const struct sockaddr_storage *ss)
{
	sa_set_sa(sa, (const struct sockaddr *)ss);
}


static bool can_send(const struct media_stream *ms)
{
	/* RFC 3264 §6.1: no media to a peer that offered sendonly or
	 * inactive (hold) */
	return ms->sends;
}


const struct sa *media_stream_dest(const struct media_stream *ms, int which)
{
	if (which == 1 && ms->mux)
		which = 0;
	if (ms->is_latched[which])
		return &ms->latched[which];

	return which == 0 ? &ms->peer.raddr : &ms->peer.raddr_rtcp;
}


/* The peer's address for RTP may change (latching, a new offer): packets
 * sent to the old one are no longer evidence about the new one. */
void media_stream_peer_moved(struct media_stream *ms, const struct sa *old)
{
	if (sa_cmp(old, media_stream_dest(ms, 0), SA_ALL))
		return;

	++ms->gen;
	media_icmp_moved(ms->mm, old);
}


static void track(struct media_stream *ms, int which, const uint8_t *p,
		  size_t len)
{
	struct media_sent *s = &ms->sent[ms->sent_pos++ % TRACK_N];

	s->len = (uint16_t)len;
	s->which = (uint8_t)which;
	s->gen = ms->gen;
	memcpy(s->head, p, len < TRACK_HEAD ? len : TRACK_HEAD);
}


bool media_stream_sent(const struct media_stream *ms, int which,
		       const uint8_t *payload, size_t plen, int udp_len)
{
	if (!ms || !payload)
		return false;

	for (unsigned i = 0; i < TRACK_N; i++) {
		const struct media_sent *s = &ms->sent[i];
		size_t n = plen < TRACK_HEAD ? plen : TRACK_HEAD;

		if (!s->len || s->which != which || s->gen != ms->gen)
			continue;
		if (udp_len >= 0 && (size_t)udp_len != s->len + 8u)
			continue;
		if (n > s->len)
			continue;   /* quotes more than we sent */
		if (!memcmp(s->head, payload, n))
			return true;
	}

	return false;
}


/*
 * A peer that went quiet while we still send it media may be dead; if its
 * host is also spending its ICMP errors on other traffic (about one a
 * second once the burst is gone, media_icmp_contended()), the error that
 * would prove it goes to whichever packet reaches that host first after
 * the limiter allows one more. Repeating the 12-byte header of our last
 * RTP packet every PROBE_MS makes that nearly always ours. A live peer
 * drops the repeats: same SSRC and sequence number, a duplicate
 * (RFC 3550 §A.1). One probe run per silence, from PROBE_AFTER_MS of
 * it, PROBE_SPAN_MS at most.
 */
static void probe_fire(void *arg)
{
	struct media_stream *ms = arg;
	const struct media_sent *last = NULL;
	const struct sa *dst = media_stream_dest(ms, 0);
	uint8_t head[RTP_HDR];

	for (unsigned i = 1; i <= TRACK_N && !last; i++) {
		const struct media_sent *s =
			&ms->sent[(uint8_t)(ms->sent_pos - i) % TRACK_N];

		if (s->which == 0 && s->gen == ms->gen &&
		    is_rtp(s->head, s->len))
			last = s;
	}

	/* RTP came back, time is up, or nothing to repeat: stop */
	if (!last || ms->last_rx != ms->probed_rx ||
	    gw_now_ms() >= ms->probe_end)
		return;

	memcpy(head, last->head, RTP_HDR);
	if (sendto(ms->fd[0], head, RTP_HDR, MSG_DONTWAIT, &dst->u.sa,
		   dst->len) == RTP_HDR)
		track(ms, 0, head, RTP_HDR);

	gw_timer_start(ms->probe, PROBE_MS, probe_fire, ms);
}


static void probe_check(struct media_stream *ms, uint64_t now)
{
	/* confirm_silence 0 turns off the confirmation the probe serves */
	if (!ms->mm->conf->icmp.enabled ||
	    !ms->mm->conf->icmp.confirm_silence ||
	    !ms->last_rx || ms->probed_rx == ms->last_rx ||
	    now - ms->last_rx < PROBE_AFTER_MS || !ms->peer.peer_sends)
		return;
	/* forged errors could mark a host busy: a peer that pauses often
	 * (DTX) is still probed at most once in PROBE_GAP_MS */
	if (ms->probe_end && now < ms->probe_end + PROBE_GAP_MS)
		return;
	if (!media_icmp_contended(ms->mm, media_stream_dest(ms, 0)))
		return;
	if (!ms->probe && gw_timer_alloc(&ms->probe, ms->mm->r))
		return;

	ms->probed_rx = ms->last_rx;
	ms->probe_end = now + PROBE_SPAN_MS;
	gw_timer_start(ms->probe, 0, probe_fire, ms);
}


static void stream_errors(struct media_stream *ms, int which);


/* Did this datagram come from the latched address? (per packet: no
 * conversion, no library call) */
static bool from_latched(const struct sa *l, const struct sockaddr_storage *ss)
{
	if (l->u.sa.sa_family != ss->ss_family)
		return false;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = &l->u.in;
		const struct sockaddr_in *b = (const void *)ss;

		return a->sin_port == b->sin_port &&
			a->sin_addr.s_addr == b->sin_addr.s_addr;
	}
	else {
		const struct sockaddr_in6 *a = &l->u.in6;
		const struct sockaddr_in6 *b = (const void *)ss;

		return a->sin6_port == b->sin6_port &&
			!memcmp(&a->sin6_addr, &b->sin6_addr,
				sizeof(a->sin6_addr));
	}
}


/* The receive batch points at the static buffers once and for all; a read
 * only changes msg_namelen (and msg_len), put back after each batch. */
static struct mmsghdr *batch(void)
{
	static struct mmsghdr msgs[BATCH];
	static struct iovec iov[BATCH];
	static bool ready;

	if (!ready) {
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){bufs[i], PKT_MAX};
			msgs[i].msg_hdr = (struct msghdr){
				.msg_name = &froms[i],
				.msg_namelen = sizeof(froms[i]),
				.msg_iov = &iov[i], .msg_iovlen = 1,
			};
		}
		ready = true;
	}

	return msgs;
}


/* Packets of one kind (0 RTP, 1 RTCP) for one destination */
struct out {
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	unsigned n;
	const struct sa *dst;
};


/* Where packets of this kind go from leg to, if anywhere */
static const struct sa *out_dest(const struct media_stream *to, int kind)
{
	const struct sa *d;

	/* RTP stops while the peer is on hold; RTCP goes on (RFC 3264
	 * §5.1), unless its port refused it */
	if (kind == 0 ? !can_send(to) : to->rtcp_off || rtcp_sock(to) < 0)
		return NULL;

	d = media_stream_dest(to, kind);

	return sa_isset(d, SA_ALL) ? d : NULL;
}


static void out_add(struct out *o, const struct media_stream *to, int kind,
		    uint8_t *p, size_t len)
{
	/* resolved after latching: an echo goes where RTP came from */
	if (!o->dst)
		o->dst = out_dest(to, kind);
	if (!o->dst)
		return;

	/* the packet goes on unchanged: payload, SSRC, sequence */
	o->iov[o->n] = (struct iovec){p, len};
	o->m[o->n].msg_hdr = (struct msghdr){
		.msg_name = (void *)&o->dst->u.sa, .msg_namelen = o->dst->len,
		.msg_iov = &o->iov[o->n], .msg_iovlen = 1,
	};
	++o->n;
}


/* from the sending leg's own socket: symmetric for its peer */
static void out_send(struct out *o, struct media_stream *to, int kind,
		     uint64_t now)
{
	int which = kind == 0 ? 0 : rtcp_sock(to);
	int sent;

	if (!o->n)
		return;

	sent = sendmmsg(to->fd[which], o->m, o->n, MSG_DONTWAIT);
	if (sent > 0 && kind == 0)
		probe_check(to, now);
	for (int i = 0; i < sent; i++) {
		track(to, which, o->iov[i].iov_base, o->m[i].msg_len);
		if (kind == 0) {
			++to->st.tx_pkts;
			to->st.tx_bytes += o->m[i].msg_len;
		}
		else {
			++to->st.rtcp_tx;
		}
	}
}


static void rtcp_resumed(struct media_stream *ms)
{
	char peer[64];

	ms->rtcp_off = false;
	re_snprintf(peer, sizeof(peer), "%J", media_stream_dest(ms, 1));
	gw_log(GW_LOG_INFO, "media", "rtcp_resumed",
	       GW_FIELDS(GW_FS("call_id", ms->label ? ms->label : "?"),
			 GW_FS("peer", peer)),
	       "RTCP from %s: sending it RTCP again", peer);
}


/* Read one batch: relay or echo what is RTP or RTCP from the peer */
static int stream_batch(struct media_stream *ms, int which)
{
	struct mmsghdr *msgs = batch();
	struct media_stream *to = ms->echo ? ms : ms->relay;
	struct out out[2];
	uint64_t now;
	int n;

	n = recvmmsg(ms->fd[which], msgs, BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return n;

	out[0].n = out[1].n = 0;
	out[0].dst = out[1].dst = NULL;
	now = gw_now_ms();
	for (int i = 0; i < n; i++) {
		size_t len = msgs[i].msg_len;
		int kind = kind_of(ms, which, bufs[i], len);

		msgs[i].msg_hdr.msg_namelen = sizeof(froms[i]);

		if (kind < 0) {
			++ms->st.rx_bad;
			continue;
		}

		if (!ms->is_latched[which]) {
			struct sa old = *media_stream_dest(ms, 0);

			sock_to_sa(&ms->latched[which], &froms[i]);
			ms->is_latched[which] = true;
			media_stream_peer_moved(ms, &old);
		}
		else if (!from_latched(&ms->latched[which], &froms[i])) {
			++ms->st.rx_bad;
			continue;
		}

		ms->last_rx = now;
		if (ms->mm->icmp_records) {
			struct sa from;

			sock_to_sa(&from, &froms[i]);
			media_icmp_alive(ms->mm, &from);
		}
		if (kind == 0) {
			++ms->st.rx_pkts;
			ms->st.rx_bytes += len;
		}
		else {
			++ms->st.rtcp_rx;
			if (ms->rtcp_off)
				rtcp_resumed(ms);
		}

		if (to)
			out_add(&out[kind], to, kind, bufs[i], len);
	}

	if (to) {
		out_send(&out[0], to, 0, now);
		out_send(&out[1], to, 1, now);
	}

	return n;
}


static void stream_read(struct media_stream *ms, int which)
{
	int n = stream_batch(ms, which);

	/* with IP_RECVERR a read reports a queued ICMP error once
	 * (ECONNREFUSED...): the error is in the queue, read it */
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		stream_errors(ms, which);
}


/* ICMP errors our packets provoked wait in the error queue (IP_RECVERR) */
static void stream_errors(struct media_stream *ms, int which)
{
	struct sa local = ms->laddr;

	sa_set_port(&local, (uint16_t)(ms->port + which));
	media_icmp_drain(ms->mm, ms->fd[which], &local);
}


static void rtp_event(int fd, int events, void *arg)
{
	struct media_stream *ms = arg;

	(void)fd;
	if (events & GW_FD_ERROR)
		stream_errors(ms, 0);
	if (events & GW_FD_READ)
		stream_read(ms, 0);
}


static void rtcp_event(int fd, int events, void *arg)
{
	struct media_stream *ms = arg;

	(void)fd;
	if (events & GW_FD_ERROR)
		stream_errors(ms, 1);
	if (events & GW_FD_READ)
		stream_read(ms, 1);
}


static void silence_check(void *arg)
{
	struct media_stream *ms = arg;
	uint64_t timeout = ms->mm->conf->media.rtp_timeout;
	uint64_t since = ms->last_rx ? ms->last_rx : ms->created;
	uint64_t now = gw_now_ms();

	/* a peer on hold (sendonly from us, inactive) sends nothing: that
	 * silence is expected, RFC 3264 §8.4 */
	if (!ms->peer.peer_sends || now - since < timeout) {
		uint64_t left = ms->peer.peer_sends ? timeout - (now - since) :
			timeout;
		gw_timer_start(ms->silence, left, silence_check, ms);
		return;
	}

	/* last touch of ms: the handler may free it */
	ms->endh(ms, MEDIA_END_RTP_TIMEOUT, ms->arg);
}


static void stream_destructor(void *data)
{
	struct media_stream *ms = data;

	if (ms->relay)
		ms->relay->relay = NULL;
	list_unlink(&ms->le);
	if (ms->port && ms->mm->by_pair[(ms->port - ms->mm->first) / 2] == ms)
		ms->mm->by_pair[(ms->port - ms->mm->first) / 2] = NULL;
	mem_deref(ms->silence);
	mem_deref(ms->probe);
	for (int i = 0; i < 2; i++) {
		mem_deref(ms->w[i]);
		if (ms->fd[i] >= 0)
			close(ms->fd[i]);
	}
	if (ms->port)
		media_port_give(ms->mm, ms->port);
	mem_deref(ms->sdp);
	mem_deref(ms->pending);
	mem_deref(ms->mm);
}


static void end_nop(struct media_stream *ms, enum media_end_reason r,
		    void *arg)
{
	(void)ms;
	(void)r;
	(void)arg;
}


int media_stream_alloc(struct media_stream **msp, struct media_mgr *mm,
		       const struct sa *laddr, media_end_h *endh, void *arg)
{
	struct media_stream *ms;
	int err;

	if (!msp || !mm || !laddr)
		return EINVAL;

	ms = mem_zalloc(sizeof(*ms), stream_destructor);
	if (!ms)
		return ENOMEM;

	ms->fd[0] = ms->fd[1] = -1;
	ms->mm = mem_ref(mm);
	ms->endh = endh ? endh : end_nop;
	ms->arg = arg;
	ms->created = gw_now_ms();
	ms->peer.peer_sends = true;
	ms->peer.peer_receives = true;
	ms->sends = true;

	err = media_port_take(mm, laddr, &ms->port, ms->fd);
	if (err)
		goto out;

	ms->laddr = *laddr;
	sa_set_port(&ms->laddr, ms->port);
	ms->sdp_addr = sa_isset(&mm->conf->media.public_address, SA_ADDR) ?
		mm->conf->media.public_address : ms->laddr;
	sa_set_port(&ms->sdp_addr, ms->port);
	mm->by_pair[(ms->port - mm->first) / 2] = ms;
	list_append(&mm->streams, &ms->le, ms);

	err = gw_watch_alloc(&ms->w[0], mm->r, ms->fd[0],
			     GW_FD_READ | GW_FD_ERROR, rtp_event, ms);
	if (!err)
		err = gw_watch_alloc(&ms->w[1], mm->r, ms->fd[1],
				     GW_FD_READ | GW_FD_ERROR, rtcp_event, ms);
	if (!err)
		err = gw_timer_alloc(&ms->silence, mm->r);
	if (!err)
		err = gw_timer_start(ms->silence,
				     mm->conf->media.rtp_timeout,
				     silence_check, ms);

 out:
	if (err)
		mem_deref(ms);
	else
		*msp = ms;

	return err;
}


/* RFC 5761 §5.1.1: once both sides agreed, RTCP shares the RTP port and
 * the RTCP socket goes (its port stays ours); an offer without rtcp-mux
 * later brings it back */
void media_stream_set_mux(struct media_stream *ms, bool on)
{
	int err;

	if (on == ms->mux)
		return;

	ms->mux = on;
	ms->is_latched[1] = false;
	if (on) {
		ms->w[1] = mem_deref(ms->w[1]);
		close(ms->fd[1]);
		ms->fd[1] = -1;
		return;
	}

	err = media_port_bind(&ms->laddr, (uint16_t)(ms->port + 1), &ms->fd[1],
			      NULL);
	if (!err)
		err = gw_watch_alloc(&ms->w[1], ms->mm->r, ms->fd[1],
				     GW_FD_READ | GW_FD_ERROR, rtcp_event, ms);
	if (!err)
		return;

	gw_log(GW_LOG_WARN, "media", "rtcp_port_failed",
	       GW_FIELDS(GW_FS("call_id", ms->label ? ms->label : "?"),
			 GW_FU("port", ms->port + 1u), GW_FERR(err)),
	       "RTCP port %u could not be bound again after rtcp-mux was "
	       "dropped: this leg carries no RTCP", ms->port + 1u);
	if (ms->fd[1] >= 0)
		close(ms->fd[1]);
	ms->fd[1] = -1;
}


void media_stream_watch_silence(struct media_stream *ms)
{
	if (!ms)
		return;

	ms->last_rx = gw_now_ms();
	gw_timer_start(ms->silence, ms->mm->conf->media.rtp_timeout,
		       silence_check, ms);
}


void media_stream_relay(struct media_stream *a, struct media_stream *b)
{
	if (a)
		a->relay = b;
	if (b)
		b->relay = a;
}


void media_stream_set_label(struct media_stream *ms, const char *label)
{
	if (ms)
		ms->label = label;
}


void media_stream_echo(struct media_stream *ms, bool on)
{
	if (ms)
		ms->echo = on;
}


void media_stream_stats(const struct media_stream *ms, struct media_stats *st)
{
	if (ms && st)
		*st = ms->st;
}


const struct sa *media_stream_laddr(const struct media_stream *ms)
{
	return ms ? &ms->laddr : NULL;
}


void media_stream_describe(const struct media_stream *ms, struct odict *o)
{
	char buf[64];

	re_snprintf(buf, sizeof(buf), "%J", &ms->laddr);
	odict_entry_add(o, "local", ODICT_STRING, buf);
	re_snprintf(buf, sizeof(buf), "%J", &ms->peer.raddr);
	odict_entry_add(o, "remote_sdp", ODICT_STRING, buf);
	if (ms->is_latched[0]) {
		re_snprintf(buf, sizeof(buf), "%J", &ms->latched[0]);
		odict_entry_add(o, "remote", ODICT_STRING, buf);
	}
	odict_entry_add(o, "rx_packets", ODICT_INT, (int64_t)ms->st.rx_pkts);
	odict_entry_add(o, "rx_bytes", ODICT_INT, (int64_t)ms->st.rx_bytes);
	odict_entry_add(o, "tx_packets", ODICT_INT, (int64_t)ms->st.tx_pkts);
	odict_entry_add(o, "tx_bytes", ODICT_INT, (int64_t)ms->st.tx_bytes);
	odict_entry_add(o, "rtcp_mux", ODICT_BOOL, ms->mux);
	if (ms->fd[1] >= 0) {
		struct sa l = ms->laddr;

		sa_set_port(&l, (uint16_t)(ms->port + 1));
		re_snprintf(buf, sizeof(buf), "%J", &l);
		odict_entry_add(o, "rtcp_local", ODICT_STRING, buf);
	}
	re_snprintf(buf, sizeof(buf), "%J", media_stream_dest(ms, 1));
	odict_entry_add(o, "rtcp_remote", ODICT_STRING, buf);
	odict_entry_add(o, "rtcp_sending", ODICT_BOOL, !ms->rtcp_off);
	odict_entry_add(o, "rtcp_rx", ODICT_INT, (int64_t)ms->st.rtcp_rx);
	odict_entry_add(o, "rtcp_tx", ODICT_INT, (int64_t)ms->st.rtcp_tx);
	odict_entry_add(o, "dropped", ODICT_INT, (int64_t)ms->st.rx_bad);
	odict_entry_add(o, "direction", ODICT_STRING,
			media_stream_direction(ms));
}


const char *media_stream_direction(const struct media_stream *ms)
{
	if (!ms)
		return "-";

	return ms->peer.peer_sends ?
		(ms->peer.peer_receives ? "sendrecv" : "sendonly") :
		(ms->peer.peer_receives ? "recvonly" : "inactive");
}


const char *media_end_reason_name(enum media_end_reason r)
{
	switch (r) {
	case MEDIA_END_RTP_TIMEOUT: return "rtp_timeout";
	case MEDIA_END_ICMP:        return "icmp";
	default:                    return "?";
	}
}


bool media_stream_has_rtcp_port(const struct media_stream *ms)
{
	return ms->fd[1] >= 0;
}


void media_stream_rtcp_refused(struct media_stream *ms)
{
	char peer[64];

	if (ms->rtcp_off)
		return;

	ms->rtcp_off = true;
	if (ms->rtcp_logged)
		return;

	/* once per leg: a peer that never opens RTCP is common and fine */
	ms->rtcp_logged = true;
	re_snprintf(peer, sizeof(peer), "%J", media_stream_dest(ms, 1));
	gw_log(GW_LOG_INFO, "media", "rtcp_unreachable",
	       GW_FIELDS(GW_FS("call_id", ms->label ? ms->label : "?"),
			 GW_FS("peer", peer)),
	       "RTCP port %s of the peer is closed: RTCP to it stopped, RTP "
	       "goes on", peer);
}
