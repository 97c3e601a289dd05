/**
 * @file test_icmp_intake.c  The ICMP intake as a service: with the judge
 * off it still reads and routes errors a prober expects, and its raw
 * listeners hand real echo replies to the prober by identifier
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/conf.h"
#include "gateway/inet.h"
#include "gateway/libre.h"
#include "gateway/reactor.h"
#include "media/icmp_int.h"
#include "tests/unit/unit.h"

struct intake {
	struct gw_reactor *r;
	struct gw_conf *conf;
	struct media_mgr *mm;
	struct media_stream *ms;
	struct gw_timer *stop;
	unsigned ended, matched, replies;
	struct media_icmp_echo_reply last;
	uint8_t last_data[64];
};


static void on_end(struct media_stream *ms, enum media_end_reason r,
		   void *arg)
{
	struct intake *t = arg;
	(void)ms;
	(void)r;

	++t->ended;
}


static void on_matched(const struct icmp_err *e, void *arg)
{
	struct intake *t = arg;
	(void)e;

	++t->matched;
}


static void on_stop(void *arg)
{
	gw_reactor_stop(arg);
}


static void on_reply(const struct media_icmp_echo_reply *r, void *arg)
{
	struct intake *t = arg;

	++t->replies;
	t->last = *r;
	memcpy(t->last_data, r->data, r->len < sizeof(t->last_data) ?
	       r->len : sizeof(t->last_data));
	t->last.data = t->last_data;
	gw_reactor_stop(t->r);
}


static void run_for(struct intake *t, uint64_t ms)
{
	gw_timer_start(t->stop, ms, on_stop, t->r);
	gw_reactor_run(t->r);
}


static int setup(struct intake *t, bool judge, enum gw_tristate raw)
{
	int err;

	memset(t, 0, sizeof(*t));
	err = gw_conf_default(&t->conf);
	if (err)
		return err;
	t->conf->media.rtp_ports.first = 41200;
	t->conf->media.rtp_ports.last = 41209;
	t->conf->icmp.enabled = judge;
	t->conf->icmp.raw_listeners = raw;

	err = gw_reactor_alloc(&t->r);
	if (!err)
		err = gw_timer_alloc(&t->stop, t->r);
	if (!err)
		err = media_mgr_alloc(&t->mm, t->r, t->conf);
	if (!err)
		err = media_icmp_start(t->mm);

	return err;
}


static void teardown(struct intake *t)
{
	mem_deref(t->ms);
	mem_deref(t->mm);
	mem_deref(t->stop);
	mem_deref(t->r);
	mem_deref(t->conf);
}


/* icmp.enabled: false: errors about a live peer are read, never
 * counted, and one a prober expects still reaches it */
int test_icmp_judge_off(void)
{
	static const char offer[] = "v=0\r\no=p 1 1 IN IP4 127.0.0.1\r\n"
		"s=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		"m=audio 41300 RTP/AVP 0\r\n";
	struct media_icmp_expect *x = NULL;
	struct media_icmp_stats st;
	struct intake t;
	struct icmp_err e;
	struct sa laddr, peer;
	struct odict *o = NULL;
	char *ans = NULL;
	bool b = true;
	int err;

	err = setup(&t, false, GW_OFF);
	TEST_ERR(err);

	sa_set_str(&laddr, "127.0.0.1", 0);
	sa_set_str(&peer, "127.0.0.1", 41300);
	TEST_ERR(media_stream_alloc(&t.ms, t.mm, &laddr, on_end, &t));
	TEST_ERR(media_stream_answer(t.ms, offer, strlen(offer), &ans));

	/* an 8-byte quote of the live 4-tuple, port unreachable */
	memset(&e, 0, sizeof(e));
	e.path = ICMP_PATH_RAW;
	e.type = 3;
	e.code = 3;
	e.kind = (enum icmp_kind)icmp_classify(AF_INET, 3, 3);
	memcpy(&e.offender, &peer.u, peer.len);
	memcpy(&e.src, &media_stream_laddr(t.ms)->u,
	       media_stream_laddr(t.ms)->len);
	memcpy(&e.dst, &peer.u, peer.len);
	e.udp_len = -1;

	for (int i = 0; i < 10; i++)
		TEST_EQUALS(ICMP_UNJUDGED, media_icmp_input(t.mm, &e));
	run_for(&t, 200);
	TEST_EQUALS(0, t.ended);

	TEST_ERR(media_icmp_expect(&x, t.mm, &peer,
				   sa_port(media_stream_laddr(t.ms)), 1000,
				   on_matched, &t));
	TEST_EQUALS(ICMP_MATCHED, media_icmp_input(t.mm, &e));
	TEST_EQUALS(1, t.matched);

	media_icmp_stats(t.mm, &st);
	TEST_EQUALS(10, st.unjudged);
	TEST_EQUALS(0, st.counted);
	TEST_EQUALS(1, st.matched);

	TEST_ERR(odict_alloc(&o, 16));
	media_icmp_status(t.mm, o);
	TEST_ASSERT(odict_get_boolean(o, &b, "judge") && !b);
	TEST_ASSERT(odict_get_boolean(o, &b, "running") && b);
	TEST_ASSERT(odict_get_boolean(o, &b, "enabled") && !b);

 out:
	mem_deref(o);
	mem_deref(ans);
	mem_deref(x);
	teardown(&t);
	return err;
}


/* An echo request to the loopback address from a raw socket of ours;
 * the kernel answers it (RFC 792; ICMPv6: RFC 4443 §4.1) */
static int ping(int family, uint16_t ident, uint16_t seq)
{
	static const char payload[] = "keepline-echo";
	uint8_t b[8 + sizeof(payload) - 1];
	struct sa to;
	int fd, err = 0;

	fd = socket(family, SOCK_RAW, family == AF_INET ? IPPROTO_ICMP :
		    IPPROTO_ICMPV6);
	if (fd < 0)
		return errno;

	memset(b, 0, sizeof(b));
	b[0] = family == AF_INET ? 8 : 128;
	b[4] = (uint8_t)(ident >> 8);
	b[5] = (uint8_t)ident;
	b[6] = (uint8_t)(seq >> 8);
	b[7] = (uint8_t)seq;
	memcpy(b + 8, payload, sizeof(payload) - 1);
	if (family == AF_INET) {
		uint16_t c = gw_inet_csum(b, sizeof(b));

		b[2] = (uint8_t)(c >> 8);
		b[3] = (uint8_t)c;
	}   /* ICMPv6: the kernel fills the checksum in */

	sa_set_str(&to, family == AF_INET ? "127.0.0.1" : "::1", 0);
	if (sendto(fd, b, sizeof(b), 0, &to.u.sa, to.len) != (ssize_t)sizeof(b))
		err = errno;
	close(fd);

	return err;
}


int test_icmp_echo_replies(void)
{
	struct media_icmp_echo *e4 = NULL, *e6 = NULL, *dup = NULL;
	struct intake t, off;
	struct sa lo;
	int err;

	memset(&off, 0, sizeof(off));
	if (geteuid() != 0) {
		fprintf(stderr, "# skipped: raw ICMP sockets need root\n");
		return 0;
	}

	err = setup(&t, true, GW_ON);
	TEST_ERR(err);

	TEST_ERR(media_icmp_echo_listen(&e4, t.mm, AF_INET, 0x4b4c, on_reply,
					&t));
	TEST_EQUALS(EADDRINUSE, media_icmp_echo_listen(&dup, t.mm, AF_INET,
						       0x4b4c, on_reply, &t));

	/* someone else's identifier first: read, not delivered */
	TEST_ERR(ping(AF_INET, 0x4b4d, 9));
	TEST_ERR(ping(AF_INET, 0x4b4c, 7));
	for (int i = 0; i < 10 && !t.replies; i++)
		run_for(&t, 100);
	TEST_EQUALS(1, t.replies);
	TEST_EQUALS(0x4b4c, t.last.ident);
	TEST_EQUALS(7, t.last.seq);
	TEST_EQUALS(13, t.last.len);
	TEST_ASSERT(!memcmp(t.last.data, "keepline-echo", 13));
	TEST_EQUALS(64, t.last.ttl);
	sa_set_str(&lo, "127.0.0.1", 0);
	TEST_ASSERT(sa_cmp(&t.last.from, &lo, SA_ADDR));
	TEST_ASSERT(t.last.rx_us > 0);
	run_for(&t, 100);   /* nothing more comes */
	TEST_EQUALS(1, t.replies);
	TEST_EQUALS(1, t.mm->icmp->echo_unclaimed);

	/* ICMPv6 the same way */
	TEST_ERR(media_icmp_echo_listen(&e6, t.mm, AF_INET6, 0x4b4c, on_reply,
					&t));
	TEST_ERR(ping(AF_INET6, 0x4b4c, 8));
	for (int i = 0; i < 10 && t.replies < 2; i++)
		run_for(&t, 100);
	TEST_EQUALS(2, t.replies);
	TEST_EQUALS(8, t.last.seq);
	TEST_EQUALS(-1, t.last.ttl);
	sa_set_str(&lo, "::1", 0);
	TEST_ASSERT(sa_cmp(&t.last.from, &lo, SA_ADDR));

	/* withdrawn: the kernel filter blocks echo replies again */
	e4 = mem_deref(e4);
	TEST_ASSERT(!icmp_echo_wanted(t.mm->icmp, AF_INET));
	TEST_ERR(ping(AF_INET, 0x4b4c, 10));
	run_for(&t, 200);
	TEST_EQUALS(2, t.replies);
	TEST_EQUALS(1, t.mm->icmp->echo_unclaimed);

	/* without a raw listener: the prober must use a socket of its own */
	err = setup(&off, true, GW_OFF);
	TEST_ERR(err);
	TEST_EQUALS(ENOTSUP, media_icmp_echo_listen(&dup, off.mm, AF_INET, 1,
						    on_reply, &off));

 out:
	mem_deref(e4);
	mem_deref(e6);
	teardown(&t);
	teardown(&off);
	return err;
}
