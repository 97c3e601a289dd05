/**
 * @file health.c  Figures, score, state and hold-down (health.h)
 */

#include <string.h>

#include "gateway/libre.h"
#include "netwatch/health.h"


void nw_stats_answer(struct nw_stats *s, uint64_t rtt_ns, bool kernel_ts)
{
	++s->sent;
	++s->received;
	if (kernel_ts)
		++s->kernel_ts;
	if (s->received == 1 || rtt_ns < s->min_ns)
		s->min_ns = rtt_ns;
	if (rtt_ns > s->max_ns)
		s->max_ns = rtt_ns;
	s->sum_ns += rtt_ns;

	/* RFC 3550 §6.4.1: J += (|D(i-1,i)| - J) / 16, D the difference
	 * of successive transit times, here round trips */
	if (s->have_last) {
		double d = (double)rtt_ns - (double)s->last_ns;

		if (d < 0)
			d = -d;

		s->jitter_ns += (d - s->jitter_ns) / 16.0;
	}
	s->last_ns = rtt_ns;
	s->have_last = true;
}


void nw_stats_lost(struct nw_stats *s)
{
	++s->sent;
}


double nw_stats_loss_pct(const struct nw_stats *s)
{
	if (!s->sent)
		return 0.0;

	return 100.0 * (double)(s->sent - s->received) / (double)s->sent;
}


double nw_stats_avg_ms(const struct nw_stats *s)
{
	if (!s->received)
		return 0.0;

	return (double)s->sum_ns / (double)s->received / 1e6;
}


void nw_stats_odict(const struct nw_stats *s, struct odict *o)
{
	odict_entry_add(o, "sent", ODICT_INT, (int64_t)s->sent);
	odict_entry_add(o, "received", ODICT_INT, (int64_t)s->received);
	odict_entry_add(o, "loss_pct", ODICT_DOUBLE, nw_stats_loss_pct(s));
	if (!s->received)
		return;
	odict_entry_add(o, "min_ms", ODICT_DOUBLE, (double)s->min_ns / 1e6);
	odict_entry_add(o, "avg_ms", ODICT_DOUBLE, nw_stats_avg_ms(s));
	odict_entry_add(o, "max_ms", ODICT_DOUBLE, (double)s->max_ns / 1e6);
	odict_entry_add(o, "jitter_ms", ODICT_DOUBLE, s->jitter_ns / 1e6);
	odict_entry_add(o, "kernel_timestamps", ODICT_BOOL,
			s->kernel_ts == s->received);
}


static double part(double x, double thr)
{
	if (thr <= 0)
		return x > 0 ? 1.0 : 0.0;
	x /= 2 * thr;

	return x > 1.0 ? 1.0 : x;
}


double nw_score(const struct nw_stats *s, const struct nw_thresholds *th)
{
	double cost;

	if (!s->received)
		return 0.0;

	cost = 0.4 * part(nw_stats_avg_ms(s), th->latency_ms) +
		0.4 * part(nw_stats_loss_pct(s), th->loss_pct) +
		0.2 * part(s->jitter_ns / 1e6, th->jitter_ms);

	return 100.0 * (1.0 - cost);
}


const char *nw_state_name(enum nw_state st)
{
	switch (st) {
	case NW_UP:         return "up";
	case NW_DEGRADED:   return "degraded";
	case NW_DOWN:       return "down";
	case NW_UNMEASURED: return "unmeasured";
	default:            return "unknown";
	}
}


enum nw_state nw_state_of(const struct nw_stats *s,
			  const struct nw_thresholds *th)
{
	if (!s->sent)
		return NW_UNMEASURED;
	if (!s->received)
		return NW_DOWN;
	if (nw_stats_avg_ms(s) > th->latency_ms ||
	    nw_stats_loss_pct(s) > th->loss_pct ||
	    s->jitter_ns / 1e6 > th->jitter_ms)
		return NW_DEGRADED;

	return NW_UP;
}


bool nw_hold_update(struct nw_hold *h, enum nw_state verdict,
		    uint64_t seen_at, uint64_t now, uint64_t hold_ms)
{
	if (h->state == NW_UNKNOWN || h->state == NW_UNMEASURED ||
	    verdict == NW_UNMEASURED) {
		bool changed = h->state != verdict;

		h->state = h->candidate = verdict;
		h->candidate_since = h->since = now;
		return changed;
	}

	if (verdict == h->state) {
		h->candidate = verdict;   /* a blip that did not last */
		return false;
	}
	if (verdict != h->candidate) {
		h->candidate = verdict;
		h->candidate_since = seen_at;
	}
	if (now - h->candidate_since < hold_ms)
		return false;

	h->state = verdict;
	h->since = now;

	return true;
}
