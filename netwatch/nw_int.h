/**
 * @file nw_int.h  What module.c (paths, checks) and status.c (status,
 *                 metrics) share
 */

#ifndef NW_INT_H
#define NW_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "gateway/libre.h"
#include "netwatch/health.h"
#include "netwatch/prober.h"

struct gw_conf;
struct gw_metrics;
struct gw_reactor;
struct nw_sched;
struct odict;

enum {
	METHOD_RETRY_CHECKS = 6,      /**< a refused method, tried again */
	GRID_MS = 10,                 /**< probes leave on this grid */
	MAX_TRUNKS_PER_PATH = 8,
	MAX_CHECKS = 4,               /**< of one path, overlapping */
};

struct nw_path;

struct nw_check {
	struct le le;
	struct nw_path *path;
	uint64_t started;             /**< [ms] */
	uint32_t first_n, last_n;     /**< probe numbers of this check */
	uint32_t to_send;
	uint32_t resolved;
	struct nw_stats st;
	enum nw_method m;
	bool method_set;
};

struct nw_path {
	struct le le;
	struct nw_mgr *nw;
	char name[96];                /**< as configured */
	char addr_s[64];
	char label[170];              /**< "name (address)", or the address */
	struct sa addr;
	const char *trunks[MAX_TRUNKS_PER_PATH];
	size_t n_trunks;
	char unmeasured[400];         /**< set: never probed, why */
	struct nw_target *t;
	uint64_t next_check;          /**< due [ms]; 0: never */
	uint64_t next_probe;          /**< of the check sending; 0: none */
	struct list checks;           /**< running, oldest first */
	struct nw_check *sending;
	struct nw_hold hold;
	struct nw_stats last;         /**< the last finished check */
	bool have_last;
	double score;
	enum nw_method method;        /**< of the last check */
	uint64_t checks_done;
	char last_why[120];           /**< a lost probe's reason */
};

struct nw_mgr {
	const struct gw_conf *conf;
	struct gw_reactor *r;
	struct nw_engine *e;
	struct nw_sched *sched;       /**< checks and probes, when due */
	struct list paths;
	struct nw_thresholds th;
	uint64_t spacing_ms;
	uint64_t method_off_until[NW_M_N];   /**< [ms]: refused until */
	bool method_was_refused[NW_M_N];     /**< until it sends again */
	uint64_t state_changes;
};

void nw_mgr_status(void *state, struct odict *o);
void nw_mgr_metrics(void *state, struct gw_metrics *m);

#endif
