/**
 * @file test_icmp.c  The ICMP quote parser and the dead-peer judge
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/conf.h"
#include "gateway/libre.h"
#include "gateway/reactor.h"
#include "media/icmp_int.h"
#include "tests/unit/unit.h"

static const uint8_t rtp[12] = {0x80, 0x00, 0x12, 0x34, 0, 0, 0, 160,
				0xde, 0xad, 0xbe, 0xef};
/* an empty receiver report (RFC 3550 §6.4.2), SSRC 0xfeedface */
static const uint8_t rtcp_rr[8] = {0x80, 201, 0x00, 0x01,
				   0xfe, 0xed, 0xfa, 0xce};


static size_t put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}


typedef int (parse_h)(struct icmp_err *e, const uint8_t *p, size_t len);


/* Every truncation of a packet whose headers take hdrs bytes: EBADMSG
 * until the UDP header is whole, then a shorter payload; never a read
 * past the end (each cut is an exact-size heap copy: ASan watches) */
static int truncations(parse_h *parse, const uint8_t *b, size_t n,
		       size_t hdrs)
{
	for (size_t cut = 0; cut < n; cut++) {
		uint8_t *copy = mem_alloc(cut ? cut : 1, NULL);
		struct icmp_err e;
		int r;

		if (!copy)
			return ENOMEM;
		memcpy(copy, b, cut);
		r = parse(&e, copy, cut);
		mem_deref(copy);
		if (cut < hdrs ? r != EBADMSG : (r || e.plen != cut - hdrs)) {
			fprintf(stderr, "cut at %zu of %zu: %d\n", cut, n, r);
			return EPROTO;
		}
	}

	return 0;
}


/* outer IPv4 | ICMP type/code | quoted IPv4 (ihl words) | UDP | payload */
static size_t icmp4(uint8_t *b, uint8_t type, uint8_t code, unsigned qihl,
		    uint8_t qproto, uint16_t udplen, const uint8_t *pl,
		    size_t plen)
{
	size_t n = 0, q;

	memset(b, 0, 256);
	b[0] = 0x45;
	b[9] = IPPROTO_ICMP;
	memcpy(b + 12, "\xc0\x00\x02\x63", 4);   /* offender 192.0.2.99 */
	memcpy(b + 16, "\xc0\x00\x02\x01", 4);
	n = 20;
	b[n] = type;
	b[n + 1] = code;
	put16(b + n + 6, 1280);                  /* MTU if frag needed */
	n += 8;
	q = n;
	b[q] = (uint8_t)(0x40 | qihl);
	b[q + 9] = qproto;
	memcpy(b + q + 12, "\xc0\x00\x02\x01", 4);  /* us */
	memcpy(b + q + 16, "\xc0\x00\x02\x63", 4);  /* the peer */
	n += qihl * 4;
	put16(b + n, 30000);
	put16(b + n + 2, 4000);
	put16(b + n + 4, udplen);
	n += 8;
	if (plen)
		memcpy(b + n, pl, plen);
	n += plen;
	put16(b + 2, (uint16_t)n);

	return n;
}


int test_icmp_parse_v4(void)
{
	uint8_t b[256];
	struct icmp_err e;
	size_t n;
	int err = 0;

	/* a port-unreachable quoting our RTP, inner header with options */
	n = icmp4(b, 3, 3, 6, IPPROTO_UDP, 20, rtp, sizeof(rtp));
	TEST_ERR(icmp4_parse(&e, b, n));
	TEST_EQUALS(ICMP_KIND_PORT_UNREACH, e.kind);
	TEST_EQUALS(30000, ntohs(((struct sockaddr_in *)&e.src)->sin_port));
	TEST_EQUALS(4000, ntohs(((struct sockaddr_in *)&e.dst)->sin_port));
	TEST_EQUALS(htonl(0xc0000263),
		    ((struct sockaddr_in *)&e.offender)->sin_addr.s_addr);
	TEST_EQUALS(20, e.udp_len);
	TEST_EQUALS(12, e.plen);
	TEST_ASSERT(!memcmp(e.payload, rtp, 12));

	TEST_ERR(truncations(icmp4_parse, b, n, 20 + 8 + 24 + 8));

	/* a router's 8-byte quote: no payload */
	n = icmp4(b, 3, 3, 5, IPPROTO_UDP, 172, NULL, 0);
	TEST_ERR(icmp4_parse(&e, b, n));
	TEST_EQUALS(0, e.plen);
	TEST_EQUALS(172, e.udp_len);

	/* a quote longer than the datagram it claims: payload capped */
	n = icmp4(b, 3, 3, 5, IPPROTO_UDP, 12, rtp, sizeof(rtp));
	TEST_ERR(icmp4_parse(&e, b, n));
	TEST_EQUALS(4, e.plen);

	/* IHL beyond the packet, outer and inner */
	n = icmp4(b, 3, 3, 5, IPPROTO_UDP, 20, rtp, sizeof(rtp));
	b[0] = 0x4f;
	TEST_EQUALS(EBADMSG, icmp4_parse(&e, b, 40));
	n = icmp4(b, 3, 3, 15, IPPROTO_UDP, 20, NULL, 0);
	TEST_EQUALS(EBADMSG, icmp4_parse(&e, b, 20 + 8 + 40));
	/* IHL below the minimum */
	n = icmp4(b, 3, 3, 5, IPPROTO_UDP, 20, rtp, sizeof(rtp));
	b[28] = 0x44;
	TEST_EQUALS(EBADMSG, icmp4_parse(&e, b, n));
	/* not IPv4 inside */
	b[28] = 0x65;
	TEST_EQUALS(EBADMSG, icmp4_parse(&e, b, n));

	/* not UDP, a later fragment, not an error type */
	n = icmp4(b, 3, 3, 5, IPPROTO_TCP, 20, rtp, sizeof(rtp));
	TEST_EQUALS(ENOTSUP, icmp4_parse(&e, b, n));
	n = icmp4(b, 3, 3, 5, IPPROTO_UDP, 20, rtp, sizeof(rtp));
	put16(b + 28 + 6, 0x0010);
	TEST_EQUALS(ENOTSUP, icmp4_parse(&e, b, n));
	n = icmp4(b, 0, 0, 5, IPPROTO_UDP, 20, rtp, sizeof(rtp));
	TEST_EQUALS(ENOTSUP, icmp4_parse(&e, b, n));

	/* fragmentation needed carries the MTU; time exceeded is read */
	n = icmp4(b, 3, 4, 5, IPPROTO_UDP, 20, rtp, sizeof(rtp));
	TEST_ERR(icmp4_parse(&e, b, n));
	TEST_EQUALS(ICMP_KIND_FRAG_NEEDED, e.kind);
	TEST_EQUALS(1280, e.info);
	n = icmp4(b, 11, 0, 5, IPPROTO_UDP, 20, rtp, sizeof(rtp));
	TEST_ERR(icmp4_parse(&e, b, n));
	TEST_EQUALS(ICMP_KIND_TIME_EXCEEDED, e.kind);

 out:
	return err;
}


/* ICMPv6 | quoted IPv6 | extension headers | UDP | payload */
static size_t icmp6(uint8_t *b, uint8_t type, uint8_t code,
		    const uint8_t *ext, size_t extlen, uint8_t first,
		    const uint8_t *pl, size_t plen)
{
	size_t n;

	memset(b, 0, 512);
	b[0] = type;
	b[1] = code;
	b[6] = 0x05;                       /* MTU 1280 if packet too big */
	b[7] = 0x00;
	b[8] = 0x60;
	b[8 + 6] = first;
	b[8 + 8 + 15] = 1;                 /* src ::1 */
	b[8 + 24 + 15] = 2;                /* dst ::2 */
	n = 48;
	if (extlen)
		memcpy(b + n, ext, extlen);
	n += extlen;
	put16(b + n, 30000);
	put16(b + n + 2, 4000);
	put16(b + n + 4, (uint16_t)(8 + plen));
	n += 8;
	if (plen)
		memcpy(b + n, pl, plen);

	return n + plen;
}


int test_icmp_parse_v6(void)
{
	/* hop-by-hop (8) -> destination options (16) -> UDP */
	static const uint8_t ext[24] = {IPPROTO_DSTOPTS, 0, 0, 0, 0, 0, 0, 0,
					IPPROTO_UDP, 1};
	/* a first fragment -> UDP, and a later one */
	static const uint8_t frag0[8] = {IPPROTO_UDP, 0, 0, 0, 0, 0, 0, 1};
	static const uint8_t frag1[8] = {IPPROTO_UDP, 0, 0, 0x08, 0, 0, 0, 1};
	uint8_t b[512], loop[8 * 9];
	struct icmp_err e;
	size_t n;
	int err = 0;

	n = icmp6(b, 1, 4, ext, sizeof(ext), IPPROTO_HOPOPTS, rtp,
		  sizeof(rtp));
	TEST_ERR(icmp6_parse(&e, b, n));
	TEST_EQUALS(ICMP_KIND_PORT_UNREACH, e.kind);
	TEST_EQUALS(AF_INET6, e.dst.ss_family);
	TEST_EQUALS(4000, ntohs(((struct sockaddr_in6 *)&e.dst)->sin6_port));
	TEST_EQUALS(12, e.plen);

	TEST_ERR(truncations(icmp6_parse, b, n, 8 + 40 + 24 + 8));

	/* an extension header longer than what is left */
	n = icmp6(b, 1, 4, ext, sizeof(ext), IPPROTO_HOPOPTS, NULL, 0);
	b[48 + 1] = 200;
	TEST_EQUALS(EBADMSG, icmp6_parse(&e, b, n));

	/* a chain of extension headers with no end is given up */
	for (size_t i = 0; i < sizeof(loop); i += 8) {
		memset(loop + i, 0, 8);
		loop[i] = IPPROTO_DSTOPTS;
	}
	n = icmp6(b, 1, 4, loop, sizeof(loop), IPPROTO_DSTOPTS, NULL, 0);
	TEST_EQUALS(ENOTSUP, icmp6_parse(&e, b, n));

	n = icmp6(b, 1, 4, frag0, 8, IPPROTO_FRAGMENT, rtp, 4);
	TEST_ERR(icmp6_parse(&e, b, n));
	TEST_EQUALS(4, e.plen);
	n = icmp6(b, 1, 4, frag1, 8, IPPROTO_FRAGMENT, rtp, 4);
	TEST_EQUALS(ENOTSUP, icmp6_parse(&e, b, n));

	/* packet too big carries the MTU; an echo request is not read */
	n = icmp6(b, 2, 0, NULL, 0, IPPROTO_UDP, NULL, 0);
	TEST_ERR(icmp6_parse(&e, b, n));
	TEST_EQUALS(ICMP_KIND_FRAG_NEEDED, e.kind);
	TEST_EQUALS(1280, e.info);
	n = icmp6(b, 128, 0, NULL, 0, IPPROTO_UDP, NULL, 0);
	TEST_EQUALS(ENOTSUP, icmp6_parse(&e, b, n));

 out:
	return err;
}


/* The judge, on a real stream that echoed one packet to a real socket */
struct judge {
	struct gw_reactor *r;
	struct gw_conf *conf;
	struct media_mgr *mm;
	struct media_stream *ms;
	struct gw_timer *stop;
	int peer;
	struct sa peer_addr;
	unsigned ended, matched;
	enum media_end_reason why;
};


static void judge_end(struct media_stream *ms, enum media_end_reason r,
		      void *arg)
{
	struct judge *j = arg;

	++j->ended;
	j->why = r;
	if (j->ms == ms)
		j->ms = mem_deref(j->ms);
	gw_reactor_stop(j->r);
}


static void judge_stop(void *arg)
{
	gw_reactor_stop(arg);
}


static void judge_matched(const struct icmp_err *e, void *arg)
{
	struct judge *j = arg;
	(void)e;

	++j->matched;
}


static void run_for(struct judge *j, uint64_t ms)
{
	gw_timer_start(j->stop, ms, judge_stop, j->r);
	gw_reactor_run(j->r);
}


/* An error as the raw listener would hand it over (ICMPv4 codes: an
 * IPv6 peer gets the ICMPv6 type and code of the same meaning) */
static void quote(struct icmp_err *e, const struct judge *j, uint8_t code,
		  const char *offender, const uint8_t *pl, size_t plen)
{
	struct sa off, src = *media_stream_laddr(j->ms);
	bool v6 = sa_af(&src) == AF_INET6;

	memset(e, 0, sizeof(*e));
	e->path = ICMP_PATH_RAW;
	e->type = v6 ? (code == 4 ? 2 : 1) : 3;
	e->code = v6 ? (code == 3 ? 4 : code == 1 ? 3 : 0) : code;
	e->kind = (enum icmp_kind)icmp_classify(v6 ? AF_INET6 : AF_INET,
						e->type, e->code);
	sa_set_str(&off, offender, 0);
	memcpy(&e->offender, &off.u, off.len);
	memcpy(&e->src, &src.u, src.len);
	memcpy(&e->dst, &j->peer_addr.u, j->peer_addr.len);
	e->udp_len = -1;
	e->payload = pl;
	e->plen = plen;
}


static int offer_from(struct judge *j, uint16_t port)
{
	char offer[256], ip[64], *ans = NULL;
	bool v6 = sa_af(&j->peer_addr) == AF_INET6;
	int err;

	re_snprintf(ip, sizeof(ip), "%j", &j->peer_addr);
	snprintf(offer, sizeof(offer), "v=0\r\no=p 1 1 IN IP%c %s\r\n"
		 "s=-\r\nc=IN IP%c %s\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\n", v6 ? '6' : '4', ip,
		 v6 ? '6' : '4', ip, port);
	err = media_stream_answer(j->ms, offer, strlen(offer), &ans);
	mem_deref(ans);

	return err;
}


static int peer_sends(struct judge *j)
{
	const struct sa *to = media_stream_laddr(j->ms);

	if (sendto(j->peer, rtp, sizeof(rtp), 0, &to->u.sa, to->len) < 0)
		return errno;
	run_for(j, 100);

	return 0;
}


/* A stream on ip (127.0.0.1 or ::1) echoing to a real peer socket,
 * which has sent one RTP packet and had it back: the tracker holds it */
static int judge_setup_at(struct judge *j, const char *ip,
			  enum gw_cleanup_scope scope)
{
	struct sa laddr;
	int err;

	memset(j, 0, sizeof(*j));
	j->peer = -1;
	err = gw_conf_default(&j->conf);
	if (err)
		return err;
	j->conf->media.rtp_ports.first = 41100;
	j->conf->media.rtp_ports.last = 41109;
	j->conf->icmp.confirm_silence = 0;    /* the count alone, here */
	j->conf->icmp.cleanup_scope = scope;
	err = gw_reactor_alloc(&j->r);
	if (!err)
		err = gw_timer_alloc(&j->stop, j->r);
	if (!err)
		err = media_mgr_alloc(&j->mm, j->r, j->conf);
	sa_set_str(&laddr, ip, 0);
	if (!err)
		err = media_stream_alloc(&j->ms, j->mm, &laddr, judge_end, j);
	if (err)
		return err;
	media_stream_set_label(j->ms, "call-1");
	media_stream_echo(j->ms, true);

	j->peer = socket(sa_af(&laddr), SOCK_DGRAM, 0);
	sa_set_str(&j->peer_addr, ip, 0);
	if (j->peer < 0 || bind(j->peer, &j->peer_addr.u.sa, j->peer_addr.len))
		return errno;
	j->peer_addr.len = sizeof(j->peer_addr.u);
	if (getsockname(j->peer, &j->peer_addr.u.sa, &j->peer_addr.len))
		return errno;

	err = offer_from(j, sa_port(&j->peer_addr));
	if (!err)
		err = peer_sends(j);

	return err;
}


static int judge_setup(struct judge *j)
{
	return judge_setup_at(j, "127.0.0.1", GW_SCOPE_ENDPOINT);
}


static void judge_teardown(struct judge *j)
{
	if (j->peer >= 0)
		close(j->peer);
	mem_deref(j->ms);
	mem_deref(j->mm);
	mem_deref(j->stop);
	mem_deref(j->r);
	mem_deref(j->conf);
}


int test_icmp_judge(void)
{
	struct judge j;
	struct media_icmp_expect *x = NULL;
	struct media_icmp_stats st;
	struct icmp_err e;
	uint8_t other[12];
	int err = 0;

	TEST_ERR(judge_setup(&j));

	/* a packet we never sent, to the peer: foreign */
	memcpy(other, rtp, sizeof(other));
	other[3] ^= 1;
	quote(&e, &j, 3, "127.0.0.1", other, sizeof(other));
	TEST_EQUALS(ICMP_FOREIGN, media_icmp_input(j.mm, &e));
	/* our packet, but a port-unreachable from someone else: foreign */
	quote(&e, &j, 3, "127.0.0.2", rtp, sizeof(rtp));
	TEST_EQUALS(ICMP_FOREIGN, media_icmp_input(j.mm, &e));
	/* to another port of the peer: foreign */
	quote(&e, &j, 3, "127.0.0.1", rtp, sizeof(rtp));
	((struct sockaddr_in *)&e.dst)->sin_port ^= htons(2);
	TEST_EQUALS(ICMP_FOREIGN, media_icmp_input(j.mm, &e));
	/* from a port none of our streams holds: foreign */
	quote(&e, &j, 3, "127.0.0.1", rtp, sizeof(rtp));
	((struct sockaddr_in *)&e.src)->sin_port = htons(41108);
	TEST_EQUALS(ICMP_FOREIGN, media_icmp_input(j.mm, &e));

	/* frag needed, time exceeded: harmless */
	quote(&e, &j, 4, "127.0.0.1", rtp, sizeof(rtp));
	TEST_EQUALS(ICMP_HARMLESS, media_icmp_input(j.mm, &e));

	/* the real thing, then the same from the other intake */
	quote(&e, &j, 3, "127.0.0.1", rtp, sizeof(rtp));
	TEST_EQUALS(ICMP_COUNTED, media_icmp_input(j.mm, &e));
	e.path = ICMP_PATH_QUEUE;
	TEST_EQUALS(ICMP_DUPLICATE, media_icmp_input(j.mm, &e));

	/* RTP from the peer resets the count... */
	TEST_EQUALS(1, j.mm->icmp_records);
	TEST_ERR(peer_sends(&j));
	TEST_EQUALS(0, j.mm->icmp_records);

	/* ...and an expected error is handed over, never counted */
	TEST_ERR(media_icmp_expect(&x, j.mm, &j.peer_addr,
				   sa_port(media_stream_laddr(j.ms)), 1000,
				   judge_matched, &j));
	quote(&e, &j, 3, "127.0.0.1", NULL, 0);
	TEST_EQUALS(ICMP_MATCHED, media_icmp_input(j.mm, &e));
	TEST_EQUALS(1, j.matched);
	x = mem_deref(x);

	/* five 8-byte quotes of the live 4-tuple: cleanup, on the next turn */
	for (int i = 0; i < 5; i++) {
		quote(&e, &j, 3, "127.0.0.1", NULL, 0);
		TEST_EQUALS(ICMP_COUNTED, media_icmp_input(j.mm, &e));
	}
	TEST_EQUALS(0, j.ended);
	run_for(&j, 1000);
	TEST_EQUALS(1, j.ended);
	TEST_EQUALS(MEDIA_END_ICMP, j.why);

	media_icmp_stats(j.mm, &st);
	TEST_EQUALS(4, st.foreign);
	TEST_EQUALS(1, st.frag_needed);
	TEST_EQUALS(1, st.duplicates);
	TEST_EQUALS(1, st.matched);
	TEST_EQUALS(6, st.counted);
	TEST_EQUALS(1, st.cleanups);
	TEST_EQUALS(1, st.sessions);

 out:
	mem_deref(x);
	judge_teardown(&j);
	return err;
}


/* icmp.record_ttl after the last error, a peer's count is forgotten */
int test_icmp_record_ttl(void)
{
	struct judge j;
	struct icmp_err e;
	int err = 0;

	TEST_ERR(judge_setup(&j));
	j.conf->icmp.record_ttl = 50;

	quote(&e, &j, 3, "127.0.0.1", NULL, 0);
	TEST_EQUALS(ICMP_COUNTED, media_icmp_input(j.mm, &e));
	TEST_EQUALS(1, j.mm->icmp_records);
	run_for(&j, 20);
	TEST_EQUALS(1, j.mm->icmp_records);
	run_for(&j, 100);
	TEST_EQUALS(0, j.mm->icmp_records);
	TEST_EQUALS(0, j.ended);

 out:
	judge_teardown(&j);
	return err;
}


/* A re-INVITE moving the peer's port: its record goes, and errors about
 * packets sent to the old port no longer count */
int test_icmp_peer_moves(void)
{
	struct judge j;
	struct icmp_err e, old;
	int err = 0;

	TEST_ERR(judge_setup(&j));

	quote(&old, &j, 3, "127.0.0.1", rtp, sizeof(rtp));
	TEST_EQUALS(ICMP_COUNTED, media_icmp_input(j.mm, &old));
	TEST_EQUALS(1, j.mm->icmp_records);

	TEST_ERR(offer_from(&j, (uint16_t)(sa_port(&j.peer_addr) ^ 2)));
	TEST_EQUALS(0, j.mm->icmp_records);

	TEST_EQUALS(ICMP_FOREIGN, media_icmp_input(j.mm, &old));

	/* to the new port, with a bare quote: counts against the new peer */
	sa_set_port(&j.peer_addr, (uint16_t)(sa_port(&j.peer_addr) ^ 2));
	quote(&e, &j, 3, "127.0.0.1", NULL, 0);
	TEST_EQUALS(ICMP_COUNTED, media_icmp_input(j.mm, &e));

 out:
	judge_teardown(&j);
	return err;
}


/* The peer's RTCP socket (RTP port + 1 in its SDP; made on the first
 * call) sends one RR, which the echo returns: now the tracker holds an
 * RTCP packet too */
static int peer_rtcp_sends(struct judge *j, int *fdp)
{
	struct sa to = *media_stream_laddr(j->ms), a = j->peer_addr;
	int fd = *fdp;

	sa_set_port(&a, (uint16_t)(sa_port(&j->peer_addr) + 1));
	sa_set_port(&to, (uint16_t)(sa_port(&to) + 1));
	if (fd < 0) {
		*fdp = fd = socket(sa_af(&a), SOCK_DGRAM, 0);
		if (fd < 0 || bind(fd, &a.u.sa, a.len))
			return errno ? errno : EINVAL;
	}
	if (sendto(fd, rtcp_rr, sizeof(rtcp_rr), 0, &to.u.sa, to.len) < 0)
		return errno;
	run_for(j, 100);

	return 0;
}


static bool rtcp_sending(const struct judge *j)
{
	struct odict *o = NULL;
	bool on = false;

	if (odict_alloc(&o, 16))
		return false;
	media_stream_describe(j->ms, o);
	if (!odict_get_boolean(o, &on, "rtcp_sending"))
		on = false;
	mem_deref(o);

	return on;
}


/* An error quoting the RTCP we sent to the peer's RTCP port: never
 * counted nor confirming, whatever the scope; RTCP to that port stops
 * until the peer sends RTCP again, and RTP still counts as before */
static int rtcp_errors_are_not_death(const char *ip,
				     enum gw_cleanup_scope scope)
{
	struct judge j;
	struct media_icmp_stats st;
	struct icmp_err e;
	struct sa lrtcp, prtcp;
	uint8_t back[16];
	int rfd = -1, err = 0;

	TEST_ERR(judge_setup_at(&j, ip, scope));
	j.conf->icmp.confirm_silence = 100;
	TEST_ERR(peer_rtcp_sends(&j, &rfd));
	TEST_EQUALS(sizeof(rtcp_rr), recv(rfd, back, sizeof(back),
					  MSG_DONTWAIT));

	lrtcp = *media_stream_laddr(j.ms);
	sa_set_port(&lrtcp, (uint16_t)(sa_port(&lrtcp) + 1));
	prtcp = j.peer_addr;
	sa_set_port(&prtcp, (uint16_t)(sa_port(&prtcp) + 1));

	/* the peer's port-unreachable quoting our RR, from both intakes;
	 * a bare 8-byte quote of that 4-tuple; a router's unreachable */
	quote(&e, &j, 3, ip, rtcp_rr, sizeof(rtcp_rr));
	memcpy(&e.src, &lrtcp.u, lrtcp.len);
	memcpy(&e.dst, &prtcp.u, prtcp.len);
	TEST_EQUALS(ICMP_RTCP, media_icmp_input(j.mm, &e));
	e.path = ICMP_PATH_QUEUE;
	TEST_EQUALS(ICMP_DUPLICATE, media_icmp_input(j.mm, &e));
	e.path = ICMP_PATH_RAW;
	e.plen = 0;
	TEST_EQUALS(ICMP_RTCP, media_icmp_input(j.mm, &e));
	quote(&e, &j, 1, sa_af(&lrtcp) == AF_INET6 ? "2001:db8::fe" :
	      "192.0.2.254", rtcp_rr, sizeof(rtcp_rr));
	memcpy(&e.src, &lrtcp.u, lrtcp.len);
	memcpy(&e.dst, &prtcp.u, prtcp.len);
	TEST_EQUALS(ICMP_RTCP, media_icmp_input(j.mm, &e));

	TEST_EQUALS(0, j.mm->icmp_records);
	TEST_ASSERT(!rtcp_sending(&j));
	run_for(&j, 300);                /* past confirm_silence: nothing */
	TEST_EQUALS(0, j.ended);
	media_icmp_stats(j.mm, &st);
	TEST_EQUALS(0, st.counted);
	TEST_EQUALS(3, st.rtcp);

	/* the peer sends RTCP: it gets RTCP again */
	TEST_ERR(peer_rtcp_sends(&j, &rfd));
	TEST_ASSERT(rtcp_sending(&j));
	TEST_EQUALS(sizeof(rtcp_rr), recv(rfd, back, sizeof(back),
					  MSG_DONTWAIT));

	/* RTP still is evidence: its port-unreachable counts, confirms */
	quote(&e, &j, 3, ip, rtp, sizeof(rtp));
	TEST_EQUALS(ICMP_COUNTED, media_icmp_input(j.mm, &e));
	run_for(&j, 1000);
	TEST_EQUALS(1, j.ended);
	TEST_EQUALS(MEDIA_END_ICMP, j.why);

 out:
	if (rfd >= 0)
		close(rfd);
	judge_teardown(&j);
	return err;
}


int test_icmp_rtcp_not_evidence(void)
{
	int err = 0;

	TEST_ERR(rtcp_errors_are_not_death("127.0.0.1", GW_SCOPE_ENDPOINT));
	TEST_ERR(rtcp_errors_are_not_death("127.0.0.1", GW_SCOPE_IP));
	TEST_ERR(rtcp_errors_are_not_death("::1", GW_SCOPE_ENDPOINT));
	TEST_ERR(rtcp_errors_are_not_death("::1", GW_SCOPE_IP));

 out:
	return err;
}
