/**
 * @file cli.h  What the keepline command line's parts share: main.c (the
 * daemon and its queries), cli_reflector.c (`keepline reflector ...`)
 *
 * Exit status: 0 success, 1 runtime failure (e.g. no daemon answers),
 * 2 usage or configuration error.
 */

#ifndef GW_CLI_H
#define GW_CLI_H

#include <stdbool.h>

struct gw_conf;
struct odict;

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

/** A command of table by name, or NULL */
const struct command *gw_cli_find(const struct command *table,
				  const char *name);
/**
 * The file from -c, the environment or /etc, else built-in defaults.
 * Errors are printed; returns the exit status to use, 0 on success.
 * strict (serve, check-config) also refuses what asks for a module this
 * build lacks; a client command only needs the socket's path.
 */
int gw_cli_load_conf(struct cli *cli, struct gw_conf **confp, bool strict);
/** -c FILE (and --json when json is not NULL) after the sub-command;
 *  -1 for --help, EXIT_USAGE for anything else */
int gw_cli_sub_opts(struct cli *cli, int argc, char **argv, bool *json);
/** Print a command's usage (stderr when rc); returns rc */
int gw_cli_sub_usage(const struct command *table, const char *name, int rc);
/**
 * One request to the running daemon; errors printed.
 *
 * @param replyp  The reply, when it says ok (out)
 * @param rawp    The reply's text, or NULL
 * @return an exit status
 */
int gw_cli_request(struct cli *cli, const char *request, int timeout_ms,
		   struct odict **replyp, char **rawp);

/* main.c */
int gw_cli_serve(struct cli *cli, int argc, char **argv);

/* cli_reflector.c */
int gw_cli_reflector(struct cli *cli, int argc, char **argv);
int gw_cli_reflector_help(struct cli *cli, int argc, char **argv);

#endif
