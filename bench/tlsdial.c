/**
 * @file tlsdial.c  Mutual-TLS handshakes per second, for bench/reflector
 *
 *   tlsdial IP:PORT CERT.pem KEY.pem ALPN SECONDS [PROCESSES]
 *
 * Each process connects, completes a TLS 1.3 handshake presenting CERT
 * and offering ALPN, reads until the server has said something or closed
 * (so the server has finished its side: it has verified our certificate),
 * closes, and again, for SECONDS. Prints one line of JSON: handshakes,
 * failures, seconds, rate [1/s]. No session resumption: every handshake is
 * a full one, as the servers under test allow no tickets.
 *
 * A bench tool, not part of the gateway.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);

	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


static int one(SSL_CTX *ctx, const struct sockaddr_in *sin, const char *msg,
	       size_t msglen)
{
	struct timeval tv = {.tv_sec = 5};
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok = 0, one_ = 1;
	char buf[4096];
	SSL *ssl;

	if (fd < 0)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof(one_));
	if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin))) {
		close(fd);
		return 0;
	}
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) == 1 &&
	    SSL_write(ssl, msg, (int)msglen) == (int)msglen &&
	    SSL_read(ssl, buf, sizeof(buf)) > 0)
		ok = 1;
	ERR_clear_error();
	SSL_free(ssl);
	close(fd);

	return ok;
}


int main(int argc, char **argv)
{
	/* a pp-link/1 hello: the reflector answers it; s_server -rev echoes
	 * the line reversed */
	static const char hello[] =
		"\0\0\0\x3d{\"request_id\":\"1\",\"payload\":{\"type\":\"hello\","
		"\"version\":\"1.0\"}}\n";
	struct sockaddr_in sin = {.sin_family = AF_INET};
	unsigned char alpn[256];
	int procs, fds[64][2];
	double seconds, t0;
	char *colon;
	long total = 0, failed = 0;

	if (argc < 6) {
		fprintf(stderr, "usage: tlsdial IP:PORT CERT KEY ALPN SECONDS "
			"[PROCESSES]\n");
		return 2;
	}
	colon = strrchr(argv[1], ':');
	if (!colon)
		return 2;
	*colon = '\0';
	inet_pton(AF_INET, argv[1], &sin.sin_addr);
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	seconds = atof(argv[5]);
	procs = argc > 6 ? atoi(argv[6]) : 1;
	if (procs < 1 || procs > 64 || strlen(argv[4]) > 255)
		return 2;
	alpn[0] = (unsigned char)strlen(argv[4]);
	memcpy(alpn + 1, argv[4], alpn[0]);

	t0 = now_s();
	for (int p = 0; p < procs; p++) {
		if (pipe(fds[p]))
			return 2;
		if (fork() == 0) {
			SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
			long n = 0, bad = 0;
			char line[64];

			SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
			SSL_CTX_set_alpn_protos(ctx, alpn, alpn[0] + 1u);
			SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
			if (SSL_CTX_use_certificate_file(ctx, argv[2],
							 SSL_FILETYPE_PEM) != 1 ||
			    SSL_CTX_use_PrivateKey_file(ctx, argv[3],
							SSL_FILETYPE_PEM) != 1) {
				fprintf(stderr, "tlsdial: cannot load %s/%s\n",
					argv[2], argv[3]);
				_exit(2);
			}
			while (now_s() - t0 < seconds) {
				if (one(ctx, &sin, hello, sizeof(hello) - 1))
					++n;
				else
					++bad;
			}
			snprintf(line, sizeof(line), "%ld %ld\n", n, bad);
			if (write(fds[p][1], line, strlen(line)) < 0)
				_exit(2);
			_exit(0);
		}
		close(fds[p][1]);
	}
	for (int p = 0; p < procs; p++) {
		char line[64] = {0};
		long n = 0, bad = 0;

		if (read(fds[p][0], line, sizeof(line) - 1) > 0 &&
		    sscanf(line, "%ld %ld", &n, &bad) == 2) {
			total += n;
			failed += bad;
		}
		close(fds[p][0]);
		wait(NULL);
	}
	seconds = now_s() - t0;
	printf("{\"handshakes\":%ld,\"failures\":%ld,\"seconds\":%.2f,"
	       "\"rate\":%.1f}\n", total, failed, seconds,
	       (double)total / seconds);

	return 0;
}
