/**
 * @file daemon.h  keepline serve: the reactor, the control socket, signals,
 * and the module table's lifecycle (module.h)
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

/**
 * Open the control socket and allocate and start every enabled module.
 * @param conf  Configuration, referenced for the daemon's lifetime
 */
int gw_daemon_alloc(struct gw_daemon **dp, struct gw_conf *conf);
/** Serve until SIGTERM/SIGINT and every module stopped; returns 0 or errno */
int gw_daemon_run(struct gw_daemon *d);

struct gw_reactor *gw_daemon_reactor(struct gw_daemon *d);
struct gw_ctrl *gw_daemon_ctrl(struct gw_daemon *d);
/** The configuration in force (the latest applied by a reload) */
const struct gw_conf *gw_daemon_conf(const struct gw_daemon *d);

/** Apply the log section of a configuration to the logger */
void gw_daemon_apply_log(const struct gw_conf *conf);

/* status.c */
int gw_status_cmd(struct odict *reply, const struct odict *req, void *arg);
/** `metrics`: every module's metrics, Prometheus text in "text" */
int gw_metrics_cmd(struct odict *reply, const struct odict *req, void *arg);
/** Print a status reply for people */
void gw_status_print(const struct odict *reply);
/** Print a calls reply for people */
void gw_calls_print(const struct odict *reply);

#endif
