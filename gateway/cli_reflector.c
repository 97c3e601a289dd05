/**
 * @file cli_reflector.c  `keepline reflector ...` (DESIGN.md §5): what
 * asks the running daemon (status, pair, unpair, rotate-identity) and
 * what reads the key file itself (show-id)
 */

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/libre.h"
#include "gateway/cli.h"
#include "gateway/conf.h"
#include "gateway/ctrl.h"
#include "reflector/audit.h"
#include "reflector/identity.h"

/* Each running session (engine, PID), each peer's bytes today */
static void print_list(const struct odict *o)
{
	const struct odict_entry *run = odict_lookup(o, "active");
	const struct odict_entry *peers = odict_lookup(o, "peers_today");

	for (struct le *le = run && run->type == ODICT_ARRAY ?
		     run->u.odict->lst.head : NULL; le; le = le->next) {
		const struct odict_entry *e = le->data;
		uint64_t port = 0, pid = 0, rem = 0;

		if (e->type != ODICT_OBJECT)
			continue;
		odict_get_number(e->u.odict, &port, "port");
		odict_get_number(e->u.odict, &rem, "remaining_sec");
		printf("  session %s %s port %llu", odict_string(e->u.odict,
		       "test_id"), odict_string(e->u.odict, "engine"),
		       (unsigned long long)port);
		if (odict_get_number(e->u.odict, &pid, "pid"))
			printf(" pid %llu", (unsigned long long)pid);
		printf(" %llu s left, peer %s\n", (unsigned long long)rem,
		       odict_string(e->u.odict, "peer_id"));
	}
	for (struct le *le = peers && peers->type == ODICT_ARRAY ?
		     peers->u.odict->lst.head : NULL; le; le = le->next) {
		const struct odict_entry *e = le->data;
		uint64_t bytes = 0, tests = 0;

		if (e->type != ODICT_OBJECT)
			continue;
		odict_get_number(e->u.odict, &bytes, "bytes_today");
		odict_get_number(e->u.odict, &tests, "tests_today");
		printf("  peer %s today: %llu bytes, %llu tests\n",
		       odict_string(e->u.odict, "peer_id"),
		       (unsigned long long)bytes, (unsigned long long)tests);
	}
}


static int refl_status(struct cli *cli, int argc, char **argv)
{
	const struct odict_entry *subs, *refl;
	struct odict *reply = NULL;
	bool json = false, enabled = false, running = false;
	int rc;

	rc = gw_cli_sub_opts(cli, argc, argv, &json);
	if (rc)
		return rc < 0 ? 0 : rc;

	rc = gw_cli_request(cli, "{\"cmd\":\"status\"}", CTRL_TIMEOUT_MS,
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
			print_list(o);
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

	rc = gw_cli_sub_opts(cli, argc, argv, NULL);
	if (rc)
		return rc < 0 ? 0 : rc;

	rc = gw_cli_load_conf(cli, &conf, false);
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
			if (gw_conf_parse_duration(optarg, &ttl, NULL) ||
			    ttl < 1000 || ttl > 86400000) {
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
			return gw_cli_sub_usage(refl_commands, "pair", 0);
		default:
			return gw_cli_sub_usage(refl_commands, "pair", EXIT_USAGE);
		}
	}
	if (optind != argc)
		return gw_cli_sub_usage(refl_commands, "pair", EXIT_USAGE);
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

	rc = gw_cli_request(cli, req, CTRL_TIMEOUT_MS, &reply, NULL);
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
		return gw_cli_sub_usage(refl_commands, "unpair", 0);
	if (argc != 2 || strlen(argv[1]) > 100 ||
	    strspn(argv[1], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx"
		   "yz0123456789-") != strlen(argv[1]))
		return gw_cli_sub_usage(refl_commands, "unpair", EXIT_USAGE);

	snprintf(req, sizeof(req), "{\"cmd\":\"reflector.unpair\","
		 "\"peer_id\":\"%s\"}", argv[1]);
	rc = gw_cli_request(cli, req, CTRL_TIMEOUT_MS, &reply, NULL);
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

	rc = gw_cli_sub_opts(cli, argc, argv, NULL);
	if (rc)
		return rc < 0 ? 0 : rc;
	rc = gw_cli_load_conf(cli, &conf, false);
	if (rc)
		return rc;

	sock = conf->control.socket ? conf->control.socket :
		gw_ctrl_default_path();
	/* is a daemon there? (asking changes nothing) */
	err = gw_ctrl_call(sock, "{\"cmd\":\"status\"}", &raw,
			   CTRL_TIMEOUT_MS);
	if (!err) {
		rc = gw_cli_request(cli, "{\"cmd\":\"reflector.rotate_identity\"}",
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



static const struct command refl_commands[] = {
	{"serve", "reflector serve",
	 "Run the daemon (the reflector with it) in the foreground.",
	 gw_cli_serve},
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
	 "Describe the reflector sub-commands.", gw_cli_reflector_help},
	{0},
};


int gw_cli_reflector_help(struct cli *cli, int argc, char **argv)
{
	(void)cli;

	if (argc > 1) {
		if (!gw_cli_find(refl_commands, argv[1])) {
			fprintf(stderr, "reflector: unknown sub-command "
				"'%s'\n", argv[1]);
			return EXIT_USAGE;
		}
		return gw_cli_sub_usage(refl_commands, argv[1], 0);
	}

	printf("usage: reflector [-c FILE] SUBCOMMAND  (same as keepline "
	       "reflector)\n\n");
	for (const struct command *c = refl_commands; c->name; c++)
		printf("  %-28s %s\n", c->usage, c->summary);

	return 0;
}


int gw_cli_reflector(struct cli *cli, int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2) {
		fprintf(stderr, "reflector: a sub-command is needed (see "
			"`keepline reflector help`)\n");
		return EXIT_USAGE;
	}

	cmd = gw_cli_find(refl_commands, argv[1]);
	if (!cmd) {
		fprintf(stderr, "reflector: unknown sub-command '%s' (see "
			"`keepline reflector help`)\n", argv[1]);
		return EXIT_USAGE;
	}

	return cmd->run(cli, argc - 1, argv + 1);
}
