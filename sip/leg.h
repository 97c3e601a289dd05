/**
 * @file leg.h  One dialog of a call: the caller's, or a bridge's callee's
 *
 * A call (call.h) owns one leg (echo) or two (bridge). A leg owns its
 * NTA dialog, its transport and next hop, its media stream, its pending
 * transactions (the peer's INVITE we answered until its ACK, our INVITE,
 * our BYE), its SDP (the last we sent; the last received is the media
 * stream's, with its o=) and its session timer. Requests inside either
 * dialog go to one handler (leg.c); mid-call offers that must reach the
 * other party go through relay.c.
 */

#ifndef SIP_LEG_H
#define SIP_LEG_H

#include <stdbool.h>

#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/auth_client.h>

#include "gateway/libre.h"
#include "gateway/conf.h"
#include "sip/timer.h"

struct call;
struct media_stream;

struct leg {
	struct call *c;
	bool callee;                  /**< a bridge's outbound leg: we are
					   its UAC and own its Call-ID */
	char *call_id;                /**< its dialog's */
	nta_leg_t *nl;
	enum gw_transport tp;
	const struct gw_trunk *trunk; /**< inbound trunk, or outbound one */
	struct sa peer;               /**< caller: where its SIP came from;
					   callee: the trunk's next hop */
	char *route;                  /**< next hop of every request of ours
					   on it: peer (caller), the trunk's
					   outbound_uri (callee); no DNS */
	struct media_stream *ms;
	char *sdp;                    /**< our last SDP on it: a refresh
					   re-sends it unchanged */
	bool offer_in_2xx;            /**< our 2xx offered: its ACK answers */
	nta_incoming_t *irq;          /**< the peer's INVITE we answer, and
					   keep until its ACK */
	nta_outgoing_t *invite;       /**< ours: the dial, or a relayed offer */
	nta_outgoing_t *invite_done;  /**< our last relayed offer, answered:
					   a retransmitted 2xx gets its ACK */
	nta_outgoing_t *bye;
	struct st_leg st;
	/* the callee's leg: dialling it */
	char *target;                 /**< request-URI of the dial */
	nta_outgoing_t *invite_old;   /**< the one a challenge answered */
	su_home_t *home;              /**< digest state lives here */
	struct auth_client_s *auc;
	unsigned auth_tries;
	int status;                   /**< the callee's last status */
	bool confirmed;               /**< its 2xx came and was ACKed */
};

/** A new leg of c (a mem object); callee: a bridge's outbound one.
 *  NULL: no memory (trunk's count not taken over) */
struct leg *leg_alloc(struct call *c, bool callee,
		      const struct gw_trunk *trunk,
		      const struct gw_session_timer_conf *cf);
/** Release what l holds (NTA objects, media, timer); NULL is ignored */
void leg_close(struct leg *l);
/** The other leg of a bridge, NULL for an echo call */
struct leg *leg_other(const struct leg *l);
const char *leg_name(const struct leg *l);
/** An INVITE of ours on l awaits its final answer */
bool leg_invite_open(const struct leg *l);
/** nta_leg_magic_t handler of both dialogs */
int  leg_request(nta_leg_magic_t *magic, nta_leg_t *nl, nta_incoming_t *irq,
		 sip_t const *sip);
/** Keep irq, the peer's INVITE on l we answered 2xx (or, the caller's,
 *  will answer), for its ACK, CANCEL or timeout (leg_irq_event()) */
void leg_keep_invite(struct leg *l, nta_incoming_t *irq);
/** Our 2xx to an INVITE or UPDATE on l: Contact, Server, Allow, the
 *  session timer res, sdp if any; the transaction is kept when keep */
void leg_reply_2xx(struct leg *l, nta_incoming_t *irq,
		   const struct st_result *res, const char *sdp);
/** 488 with a Warning for an offer l's media could not take, logged */
void leg_sdp_refused(struct leg *l, nta_incoming_t *irq, int err);
/** Our BYE on l, if none is out yet; counted in the call's byes */
void leg_bye(struct leg *l, const char *reason_hdr);
/** Answer an offer on l (echo, or a refresh) from its own media, or
 *  offer the SDP we last sent when the request has none; 0 when 2xx */
int  leg_answer_here(struct leg *l, nta_incoming_t *irq, sip_t const *sip,
		     const struct st_result *res);
/**
 * May this request act on l? RFC 3261 §12.2.2: without a To tag it is
 * in no dialog (481; NTA would match it for RFC 2543's sake). A trunk
 * endpoint takes in-dialog requests only from the leg's trunk addresses
 * or the address the dialog was set up with (403, logged with the
 * source). 0: go on; else the status to answer.
 */
int  leg_dialog_check(struct leg *l, nta_incoming_t *irq, sip_t const *sip);
/** A CANCEL (or any request NTA matched to a transaction) from a source
 *  that may not act on l: logged */
bool leg_may_speak(const struct leg *l, msg_t *msg, const char *method);
void leg_describe(const struct leg *l, struct odict *o);

#endif
