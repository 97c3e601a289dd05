/**
 * @file test_nw_health.c  Netwatch's figures, score, verdict and
 *                         hold-down (netwatch/health.c), and its wire
 *                         readers on packets built by hand
 */

#include <stdint.h>

#include "gateway/libre.h"
#include "netwatch/health.h"
#include "gateway/inet.h"
#include "netwatch/wire.h"
#include "tests/unit/unit.h"

#define MS(x) ((uint64_t)((x) * 1000000.0))


int test_nw_stats(void)
{
	struct nw_stats s;
	int err = 0;

	memset(&s, 0, sizeof(s));
	nw_stats_answer(&s, MS(10), true);
	nw_stats_answer(&s, MS(26), true);   /* D = 16 ms: J = 1 ms */
	nw_stats_lost(&s);
	nw_stats_answer(&s, MS(10), false);  /* D = 16 ms again */

	TEST_EQUALS(4, s.sent);
	TEST_EQUALS(3, s.received);
	TEST_EQUALS(MS(10), s.min_ns);
	TEST_EQUALS(MS(26), s.max_ns);
	TEST_ASSERT(nw_stats_loss_pct(&s) == 25.0);
	/* (10 + 26 + 10) / 3 */
	TEST_ASSERT(nw_stats_avg_ms(&s) > 15.333 &&
		    nw_stats_avg_ms(&s) < 15.334);
	/* RFC 3550 §6.4.1: J1 = 16/16 = 1 ms, J2 = 1 + (16 - 1)/16 */
	TEST_ASSERT(s.jitter_ns > MS(1.9375) - 1 &&
		    s.jitter_ns < MS(1.9375) + 1);
	TEST_EQUALS(2, s.kernel_ts);

 out:
	return err;
}


int test_nw_verdict_and_score(void)
{
	const struct nw_thresholds th = {100, 2, 10};
	struct nw_stats s;
	int err = 0;

	memset(&s, 0, sizeof(s));
	TEST_EQUALS(NW_UNMEASURED, nw_state_of(&s, &th));
	for (int i = 0; i < 5; i++)
		nw_stats_lost(&s);
	TEST_EQUALS(NW_DOWN, nw_state_of(&s, &th));
	TEST_ASSERT(nw_score(&s, &th) == 0.0);

	memset(&s, 0, sizeof(s));
	for (int i = 0; i < 5; i++)
		nw_stats_answer(&s, MS(20), true);
	TEST_EQUALS(NW_UP, nw_state_of(&s, &th));
	/* latency 20/100: costs 0.4 * 0.1; no loss, no jitter */
	TEST_ASSERT(nw_score(&s, &th) > 95.99 && nw_score(&s, &th) < 96.01);
	nw_stats_lost(&s);      /* 1 in 6: past loss_pct */
	TEST_EQUALS(NW_DEGRADED, nw_state_of(&s, &th));

	memset(&s, 0, sizeof(s));
	nw_stats_answer(&s, MS(250), true);   /* past twice latency_ms */
	TEST_EQUALS(NW_DEGRADED, nw_state_of(&s, &th));
	TEST_ASSERT(nw_score(&s, &th) > 59.99 && nw_score(&s, &th) < 60.01);

 out:
	return err;
}


int test_nw_hold_down(void)
{
	struct nw_hold h;
	int err = 0;

	memset(&h, 0, sizeof(h));
	/* the first verdict at once */
	TEST_ASSERT(nw_hold_update(&h, NW_UP, 0, 1000, 3000));
	TEST_EQUALS(NW_UP, h.state);
	/* one degraded check, then up again: never flips */
	TEST_ASSERT(!nw_hold_update(&h, NW_DEGRADED, 1000, 2000, 3000));
	TEST_ASSERT(!nw_hold_update(&h, NW_UP, 2000, 3000, 3000));
	TEST_ASSERT(!nw_hold_update(&h, NW_DEGRADED, 3000, 4000, 3000));
	TEST_EQUALS(NW_UP, h.state);
	/* down from the check that began at 5 s: taken at the end of the
	 * first check that ends 3 s or more after that */
	TEST_ASSERT(!nw_hold_update(&h, NW_DOWN, 5000, 6000, 3000));
	TEST_ASSERT(!nw_hold_update(&h, NW_DOWN, 6000, 7000, 3000));
	TEST_ASSERT(!nw_hold_update(&h, NW_DOWN, 7000, 7999, 3000));
	TEST_ASSERT(nw_hold_update(&h, NW_DOWN, 8000, 9000, 3000));
	TEST_EQUALS(NW_DOWN, h.state);
	TEST_EQUALS(9000, h.since);
	/* hold 0: every verdict at once */
	TEST_ASSERT(nw_hold_update(&h, NW_UP, 9000, 10000, 0));

 out:
	return err;
}


int test_nw_wire(void)
{
	uint8_t pkt[20 + 64], cookie[8] = {1, 2, 3, 4, 5, 6, 7, 8}, d[32];
	const uint8_t *c;
	struct nw_echo e;
	uint16_t seq, sum;
	int err = 0;

	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x45;
	pkt[9] = 1;
	/* echo reply ident 0x1234 seq 7 with the cookie */
	pkt[24] = 0x12; pkt[25] = 0x34; pkt[27] = 7;
	memcpy(pkt + 28, cookie, 8);
	sum = gw_inet_csum(pkt + 20, 64);
	pkt[22] = (uint8_t)(sum >> 8);
	pkt[23] = (uint8_t)sum;

	TEST_ASSERT(nw_echo_parse(pkt, sizeof(pkt), false, true, &e));
	TEST_EQUALS(0x1234, e.ident);
	TEST_EQUALS(7, e.seq);
	TEST_ASSERT(!memcmp(e.cookie, cookie, 8));
	/* the same without the IP header, as a ping socket reads it */
	TEST_ASSERT(nw_echo_parse(pkt + 20, 64, false, false, &e));
	/* not ICMPv6, not with a bad checksum, not cut short */
	TEST_ASSERT(!nw_echo_parse(pkt + 20, 64, true, false, &e));
	pkt[30] ^= 1;
	TEST_ASSERT(!nw_echo_parse(pkt, sizeof(pkt), false, true, &e));
	pkt[30] ^= 1;
	TEST_ASSERT(!nw_echo_parse(pkt, 20 + 15, false, true, &e));
	pkt[0] = 0x44;   /* an IHL below 5 */
	TEST_ASSERT(!nw_echo_parse(pkt, sizeof(pkt), false, true, &e));

	nw_udp_probe_write(d, 0xbeef, cookie);
	TEST_ASSERT(nw_udp_probe_read(d, sizeof(d), &seq, &c));
	TEST_EQUALS(0xbeef, seq);
	TEST_ASSERT(!memcmp(c, cookie, 8));
	TEST_ASSERT(!nw_udp_probe_read(d, 13, &seq, &c));
	d[0] = 'X';
	TEST_ASSERT(!nw_udp_probe_read(d, sizeof(d), &seq, &c));

 out:
	return err;
}
