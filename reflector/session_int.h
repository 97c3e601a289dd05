/**
 * @file session_int.h  Inside the session manager: what session.c (the
 * control side) and echo.c (the data plane) share
 */

#ifndef REFL_SESSION_INT_H
#define REFL_SESSION_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "gateway/libre.h"
#include "gateway/conf.h"
#include "reflector/id.h"

struct gw_proc;
struct gw_reactor;
struct gw_timer;
struct gw_watch;
struct odict;
struct refl_audit;

enum { UUID_STR = 37 };

struct peer_hist {
	struct le le;
	char id[REFL_ID_LEN + 1];
	uint64_t *starts;             /**< monotonic [ms], oldest first */
	size_t n, cap;
	uint64_t last_start;
	uint64_t day;                 /**< UTC day of the counts below */
	uint64_t tests_today, bytes_today;
};

struct refl_session {
	struct le le;
	struct refl_sessions *m;
	struct peer_hist *h;          /**< its peer's (the manager's) */
	char test_id[UUID_STR];
	char token[UUID_STR];
	char peer_id[REFL_ID_LEN + 1];
	const char *type;
	struct sa peer;               /**< IP only, port 0 */
	uint16_t port;
	int fd;
	struct gw_watch *w;
	struct gw_timer *t;
	uint64_t start_ms;            /**< monotonic */
	uint64_t wall_start_ms;
	uint64_t duration_s;
	uint64_t bytes_in, bytes_out, pkts_in, pkts_out;
	uint64_t dropped_rate, dropped_foreign;
	uint64_t stamp_pkts;          /**< answered as STAMP */
	double tokens, burst, rate;
	uint64_t refill_us;

	/* throughput (throughput.c) */
	struct gw_proc *proc;         /**< iperf3 -s -1 */
	struct gw_timer *wait;        /**< until it listens */
	uint64_t wait_until;
	unsigned tries;
	unsigned streams;
	bool reverse, udp;
	bool granted;                 /**< the peer was told */
	struct odict *params;         /**< as asked, for the audit */
	refl_reply_h *later;
	void *later_arg;              /**< a reference */
};

struct refl_sessions {
	struct gw_reactor *r;
	const struct gw_conf *conf;   /**< as at start: network */
	struct gw_refl_quotas q;      /**< latest: quotas */
	struct refl_audit *audit;
	char *quota_path;             /**< the day's bytes, kept */
	struct list sessions;
	struct list hist;
	uint16_t next_port;
	uint64_t created_ms;
	struct {
		uint64_t granted, denied, completed;
		uint64_t echo_in, echo_out, dropped_rate, dropped_foreign;
		uint64_t stamp;
	} st;
};


#define REFL_DAY_MS (86400ull * 1000)

/** Sessions running now */
static inline size_t refl_active(const struct refl_sessions *m)
{
	return list_count(&m->sessions);
}

/** Whole seconds, rounded up */
static inline uint64_t refl_ceil_s(uint64_t ms)
{
	return (ms + 999) / 1000;
}

/* session.c */

/** The UTC day number now */
uint64_t refl_today(void);
/** peer id's history (made when new), or NULL */
struct peer_hist *refl_hist_get(struct refl_sessions *m, const char *id);
/** Start h's counts afresh when the UTC day has changed */
void refl_hist_today(struct peer_hist *h);
/** End s: audited session_completed with reason why, freed */
void refl_session_end(struct refl_session *s, const char *why);


/* quota.c */
void refl_quota_load(struct refl_sessions *m);
void refl_quota_save(struct refl_sessions *m);


/* session.c, for throughput.c */

/** The grant: audited, counted, logged, and the reply filled */
int  refl_session_granted(struct refl_session *s, struct odict *reply);
/** A deny for s, audited and sent through s->later; s then goes (never
 *  granted: no session_completed) */
int  refl_session_refused(struct refl_session *s, struct odict *reply,
			  const char *reason, uint64_t retry_after,
			  const char *msg);

/* throughput.c */

/**
 * Start iperf3 for s (type throughput, in the manager's list, not yet
 * granted): a free port, `iperf3 -s -1 -J`, and the grant once it
 * listens, through s->later. The bytes iperf3 reports count against the
 * peer's quota when it exits; the session ends then.
 */
int  refl_tp_start(struct refl_session *s);
/** Send s's pending reply through s->later (once) */
void refl_tp_reply(struct refl_session *s, struct odict *reply);

/* echo.c */

/** Try port: 0 taken it, EADDRINUSE go on, another errno stop */
typedef int (refl_port_h)(uint16_t port, void *arg);
/** The data range from where the last pick left off, until try_port takes
 *  a port; EADDRINUSE when none would do */
int  refl_port_pick(struct refl_sessions *m, refl_port_h *try_port,
		    void *arg, uint16_t *portp);
/** Whether a (any port) is s's peer; a v4-mapped a is made IPv4 */
bool refl_is_peer(const struct refl_session *s, struct sa *a);
/** A UDP socket on a free port of the data range, bound as network.mode
 *  says; 0, or EADDRINUSE when every port is taken */
int  refl_echo_bind(struct refl_sessions *m, int *fdp, uint16_t *portp);
/** Answer s's datagrams from now on */
int  refl_echo_start(struct refl_session *s);

#endif
