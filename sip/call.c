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

#include "gateway/conf.h"
#include "gateway/log.h"
#include "gateway/reactor.h"
#include "media/media.h"
#include "sip/call.h"
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
	for (int i = 0; i < 2; i++)
		if (c->leg[i])
			sipua_limits_release(c->ua, c->leg[i]->trunk);
	sipua_stop_check(c->ua);
	relay_close(c);
	mem_deref(c->reap);
	mem_deref(c->guard);
	for (int i = 1; i >= 0; i--) {
		leg_close(c->leg[i]);
		mem_deref(c->leg[i]);
	}
	mem_deref(c->offer);
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

	relay_close(c);
	for (unsigned i = 0; i < c->n_legs; i++)
		st_stop(&c->leg[i]->st);

	media_stream_stats(c->leg[0]->ms, &ms);
	gw_log(GW_LOG_INFO, "sip", "call_end",
	       GW_FIELDS(GW_FS("call_id", c->call_id), GW_FS("reason", reason),
			 GW_FU("duration_ms", gw_now_ms() - c->created),
			 GW_FU("rx_packets", ms.rx_pkts),
			 GW_FU("tx_packets", ms.tx_pkts)),
	       "Call ended (%s)", reason);

	for (unsigned i = 0; i < c->n_legs; i++)
		c->leg[i]->ms = mem_deref(c->leg[i]->ms);
	--c->ua->st.active;
	++c->ua->st.ended;

	gw_timer_start(c->reap, 0, call_reap, c);
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
		leg_bye(c->leg[0], reason_hdr);
	if (callee && c->n_legs > 1 && c->leg[1]->confirmed)
		leg_bye(c->leg[1], reason_hdr);

	if (c->byes == 0)
		call_end(c, c->end_reason);  /* none could be sent */
}


void call_bye_received(struct leg *l)
{
	struct call *c = l->c;

	if (c->state == CALL_ENDING) {
		/* our own BYEs are out: they end it, or this was the last */
		if (!c->byes)
			call_end(c, c->end_reason);
		return;
	}
	/* a BYE from either side ends both */
	if (c->state == CALL_PROCEEDING && !l->callee)
		bridge_cancel(c);
	else
		call_hangup(c, l->callee ? "bye_from_callee" : "bye_received",
			    NULL, l->callee, !l->callee);
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
	 * call_acked() ends the call when it comes or times out */
	if (c->state == CALL_ANSWERED && c->leg[0]->irq) {
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
	const char *side = ms == c->leg[0]->ms ? "caller" : "callee";

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


void call_acked(struct leg *l, sip_t const *sip)
{
	struct call *c = l->c;
	bool initial = !l->callee && c->state == CALL_ANSWERED;

	if (!sip) {
		/* RFC 3261 §13.3.1.4: no ACK for our 2xx (Timer H) -> end
		 * with BYE; the call and its ports go now, not when the BYE
		 * is answered (its Timer F would hold them 32 s more) */
		call_hangup(c, "ack_timeout", "SIP;cause=408;text=\"No ACK\"",
			    true, true);
		call_end(c, "ack_timeout");
		return;
	}

	if (initial)
		c->state = CALL_CONFIRMED;
	/* RFC 3261 §13.2.1: without an answer a new call has no session;
	 * a re-INVITE's goes on as it was */
	if (l->offer_in_2xx) {
		l->offer_in_2xx = false;
		if (!call_ack_answer(c->call_id, l->ms, sip, initial) &&
		    initial) {
			call_hangup(c, "sdp_refused", "SIP;cause=488;"
				    "text=\"Not Acceptable Here\"", true, true);
			return;
		}
	}
	if (c->bye_on_ack && !l->callee) {   /* call_icmp_cleanup() waited */
		call_hangup(c, "icmp", icmp_reason, true, true);
		call_end(c, "icmp");
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


/* Admission, before anything is taken: a trunk's source, no extension
 * we lack, a route, the session interval (RFC 4028 §6: 422), the trunk's
 * limits. The trunk, or NULL when irq was answered. */
static const struct gw_trunk *admit(struct sipua *ua, nta_incoming_t *irq,
				    sip_t const *sip, const struct sa *src,
				    const struct gw_route **routep,
				    struct st_result *neg)
{
	const struct gw_trunk *trunk;
	char *user;

	if (ua->stopping) {
		++ua->st.rejected;
		sipua_reply(ua, irq, 503, "Gateway shutting down");
		return NULL;
	}

	/* inbound only from a trunk's addresses */
	trunk = sipua_trunk_by_source(ua->conf, src);
	if (!trunk) {
		reject(ua, irq, sip, 403, "source is in no trunk's addresses",
		       src);
		return NULL;
	}

	if (sipua_unsupported(ua, irq, sip)) {
		++ua->st.rejected;
		return NULL;
	}

	user = url_user_dup(sip);
	*routep = sipua_route_find(ua->conf, user);
	mem_deref(user);
	if (!*routep) {
		reject(ua, irq, sip, 404, "no route matches", src);
		return NULL;
	}
	if ((*routep)->action == GW_ROUTE_REJECT) {
		reject(ua, irq, sip, (*routep)->code, "reject route", src);
		return NULL;
	}

	if (st_check(ua, &trunk->session_timer, NULL, irq, sip, neg)) {
		++ua->st.rejected;
		return NULL;
	}

	/* trunks[].max_calls, max_cps */
	if (!sipua_limits_take(ua, trunk, sip->sip_call_id->i_id)) {
		++ua->st.rejected;
		sipua_reply(ua, irq, SIP_503_SERVICE_UNAVAILABLE);
		return NULL;
	}

	return trunk;
}


/* The caller's leg: the dialog from the UAS side (RFC 3261 §12.1.1),
 * and its media on media.bind, else on the address that reaches it */
static int caller_leg(struct call *c, nta_incoming_t *irq, sip_t const *sip,
		      const struct sa *src)
{
	struct sipua *ua = c->ua;
	struct leg *l = c->leg[0];
	struct sa local;
	int err;

	l->peer = *src;
	l->tp = sipua_via_transport(sip);
	/* symmetric signalling: requests to the caller go where its INVITE
	 * came from, whatever host its Contact or Record-Route names */
	if (re_sdprintf(&l->route, "sip:%J;transport=%s", src,
			gw_transport_name(l->tp)))
		return EPROTO;
	str_dup(&l->call_id, sip->sip_call_id->i_id);
	st_peer_read(&l->st, sip);

	if (sa_isset(&ua->conf->media.bind, SA_ADDR))
		local = ua->conf->media.bind;
	else if (sipua_local_addr(src, &local))
		return EADDRNOTAVAIL;

	err = media_stream_alloc(&l->ms, ua->mm, &local, call_media_ended, c);
	media_stream_set_label(l->ms, c->call_id);
	if (err)
		return err;
	media_stream_echo(l->ms, c->route->action == GW_ROUTE_ECHO);

	l->nl = nta_leg_tcreate(ua->agent, leg_request, (nta_leg_magic_t *)l,
				SIPTAG_CALL_ID(sip->sip_call_id),
				SIPTAG_FROM(sip->sip_to),
				SIPTAG_TO(sip->sip_from),
				TAG_END());
	if (!l->nl)
		return EPROTO;
	nta_leg_tag(l->nl, NULL);
	nta_incoming_tag(irq, nta_leg_get_tag(l->nl));
	nta_leg_server_route(l->nl, sip->sip_record_route, sip->sip_contact);

	return 0;
}


static struct call *call_new(struct sipua *ua, sip_t const *sip,
			     const struct gw_route *route,
			     const struct gw_trunk *trunk)
{
	struct call *c = mem_zalloc(sizeof(*c), call_destructor);

	if (!c) {
		sipua_limits_release(ua, trunk);
		return NULL;
	}

	c->ua = ua;
	c->conf = mem_ref((void *)ua->conf);
	c->route = route;
	c->n_legs = 1;
	c->created = gw_now_ms();
	str_dup(&c->call_id, sip->sip_call_id->i_id);
	c->to_user = url_user_dup(sip);
	if (sip->sip_from)
		re_sdprintf(&c->from, "%s@%s",
			    sip->sip_from->a_url->url_user ?
			    sip->sip_from->a_url->url_user : "",
			    sip->sip_from->a_url->url_host ?
			    sip->sip_from->a_url->url_host : "");

	/* from here the trunk's count goes with the caller's leg */
	c->leg[0] = leg_alloc(c, false, trunk, &trunk->session_timer);
	if (!c->leg[0])
		sipua_limits_release(ua, trunk);
	if (!c->leg[0] || gw_timer_alloc(&c->reap, ua->r))
		return mem_deref(c);

	return c;
}


int call_incoming(struct sipua *ua, nta_incoming_t *irq, sip_t const *sip)
{
	const struct gw_route *route = NULL;
	const struct gw_trunk *trunk;
	struct st_result neg;
	struct sa src;
	struct call *c;
	int err;

	if (sipua_msg_source(nta_incoming_getrequest(irq), &src))
		return 500;

	trunk = admit(ua, irq, sip, &src, &route, &neg);
	if (!trunk)
		return 0;

	c = call_new(ua, sip, route, trunk);
	if (!c)
		return 500;
	c->st_neg = neg;

	err = caller_leg(c, irq, sip, &src);
	if (err == EPROTO) {
		mem_deref(c);
		return 500;
	}
	if (err) {
		sipua_media_refused(ua, c->call_id, err);
		mem_deref(c);
		++ua->st.rejected;
		sipua_reply(ua, irq, SIP_503_SERVICE_UNAVAILABLE);
		return 0;
	}

	gw_log(GW_LOG_INFO, "sip", "call_start",
	       GW_FIELDS(GW_FS("call_id", c->call_id), GW_FS("from", c->from),
			 GW_FS("to", c->to_user), GW_FS("trunk", trunk->name),
			 GW_FS("route", route_names[route->action])),
	       "Incoming call from %s to %s on trunk %s, route %s",
	       c->from ? c->from : "?", c->to_user, trunk->name,
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

	if (sip->sip_payload && sip->sip_payload->pl_len &&
	    !sipua_has_sdp(sip)) {
		sipua_reply(ua, irq, SIP_415_UNSUPPORTED_MEDIA);
		err = EPROTO;
	}
	else {
		err = leg_answer_here(c->leg[0], irq, sip, &neg);
	}
	if (err) {
		++ua->st.rejected;
		call_end(c, "sdp_refused");
		return 0;
	}

	c->state = CALL_ANSWERED;
	++ua->st.answered;
	gw_log(GW_LOG_INFO, "sip", "call_answer",
	       GW_FIELDS(GW_FS("call_id", c->call_id)), "Call answered");
	st_answered(&c->leg[0]->st, &neg, false);

	return 0;
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
