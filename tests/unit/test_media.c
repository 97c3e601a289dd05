/**
 * @file test_media.c  SDP offer/answer and RTP port pairs
 */

#include <stdlib.h>
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
	TEST_EQUALS(EADDRINUSE, media_port_take(mm, &laddr, &port[1],
						 fds[1]));
	media_mgr_ports(mm, &used, &total);
	TEST_EQUALS(2, used);

	close(fds[0][0]);
	close(fds[0][1]);
	fds[0][0] = fds[0][1] = -1;
	media_port_give(mm, port[0]);
	TEST_ERR(media_port_take(mm, &laddr, &port[2], fds[2]));
	TEST_EQUALS(41002, port[2]);

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
