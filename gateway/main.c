/**
 * @file main.c  The keepline command line (DESIGN.md §5)
 *
 * Exit status: 0 success, 1 runtime failure (e.g. no daemon answers),
 * 2 usage or configuration error.
 */

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/libre.h"
#include "gateway/conf.h"
#include "gateway/ctrl.h"
#include "gateway/daemon.h"
#include "gateway/module.h"
#include "reflector/appliance.h"
#include "reflector/audit.h"
#include "reflector/identity.h"
#include "sip/tls.h"

enum {
	EXIT_RUNTIME = 1, EXIT_USAGE = 2,
	CTRL_TIMEOUT_MS = 5000,       /**< a command that only reads */
	CTRL_GRACE_MS = 1000,         /**< the daemon's own timeout first */
};

struct cli {
	const char *conf_path;        /**< -c FILE */
	bool as_reflector;            /**< invoked as "reflector" */
};

struct command {
	const char *name;
	const char *usage;
	const char *summary;
	int (*run)(struct cli *cli, int argc, char **argv);
};

static const struct command *find_command(const struct command *table,
					  const char *name);


static void print_conf_error(const char *line, void *arg)
{
	(void)arg;
	fprintf(stderr, "%s\n", line);
}


/* The file from -c, the environment or /etc, else built-in defaults.
 * Errors are printed; returns the exit status to use, 0 on success.
 * serve and check-config (strict) also refuse what asks for a module
 * this build lacks; a client command only needs the socket's path. */
static int load_conf(struct cli *cli, struct gw_conf **confp, bool strict)
{
	const char *path = gw_conf_locate(cli->conf_path, cli->as_reflector);
	int err;

	if (!path)
		return gw_conf_default(confp) ? EXIT_RUNTIME : 0;

	/* invalid or unreadable: every error is printed already */
	err = gw_conf_load(confp, path, print_conf_error, NULL);
	if (!err && strict && gw_modules_check(*confp, print_conf_error, NULL)) {
		*confp = mem_deref(*confp);
		err = EINVAL;
	}

	return err ? EXIT_USAGE : 0;
}


/* Sub-command options: -c FILE is accepted after the command too. */
static int parse_sub_opts(struct cli *cli, int argc, char **argv,
			  bool *json)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cli->conf_path = optarg;
			break;
		case 'j':
			if (!json)
				goto usage;
			*json = true;
			break;
		case 'h':
			return -1;
		default:
			goto usage;
		}
	}

	if (optind != argc) {
		fprintf(stderr, "keepline %s: unexpected argument '%s'\n",
			argv[0], argv[optind]);
		goto usage;
	}

	return 0;

 usage:
	return EXIT_USAGE;
}


static int sub_usage(const struct command *table, const char *name, int rc)
{
	const struct command *cmd = find_command(table, name);

	if (cmd)
		fprintf(rc ? stderr : stdout, "usage: %s\n%s\n", cmd->usage,
			cmd->summary);

	return rc;
}


static const struct command commands[];


static int cmd_serve(struct cli *cli, int argc, char **argv)
{
	struct gw_daemon *d = NULL;
	struct gw_conf *conf = NULL;
	int rc, err;

	rc = parse_sub_opts(cli, argc, argv, NULL);
	if (rc)
		return sub_usage(commands, "serve", rc < 0 ? 0 : rc);

	rc = load_conf(cli, &conf, true);
	if (rc)
		return rc;

	err = gw_daemon_alloc(&d, conf);
	mem_deref(conf);
	if (err)
		return EXIT_RUNTIME;

	err = gw_daemon_run(d);
	mem_deref(d);

	return err ? EXIT_RUNTIME : 0;
}


/* serve would refuse to start without a certificate for a tls: entry
 * (sip/tls.c): say so before the restart, not after */
static int check_tls(const struct gw_conf *conf)
{
	struct sip_tls_cert cert;
	char why[PATH_MAX + 128];
	long days;

	if (!sip_tls_listen(conf))
		return 0;

	if (sip_tls_load(conf->sip.tls_certificates, &cert, why,
			 sizeof(why))) {
		fprintf(stderr, "%s: sip.tls_certificates: %s\n",
			conf->path ? conf->path : "(built-in)", why);
		return EXIT_USAGE;
	}

	days = sip_tls_days_left(&cert);
	if (days < 0)
		printf("TLS certificate %s has expired\n", cert.subject);
	else
		printf("TLS certificate %s expires in %ld day(s)\n",
		       cert.subject, days);

	return 0;
}


static int cmd_check_config(struct cli *cli, int argc, char **argv)
{
	struct gw_conf *conf = NULL;
	int rc;

	rc = parse_sub_opts(cli, argc, argv, NULL);
	if (rc)
		return sub_usage(commands, "check-config", rc < 0 ? 0 : rc);

	rc = load_conf(cli, &conf, true);
	if (rc)
		return rc;

	rc = check_tls(conf);
	if (!rc)
		printf("configuration OK\n");
	mem_deref(conf);

	return rc;
}


/* Send one request to the running daemon; prints why when it fails. */
static int ctrl_request(struct cli *cli, const char *request,
			int timeout_ms, struct odict **replyp, char **rawp)
{
	struct gw_conf *conf = NULL;
	const char *path;
	struct odict *reply = NULL;
	char *raw = NULL;
	bool ok = false;
	int rc, err;

	rc = load_conf(cli, &conf, false);
	if (rc)
		return rc;

	path = conf->control.socket ? conf->control.socket :
		gw_ctrl_default_path();

	err = gw_ctrl_call(path, request, &raw, timeout_ms + CTRL_GRACE_MS);
	if (err == ENOENT || err == ECONNREFUSED) {
		fprintf(stderr, "keepline: no daemon answers on %s (is "
			"`keepline serve` running?)\n", path);
		rc = EXIT_RUNTIME;
		goto out;
	}
	if (err) {
		fprintf(stderr, "keepline: control socket %s: %s\n", path,
			strerror(err));
		rc = EXIT_RUNTIME;
		goto out;
	}

	if (json_decode_odict(&reply, 32, raw, strlen(raw), 16)) {
		fprintf(stderr, "keepline: malformed reply from daemon: %s\n",
			raw);
		rc = EXIT_RUNTIME;
		goto out;
	}

	if (!odict_get_boolean(reply, &ok, "ok") || !ok) {
		const char *e = odict_string(reply, "error");
		const struct odict_entry *lines = odict_lookup(reply, "errors");

		fprintf(stderr, "keepline: daemon: %s\n", e ? e : raw);
		for (struct le *le = lines && lines->type == ODICT_ARRAY ?
			     lines->u.odict->lst.head : NULL; le; le = le->next) {
			const struct odict_entry *l = le->data;

			if (l->type == ODICT_STRING)
				fprintf(stderr, "%s\n", l->u.str);
		}
		rc = EXIT_RUNTIME;
		goto out;
	}

	*replyp = reply;
	reply = NULL;
	if (rawp) {
		*rawp = raw;
		raw = NULL;
	}

 out:
	mem_deref(reply);
	mem_deref(raw);
	mem_deref(conf);

	return rc;
}


/* A command that asks the daemon one thing and prints the answer, as
 * JSON (--json) or for people */
static int daemon_query(struct cli *cli, int argc, char **argv,
			const char *cmd, void (*print)(const struct odict *),
			int timeout_ms)
{
	struct odict *reply = NULL;
	char *raw = NULL, request[96];
	bool json = false;
	int rc;

	rc = parse_sub_opts(cli, argc, argv, &json);
	if (rc)
		return sub_usage(commands, cmd, rc < 0 ? 0 : rc);

	/* the daemon gives up at timeout_ms and says so; we wait a little
	 * longer for that answer */
	snprintf(request, sizeof(request),
		 "{\"cmd\":\"%s\",\"timeout_ms\":%d}", cmd, timeout_ms);
	rc = ctrl_request(cli, request, timeout_ms, &reply, &raw);
	if (rc)
		return rc;

	if (json)
		printf("%s\n", raw);
	else
		print(reply);

	mem_deref(reply);
	mem_deref(raw);

	return 0;
}


static int cmd_status(struct cli *cli, int argc, char **argv)
{
	return daemon_query(cli, argc, argv, "status", gw_status_print,
			    CTRL_TIMEOUT_MS);
}


static int cmd_calls(struct cli *cli, int argc, char **argv)
{
	return daemon_query(cli, argc, argv, "calls", gw_calls_print,
			    CTRL_TIMEOUT_MS);
}


static void print_keys(const struct odict *reply, const char *name,
		       const char *title)
{
	const struct odict_entry *arr = odict_lookup(reply, name);
	struct le *le = arr && arr->type == ODICT_ARRAY ?
		arr->u.odict->lst.head : NULL;

	printf("%s:%s\n", title, le ? "" : " none");
	for (; le; le = le->next) {
		const struct odict_entry *e = le->data;

		if (e->type == ODICT_STRING)
			printf("  %s\n", e->u.str);
		else if (e->type == ODICT_OBJECT)
			printf("  %s (%s)\n", odict_string(e->u.odict, "key"),
			       odict_string(e->u.odict, "why"));
	}
}


static void reload_print(const struct odict *reply)
{
	print_keys(reply, "applied", "applied to new calls");
	print_keys(reply, "restart", "waiting for a restart");
}


static int cmd_reload(struct cli *cli, int argc, char **argv)
{
	struct gw_conf *conf = NULL;
	int rc;

	/* the CLI reads the file too (for the socket's path): a file with
	 * errors stops here, the errors printed, the daemon untouched */
	rc = load_conf(cli, &conf, false);
	mem_deref(conf);
	if (rc) {
		fprintf(stderr, "keepline: not reloaded: the daemon keeps its "
			"running configuration\n");
		return rc;
	}

	return daemon_query(cli, argc, argv, "reload", reload_print,
			    CTRL_TIMEOUT_MS);
}


static int refl_status(struct cli *cli, int argc, char **argv)
{
	const struct odict_entry *subs, *refl;
	struct odict *reply = NULL;
	bool json = false, enabled = false, running = false;
	int rc;

	rc = parse_sub_opts(cli, argc, argv, &json);
	if (rc)
		return rc < 0 ? 0 : rc;

	rc = ctrl_request(cli, "{\"cmd\":\"status\"}", CTRL_TIMEOUT_MS,
			  &reply, NULL);
	if (rc)
		return rc;

	subs = odict_lookup(reply, "subsystems");
	refl = subs && subs->type == ODICT_OBJECT ?
		odict_lookup(subs->u.odict, "reflector") : NULL;
	if (refl && refl->type == ODICT_OBJECT) {
		odict_get_boolean(refl->u.odict, &enabled, "enabled");
		odict_get_boolean(refl->u.odict, &running, "running");
	}

	if (json) {
		re_printf("%H\n", json_encode_odict,
			  refl ? refl->u.odict : reply);
	}
	else {
		printf("reflector: %s, %s\n",
		       enabled ? "enabled" : "disabled",
		       running ? "running" : "not running");
		if (running) {
			const struct odict *o = refl->u.odict;
			uint64_t v[6] = {0};

			odict_get_number(o, &v[0], "links");
			odict_get_number(o, &v[1], "peers");
			odict_get_number(o, &v[2], "paired");
			odict_get_number(o, &v[3], "sessions");
			odict_get_number(o, &v[4], "handshake_failed");
			odict_get_number(o, &v[5], "denied");
			printf("  endpoint_id %s\n  listen      %s\n"
			       "  links %llu, peers %llu (%llu paired), "
			       "sessions %llu, failed handshakes %llu, "
			       "denied %llu\n", odict_string(o, "endpoint_id"),
			       odict_string(o, "listen"),
			       (unsigned long long)v[0],
			       (unsigned long long)v[1],
			       (unsigned long long)v[2],
			       (unsigned long long)v[3],
			       (unsigned long long)v[4],
			       (unsigned long long)v[5]);
		}
	}

	mem_deref(reply);

	return 0;
}


/* The identity needs no daemon: the key file is read (or made) here */
static int refl_show_id(struct cli *cli, int argc, char **argv)
{
	struct refl_identity *id = NULL;
	struct gw_conf *conf = NULL;
	char why[PATH_MAX + 160];
	const char *path;
	bool created;
	int rc, err;

	rc = parse_sub_opts(cli, argc, argv, NULL);
	if (rc)
		return rc < 0 ? 0 : rc;

	rc = load_conf(cli, &conf, false);
	if (rc)
		return rc;

	path = conf->reflector.identity.private_key_path;
	err = refl_identity_load(&id, path, &created, why, sizeof(why));
	if (err) {
		fprintf(stderr, "keepline: reflector.identity.private_key_path "
			"%s: %s\n", path, why);
		mem_deref(conf);
		return EXIT_RUNTIME;
	}

	if (created)
		fprintf(stderr, "keepline: created a new identity in %s\n",
			path);
	printf("%s\n", refl_identity_id(id));

	mem_deref(id);
	mem_deref(conf);

	return 0;
}


static const struct command refl_commands[];

/* Parse "10m", "90s", "1h", "600" into ms; false when malformed */
static bool parse_ttl(const char *s, uint64_t *msp)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	uint64_t mul = 1000;

	if (end == s || *s == '-')
		return false;
	if (!strcmp(end, "m"))
		mul = 60000;
	else if (!strcmp(end, "h"))
		mul = 3600000;
	else if (*end && strcmp(end, "s"))
		return false;
	if (v > 86400ull * 1000)
		return false;
	*msp = v * mul;

	return true;
}


/* The running daemon opens the window: the code printed is the one the
 * server holds (DESIGN.md §5) */
static int refl_pair(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"ttl", required_argument, NULL, 't'},
		{"code", required_argument, NULL, 'k'},
		{"json", no_argument, NULL, 'j'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct odict *reply = NULL;
	const char *code = NULL;
	uint64_t ttl = 600000, ttl_sec = 0;
	char req[256];
	bool json = false;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (!parse_ttl(optarg, &ttl) || ttl < 1000) {
				fprintf(stderr, "keepline reflector pair: "
					"--ttl '%s' is not a duration of 1 s "
					"to 24 h (90s, 10m, 1h)\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'k':
			code = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'c':
			cli->conf_path = optarg;
			break;
		case 'h':
			return sub_usage(refl_commands, "pair", 0);
		default:
			return sub_usage(refl_commands, "pair", EXIT_USAGE);
		}
	}
	if (optind != argc)
		return sub_usage(refl_commands, "pair", EXIT_USAGE);
	if (code && strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
			   "qrstuvwxyz0123456789-") != strlen(code)) {
		fprintf(stderr, "keepline reflector pair: a code is 6 to 64 "
			"letters, digits or '-'\n");
		return EXIT_USAGE;
	}

	if (code)
		snprintf(req, sizeof(req), "{\"cmd\":\"reflector.pair\","
			 "\"ttl_ms\":%llu,\"code\":\"%s\"}",
			 (unsigned long long)ttl, code);
	else
		snprintf(req, sizeof(req), "{\"cmd\":\"reflector.pair\","
			 "\"ttl_ms\":%llu}", (unsigned long long)ttl);

	rc = ctrl_request(cli, req, CTRL_TIMEOUT_MS, &reply, NULL);
	if (rc)
		return rc;

	odict_get_number(reply, &ttl_sec, "ttl_sec");
	if (json)
		re_printf("%H\n", json_encode_odict, reply);
	else
		printf("%s\n", odict_string(reply, "code"));
	fprintf(stderr, "keepline: pairing window open for %llu s (until "
		"%s); the appliance runs `keepline appliance pair HOST:PORT "
		"CODE`\n", (unsigned long long)ttl_sec,
		odict_string(reply, "expires_at"));
	mem_deref(reply);

	return 0;
}


/* The running daemon forgets a paired peer, closes its links and ends
 * its sessions */
static int refl_unpair(struct cli *cli, int argc, char **argv)
{
	struct odict *reply = NULL;
	uint64_t links = 0, sessions = 0;
	char req[256];
	int rc;

	if (argc == 2 && (!strcmp(argv[1], "-h") ||
			  !strcmp(argv[1], "--help")))
		return sub_usage(refl_commands, "unpair", 0);
	if (argc != 2 || strlen(argv[1]) > 100 ||
	    strspn(argv[1], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx"
		   "yz0123456789-") != strlen(argv[1]))
		return sub_usage(refl_commands, "unpair", EXIT_USAGE);

	snprintf(req, sizeof(req), "{\"cmd\":\"reflector.unpair\","
		 "\"peer_id\":\"%s\"}", argv[1]);
	rc = ctrl_request(cli, req, CTRL_TIMEOUT_MS, &reply, NULL);
	if (rc)
		return rc;
	odict_get_number(reply, &links, "links_closed");
	odict_get_number(reply, &sessions, "sessions_ended");
	printf("removed %s (%llu links closed, %llu sessions ended)\n",
	       odict_string(reply, "peer_id"), (unsigned long long)links,
	       (unsigned long long)sessions);
	if (odict_string(reply, "warning"))
		fprintf(stderr, "keepline: %s\n", odict_string(reply, "warning"));
	mem_deref(reply);

	return 0;
}


/* The running daemon rotates (and starts using the new key); with no
 * daemon, the key file is replaced here and the audit log told */
static int refl_rotate(struct cli *cli, int argc, char **argv)
{
	struct refl_identity *old = NULL, *id = NULL;
	struct refl_audit *audit = NULL;
	struct gw_conf *conf = NULL;
	struct odict *reply = NULL, *params = NULL;
	char why[PATH_MAX + 160];
	const char *sock;
	char *raw = NULL;
	int rc, err;

	rc = parse_sub_opts(cli, argc, argv, NULL);
	if (rc)
		return rc < 0 ? 0 : rc;
	rc = load_conf(cli, &conf, false);
	if (rc)
		return rc;

	sock = conf->control.socket ? conf->control.socket :
		gw_ctrl_default_path();
	/* is a daemon there? (asking changes nothing) */
	err = gw_ctrl_call(sock, "{\"cmd\":\"status\"}", &raw,
			   CTRL_TIMEOUT_MS);
	if (!err) {
		rc = ctrl_request(cli, "{\"cmd\":\"reflector.rotate_identity\"}",
				  CTRL_TIMEOUT_MS, &reply, NULL);
		if (!rc) {
			printf("%s\n", odict_string(reply, "endpoint_id"));
			fprintf(stderr, "keepline: the running daemon rotated "
				"its identity (was %s)\n",
				odict_string(reply, "previous_endpoint_id"));
		}
		goto out;
	}
	if (err != ENOENT && err != ECONNREFUSED) {
		fprintf(stderr, "keepline: control socket %s: %s\n", sock,
			strerror(err));
		rc = EXIT_RUNTIME;
		goto out;
	}

	/* no daemon: the file itself */
	err = refl_identity_load(&old, conf->reflector.identity.private_key_path,
				 NULL, why, sizeof(why));
	if (!err)
		err = refl_identity_rotate(&id,
			conf->reflector.identity.private_key_path, why,
			sizeof(why));
	if (err) {
		fprintf(stderr, "keepline: reflector.identity.private_key_path "
			"%s: %s\n", conf->reflector.identity.private_key_path,
			why);
		rc = EXIT_RUNTIME;
		goto out;
	}
	if (!refl_audit_open(&audit, conf->reflector.logging.audit_log_path,
			     refl_identity_id(id), why, sizeof(why)) &&
	    !odict_alloc(&params, 2)) {
		odict_entry_add(params, "previous_endpoint_id", ODICT_STRING,
				refl_identity_id(old));
		refl_audit_write(audit, "identity_rotated", REFL_AUDIT_REC(
			.params = params, .decision = "allowed"));
	}
	else {
		fprintf(stderr, "keepline: reflector.logging.audit_log_path "
			"%s: %s\n", conf->reflector.logging.audit_log_path, why);
		rc = EXIT_RUNTIME;
	}
	printf("%s\n", refl_identity_id(id));
	fprintf(stderr, "keepline: identity rotated (was %s)\n",
		refl_identity_id(old));

 out:
	mem_deref(raw);
	mem_deref(params);
	mem_deref(audit);
	mem_deref(old);
	mem_deref(id);
	mem_deref(reply);
	mem_deref(conf);

	return rc;
}


static int refl_help(struct cli *cli, int argc, char **argv);

static const struct command refl_commands[] = {
	{"serve", "reflector serve",
	 "Run the daemon (the reflector with it) in the foreground.",
	 cmd_serve},
	{"pair", "reflector pair [--ttl 10m] [--code CODE] [--json]",
	 "Open a pairing window in the running daemon and print its code "
	 "(single-use, until the TTL).", refl_pair},
	{"unpair", "reflector unpair PEER_ID",
	 "Forget a paired peer in the running daemon: its links are closed "
	 "and its sessions ended.", refl_unpair},
	{"rotate-identity", "reflector rotate-identity",
	 "Replace the Ed25519 key: the running daemon uses the new one at "
	 "once; without a daemon the key file is replaced.", refl_rotate},
	{"status", "reflector status [--json]",
	 "State of the reflector in the running daemon.", refl_status},
	{"show-id", "reflector show-id",
	 "Print this reflector's Endpoint ID (PP-...), making its Ed25519 "
	 "key on first use.", refl_show_id},
	{"help", "reflector help [SUBCOMMAND]",
	 "Describe the reflector sub-commands.", refl_help},
	{0},
};


static int refl_help(struct cli *cli, int argc, char **argv)
{
	(void)cli;

	if (argc > 1) {
		if (!find_command(refl_commands, argv[1])) {
			fprintf(stderr, "reflector: unknown sub-command "
				"'%s'\n", argv[1]);
			return EXIT_USAGE;
		}
		return sub_usage(refl_commands, argv[1], 0);
	}

	printf("usage: reflector [-c FILE] SUBCOMMAND  (same as keepline "
	       "reflector)\n\n");
	for (const struct command *c = refl_commands; c->name; c++)
		printf("  %-28s %s\n", c->usage, c->summary);

	return 0;
}


static int cmd_reflector(struct cli *cli, int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2) {
		fprintf(stderr, "reflector: a sub-command is needed (see "
			"`keepline reflector help`)\n");
		return EXIT_USAGE;
	}

	cmd = find_command(refl_commands, argv[1]);
	if (!cmd) {
		fprintf(stderr, "reflector: unknown sub-command '%s' (see "
			"`keepline reflector help`)\n", argv[1]);
		return EXIT_USAGE;
	}

	return cmd->run(cli, argc - 1, argv + 1);
}


static int cmd_appliance(struct cli *cli, int argc, char **argv)
{
	struct gw_conf *conf = NULL;
	int rc = load_conf(cli, &conf, false);

	if (rc)
		return rc;
	rc = refl_appliance_main(conf, argc, argv);
	mem_deref(conf);

	return rc;
}


static int cmd_help(struct cli *cli, int argc, char **argv);

static const struct command commands[] = {
	{"serve", "keepline [-c FILE] serve",
	 "Run the daemon in the foreground, logging to stderr.", cmd_serve},
	{"check-config", "keepline [-c FILE] check-config",
	 "Parse and validate the configuration; print \"configuration OK\" "
	 "or every error.", cmd_check_config},
	{"status", "keepline [-c FILE] status [--json]",
	 "Version, uptime, pid, subsystems and counters of the running "
	 "daemon.", cmd_status},
	{"calls", "keepline [-c FILE] calls [--json]",
	 "Active calls: legs, signalling and media peers, RTP counters, "
	 "age.", cmd_calls},
	{"reload", "keepline [-c FILE] reload [--json]",
	 "Re-read the daemon's configuration file: what applies to new "
	 "calls, what waits for a restart; a file with errors changes "
	 "nothing.", cmd_reload},
	{"reflector", "keepline [-c FILE] reflector SUBCOMMAND",
	 "Reflector commands (see `keepline reflector help`).",
	 cmd_reflector},
	{"appliance", "keepline [-c FILE] appliance SUBCOMMAND",
	 "The reflector's client (see `keepline appliance help`).",
	 cmd_appliance},
	{"help", "keepline help [SUBCOMMAND]",
	 "Describe keepline or one of its sub-commands.", cmd_help},
	{0},
};


static const struct command *find_command(const struct command *table,
					  const char *name)
{
	for (const struct command *c = table; c->name; c++) {
		if (!strcmp(c->name, name))
			return c;
	}

	return NULL;
}


static void usage(FILE *f)
{
	fprintf(f,
		"usage: keepline [-c FILE] COMMAND [ARGS]\n"
		"       keepline --version | --help\n\n"
		"Keepline, a SIP trunk media gateway.\n\n"
		"Commands:\n");

	for (const struct command *c = commands; c->name; c++)
		fprintf(f, "  %-40s %s\n", c->usage, c->summary);

	fprintf(f, "\nConfiguration: -c FILE, else $KEEPLINE_CONFIG, else "
		"/etc/keepline/keepline.yaml,\nelse built-in defaults.\n");
}


static int cmd_help(struct cli *cli, int argc, char **argv)
{
	(void)cli;

	if (argc < 2) {
		usage(stdout);
		return 0;
	}

	if (!strcmp(argv[1], "reflector") && argc > 2)
		return refl_help(cli, argc - 1, argv + 1);

	if (!find_command(commands, argv[1])) {
		fprintf(stderr, "keepline: unknown command '%s'\n", argv[1]);
		return EXIT_USAGE;
	}

	if (!strcmp(argv[1], "reflector"))
		return refl_help(cli, 1, argv);

	return sub_usage(commands, argv[1], 0);
}


int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	struct cli cli = {0};
	const struct command *cmd;
	char *name = basename(argv[0]);
	int c;

	cli.as_reflector = !strcmp(name, "reflector");

	while ((c = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cli.conf_path = optarg;
			break;
		case 'h':
			if (cli.as_reflector)
				return refl_help(&cli, 1, argv);
			usage(stdout);
			return 0;
		case 'V':
			printf("keepline %s\n", VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}

	argc -= optind;
	argv += optind;

	/* "reflector ARGS" is "keepline reflector ARGS" */
	if (cli.as_reflector) {
		char *rargv[argc + 2];

		rargv[0] = "reflector";
		memcpy(rargv + 1, argv, (size_t)argc * sizeof(*argv));
		rargv[argc + 1] = NULL;

		return cmd_reflector(&cli, argc + 1, rargv);
	}

	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}

	cmd = find_command(commands, argv[0]);
	if (!cmd) {
		fprintf(stderr, "keepline: unknown command '%s' (see "
			"`keepline --help`)\n", argv[0]);
		return EXIT_USAGE;
	}

	return cmd->run(&cli, argc, argv);
}
