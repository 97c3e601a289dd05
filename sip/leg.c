/**
 * @file leg.c  Requests inside either dialog of a call, and its BYEs
 *
 *   peer                 keepline (one leg; a bridge has two)
 *     |--- re-INVITE ---->|  a refresh, or offerless: answered here
 *     |                   |  a new offer on a bridge: relay.c
 *     |--- UPDATE ------->|  timer.c (refresh), relay.c (new offer)
 *     |--- INFO (DTMF) -->|  to the other leg (relay.c)
 *     |--- REFER -------->|  603: no transfers
 *     |--- NOTIFY ------->|  481: we subscribe to nothing
 *     |--- BYE ---------->|  200, and BYE on the other leg
 *
 * The same code answers on the caller's leg and on the callee's: the
 * same headers (Server, Contact, Allow), the same checks in the same
 * order (source, To tag, 491, 415, 420, 422), the same ACK handling.
 */

#include <errno.h>
#include <string.h>

#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/su_tag.h>

#include "gateway/conf.h"
#include "gateway/log.h"
#include "gateway/reactor.h"
#include "media/media.h"
#include "sip/call.h"
#include "sip/route.h"
#include "sip/sip_int.h"


struct leg *leg_alloc(struct call *c, bool callee,
		      const struct gw_trunk *trunk,
		      const struct gw_session_timer_conf *cf)
{
	struct leg *l = mem_zalloc(sizeof(*l), NULL);

	if (!l)
		return NULL;
	l->c = c;
	l->callee = callee;
	l->trunk = trunk;
	if (st_leg_init(&l->st, l, cf)) {
		/* the trunk's count is the caller's to give back */
		l->trunk = NULL;
		leg_close(l);
		return mem_deref(l);
	}

	return l;
}


void leg_close(struct leg *l)
{
	if (!l || !l->c)
		return;
	st_leg_close(&l->st);
	if (l->irq)
		nta_incoming_destroy(l->irq);
	if (l->invite)
		nta_outgoing_destroy(l->invite);
	if (l->invite_old)
		nta_outgoing_destroy(l->invite_old);
	if (l->invite_done)
		nta_outgoing_destroy(l->invite_done);
	if (l->bye)
		nta_outgoing_destroy(l->bye);
	if (l->nl)
		nta_leg_destroy(l->nl);
	mem_deref(l->ms);
	mem_deref(l->call_id);
	mem_deref(l->route);
	mem_deref(l->target);
	mem_deref(l->sdp);
	if (l->home)
		su_home_unref(l->home);   /* frees auc with it */
	memset(l, 0, sizeof(*l));
}


struct leg *leg_other(const struct leg *l)
{
	struct call *c = l->c;

	return c->n_legs < 2 ? NULL : l->callee ? c->leg[0] : c->leg[1];
}


bool leg_invite_open(const struct leg *l)
{
	return l->invite && nta_outgoing_status(l->invite) < 200;
}


const char *leg_name(const struct leg *l)
{
	return l->callee ? "callee" : "caller";
}


bool leg_may_speak(const struct leg *l, msg_t *msg, const char *method)
{
	struct sa src;
	bool known = !sipua_msg_source(msg, &src);
	char from[64];

	/* the leg's trunk, or the address the dialog was set up with */
	if (known && (sa_cmp(&src, &l->peer, SA_ADDR) ||
		      sipua_trunk_contains(l->trunk, &src)))
		return true;

	if (known)
		re_snprintf(from, sizeof(from), "%J", &src);
	else
		snprintf(from, sizeof(from), "?");
	gw_log(GW_LOG_WARN, "sip", "dialog_request_refused",
	       GW_FIELDS(GW_FS("call_id", l->c->call_id),
			 GW_FS("method", method), GW_FS("source", from),
			 GW_FS("leg", leg_name(l))),
	       "%s from %s refused: not the %s's trunk nor the dialog's peer",
	       method, from, leg_name(l));

	return false;
}


int leg_dialog_check(struct leg *l, nta_incoming_t *irq, sip_t const *sip)
{
	if (!sip->sip_to || !sip->sip_to->a_tag)
		return 481;
	/* a CANCEL of ours reaches the INVITE's transaction, not the leg */
	if (sip->sip_request->rq_method == sip_method_cancel)
		return 481;

	return leg_may_speak(l, nta_incoming_getrequest(irq),
			     sip->sip_request->rq_method_name) ? 0 : 403;
}


void leg_reply_2xx(struct leg *l, nta_incoming_t *irq,
		   const struct st_result *res, const char *sdp)
{
	struct call *c = l->c;
	char se[32];

	nta_incoming_treply(irq, SIP_200_OK,
			    SIPTAG_CONTACT(sipua_contact(c->ua, l->tp)),
			    SIPTAG_SERVER_STR(c->conf->sip.user_agent),
			    SIPTAG_ALLOW_STR(SIPUA_ALLOW),
			    ST_2XX_TAGS(res, l->st.cf->enabled, se),
			    TAG_IF(sdp, SIPTAG_CONTENT_TYPE_STR(
					   "application/sdp")),
			    TAG_IF(sdp, SIPTAG_PAYLOAD_STR(sdp)),
			    TAG_END());
}


/* The ACK for our 2xx, a CANCEL of the INVITE, or (sip NULL) no ACK in
 * time (RFC 3261 §13.3.1.4, Timer H) */
static int irq_event(nta_incoming_magic_t *magic, nta_incoming_t *irq,
		     sip_t const *sip)
{
	struct leg *l = (struct leg *)magic;
	struct call *c = l->c;

	if (irq != l->irq || c->ended)
		return 0;

	if (sip && sip->sip_request &&
	    sip->sip_request->rq_method == sip_method_cancel) {
		/* a CANCEL copying the INVITE's Via matches its transaction
		 * from anywhere: only the leg's trunk may cancel. RFC 3261
		 * §9.2: only an INVITE not yet answered is cancelled; NTA
		 * has answered the CANCEL itself, the 487 is ours */
		if (leg_may_speak(l, nta_incoming_getrequest_ackcancel(irq),
				  "CANCEL") &&
		    !l->callee && c->state == CALL_PROCEEDING)
			bridge_cancel(c);
		return 0;
	}

	nta_incoming_destroy(l->irq);
	l->irq = NULL;
	call_acked(l, sip && sip->sip_request &&
		   sip->sip_request->rq_method == sip_method_ack ? sip : NULL);

	return 0;
}


void leg_keep_invite(struct leg *l, nta_incoming_t *irq)
{
	nta_incoming_bind(irq, irq_event, (nta_incoming_magic_t *)l);
	l->irq = irq;
}


static int bye_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq,
			sip_t const *sip)
{
	struct leg *l = (struct leg *)magic;
	struct call *c = l->c;
	(void)sip;

	if (nta_outgoing_status(orq) < 200)
		return 0;

	/* any final answer, or NTA's own 408 after Timer F, counts */
	if (c->byes && --c->byes == 0)
		call_end(c, c->end_reason ? c->end_reason : "bye_sent");

	return 0;
}


void leg_bye(struct leg *l, const char *reason_hdr)
{
	struct call *c = l->c;

	if (!l->nl || l->bye)
		return;

	l->bye = nta_outgoing_tcreate(l->nl, bye_response,
				      (nta_outgoing_magic_t *)l,
				      (url_string_t const *)l->route,
				      SIP_METHOD_BYE, NULL,
				      TAG_IF(reason_hdr,
					     SIPTAG_REASON_STR(reason_hdr)),
				      SIPTAG_USER_AGENT_STR(
					      c->conf->sip.user_agent),
				      TAG_END());
	if (l->bye)
		++c->byes;
}


/* An INVITE without a body asks us to offer (RFC 3261 §13.2.1, §14.1):
 * a re-INVITE gets the SDP we last sent, unchanged (RFC 3264 §8: same
 * version, nothing new), a new call all our codecs. The answer comes in
 * the ACK (call_acked()). */
static int offer_in_2xx(struct leg *l, char **offerp)
{
	if (l->sdp) {
		*offerp = mem_ref(l->sdp);
		return 0;
	}

	return media_stream_offer(l->ms, NULL, offerp);
}


void leg_sdp_refused(struct leg *l, nta_incoming_t *irq, int err)
{
	/* RFC 3261 §20.43 warn-codes: 399 misc, 300 incompatible network
	 * address formats, 304 media type not available */
	const char *why = err == EPROTO ? "malformed" :
		err == EAFNOSUPPORT ? "address_family" : "no_common_codec";

	gw_log(GW_LOG_WARN, "sip", "sdp_refused",
	       GW_FIELDS(GW_FS("call_id", l->c->call_id), GW_FS("why", why)),
	       "SDP offer refused: %s",
	       err == EPROTO ? "malformed" :
	       err == EAFNOSUPPORT ? "its media address is not in this leg's "
	       "address family" :
	       "no audio stream with PCMU, PCMA or telephone-event");
	nta_incoming_treply(irq, SIP_488_NOT_ACCEPTABLE,
			    SIPTAG_WARNING_STR(err == EPROTO ?
			       "399 keepline \"malformed SDP\"" :
			       err == EAFNOSUPPORT ?
			       "300 keepline \"media address family not "
			       "this leg's\"" :
			       "304 keepline \"no common codec\""),
			    SIPTAG_SERVER_STR(l->c->conf->sip.user_agent),
			    TAG_END());
	sipua_done(irq);
}


int leg_answer_here(struct leg *l, nta_incoming_t *irq, sip_t const *sip,
		    const struct st_result *res)
{
	/* no SDP in the request: our 2xx makes the offer */
	bool we_offer = !sip->sip_payload || !sip->sip_payload->pl_len;
	char *answer = NULL;
	int err;

	err = we_offer ? offer_in_2xx(l, &answer) :
		media_stream_answer(l->ms, sip->sip_payload->pl_data,
				    sip->sip_payload->pl_len, &answer);
	if (err) {
		leg_sdp_refused(l, irq, err);
		return err;
	}

	leg_keep_invite(l, irq);
	leg_reply_2xx(l, irq, res, answer);

	/* kept: a refresh re-sends it unchanged (RFC 4028 §10) */
	mem_deref(l->sdp);
	l->sdp = answer;
	l->offer_in_2xx = we_offer;

	return 0;
}


static int reinvite(struct leg *l, nta_incoming_t *irq, sip_t const *sip)
{
	struct call *c = l->c;
	bool body = sip->sip_payload && sip->sip_payload->pl_len;
	struct st_result res;

	/* RFC 3261 §14.2: one offer at a time on a leg, and a bridge
	 * carries one across at a time */
	if (l->irq || c->state == CALL_ENDING || st_invite_pending(&l->st) ||
	    leg_invite_open(l) || relay_busy(l))
		return 491;
	if (body && !sipua_has_sdp(sip)) {
		sipua_reply(c->ua, irq, SIP_415_UNSUPPORTED_MEDIA);
		return 0;
	}
	if (sipua_unsupported(c->ua, irq, sip) ||
	    st_request_refused(&l->st, irq, sip, &res))
		return 0;

	/* a new description on a bridge is the other party's business; a
	 * refresh (the same o= version, RFC 4028 §10) or an offerless
	 * re-INVITE is this leg's */
	if (body && leg_other(l) &&
	    !media_stream_same_offer(l->ms, sip->sip_payload->pl_data,
				     sip->sip_payload->pl_len))
		return relay_offer(l, irq, sip, &res);

	if (!leg_answer_here(l, irq, sip, &res))
		st_answered(&l->st, &res, true);

	return 0;
}


static int update(struct leg *l, nta_incoming_t *irq, sip_t const *sip)
{
	struct call *c = l->c;
	bool body = sip->sip_payload && sip->sip_payload->pl_len;
	struct st_result res;

	if (c->state == CALL_ENDING)
		return 481;
	if (!body || !leg_other(l) ||
	    media_stream_same_offer(l->ms, sip->sip_payload->pl_data,
				    sip->sip_payload->pl_len))
		return st_update(&l->st, irq, sip);

	/* RFC 3311 §5.2: a new offer while one is open is 491 */
	if (l->irq || st_invite_pending(&l->st) || leg_invite_open(l) ||
	    relay_busy(l))
		return 491;
	if (!sipua_has_sdp(sip)) {
		sipua_reply(c->ua, irq, SIP_415_UNSUPPORTED_MEDIA);
		return 0;
	}
	if (sipua_unsupported(c->ua, irq, sip) ||
	    st_request_refused(&l->st, irq, sip, &res))
		return 0;

	return relay_offer(l, irq, sip, &res);
}


int leg_request(nta_leg_magic_t *magic, nta_leg_t *nl, nta_incoming_t *irq,
		sip_t const *sip)
{
	struct leg *l = (struct leg *)magic;
	struct call *c = l->c;
	int status;
	(void)nl;

	if (c->ended)
		return 481;
	status = leg_dialog_check(l, irq, sip);
	if (status)
		return status;

	switch (sip->sip_request->rq_method) {

	case sip_method_bye:
		nta_incoming_treply(irq, SIP_200_OK,
				    SIPTAG_SERVER_STR(c->conf->sip.user_agent),
				    TAG_END());
		sipua_done(irq);
		call_bye_received(l);
		return 0;

	case sip_method_invite:
		return reinvite(l, irq, sip);

	case sip_method_update:
		return update(l, irq, sip);

	case sip_method_info:
		return relay_info(l, irq, sip);

	case sip_method_refer:
		/* RFC 3515 §2.4.2: a REFER we will not act on is declined */
		gw_log(GW_LOG_INFO, "sip", "refer_declined",
		       GW_FIELDS(GW_FS("call_id", c->call_id),
				 GW_FS("leg", leg_name(l)),
				 GW_FS("refer_to", sip->sip_refer_to &&
				       sip->sip_refer_to->r_url->url_user ?
				       sip->sip_refer_to->r_url->url_user :
				       "-")),
		       "REFER from the %s declined with 603: Keepline does "
		       "not transfer calls", leg_name(l));
		sipua_reply(c->ua, irq, SIP_603_DECLINE);
		return 0;

	case sip_method_notify:
		/* RFC 6665 §4.1.3: a NOTIFY for no subscription of ours */
		sipua_reply(c->ua, irq, 481, "Subscription does not exist");
		return 0;

	default:
		return sipua_dialog_default(c->ua, irq, sip);
	}
}


void leg_describe(const struct leg *l, struct odict *o)
{
	const struct call *c = l->c;
	struct odict *media = NULL;
	char buf[64];

	odict_entry_add(o, "role", ODICT_STRING,
			l->callee ? "outbound" : "inbound");
	if (l->callee) {
		odict_entry_add(o, "call_id", ODICT_STRING, l->call_id);
		odict_entry_add(o, "target", ODICT_STRING, l->target);
	}
	re_snprintf(buf, sizeof(buf), "%J", &l->peer);
	odict_entry_add(o, "signalling", ODICT_STRING, buf);
	if (l->callee)
		odict_entry_add(o, "status", ODICT_INT, (int64_t)l->status);
	else if (c->from)
		odict_entry_add(o, "from", ODICT_STRING, c->from);
	st_describe(&l->st, o);
	if (l->ms && !odict_alloc(&media, 16)) {
		media_stream_describe(l->ms, media);
		odict_entry_add(o, "media", ODICT_OBJECT, media);
	}
	mem_deref(media);
}
