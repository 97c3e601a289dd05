/**
 * @file main.c  The keepline command line (DESIGN.md §5): the daemon,
 * its queries, and the table of commands; `reflector ...` is in
 * cli_reflector.c, the shared helpers in cli.c
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
#include "gateway/cli.h"
#include "gateway/conf.h"
#include "gateway/ctrl.h"
#include "gateway/daemon.h"
#include "gateway/module.h"
#include "netwatch/netwatch.h"
#include "reflector/appliance.h"
#include "sip/tls.h"

static const struct command commands[];


int gw_cli_serve(struct cli *cli, int argc, char **argv)
{
	struct gw_daemon *d = NULL;
	struct gw_conf *conf = NULL;
	int rc, err;

	rc = gw_cli_sub_opts(cli, argc, argv, NULL);
	if (rc)
		return gw_cli_sub_usage(commands, "serve", rc < 0 ? 0 : rc);

	rc = gw_cli_load_conf(cli, &conf, true);
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

	rc = gw_cli_sub_opts(cli, argc, argv, NULL);
	if (rc)
		return gw_cli_sub_usage(commands, "check-config", rc < 0 ? 0 : rc);

	rc = gw_cli_load_conf(cli, &conf, true);
	if (rc)
		return rc;

	rc = check_tls(conf);
	if (!rc)
		printf("configuration OK\n");
	mem_deref(conf);

	return rc;
}


/* Send one request to the running daemon; prints why when it fails. */


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

	rc = gw_cli_sub_opts(cli, argc, argv, &json);
	if (rc)
		return gw_cli_sub_usage(commands, cmd, rc < 0 ? 0 : rc);

	/* the daemon gives up at timeout_ms and says so; we wait a little
	 * longer for that answer */
	snprintf(request, sizeof(request),
		 "{\"cmd\":\"%s\",\"timeout_ms\":%d}", cmd, timeout_ms);
	rc = gw_cli_request(cli, request, timeout_ms, &reply, &raw);
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
	rc = gw_cli_load_conf(cli, &conf, false);
	mem_deref(conf);
	if (rc) {
		fprintf(stderr, "keepline: not reloaded: the daemon keeps its "
			"running configuration\n");
		return rc;
	}

	return daemon_query(cli, argc, argv, "reload", reload_print,
			    CTRL_TIMEOUT_MS);
}




static int cmd_appliance(struct cli *cli, int argc, char **argv)
{
	struct gw_conf *conf = NULL;
	int rc = gw_cli_load_conf(cli, &conf, false);

	if (rc)
		return rc;
	rc = refl_appliance_main(conf, argc, argv);
	mem_deref(conf);

	return rc;
}


static int cmd_probe(struct cli *cli, int argc, char **argv)
{
	struct gw_conf *conf = NULL;
	int rc = gw_cli_load_conf(cli, &conf, false);

	if (rc)
		return rc;
	rc = nw_probe_main(conf, argc, argv);
	mem_deref(conf);

	return rc;
}


static int cmd_help(struct cli *cli, int argc, char **argv);

static const struct command commands[] = {
	{"serve", "keepline [-c FILE] serve",
	 "Run the daemon in the foreground, logging to stderr.", gw_cli_serve},
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
	{"probe", "keepline [-c FILE] probe [-c N] [-i MS] [-t MS] [-p PORT] "
	 "[--method M] [--json] TARGET...",
	 "Probe targets now, without the daemon: fping-like summaries or "
	 "JSON; exit 0 when every target answered.", cmd_probe},
	{"reflector", "keepline [-c FILE] reflector SUBCOMMAND",
	 "Reflector commands (see `keepline reflector help`).",
	 gw_cli_reflector},
	{"appliance", "keepline [-c FILE] appliance SUBCOMMAND",
	 "The reflector's client (see `keepline appliance help`).",
	 cmd_appliance},
	{"help", "keepline help [SUBCOMMAND]",
	 "Describe keepline or one of its sub-commands.", cmd_help},
	{0},
};




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
		return gw_cli_reflector_help(cli, argc - 1, argv + 1);

	if (!gw_cli_find(commands, argv[1])) {
		fprintf(stderr, "keepline: unknown command '%s'\n", argv[1]);
		return EXIT_USAGE;
	}

	if (!strcmp(argv[1], "reflector"))
		return gw_cli_reflector_help(cli, 1, argv);

	return gw_cli_sub_usage(commands, argv[1], 0);
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
				return gw_cli_reflector_help(&cli, 1, argv);
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

		return gw_cli_reflector(&cli, argc + 1, rargv);
	}

	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}

	cmd = gw_cli_find(commands, argv[0]);
	if (!cmd) {
		fprintf(stderr, "keepline: unknown command '%s' (see "
			"`keepline --help`)\n", argv[0]);
		return EXIT_USAGE;
	}

	return cmd->run(&cli, argc, argv);
}
