/**
 * @file appliance.c  `keepline appliance ...` (appliance.h)
 *
 * The appliance has its own identity (--identity, else
 * $KEEPLINE_APPLIANCE_KEY, else ~/.local/share/keepline/appliance.ed25519)
 * and speaks to a reflector at IP:PORT. Exit status: 0 done, 1 refused
 * or failed (the reason on stderr), 2 bad usage.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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
#include "reflector/appliance.h"
#include "reflector/client.h"
#include "reflector/identity.h"

extern char **environ;

enum {
	EX_FAIL = 1, EX_USAGE = 2,
	ECHO_MAGIC = 0x4b4c4543,      /**< "KLEC" */
	ECHO_MIN = 16,
};

struct opts {
	const char *identity;
	const char *type;
	bool json;
	unsigned count;               /**< -c */
	unsigned interval_ms;         /**< -i */
	unsigned size;                /**< -s */
	unsigned timeout_ms;          /**< -t */
	unsigned duration;            /**< --duration */
	bool keep;                    /**< echo: leave the session open */
	unsigned streams;             /**< throughput: --streams, 0 default */
	const char *bitrate;          /**< throughput: --bitrate (iperf3 -b) */
	bool reverse, udp;            /**< throughput: --reverse, --udp */
};


static void usage(FILE *f)
{
	fprintf(f,
"usage: keepline appliance [--identity FILE] COMMAND ...\n\n"
"  show-id                        this appliance's Endpoint ID\n"
"  pair IP:PORT CODE              pair with a reflector's open window\n"
"  hello IP:PORT                  the reflector's ID, version and policy\n"
"  session IP:PORT [--type udp_echo] [--duration S]\n"
"                                 ask for a session; print the grant\n"
"  echo IP:PORT [-c N] [-i MS] [-s BYTES] [-t MS] [--duration S]\n"
"                                 a UDP echo session: N timestamped\n"
"                                 datagrams, RTT min/avg/max and loss\n"
"  throughput IP:PORT [--duration S] [--streams N] [--reverse] [--udp]\n"
"             [--bitrate 100M]    an iperf3 test against the reflector's\n"
"  close IP:PORT TEST_ID          end one of this appliance's sessions\n"
"  status IP:PORT                 this appliance's sessions there\n\n"
"--json prints the reflector's reply as it came. Exit status: 0 done,\n"
"1 refused or failed, 2 bad usage.\n");
}


static void default_identity(char *buf, size_t size)
{
	const char *env = getenv("KEEPLINE_APPLIANCE_KEY");
	const char *home = getenv("HOME");

	if (env && *env)
		snprintf(buf, size, "%s", env);
	else if (home && *home)
		snprintf(buf, size, "%s/.local/share/keepline/"
			 "appliance.ed25519", home);
	else
		snprintf(buf, size, "/var/lib/keepline/appliance.ed25519");
}


static int load_identity(const struct opts *o, struct refl_identity **idp)
{
	char path[PATH_MAX], why[PATH_MAX + 160];
	bool created;
	int err;

	if (o->identity)
		snprintf(path, sizeof(path), "%s", o->identity);
	else
		default_identity(path, sizeof(path));

	err = refl_identity_load(idp, path, &created, why, sizeof(why));
	if (err) {
		fprintf(stderr, "keepline appliance: identity %s: %s\n", path,
			why);
		return EX_FAIL;
	}
	if (created)
		fprintf(stderr, "keepline appliance: created a new identity "
			"in %s\n", path);

	return 0;
}


static int dial(const struct gw_conf *conf, const struct opts *o,
		const char *addr, struct refl_client **cp)
{
	struct refl_identity *id = NULL;
	char why[512];
	int rc, err;

	rc = load_identity(o, &id);
	if (rc)
		return rc;
	err = refl_client_connect(cp, addr, id, conf->reflector.network.alpn,
				  (int)o->timeout_ms, why, sizeof(why));
	mem_deref(id);
	if (err) {
		fprintf(stderr, "keepline appliance: %s\n", why);
		return EX_FAIL;
	}

	return 0;
}


/* payload {type, ...}: the reply's payload, or an error printed */
static int call(struct refl_client *c, struct odict *payload,
		struct odict **replyp)
{
	char why[512] = "out of memory";
	int err = refl_client_call(c, payload, replyp, why, sizeof(why));
	const char *type;

	if (err) {
		fprintf(stderr, "keepline appliance: %s\n", why);
		return EX_FAIL;
	}
	type = odict_string(*replyp, "type");
	if (type && !strcmp(type, "error")) {
		uint64_t code = 0;

		odict_get_number(*replyp, &code, "code");
		fprintf(stderr, "keepline appliance: the reflector says: "
			"error %" PRIu64 ": %s\n", code,
			odict_string(*replyp, "message") ?
			odict_string(*replyp, "message") : "?");
		*replyp = mem_deref(*replyp);
		return EX_FAIL;
	}

	return 0;
}


static struct odict *payload_new(const char *type)
{
	struct odict *o = NULL;

	if (odict_alloc(&o, 8))
		return NULL;
	odict_entry_add(o, "type", ODICT_STRING, type);

	return o;
}


static void print_json(const struct odict *o)
{
	re_printf("%H\n", json_encode_odict, o);
}


/* One request on a new link: the payload is consumed; the link and the
 * reply are the caller's to free (NULL on failure) */
static int dial_call(const struct gw_conf *conf, const struct opts *o,
		     const char *addr, struct odict *payload,
		     struct refl_client **cp, struct odict **replyp)
{
	int rc = dial(conf, o, addr, cp);

	if (!rc)
		rc = call(*cp, payload, replyp);
	mem_deref(payload);

	return rc;
}


static int do_pair(const struct gw_conf *conf, const struct opts *o,
		   char **args, int n)
{
	struct refl_client *c = NULL;
	struct odict *p, *r = NULL;
	bool ok = false;
	int rc;

	if (n != 2)
		return EX_USAGE;
	p = payload_new("pair_request");
	odict_entry_add(p, "token", ODICT_STRING, args[1]);
	rc = dial_call(conf, o, args[0], p, &c, &r);
	if (!rc) {
		odict_get_boolean(r, &ok, "success");
		if (o->json)
			print_json(r);
		else if (ok)
			printf("paired with %s\n", refl_client_server_id(c));
		if (!ok)
			fprintf(stderr, "keepline appliance: pairing refused: "
				"%s\n", odict_string(r, "message") ?
				odict_string(r, "message") : "?");
		rc = ok ? 0 : EX_FAIL;
	}
	mem_deref(r);
	mem_deref(c);

	return rc;
}


static int do_hello(const struct gw_conf *conf, const struct opts *o,
		    char **args, int n)
{
	struct refl_client *c = NULL;
	struct odict *p, *r = NULL, *feat;
	int rc;

	if (n != 1)
		return EX_USAGE;
	p = payload_new("hello");
	odict_entry_add(p, "version", ODICT_STRING, "1.0");
	if (!odict_alloc(&feat, 4)) {
		odict_entry_add(feat, "0", ODICT_STRING, "udp_echo");
		odict_entry_add(p, "features", ODICT_ARRAY, feat);
		mem_deref(feat);
	}
	rc = dial_call(conf, o, args[0], p, &c, &r);
	if (!rc && o->json) {
		print_json(r);
	}
	else if (!rc) {
		const struct odict_entry *pol = odict_lookup(r,
							     "policy_summary");

		printf("reflector %s\nversion %s\n", refl_client_server_id(c),
		       odict_string(r, "version") ?
		       odict_string(r, "version") : "?");
		if (pol && pol->type == ODICT_OBJECT)
			re_printf("policy %H\n", json_encode_odict,
				  pol->u.odict);
	}
	mem_deref(r);
	mem_deref(c);

	return rc;
}


static int request_session(struct refl_client *c, const struct opts *o,
			   struct odict **grantp)
{
	struct odict *p, *params = NULL, *r = NULL;
	const char *type;
	int rc;

	p = payload_new("session_request");
	odict_entry_add(p, "test_type", ODICT_STRING, o->type);
	if (!odict_alloc(&params, 4)) {
		odict_entry_add(params, "duration_sec", ODICT_INT,
				(int64_t)o->duration);
		if (!strcmp(o->type, "throughput")) {
			if (o->streams)
				odict_entry_add(params, "streams", ODICT_INT,
						(int64_t)o->streams);
			odict_entry_add(params, "reverse", ODICT_BOOL,
					o->reverse);
			odict_entry_add(params, "protocol", ODICT_STRING,
					o->udp ? "udp" : "tcp");
		}
		odict_entry_add(p, "params", ODICT_OBJECT, params);
		mem_deref(params);
	}
	rc = call(c, p, &r);
	mem_deref(p);
	if (rc)
		return rc;

	type = odict_string(r, "type");
	if (!type || strcmp(type, "session_grant")) {
		uint64_t retry = 0;

		if (o->json)
			print_json(r);
		fprintf(stderr, "keepline appliance: session denied: %s: %s",
			odict_string(r, "reason") ? odict_string(r, "reason") :
			"?", odict_string(r, "message") ?
			odict_string(r, "message") : "?");
		if (odict_get_number(r, &retry, "retry_after_sec"))
			fprintf(stderr, " (retry after %" PRIu64 " s)", retry);
		fprintf(stderr, "\n");
		mem_deref(r);
		return EX_FAIL;
	}
	*grantp = r;

	return 0;
}


static int do_session(const struct gw_conf *conf, const struct opts *o,
		      char **args, int n)
{
	struct refl_client *c = NULL;
	struct odict *g = NULL;
	uint64_t port = 0;
	int rc;

	if (n != 1)
		return EX_USAGE;
	rc = dial(conf, o, args[0], &c);
	if (!rc)
		rc = request_session(c, o, &g);
	if (!rc && o->json) {
		print_json(g);
	}
	else if (!rc) {
		odict_get_number(g, &port, "port");
		printf("granted test_id=%s port=%" PRIu64 " mode=%s "
		       "expires_at=%s\n", odict_string(g, "test_id"), port,
		       odict_string(g, "mode"), odict_string(g, "expires_at"));
	}
	mem_deref(g);
	mem_deref(c);

	return rc;
}


static int close_session(struct refl_client *c, const char *test_id)
{
	struct odict *p = payload_new("session_close"), *r = NULL;
	int rc;

	odict_entry_add(p, "test_id", ODICT_STRING, test_id);
	rc = call(c, p, &r);
	mem_deref(p);
	mem_deref(r);

	return rc;
}


static int do_close(const struct gw_conf *conf, const struct opts *o,
		    char **args, int n)
{
	struct refl_client *c = NULL;
	int rc;

	if (n != 2)
		return EX_USAGE;
	rc = dial(conf, o, args[0], &c);
	if (!rc)
		rc = close_session(c, args[1]);
	if (!rc)
		printf("closed %s\n", args[1]);
	mem_deref(c);

	return rc;
}


static int do_status(const struct gw_conf *conf, const struct opts *o,
		     char **args, int n)
{
	struct refl_client *c = NULL;
	struct odict *r = NULL;
	int rc;

	if (n != 1)
		return EX_USAGE;
	rc = dial_call(conf, o, args[0], payload_new("get_status"), &c, &r);
	if (!rc)
		print_json(r);
	mem_deref(r);
	mem_deref(c);

	return rc;
}


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


static int do_echo(const struct gw_conf *conf, const struct opts *o,
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
	rc = dial(conf, o, args[0], &c);
	if (!rc)
		rc = request_session(c, o, &g);
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
		rc = close_session(c, test_id);
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


static int do_throughput(const struct gw_conf *conf, const struct opts *o,
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
	rc = dial(conf, &tp, args[0], &c);
	if (!rc)
		rc = request_session(c, &tp, &g);
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


static int do_show_id(const struct gw_conf *conf, const struct opts *o,
		      char **args, int n)
{
	struct refl_identity *id = NULL;
	int rc;
	(void)conf;
	(void)args;

	if (n)
		return EX_USAGE;
	rc = load_identity(o, &id);
	if (!rc)
		printf("%s\n", refl_identity_id(id));
	mem_deref(id);

	return rc;
}


static unsigned num(const char *s, bool *bad)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '-' || *end || end == s || v > 100000000)
		*bad = true;

	return (unsigned)v;
}


int refl_appliance_main(const struct gw_conf *conf, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(const struct gw_conf *, const struct opts *,
			   char **, int);
	} cmds[] = {
		{"show-id", do_show_id}, {"pair", do_pair},
		{"hello", do_hello}, {"session", do_session},
		{"echo", do_echo}, {"close", do_close},
		{"throughput", do_throughput},
		{"status", do_status},
	};
	static const struct option lopts[] = {
		{"identity", required_argument, NULL, 'I'},
		{"type", required_argument, NULL, 'T'},
		{"duration", required_argument, NULL, 'D'},
		{"json", no_argument, NULL, 'j'},
		{"keep", no_argument, NULL, 'k'},
		{"streams", required_argument, NULL, 'P'},
		{"reverse", no_argument, NULL, 'R'},
		{"udp", no_argument, NULL, 'U'},
		{"bitrate", required_argument, NULL, 'B'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct opts o = {
		.type = "udp_echo", .count = 10, .interval_ms = 100,
		.size = 64, .timeout_ms = 2000, .duration = 10,
	};
	bool bad = false;
	const char *sub;
	int c, rc;

	/* a reflector that closes the link first (a refusal) must not kill
	 * us with SIGPIPE when OpenSSL writes close_notify */
	signal(SIGPIPE, SIG_IGN);

	/* options anywhere (glibc permutes; optind 0 starts it afresh);
	 * the first word left is the sub-command */
	optind = 0;
	while ((c = getopt_long(argc, argv, "c:i:s:t:h", lopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'I': o.identity = optarg; break;
		case 'T': o.type = optarg; break;
		case 'D': o.duration = num(optarg, &bad); break;
		case 'j': o.json = true; break;
		case 'k': o.keep = true; break;
		case 'P': o.streams = num(optarg, &bad); break;
		case 'R': o.reverse = true; break;
		case 'U': o.udp = true; break;
		case 'B': o.bitrate = optarg; break;
		case 'c': o.count = num(optarg, &bad); break;
		case 'i': o.interval_ms = num(optarg, &bad); break;
		case 's': o.size = num(optarg, &bad); break;
		case 't': o.timeout_ms = num(optarg, &bad); break;
		case 'h': usage(stdout); return 0;
		default: bad = true; break;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	sub = argv[optind++];
	if (!strcmp(sub, "help")) {
		usage(stdout);
		return 0;
	}
	if (bad || !o.timeout_ms) {
		usage(stderr);
		return EX_USAGE;
	}

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmds[i].name, sub))
			continue;
		rc = cmds[i].run(conf, &o, argv + optind, argc - optind);
		if (rc == EX_USAGE)
			usage(stderr);
		return rc;
	}

	fprintf(stderr, "keepline appliance: unknown command '%s'\n", sub);
	usage(stderr);

	return EX_USAGE;
}
