/**
 * @file sip_int.h  sip/ internals: the agent and the call
 *
 * Keepline owns dialogs on Sofia's transaction layer (NTA), not NUA: NUA
 * takes RFC 4028 session timers out of the application's hands whenever
 * "timer" is in a Supported list (../shared/notes/sofia-rfc4028.md), and
 * the timer capability needs every header. NTA keeps Sofia's parser,
 * transports and transaction state machines; dialog state (tags, route
 * set, CSeq) lives in nta_leg, and this module decides every response.
 */

#ifndef SIP_INT_H
#define SIP_INT_H

#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/auth_client.h>

#include "gateway/libre.h"
#include "gateway/module.h"
#include "media/media.h"
#include "sip/sipua.h"
#include "sip/st_rules.h"

/* RFC 3261 §20.5: what we accept, in responses to OPTIONS and in 405;
 * UPDATE (RFC 3311) for session refreshes */
#define SIPUA_ALLOW "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE"

struct media_stream;
struct call;
struct gw_route;
struct gw_trunk;
struct nw_mgr;

struct sipua {
	struct gw_reactor *r;
	const struct gw_conf *conf;   /**< for new calls: the latest reload */
	const struct gw_conf *conf_start;  /**< registrations' trunks */
	struct media_mgr *mm;
	const struct nw_mgr *nw;      /**< path health, NULL: not running */
	bool stopping;                /**< sipua_stop(): new calls get 503 */
	gw_module_done_h *stop_done;  /**< when the last call is gone */
	void *stop_arg;
	nta_agent_t *agent;
	nta_leg_t *default_leg;       /**< requests outside any dialog */
	struct list calls;
	struct list regs;             /**< struct sipua_reg, register.c */
	struct sipua_stats st;
	su_home_t *home;              /**< for the contacts */
	sip_contact_t *contact[3];    /**< ours on TCP and TLS, by transport */
	struct trunk_use *use;        /**< per conf trunk, limits.c */
	/* conns.c */
	struct gw_timer *conns_sweep;
	struct conn *conns;           /**< the sweep's scratch array */
	size_t conns_cap;
	size_t conns_open;            /**< from outside every trunk, now */
	uint64_t conns_closed;        /**< over the caps, ever */
	uint64_t conns_logged;
	uint64_t conns_log_at;
	char conns_worst[64];         /**< the busiest source last capped */
};

enum call_state {
	CALL_PROCEEDING = 0,          /**< bridge: callee not answered yet */
	CALL_ANSWERED,                /**< 200 OK sent, waiting for ACK */
	CALL_CONFIRMED,               /**< ACK received */
	CALL_ENDING,                  /**< our BYE sent */
};

/**
 * The RFC 4028 session timer of one dialog leg (sip/timer.c): the
 * caller's leg, where we are the UAS, or a bridge's outbound leg, where
 * we are the UAC. One timer fires for the next refresh (when we are the
 * refresher) or for the expiry (when we are not).
 */
struct st_leg {
	struct call *c;
	const struct gw_session_timer_conf *cf;  /**< the trunk's settings */
	bool callee;                  /**< the outbound leg of a bridge */
	bool active;
	bool we_refresh;
	bool expire;                  /**< BYE when no refresh came */
	bool next_is_refresh;         /**< what tmr fires for */
	bool allow_update;            /**< the peer's Allow lists UPDATE */
	bool peer_supports;           /**< the peer said Supported: timer */
	bool update_refused;          /**< 501/405 to UPDATE: re-INVITE */
	bool pending;                 /**< our refresh awaits its answer */
	uint32_t se;                  /**< negotiated interval [s] */
	uint32_t min_se;              /**< our Min-SE, raised by a 422 */
	unsigned tries_422;           /**< retries after 422, this dialog */
	uint64_t refreshed;           /**< last negotiation, gw_now_ms() */
	uint64_t due;                 /**< when tmr fires, gw_now_ms() */
	struct gw_timer *tmr;
	nta_outgoing_t *orq;          /**< our last refresh (2xx re-ACKed) */
};

/** The outbound leg of a bridge (RFC 3261 §12.1.2, UAC side) */
struct call_out {
	char *call_id;
	char *target;
	nta_leg_t *leg;
	nta_outgoing_t *invite;
	nta_outgoing_t *invite_old;   /**< the one a challenge answered */
	nta_outgoing_t *bye;
	struct media_stream *ms;
	struct sa next_hop;
	enum gw_transport tp;         /**< the trunk's */
	bool offer_in_2xx;            /**< our 2xx to the callee's re-INVITE
					   offered: its ACK answers */
	char route[300];              /**< next hop of every request on this
					   leg: sipua_trunk_route() */
	char *sdp;                    /**< our SDP on this leg: the INVITE's
					   offer, later our answer to a
					   re-INVITE; a refresh re-sends it */
	su_home_t *home;              /**< digest state lives here */
	struct auth_client_s *auc;
	unsigned auth_tries;
	int status;                   /**< the callee's last status */
	bool confirmed;               /**< its 2xx came and was ACKed */
	struct st_leg st;
};

struct call {
	struct le le;
	struct sipua *ua;
	const struct gw_conf *conf;   /**< as the call started: its route,
					   trunk and timer settings point
					   into it; a reload never changes
					   them */
	char *call_id;
	char *from;                   /**< caller's URI */
	char *to_user;                /**< request-URI user */
	const struct gw_route *route;
	const struct gw_trunk *trunk;
	const struct gw_trunk *out_trunk;  /**< bridge: counted against it */
	struct sa peer;               /**< where its SIP came from */
	enum gw_transport tp;         /**< and over which transport */
	char hop[80];                 /**< next hop of every request to the
					   caller: peer, over tp (no DNS) */
	nta_leg_t *leg;
	nta_incoming_t *irq;          /**< INVITE or re-INVITE being answered */
	nta_outgoing_t *bye;
	struct media_stream *ms;
	struct call_out *out;         /**< bridge only */
	char *offer;                  /**< the caller's SDP (bridge) */
	size_t offer_len;
	char *sdp;                    /**< our last SDP to the caller */
	struct st_leg st;             /**< the caller's leg */
	struct st_result st_neg;      /**< for our 2xx to the INVITE */
	unsigned byes;                /**< our BYEs not yet answered */
	struct gw_timer *guard;       /**< bridge: ringing / cancel limit */
	enum call_state state;
	uint64_t created;             /**< gw_now_ms() */
	const char *end_reason;
	bool ended;                   /**< logged and counted; being freed */
	bool bye_on_ack;              /**< media peer dead before its ACK */
	bool offer_in_2xx;            /**< the INVITE had no SDP: our 2xx
					   offered, the ACK answers */
	struct gw_timer *reap;        /**< frees the call outside NTA */
};

/* call.c */
int  call_incoming(struct sipua *ua, nta_incoming_t *irq, sip_t const *sip);
void call_end(struct call *c, const char *reason);
/**
 * Take the answer in the ACK to a 2xx that carried our offer (an INVITE
 * without SDP). On failure logs why (ending: initial) and returns false;
 * the caller decides what becomes of the call.
 */
bool call_ack_answer(const char *call_id, struct media_stream *ms,
		     sip_t const *sip, bool initial);

/** BYE on the caller's leg and/or the callee's; the call ends when every
 *  BYE is answered (or NTA gives up on it) */
void call_hangup(struct call *c, const char *reason, const char *reason_hdr,
		 bool caller, bool callee);
int  call_ack_cancel(nta_incoming_magic_t *magic, nta_incoming_t *irq,
		     sip_t const *sip);
/** media_end_h for either leg of a call */
void call_media_ended(struct media_stream *ms, enum media_end_reason r,
		      void *arg);
/** End a call because the gateway stops */
void call_shutdown(struct call *c);
/**
 * The next hop of our requests on one leg of c: the caller's source
 * address (caller leg), the trunk's outbound_uri (a bridge's callee leg).
 * Both name IP addresses, so NTA never resolves a host a peer named in
 * its Contact or Record-Route (docs/operator-guide.md, "No DNS").
 */
const char *call_next_hop(const struct call *c, bool callee);
/**
 * May this request act on a leg of c? RFC 3261 §12.2.2: without a To
 * tag it is in no dialog (481; NTA would match it for RFC 2543's sake).
 * A trunk endpoint takes in-dialog requests only from the leg's trunk
 * addresses or the address the dialog was set up with (403, logged with
 * the source). 0: go on; else the status to answer.
 */
int call_dialog_check(struct call *c, bool callee, nta_incoming_t *irq,
		      sip_t const *sip);

/* timer.c */
int  st_leg_init(struct st_leg *st, struct call *c, bool callee,
		 const struct gw_session_timer_conf *cf);
void st_leg_close(struct st_leg *st);
/** Read the timer headers of a message */
void st_hdrs_read(sip_t const *sip, struct st_hdrs *h);
/**
 * Negotiate a request as its UAS (RFC 4028 §9) with a trunk's settings;
 * st is the dialog's leg (NULL: a new dialog). A too small interval is
 * answered 422 with Min-SE here (true returned: done).
 */
bool st_check(struct sipua *ua, const struct gw_session_timer_conf *cf,
	      const struct st_leg *st, nta_incoming_t *irq, sip_t const *sip,
	      struct st_result *res);
/** st_check() for a request inside this leg's dialog */
bool st_request_refused(struct st_leg *st, nta_incoming_t *irq,
			sip_t const *sip, struct st_result *res);
/** "90;refresher=uac" for a 2xx, into buf */
const char *st_se_str(const struct st_result *res, char *buf, size_t size);
/**
 * The session-timer headers of our 2xx for res (RFC 4028 §9), as tags for
 * nta_incoming_treply(): Session-Expires (written into the array buf),
 * Require: timer, and Supported: timer unless timers are off and none runs
 */
#define ST_2XX_TAGS(res, enabled, buf)                                  \
	TAG_IF((res)->se, SIPTAG_SESSION_EXPIRES_STR(                   \
		       st_se_str((res), (buf), sizeof(buf)))),          \
	TAG_IF((res)->require, SIPTAG_REQUIRE_STR("timer")),            \
	TAG_IF((enabled) || (res)->se, SIPTAG_SUPPORTED_STR("timer"))
/** Our 2xx with res went out: start or re-arm the timer */
void st_answered(struct st_leg *st, const struct st_result *res,
		 bool refresh);
/** The 2xx to our INVITE came (bridge, §7.2): start the timer */
void st_response(struct st_leg *st, sip_t const *sip);
/** An UPDATE on this leg: a refresh, or an offer answered from ms */
int  st_update(struct st_leg *st, nta_incoming_t *irq, sip_t const *sip);
/** Our own refresh is in flight as a re-INVITE (RFC 3261 §14.2 glare) */
bool st_invite_pending(const struct st_leg *st);
/** The call ends: no more refreshes */
void st_stop(struct st_leg *st);
void st_describe(const struct st_leg *st, struct odict *leg);

/* limits.c: trunks[].max_calls and max_cps */
/** sipua_stop() waits for the last call: call_destructor() asks */
void sipua_stop_check(struct sipua *ua);
int  sipua_limits_alloc(struct sipua *ua);
/** Carry the trunks' counts over to a new configuration, by name */
int  sipua_limits_reload(struct sipua *ua, const struct gw_conf *conf);
/**
 * May a new call take trunk t (inbound, or a bridge's outbound trunk)?
 * true: counted against it until sipua_limits_release(). false: over
 * max_calls or max_cps, logged and counted; answer 503 with Retry-After.
 */
bool sipua_limits_take(struct sipua *ua, const struct gw_trunk *t,
		       const char *call_id);
void sipua_limits_release(struct sipua *ua, const struct gw_trunk *t);
void sipua_limits_describe(const struct sipua *ua, struct odict *o);

/* conns.c */
/** Sweep the TCP/TLS connections every 250 ms, closing those over the
 *  caps (sip.max_connections, sip.max_connections_per_source) */
int  sipua_conns_start(struct sipua *ua);
void sipua_conns_describe(const struct sipua *ua, struct odict *o);

/* register.c */
int  sipua_reg_start(struct sipua *ua);
void sipua_reg_describe(const struct sipua *ua, struct odict *o);

/* bridge.c */
/** Route bridge: read the caller's offer, call the target via the trunk.
 *  0, or a status for the caller */
int  bridge_start(struct call *c, nta_incoming_t *irq, sip_t const *sip);
/** The caller cancelled before the callee answered */
void bridge_cancel(struct call *c);
void bridge_describe(const struct call *c, struct odict *legs);
void bridge_destroy(struct call *c);
void call_describe(const struct call *c, struct odict *o);
void call_destroy_all(struct sipua *ua);
const char *call_state_name(enum call_state st);
const char *call_route_name(enum gw_route_action a);

/* sipua.c */
/**
 * Give a final reply with our Server header (Allow for 405 and 200,
 * Accept for 415, Retry-After for 503) and release the server
 * transaction. A callback that returns 0 owns the
 * transaction NTA passed it: every one answered here must be released, or
 * NTA keeps it until the agent goes (about 10 KB a call).
 */
int sipua_reply(struct sipua *ua, nta_incoming_t *irq, int status,
		char const *phrase);
/** The message has a body, and it is SDP */
bool sipua_has_sdp(sip_t const *sip);
/** The trunk's next hop for NTA: outbound_uri, with ;transport= of the
 *  trunk's transport when the URI names none (an IP address alone means
 *  UDP, RFC 3263 §4.1). NULL when it has no outbound_uri. */
const char *sipua_trunk_route(const struct gw_trunk *t, char *buf,
			      size_t size);
/** Our Contact for dialogs over transport tp (with ;transport= for TCP
 *  and TLS, so the peer's requests come back the same way) */
sip_contact_t const *sipua_contact(const struct sipua *ua,
				   enum gw_transport tp);
/** The transport a request came over, from its top Via */
enum gw_transport sipua_via_transport(sip_t const *sip);
/** The host and port (empty if none) of a trunk's outbound_uri */
int sipua_trunk_hostport(const struct gw_trunk *t, char *host, size_t hsize,
			 char *port, size_t psize);
/**
 * Take up a 401/407 challenge with the trunk's digest credentials, into
 * *aucp (allocated in home). 0, EACCES (no credentials), EPROTO.
 */
int sipua_trunk_challenge(const struct gw_trunk *t, su_home_t *home,
			  struct auth_client_s **aucp, int status,
			  sip_t const *sip);
/** ACK a 2xx to our INVITE on leg (RFC 3261 §13.2.2.4): a transaction
 *  of its own, with the INVITE's CSeq number; via route unless NULL */
void sipua_ack(struct sipua *ua, nta_leg_t *leg, const char *route,
	       sip_t const *sip);
/** Answer 420 when a request requires an extension we lack (RFC 3261
 *  §8.2.2.3); true if it did */
bool sipua_unsupported(struct sipua *ua, nta_incoming_t *irq,
		       sip_t const *sip);
/** Release a transaction we answered (or that needs no answer: ACK) */
void sipua_done(nta_incoming_t *irq);
/** In-dialog requests a leg does not handle itself: ACK absorbed, OPTIONS
 *  200, unknown methods 501, the rest 405 with Allow (RFC 3261 §21.4.6) */
int sipua_dialog_default(struct sipua *ua, nta_incoming_t *irq,
			 sip_t const *sip);
/** The local address the kernel uses to reach peer (no packet sent) */
int sipua_local_addr(const struct sa *peer, struct sa *local);

#endif
