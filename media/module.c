/**
 * @file module.c  media/ in the module table: the RTP plane, and the
 * ICMP intake with its dead-peer judge
 */

#include <errno.h>

#include "gateway/libre.h"
#include "gateway/conf.h"
#include "gateway/daemon.h"
#include "gateway/metrics.h"
#include "gateway/module.h"
#include "media/icmp.h"
#include "media/media.h"


static int media_alloc(void **statep, const struct gw_conf *conf,
		       struct gw_daemon *d)
{
	struct media_mgr *mm;
	int err;

	err = media_bind_check(conf);
	if (!err)
		err = media_mgr_alloc(&mm, gw_daemon_reactor(d), conf);
	if (!err)
		*statep = mm;

	return err;
}


static void media_status(void *state, struct odict *o)
{
	unsigned used, total;

	media_mgr_ports(state, &used, &total);
	odict_entry_add(o, "running", ODICT_BOOL, true);
	odict_entry_add(o, "ports_used", ODICT_INT, (int64_t)used);
	odict_entry_add(o, "ports_total", ODICT_INT, (int64_t)total);
}


static void media_metrics(void *state, struct gw_metrics *m)
{
	unsigned used, total;

	media_mgr_ports(state, &used, &total);
	gw_metric(m, GW_GAUGE, "media_ports_used",
		  "RTP/RTCP port pairs taken by calls", (double)used);
	gw_metric(m, GW_GAUGE, "media_ports",
		  "RTP/RTCP port pairs in media.rtp_ports", (double)total);
}


const struct gw_module media_module = {
	.name = "media",
	.title = "the media plane",
	.alloc = media_alloc,
	.status = media_status,
	.metrics = media_metrics,
};


static int icmp_alloc(void **statep, const struct gw_conf *conf,
		      struct gw_daemon *d)
{
	(void)conf;

	return gw_module_share(statep, d, "media");
}


static int icmp_start(void *state)
{
	return media_icmp_start(state);
}


static void icmp_status(void *state, struct odict *o)
{
	media_icmp_status(state, o);
}


static void icmp_metrics(void *state, struct gw_metrics *m)
{
	struct media_icmp_stats st;

	media_icmp_stats(state, &st);
	gw_metric_l(m, GW_COUNTER, "icmp_errors_total",
		    "ICMP errors read, by intake", "intake", "error_queue",
		    (double)st.seen[ICMP_PATH_QUEUE]);
	gw_metric_l(m, GW_COUNTER, "icmp_errors_total",
		    "ICMP errors read, by intake", "intake", "raw",
		    (double)st.seen[ICMP_PATH_RAW]);
	gw_metric(m, GW_COUNTER, "icmp_counted_total",
		  "Errors counted against a live media peer",
		  (double)st.counted);
	gw_metric(m, GW_COUNTER, "icmp_foreign_total",
		  "Errors about no packet we sent to a live peer",
		  (double)st.foreign);
	gw_metric(m, GW_COUNTER, "icmp_cleanups_total",
		  "Dead media peers found", (double)st.cleanups);
	gw_metric(m, GW_COUNTER, "icmp_sessions_ended_total",
		  "Calls ended because their media peer was dead",
		  (double)st.sessions);
}


const struct gw_module media_icmp_module = {
	.name = "icmp",
	.title = "the ICMP intake",
	/* always: icmp.enabled turns off the dead-peer judge, not the
	 * intake the probers need (its status says which) */
	.alloc = icmp_alloc,
	.start = icmp_start,
	.status = icmp_status,
	.metrics = icmp_metrics,
};
