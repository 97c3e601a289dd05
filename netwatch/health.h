/**
 * @file health.h  Figures of a run of probes, and a path's state with
 *                 hold-down (netwatch/ only)
 */

#ifndef NW_HEALTH_H
#define NW_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

struct odict;

/** The figures of a run of probes (a check, or `keepline probe`) */
struct nw_stats {
	uint32_t sent, received;
	uint64_t min_ns, max_ns, sum_ns;
	/** RFC 3550 §6.4.1 interarrival jitter over successive RTTs [ns] */
	double jitter_ns;
	uint64_t last_ns;
	bool have_last;
	uint32_t kernel_ts;           /**< answers timed by the kernel */
};

void nw_stats_answer(struct nw_stats *s, uint64_t rtt_ns, bool kernel_ts);
void nw_stats_lost(struct nw_stats *s);
double nw_stats_loss_pct(const struct nw_stats *s);
double nw_stats_avg_ms(const struct nw_stats *s);
/** min, avg, max, jitter [ms], loss_pct, sent, received into o */
void nw_stats_odict(const struct nw_stats *s, struct odict *o);

struct nw_thresholds {
	double latency_ms, loss_pct, jitter_ms;
};

/**
 * 0 (worst) to 100: each figure against its threshold, weighed 0.4
 * latency, 0.4 loss, 0.2 jitter; a figure at its threshold costs half
 * its weight, at twice the threshold all of it.
 */
double nw_score(const struct nw_stats *s, const struct nw_thresholds *th);

enum nw_state {
	NW_UNKNOWN = 0,               /**< no check finished yet */
	NW_UP,
	NW_DEGRADED,                  /**< answers, past a threshold */
	NW_DOWN,                      /**< no answer in a whole check */
	NW_UNMEASURED,                /**< no method can probe it */
};

const char *nw_state_name(enum nw_state st);

/** What a finished check says, before hold-down */
enum nw_state nw_state_of(const struct nw_stats *s,
			  const struct nw_thresholds *th);

/**
 * Hold-down, as dpinger holds its alarms: a new state is taken only once
 * every check for hold_ms has said it; the first check's verdict is
 * taken at once.
 */
struct nw_hold {
	enum nw_state state;
	enum nw_state candidate;
	uint64_t candidate_since;     /**< [ms] */
	uint64_t since;               /**< state taken at [ms] */
};

/**
 * @param seen_at  When the check that says verdict began [ms]: a path
 *                 that died goes down hold_ms after its first silent
 *                 check began, at the end of the check that reaches it
 * @return true when the state changed
 */
bool nw_hold_update(struct nw_hold *h, enum nw_state verdict,
		    uint64_t seen_at, uint64_t now, uint64_t hold_ms);

#endif
