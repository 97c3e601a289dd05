/**
 * @file daemon_int.h  The daemon's state, for daemon.c, reload.c, status.c
 */

#ifndef GW_DAEMON_INT_H
#define GW_DAEMON_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "gateway/daemon.h"
#include "gateway/module.h"

enum { GW_MAX_MODULES = 16 };

/** One running module */
struct gw_mod_inst {
	const struct gw_module *m;
	struct gw_daemon *d;
	void *st;
	bool stop_called;
	bool done;                    /**< its stop finished */
};

struct gw_daemon {
	struct gw_conf *conf;         /**< what the modules started with */
	struct gw_conf *current;      /**< the last one applied (reload) */
	struct gw_reactor *r;
	struct gw_ctrl *ctrl;
	struct gw_mod_inst mods[GW_MAX_MODULES];
	size_t n_mods;
	/* stop: modules in reverse order, each until done or the deadline */
	bool stopping;
	bool in_stop;                 /**< inside a module's stop() */
	size_t stop_i;                /**< modules not stopped yet */
	struct gw_timer *stop_deadline;
	uint64_t started_ms;          /**< monotonic */
	uint64_t started_wall;        /**< [s] since the epoch */
	uint64_t reloads;             /**< applied */
	uint64_t reload_failures;     /**< files refused */
	bool dns_off;                 /**< process_setup(): hosts: files */
	int dns_err;
	uint64_t fd_soft, fd_was, fd_hard;
};

/* reload.c */
int gw_reload_cmd(struct odict *reply, const struct odict *req, void *arg);
void gw_reload_signal(int signo, void *arg);

#endif
