/**
 * @file test_media.c  SDP offer/answer and RTP port pairs
 */

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <string.h>

#include "gateway/conf.h"
#include "gateway/libre.h"
#include <re_sdp.h>

#include "gateway/reactor.h"
#include "media/media_int.h"
#include "tests/unit/unit.h"

#define OFFER(m, attrs)                                                 \
	"v=0\r\no=peer 1 1 IN IP4 192.0.2.10\r\ns=-\r\n"                \
	"c=IN IP4 192.0.2.10\r\nt=0 0\r\n" m attrs


static int answer(const char *offer, struct media_offer *mo, char **ans)
{
	struct sdp_session *sess = NULL;
	struct sa laddr;
	int err;

	sa_set_str(&laddr, "127.0.0.1", 0);
	memset(mo, 0, sizeof(*mo));
	*ans = NULL;

	err = media_sdp_answer(&sess, &laddr, 30000, offer, strlen(offer),
			       mo, ans);
	mem_deref(sess);

	return err;
}


int test_media_sdp_answer(void)
{
	struct media_offer mo;
	char *ans = NULL;
	int err;

	/* PCMA and telephone-event offered: both kept, PT 101 as offered */
	err = answer(OFFER("m=audio 4000 RTP/AVP 8 101\r\n",
			   "a=rtpmap:8 PCMA/8000\r\n"
			   "a=rtpmap:101 telephone-event/8000\r\n"
			   "a=fmtp:101 0-15\r\n"), &mo, &ans);
	TEST_ERR(err);
	TEST_ASSERT(strstr(ans, "c=IN IP4 127.0.0.1\r\n"));
	TEST_ASSERT(strstr(ans, "m=audio 30000 RTP/AVP 8 101\r\n"));
	TEST_ASSERT(strstr(ans, "a=rtpmap:101 telephone-event/8000\r\n"));
	TEST_ASSERT(!strstr(ans, "PCMU"));
	TEST_ASSERT(strstr(ans, "a=sendrecv\r\n"));
	TEST_EQUALS(4000, sa_port(&mo.raddr));
	TEST_ASSERT(mo.peer_sends && mo.peer_receives);

 out:
	mem_deref(ans);
	return err;
}


int test_media_sdp_directions(void)
{
	static const struct {
		const char *offer;
		const char *answer;
		bool sends, receives;
	} cases[] = {
		{"a=sendonly\r\n", "a=recvonly\r\n", true, false},
		{"a=recvonly\r\n", "a=sendonly\r\n", false, true},
		{"a=inactive\r\n", "a=inactive\r\n", false, false},
		{"", "a=sendrecv\r\n", true, true},
	};
	struct media_offer mo;
	char *ans = NULL;
	int err = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char offer[256];

		snprintf(offer, sizeof(offer), "%s%s",
			 OFFER("m=audio 4000 RTP/AVP 0\r\n", ""),
			 cases[i].offer);
		err = answer(offer, &mo, &ans);
		TEST_ERR(err);
		if (!strstr(ans, cases[i].answer))
			TEST_FAIL("offer %s answered:\n%s", cases[i].offer,
				  ans);
		TEST_EQUALS(cases[i].sends, mo.peer_sends);
		TEST_EQUALS(cases[i].receives, mo.peer_receives);
		ans = mem_deref(ans);
	}

 out:
	mem_deref(ans);
	return err;
}


int test_media_sdp_refused(void)
{
	static const struct {
		const char *offer;
		int err;
	} cases[] = {
		/* no common codec: G.729 only (RFC 3264 §6: refuse) */
		{OFFER("m=audio 4000 RTP/AVP 18\r\n", "a=rtpmap:18 G729/8000\r\n"),
		 ENOTSUP},
		/* no audio at all */
		{OFFER("m=video 4000 RTP/AVP 96\r\n", "a=rtpmap:96 H264/90000\r\n"),
		 ENOTSUP},
		/* audio stream declined (port 0) */
		{OFFER("m=audio 0 RTP/AVP 0\r\n", ""), ENOTSUP},
		/* no connection address */
		{"v=0\r\no=p 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
		 "m=audio 4000 RTP/AVP 0\r\n", ENOTSUP},
	};
	struct media_offer mo;
	char *ans = NULL;
	int err = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int e = answer(cases[i].offer, &mo, &ans);

		if (e != cases[i].err)
			TEST_FAIL("case %zu: err %d, expected %d", i, e,
				  cases[i].err);
		TEST_ASSERT(ans == NULL);
	}

	/* garbage never crashes and never yields an answer */
	{
		static const char *junk[] = {"", "hello", "v=0\r\nm=\r\n",
					     "m=audio x RTP/AVP 0\r\n",
					     "\xff\xfe\x00garbage"};
		for (size_t i = 0; i < sizeof(junk) / sizeof(*junk); i++) {
			int e = answer(junk[i], &mo, &ans);
			if (!e)
				TEST_FAIL("junk %zu accepted", i);
			TEST_ASSERT(ans == NULL);
		}
	}

 out:
	mem_deref(ans);
	return err;
}


/* Pairs are even/odd, never handed out twice, and come back */
int test_media_ports(void)
{
	struct gw_reactor *r = NULL;
	struct media_mgr *mm = NULL;
	struct gw_conf *conf = NULL;
	struct sa laddr;
	uint16_t port[3] = {0};
	int fds[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
	unsigned used, total;
	int err;

	err = gw_conf_default(&conf);
	TEST_ERR(err);
	/* an odd start: the first RTP port is the next even one */
	conf->media.rtp_ports.first = 41001;
	conf->media.rtp_ports.last = 41004;
	TEST_ERR(gw_reactor_alloc(&r));
	TEST_ERR(media_mgr_alloc(&mm, r, conf));
	media_mgr_ports(mm, &used, &total);
	TEST_EQUALS(0, used);
	TEST_EQUALS(2, total);   /* only 41002/41003 fits */

	sa_set_str(&laddr, "127.0.0.1", 0);
	TEST_ERR(media_port_take(mm, &laddr, &port[0], fds[0]));
	TEST_EQUALS(41002, port[0]);
	TEST_EQUALS(ENOSPC, media_port_take(mm, &laddr, &port[1],
						 fds[1]));
	media_mgr_ports(mm, &used, &total);
	TEST_EQUALS(2, used);

	close(fds[0][0]);
	close(fds[0][1]);
	fds[0][0] = fds[0][1] = -1;
	media_port_give(mm, port[0]);
	TEST_ERR(media_port_take(mm, &laddr, &port[2], fds[2]));
	TEST_EQUALS(41002, port[2]);

	/* no address of this host: said at once, not as "no ports left" */
	close(fds[2][0]);
	close(fds[2][1]);
	fds[2][0] = fds[2][1] = -1;
	media_port_give(mm, port[2]);
	sa_set_str(&laddr, "192.0.2.1", 0);
	TEST_EQUALS(EADDRNOTAVAIL, media_port_take(mm, &laddr, &port[1],
						   fds[1]));
	conf->media.bind = laddr;
	TEST_EQUALS(EADDRNOTAVAIL, media_bind_check(conf));
	sa_set_str(&conf->media.bind, "127.0.0.1", 0);
	TEST_ERR(media_bind_check(conf));

 out:
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 2; j++)
			if (fds[i][j] >= 0)
				close(fds[i][j]);
	mem_deref(mm);
	mem_deref(r);
	mem_deref(conf);
	return err;
}


/* A peer socket on 127.0.0.1, and a packet to ms's port + off from it */
static int udp_peer(int *fdp, struct sa *a)
{
	*fdp = socket(AF_INET, SOCK_DGRAM, 0);
	sa_set_str(a, "127.0.0.1", 0);
	if (*fdp < 0 || bind(*fdp, &a->u.sa, a->len))
		return EINVAL;
	a->len = sizeof(a->u);

	return getsockname(*fdp, &a->u.sa, &a->len) ? EINVAL : 0;
}


static int send_to(int fd, const struct media_stream *ms, int off,
		   const uint8_t *p, size_t n)
{
	struct sa to = *media_stream_laddr(ms);

	sa_set_port(&to, (uint16_t)(sa_port(&to) + off));

	return sendto(fd, p, n, 0, &to.u.sa, to.len) == (ssize_t)n ? 0 : EIO;
}


static void stop_h(void *arg)
{
	gw_reactor_stop(arg);
}


static int run_ms(struct gw_reactor *r, struct gw_timer *t, uint64_t ms)
{
	gw_timer_start(t, ms, stop_h, r);

	return gw_reactor_run(r);
}


/* Is anything of ours bound to port, on 127.0.0.1? */
static bool port_bound(uint16_t port)
{
	struct sa a;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	bool bound;

	sa_set_str(&a, "127.0.0.1", port);
	bound = bind(fd, &a.u.sa, a.len) != 0;
	close(fd);

	return bound;
}


static char *offer_at(char *buf, size_t sz, uint16_t port, bool mux)
{
	snprintf(buf, sz, "v=0\r\no=p 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
		 "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %u RTP/AVP 0\r\n"
		 "%s", port, mux ? "a=rtcp-mux\r\n" : "");
	return buf;
}


/*
 * RFC 5761: a caller offering rtcp-mux (peer M) bridged to a callee that
 * answers without it (peer P, RTCP on port + 1). Our answer to M says
 * a=rtcp-mux and its RTCP socket is gone; RTCP from M on its RTP port
 * reaches P's RTCP port, and P's RTCP reaches M on its RTP port; RTP
 * goes RTP port to RTP port. A re-offer from M without mux binds the
 * RTCP port again.
 */
int test_media_rtcp_mux(void)
{
	static const uint8_t rtp[12] = {0x80, 0, 0, 1, 0, 0, 0, 160,
					1, 2, 3, 4};
	static const uint8_t rr[8] = {0x80, 201, 0, 1, 5, 6, 7, 8};
	struct gw_reactor *r = NULL;
	struct gw_timer *t = NULL;
	struct media_mgr *mm = NULL;
	struct gw_conf *conf = NULL;
	struct media_stream *a = NULL, *b = NULL;
	struct media_stats st;
	struct sa laddr, ma, pa, pra;
	char buf[512], *sdp = NULL;
	uint8_t got[64];
	int m = -1, p = -1, pr = -1, err = 0;

	TEST_ERR(gw_conf_default(&conf));
	conf->media.rtp_ports.first = 41200;
	conf->media.rtp_ports.last = 41209;
	TEST_ERR(gw_reactor_alloc(&r));
	TEST_ERR(gw_timer_alloc(&t, r));
	TEST_ERR(media_mgr_alloc(&mm, r, conf));
	sa_set_str(&laddr, "127.0.0.1", 0);
	TEST_ERR(media_stream_alloc(&a, mm, &laddr, NULL, NULL));
	TEST_ERR(media_stream_alloc(&b, mm, &laddr, NULL, NULL));
	TEST_ERR(udp_peer(&m, &ma));
	TEST_ERR(udp_peer(&p, &pa));
	/* P's RTCP port is its RTP port + 1 */
	pr = socket(AF_INET, SOCK_DGRAM, 0);
	pra = pa;
	sa_set_port(&pra, (uint16_t)(sa_port(&pa) + 1));
	if (pr < 0 || bind(pr, &pra.u.sa, pra.len)) {
		err = EADDRINUSE;    /* the kernel gave that port away */
		goto out;
	}

	offer_at(buf, sizeof(buf), sa_port(&ma), true);
	TEST_ERR(media_stream_answer(a, buf, strlen(buf), &sdp));
	TEST_ASSERT(strstr(sdp, "a=rtcp-mux\r\n"));
	sdp = mem_deref(sdp);
	TEST_ASSERT(!port_bound((uint16_t)(sa_port(&a->laddr) + 1)));
	TEST_ASSERT(port_bound(sa_port(&b->laddr) + 1));

	/* our offer to the callee carries rtcp-mux; its answer does not */
	TEST_ERR(media_stream_offer(b, a, &sdp));
	TEST_ASSERT(strstr(sdp, "a=rtcp-mux\r\n"));
	sdp = mem_deref(sdp);
	offer_at(buf, sizeof(buf), sa_port(&pa), false);
	TEST_ERR(media_stream_accept(b, buf, strlen(buf)));
	TEST_ASSERT(!b->mux && b->fd[1] >= 0);
	media_stream_relay(a, b);

	/* M: RTP and RTCP on its one port */
	TEST_ERR(send_to(m, a, 0, rtp, sizeof(rtp)));
	TEST_ERR(send_to(m, a, 0, rr, sizeof(rr)));
	TEST_ERR(run_ms(r, t, 100));
	TEST_EQUALS(sizeof(rtp), recv(p, got, sizeof(got), MSG_DONTWAIT));
	TEST_EQUALS(sizeof(rr), recv(pr, got, sizeof(got), MSG_DONTWAIT));
	TEST_ASSERT(!memcmp(got, rr, sizeof(rr)));
	TEST_EQUALS(-1, recv(p, got, sizeof(got), MSG_DONTWAIT));

	/* P: RTCP from its RTCP port reaches M's RTP port; RTP too */
	TEST_ERR(send_to(pr, b, 1, rr, sizeof(rr)));
	TEST_ERR(send_to(p, b, 0, rtp, sizeof(rtp)));
	TEST_ERR(run_ms(r, t, 100));
	for (int i = 0; i < 2; i++)
		TEST_ASSERT(recv(m, got, sizeof(got), MSG_DONTWAIT) > 0);
	media_stream_stats(a, &st);
	TEST_EQUALS(1, st.rx_pkts);
	TEST_EQUALS(1, st.rtcp_rx);
	TEST_EQUALS(1, st.tx_pkts);
	TEST_EQUALS(1, st.rtcp_tx);
	TEST_EQUALS(0, st.rx_bad);

	/* a re-offer without mux: RTCP on port + 1 again */
	offer_at(buf, sizeof(buf), sa_port(&ma), false);
	TEST_ERR(media_stream_answer(a, buf, strlen(buf), &sdp));
	TEST_ASSERT(!strstr(sdp, "rtcp-mux"));
	TEST_ASSERT(port_bound((uint16_t)(sa_port(&a->laddr) + 1)));

 out:
	mem_deref(sdp);
	if (m >= 0)
		close(m);
	if (p >= 0)
		close(p);
	if (pr >= 0)
		close(pr);
	mem_deref(a);
	mem_deref(b);
	mem_deref(mm);
	mem_deref(t);
	mem_deref(r);
	mem_deref(conf);
	return err;
}


/* The o= value of an SDP text */
static void origin(const char *sdp, char *buf, size_t size)
{
	const char *o = strstr(sdp, "\r\no=");
	size_t n = o ? strcspn(o + 4, "\r\n") : 0;

	snprintf(buf, size, "%.*s", (int)n, o ? o + 4 : "");
}


int test_media_reoffer(void)
{
	struct gw_reactor *r = NULL;
	struct media_mgr *mm = NULL;
	struct gw_conf *conf = NULL;
	struct media_stream *a = NULL, *b = NULL;
	struct sa laddr;
	char *sdp = NULL, o1[128], o2[128];
	const char *hold = OFFER("m=audio 4000 RTP/AVP 8\r\n",
				 "a=rtpmap:8 PCMA/8000\r\na=sendonly\r\n");
	const char *held = "v=0\r\no=callee 1 2 IN IP4 192.0.2.20\r\ns=-\r\n"
		"c=IN IP4 192.0.2.20\r\nt=0 0\r\nm=audio 5000 RTP/AVP 8\r\n"
		"a=rtpmap:8 PCMA/8000\r\na=recvonly\r\n";
	const char *caller = OFFER("m=audio 4000 RTP/AVP 0 8\r\n", "");
	const char *callee = "v=0\r\no=callee 1 1 IN IP4 192.0.2.20\r\n"
		"s=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
		"m=audio 5000 RTP/AVP 0 8\r\n";
	int err = 0;

	TEST_ERR(gw_conf_default(&conf));
	conf->media.rtp_ports.first = 41300;
	conf->media.rtp_ports.last = 41309;
	TEST_ERR(gw_reactor_alloc(&r));
	TEST_ERR(media_mgr_alloc(&mm, r, conf));
	sa_set_str(&laddr, "127.0.0.1", 0);
	TEST_ERR(media_stream_alloc(&a, mm, &laddr, NULL, NULL));
	TEST_ERR(media_stream_alloc(&b, mm, &laddr, NULL, NULL));

	/* a bridge: the caller's offer on a, ours to the callee on b */
	TEST_ERR(media_stream_answer(a, caller, strlen(caller), &sdp));
	sdp = mem_deref(sdp);
	TEST_ERR(media_stream_offer(b, a, &sdp));
	origin(sdp, o1, sizeof(o1));
	sdp = mem_deref(sdp);
	TEST_ERR(media_stream_accept(b, callee, strlen(callee)));
	TEST_ASSERT(media_stream_same_offer(b, callee, strlen(callee)));
	TEST_ASSERT(!media_stream_same_offer(b, held, strlen(held)));

	/* the caller holds with PCMA only: b's offer says so, same o=
	 * session, the next version */
	TEST_ERR(media_stream_reoffer(b, hold, strlen(hold), &sdp));
	TEST_ASSERT(strstr(sdp, "m=audio ") && strstr(sdp, " RTP/AVP 8\r\n"));
	TEST_ASSERT(strstr(sdp, "a=sendonly\r\n"));
	TEST_ASSERT(!strstr(sdp, "PCMU"));
	origin(sdp, o2, sizeof(o2));
	TEST_ASSERT(strlen(o1) > 10 && strlen(o2) > 10);
	TEST_ASSERT(!strncmp(o1, o2, (size_t)(strchr(strchr(o1, ' ') + 1,
							' ') - o1)));
	TEST_ASSERT(strcmp(o1, o2) != 0);
	sdp = mem_deref(sdp);

	/* nothing changed before the answer; a bad one changes nothing */
	TEST_EQUALS(0, strcmp("sendrecv", media_stream_direction(b)));
	TEST_EQUALS(EPROTO, media_stream_reoffer_accept(b, "junk", 4));
	TEST_EQUALS(0, strcmp("sendrecv", media_stream_direction(b)));
	TEST_EQUALS(EINVAL, media_stream_reoffer_accept(b, held,
							strlen(held)));

	/* again, and the callee's recvonly is taken: then the caller's
	 * answer says recvonly, and we send the caller nothing */
	TEST_ERR(media_stream_reoffer(b, hold, strlen(hold), &sdp));
	sdp = mem_deref(sdp);
	TEST_ERR(media_stream_reoffer_accept(b, held, strlen(held)));
	TEST_EQUALS(0, strcmp("recvonly", media_stream_direction(b)));
	TEST_ERR(media_stream_answer_like(a, b, hold, strlen(hold), &sdp));
	TEST_ASSERT(strstr(sdp, "a=recvonly\r\n"));
	TEST_ASSERT(strstr(sdp, " RTP/AVP 8\r\n"));
	TEST_EQUALS(0, strcmp("sendonly", media_stream_direction(a)));
	TEST_ASSERT(!a->sends && b->sends);

 out:
	mem_deref(sdp);
	mem_deref(a);
	mem_deref(b);
	mem_deref(mm);
	mem_deref(r);
	mem_deref(conf);

	return err;
}
