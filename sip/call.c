/**
 * @file call.c  Calls from trunks: admission, routing, answer, teardown
 *
 *   trunk                  keepline
 *     |------ INVITE ------->|  source in a trunk's addresses? else 403
 *     |                      |  route on the request-URI user? else 404
 *     |<----- 200 (SDP) -----|  echo: our RTP ports in the answer
 *     |------- ACK --------->|
 *     |====== RTP ==========>|  echoed back to where it came from
 *     |------- BYE --------->|  (or our BYE after media.rtp_timeout)
 *     |<------ 200 ----------|
 *
 * A call is freed from a zero-delay timer, never inside an NTA callback
 * of its own leg or transaction: NTA may still use them on return.
 */

#include <errno.h>
#include <string.h>

#include <sofia-sip/msg_addr.h>

#include "gateway/conf.h"
#include "gateway/log.h"
#include "gateway/reactor.h"
#include "media/media.h"
#include "sip/route.h"
#include "sip/sip_int.h"

static const char *const route_names[] = {"echo", "bridge", "reject"};


const char *call_route_name(enum gw_route_action a)
{
	return (size_t)a < sizeof(route_names) / sizeof(route_names[0]) ?
		route_names[a] : "?";
}


const char *call_state_name(enum call_state st)
{
	switch (st) {
	case CALL_PROCEEDING: return "proceeding";
	case CALL_ANSWERED:  return "answered";
	case CALL_CONFIRMED: return "confirmed";
	case CALL_ENDING:    return "ending";
	default:             return "?";
	}
}


static void call_destructor(void *data)
{
	struct call *c = data;

	list_unlink(&c->le);
	sipua_limits_release(c->ua, c->trunk);
	sipua_limits_release(c->ua, c->out_trunk);
	sipua_stop_check(c->ua);
	mem_deref(c->reap);
	mem_deref(c->guard);
	bridge_destroy(c);
	mem_deref(c->offer);
	mem_deref(c->sdp);
	st_leg_close(&c->st);
	if (c->irq)
		nta_incoming_destroy(c->irq);
	if (c->bye)
		nta_outgoing_destroy(c->bye);
	if (c->leg)
		nta_leg_destroy(c->leg);
	mem_deref(c->ms);
	mem_deref(c->call_id);
	mem_deref(c->from);
	mem_deref(c->to_user);
	mem_deref((void *)c->conf);
}


static void call_reap(void *arg)
{
	mem_deref(arg);
}


/* Log the end, release the media now, free the rest on the next turn. */
void call_end(struct call *c, const char *reason)
{
	struct media_stats ms = {0};

	if (c->ended)
		return;
	c->ended = true;

	st_stop(&c->st);
	if (c->out)
		st_stop(&c->out->st);

	media_stream_stats(c->ms, &ms);
	gw_log(GW_LOG_INFO, "sip", "call_end",
	       GW_FIELDS(GW_FS("call_id", c->call_id), GW_FS("reason", reason),
			 GW_FU("duration_ms", gw_now_ms() - c->created),
			 GW_FU("rx_packets", ms.rx_pkts),
			 GW_FU("tx_packets", ms.tx_pkts)),
	       "Call ended (%s)", reason);

	c->ms = mem_deref(c->ms);
	if (c->out)
		c->out->ms = mem_deref(c->out->ms);
	--c->ua->st.active;
	++c->ua->st.ended;

	gw_timer_start(c->reap, 0, call_reap, c);
}


static int bye_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq,
			sip_t const *sip)
{
	struct call *c = (struct call *)magic;
	(void)sip;

	if (nta_outgoing_status(orq) < 200)
		return 0;

	/* any final answer, or NTA's own 408 after Timer F, counts */
	if (c->byes && --c->byes == 0)
		call_end(c, c->end_reason ? c->end_reason : "bye_sent");

	return 0;
}


const char *call_next_hop(const struct call *c, bool callee)
{
	return callee ? c->out->route : c->hop;
}


/* Where a message came from: NTA keeps the source address with it */
static int msg_source(msg_t *msg, struct sa *src)
{
	su_sockaddr_t su;
	socklen_t sulen = sizeof(su);
	int err;

	if (!msg)
		return EINVAL;
	err = msg_get_address(msg, &su, &sulen);
	msg_destroy(msg);

	return err < 0 || sa_set_sa(src, &su.su_sa) ? EINVAL : 0;
}


/* The leg's trunk, or the address the dialog was set up with */
static bool may_speak(const struct call *c, bool callee, const struct sa *src)
{
	const struct gw_trunk *t = callee ? c->out_trunk : c->trunk;
	const struct sa *peer = callee ? &c->out->next_hop : &c->peer;

	return sa_cmp(src, peer, SA_ADDR) || sipua_trunk_contains(t, src);
}


static void foreign_request(const struct call *c, bool callee,
			    const char *method, const struct sa *src)
{
	char from[64];

	if (src)
		re_snprintf(from, sizeof(from), "%J", src);
	else
		snprintf(from, sizeof(from), "?");
	gw_log(GW_LOG_WARN, "sip", "dialog_request_refused",
	       GW_FIELDS(GW_FS("call_id", c->call_id), GW_FS("method", method),
			 GW_FS("source", from),
			 GW_FS("leg", callee ? "callee" : "caller")),
	       "%s from %s refused: not the %s's trunk nor the dialog's peer",
	       method, from, callee ? "callee" : "caller");
}


int call_dialog_check(struct call *c, bool callee, nta_incoming_t *irq,
		      sip_t const *sip)
{
	struct sa src;
	bool known;

	if (!sip->sip_to || !sip->sip_to->a_tag)
		return 481;
	/* a CANCEL of ours reaches the INVITE's transaction, not the leg */
	if (sip->sip_request->rq_method == sip_method_cancel)
		return 481;

	known = !msg_source(nta_incoming_getrequest(irq), &src);
	if (known && may_speak(c, callee, &src))
		return 0;

	foreign_request(c, callee, sip->sip_request->rq_method_name,
			known ? &src : NULL);

	return 403;
}


static void send_bye(struct call *c, nta_leg_t *leg, nta_outgoing_t **orqp,
		     const char *reason_hdr)
{
	const char *route = call_next_hop(c, c->out && leg == c->out->leg);

	if (!leg || *orqp)
		return;

	*orqp = nta_outgoing_tcreate(leg, bye_response,
				     (nta_outgoing_magic_t *)c,
				     (url_string_t const *)route,
				     SIP_METHOD_BYE, NULL,
				     TAG_IF(reason_hdr,
					    SIPTAG_REASON_STR(reason_hdr)),
				     SIPTAG_USER_AGENT_STR(
					     c->conf->sip.user_agent),
				     TAG_END());
	if (*orqp)
		++c->byes;
}


void call_hangup(struct call *c, const char *reason, const char *reason_hdr,
		 bool caller, bool callee)
{
	if (c->ended)
		return;

	if (!c->end_reason)
		c->end_reason = reason;
	c->state = CALL_ENDING;

	if (caller)
		send_bye(c, c->leg, &c->bye, reason_hdr);
	if (callee && c->out && c->out->confirmed)
		send_bye(c, c->out->leg, &c->out->bye, reason_hdr);

	if (c->byes == 0)
		call_end(c, c->end_reason);  /* none could be sent */
}


static const char icmp_reason[] =
	"SIP;cause=480;text=\"Media peer unreachable (ICMP)\"";


/* media/icmp.c found the peer of one leg gone: BYE on every leg, and the
 * call leaves `keepline calls` now rather than when the BYEs time out
 * (the dead side will not answer its BYE; NTA finishes it alone). */
static void call_icmp_cleanup(struct call *c, const char *side)
{
	gw_log(GW_LOG_WARN, "sip", "icmp_closed",
	       GW_FIELDS(GW_FS("call_id", c->call_id), GW_FS("side", side)),
	       "Closed peer connection for %s due to ICMP errors",
	       c->call_id);

	if (c->state == CALL_PROCEEDING) {
		c->end_reason = "icmp";
		bridge_cancel(c);   /* 487 to the caller, CANCEL to the callee */
		return;
	}

	/* RFC 3261 §15: no BYE to the caller before the ACK for our 2xx;
	 * call_ack_cancel() ends the call when it comes or times out */
	if (c->state == CALL_ANSWERED && c->irq) {
		c->bye_on_ack = true;
		c->end_reason = "icmp";
		return;
	}

	call_hangup(c, "icmp", icmp_reason, true, true);
	call_end(c, "icmp");
}


/* The silence backstop of either leg: the caller's (c->ms) or, in a
 * bridge, the callee's */
void call_media_ended(struct media_stream *ms, enum media_end_reason r,
		      void *arg)
{
	struct call *c = arg;
	const char *side = ms == c->ms ? "caller" : "callee";

	if (r == MEDIA_END_ICMP) {
		call_icmp_cleanup(c, side);
		return;
	}

	/* nobody sends while the callee rings: the backstop starts over
	 * at the answer (bridge.c) */
	if (c->state == CALL_PROCEEDING) {
		media_stream_watch_silence(ms);
		return;
	}

	gw_log(GW_LOG_WARN, "sip", "rtp_timeout",
	       GW_FIELDS(GW_FS("call_id", c->call_id), GW_FS("side", side),
			 GW_FU("timeout_ms", c->conf->media.rtp_timeout)),
	       "No RTP from the %s for %llu ms, ending the call", side,
	       (unsigned long long)c->conf->media.rtp_timeout);

	call_hangup(c, media_end_reason_name(r),
		    "SIP;cause=408;text=\"RTP timeout\"", true, true);
}


bool call_ack_answer(const char *call_id, struct media_stream *ms,
		     sip_t const *sip, bool initial)
{
	const char *why = NULL;

	if (!sip->sip_payload || !sip->sip_payload->pl_len)
		why = "no answer in the ACK";
	else if (media_stream_accept(ms, sip->sip_payload->pl_data,
				     sip->sip_payload->pl_len))
		why = "an answer with no usable audio";
	if (!why)
		return true;

	gw_log(GW_LOG_WARN, "sip", "ack_sdp_refused",
	       GW_FIELDS(GW_FS("call_id", call_id), GW_FS("why", why),
			 GW_FB("ending", initial)),
	       "Our offer got %s%s", why,
	       initial ? ", ending the call" : ", media unchanged");

	return false;
}


/* ACK for our 2xx, or CANCEL, or (sip NULL) no ACK in time */
int call_ack_cancel(nta_incoming_magic_t *magic, nta_incoming_t *irq,
		    sip_t const *sip)
{
	struct call *c = (struct call *)magic;

	if (irq != c->irq)
		return 0;

	if (sip && sip->sip_request &&
	    sip->sip_request->rq_method == sip_method_ack) {
		bool initial = c->state == CALL_ANSWERED;

		if (initial)
			c->state = CALL_CONFIRMED;
		nta_incoming_destroy(c->irq);
		c->irq = NULL;
		/* RFC 3261 §13.2.1: without an answer a new call has no
		 * session; a re-INVITE's goes on as it was */
		if (c->offer_in_2xx) {
			c->offer_in_2xx = false;
			if (!call_ack_answer(c->call_id, c->ms, sip, initial) &&
			    initial) {
				call_hangup(c, "sdp_refused", "SIP;cause=488;"
					    "text=\"Not Acceptable Here\"",
					    true, true);
				return 0;
			}
		}
		if (c->bye_on_ack) {   /* call_icmp_cleanup() waited for it */
			call_hangup(c, "icmp", icmp_reason, true, true);
			call_end(c, "icmp");
		}
		return 0;
	}

	if (sip && sip->sip_request &&
	    sip->sip_request->rq_method == sip_method_cancel) {
		struct sa src;
		bool known = !msg_source(
			nta_incoming_getrequest_ackcancel(irq), &src);

		/* a CANCEL copying the INVITE's Via matches its transaction
		 * from anywhere: only the caller's trunk may cancel */
		if (!known || !may_speak(c, false, &src)) {
			foreign_request(c, false, "CANCEL",
					known ? &src : NULL);
			return 0;
		}
		/* RFC 3261 §9.2: only an INVITE not yet answered is cancelled;
		 * NTA has answered the CANCEL itself, the 487 is ours */
		if (c->state == CALL_PROCEEDING)
			bridge_cancel(c);
		return 0;
	}

	/* RFC 3261 §13.3.1.4: no ACK for our 2xx (Timer H) -> end with
	 * BYE; the call and its ports go now, not when the BYE is answered
	 * (its Timer F would hold them 32 s more) */
	nta_incoming_destroy(c->irq);
	c->irq = NULL;
	call_hangup(c, "ack_timeout", "SIP;cause=408;text=\"No ACK\"", true,
		    true);
	call_end(c, "ack_timeout");

	return 0;
}


/* An INVITE without a body asks us to offer (RFC 3261 §13.2.1, §14.1):
 * a re-INVITE gets the SDP we last sent, unchanged (RFC 3264 §8: same
 * version, nothing new), a new call all our codecs. The answer comes in
 * the ACK (call_ack_cancel()). */
static int offer_in_2xx(struct call *c, char **offerp)
{
	if (c->sdp) {
		*offerp = mem_ref(c->sdp);
		return 0;
	}

	return media_stream_offer(c->ms, NULL, offerp);
}


/* Answer an offer (INVITE or re-INVITE) on c with our SDP, or make one
 * when the INVITE has none; with the session timer res (RFC 4028 §9) */
static int call_answer(struct call *c, nta_incoming_t *irq, sip_t const *sip,
		       const struct st_result *res)
{
	char *answer = NULL, se[32];
	bool offer = !sip->sip_payload || !sip->sip_payload->pl_len;
	int err;

	if (!offer && !sipua_has_sdp(sip)) {
		sipua_reply(c->ua, irq, SIP_415_UNSUPPORTED_MEDIA);
		return EPROTO;
	}

	err = offer ? offer_in_2xx(c, &answer) :
		media_stream_answer(c->ms, sip->sip_payload->pl_data,
				    sip->sip_payload->pl_len, &answer);
	if (err) {
		/* RFC 3261 §20.43 warn-codes: 399 misc, 300 incompatible
		 * network address formats, 304 media type not available */
		const char *why = err == EPROTO ? "malformed" :
			err == EAFNOSUPPORT ? "address_family" :
			"no_common_codec";

		gw_log(GW_LOG_WARN, "sip", "sdp_refused",
		       GW_FIELDS(GW_FS("call_id", c->call_id),
				 GW_FS("why", why)),
		       "SDP offer refused: %s",
		       err == EPROTO ? "malformed" :
		       err == EAFNOSUPPORT ? "its media address is not in "
		       "this leg's address family" :
		       "no audio stream with PCMU, PCMA or telephone-event");
		nta_incoming_treply(irq, SIP_488_NOT_ACCEPTABLE,
				    SIPTAG_WARNING_STR(err == EPROTO ?
				       "399 keepline \"malformed SDP\"" :
				       err == EAFNOSUPPORT ?
				       "300 keepline \"media address family "
				       "not this leg's\"" :
				       "304 keepline \"no common codec\""),
				    TAG_END());
		sipua_done(irq);
		return err;
	}

	nta_incoming_bind(irq, call_ack_cancel, (nta_incoming_magic_t *)c);
	c->irq = irq;

	nta_incoming_treply(irq, SIP_200_OK,
			    SIPTAG_CONTACT(sipua_contact(c->ua, c->tp)),
			    SIPTAG_SERVER_STR(c->conf->sip.user_agent),
			    SIPTAG_ALLOW_STR(SIPUA_ALLOW),
			    ST_2XX_TAGS(res, c->st.cf->enabled, se),
			    SIPTAG_CONTENT_TYPE_STR("application/sdp"),
			    SIPTAG_PAYLOAD_STR(answer),
			    TAG_END());

	/* kept: a refresh re-sends it unchanged (RFC 4028 §10) */
	mem_deref(c->sdp);
	c->sdp = answer;
	c->offer_in_2xx = offer;

	return 0;
}


/* Requests inside the dialog */
static int call_request(nta_leg_magic_t *magic, nta_leg_t *leg,
			nta_incoming_t *irq, sip_t const *sip)
{
	struct call *c = (struct call *)magic;
	int status;
	(void)leg;

	if (c->ended)
		return 481;
	status = call_dialog_check(c, false, irq, sip);
	if (status)
		return status;

	switch (sip->sip_request->rq_method) {

	case sip_method_bye:
		nta_incoming_treply(irq, SIP_200_OK,
				    SIPTAG_SERVER_STR(c->conf->sip.user_agent),
				    TAG_END());
		sipua_done(irq);
		if (c->state == CALL_ENDING && !c->byes) {
			call_end(c, c->end_reason);
			return 0;
		}
		if (c->state == CALL_ENDING)
			return 0;   /* our own BYEs are out: they end it */
		/* a BYE from either side ends both */
		if (c->state == CALL_PROCEEDING)
			bridge_cancel(c);
		else
			call_hangup(c, "bye_received", NULL, false, true);
		return 0;

	case sip_method_invite: {
		struct st_result res;

		/* RFC 3261 §14.2: one offer at a time */
		if (c->irq || c->state == CALL_ENDING ||
		    st_invite_pending(&c->st))
			return 491;
		if (sipua_unsupported(c->ua, irq, sip) ||
		    st_request_refused(&c->st, irq, sip, &res))
			return 0;
		/* a re-INVITE refreshes the session (RFC 4028 §10) */
		if (!call_answer(c, irq, sip, &res))
			st_answered(&c->st, &res, true);
		return 0;
	}

	case sip_method_update:
		if (c->state == CALL_ENDING)
			return 481;
		return st_update(&c->st, irq, sip);

	default:
		return sipua_dialog_default(c->ua, irq, sip);
	}
}


static int reject(struct sipua *ua, nta_incoming_t *irq, sip_t const *sip,
		  int status, const char *why, const struct sa *src)
{
	char from[64];

	re_snprintf(from, sizeof(from), "%J", src);
	gw_log(GW_LOG_INFO, "sip", "call_rejected",
	       GW_FIELDS(GW_FS("call_id", sip->sip_call_id->i_id),
			 GW_FI("status", status), GW_FS("why", why),
			 GW_FS("source", from)),
	       "Call refused with %d: %s", status, why);

	++ua->st.rejected;
	sipua_reply(ua, irq, status, sip_status_phrase(status));

	return 0;
}


static char *url_user_dup(sip_t const *sip)
{
	const char *u = sip->sip_request->rq_url->url_user;
	char *d = NULL;

	str_dup(&d, u ? u : "");

	return d;
}


int call_incoming(struct sipua *ua, nta_incoming_t *irq, sip_t const *sip)
{
	const struct gw_route *route;
	const struct gw_trunk *trunk;
	struct st_result neg;
	struct sa src, local;
	struct call *c;
	char *user;
	int err;

	if (msg_source(nta_incoming_getrequest(irq), &src))
		return 500;

	if (ua->stopping) {
		++ua->st.rejected;
		sipua_reply(ua, irq, 503, "Gateway shutting down");
		return 0;
	}

	/* inbound only from a trunk's addresses */
	trunk = sipua_trunk_by_source(ua->conf, &src);
	if (!trunk)
		return reject(ua, irq, sip, 403, "source is in no trunk's "
			      "addresses", &src);

	if (sipua_unsupported(ua, irq, sip)) {
		++ua->st.rejected;
		return 0;
	}

	user = url_user_dup(sip);
	route = sipua_route_find(ua->conf, user);
	if (!route) {
		mem_deref(user);
		return reject(ua, irq, sip, 404, "no route matches", &src);
	}

	if (route->action == GW_ROUTE_REJECT) {
		mem_deref(user);
		return reject(ua, irq, sip, route->code, "reject route", &src);
	}

	/* RFC 4028 §6: an interval below our Min-SE gets 422 before any
	 * resource is taken */
	if (st_check(ua, &trunk->session_timer, NULL, irq, sip, &neg)) {
		mem_deref(user);
		++ua->st.rejected;
		return 0;
	}

	/* trunks[].max_calls, max_cps: refused before anything is taken */
	if (!sipua_limits_take(ua, trunk, sip->sip_call_id->i_id)) {
		mem_deref(user);
		++ua->st.rejected;
		sipua_reply(ua, irq, SIP_503_SERVICE_UNAVAILABLE);
		return 0;
	}

	c = mem_zalloc(sizeof(*c), call_destructor);
	if (!c) {
		sipua_limits_release(ua, trunk);
		mem_deref(user);
		return 500;
	}

	c->ua = ua;
	c->conf = mem_ref((void *)ua->conf);
	c->to_user = user;
	c->route = route;
	c->trunk = trunk;
	c->peer = src;
	c->tp = sipua_via_transport(sip);
	/* symmetric signalling: requests to the caller go where its INVITE
	 * came from, whatever host its Contact or Record-Route names */
	re_snprintf(c->hop, sizeof(c->hop), "sip:%J;transport=%s", &src,
		    gw_transport_name(c->tp));
	c->created = gw_now_ms();
	str_dup(&c->call_id, sip->sip_call_id->i_id);
	if (sip->sip_from)
		re_sdprintf(&c->from, "%s@%s",
			    sip->sip_from->a_url->url_user ?
			    sip->sip_from->a_url->url_user : "",
			    sip->sip_from->a_url->url_host ?
			    sip->sip_from->a_url->url_host : "");

	err = gw_timer_alloc(&c->reap, ua->r);
	if (!err)
		err = st_leg_init(&c->st, c, false, &trunk->session_timer);
	if (err)
		goto fail;
	c->st_neg = neg;
	c->st.peer_supports = sip_has_feature(sip->sip_supported, "timer") ||
		sip_has_feature(sip->sip_require, "timer");
	if (sip->sip_allow)
		c->st.allow_update = sip_is_allowed(sip->sip_allow,
						    sip_method_update,
						    "UPDATE");

	/* media on media.bind, else on the address that reaches the peer */
	if (sa_isset(&ua->conf->media.bind, SA_ADDR))
		local = ua->conf->media.bind;
	else if (sipua_local_addr(&src, &local))
		goto fail;

	err = media_stream_alloc(&c->ms, ua->mm, &local, call_media_ended, c);
	media_stream_set_label(c->ms, c->call_id);
	if (err) {
		gw_log(GW_LOG_ERROR, "sip", "media_unavailable",
		       GW_FIELDS(GW_FS("call_id", c->call_id), GW_FERR(err)),
		       "No RTP ports for a new call");
		mem_deref(c);
		++ua->st.rejected;
		sipua_reply(ua, irq, SIP_503_SERVICE_UNAVAILABLE);
		return 0;
	}
	media_stream_echo(c->ms, route->action == GW_ROUTE_ECHO);

	/* the dialog, from the UAS side (RFC 3261 §12.1.1) */
	c->leg = nta_leg_tcreate(ua->agent, call_request, (nta_leg_magic_t *)c,
				 SIPTAG_CALL_ID(sip->sip_call_id),
				 SIPTAG_FROM(sip->sip_to),
				 SIPTAG_TO(sip->sip_from),
				 TAG_END());
	if (!c->leg)
		goto fail;
	nta_leg_tag(c->leg, NULL);
	nta_incoming_tag(irq, nta_leg_get_tag(c->leg));
	nta_leg_server_route(c->leg, sip->sip_record_route, sip->sip_contact);

	gw_log(GW_LOG_INFO, "sip", "call_start",
	       GW_FIELDS(GW_FS("call_id", c->call_id), GW_FS("from", c->from),
			 GW_FS("to", user), GW_FS("trunk", trunk->name),
			 GW_FS("route", route_names[route->action])),
	       "Incoming call from %s to %s on trunk %s, route %s",
	       c->from ? c->from : "?", user, trunk->name,
	       route_names[route->action]);

	list_append(&ua->calls, &c->le, c);
	++ua->st.active;

	if (route->action == GW_ROUTE_BRIDGE) {
		int status = bridge_start(c, irq, sip);

		if (status) {
			++ua->st.rejected;
			sipua_reply(ua, irq, status, sip_status_phrase(status));
			call_end(c, "bridge_failed");
		}
		return 0;
	}

	if (call_answer(c, irq, sip, &neg)) {
		++ua->st.rejected;
		call_end(c, "sdp_refused");
		return 0;
	}

	c->state = CALL_ANSWERED;
	++ua->st.answered;
	gw_log(GW_LOG_INFO, "sip", "call_answer",
	       GW_FIELDS(GW_FS("call_id", c->call_id)), "Call answered");
	st_answered(&c->st, &neg, false);

	return 0;

 fail:
	mem_deref(c);
	return 500;
}


void call_shutdown(struct call *c)
{
	static const char reason[] =
		"SIP;cause=503;text=\"Gateway shutting down\"";

	if (c->state == CALL_PROCEEDING) {
		c->end_reason = "shutdown";
		bridge_cancel(c);   /* 487 to the caller, CANCEL to the callee */
		return;
	}

	call_hangup(c, "shutdown", reason, true, true);
}


void call_destroy_all(struct sipua *ua)
{
	/* at shutdown: no BYE (the agent goes too), just free */
	while (ua->calls.head) {
		struct call *c = ua->calls.head->data;

		if (!c->ended) {
			c->ended = true;
			--ua->st.active;
		}
		mem_deref(c);
	}
}
