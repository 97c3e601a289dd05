/**
 * @file appliance_int.h  Inside `keepline appliance`: what appliance.c
 * (options, the link, the one-request commands) and appliance_tests.c
 * (echo and throughput, the measurements) share
 */

#ifndef REFL_APPLIANCE_INT_H
#define REFL_APPLIANCE_INT_H

#include <stdbool.h>

struct gw_conf;
struct odict;
struct refl_client;

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

/** Load the identity and connect; errors printed; an exit status */
int refl_app_dial(const struct gw_conf *conf, const struct opts *o,
		  const char *addr, struct refl_client **cp);
/** One request; an error reply is printed and is a failure */
int refl_app_call(struct refl_client *c, struct odict *payload,
		  struct odict **replyp);
struct odict *refl_app_payload_new(const char *type);
void refl_app_print_json(const struct odict *o);
/** session_request as the options say; the grant, or the denial printed */
int refl_app_request_session(struct refl_client *c, const struct opts *o,
			     struct odict **grantp);
int refl_app_close_session(struct refl_client *c, const char *test_id);

/* appliance_tests.c */
int refl_app_echo(const struct gw_conf *conf, const struct opts *o,
		  char **args, int n);
int refl_app_throughput(const struct gw_conf *conf, const struct opts *o,
			char **args, int n);

#endif
