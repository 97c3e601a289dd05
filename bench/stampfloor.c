/**
 * @file stampfloor.c  The floor under a STAMP reflector's residence time,
 * for bench/reflector
 *
 *   stampfloor PORT
 *
 * The least a reflector can do on 127.0.0.1:PORT: a blocking recvmsg()
 * with the kernel's receive time (SO_TIMESTAMPNS) as T2, the sender's
 * fields copied (RFC 8762 §4.3.1, stateless), T3 read, sendto(). No event
 * loop, no checks, no rate limit: whatever residence time this shows is
 * the machine's (the wake-up of an idle CPU, mostly), not a reflector's.
 *
 * A bench tool, not part of the gateway.
 */

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/ntp.h"


int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd, on = 1;

	if (argc != 2)
		return 2;
	a.sin_port = htons((uint16_t)atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("stampfloor");
		return 2;
	}

	for (;;) {
		uint8_t b[1500], seq[4], ts[8], ee[2];
		char ctl[128];
		struct sockaddr_in from;
		struct iovec iov = {.iov_base = b, .iov_len = sizeof(b)};
		struct msghdr mh = {.msg_name = &from,
				    .msg_namelen = sizeof(from),
				    .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = ctl,
				    .msg_controllen = sizeof(ctl)};
		struct timespec t2 = {0}, t3;
		ssize_t n = recvmsg(fd, &mh, 0);

		if (n < 44)
			continue;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
		     c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_TIMESTAMPNS)
				memcpy(&t2, CMSG_DATA(c), sizeof(t2));
		memcpy(seq, b, 4);
		memcpy(ts, b + 4, 8);
		memcpy(ee, b + 12, 2);
		memset(b + 4, 0, 40);
		put_ntp(b + 16, &t2);
		memcpy(b + 24, seq, 4);
		memcpy(b + 28, ts, 8);
		memcpy(b + 36, ee, 2);
		clock_gettime(CLOCK_REALTIME, &t3);
		put_ntp(b + 4, &t3);
		sendto(fd, b, (size_t)n, 0, (struct sockaddr *)&from,
		       mh.msg_namelen);
	}
}
