/**
 * @file appliance_tests.c  `keepline appliance echo` (timestamped
 * datagrams: RTT and loss) and `throughput` (the iperf3 client, as
 * granted)
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gateway/libre.h"
#include "gateway/conf.h"
#include "reflector/appliance_int.h"
#include "reflector/client.h"

extern char **environ;


static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);

	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}


struct echo_stats {
	unsigned sent, received, bad;
	double min, max, sum;         /**< [ms] */
	uint8_t *seen;
};


static void echo_take(int fd, struct echo_stats *st, unsigned count,
		      unsigned size)
{
	uint8_t buf[65536];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		uint32_t magic, seq;
		uint64_t t;
		double rtt;

		if (n < 0)
			return;
		memcpy(&magic, buf, 4);
		memcpy(&seq, buf + 4, 4);
		memcpy(&t, buf + 8, 8);
		if ((size_t)n != size || magic != ECHO_MAGIC || seq >= count ||
		    st->seen[seq]) {
			++st->bad;  /* not ours, a duplicate, or cut short */
			continue;
		}
		st->seen[seq] = 1;
		rtt = (double)(now_ns() - t) / 1e6;
		++st->received;
		st->sum += rtt;
		if (st->received == 1 || rtt < st->min)
			st->min = rtt;
		if (rtt > st->max)
			st->max = rtt;
	}
}


static void echo_wait(int fd, struct echo_stats *st, unsigned count,
		      unsigned size, uint64_t until_ns)
{
	for (;;) {
		uint64_t now = now_ns();
		struct pollfd pfd = {.fd = fd, .events = POLLIN};

		if (now >= until_ns || st->received == count)
			return;
		if (poll(&pfd, 1, (int)((until_ns - now) / 1000000) + 1) > 0)
			echo_take(fd, st, count, size);
	}
}


int refl_app_echo(const struct gw_conf *conf, const struct opts *o,
		   char **args, int n)
{
	struct refl_client *c = NULL;
	struct odict *g = NULL;
	struct echo_stats st = {0};
	const char *test_id;
	uint8_t pkt[65536];
	uint64_t port = 0, next;
	struct sa dst;
	int rc, fd = -1;

	if (n != 1 || o->size < ECHO_MIN || o->size > 60000 || !o->count)
		return EX_USAGE;
	rc = refl_app_dial(conf, o, args[0], &c);
	if (!rc)
		rc = refl_app_request_session(c, o, &g);
	if (rc)
		goto out;

	test_id = odict_string(g, "test_id");
	odict_get_number(g, &port, "port");
	dst = *refl_client_addr(c);
	sa_set_port(&dst, (uint16_t)port);

	st.seen = calloc(o->count, 1);
	fd = socket(sa_af(&dst), SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (!st.seen || fd < 0 || connect(fd, &dst.u.sa, dst.len)) {
		re_fprintf(stderr, "keepline appliance: UDP to %J: %s\n",
			   &dst, strerror(errno));
		rc = EX_FAIL;
		goto out;
	}

	/* a non-zero filler: zeros at 14..43 would make it a STAMP test
	 * packet, answered as STAMP instead of echoed */
	memset(pkt, 0xa5, sizeof(pkt));
	next = now_ns();
	for (unsigned i = 0; i < o->count; i++) {
		uint32_t magic = ECHO_MAGIC, seq = i;
		uint64_t t;

		echo_wait(fd, &st, o->count, o->size, next);
		t = now_ns();
		memcpy(pkt, &magic, 4);
		memcpy(pkt + 4, &seq, 4);
		memcpy(pkt + 8, &t, 8);
		if (send(fd, pkt, o->size, 0) == (ssize_t)o->size)
			++st.sent;
		next += (uint64_t)o->interval_ms * 1000000ull;
	}
	echo_wait(fd, &st, o->count, o->size,
		  now_ns() + (uint64_t)o->timeout_ms * 1000000ull);

	if (o->json) {
		printf("{\"test_id\":\"%s\",\"port\":%" PRIu64 ",\"sent\":%u,"
		       "\"received\":%u,\"loss_pct\":%.2f,\"rtt_min_ms\":%.3f,"
		       "\"rtt_avg_ms\":%.3f,\"rtt_max_ms\":%.3f,"
		       "\"unexpected\":%u}\n", test_id, port, st.sent,
		       st.received, st.sent ? 100.0 * (st.sent - st.received) /
		       st.sent : 0.0, st.min, st.received ?
		       st.sum / st.received : 0.0, st.max, st.bad);
	}
	else {
		printf("echo %s port %" PRIu64 " test %s: sent=%u "
		       "received=%u loss=%.1f%%", args[0], port, test_id,
		       st.sent, st.received, st.sent ?
		       100.0 * (st.sent - st.received) / st.sent : 0.0);
		if (st.received)
			printf(" rtt min/avg/max = %.3f/%.3f/%.3f ms", st.min,
			       st.sum / st.received, st.max);
		printf("\n");
	}

	if (!o->keep)
		rc = refl_app_close_session(c, test_id);
	if (!rc && !st.received)
		rc = EX_FAIL;

 out:
	if (fd >= 0)
		close(fd);
	free(st.seen);
	mem_deref(g);
	mem_deref(c);

	return rc;
}


/* Run argv, its stdout into *outp (up to 4 MiB); the exit status */
static int run_child(char *const argv[], char **outp, size_t *lenp)
{
	posix_spawn_file_actions_t fa;
	size_t cap = 1 << 16, len = 0;
	char *out = malloc(cap);
	int pipefd[2], status = -1;
	pid_t pid;

	if (!out || pipe2(pipefd, O_CLOEXEC)) {
		free(out);
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ)) {
		posix_spawn_file_actions_destroy(&fa);
		close(pipefd[0]);
		close(pipefd[1]);
		free(out);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap && cap < (4u << 20)) {
			char *more = realloc(out, cap * 2);

			if (!more)
				break;
			out = more;
			cap *= 2;
		}
		n = read(pipefd[0], out + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(pipefd[0]);
	out[len] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*outp = out;
	*lenp = len;

	return status;
}


static void sum_of(const struct odict *end, const char *key, uint64_t *bytes,
		   double *bps)
{
	const struct odict_entry *e = odict_lookup(end, key);
	const struct odict_entry *b;

	if (!e || e->type != ODICT_OBJECT)
		return;
	odict_get_number(e->u.odict, bytes, "bytes");
	b = odict_lookup(e->u.odict, "bits_per_second");
	if (b && b->type == ODICT_DOUBLE)
		*bps = b->u.dbl;
	else if (b && b->type == ODICT_INT)
		*bps = (double)b->u.integer;
}


int refl_app_throughput(const struct gw_conf *conf, const struct opts *o,
			 char **args, int n)
{
	struct opts tp = *o;
	struct refl_client *c = NULL;
	struct odict *g = NULL, *res = NULL;
	const struct odict_entry *end;
	char host[64], port[8], dur[16], streams[8];
	char *argv[18], *out = NULL;
	uint64_t gport = 0, gstreams = 1, sent = 0, rcvd = 0;
	double sbps = 0, rbps = 0;
	size_t len = 0;
	int rc, status, k = 0;

	if (n != 1)
		return EX_USAGE;
	tp.type = "throughput";
	rc = refl_app_dial(conf, &tp, args[0], &c);
	if (!rc)
		rc = refl_app_request_session(c, &tp, &g);
	if (rc)
		goto out;

	odict_get_number(g, &gport, "port");
	odict_get_number(g, &gstreams, "streams");
	re_snprintf(host, sizeof(host), "%j", refl_client_addr(c));
	snprintf(port, sizeof(port), "%llu", (unsigned long long)gport);
	snprintf(streams, sizeof(streams), "%llu",
		 (unsigned long long)gstreams);
	{
		uint64_t d = o->duration;

		odict_get_number(g, &d, "duration_sec");
		snprintf(dur, sizeof(dur), "%llu", (unsigned long long)d);
	}
	argv[k++] = conf->reflector.iperf3.path;
	argv[k++] = "-c";
	argv[k++] = host;
	argv[k++] = "-p";
	argv[k++] = port;
	argv[k++] = "-t";
	argv[k++] = dur;
	argv[k++] = "-P";
	argv[k++] = streams;
	argv[k++] = "-J";
	if (o->reverse)
		argv[k++] = "-R";
	if (o->udp)
		argv[k++] = "-u";
	if (o->bitrate) {
		argv[k++] = "-b";
		argv[k++] = (char *)o->bitrate;
	}
	argv[k] = NULL;

	status = run_child(argv, &out, &len);
	if (status < 0 || json_decode_odict(&res, 32, out, len, 16)) {
		fprintf(stderr, "keepline appliance: iperf3 (%s) did not run "
			"or wrote no JSON\n", conf->reflector.iperf3.path);
		rc = EX_FAIL;
		goto out;
	}
	if (odict_string(res, "error")) {
		fprintf(stderr, "keepline appliance: iperf3: %s\n",
			odict_string(res, "error"));
		rc = EX_FAIL;
		goto out;
	}
	end = odict_lookup(res, "end");
	if (end && end->type == ODICT_OBJECT) {
		sum_of(end->u.odict, "sum_sent", &sent, &sbps);
		sum_of(end->u.odict, "sum_received", &rcvd, &rbps);
		if (!sent)
			sum_of(end->u.odict, "sum", &sent, &sbps);
	}
	if (o->json)
		printf("{\"test_id\":\"%s\",\"port\":%s,\"streams\":%s,"
		       "\"reverse\":%s,\"bytes_sent\":%llu,"
		       "\"bytes_received\":%llu,\"sent_bps\":%.0f,"
		       "\"received_bps\":%.0f}\n", odict_string(g, "test_id"),
		       port, streams, o->reverse ? "true" : "false",
		       (unsigned long long)sent, (unsigned long long)rcvd,
		       sbps, rbps);
	else
		printf("throughput %s port %s test %s: %s streams%s, sent %llu "
		       "bytes (%.1f Mbit/s), received %llu bytes (%.1f "
		       "Mbit/s)\n", args[0], port, odict_string(g, "test_id"),
		       streams, o->reverse ? ", reverse" : "",
		       (unsigned long long)sent, sbps / 1e6,
		       (unsigned long long)rcvd, rbps / 1e6);
	rc = WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : EX_FAIL;

 out:
	free(out);
	mem_deref(res);
	mem_deref(g);
	mem_deref(c);

	return rc;
}
