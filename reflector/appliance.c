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

#include "reflector/appliance_int.h"


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


int refl_app_dial(const struct gw_conf *conf, const struct opts *o,
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
int refl_app_call(struct refl_client *c, struct odict *payload,
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


struct odict *refl_app_payload_new(const char *type)
{
	struct odict *o = NULL;

	if (odict_alloc(&o, 8))
		return NULL;
	odict_entry_add(o, "type", ODICT_STRING, type);

	return o;
}


void refl_app_print_json(const struct odict *o)
{
	re_printf("%H\n", json_encode_odict, o);
}


/* One request on a new link: the payload is consumed; the link and the
 * reply are the caller's to free (NULL on failure) */
static int dial_call(const struct gw_conf *conf, const struct opts *o,
		     const char *addr, struct odict *payload,
		     struct refl_client **cp, struct odict **replyp)
{
	int rc = refl_app_dial(conf, o, addr, cp);

	if (!rc)
		rc = refl_app_call(*cp, payload, replyp);
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
	p = refl_app_payload_new("pair_request");
	odict_entry_add(p, "token", ODICT_STRING, args[1]);
	rc = dial_call(conf, o, args[0], p, &c, &r);
	if (!rc) {
		odict_get_boolean(r, &ok, "success");
		if (o->json)
			refl_app_print_json(r);
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
	p = refl_app_payload_new("hello");
	odict_entry_add(p, "version", ODICT_STRING, "1.0");
	if (!odict_alloc(&feat, 4)) {
		odict_entry_add(feat, "0", ODICT_STRING, "udp_echo");
		odict_entry_add(p, "features", ODICT_ARRAY, feat);
		mem_deref(feat);
	}
	rc = dial_call(conf, o, args[0], p, &c, &r);
	if (!rc && o->json) {
		refl_app_print_json(r);
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


int refl_app_request_session(struct refl_client *c, const struct opts *o,
			   struct odict **grantp)
{
	struct odict *p, *params = NULL, *r = NULL;
	const char *type;
	int rc;

	p = refl_app_payload_new("session_request");
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
	rc = refl_app_call(c, p, &r);
	mem_deref(p);
	if (rc)
		return rc;

	type = odict_string(r, "type");
	if (!type || strcmp(type, "session_grant")) {
		uint64_t retry = 0;

		if (o->json)
			refl_app_print_json(r);
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
	rc = refl_app_dial(conf, o, args[0], &c);
	if (!rc)
		rc = refl_app_request_session(c, o, &g);
	if (!rc && o->json) {
		refl_app_print_json(g);
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


int refl_app_close_session(struct refl_client *c, const char *test_id)
{
	struct odict *p = refl_app_payload_new("session_close"), *r = NULL;
	int rc;

	odict_entry_add(p, "test_id", ODICT_STRING, test_id);
	rc = refl_app_call(c, p, &r);
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
	rc = refl_app_dial(conf, o, args[0], &c);
	if (!rc)
		rc = refl_app_close_session(c, args[1]);
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
	rc = dial_call(conf, o, args[0], refl_app_payload_new("get_status"),
		       &c, &r);
	if (!rc)
		refl_app_print_json(r);
	mem_deref(r);
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
		{"echo", refl_app_echo}, {"close", do_close},
		{"throughput", refl_app_throughput},
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
