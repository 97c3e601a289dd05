/**
 * @file session.h  Measurement sessions: admission under quotas, the UDP
 * echo data plane, completion
 *
 * Admission is one function that checks and inserts with no reactor turn
 * in between (one thread: nothing can slip into the gap). A session runs
 * for its granted duration plus REFL_SESSION_GRACE_S, then completes on
 * its own; only the peer that owns it may close it earlier.
 */

#ifndef REFL_SESSION_H
#define REFL_SESSION_H

#include <stdbool.h>
#include <stdint.h>

struct gw_conf;
struct gw_metrics;
struct gw_reactor;
struct odict;
struct refl_audit;
struct refl_sessions;
struct sa;

enum {
	REFL_SESSION_GRACE_S = 5,
	REFL_ECHO_MAX_DGRAM = 9216,   /**< [bytes] read; longer is cut */
};

/**
 * @param quota_path  Where the day's bytes per peer are kept (read now,
 *                    rewritten as sessions end)
 */
int refl_sessions_alloc(struct refl_sessions **mp, struct gw_reactor *r,
			const struct gw_conf *conf, struct refl_audit *audit,
			const char *quota_path);
/** New requests use conf's quotas; running sessions keep their grant;
 *  the network settings stay as at start */
void refl_sessions_set_conf(struct refl_sessions *m,
			    const struct gw_conf *conf);

/** A reply decided later (a throughput grant waits for iperf3 to
 *  listen); arg is a mem object the session holds a reference to */
typedef void (refl_reply_h)(struct odict *reply, void *arg);

/**
 * Decide a session_request and fill the reply payload: "session_grant"
 * or "session_deny" (audited, fsync'd, before the peer is told).
 *
 * @param peer_id  Authenticated Endpoint ID
 * @param peer     Its control connection's address (the data plane
 *                 answers this IP only)
 * @param req      The request payload
 * @param reply    An empty odict to fill now, unless *pendingp
 * @param later    Called once with the reply when *pendingp is set
 * @param arg      later's argument (a mem object: a reference is held)
 * @param pendingp Set when the reply comes through later
 */
int refl_session_request(struct refl_sessions *m, const char *peer_id,
			 const struct sa *peer, const struct odict *req,
			 struct odict *reply, refl_reply_h *later, void *arg,
			 bool *pendingp);

/**
 * session_close from peer_id.
 *
 * @return 0 closed; ENOENT no such test; EPERM not this peer's
 */
int refl_session_close(struct refl_sessions *m, const char *peer_id,
		       const char *test_id);

/** status_snapshot for peer_id: its own tests only */
int refl_sessions_snapshot(struct refl_sessions *m, const char *peer_id,
			   const char *endpoint_id, struct odict *reply);

/** Every session of peer_id completed with reason why; how many */
unsigned refl_sessions_close_peer(struct refl_sessions *m,
				  const char *peer_id, const char *why);

/** Every session completed (audited "shutdown") */
void refl_sessions_close_all(struct refl_sessions *m, const char *why);

void refl_sessions_status(struct refl_sessions *m, struct odict *o);
/** keepline reflector status: each running session (engine, PID) and
 *  each peer's bytes today */
void refl_sessions_list(struct refl_sessions *m, struct odict *o);
void refl_sessions_metrics(struct refl_sessions *m, struct gw_metrics *mt);
/** policy_summary for server_hello */
int refl_sessions_policy(struct refl_sessions *m, struct odict *o);

#endif
