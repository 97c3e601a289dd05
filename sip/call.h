/**
 * @file call.h  A call: one leg (echo) or two (bridge), and its life
 *
 * call.c admits and answers calls and ends them; bridge.c dials the
 * callee's leg; relay.c carries mid-call offers, INFO and the like from
 * one leg of a bridge to the other. A call is freed from a zero-delay
 * timer, never inside an NTA callback of its own legs or transactions.
 */

#ifndef SIP_CALL_H
#define SIP_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>

#include "gateway/libre.h"
#include "media/media.h"
#include "sip/leg.h"
#include "sip/st_rules.h"

struct gw_conf;
struct gw_route;
struct gw_timer;
struct relay;
struct sipua;

enum call_state {
	CALL_PROCEEDING = 0,          /**< bridge: callee not answered yet */
	CALL_ANSWERED,                /**< 200 OK sent, waiting for ACK */
	CALL_CONFIRMED,               /**< ACK received */
	CALL_ENDING,                  /**< our BYE sent */
};

struct call {
	struct le le;
	struct sipua *ua;
	const struct gw_conf *conf;   /**< as the call started: its route,
					   trunks and timer settings point
					   into it; a reload never changes
					   them */
	char *call_id;                /**< the caller's: the call's name */
	char *from;                   /**< caller's URI */
	char *to_user;                /**< request-URI user */
	const struct gw_route *route;
	struct leg *leg[2];           /**< [0] the caller's, [1] the
					   callee's (bridge only) */
	unsigned n_legs;
	char *offer;                  /**< the caller's SDP (bridge) */
	size_t offer_len;
	struct st_result st_neg;      /**< for our 2xx to the INVITE */
	unsigned byes;                /**< our BYEs not yet answered */
	struct gw_timer *guard;       /**< bridge: ringing / cancel limit */
	enum call_state state;
	uint64_t created;             /**< gw_now_ms() */
	const char *end_reason;
	bool ended;                   /**< logged and counted; being freed */
	bool bye_on_ack;              /**< media peer dead before its ACK */
	struct relay *relay;          /**< a mid-call offer crossing over */
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
/** The ACK for our 2xx to l's INVITE came (sip) or never did (NULL) */
void call_acked(struct leg *l, sip_t const *sip);
/** A BYE from l's peer, answered */
void call_bye_received(struct leg *l);
/** media_end_h for either leg of a call */
void call_media_ended(struct media_stream *ms, enum media_end_reason r,
		      void *arg);
/** End a call because the gateway stops */
void call_shutdown(struct call *c);
void call_describe(const struct call *c, struct odict *o);
void call_destroy_all(struct sipua *ua);
const char *call_state_name(enum call_state st);
const char *call_route_name(enum gw_route_action a);

/* bridge.c */
/** Route bridge: read the caller's offer, call the target via the trunk.
 *  0, or a status for the caller */
int  bridge_start(struct call *c, nta_incoming_t *irq, sip_t const *sip);
/** The caller cancelled before the callee answered */
void bridge_cancel(struct call *c);

/* relay.c */
/**
 * A re-INVITE or UPDATE with a new offer on l, a leg of a bridge: offer
 * it on the other leg, answer l with what comes back (RFC 3264 §8). The
 * session timer result res is for l's 2xx. Returns 0 (irq answered or
 * kept), or a status to answer.
 */
int  relay_offer(struct leg *l, nta_incoming_t *irq, sip_t const *sip,
		 const struct st_result *res);
/** Is a relayed offer crossing l (either way)? */
bool relay_busy(const struct leg *l);
/** INFO on l: DTMF (RFC 2976 style, application/dtmf-relay or dtmf)
 *  passes to the other leg; 0 or a status */
int  relay_info(struct leg *l, nta_incoming_t *irq, sip_t const *sip);
/** The call ends: an offer crossing is answered 487 and forgotten */
void relay_close(struct call *c);

#endif
