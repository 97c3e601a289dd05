/**
 * @file module.h  The module table: every subsystem of the daemon
 *
 * A subsystem is a folder that defines one `const struct gw_module` and
 * is named once in gateway/modules.c. The daemon allocates the modules in
 * table order, starts them, shows their status, collects their metrics,
 * hands them a reloaded configuration, and stops them in reverse order;
 * nothing else in the tree knows they exist. A module reaches the rest
 * only through gateway/ (reactor.h, ctrl.h, log.h, conf.h, metrics.h) and
 * other modules' public headers (gw_daemon_module() finds their state).
 * docs/architecture.md "Adding a subsystem" has an example.
 */

#ifndef GW_MODULE_H
#define GW_MODULE_H

#include <stdbool.h>

#include "gateway/conf.h"

struct gw_daemon;
struct gw_metrics;
struct gw_reload;
struct odict;

/** A module's stop has finished (every peer told, every child reaped) */
typedef void (gw_module_done_h)(void *arg);

struct gw_module {
	const char *name;        /**< status section, logs, laggard lists */
	const char *title;       /**< in sentences: "the reflector" */
	/** Whether conf asks for it; NULL: always */
	bool (*enabled)(const struct gw_conf *conf);

	/* Everything below is NULL for a subsystem this build lacks: the
	 * status lists it as "not in this build yet" */

	/**
	 * Create the module's state; sockets may open here. conf lives
	 * until the daemon exits (a reload hands a new one to reload()).
	 */
	int  (*alloc)(void **statep, const struct gw_conf *conf,
		      struct gw_daemon *d);
	/** Once every module is allocated; NULL: nothing to do */
	int  (*start)(void *state);
	/**
	 * Graceful and bounded: tell peers, reap children, flush logs,
	 * then call done (at once or later, never twice). The daemon gives
	 * every module GW_STOP_DEADLINE_MS in all. NULL: done at once.
	 */
	void (*stop)(void *state, gw_module_done_h *done, void *arg);
	/** Fill the status section; must add "running" */
	void (*status)(void *state, struct odict *o);
	/** Write the module's metrics; NULL: none */
	void (*metrics)(void *state, struct gw_metrics *m);
	/**
	 * Top-level keys (or "section.key" prefixes) reload() applies to
	 * new work; a change anywhere else waits for a restart.
	 * NULL-terminated; NULL: nothing reloads.
	 */
	const char *const *reload_keys;
	/**
	 * Apply a new, valid configuration to what starts from now on;
	 * what cannot change live is named with gw_reload_restart().
	 */
	int  (*reload)(void *state, const struct gw_conf *conf,
		       struct gw_reload *rep);
};

enum {
	GW_STOP_DEADLINE_MS = 3000,   /**< every module's stop, in all */
};

/** The table, NULL-terminated (gateway/modules.c) */
extern const struct gw_module *const gw_modules[];

/** A running module's state by name, for its public header's functions;
 *  NULL when it is not built, not enabled, or not allocated yet */
void *gw_daemon_module(struct gw_daemon *d, const char *name);

/**
 * For an alloc() whose entry is a view of another module (its own status
 * section, say): *statep becomes a reference to that module's state.
 * ENOENT when that module is not running (it must come earlier in the
 * table).
 */
int gw_module_share(void **statep, struct gw_daemon *d, const char *name);

/**
 * Refuse what a configuration asks of modules this build lacks: one
 * error "FILE:LINE:COL: key: the reflector is not in this build" per key
 * (gw_conf.needs). Returns the number of errors.
 */
unsigned gw_modules_check(const struct gw_conf *conf, gw_conf_err_h *eh,
			  void *arg);

/** During reload(): key (a path like "trunks[0].password") changed but
 *  applies only after a restart, because of what */
void gw_reload_restart(struct gw_reload *rep, const char *key,
		       const char *why);

#endif
