/**
 * @file timer.c  RFC 4028 session timers on each dialog leg
 *
 *   refresher (us)                 peer
 *     |--- re-INVITE (same SDP) ---->|   at SE/2 (§10), or UPDATE
 *     |<-- 200 Session-Expires ------|   re-negotiated, both re-armed
 *     |--- ACK --------------------->|
 *
 *   non-refresher (us)             peer
 *     |<-- re-INVITE / UPDATE -------|   answered per §9, expiry re-armed
 *     |                              |   nothing by SE - min(32, SE/3):
 *     |--- BYE (Reason 408) -------->|   both legs of the call end
 *
 * The rules (which interval, which refresher) are in st_rules.c; this
 * file reads and writes the headers, runs the one timer per leg and
 * sends the refreshes.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/conf.h"
#include "gateway/log.h"
#include "gateway/reactor.h"
#include "media/media.h"
#include "sip/call.h"
#include "sip/sip_int.h"

/* §7.3: a UAC retries after 422 at most this often per dialog */
#define TRIES_422_MAX 2

static const char expired_reason[] =
	"SIP;cause=408;text=\"Session timer expired\"";
static const char refresh_failed_reason[] =
	"SIP;cause=408;text=\"Session refresh failed\"";
static const char timer_failed_reason[] =
	"SIP;cause=500;text=\"Session timer failed\"";


static const char *leg_call_id(const struct st_leg *st)
{
	return st->l->call_id;
}


int st_leg_init(struct st_leg *st, struct leg *l,
		const struct gw_session_timer_conf *cf)
{
	memset(st, 0, sizeof(*st));
	st->l = l;
	st->cf = cf;
	st->min_se = cf->min_se;

	return gw_timer_alloc(&st->tmr, l->c->ua->r);
}


void st_leg_close(struct st_leg *st)
{
	st->tmr = mem_deref(st->tmr);
	if (st->orq)
		nta_outgoing_destroy(st->orq);
	st->orq = NULL;
}


void st_peer_read(struct st_leg *st, sip_t const *sip)
{
	st->peer_supports |= sip_has_feature(sip->sip_supported, "timer") ||
		sip_has_feature(sip->sip_require, "timer");
	if (sip->sip_allow)
		st->allow_update = sip_is_allowed(sip->sip_allow,
						  sip_method_update, "UPDATE");
}


const char *st_se_str(const struct st_result *res, char *buf, size_t size)
{
	snprintf(buf, size, "%u;refresher=%s", res->se,
		 st_refresher_name(res->refresher));

	return buf;
}


static void st_fire(void *arg);


/* Refreshes and expiries (45 s and more away) fall on a 100 ms grid:
 * thousands of legs then refresh in a few wake-ups a second rather than
 * one each (bench/timers). A refresh is rounded down (never later than
 * SE/2), an expiry up (never before SE - min(32, SE/3)). Short delays
 * (491's) stay exact. */
enum { GRID_MS = 100, GRID_FROM_MS = 10000 };

static void hangup(struct st_leg *st, const char *why, const char *reason);

static void arm(struct st_leg *st, bool refresh, uint64_t at)
{
	uint64_t now = gw_now_ms();
	int err;

	if (at > now + GRID_FROM_MS)
		at = refresh ? at / GRID_MS * GRID_MS :
			(at + GRID_MS - 1) / GRID_MS * GRID_MS;

	st->next_is_refresh = refresh;
	st->due = at;
	err = gw_timer_start(st->tmr, at > now ? at - now : 0, st_fire, st);
	if (!err)
		return;

	/* the intervals are bounded (max_se), so this is a bug or no
	 * memory: a leg whose timer is not armed is not kept alive on an
	 * old deadline, it is ended */
	gw_log(GW_LOG_ERROR, "sip", "st_timer_failed",
	       GW_FIELDS(GW_FS("call_id", leg_call_id(st)),
			 GW_FS("leg", leg_name(st->l)),
			 GW_FU("session_expires", st->se), GW_FERR(err)),
	       "Session timer cannot be armed (sessionExpires=%u), ending "
	       "the call", st->se);
	hangup(st, "session_timer", timer_failed_reason);
}


/* (Re)start from a negotiation that just completed, now */
static void start(struct st_leg *st, const struct st_result *res,
		  bool first)
{
	uint32_t warn = st_expiry_after(res->se);

	st->refreshed = gw_now_ms();
	st->se = res->se;
	st->we_refresh = res->we_refresh;
	st->expire = res->expire;

	if (!res->se) {
		st_stop(st);
		return;
	}

	if (first || !st->active)
		gw_log(GW_LOG_INFO, "sip", "st_start",
		       GW_FIELDS(GW_FS("call_id", leg_call_id(st)),
				 GW_FS("leg", leg_name(st->l)),
				 GW_FU("session_expires", st->se),
				 GW_FU("expiry_warning", warn),
				 GW_FB("we_are_refresher", st->we_refresh)),
		       "Started session timer sessionExpires=%u "
		       "expiryWarning=%u weAreRefresher=%s", st->se, warn,
		       st->we_refresh ? "true" : "false");
	st->active = true;

	if (st->we_refresh)
		arm(st, true, st->refreshed + st_refresh_after(st->se) * 1000ULL);
	else if (st->expire)
		arm(st, false, st->refreshed + warn * 1000ULL);
	else
		gw_timer_stop(st->tmr);   /* disabled: nobody is cut off */
}


void st_stop(struct st_leg *st)
{
	if (!st->tmr)
		return;

	gw_timer_stop(st->tmr);
	if (!st->active)
		return;
	st->active = false;
	gw_log(GW_LOG_INFO, "sip", "st_stop",
	       GW_FIELDS(GW_FS("call_id", leg_call_id(st)),
			 GW_FS("leg", leg_name(st->l))),
	       "Stopped session timer");
}


bool st_invite_pending(const struct st_leg *st)
{
	return st->pending && !(st->cf->use_update && st->allow_update &&
				!st->update_refused);
}


bool st_check(struct sipua *ua, const struct gw_session_timer_conf *cf,
	      const struct st_leg *st, nta_incoming_t *irq, sip_t const *sip,
	      struct st_result *res)
{
	bool on = st && st->active;
	struct st_hdrs h;
	char min_se[16];

	st_hdrs_read(sip, &h);
	st_negotiate_uas(cf, &h, on ? st->se : 0, on && st->we_refresh, res);
	if (res->status != 422)
		return false;

	/* §6: 422 carries our Min-SE (§5: the only response that does) */
	gw_log(GW_LOG_INFO, "sip", "st_too_small",
	       GW_FIELDS(GW_FS("call_id", sip->sip_call_id->i_id),
			 GW_FU("session_expires", h.se),
			 GW_FU("min_se", res->min_se)),
	       "Session interval too small, rejecting with 422 "
	       "sessionExpires=%u minSE=%u", h.se, res->min_se);
	snprintf(min_se, sizeof(min_se), "%u", res->min_se);
	nta_incoming_treply(irq, SIP_422_SESSION_TIMER_TOO_SMALL,
			    SIPTAG_MIN_SE_STR(min_se),
			    SIPTAG_SUPPORTED_STR("timer"),
			    SIPTAG_SERVER_STR(ua->conf->sip.user_agent),
			    TAG_END());
	sipua_done(irq);

	return true;
}


bool st_request_refused(struct st_leg *st, nta_incoming_t *irq,
			sip_t const *sip, struct st_result *res)
{
	st->peer_supports |= sip_has_feature(sip->sip_supported, "timer") ||
		sip_has_feature(sip->sip_require, "timer");
	return st_check(st->l->c->ua, st->cf, st, irq, sip, res);
}


void st_answered(struct st_leg *st, const struct st_result *res,
		 bool refresh)
{
	if (refresh)
		++st->l->c->ua->st.st_refreshes_received;
	if (!refresh && res->se)
		gw_log(GW_LOG_INFO, "sip", "st_negotiated",
		       GW_FIELDS(GW_FS("call_id", leg_call_id(st)),
				 GW_FS("leg", leg_name(st->l)),
				 GW_FU("session_expires", res->se),
				 GW_FU("min_se", res->min_se),
				 GW_FS("refresher",
				       st_refresher_name(res->refresher))),
		       "Negotiated session timer from INVITE "
		       "sessionExpires=%u minSE=%u refresher=%s", res->se,
		       res->min_se, st_refresher_name(res->refresher));
	else if (refresh && (st->active || res->se))
		gw_log(GW_LOG_INFO, "sip", "st_refresh_received",
		       GW_FIELDS(GW_FS("call_id", leg_call_id(st)),
				 GW_FS("leg", leg_name(st->l)),
				 GW_FU("session_expires", res->se),
				 GW_FS("refresher",
				       st_refresher_name(res->refresher))),
		       "Session refresh received, reset expiry timer "
		       "sessionExpires=%u refresher=%s", res->se,
		       st_refresher_name(res->refresher));

	start(st, res, !refresh);
}


/* A 2xx to a request we sent on this leg: our INVITE or our refresh */
static void from_response(struct st_leg *st, sip_t const *sip,
			  bool refresh)
{
	struct st_result res;
	struct st_hdrs h;

	st_hdrs_read(sip, &h);
	st_negotiate_uac(st->cf, &h, &res);
	st->peer_supports |= h.supported || h.required || h.se;

	/* §9 made us refresh for a peer without timers: its 2xx carry no
	 * Session-Expires, and we go on refreshing (§7.4 applies to a
	 * peer that supports timers and chose none) */
	if (refresh && !h.se && !st->peer_supports && st->we_refresh) {
		res.se = st->se;
		res.refresher = ST_REF_UAC;
		res.we_refresh = true;
		res.expire = false;
	}

	if (sip->sip_allow)
		st->allow_update = sip_is_allowed(sip->sip_allow,
						  sip_method_update, "UPDATE");

	if (refresh)
		gw_log(GW_LOG_INFO, "sip", "st_refresh_ok",
		       GW_FIELDS(GW_FS("call_id", leg_call_id(st)),
				 GW_FS("leg", leg_name(st->l)),
				 GW_FU("session_expires", res.se),
				 GW_FB("we_are_refresher", res.we_refresh)),
		       "Session refresh successful sessionExpires=%u "
		       "weAreRefresher=%s", res.se,
		       res.we_refresh ? "true" : "false");
	else if (res.se)
		gw_log(GW_LOG_INFO, "sip", "st_negotiated",
		       GW_FIELDS(GW_FS("call_id", leg_call_id(st)),
				 GW_FS("leg", leg_name(st->l)),
				 GW_FU("session_expires", res.se),
				 GW_FU("min_se", st->min_se),
				 GW_FS("refresher",
				       st_refresher_name(res.refresher))),
		       "Negotiated session timer from response "
		       "sessionExpires=%u minSE=%u refresher=%s", res.se,
		       st->min_se, st_refresher_name(res.refresher));

	start(st, &res, !refresh);
}


void st_response(struct st_leg *st, sip_t const *sip, bool refresh)
{
	from_response(st, sip, refresh);
}


static int refresh_response(nta_outgoing_magic_t *magic,
			    nta_outgoing_t *orq, sip_t const *sip);


/* A re-INVITE (with sdp) or an UPDATE on st's leg with our interval
 * (§7.4): the refresher as it is, or us when none runs */
static nta_outgoing_t *st_request(struct st_leg *st, bool update,
				  const char *sdp, nta_response_f *cb,
				  nta_outgoing_magic_t *magic)
{
	struct leg *l = st->l;
	struct call *c = l->c;
	char se[32], min_se[16];
	/* in the terms of this request, where we are the UAC */
	bool uac = !st->active || st->we_refresh;
	/* a relayed offer on a leg without timers starts none */
	bool timer = st->active || st->cf->enabled;

	snprintf(se, sizeof(se), "%u;refresher=%s",
		 st->se > st->min_se ? st->se : st->min_se, uac ? "uac" : "uas");
	snprintf(min_se, sizeof(min_se), "%u", st->min_se);

	return nta_outgoing_tcreate(
		l->nl, cb, magic, (url_string_t const *)l->route,
		update ? sip_method_update : sip_method_invite,
		update ? "UPDATE" : "INVITE", NULL,
		SIPTAG_CONTACT(sipua_contact(c->ua, l->tp)),
		SIPTAG_USER_AGENT_STR(c->conf->sip.user_agent),
		TAG_IF(timer, SIPTAG_SUPPORTED_STR("timer")),
		TAG_IF(timer, SIPTAG_SESSION_EXPIRES_STR(se)),
		TAG_IF(timer, SIPTAG_MIN_SE_STR(min_se)),
		TAG_IF(!update, SIPTAG_ALLOW_STR(SIPUA_ALLOW)),
		TAG_IF(!update && sdp,
		       SIPTAG_CONTENT_TYPE_STR("application/sdp")),
		TAG_IF(!update && sdp, SIPTAG_PAYLOAD_STR(sdp)),
		TAG_END());
}


nta_outgoing_t *st_reinvite(struct st_leg *st, const char *sdp,
			    nta_response_f *cb, nta_outgoing_magic_t *magic)
{
	return st_request(st, false, sdp, cb, magic);
}


/* §10: the refresh carries the negotiated interval, with ourselves as
 * refresher, and the SDP we last sent unchanged (same o= version) */
static void refresh_send(struct st_leg *st)
{
	struct leg *l = st->l;
	struct call *c = l->c;
	bool update = st->cf->use_update && st->allow_update &&
		!st->update_refused;
	nta_outgoing_t *orq;

	if (c->ended || c->state == CALL_ENDING)
		return;

	/* RFC 3261 §14.1: not while an INVITE of the peer's is open on
	 * this leg, nor while an offer crosses it */
	if (l->irq || leg_invite_open(l) || relay_busy(l)) {
		arm(st, true, gw_now_ms() + 500);
		return;
	}

	if (st->se < st->min_se)
		st->se = st->min_se;   /* a 422 raised the floor */
	orq = st_request(st, update, l->sdp, refresh_response,
			 (nta_outgoing_magic_t *)st);
	if (orq)
		gw_log(GW_LOG_INFO, "sip", "st_refresh_send",
		       GW_FIELDS(GW_FS("call_id", leg_call_id(st)),
				 GW_FS("leg", leg_name(l)),
				 GW_FS("method", update ? "UPDATE" : "INVITE"),
				 GW_FU("session_expires", st->se)),
		       "Sending session refresh method=%s sessionExpires=%u",
		       update ? "UPDATE" : "INVITE", st->se);
	else
		gw_log(GW_LOG_WARN, "sip", "st_refresh_send_failed",
		       GW_FIELDS(GW_FS("call_id", leg_call_id(st)),
				 GW_FS("leg", leg_name(l)),
				 GW_FS("method", update ? "UPDATE" : "INVITE")),
		       "Session refresh could not be sent (method=%s); the "
		       "session expires unless the next one goes",
		       update ? "UPDATE" : "INVITE");

	/* the last refresh's transaction is done with: its 2xx, if the
	 * peer retransmits it, has been ACKed already */
	if (st->orq)
		nta_outgoing_destroy(st->orq);
	st->orq = orq;
	st->pending = orq != NULL;
	if (orq)
		++c->ua->st.st_refreshes_sent;

	/* whatever becomes of it, the session ends at its expiry unless
	 * a refresh succeeds first (then start() re-arms); with timers
	 * disabled nothing ends the call, and the answer re-arms */
	if (st->cf->enabled)
		arm(st, false,
		    st->refreshed + st_expiry_after(st->se) * 1000ULL);
	else
		gw_timer_stop(st->tmr);
}


static void hangup(struct st_leg *st, const char *why, const char *reason)
{
	st_stop(st);
	/* behaviour 10: both legs of a bridge get the BYE */
	call_hangup(st->l->c, why, reason, true, true);
}


static void st_fire(void *arg)
{
	struct st_leg *st = arg;
	struct call *c = st->l->c;

	if (c->ended || c->state == CALL_ENDING)
		return;

	if (st->next_is_refresh) {
		refresh_send(st);
		return;
	}

	++c->ua->st.st_expiries;
	gw_log(GW_LOG_WARN, "sip", "st_expired",
	       GW_FIELDS(GW_FS("call_id", leg_call_id(st)),
			 GW_FS("leg", leg_name(st->l)),
			 GW_FU("session_expires", st->se),
			 GW_FB("we_are_refresher", st->we_refresh)),
	       "Session timer expired, terminating call");
	hangup(st, "session_timer", expired_reason);
}


/* RFC 3261 §14.1: after 491, the owner of the Call-ID (the one that
 * sent the dialog's INVITE: us on the callee's leg) waits 2.1-4 s,
 * the other 0-2 s, in units of 10 ms */
uint64_t st_glare_delay_ms(const struct st_leg *st)
{
	return st->l->callee ? 2100 + 10 * (uint64_t)arc4random_uniform(191) :
		10 * (uint64_t)arc4random_uniform(201);
}


static int refresh_response(nta_outgoing_magic_t *magic,
			    nta_outgoing_t *orq, sip_t const *sip)
{
	struct st_leg *st = (struct st_leg *)magic;
	struct leg *l = st->l;
	struct call *c = l->c;
	int status = nta_outgoing_status(orq);
	bool invite = nta_outgoing_method(orq) == sip_method_invite;

	if (status < 200 || c->ended)
		return 0;

	if (status < 300) {
		if (invite && sip)
			sipua_ack(c->ua, l->nl, l->route, sip);
		if (orq != st->orq || !st->pending)
			return 0;   /* a retransmitted 2xx: ACKed again */
		st->pending = false;
		if (invite && sip && sip->sip_payload &&
		    sip->sip_payload->pl_len)
			(void)media_stream_accept(l->ms,
						  sip->sip_payload->pl_data,
						  sip->sip_payload->pl_len);
		if (sip)
			from_response(st, sip, true);
		return 0;
	}

	if (orq != st->orq || !st->pending)
		return 0;
	st->pending = false;
	if (c->state == CALL_ENDING)
		return 0;   /* our BYE is out already */

	gw_log(GW_LOG_WARN, "sip", "st_refresh_failed",
	       GW_FIELDS(GW_FS("call_id", leg_call_id(st)),
			 GW_FS("leg", leg_name(st->l)), GW_FI("status", status),
			 GW_FS("method", invite ? "INVITE" : "UPDATE")),
	       "Session refresh failed with %d", status);

	switch (status) {

	case 408:   /* also NTA's own, when the transaction timed out */
	case 481:
		/* §10: the dialog is gone */
		hangup(st, "session_refresh_failed", refresh_failed_reason);
		return 0;

	case 491:
		arm(st, true, gw_now_ms() + st_glare_delay_ms(st));
		return 0;

	case 422:
		/* §7.3 (and §10 for refreshes): again with its Min-SE */
		if (st_retry_422(st, sip))
			refresh_send(st);
		return 0;

	case 405:
	case 501:
		/* RFC 3311 not understood after all: re-INVITE from now */
		if (!invite) {
			st->update_refused = true;
			refresh_send(st);
		}
		return 0;

	default:
		/* RFC 3261 §14.1: the session stays as it was; it expires
		 * at the time already armed unless a refresh succeeds.
		 * Disabled: nothing is armed, so refresh again in SE/2 */
		if (!st->cf->enabled)
			arm(st, true, gw_now_ms() +
			    st_refresh_after(st->se) * 1000ULL);
		return 0;
	}
}


bool st_retry_422(struct st_leg *st, sip_t const *sip)
{
	unsigned long min_se = sip && sip->sip_min_se ?
		sip->sip_min_se->min_delta : 0;

	if (st->tries_422 >= TRIES_422_MAX || min_se <= st->min_se ||
	    min_se > 86400)
		return false;

	++st->tries_422;
	st->min_se = (uint32_t)min_se;
	gw_log(GW_LOG_INFO, "sip", "st_retry_422",
	       GW_FIELDS(GW_FS("call_id", leg_call_id(st)),
			 GW_FS("leg", leg_name(st->l)),
			 GW_FU("min_se", st->min_se),
			 GW_FU("attempt", st->tries_422)),
	       "Session interval too small for the %s, sending the %s "
	       "again with minSE=%u", leg_name(st->l),
	       st->active ? "refresh" : "INVITE", st->min_se);

	return true;
}


int st_update(struct st_leg *st, nta_incoming_t *irq, sip_t const *sip)
{
	struct leg *l = st->l;
	struct call *c = l->c;
	struct st_result res;
	char *answer = NULL;
	bool offer = sip->sip_payload && sip->sip_payload->pl_len;

	if (sipua_unsupported(c->ua, irq, sip))
		return 0;

	/* RFC 3311 §5.2: an offer while our own re-INVITE's is open */
	if (offer && st_invite_pending(st))
		return 491;

	if (st_request_refused(st, irq, sip, &res))
		return 0;

	if (offer) {
		if (!sipua_has_sdp(sip) ||
		    media_stream_answer(l->ms, sip->sip_payload->pl_data,
					sip->sip_payload->pl_len, &answer))
			return 488;
		mem_deref(l->sdp);
		l->sdp = answer;
	}

	leg_reply_2xx(l, irq, &res, offer ? answer : NULL);
	sipua_done(irq);
	st_answered(st, &res, true);

	return 0;
}


void sipua_timer_status(const struct sipua *ua, struct odict *o)
{
	unsigned dialogs = 0;

	for (struct le *le = ua->calls.head; le; le = le->next) {
		const struct call *c = le->data;

		if (c->ended)
			continue;
		for (unsigned i = 0; i < c->n_legs; i++)
			dialogs += c->leg[i]->st.active;
	}

	odict_entry_add(o, "running", ODICT_BOOL, true);
	odict_entry_add(o, "dialogs", ODICT_INT, (int64_t)dialogs);
	odict_entry_add(o, "refreshes_sent", ODICT_INT,
			(int64_t)ua->st.st_refreshes_sent);
	odict_entry_add(o, "refreshes_received", ODICT_INT,
			(int64_t)ua->st.st_refreshes_received);
	odict_entry_add(o, "expiries", ODICT_INT, (int64_t)ua->st.st_expiries);
}


void st_describe(const struct st_leg *st, struct odict *leg)
{
	struct odict *o = NULL;
	uint64_t now = gw_now_ms();
	/* refresher in the dialog's terms: we are its UAS on the caller's
	 * leg and its UAC on the callee's */
	bool uac_refreshes = st->l->callee == st->we_refresh;

	if (!st->active || odict_alloc(&o, 8))
		return;

	odict_entry_add(o, "interval_s", ODICT_INT, (int64_t)st->se);
	odict_entry_add(o, "refresher", ODICT_STRING,
			uac_refreshes ? "uac" : "uas");
	odict_entry_add(o, "we_are", ODICT_STRING,
			st->l->callee ? "uac" : "uas");
	odict_entry_add(o, "we_refresh", ODICT_BOOL, st->we_refresh);
	odict_entry_add(o, "next", ODICT_STRING,
			!st->expire && !st->we_refresh ? "none" :
			st->next_is_refresh ? "refresh" : "expiry");
	odict_entry_add(o, "next_in_s", ODICT_INT,
			(int64_t)(st->due > now ? (st->due - now) / 1000 : 0));
	odict_entry_add(leg, "session_timer", ODICT_OBJECT, o);
	mem_deref(o);
}
