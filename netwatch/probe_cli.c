/**
 * @file probe_cli.c  `keepline probe`: one-shot probes of many targets,
 *                    without the daemon (netwatch.h)
 *
 * Every target gets COUNT probes INTERVAL apart, the targets' first
 * probes spread over one interval so that a thousand targets do not
 * leave in one burst. Output: one fping-like summary line per target on
 * stdout, or one JSON document (docs/netwatch.md). Exit status 0 when
 * every target answered at least once, 1 otherwise, 2 on bad usage.
 */

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/libre.h"
#include "gateway/conf.h"
#include "gateway/log.h"
#include "gateway/reactor.h"
#include "netwatch/health.h"
#include "netwatch/netwatch.h"
#include "netwatch/prober.h"
#include "netwatch/sched.h"

enum {
	EXIT_SOME_LOST = 1, EXIT_BAD_USAGE = 2,
	MAX_TARGETS = 10000,
	MAX_PROBES_KEPT = 1000,
};

struct run;

struct ptarget {
	struct run *run;
	const char *arg;              /**< as given */
	struct sa addr;
	char unmeasured[400];
	struct nw_target *t;
	uint64_t next_at;             /**< the next probe [ms] */
	uint32_t sent_n;
	enum nw_method used;
	bool used_set;
	bool done;
	struct nw_stats st;
	struct odict *probes;         /**< --json: one object per probe */
};

struct run {
	struct gw_reactor *r;
	struct nw_engine *e;
	struct nw_sched *sched;
	struct ptarget *tg;
	size_t n;
	size_t open;                  /**< targets not finished */
	uint32_t count;
	uint64_t interval_ms, timeout_ms;
	int method;                   /**< enum gw_nw_method */
	uint16_t port;
	bool json;
};


static void usage(FILE *f)
{
	fprintf(f,
		"usage: keepline probe [-c N] [-i MS] [-t MS] [-p PORT] "
		"[--method auto|icmp|udp|tcp] [--json] TARGET...\n\n"
		"Probe every TARGET (an address, a name, or ADDRESS:PORT; "
		"[v6]:PORT)\nN times (5), MS apart (1000), each lost after "
		"MS (1000) without an answer.\nauto tries ICMP echo, then "
		"UDP to PORT (netwatch.udp_port, 33434; a\nport-unreachable "
		"is an answer), then TCP to PORT (SYN-ACK or RST).\n"
		"Exit status: 0 every target answered, 1 some did not, 2 "
		"bad usage.\n");
}


static bool done_target(const struct ptarget *pt)
{
	return pt->unmeasured[0] ||
		(pt->sent_n >= pt->run->count && !nw_target_pending(pt->t));
}


static void finished(struct ptarget *pt)
{
	if (pt->done || !done_target(pt))
		return;
	pt->done = true;
	if (pt->run->open && !--pt->run->open)
		gw_reactor_stop(pt->run->r);
}


static void on_result(struct nw_target *t, const struct nw_result *res,
		      void *arg)
{
	struct ptarget *pt = arg;
	(void)t;

	if (res->answered)
		nw_stats_answer(&pt->st, res->rtt_ns, res->kernel_ts);
	else
		nw_stats_lost(&pt->st);

	if (pt->probes && res->n <= MAX_PROBES_KEPT) {
		struct odict *o;
		char key[16];

		if (!odict_alloc(&o, 8)) {
			odict_entry_add(o, "n", ODICT_INT, (int64_t)res->n);
			odict_entry_add(o, "method", ODICT_STRING,
					nw_method_name(res->method));
			if (res->answered) {
				odict_entry_add(o, "rtt_us", ODICT_DOUBLE,
						(double)res->rtt_ns / 1e3);
				odict_entry_add(o, "answer", ODICT_STRING,
						res->how);
				odict_entry_add(o, "kernel_timestamps",
						ODICT_BOOL, res->kernel_ts);
			}
			else {
				odict_entry_add(o, "lost", ODICT_STRING,
						res->why);
			}
			snprintf(key, sizeof(key), "%u", res->n);
			odict_entry_add(pt->probes, key, ODICT_OBJECT, o);
			mem_deref(o);
		}
	}

	finished(pt);
}


/* auto: ICMP, else UDP, else TCP; a method refused at send time gives
 * way to the next for this probe only */
static int send_one(struct ptarget *pt)
{
	static const enum nw_method order[] = {NW_M_ICMP, NW_M_UDP, NW_M_TCP};
	struct run *run = pt->run;
	int err = ENOTSUP;

	for (size_t i = 0; i < 3; i++) {
		enum nw_method m = order[i];

		if (run->method != GW_NW_AUTO &&
		    (int)m != run->method - GW_NW_ICMP)
			continue;
		err = nw_target_probe(pt->t, m, run->timeout_ms);
		if (!err) {
			pt->used = m;
			pt->used_set = true;
			return 0;
		}
	}

	return err;
}


static void send_due(struct ptarget *pt)
{
	int err = send_one(pt);

	if (err) {
		snprintf(pt->unmeasured, sizeof(pt->unmeasured),
			 "no method can probe it: %s%s%s", strerror(err),
			 pt->run->method == GW_NW_ICMP || !pt->sent_n ?
			 "; ICMP: " : "",
			 pt->run->method == GW_NW_ICMP || !pt->sent_n ?
			 nw_engine_icmp_why(pt->run->e,
					    pt->addr.u.sa.sa_family) : "");
		finished(pt);
		return;
	}

	++pt->sent_n;
	pt->next_at += pt->run->interval_ms;
}


/* One wake-up for every target whose probe is due */
static void tick(uint64_t now, void *arg)
{
	struct run *run = arg;
	uint64_t next = 0;

	for (size_t i = 0; i < run->n; i++) {
		struct ptarget *pt = &run->tg[i];

		if (pt->unmeasured[0] || !pt->t)
			continue;
		if (pt->sent_n < run->count && pt->next_at <= now)
			send_due(pt);
		if (!pt->unmeasured[0] && pt->sent_n < run->count &&
		    (!next || pt->next_at < next))
			next = pt->next_at;
	}
	if (next)
		nw_sched_at(run->sched, next);
}


static int resolve(struct ptarget *pt, uint16_t dport)
{
	const char *s = pt->arg;
	struct addrinfo hints, *ai = NULL;
	char host[256];
	const char *colon;
	uint16_t port = dport;
	int err;

	if (!sa_decode(&pt->addr, s, strlen(s)))
		return 0;          /* ADDRESS:PORT, [v6]:PORT */
	if (!sa_set_str(&pt->addr, s, dport))
		return 0;

	/* a name, maybe NAME:PORT */
	colon = strrchr(s, ':');
	if (colon && !strchr(colon + 1, ']') && colon != s) {
		char *end;
		long v = strtol(colon + 1, &end, 10);

		if (*end || v < 1 || v > 65535)
			return EINVAL;
		port = (uint16_t)v;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	}
	else {
		snprintf(host, sizeof(host), "%s", s);
	}

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	err = getaddrinfo(host, NULL, &hints, &ai);
	if (err || !ai) {
		snprintf(pt->unmeasured, sizeof(pt->unmeasured),
			 "cannot resolve %s: %s", host, gai_strerror(err));
		return 0;
	}
	err = sa_set_sa(&pt->addr, ai->ai_addr);
	freeaddrinfo(ai);
	if (!err)
		sa_set_port(&pt->addr, port);

	return err;
}


static void print_line(const struct ptarget *pt)
{
	const struct nw_stats *s = &pt->st;

	if (pt->unmeasured[0]) {
		printf("%s : unmeasured (%s)\n", pt->arg, pt->unmeasured);
		return;
	}

	printf("%s : xmt/rcv/%%loss = %u/%u/%.0f%%", pt->arg, s->sent,
	       s->received, nw_stats_loss_pct(s));
	if (s->received)
		printf(", min/avg/max = %.3f/%.3f/%.3f",
		       (double)s->min_ns / 1e6, nw_stats_avg_ms(s),
		       (double)s->max_ns / 1e6);
	printf("\n");
}


static int print_json(const struct run *run)
{
	static const char *const methods[] = {"auto", "icmp", "udp", "tcp"};
	struct odict *doc = NULL, *arr = NULL;
	int err;

	err = odict_alloc(&doc, 8);
	err |= odict_alloc(&arr, 64);
	if (err)
		goto out;

	odict_entry_add(doc, "method", ODICT_STRING, methods[run->method]);
	odict_entry_add(doc, "count", ODICT_INT, (int64_t)run->count);
	odict_entry_add(doc, "interval_ms", ODICT_INT,
			(int64_t)run->interval_ms);
	odict_entry_add(doc, "timeout_ms", ODICT_INT,
			(int64_t)run->timeout_ms);

	for (size_t i = 0; i < run->n; i++) {
		const struct ptarget *pt = &run->tg[i];
		struct odict *o = NULL;
		char key[24], addr[64];

		if (odict_alloc(&o, 16))
			continue;
		odict_entry_add(o, "target", ODICT_STRING, pt->arg);
		if (sa_isset(&pt->addr, SA_ADDR) &&
		    !sa_ntop(&pt->addr, addr, sizeof(addr)))
			odict_entry_add(o, "address", ODICT_STRING, addr);
		if (pt->unmeasured[0]) {
			odict_entry_add(o, "unmeasured", ODICT_STRING,
					pt->unmeasured);
		}
		else {
			if (pt->used_set)
				odict_entry_add(o, "method", ODICT_STRING,
						nw_method_name(pt->used));
			nw_stats_odict(&pt->st, o);
			odict_entry_add(o, "probes", ODICT_ARRAY, pt->probes);
		}
		snprintf(key, sizeof(key), "%zu", i);
		odict_entry_add(arr, key, ODICT_OBJECT, o);
		mem_deref(o);
	}
	odict_entry_add(doc, "targets", ODICT_ARRAY, arr);
	re_printf("%H\n", json_encode_odict, doc);

 out:
	mem_deref(arr);
	mem_deref(doc);

	return err;
}


static bool parse_uint(const char *s, unsigned long lo, unsigned long hi,
		       unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);

	return !errno && *s && !*end && *v >= lo && *v <= hi;
}


static void run_destructor(void *data)
{
	struct run *run = data;

	for (size_t i = 0; run->tg && i < run->n; i++) {
		mem_deref(run->tg[i].t);
		mem_deref(run->tg[i].probes);
	}
	mem_deref(run->tg);
	mem_deref(run->sched);
	mem_deref(run->e);
	mem_deref(run->r);
}


static int parse_args(struct run *run, int argc, char **argv,
		      const struct gw_conf *conf)
{
	static const struct option opts[] = {
		{"count", required_argument, NULL, 'c'},
		{"interval", required_argument, NULL, 'i'},
		{"timeout", required_argument, NULL, 't'},
		{"port", required_argument, NULL, 'p'},
		{"method", required_argument, NULL, 'm'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	unsigned long v;
	int c;

	run->count = 5;
	run->interval_ms = 1000;
	run->timeout_ms = 1000;
	run->method = GW_NW_AUTO;
	run->port = conf ? conf->netwatch.udp_port : 33434;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:i:t:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (!parse_uint(optarg, 1, 100000, &v))
				goto bad;
			run->count = (uint32_t)v;
			break;
		case 'i':
			if (!parse_uint(optarg, 1, 3600000, &v))
				goto bad;
			run->interval_ms = v;
			break;
		case 't':
			if (!parse_uint(optarg, 1, 60000, &v))
				goto bad;
			run->timeout_ms = v;
			break;
		case 'p':
			if (!parse_uint(optarg, 1, 65535, &v))
				goto bad;
			run->port = (uint16_t)v;
			break;
		case 'm':
			if (!strcmp(optarg, "auto"))
				run->method = GW_NW_AUTO;
			else if (!strcmp(optarg, "icmp"))
				run->method = GW_NW_ICMP;
			else if (!strcmp(optarg, "udp"))
				run->method = GW_NW_UDP;
			else if (!strcmp(optarg, "tcp"))
				run->method = GW_NW_TCP;
			else
				goto bad;
			break;
		case 'j':
			run->json = true;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return EXIT_BAD_USAGE;
		}
	}

	if (optind >= argc) {
		fprintf(stderr, "keepline probe: no TARGET\n");
		usage(stderr);
		return EXIT_BAD_USAGE;
	}
	if (argc - optind > MAX_TARGETS) {
		fprintf(stderr, "keepline probe: at most %d targets\n",
			MAX_TARGETS);
		return EXIT_BAD_USAGE;
	}

	return 0;

 bad:
	fprintf(stderr, "keepline probe: bad value for -%c: '%s'\n",
		c == 'm' ? 'm' : c, optarg);
	usage(stderr);

	return EXIT_BAD_USAGE;
}


int nw_probe_main(const struct gw_conf *conf, int argc, char **argv)
{
	struct run *run;
	bool all = true;
	int rc, err = 0;

	run = mem_zalloc(sizeof(*run), run_destructor);
	if (!run)
		return EXIT_SOME_LOST;

	rc = parse_args(run, argc, argv, conf);
	if (rc) {
		mem_deref(run);
		return rc < 0 ? 0 : rc;
	}

	run->n = (size_t)(argc - optind);
	run->tg = mem_zalloc(run->n * sizeof(*run->tg), NULL);
	if (!run->tg)
		goto fail;

	for (size_t i = 0; i < run->n; i++) {
		struct ptarget *pt = &run->tg[i];

		pt->run = run;
		pt->arg = argv[optind + (int)i];
		if (resolve(pt, 0)) {
			fprintf(stderr, "keepline probe: bad TARGET '%s'\n",
				pt->arg);
			mem_deref(run);
			return EXIT_BAD_USAGE;
		}
	}

	err = gw_reactor_alloc(&run->r);
	if (!err)
		err = nw_engine_alloc(&run->e, run->r, NULL,
				      run->method == GW_NW_AUTO ||
				      run->method == GW_NW_ICMP);
	if (!err)
		err = nw_sched_alloc(&run->sched, run->r,
				     run->interval_ms < 10 ? 1 : 10, tick, run);
	if (err)
		goto fail;
	nw_engine_log(run->e);

	for (size_t i = 0; i < run->n; i++) {
		struct ptarget *pt = &run->tg[i];
		uint16_t port = sa_port(&pt->addr) ? sa_port(&pt->addr) :
			run->port;

		++run->open;
		if (pt->unmeasured[0])
			continue;
		err = nw_target_alloc(&pt->t, run->e, &pt->addr, port,
				      run->method == GW_NW_TCP ||
				      sa_port(&pt->addr) ? port : 0,
				      on_result, pt);
		if (!err && run->json)
			err = odict_alloc(&pt->probes, 16);
		if (err)
			goto fail;
		/* first probes spread over one interval */
		pt->next_at = gw_now_ms() + run->interval_ms * i / run->n;
	}

	/* targets settled before the loop (unresolved names) */
	for (size_t i = 0; i < run->n; i++) {
		if (run->tg[i].unmeasured[0]) {
			run->tg[i].done = true;
			--run->open;
		}
	}
	if (run->open) {
		nw_sched_at(run->sched, gw_now_ms());
		(void)gw_reactor_run(run->r);
	}

	for (size_t i = 0; i < run->n; i++) {
		if (run->tg[i].unmeasured[0] || !run->tg[i].st.received)
			all = false;
		if (!run->json)
			print_line(&run->tg[i]);
	}
	if (run->json)
		(void)print_json(run);
	fflush(stdout);

	mem_deref(run);

	return all ? 0 : EXIT_SOME_LOST;

 fail:
	fprintf(stderr, "keepline probe: %s\n", strerror(err ? err : ENOMEM));
	mem_deref(run);

	return EXIT_SOME_LOST;
}
