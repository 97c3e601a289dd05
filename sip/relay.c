/**
 * @file relay.c  Mid-call changes across a bridge (RFC 3264 §8)
 *
 *   caller            keepline                    callee
 *     |-- re-INVITE ---->|                           |  a new o= version:
 *     |   a=sendonly     |--- re-INVITE (our SDP) -->|  hold, codecs, a
 *     |<-- 100 ----------|    a=sendonly             |  media address
 *     |                  |<-- 200 a=recvonly --------|
 *     |<-- 200 ----------|--- ACK ------------------>|
 *     |   a=recvonly     |                           |
 *     |--- ACK --------->|   media follows the answer: the held party
 *                            gets no RTP from us
 *
 * The other leg is offered our addresses, the codecs of the new offer
 * that we carry (its payload numbers, so RTP passes unchanged) and its
 * direction. Only the far answer changes the media of either leg; a
 * refusal (488, 491, a timeout) answers the original request with the
 * same status and leaves both as they were. A 491 from the far leg is
 * glare there: the offer goes again once, after RFC 3261 §14.1's delay
 * for that leg (2.1-4 s on the callee's, whose Call-ID is ours; 0-2 s
 * on the caller's), and only a second 491 goes back.
 *
 * A re-INVITE or UPDATE always crosses as a re-INVITE: every peer takes
 * one, and it refreshes the far leg's session timer too (RFC 4028 §10).
 */

#include <errno.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/su_tag.h>

#include "gateway/conf.h"
#include "gateway/log.h"
#include "gateway/reactor.h"
#include "media/media.h"
#include "sip/call.h"
#include "sip/sip_int.h"

struct relay {
	struct call *c;
	struct leg *from, *to;
	nta_incoming_t *irq;          /**< the request on from */
	bool update;                  /**< it is an UPDATE (RFC 3311) */
	char *offer;                  /**< its SDP */
	size_t len;
	struct st_result res;         /**< from's session timer, for its 2xx */
	char *to_offer;               /**< ours on to */
	struct gw_timer *retry;       /**< after a 491 on to */
	unsigned glare;
};


static void relay_destructor(void *data)
{
	struct relay *r = data;

	mem_deref(r->retry);
	mem_deref(r->offer);
	mem_deref(r->to_offer);
	if (r->irq) {
		nta_incoming_treply(r->irq, SIP_487_REQUEST_TERMINATED,
				    TAG_END());
		nta_incoming_destroy(r->irq);
	}
}


bool relay_busy(const struct leg *l)
{
	return l->c->relay != NULL;
}


/* The far leg refused (or we could not go on): the same status to the
 * original request; media on both legs as it was */
static void fail(struct relay *r, int status, const char *why)
{
	struct call *c = r->c;

	media_stream_reoffer_drop(r->to->ms);
	gw_log(GW_LOG_INFO, "sip", "reoffer_refused",
	       GW_FIELDS(GW_FS("call_id", c->call_id),
			 GW_FS("from", leg_name(r->from)),
			 GW_FS("to", leg_name(r->to)),
			 GW_FI("status", status), GW_FS("why", why)),
	       "The %s's mid-call offer was not taken by the %s (%d, %s): "
	       "media unchanged", leg_name(r->from), leg_name(r->to), status,
	       why);
	sipua_reply(c->ua, r->irq, status, sip_status_phrase(status));
	r->irq = NULL;
	c->relay = mem_deref(r);
}


/* Both legs have their new session: answer the original request */
static void done(struct relay *r)
{
	struct call *c = r->c;
	struct leg *from = r->from;
	char *answer = NULL;
	int err;

	err = media_stream_answer_like(from->ms, r->to->ms, r->offer, r->len,
				       &answer);
	if (err) {
		fail(r, 488, "no answer for it");
		return;
	}

	if (r->update) {
		leg_reply_2xx(from, r->irq, &r->res, answer);
		sipua_done(r->irq);
	}
	else {
		leg_keep_invite(from, r->irq);
		leg_reply_2xx(from, r->irq, &r->res, answer);
	}
	r->irq = NULL;
	mem_deref(from->sdp);
	from->sdp = answer;
	from->offer_in_2xx = false;
	st_answered(&from->st, &r->res, true);

	gw_log(GW_LOG_INFO, "sip", "reoffer_relayed",
	       GW_FIELDS(GW_FS("call_id", c->call_id),
			 GW_FS("from", leg_name(from)),
			 GW_FS("to", leg_name(r->to)),
			 GW_FS("direction", media_stream_direction(from->ms)),
			 GW_FS("far_direction",
			       media_stream_direction(r->to->ms))),
	       "Mid-call offer from the %s carried to the %s: the %s is %s, "
	       "the %s %s", leg_name(from), leg_name(r->to), leg_name(from),
	       media_stream_direction(from->ms), leg_name(r->to),
	       media_stream_direction(r->to->ms));
	c->relay = mem_deref(r);
}


static int far_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq,
			sip_t const *sip);


static void send_offer(void *arg)
{
	struct relay *r = arg;
	struct leg *to = r->to;

	/* the dial's INVITE, answered long ago, goes with the last one */
	if (to->invite) {
		if (to->invite_done)
			nta_outgoing_destroy(to->invite_done);
		to->invite_done = to->invite;
	}
	to->invite = st_reinvite(&to->st, r->to_offer, far_response,
				 (nta_outgoing_magic_t *)to);
	if (!to->invite)
		fail(r, 500, "re-INVITE not sent");
}


/* Our re-INVITE on the far leg is answered; the magic is the leg, not
 * the relay: a 2xx retransmitted after the relay is gone gets its ACK */
static int far_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq,
			sip_t const *sip)
{
	struct leg *to = (struct leg *)magic;
	struct call *c = to->c;
	struct relay *r = c->relay;
	int status = nta_outgoing_status(orq);

	if (status < 200)
		return 0;
	if (status < 300 && sip)
		sipua_ack(c->ua, to->nl, to->route, sip);
	if (!r || orq != to->invite || c->ended)
		return 0;

	/* kept for a retransmitted 2xx; the one before can go */
	if (to->invite_done)
		nta_outgoing_destroy(to->invite_done);
	to->invite_done = orq;
	to->invite = NULL;

	if (status >= 300) {
		if (status == 491 && !r->glare++) {
			gw_timer_start(r->retry, st_glare_delay_ms(&to->st),
				       send_offer, r);
			return 0;
		}
		fail(r, status, status == 408 ? "no answer" : "refused");
		return 0;
	}

	st_response(&to->st, sip, true);
	if (!sipua_has_sdp(sip) ||
	    media_stream_reoffer_accept(to->ms, sip->sip_payload->pl_data,
					sip->sip_payload->pl_len)) {
		fail(r, 488, "its answer has no usable SDP");
		return 0;
	}
	mem_deref(to->sdp);
	to->sdp = mem_ref(r->to_offer);
	done(r);

	return 0;
}


int relay_offer(struct leg *l, nta_incoming_t *irq, sip_t const *sip,
		const struct st_result *res)
{
	struct call *c = l->c;
	struct leg *to = leg_other(l);
	struct relay *r;
	int err;

	/* the far leg takes an offer once both dialogs are confirmed (the
	 * caller's ACK came; the callee's 2xx came first) and no INVITE is
	 * open on it */
	if (!to || c->state != CALL_CONFIRMED ||
	    to->irq || leg_invite_open(to) || st_invite_pending(&to->st))
		return 491;

	r = mem_zalloc(sizeof(*r), relay_destructor);
	if (!r)
		return 500;
	r->c = c;
	r->from = l;
	r->to = to;
	r->update = sip->sip_request->rq_method == sip_method_update;
	r->res = *res;
	r->len = sip->sip_payload->pl_len;
	r->offer = mem_alloc(r->len + 1, NULL);
	if (!r->offer || gw_timer_alloc(&r->retry, c->ua->r)) {
		mem_deref(r);
		return 500;
	}
	memcpy(r->offer, sip->sip_payload->pl_data, r->len);
	r->offer[r->len] = '\0';

	err = media_stream_reoffer(to->ms, r->offer, r->len, &r->to_offer);
	if (err) {
		mem_deref(r);
		leg_sdp_refused(l, irq, err);
		return 0;
	}

	r->irq = irq;
	c->relay = r;
	send_offer(r);
	if (c->relay == r && !r->update)
		nta_incoming_treply(irq, SIP_100_TRYING, TAG_END());

	return 0;
}


void relay_close(struct call *c)
{
	if (!c->relay)
		return;
	media_stream_reoffer_drop(c->relay->to->ms);
	c->relay = mem_deref(c->relay);   /* 487 to the open request */
}


static bool is_dtmf(sip_t const *sip)
{
	const char *t = sip->sip_content_type ?
		sip->sip_content_type->c_type : NULL;

	return t && (!strcasecmp(t, "application/dtmf-relay") ||
		     !strcasecmp(t, "application/dtmf"));
}


int relay_info(struct leg *l, nta_incoming_t *irq, sip_t const *sip)
{
	struct call *c = l->c;
	struct leg *to = leg_other(l);
	nta_outgoing_t *orq;

	if (!sip->sip_payload || !sip->sip_payload->pl_len || !is_dtmf(sip)) {
		nta_incoming_treply(irq, SIP_415_UNSUPPORTED_MEDIA,
				    SIPTAG_ACCEPT_STR("application/dtmf-relay, "
						      "application/dtmf"),
				    SIPTAG_SERVER_STR(c->conf->sip.user_agent),
				    TAG_END());
		sipua_done(irq);
		return 0;
	}

	/* a digit for the other party, once its dialog is up; the sender
	 * hears 200 when it is passed on, whatever the far end answers */
	if (to && to->nl && c->state == CALL_CONFIRMED &&
	    (!to->callee || to->confirmed)) {
		orq = nta_outgoing_tcreate(
			to->nl, NULL, NULL, (url_string_t const *)to->route,
			SIP_METHOD_INFO, NULL,
			SIPTAG_USER_AGENT_STR(c->conf->sip.user_agent),
			SIPTAG_CONTENT_TYPE(sip->sip_content_type),
			SIPTAG_PAYLOAD(sip->sip_payload),
			TAG_END());
		if (!orq) {
			sipua_reply(c->ua, irq, SIP_500_INTERNAL_SERVER_ERROR);
			return 0;
		}
		nta_outgoing_destroy(orq);   /* NTA finishes it alone */
		gw_log(GW_LOG_DEBUG, "sip", "info_relayed",
		       GW_FIELDS(GW_FS("call_id", c->call_id),
				 GW_FS("from", leg_name(l))),
		       "INFO from the %s passed to the %s", leg_name(l),
		       leg_name(to));
	}

	sipua_reply(c->ua, irq, SIP_200_OK);

	return 0;
}
