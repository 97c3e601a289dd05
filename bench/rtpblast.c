/**
 * @file rtpblast.c  RTP load and latency for bench/relay
 *
 *   rtpblast SRC_PORT DST_IP:PORT[,PORT...] RECV_PORT RATE SECONDS [SIZE]
 *
 * Sends RTP packets of SIZE bytes (default 172: 20 ms of G.711) from
 * 127.0.0.1:SRC_PORT to DST at RATE packets per second for SECONDS, in
 * batches every millisecond (sendmmsg), and receives whatever arrives on
 * 127.0.0.1:RECV_PORT. With several ports (or @FILE, one port a line),
 * packets go round-robin to DST_IP at each port: one stream per port,
 * each with its own SSRC, RATE shared among them. Each payload carries its send time (CLOCK_MONOTONIC),
 * so the receiver measures one-way latency through the path under test.
 * Prints one line of JSON: sent, received, latency p50/p90/p99/max [us].
 * RECV_PORT equal to SRC_PORT receives on the sending socket: what an
 * echo server (bench/reflector) sends back to the source.
 *
 * A bench tool, not part of the gateway: one process, no threads.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { BATCH = 256, MAXPKT = 1500, HDR = 12, MAXDST = 20000 };

static struct sockaddr_in dsts[MAXDST];
static size_t ndst;


/* "5000", "5000,5002,..." or "@file" with one port a line */
static int parse_ports(const char *ip, const char *spec)
{
	FILE *f = NULL;
	char line[32];
	const char *p = spec;

	if (*spec == '@') {
		f = fopen(spec + 1, "r");
		if (!f)
			return -1;
	}

	for (;;) {
		unsigned port;

		if (f) {
			if (!fgets(line, sizeof(line), f))
				break;
			p = line;
		}
		if (sscanf(p, "%u", &port) != 1 || !port || port > 65535 ||
		    ndst == MAXDST)
			break;
		dsts[ndst].sin_family = AF_INET;
		dsts[ndst].sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, ip, &dsts[ndst].sin_addr);
		++ndst;
		if (!f) {
			p = strchr(p, ',');
			if (!p++)
				break;
		}
	}

	if (f)
		fclose(f);

	return ndst ? 0 : -1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);

	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


static int udp_bind(uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	int buf = 8 << 20;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		perror("bind");
		exit(2);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));

	return fd;
}


static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}


int main(int argc, char **argv)
{
	static uint8_t out[BATCH][MAXPKT], in[BATCH][MAXPKT];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	uint64_t start, end, next, sent = 0, received = 0, seq = 0;
	uint32_t *lat;
	size_t size, nlat = 0, cap;
	double rate;
	char ip[64], ports[4096];
	int sfd, rfd, seconds;

	if (argc < 6 || sscanf(argv[2], "%63[^:]:%4095s", ip, ports) != 2 ||
	    parse_ports(ip, ports)) {
		fprintf(stderr, "usage: rtpblast SRC_PORT DST_IP:PORT[,PORT...] "
			"RECV_PORT RATE SECONDS [SIZE]\n");
		return 2;
	}
	rate = atof(argv[4]);
	seconds = atoi(argv[5]);
	size = argc > 6 ? (size_t)atoi(argv[6]) : 172;
	if (size < HDR + 16 || size > MAXPKT || rate <= 0 || seconds <= 0) {
		fprintf(stderr, "rtpblast: bad size, rate or seconds\n");
		return 2;
	}

	sfd = udp_bind((uint16_t)atoi(argv[1]));
	/* RECV_PORT = SRC_PORT: one socket, for an echo server's replies */
	rfd = atoi(argv[3]) == atoi(argv[1]) ? sfd :
		udp_bind((uint16_t)atoi(argv[3]));

	cap = (size_t)(rate * seconds) + BATCH;
	lat = malloc(cap * sizeof(*lat));
	if (!lat)
		return 2;

	for (int i = 0; i < BATCH; i++) {
		memset(out[i], 0, size);
		out[i][0] = 0x80;          /* RTP version 2 */
		out[i][1] = 0;             /* PCMU */
		memcpy(out[i] + 8, "\x0b\x1a\x57\x00", 4);   /* SSRC */
	}

	start = now_ns();
	end = start + (uint64_t)seconds * 1000000000u;
	next = start;

	/* run until the send window is over and the tail has drained */
	while (now_ns() < end + 200000000u) {
		uint64_t t = now_ns();
		struct pollfd pfd = {.fd = rfd, .events = POLLIN};

		/* send what the schedule owes, at most a batch at a time */
		if (t < end && t >= next) {
			uint64_t due = (uint64_t)((double)(t - start) * rate /
						  1e9) + 1;
			unsigned n = due > sent ? (unsigned)(due - sent) : 0;

			if (n > BATCH)
				n = BATCH;
			for (unsigned i = 0; i < n; i++) {
				uint16_t s16 = htons((uint16_t)seq);
				uint64_t ts = now_ns();

				size_t d = seq % ndst;
				uint32_t ssrc = htonl(0x0b1a5700u + (uint32_t)d);

				memcpy(out[i] + 2, &s16, 2);
				memcpy(out[i] + 8, &ssrc, 4);
				memcpy(out[i] + HDR, &ts, 8);
				memcpy(out[i] + HDR + 8, &seq, 8);
				++seq;
				iov[i] = (struct iovec){out[i], size};
				memset(&msgs[i], 0, sizeof(msgs[i]));
				msgs[i].msg_hdr.msg_iov = &iov[i];
				msgs[i].msg_hdr.msg_iovlen = 1;
				msgs[i].msg_hdr.msg_name = &dsts[d];
				msgs[i].msg_hdr.msg_namelen = sizeof(dsts[d]);
			}
			if (n) {
				int k = sendmmsg(sfd, msgs, n, 0);
				if (k > 0)
					sent += (uint64_t)k;
			}
			next = t + 1000000u;   /* a batch every millisecond */
		}

		if (poll(&pfd, 1, t < end ? 1 : 10) <= 0)
			continue;

		for (;;) {
			int k;

			for (int i = 0; i < BATCH; i++) {
				iov[i] = (struct iovec){in[i], MAXPKT};
				memset(&msgs[i], 0, sizeof(msgs[i]));
				msgs[i].msg_hdr.msg_iov = &iov[i];
				msgs[i].msg_hdr.msg_iovlen = 1;
			}
			k = recvmmsg(rfd, msgs, BATCH, MSG_DONTWAIT, NULL);
			if (k <= 0)
				break;

			t = now_ns();
			for (int i = 0; i < k; i++) {
				uint64_t ts;

				if (msgs[i].msg_len < HDR + 16)
					continue;
				memcpy(&ts, in[i] + HDR, 8);
				++received;
				if (nlat < cap && t >= ts)
					lat[nlat++] = (uint32_t)((t - ts) / 1000);
			}
		}
	}

	qsort(lat, nlat, sizeof(*lat), cmp_u32);
#define PCT(p) (nlat ? lat[(size_t)((double)(nlat - 1) * (p))] : 0)
	printf("{\"sent\": %llu, \"received\": %llu, \"p50_us\": %u, "
	       "\"p90_us\": %u, \"p99_us\": %u, \"max_us\": %u}\n",
	       (unsigned long long)sent, (unsigned long long)received,
	       PCT(0.50), PCT(0.90), PCT(0.99), PCT(1.0));
	free(lat);

	return 0;
}
