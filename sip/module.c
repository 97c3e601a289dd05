/**
 * @file module.c  sip/ in the module table: the agent, `calls`, and the
 * session_timer status section
 */

#include <errno.h>
#include <malloc.h>

#include "gateway/libre.h"
#include "gateway/conf.h"
#include "gateway/ctrl.h"
#include "gateway/daemon.h"
#include "gateway/metrics.h"
#include "gateway/module.h"
#include "gateway/reactor.h"
#include "media/media.h"
#include "sip/sipua.h"

enum {
	HOUSEKEEPING_MS = 10000,
	/* NTA keeps a finished transaction 64*T1 = 32 s (RFC 3261 Timer J) */
	TRIM_IDLE_MS = 40000,
};

struct sip_mod {
	struct sipua *ua;
	struct gw_timer *housekeeping;
	uint64_t idle_since;          /**< gw_now_ms() of the last new call */
	uint64_t invites_seen;
	bool trimmed;                 /**< heap trimmed since the last call */
};


/* glibc keeps freed memory for reuse; after a burst of calls that is
 * hundreds of MB. Once no new call has come for long enough for NTA to
 * have let go of the burst's transactions, hand it back so RSS returns to
 * its baseline, also while calls stay up (malloc_trim() keeps what they
 * use). */
static void housekeeping(void *arg)
{
	struct sip_mod *sm = arg;
	struct sipua_stats st;
	uint64_t now = gw_now_ms();

	sipua_stats(sm->ua, &st);
	if (st.invites != sm->invites_seen || !sm->idle_since) {
		sm->invites_seen = st.invites;
		sm->idle_since = now;
		sm->trimmed = false;
		return;
	}

	if (!sm->trimmed && now - sm->idle_since >= TRIM_IDLE_MS) {
		malloc_trim(0);
		sm->trimmed = true;
	}
}


static int cmd_calls(struct odict *reply, const struct odict *req, void *arg)
{
	struct sip_mod *sm = arg;
	(void)req;

	return sipua_calls(sm->ua, reply);
}


static void sip_mod_destructor(void *data)
{
	struct sip_mod *sm = data;

	mem_deref(sm->housekeeping);
	mem_deref(sm->ua);
}


static int sip_alloc(void **statep, const struct gw_conf *conf,
		     struct gw_daemon *d)
{
	struct media_mgr *mm = gw_daemon_module(d, "media");
	struct sip_mod *sm;
	int err;

	if (!mm)
		return ENOENT;

	sm = mem_zalloc(sizeof(*sm), sip_mod_destructor);
	if (!sm)
		return ENOMEM;

	err = sipua_alloc(&sm->ua, gw_daemon_reactor(d), conf, mm);
	if (!err)
		sipua_set_netwatch(sm->ua, gw_daemon_module(d, "netwatch"));
	if (!err)
		err = gw_ctrl_register(gw_daemon_ctrl(d), "calls",
				       "active calls: legs, peers, media "
				       "counters", cmd_calls, sm);
	if (!err)
		err = gw_timer_alloc(&sm->housekeeping, gw_daemon_reactor(d));
	if (!err)
		err = gw_timer_start_periodic(sm->housekeeping,
					      HOUSEKEEPING_MS, housekeeping,
					      sm);
	if (err)
		mem_deref(sm);
	else
		*statep = sm;

	return err;
}


static void sip_stop(void *state, gw_module_done_h *done, void *arg)
{
	struct sip_mod *sm = state;

	sipua_stop(sm->ua, done, arg);
}


static void sip_status(void *state, struct odict *o)
{
	struct sip_mod *sm = state;

	sipua_status(sm->ua, o);
}


static void sip_metrics(void *state, struct gw_metrics *m)
{
	struct sip_mod *sm = state;
	struct sipua_stats st;

	sipua_stats(sm->ua, &st);
	gw_metric(m, GW_GAUGE, "sip_calls", "Calls up now",
		  (double)st.active);
	gw_metric(m, GW_COUNTER, "sip_invites_total",
		  "Initial INVITEs received", (double)st.invites);
	gw_metric(m, GW_COUNTER, "sip_answered_total",
		  "Calls answered", (double)st.answered);
	gw_metric(m, GW_COUNTER, "sip_rejected_total",
		  "INVITEs refused with a final response >= 300",
		  (double)st.rejected);
	gw_metric(m, GW_COUNTER, "sip_ended_total", "Calls ended",
		  (double)st.ended);
	gw_metric(m, GW_COUNTER, "sip_options_total", "OPTIONS answered",
		  (double)st.options);
	gw_metric(m, GW_COUNTER, "session_timer_refreshes_sent_total",
		  "RFC 4028 refreshes we sent", (double)st.st_refreshes_sent);
	gw_metric(m, GW_COUNTER, "session_timer_refreshes_received_total",
		  "RFC 4028 refreshes the peers sent",
		  (double)st.st_refreshes_received);
	gw_metric(m, GW_COUNTER, "session_timer_expiries_total",
		  "Legs ended because no refresh came in time",
		  (double)st.st_expiries);
}


static int sip_reload(void *state, const struct gw_conf *conf,
		      struct gw_reload *rep)
{
	struct sip_mod *sm = state;

	return sipua_reload(sm->ua, conf, rep);
}


static const char *const sip_reload_keys[] = {
	"routes", "trunks", "session_timer", NULL
};

const struct gw_module sipua_module = {
	.name = "sip",
	.title = "SIP",
	.alloc = sip_alloc,
	.stop = sip_stop,
	.status = sip_status,
	.metrics = sip_metrics,
	.reload_keys = sip_reload_keys,
	.reload = sip_reload,
};


/* session_timer: a status section of its own, from the SIP agent */

static bool timer_enabled(const struct gw_conf *conf)
{
	return conf->session_timer.enabled;
}


static int timer_alloc(void **statep, const struct gw_conf *conf,
		       struct gw_daemon *d)
{
	(void)conf;

	return gw_module_share(statep, d, "sip");
}


static void timer_status(void *state, struct odict *o)
{
	struct sip_mod *sm = state;

	sipua_timer_status(sm->ua, o);
}


const struct gw_module sipua_timer_module = {
	.name = "session_timer",
	.title = "RFC 4028 session timers",
	.enabled = timer_enabled,
	.alloc = timer_alloc,
	.status = timer_status,
};
