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
 * callee chose; its ACK answers (call_acked()). Provisional
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
#include "sip/call.h"
#include "sip/sip_int.h"

enum {
	/* a trunk that challenges twice more rejects our credentials */
	AUTH_TRIES_MAX = 2,
	/* RFC 3261 §16.6 Timer C: a callee ringing longer is given up */
	RING_LIMIT_MS = 180000,
	/* after our CANCEL, the callee's final answer is awaited so long */
	CANCEL_LIMIT_MS = 32000,
};


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
/* Read the callee's SDP and write the caller's answer to match, or,
 * when the caller made no offer, our offer of what the callee chose */
static int answer_caller(struct call *c, sip_t const *sip, char **answerp)
{
	struct leg *a = c->leg[0], *b = c->leg[1];
	int err;

	err = media_stream_accept(b->ms, sip->sip_payload->pl_data,
				  sip->sip_payload->pl_len);
	if (err)
		return err;

	err = c->offer ?
		media_stream_answer_like(a->ms, b->ms, c->offer,
					 c->offer_len, answerp) :
		media_stream_offer(a->ms, b->ms, answerp);
	if (err)
		return err;

	media_stream_relay(a->ms, b->ms);

	return 0;
}


/* A response to the caller's INVITE; a 2xx carries the session timer
 * negotiated when the INVITE came (RFC 4028 §9) */
static void reply_caller(struct call *c, int status, const char *answer)
{
	static const struct st_result none;
	struct leg *a = c->leg[0];
	bool ok = status < 300 && status >= 200;
	const struct st_result *res = ok ? &c->st_neg : &none;
	char se[32];

	nta_incoming_treply(a->irq, status, sip_status_phrase(status),
			    TAG_IF(status < 300 || answer,
				   SIPTAG_CONTACT(sipua_contact(c->ua, a->tp))),
			    SIPTAG_SERVER_STR(c->conf->sip.user_agent),
			    TAG_IF(status < 300, SIPTAG_ALLOW_STR(SIPUA_ALLOW)),
			    ST_2XX_TAGS(res, ok && a->st.cf->enabled, se),
			    TAG_IF(answer, SIPTAG_CONTENT_TYPE_STR(
					   "application/sdp")),
			    TAG_IF(answer, SIPTAG_PAYLOAD_STR(answer)),
			    TAG_END());
}


static void callee_answered(struct call *c, sip_t const *sip)
{
	struct leg *a = c->leg[0], *b = c->leg[1];
	char *answer = NULL;
	int err;

	nta_leg_rtag(b->nl, sip->sip_to->a_tag);
	nta_leg_client_route(b->nl, sip->sip_record_route, sip->sip_contact);
	sipua_ack(c->ua, b->nl, b->route, sip);

	if (b->confirmed)
		return;   /* a retransmitted 2xx: the ACK again was enough */
	b->confirmed = true;
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
				 GW_FS("target", b->target)),
		       "The callee's answer has no usable SDP, ending both "
		       "legs");
		reply_caller(c, 488, NULL);
		call_hangup(c, "callee_sdp_refused", NULL, false, true);
		return;
	}

	reply_caller(c, 200, answer);
	/* kept: a refresh re-sends it unchanged (RFC 4028 §10) */
	mem_deref(a->sdp);
	a->sdp = answer;
	a->offer_in_2xx = !c->offer;   /* delayed offer: the ACK answers */
	media_stream_watch_silence(a->ms);
	media_stream_watch_silence(b->ms);

	c->state = CALL_ANSWERED;
	++c->ua->st.answered;
	gw_log(GW_LOG_INFO, "sip", "call_answer",
	       GW_FIELDS(GW_FS("call_id", c->call_id)), "Call answered");
	st_answered(&a->st, &c->st_neg, false);
	st_response(&b->st, sip, false);
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
				 GW_FS("trunk", c->leg[1]->trunk->name)),
		       "Trunk %s refused our credentials, or we have none",
		       c->leg[1]->trunk->name);
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
	struct leg *b = c->leg[1];
	const struct gw_trunk *t = b->trunk;
	int err;

	if (b->auth_tries >= AUTH_TRIES_MAX)
		return EACCES;

	err = sipua_trunk_challenge(t, b->home, &b->auc, status, sip);
	if (err)
		return err;

	++b->auth_tries;
	gw_log(GW_LOG_INFO, "sip", "bridge_auth",
	       GW_FIELDS(GW_FS("call_id", c->call_id), GW_FI("status", status),
			 GW_FS("trunk", t->name), GW_FS("user", t->username)),
	       "Trunk %s asked for credentials (%d), sending them", t->name,
	       status);

	return send_invite(c);
}


static int callee_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq,
			   sip_t const *sip)
{
	struct call *c = (struct call *)magic;
	struct leg *b = c->leg[1];
	int status = nta_outgoing_status(orq);
	char *answer = NULL;

	b->status = status;

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
	    orq == b->invite && !answer_challenge(c, status, sip))
		return 0;
	if (status == 422 && c->state == CALL_PROCEEDING &&
	    orq == b->invite && b->st.cf->enabled &&
	    st_retry_422(&b->st, sip) && !send_invite(c))
		return 0;

	gw_timer_stop(c->guard);
	if (c->state == CALL_PROCEEDING) {
		int to_caller = caller_status(c, status);

		gw_log(GW_LOG_INFO, "sip", "bridge_refused",
		       GW_FIELDS(GW_FS("call_id", c->call_id),
				 GW_FI("status", status),
				 GW_FS("target", b->target)),
		       "Callee refused with %d", status);
		if (to_caller)
			reply_caller(c, to_caller, NULL);
		++c->ua->st.rejected;
	}

	call_end(c, c->state == CALL_ENDING ? c->end_reason :
		 "callee_refused");

	return 0;
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
	struct leg *b = c->leg[1];
	const struct gw_session_timer_conf *cf = b->st.cf;
	msg_header_t *auth = NULL;
	nta_outgoing_t *orq;
	char se[16], min_se[16];

	if (b->auc) {
		url_t *url = url_hdup(b->home,
				      URL_STRING_MAKE(b->target)->us_url);

		if (!url ||
		    auc_authorization_headers(&b->auc, b->home, "INVITE", url,
					      NULL, &auth) < 0 || !auth)
			return EPROTO;
	}

	/* RFC 4028 §7.1: we support timers and ask for our default
	 * interval, never below our Min-SE (raised by a 422, §7.3) */
	snprintf(se, sizeof(se), "%u", cf->default_expires > b->st.min_se ?
		 cf->default_expires : b->st.min_se);
	snprintf(min_se, sizeof(min_se), "%u", b->st.min_se);

	orq = nta_outgoing_tcreate(
		b->nl, callee_response, (nta_outgoing_magic_t *)c,
		(url_string_t const *)b->route,
		SIP_METHOD_INVITE, (url_string_t const *)b->target,
		SIPTAG_CONTACT(sipua_contact(c->ua, b->tp)),
		SIPTAG_USER_AGENT_STR(c->conf->sip.user_agent),
		SIPTAG_ALLOW_STR(SIPUA_ALLOW),
		TAG_IF(cf->enabled, SIPTAG_SUPPORTED_STR("timer")),
		TAG_IF(cf->enabled, SIPTAG_SESSION_EXPIRES_STR(se)),
		TAG_IF(cf->enabled, SIPTAG_MIN_SE_STR(min_se)),
		TAG_IF(auth, SIPTAG_HEADER((sip_header_t const *)auth)),
		SIPTAG_CONTENT_TYPE_STR("application/sdp"),
		SIPTAG_PAYLOAD_STR(b->sdp),
		TAG_END());
	if (!orq)
		return ENOMEM;

	/* the challenged INVITE is done; it goes when the call goes */
	if (b->invite) {
		if (b->invite_old)
			nta_outgoing_destroy(b->invite_old);
		b->invite_old = b->invite;
	}
	b->invite = orq;

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


/* Read the caller's offer now; its answer waits for the callee. None
 * (delayed offer): the callee gets all our codecs. 0 or a status. */
static int caller_offer(struct call *c, sip_t const *sip)
{
	char *answer = NULL;
	int err;

	if (sip->sip_payload && sip->sip_payload->pl_len &&
	    !sipua_has_sdp(sip))
		return 415;
	if (!sipua_has_sdp(sip))
		return 0;

	err = media_stream_answer(c->leg[0]->ms, sip->sip_payload->pl_data,
				  sip->sip_payload->pl_len, &answer);
	mem_deref(answer);
	if (err)
		return 488;

	c->offer = mem_alloc(sip->sip_payload->pl_len + 1, NULL);
	if (!c->offer)
		return 500;
	memcpy(c->offer, sip->sip_payload->pl_data, sip->sip_payload->pl_len);
	c->offer[sip->sip_payload->pl_len] = '\0';
	c->offer_len = sip->sip_payload->pl_len;

	return 0;
}


/* Leg B: its trunk's next hop, a dialog of our own with a fresh Call-ID
 * (the caller's user goes on in From, RFC 3261 §8.1.1.3), media on the
 * address that reaches the trunk, and our offer. 0 or a status. */
static int callee_leg(struct call *c, const struct gw_trunk *trunk,
		      sip_t const *sip)
{
	char call_id[64], *from = NULL;
	struct sa local;
	struct leg *b;
	int err;

	b = c->leg[1] = leg_alloc(c, true, NULL, &trunk->session_timer);
	if (!b)
		return 500;
	c->n_legs = 2;
	b->home = su_home_new(sizeof(*b->home));
	if (!b->home)
		return 500;

	/* the trunk is this leg's next hop for every request: over its
	 * transport even when the callee's Contact names none */
	if (!trunk->outbound_uri) {
		gw_log(GW_LOG_ERROR, "sip", "bridge_no_route",
		       GW_FIELDS(GW_FS("call_id", c->call_id),
				 GW_FS("trunk", trunk->name)),
		       "Trunk %s has no outbound_uri with an IP address "
		       "(DNS is not used)", trunk->name);
		return 503;
	}

	b->peer = trunk->out.hop;
	str_dup(&b->route, trunk->out.route);
	if (!b->route)
		return 500;

	/* the outbound trunk's max_calls and max_cps count this leg */
	if (!sipua_limits_take(c->ua, trunk, c->call_id))
		return 503;
	b->trunk = trunk;
	str_dup(&b->target, c->route->target);
	b->tp = trunk->transport;

	err = sipua_local_addr(&b->peer, &local);
	if (!err) {
		err = media_stream_alloc(&b->ms, c->ua->mm, &local,
					 call_media_ended, c);
		if (err)
			sipua_media_refused(c->ua, c->call_id, err);
	}
	media_stream_set_label(b->ms, c->call_id);
	if (!err)
		err = media_stream_offer(b->ms, c->offer ? c->leg[0]->ms : NULL,
					 &b->sdp);
	if (err)
		return 503;

	call_id_new(call_id, sizeof(call_id));
	str_dup(&b->call_id, call_id);
	/* any length: a fixed buffer cut long users into a bad From */
	if (re_sdprintf(&from, "<sip:%s@%j>",
			sip->sip_from && sip->sip_from->a_url->url_user ?
			sip->sip_from->a_url->url_user : "keepline", &local))
		return 500;

	b->nl = nta_leg_tcreate(c->ua->agent, leg_request,
				(nta_leg_magic_t *)b,
				SIPTAG_CALL_ID_STR(call_id),
				SIPTAG_FROM_STR(from),
				SIPTAG_TO_STR(b->target),
				TAG_END());
	mem_deref(from);
	if (!b->nl)
		return 500;
	nta_leg_tag(b->nl, NULL);

	return send_invite(c) ? 500 : 0;
}


int bridge_start(struct call *c, nta_incoming_t *irq, sip_t const *sip)
{
	const struct gw_trunk *trunk = pick_trunk(c);
	int status, err;

	if (!trunk) {
		gw_log(GW_LOG_ERROR, "sip", "bridge_no_route",
		       GW_FIELDS(GW_FS("call_id", c->call_id),
				 GW_FS("trunk", c->route->trunk)),
		       "Trunk %s has no outbound_uri with an IP address "
		       "(DNS is not used)", c->route->trunk);
		return 503;
	}

	status = caller_offer(c, sip);
	if (!status)
		status = callee_leg(c, trunk, sip);
	if (status)
		return status;

	/* the caller may CANCEL from now on */
	leg_keep_invite(c->leg[0], irq);
	c->state = CALL_PROCEEDING;
	nta_incoming_treply(irq, SIP_100_TRYING, TAG_END());

	err = gw_timer_alloc(&c->guard, c->ua->r);
	if (!err)
		gw_timer_start(c->guard, RING_LIMIT_MS, guard_expired, c);

	gw_log(GW_LOG_INFO, "sip", "bridge_dial",
	       GW_FIELDS(GW_FS("call_id", c->call_id),
			 GW_FS("out_call_id", c->leg[1]->call_id),
			 GW_FS("target", c->leg[1]->target),
			 GW_FS("trunk", trunk->name)),
	       "Calling %s via trunk %s", c->leg[1]->target, trunk->name);

	return 0;
}


void bridge_cancel(struct call *c)
{
	struct leg *b = c->leg[1];

	if (c->state != CALL_PROCEEDING || c->n_legs < 2)
		return;

	/* RFC 3261 §9.2: the cancelled INVITE is answered 487 */
	if (nta_incoming_status(c->leg[0]->irq) < 200)
		reply_caller(c, 487, NULL);

	c->state = CALL_ENDING;
	if (!c->end_reason)
		c->end_reason = "cancelled";

	/* RFC 3261 §9.1: CANCEL leg B; its 487 (or a late 200, answered
	 * with ACK and BYE) ends the call */
	if (b->invite && b->status < 200)
		nta_outgoing_cancel(b->invite);

	gw_timer_start(c->guard, CANCEL_LIMIT_MS, guard_expired, c);
}
