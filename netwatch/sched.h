/**
 * @file sched.h  One timer for many due times, on a coarse grid
 *                (netwatch/ only)
 *
 * Sofia's loop sleeps in whole milliseconds, truncated: within the last
 * millisecond before a timer it polls with a zero timeout until the
 * deadline passes (docs/architecture.md, "Timer slack"). A thousand
 * targets with a timer each put a deadline in almost every millisecond,
 * and the loop never sleeps. So the prober keeps due times in its own
 * objects and one nw_sched fires at the earliest of them, rounded up to
 * grid_ms: at most 1000/grid_ms wake-ups a second, each doing all the
 * work that is due.
 */

#ifndef NW_SCHED_H
#define NW_SCHED_H

#include <stdint.h>

struct gw_reactor;
struct nw_sched;

/** Do what is due at now [ms], and nw_sched_at() the next due time */
typedef void (nw_sched_h)(uint64_t now, void *arg);

int nw_sched_alloc(struct nw_sched **sp, struct gw_reactor *r,
		   uint64_t grid_ms, nw_sched_h *h, void *arg);
/** Fire at due [ms, gw_now_ms()] or later (the grid); the earliest
 *  asked for wins until it has fired */
void nw_sched_at(struct nw_sched *s, uint64_t due);

#endif
