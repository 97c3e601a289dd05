/**
 * @file daemon.h  keepline serve: the reactor, the control socket, signals
 *
 * Modules hook in as they land: control commands through gw_ctrl_register()
 * on gw_daemon_ctrl(), a section of `keepline status` through
 * gw_daemon_status_register(), and SIGHUP through gw_daemon_reload_register().
 */

#ifndef GW_DAEMON_H
#define GW_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

struct gw_conf;
struct gw_ctrl;
struct gw_daemon;
struct gw_reactor;
struct odict;

/** Fill a subsystem's status section; its "running" key says it runs */
typedef void (gw_status_h)(struct odict *section, void *arg);
/** A new, valid configuration after SIGHUP; apply what can change live */
typedef void (gw_reload_h)(const struct gw_conf *conf, void *arg);

int gw_daemon_alloc(struct gw_daemon **dp, struct gw_conf *conf);
/** Serve until SIGTERM/SIGINT; returns 0 or errno */
int gw_daemon_run(struct gw_daemon *d);

struct gw_reactor *gw_daemon_reactor(struct gw_daemon *d);
struct gw_ctrl *gw_daemon_ctrl(struct gw_daemon *d);
const struct gw_conf *gw_daemon_conf(const struct gw_daemon *d);

int gw_daemon_status_register(struct gw_daemon *d, const char *subsystem,
			      gw_status_h *h, void *arg);
int gw_daemon_reload_register(struct gw_daemon *d, gw_reload_h *h,
			      void *arg);

/** Apply the log section of a configuration to the logger */
void gw_daemon_apply_log(const struct gw_conf *conf);

/* status.c */
int gw_status_cmd(struct odict *reply, const struct odict *req, void *arg);
/** Print a status reply for people */
void gw_status_print(const struct odict *reply);
/** Print a calls reply for people */
void gw_calls_print(const struct odict *reply);

/* internal, for status.c */
struct gw_status_provider {
	const char *name;
	gw_status_h *h;
	void *arg;
};
uint64_t gw_daemon_started_ms(const struct gw_daemon *d);
uint64_t gw_daemon_started_wall(const struct gw_daemon *d);
const struct gw_status_provider *gw_daemon_status_provider(
	const struct gw_daemon *d, const char *subsystem);

#endif
