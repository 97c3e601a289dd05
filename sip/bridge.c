/**
 * @file bridge.c  The bridge route: a back-to-back user agent
 *
 *   caller             keepline                 callee (target via trunk)
 *     |--- INVITE A ---->|                          |
 *     |<-- 100 ----------|--- INVITE B (our SDP) -->|
 *     |<-- 180 ----------|<-- 180 ------------------|
 *     |<-- 183 + SDP ----|<-- 183 + SDP ------------|  early media relayed
 *     |<-- 200 + SDP ----|<-- 200 + SDP ------------|
 *     |--- ACK --------->|--- ACK ----------------->|
 *     |<=== RTP ========>|<========= RTP ==========>|  relayed unchanged
 *     |--- BYE --------->|--- BYE ----------------->|  either side ends both
 *
 * The callee is offered the codecs the caller offered and we carry, with
 * the caller's payload numbers; the caller's answer is written only once
 * the callee has answered, limited to what the callee chose, so RTP
 * passes between the legs untouched. A CANCEL from the caller before the
 * answer cancels leg B (RFC 3261 §9.1) and gets 487 on leg A.
 *
 * A caller's INVITE without SDP (delayed offer): the callee is offered
 * all our codecs, and the caller gets, in our 200, an offer of what the
 * callee chose; its ACK answers (call_ack_cancel()). Provisional
 * responses then go to the caller without SDP (an offer in a 18x needs
 * 100rel, which we do not do).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include <sofia-sip/url.h>

#include "gateway/conf.h"
#include "gateway/log.h"
#include "gateway/reactor.h"
#include "media/media.h"
#include "netwatch/netwatch.h"
#include "sip/sip_int.h"

enum {
	/* a trunk that challenges twice more rejects our credentials */
	AUTH_TRIES_MAX = 2,
	/* RFC 3261 §16.6 Timer C: a callee ringing longer is given up */
	RING_LIMIT_MS = 180000,
	/* after our CANCEL, the callee's final answer is awaited so long */
	CANCEL_LIMIT_MS = 32000,
};


/* The next hop from the trunk's outbound_uri. No DNS here: a blocking
 * lookup would stall the reactor, so the host must be an address. */
static int next_hop(const struct gw_trunk *t, struct sa *hop)
{
	char host[128], port[8];
	unsigned p;

	if (sipua_trunk_hostport(t, host, sizeof(host), port, sizeof(port)))
		return EINVAL;

	p = *port ? (unsigned)atoi(port) :
		(t->transport == GW_TP_TLS ? 5061 : 5060);

	return sa_set_str(hop, host, (uint16_t)p) ? EDESTADDRREQ : 0;
}


static void call_id_new(char *buf, size_t size)
{
	uuid_t u;
	char s[37];

	uuid_generate_random(u);
	uuid_unparse_lower(u, s);
	snprintf(buf, size, "%s@keepline", s);
}


/* Read the callee's SDP and write the caller's answer to match, or,
 * when the caller made no offer, our offer of what the callee chose */
static int answer_caller(struct call *c, sip_t const *sip, char **answerp)
{
	int err;

	err = media_stream_accept(c->out->ms, sip->sip_payload->pl_data,
				  sip->sip_payload->pl_len);
	if (err)
		return err;

	err = c->offer ?
		media_stream_answer_like(c->ms, c->out->ms, c->offer,
					 c->offer_len, answerp) :
		media_stream_offer(c->ms, c->out->ms, answerp);
	if (err)
		return err;

	media_stream_relay(c->ms, c->out->ms);

	return 0;
}


/* A response to the caller's INVITE; a 2xx carries the session timer
 * negotiated when the INVITE came (RFC 4028 §9) */
static void reply_caller(struct call *c, int status, const char *answer)
{
	static const struct st_result none;
	bool ok = status < 300 && status >= 200;
	const struct st_result *res = ok ? &c->st_neg : &none;
	char se[32];

	nta_incoming_treply(c->irq, status, sip_status_phrase(status),
			    TAG_IF(status < 300 || answer,
				   SIPTAG_CONTACT(sipua_contact(c->ua, c->tp))),
			    SIPTAG_SERVER_STR(c->conf->sip.user_agent),
			    TAG_IF(status < 300, SIPTAG_ALLOW_STR(SIPUA_ALLOW)),
			    ST_2XX_TAGS(res, ok && c->st.cf->enabled, se),
			    TAG_IF(answer, SIPTAG_CONTENT_TYPE_STR(
					   "application/sdp")),
			    TAG_IF(answer, SIPTAG_PAYLOAD_STR(answer)),
			    TAG_END());
}


static void callee_answered(struct call *c, sip_t const *sip)
{
	struct call_out *o = c->out;
	char *answer = NULL;
	int err;

	nta_leg_rtag(o->leg, sip->sip_to->a_tag);
	nta_leg_client_route(o->leg, sip->sip_record_route, sip->sip_contact);
	sipua_ack(c->ua, o->leg, o->route, sip);

	if (o->confirmed)
		return;   /* a retransmitted 2xx: the ACK again was enough */
	o->confirmed = true;
	gw_timer_stop(c->guard);

	if (c->state == CALL_ENDING) {
		/* the caller gave up while this 2xx was on its way */
		call_hangup(c, c->end_reason, NULL, false, true);
		return;
	}

	err = sipua_has_sdp(sip) ? answer_caller(c, sip, &answer) : EPROTO;
	if (err) {
		gw_log(GW_LOG_WARN, "sip", "bridge_sdp_refused",
		       GW_FIELDS(GW_FS("call_id", c->call_id),
				 GW_FS("target", o->target)),
		       "The callee's answer has no usable SDP, ending both "
		       "legs");
		reply_caller(c, 488, NULL);
		call_hangup(c, "callee_sdp_refused", NULL, false, true);
		return;
	}

	reply_caller(c, 200, answer);
	/* kept: a refresh re-sends it unchanged (RFC 4028 §10) */
	mem_deref(c->sdp);
	c->sdp = answer;
	c->offer_in_2xx = !c->offer;   /* delayed offer: the ACK answers */
	media_stream_watch_silence(c->ms);
	media_stream_watch_silence(o->ms);

	c->state = CALL_ANSWERED;
	++c->ua->st.answered;
	gw_log(GW_LOG_INFO, "sip", "call_answer",
	       GW_FIELDS(GW_FS("call_id", c->call_id)), "Call answered");
	st_answered(&c->st, &c->st_neg, false);
	st_response(&o->st, sip);
}


/* What the caller hears when the callee refuses (RFC 3261 §16.7: a
 * 3xx we do not follow, and a challenge for credentials we cannot
 * answer in this build, become 5xx) */
static int caller_status(struct call *c, int status)
{
	if (status == 401 || status == 407) {
		gw_log(GW_LOG_WARN, "sip", "bridge_auth_failed",
		       GW_FIELDS(GW_FS("call_id", c->call_id),
				 GW_FI("status", status),
				 GW_FS("trunk", c->out_trunk ?
				       c->out_trunk->name : "-")),
		       "Trunk %s refused our credentials, or we have none",
		       c->out_trunk ? c->out_trunk->name : "-");
		return 503;
	}

	if (status < 400)
		return 502;
	if (status == 422)
		return 500;   /* the callee's interval is not the caller's */
	if (status == 408 && c->state == CALL_ENDING)
		return 0;

	return status;
}


static int send_invite(struct call *c);


/* RFC 3261 §22.2/§22.3: answer a 401/407 with the trunk's credentials
 * (RFC 2617 digest, computed by Sofia's auth_client). 0 if the INVITE
 * went out again. */
static int answer_challenge(struct call *c, int status, sip_t const *sip)
{
	const struct gw_trunk *t = c->out_trunk;
	struct call_out *o = c->out;
	int err;

	if (o->auth_tries >= AUTH_TRIES_MAX)
		return EACCES;

	err = sipua_trunk_challenge(t, o->home, &o->auc, status, sip);
	if (err)
		return err;

	++o->auth_tries;
	gw_log(GW_LOG_INFO, "sip", "bridge_auth",
	       GW_FIELDS(GW_FS("call_id", c->call_id), GW_FI("status", status),
			 GW_FS("trunk", t->name), GW_FS("user", t->username)),
	       "Trunk %s asked for credentials (%d), sending them", t->name,
	       status);

	return send_invite(c);
}


/* RFC 4028 §7.3: a 422 names the callee's Min-SE; the INVITE goes again
 * with it, at most twice per dialog. 0 if it went out again. */
static int retry_422(struct call *c, sip_t const *sip)
{
	struct st_leg *st = &c->out->st;
	unsigned long min_se = sip && sip->sip_min_se ?
		sip->sip_min_se->min_delta : 0;

	if (st->tries_422 >= 2 || min_se <= st->min_se || min_se > 86400)
		return EPROTO;

	++st->tries_422;
	st->min_se = (uint32_t)min_se;
	gw_log(GW_LOG_INFO, "sip", "st_retry_422",
	       GW_FIELDS(GW_FS("call_id", c->out->call_id),
			 GW_FU("min_se", st->min_se),
			 GW_FU("attempt", st->tries_422)),
	       "Session interval too small for the callee, sending the "
	       "INVITE again with minSE=%u", st->min_se);

	return send_invite(c);
}


static int callee_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq,
			   sip_t const *sip)
{
	struct call *c = (struct call *)magic;
	struct call_out *o = c->out;
	int status = nta_outgoing_status(orq);
	char *answer = NULL;

	o->status = status;

	if (status <= 100 || c->ended)
		return 0;

	if (status < 200) {
		if (c->state != CALL_PROCEEDING)
			return 0;
		/* early media: relay it and answer the caller early (not
		 * when the caller made no offer: ours would need 100rel) */
		if (status == 183 && sipua_has_sdp(sip) && c->offer &&
		    !answer_caller(c, sip, &answer)) {
			reply_caller(c, 183, answer);
			mem_deref(answer);
		}
		else if (status == 180 || status == 183) {
			reply_caller(c, status, NULL);
		}
		return 0;
	}

	if (status < 300) {
		callee_answered(c, sip);
		return 0;
	}

	/* a final refusal: NTA has ACKed it (RFC 3261 §17.1.1.3) */
	if ((status == 401 || status == 407) && c->state == CALL_PROCEEDING &&
	    orq == o->invite && !answer_challenge(c, status, sip))
		return 0;
	if (status == 422 && c->state == CALL_PROCEEDING &&
	    orq == o->invite && o->st.cf->enabled && !retry_422(c, sip))
		return 0;

	gw_timer_stop(c->guard);
	if (c->state == CALL_PROCEEDING) {
		int to_caller = caller_status(c, status);

		gw_log(GW_LOG_INFO, "sip", "bridge_refused",
		       GW_FIELDS(GW_FS("call_id", c->call_id),
				 GW_FI("status", status),
				 GW_FS("target", o->target)),
		       "Callee refused with %d", status);
		if (to_caller)
			reply_caller(c, to_caller, NULL);
		++c->ua->st.rejected;
	}

	call_end(c, c->state == CALL_ENDING ? c->end_reason :
		 "callee_refused");

	return 0;
}


/* Requests from the callee inside its dialog */
static int callee_request(nta_leg_magic_t *magic, nta_leg_t *leg,
			  nta_incoming_t *irq, sip_t const *sip)
{
	struct call *c = (struct call *)magic;
	struct call_out *o = c->out;
	struct st_result res;
	char *answer = NULL, se[32];
	bool offer;
	int status;
	(void)leg;

	if (c->ended)
		return 481;
	status = call_dialog_check(c, true, irq, sip);
	if (status)
		return status;

	switch (sip->sip_request->rq_method) {

	case sip_method_bye:
		nta_incoming_treply(irq, SIP_200_OK, TAG_END());
		sipua_done(irq);
		if (c->state != CALL_ENDING)
			call_hangup(c, "bye_from_callee", NULL, true, false);
		else if (!c->byes)
			call_end(c, c->end_reason);
		return 0;

	case sip_method_invite:
		/* a new offer from the callee is answered for its own leg;
		 * it refreshes that leg's session (RFC 4028 §10). Without
		 * one, we offer the SDP we last sent, unchanged, and the ACK
		 * answers (RFC 3261 §14.2) */
		if (c->state == CALL_ENDING || st_invite_pending(&o->st))
			return 491;
		offer = !sip->sip_payload || !sip->sip_payload->pl_len;
		if (!offer && !sipua_has_sdp(sip)) {
			sipua_reply(c->ua, irq, SIP_415_UNSUPPORTED_MEDIA);
			return 0;
		}
		if (sipua_unsupported(c->ua, irq, sip) ||
		    st_request_refused(&o->st, irq, sip, &res))
			return 0;
		if (offer)
			answer = mem_ref(o->sdp);
		else if (media_stream_answer(o->ms, sip->sip_payload->pl_data,
					     sip->sip_payload->pl_len, &answer))
			return 488;
		o->offer_in_2xx = offer;
		nta_incoming_treply(irq, SIP_200_OK,
				    SIPTAG_CONTACT(sipua_contact(c->ua, o->tp)),
				    SIPTAG_SERVER_STR(c->conf->sip.user_agent),
				    ST_2XX_TAGS(&res, o->st.cf->enabled, se),
				    SIPTAG_CONTENT_TYPE_STR("application/sdp"),
				    SIPTAG_PAYLOAD_STR(answer), TAG_END());
		mem_deref(o->sdp);
		o->sdp = answer;
		sipua_done(irq);
		st_answered(&o->st, &res, true);
		return 0;

	case sip_method_update:
		if (c->state == CALL_ENDING)
			return 481;
		return st_update(&o->st, irq, sip);

	case sip_method_ack:
		if (o->offer_in_2xx) {
			o->offer_in_2xx = false;
			(void)call_ack_answer(o->call_id, o->ms, sip, false);
		}
		return sipua_dialog_default(c->ua, irq, sip);

	default:
		return sipua_dialog_default(c->ua, irq, sip);
	}
}


static void guard_expired(void *arg)
{
	struct call *c = arg;

	if (c->state == CALL_PROCEEDING) {
		/* rang too long: give up on the callee, tell the caller */
		gw_log(GW_LOG_INFO, "sip", "bridge_no_answer",
		       GW_FIELDS(GW_FS("call_id", c->call_id)),
		       "The callee did not answer in %d s", RING_LIMIT_MS / 1000);
		reply_caller(c, 408, NULL);
		bridge_cancel(c);
		c->end_reason = "no_answer";
		return;
	}

	/* cancelled and the callee never said its final word */
	call_end(c, c->end_reason ? c->end_reason : "cancelled");
}


/* The INVITE of leg B; again (next CSeq) with credentials after a
 * challenge, or with a larger Min-SE after a 422 */
static int send_invite(struct call *c)
{
	struct call_out *o = c->out;
	const struct gw_session_timer_conf *cf = o->st.cf;
	msg_header_t *auth = NULL;
	nta_outgoing_t *orq;
	char se[16], min_se[16];

	if (o->auc) {
		url_t *url = url_hdup(o->home,
				      URL_STRING_MAKE(o->target)->us_url);

		if (!url ||
		    auc_authorization_headers(&o->auc, o->home, "INVITE", url,
					      NULL, &auth) < 0 || !auth)
			return EPROTO;
	}

	/* RFC 4028 §7.1: we support timers and ask for our default
	 * interval, never below our Min-SE (raised by a 422, §7.3) */
	snprintf(se, sizeof(se), "%u", cf->default_expires > o->st.min_se ?
		 cf->default_expires : o->st.min_se);
	snprintf(min_se, sizeof(min_se), "%u", o->st.min_se);

	orq = nta_outgoing_tcreate(
		o->leg, callee_response, (nta_outgoing_magic_t *)c,
		(url_string_t const *)o->route,
		SIP_METHOD_INVITE, (url_string_t const *)o->target,
		SIPTAG_CONTACT(sipua_contact(c->ua, o->tp)),
		SIPTAG_USER_AGENT_STR(c->conf->sip.user_agent),
		SIPTAG_ALLOW_STR(SIPUA_ALLOW),
		TAG_IF(cf->enabled, SIPTAG_SUPPORTED_STR("timer")),
		TAG_IF(cf->enabled, SIPTAG_SESSION_EXPIRES_STR(se)),
		TAG_IF(cf->enabled, SIPTAG_MIN_SE_STR(min_se)),
		TAG_IF(auth, SIPTAG_HEADER((sip_header_t const *)auth)),
		SIPTAG_CONTENT_TYPE_STR("application/sdp"),
		SIPTAG_PAYLOAD_STR(o->sdp),
		TAG_END());
	if (!orq)
		return ENOMEM;

	/* the challenged INVITE is done; it goes when the call goes */
	if (o->invite) {
		if (o->invite_old)
			nta_outgoing_destroy(o->invite_old);
		o->invite_old = o->invite;
	}
	o->invite = orq;

	return 0;
}


/* The route's trunks in order: one whose every probed path netwatch
 * finds down is passed over while a later one is not; when all are, the
 * first is tried anyway (the INVITE's own answer is the last word) */
static const struct gw_trunk *pick_trunk(struct call *c)
{
	const struct gw_route *rt = c->route;
	const struct gw_trunk *first = NULL;

	for (size_t i = 0; i < rt->n_trunks; i++) {
		const struct gw_trunk *t = gw_conf_trunk(c->conf,
							 rt->trunks[i]);
		const char *why = NULL;

		if (!t)
			continue;
		if (!first)
			first = t;
		if (nw_trunk_usable(c->ua->nw, t->name, &why))
			return t;
		gw_log(GW_LOG_WARN, "sip", "trunk_skipped",
		       GW_FIELDS(GW_FS("call_id", c->call_id),
				 GW_FS("trunk", t->name), GW_FS("why", why),
				 GW_FS("next", i + 1 < rt->n_trunks ?
				       rt->trunks[i + 1] : "-")),
		       "Trunk %s skipped for this call: %s (netwatch)",
		       t->name, why);
	}

	if (first && rt->n_trunks > 1)
		gw_log(GW_LOG_WARN, "sip", "trunk_all_down",
		       GW_FIELDS(GW_FS("call_id", c->call_id),
				 GW_FS("trunk", first->name)),
		       "Every trunk of the route has its path down: trying "
		       "trunk %s anyway", first->name);

	return first;
}


int bridge_start(struct call *c, nta_incoming_t *irq, sip_t const *sip)
{
	const struct gw_trunk *trunk = pick_trunk(c);
	struct call_out *o;
	struct sa local;
	char call_id[64], *from = NULL, *answer = NULL;
	int err;

	if (sip->sip_payload && sip->sip_payload->pl_len &&
	    !sipua_has_sdp(sip))
		return 415;

	/* read the caller's offer now; its answer waits for the callee.
	 * None (delayed offer): the callee gets all our codecs */
	if (sipua_has_sdp(sip)) {
		err = media_stream_answer(c->ms, sip->sip_payload->pl_data,
					  sip->sip_payload->pl_len, &answer);
		mem_deref(answer);
		if (err)
			return 488;

		c->offer = mem_alloc(sip->sip_payload->pl_len + 1, NULL);
		if (!c->offer)
			return 500;
		memcpy(c->offer, sip->sip_payload->pl_data,
		       sip->sip_payload->pl_len);
		c->offer[sip->sip_payload->pl_len] = '\0';
		c->offer_len = sip->sip_payload->pl_len;
	}

	c->out = o = mem_zalloc(sizeof(*o), NULL);
	if (!o)
		return 500;
	if (st_leg_init(&o->st, c, true, trunk ? &trunk->session_timer :
			&c->conf->session_timer))
		return 500;
	o->home = su_home_new(sizeof(*o->home));
	if (!o->home)
		return 500;

	if (!trunk || next_hop(trunk, &o->next_hop)) {
		gw_log(GW_LOG_ERROR, "sip", "bridge_no_route",
		       GW_FIELDS(GW_FS("call_id", c->call_id),
				 GW_FS("trunk", trunk ? trunk->name :
				       c->route->trunk)),
		       "Trunk %s has no outbound_uri with an IP address "
		       "(DNS is not used)", trunk ? trunk->name :
		       c->route->trunk);
		return 503;
	}

	/* the outbound trunk's max_calls and max_cps count this leg */
	if (!sipua_limits_take(c->ua, trunk, c->call_id))
		return 503;
	c->out_trunk = trunk;

	str_dup(&o->target, c->route->target);
	o->tp = trunk->transport;
	/* the trunk is this leg's next hop for every request: over its
	 * transport even when the callee's Contact names none */
	if (!sipua_trunk_route(trunk, o->route, sizeof(o->route)))
		return 503;

	err = sipua_local_addr(&o->next_hop, &local);
	if (!err)
		err = media_stream_alloc(&o->ms, c->ua->mm, &local,
					 call_media_ended, c);
	media_stream_set_label(o->ms, c->call_id);
	if (!err)
		err = media_stream_offer(o->ms, c->offer ? c->ms : NULL,
					 &o->sdp);
	if (err)
		return 503;

	/* leg B: a dialog of our own, with a fresh Call-ID; the caller's
	 * user goes on in From (RFC 3261 §8.1.1.3) */
	call_id_new(call_id, sizeof(call_id));
	str_dup(&o->call_id, call_id);
	/* any length: a fixed buffer cut long users into a bad From */
	if (re_sdprintf(&from, "<sip:%s@%j>",
			sip->sip_from && sip->sip_from->a_url->url_user ?
			sip->sip_from->a_url->url_user : "keepline", &local))
		return 500;

	o->leg = nta_leg_tcreate(c->ua->agent, callee_request,
				 (nta_leg_magic_t *)c,
				 SIPTAG_CALL_ID_STR(call_id),
				 SIPTAG_FROM_STR(from),
				 SIPTAG_TO_STR(o->target),
				 TAG_END());
	mem_deref(from);
	if (!o->leg)
		return 500;
	nta_leg_tag(o->leg, NULL);

	if (send_invite(c))
		return 500;

	/* the caller may CANCEL from now on */
	nta_incoming_bind(irq, call_ack_cancel, (nta_incoming_magic_t *)c);
	c->irq = irq;
	c->state = CALL_PROCEEDING;
	nta_incoming_treply(irq, SIP_100_TRYING, TAG_END());

	err = gw_timer_alloc(&c->guard, c->ua->r);
	if (!err)
		gw_timer_start(c->guard, RING_LIMIT_MS, guard_expired, c);

	gw_log(GW_LOG_INFO, "sip", "bridge_dial",
	       GW_FIELDS(GW_FS("call_id", c->call_id),
			 GW_FS("out_call_id", o->call_id),
			 GW_FS("target", o->target),
			 GW_FS("trunk", trunk->name)),
	       "Calling %s via trunk %s", o->target, trunk->name);

	return 0;
}


void bridge_cancel(struct call *c)
{
	struct call_out *o = c->out;

	if (c->state != CALL_PROCEEDING || !o)
		return;

	/* RFC 3261 §9.2: the cancelled INVITE is answered 487 */
	if (nta_incoming_status(c->irq) < 200)
		reply_caller(c, 487, NULL);

	c->state = CALL_ENDING;
	if (!c->end_reason)
		c->end_reason = "cancelled";

	/* RFC 3261 §9.1: CANCEL leg B; its 487 (or a late 200, answered
	 * with ACK and BYE) ends the call */
	if (o->invite && o->status < 200)
		nta_outgoing_cancel(o->invite);

	gw_timer_start(c->guard, CANCEL_LIMIT_MS, guard_expired, c);
}


void bridge_describe(const struct call *c, struct odict *legs)
{
	const struct call_out *o = c->out;
	struct odict *leg = NULL, *media = NULL;
	char buf[64];

	if (odict_alloc(&leg, 8) || odict_alloc(&media, 16))
		goto out;

	odict_entry_add(leg, "role", ODICT_STRING, "outbound");
	odict_entry_add(leg, "call_id", ODICT_STRING, o->call_id);
	odict_entry_add(leg, "target", ODICT_STRING, o->target);
	re_snprintf(buf, sizeof(buf), "%J", &o->next_hop);
	odict_entry_add(leg, "signalling", ODICT_STRING, buf);
	odict_entry_add(leg, "status", ODICT_INT, (int64_t)o->status);
	st_describe(&o->st, leg);
	if (o->ms) {
		media_stream_describe(o->ms, media);
		odict_entry_add(leg, "media", ODICT_OBJECT, media);
	}
	odict_entry_add(legs, "1", ODICT_OBJECT, leg);

 out:
	mem_deref(media);
	mem_deref(leg);
}


void bridge_destroy(struct call *c)
{
	struct call_out *o = c->out;

	if (!o)
		return;

	if (o->invite)
		nta_outgoing_destroy(o->invite);
	if (o->invite_old)
		nta_outgoing_destroy(o->invite_old);
	if (o->bye)
		nta_outgoing_destroy(o->bye);
	if (o->leg)
		nta_leg_destroy(o->leg);
	mem_deref(o->ms);
	mem_deref(o->call_id);
	mem_deref(o->target);
	mem_deref(o->sdp);
	st_leg_close(&o->st);
	if (o->home)
		su_home_unref(o->home);   /* frees auc with it */
	c->out = mem_deref(o);
}
