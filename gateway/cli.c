/**
 * @file cli.c  The command line's shared helpers (cli.h)
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/libre.h"
#include "gateway/cli.h"
#include "gateway/conf.h"
#include "gateway/ctrl.h"
#include "gateway/module.h"

static void print_conf_error(const char *line, void *arg)
{
	(void)arg;
	fprintf(stderr, "%s\n", line);
}


/* The file from -c, the environment or /etc, else built-in defaults.
 * Errors are printed; returns the exit status to use, 0 on success.
 * serve and check-config (strict) also refuse what asks for a module
 * this build lacks; a client command only needs the socket's path. */
int gw_cli_load_conf(struct cli *cli, struct gw_conf **confp, bool strict)
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
int gw_cli_sub_opts(struct cli *cli, int argc, char **argv,
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


int gw_cli_sub_usage(const struct command *table, const char *name, int rc)
{
	const struct command *cmd = gw_cli_find(table, name);

	if (cmd)
		fprintf(rc ? stderr : stdout, "usage: %s\n%s\n", cmd->usage,
			cmd->summary);

	return rc;
}


const struct command *gw_cli_find(const struct command *table,
					  const char *name)
{
	for (const struct command *c = table; c->name; c++) {
		if (!strcmp(c->name, name))
			return c;
	}

	return NULL;
}


int gw_cli_request(struct cli *cli, const char *request,
			int timeout_ms, struct odict **replyp, char **rawp)
{
	struct gw_conf *conf = NULL;
	const char *path;
	struct odict *reply = NULL;
	char *raw = NULL;
	bool ok = false;
	int rc, err;

	rc = gw_cli_load_conf(cli, &conf, false);
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
