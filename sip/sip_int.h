/**
 * @file sip_int.h  sip/ internals: the agent and what every part uses
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

/* RFC 3261 §20.5: what we accept, in responses to OPTIONS and in 405;
 * UPDATE (RFC 3311) for session refreshes */
#define SIPUA_ALLOW "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO"

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
	/* limits.c: calls refused for want of RTP ports */
	uint64_t media_refused;       /**< since media_ports_exhausted said */
	uint64_t media_log_at;
};

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
/**
 * A call's leg got no media stream (err from media_stream_alloc()): the
 * range used up (ENOSPC) is a warning said at most every 10 s with the
 * calls refused meanwhile (media_ports_exhausted); anything else an
 * error of its own (media_unavailable). The caller answers 503.
 */
void sipua_media_refused(struct sipua *ua, const char *call_id, int err);

/* conns.c */
/** Sweep the TCP/TLS connections every 250 ms, closing those over the
 *  caps (sip.max_connections, sip.max_connections_per_source) */
int  sipua_conns_start(struct sipua *ua);
void sipua_conns_describe(const struct sipua *ua, struct odict *o);

/* register.c */
int  sipua_reg_start(struct sipua *ua);
void sipua_reg_describe(const struct sipua *ua, struct odict *o);

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
/** Our Contact for dialogs over transport tp (with ;transport= for TCP
 *  and TLS, so the peer's requests come back the same way) */
sip_contact_t const *sipua_contact(const struct sipua *ua,
				   enum gw_transport tp);
/** The transport a request came over, from its top Via */
enum gw_transport sipua_via_transport(sip_t const *sip);
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
/** Where a message came from (NTA keeps the source address with it);
 *  takes the reference to msg */
int sipua_msg_source(msg_t *msg, struct sa *src);
/** Release a transaction we answered (or that needs no answer: ACK) */
void sipua_done(nta_incoming_t *irq);
/** In-dialog requests a leg does not handle itself: ACK absorbed, OPTIONS
 *  200, unknown methods 501, the rest 405 with Allow (RFC 3261 §21.4.6) */
int sipua_dialog_default(struct sipua *ua, nta_incoming_t *irq,
			 sip_t const *sip);
/** The local address the kernel uses to reach peer (no packet sent) */
int sipua_local_addr(const struct sa *peer, struct sa *local);

#endif
