/**
 * @file status.c  Netwatch's section of `keepline status`, and its
 *                 metrics (nw_int.h)
 */

#include <stdio.h>
#include <string.h>

#include "gateway/libre.h"
#include "gateway/conf.h"
#include "gateway/metrics.h"
#include "gateway/reactor.h"
#include "netwatch/health.h"
#include "netwatch/nw_int.h"
#include "netwatch/prober.h"


static void path_status(const struct nw_path *p, struct odict *arr,
			struct odict *lines, size_t i)
{
	struct odict *o = NULL, *tr = NULL;
	uint64_t now = gw_now_ms();
	char key[24], line[400];
	int n;

	if (odict_alloc(&o, 24) || odict_alloc(&tr, 8))
		goto out;

	odict_entry_add(o, "target", ODICT_STRING, p->name);
	odict_entry_add(o, "address", ODICT_STRING, p->addr_s);
	odict_entry_add(o, "state", ODICT_STRING, nw_state_name(p->hold.state));
	if (p->hold.state != NW_UNKNOWN)
		odict_entry_add(o, "since_s", ODICT_INT,
				(int64_t)((now - p->hold.since) / 1000));
	for (size_t k = 0; k < p->n_trunks; k++) {
		snprintf(key, sizeof(key), "%zu", k);
		odict_entry_add(tr, key, ODICT_STRING, p->trunks[k]);
	}
	odict_entry_add(o, "trunks", ODICT_ARRAY, tr);
	odict_entry_add(o, "checks", ODICT_INT, (int64_t)p->checks_done);
	if (p->unmeasured[0]) {
		odict_entry_add(o, "why", ODICT_STRING, p->unmeasured);
	}
	else if (p->have_last) {
		odict_entry_add(o, "method", ODICT_STRING,
				nw_method_name(p->method));
		nw_stats_odict(&p->last, o);
		odict_entry_add(o, "score", ODICT_DOUBLE, p->score);
		if (p->hold.state == NW_UNMEASURED || p->last.received <
		    p->last.sent)
			odict_entry_add(o, "why", ODICT_STRING, p->last_why);
	}

	n = snprintf(line, sizeof(line), "path %s %s", p->label,
		     nw_state_name(p->hold.state));
	if (p->unmeasured[0])
		snprintf(line + n, sizeof(line) - (size_t)n, ": %s",
			 p->unmeasured);
	else if (p->have_last && p->last.received)
		snprintf(line + n, sizeof(line) - (size_t)n,
			 " %s %u/%u loss %.0f%% min/avg/max %.3f/%.3f/%.3f ms "
			 "jitter %.3f ms score %.0f%s%s",
			 nw_method_name(p->method), p->last.received,
			 p->last.sent, nw_stats_loss_pct(&p->last),
			 (double)p->last.min_ns / 1e6,
			 nw_stats_avg_ms(&p->last),
			 (double)p->last.max_ns / 1e6,
			 p->last.jitter_ns / 1e6, p->score,
			 p->n_trunks ? " trunk " : "",
			 p->n_trunks ? p->trunks[0] : "");
	else if (p->have_last)
		snprintf(line + n, sizeof(line) - (size_t)n,
			 " %s 0/%u: %s%s%s", nw_method_name(p->method),
			 p->last.sent, p->last_why,
			 p->n_trunks ? " trunk " : "",
			 p->n_trunks ? p->trunks[0] : "");

	snprintf(key, sizeof(key), "%zu", i);
	odict_entry_add(arr, key, ODICT_OBJECT, o);
	odict_entry_add(lines, key, ODICT_STRING, line);

 out:
	mem_deref(tr);
	mem_deref(o);
}


void nw_mgr_status(void *state, struct odict *o)
{
	struct nw_mgr *nw = state;
	static const char *const methods[] = {"auto", "icmp", "udp", "tcp"};
	struct odict *arr = NULL, *lines = NULL, *icmp = NULL;
	unsigned count[NW_UNMEASURED + 1] = {0};
	size_t i = 0;

	odict_entry_add(o, "running", ODICT_BOOL, true);
	odict_entry_add(o, "method", ODICT_STRING,
			methods[nw->conf->netwatch.method]);
	if (odict_alloc(&arr, 16) || odict_alloc(&lines, 16) ||
	    odict_alloc(&icmp, 4))
		goto out;

	odict_entry_add(icmp, "ipv4", ODICT_STRING, nw_icmp_kind_name(
				nw_engine_icmp(nw->e, AF_INET)));
	odict_entry_add(icmp, "ipv6", ODICT_STRING, nw_icmp_kind_name(
				nw_engine_icmp(nw->e, AF_INET6)));
	odict_entry_add(o, "icmp", ODICT_OBJECT, icmp);

	for (struct le *le = nw->paths.head; le; le = le->next, i++) {
		const struct nw_path *p = le->data;

		++count[p->hold.state];
		path_status(p, arr, lines, i);
	}
	odict_entry_add(o, "paths", ODICT_INT, (int64_t)i);
	odict_entry_add(o, "up", ODICT_INT, (int64_t)count[NW_UP]);
	odict_entry_add(o, "degraded", ODICT_INT, (int64_t)count[NW_DEGRADED]);
	odict_entry_add(o, "down", ODICT_INT, (int64_t)count[NW_DOWN]);
	odict_entry_add(o, "unmeasured", ODICT_INT,
			(int64_t)count[NW_UNMEASURED]);
	odict_entry_add(o, "state_changes", ODICT_INT,
			(int64_t)nw->state_changes);
	odict_entry_add(o, "targets", ODICT_ARRAY, arr);
	odict_entry_add(o, "lines", ODICT_ARRAY, lines);

 out:
	mem_deref(icmp);
	mem_deref(lines);
	mem_deref(arr);
}


void nw_mgr_metrics(void *state, struct gw_metrics *m)
{
	struct nw_mgr *nw = state;
	struct le *le;

	for (le = nw->paths.head; le; le = le->next) {
		const struct nw_path *p = le->data;

		gw_metric_l(m, GW_GAUGE, "netwatch_path_up",
			    "1 when the path is up, 0.5 degraded, 0 down or "
			    "unmeasured", "target", p->name,
			    p->hold.state == NW_UP ? 1.0 :
			    p->hold.state == NW_DEGRADED ? 0.5 : 0.0);
	}
	for (le = nw->paths.head; le; le = le->next) {
		const struct nw_path *p = le->data;

		if (p->have_last && p->last.received)
			gw_metric_l(m, GW_GAUGE, "netwatch_rtt_seconds",
				    "Average round trip of the last check",
				    "target", p->name,
				    nw_stats_avg_ms(&p->last) / 1e3);
	}
	for (le = nw->paths.head; le; le = le->next) {
		const struct nw_path *p = le->data;

		if (p->have_last)
			gw_metric_l(m, GW_GAUGE, "netwatch_loss_ratio",
				    "Probes lost in the last check", "target",
				    p->name, nw_stats_loss_pct(&p->last) / 100);
	}
	gw_metric(m, GW_COUNTER, "netwatch_state_changes_total",
		  "Path state changes", (double)nw->state_changes);
}
