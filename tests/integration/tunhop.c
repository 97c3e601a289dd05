/**
 * @file tunhop.c  A delaying, dropping router hop on a TUN device: the
 *                 kernel here has no netem (tests/integration/tunhop.py)
 *
 *   tunhop IFACE DELAY_MS SECS [DROP_EVERY]
 *
 * Attaches to the persistent TUN device IFACE (the test made it with `ip
 * tuntap add`), prints "ready", and writes every packet it reads back to
 * IFACE DELAY_MS later, in order; with DROP_EVERY=N, every N-th ICMP or
 * ICMPv6 echo request is dropped instead. The wait for the next due packet
 * is ppoll() with a nanosecond timeout, so the delay is the kernel's
 * wake-up away from exact (tens of microseconds), not a millisecond. After
 * SECS it prints "forwarded=F dropped=D late_max_us=L" and exits.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

enum { SLOTS = 8192, MTU = 2048 };

struct slot {
	uint64_t due;                 /**< [ns], CLOCK_MONOTONIC */
	uint16_t len;
	uint8_t data[MTU];
};

static struct slot ring[SLOTS];


static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);

	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


static int echo_request(const uint8_t *p, size_t n)
{
	if (n >= 20 && (p[0] >> 4) == 4) {
		size_t ihl = (size_t)(p[0] & 15) * 4;

		return p[9] == 1 && n > ihl && p[ihl] == 8;
	}
	if (n >= 41 && (p[0] >> 4) == 6)
		return p[6] == 58 && p[40] == 128;

	return 0;
}


int main(int argc, char **argv)
{
	struct ifreq ifr;
	uint64_t delay, end, late_max = 0;
	unsigned long fwd = 0, dropped = 0, echoes = 0, drop_every;
	size_t head = 0, tail = 0;
	int fd;

	if (argc < 4) {
		fprintf(stderr, "usage: tunhop IFACE DELAY_MS SECS "
			"[DROP_EVERY]\n");
		return 2;
	}
	delay = (uint64_t)(atof(argv[2]) * 1e6);
	end = now_ns() + (uint64_t)(atof(argv[3]) * 1e9);
	drop_every = argc > 4 ? strtoul(argv[4], NULL, 10) : 0;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
	if (fd < 0) {
		perror("tunhop: /dev/net/tun");
		return 1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		perror("tunhop: TUNSETIFF");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);

	for (;;) {
		uint64_t t = now_ns(), wait;
		struct pollfd pfd = {fd, POLLIN, 0};
		struct timespec ts;

		if (t >= end)
			break;
		while (head != tail && ring[head].due <= t) {
			if (t - ring[head].due > late_max)
				late_max = t - ring[head].due;
			if (write(fd, ring[head].data, ring[head].len) > 0)
				++fwd;
			head = (head + 1) % SLOTS;
		}

		wait = end - t;
		if (head != tail && ring[head].due - t < wait)
			wait = ring[head].due - t;
		ts.tv_sec = (time_t)(wait / 1000000000u);
		ts.tv_nsec = (long)(wait % 1000000000u);
		if (ppoll(&pfd, 1, &ts, NULL) <= 0)
			continue;

		t = now_ns();
		for (int i = 0; i < 256; i++) {
			struct slot *s = &ring[tail];
			ssize_t n;

			if ((tail + 1) % SLOTS == head)
				break;      /* full: the kernel queues the rest */
			n = read(fd, s->data, sizeof(s->data));
			if (n <= 0)
				break;
			if (drop_every && echo_request(s->data, (size_t)n) &&
			    ++echoes % drop_every == 0) {
				++dropped;
				continue;
			}
			s->len = (uint16_t)n;
			s->due = t + delay;
			tail = (tail + 1) % SLOTS;
		}
	}

	printf("forwarded=%lu dropped=%lu late_max_us=%lu\n", fwd, dropped,
	       (unsigned long)(late_max / 1000));

	return 0;
}
