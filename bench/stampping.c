/**
 * @file stampping.c  A STAMP session-sender for bench/reflector
 *
 *   stampping DST_IP:PORT COUNT INTERVAL_US [SIZE]
 *
 * Sends COUNT RFC 8762 session-sender test packets (unauthenticated, SIZE
 * octets, at least 44) to DST every INTERVAL_US, T1 read just before each
 * send, T4 the kernel's receive time of the reply (SO_TIMESTAMPNS), and
 * reads T2 and T3 from the reflector's packet. Prints one line of JSON:
 * sent, received, and p50/p99 [us] of the reflector's residence time
 * (T3 - T2) and of the round trip without it ((T4 - T1) - (T3 - T2)).
 * Written from the RFC, not from Keepline's code.
 *
 * A bench tool, not part of the gateway.
 */

#include <arpa/inet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/ntp.h"

static int64_t ntp_ns(const uint8_t *p)
{
	uint64_t sec = (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 |
		(uint64_t)p[2] << 8 | p[3];
	uint64_t frac = (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
		(uint64_t)p[6] << 8 | p[7];

	return (int64_t)((sec - NTP_OFFSET) * 1000000000ull +
			 ((frac * 1000000000ull) >> 32));
}



static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000ll + t->tv_nsec;
}


static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}


static double pct(int64_t *v, size_t n, double q)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp);

	return (double)v[(size_t)(q * (double)(n - 1))] / 1000.0;
}


int main(int argc, char **argv)
{
	struct sockaddr_in dst = {.sin_family = AF_INET};
	int64_t *res, *rtt, t1s[1 << 16];
	size_t count, size = 44, nres = 0;
	long interval;
	char *colon;
	int fd, on = 1;

	if (argc < 4) {
		fprintf(stderr, "usage: stampping DST_IP:PORT COUNT "
			"INTERVAL_US [SIZE]\n");
		return 2;
	}
	colon = strrchr(argv[1], ':');
	if (!colon)
		return 2;
	*colon = '\0';
	inet_pton(AF_INET, argv[1], &dst.sin_addr);
	dst.sin_port = htons((uint16_t)atoi(colon + 1));
	count = (size_t)atol(argv[2]);
	interval = atol(argv[3]);
	if (argc > 4)
		size = (size_t)atol(argv[4]);
	if (!count || count > (1 << 16) || size < 44 || size > 1400)
		return 2;

	res = calloc(count, sizeof(*res));
	rtt = calloc(count, sizeof(*rtt));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (!res || !rtt || fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)))
		return 2;

	for (size_t i = 0; i < count; i++) {
		uint8_t pkt[1500] = {0}, in[1500];
		struct timespec t1, next;
		uint32_t seq = (uint32_t)i;

		clock_gettime(CLOCK_MONOTONIC, &next);
		pkt[0] = (uint8_t)(seq >> 24);
		pkt[1] = (uint8_t)(seq >> 16);
		pkt[2] = (uint8_t)(seq >> 8);
		pkt[3] = (uint8_t)seq;
		pkt[12] = 0x80;            /* S: we say nothing of our clock */
		pkt[13] = 1;
		clock_gettime(CLOCK_REALTIME, &t1);
		put_ntp(pkt + 4, &t1);
		t1s[i & 0xffff] = ts_ns(&t1);
		if (send(fd, pkt, size, 0) != (ssize_t)size)
			continue;

		/* the reply, or give up at the next send time */
		for (;;) {
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			char ctl[128];
			struct iovec iov = {.iov_base = in, .iov_len = sizeof(in)};
			struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
					    .msg_control = ctl,
					    .msg_controllen = sizeof(ctl)};
			struct timespec t4 = {0}, now;
			ssize_t n;
			long left;
			uint32_t rs;

			clock_gettime(CLOCK_MONOTONIC, &now);
			left = interval - (long)((ts_ns(&now) - ts_ns(&next)) /
						 1000);
			if (poll(&pfd, 1, left > 0 ? (int)(left / 1000) + 1 :
				 0) <= 0)
				break;
			n = recvmsg(fd, &mh, 0);
			if (n < 44)
				continue;
			for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
			     c = CMSG_NXTHDR(&mh, c))
				if (c->cmsg_level == SOL_SOCKET &&
				    c->cmsg_type == SCM_TIMESTAMPNS)
					memcpy(&t4, CMSG_DATA(c), sizeof(t4));
			rs = (uint32_t)in[24] << 24 | (uint32_t)in[25] << 16 |
				(uint32_t)in[26] << 8 | in[27];
			if (rs != seq || !t4.tv_sec)
				continue;
			res[nres] = ntp_ns(in + 4) - ntp_ns(in + 16);
			rtt[nres] = ts_ns(&t4) - t1s[i & 0xffff] - res[nres];
			++nres;
			break;
		}
		/* keep the pace */
		for (;;) {
			struct timespec now;

			clock_gettime(CLOCK_MONOTONIC, &now);
			if ((ts_ns(&now) - ts_ns(&next)) / 1000 >= interval)
				break;
			usleep(50);
		}
	}

	printf("{\"sent\":%zu,\"received\":%zu,\"residence_p50_us\":%.2f,"
	       "\"residence_p99_us\":%.2f,\"rtt_p50_us\":%.2f,"
	       "\"rtt_p99_us\":%.2f}\n", count, nres,
	       pct(res, nres, 0.5), pct(res, nres, 0.99),
	       pct(rtt, nres, 0.5), pct(rtt, nres, 0.99));

	return 0;
}
