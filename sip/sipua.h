/**
 * @file sipua.h  The SIP user agent: trunks, routes, calls
 *
 * Public face of sip/ for the rest of the gateway: no Sofia types here.
 */

#ifndef SIPUA_H
#define SIPUA_H

#include <stdint.h>

struct gw_conf;
struct gw_module;
struct gw_reload;
struct gw_reactor;
struct media_mgr;
struct odict;
struct sipua;

/** sip/module.c: the agent, and its session_timer status section */
extern const struct gw_module sipua_module, sipua_timer_module;

struct sipua_stats {
	uint64_t invites;             /**< initial INVITEs received */
	uint64_t answered;
	uint64_t rejected;            /**< refused with a final >= 300 */
	uint64_t ended;
	uint64_t options;
	unsigned active;              /**< calls now */
	/* RFC 4028 session timers, on every leg */
	uint64_t st_refreshes_sent;   /**< re-INVITE or UPDATE of ours */
	uint64_t st_refreshes_received;   /**< the peer's, answered 2xx */
	uint64_t st_expiries;         /**< legs ended: no refresh in time */
};

/**
 * Start the SIP agent on every sip.listen entry.
 *
 * @param up    User agent (out), a mem object
 * @param r     The reactor (its su_root runs Sofia)
 * @param conf  Configuration, borrowed for the agent's lifetime
 * @param mm    Media plane for the calls' RTP
 */
int sipua_alloc(struct sipua **up, struct gw_reactor *r,
		const struct gw_conf *conf, struct media_mgr *mm);

void sipua_stats(const struct sipua *ua, struct sipua_stats *st);
struct nw_mgr;
/** Path health for the route's trunks (netwatch.h); NULL: none */
void sipua_set_netwatch(struct sipua *ua, const struct nw_mgr *nw);
/**
 * The daemon is stopping: every call gets a BYE on each answered leg
 * (Reason: 503, gateway shutting down), or 487 and a CANCEL while the
 * callee still rings; new INVITEs get 503. done is called once the last
 * call is gone (every BYE answered, or given up on by NTA).
 */
void sipua_stop(struct sipua *ua, void (*done)(void *arg), void *arg);
/**
 * A reloaded configuration: routes, trunks and timer settings for the
 * calls that start from now on; established calls keep theirs.
 * Registrations keep their trunk settings (named in rep for a restart).
 */
int sipua_reload(struct sipua *ua, const struct gw_conf *conf,
		 struct gw_reload *rep);
/** Fill a status section: listeners and counters */
void sipua_status(const struct sipua *ua, struct odict *o);
/** Fill the session_timer section: dialogs (legs) with a timer now,
 *  refreshes sent and received, expiries */
void sipua_timer_status(const struct sipua *ua, struct odict *o);
/** Fill reply with "calls": one object per call, for `keepline calls` */
int sipua_calls(const struct sipua *ua, struct odict *reply);

#endif
