/**
 * @file timer.h  RFC 4028 session timers, one per dialog leg (timer.c)
 *
 * The rules (which interval, which refresher) are pure functions in
 * st_rules.h; this is the running timer of a leg and the requests it
 * sends: the refreshes, and the re-INVITEs that carry a relayed offer
 * (relay.c), which refresh the session too.
 */

#ifndef SIP_TIMER_H
#define SIP_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>

#include "sip/st_rules.h"

struct gw_session_timer_conf;
struct gw_timer;
struct leg;
struct odict;
struct sipua;

/**
 * The session timer of one leg: the caller's, where we are the UAS, or
 * a bridge's outbound leg, where we are the UAC. One timer fires for the
 * next refresh (when we are the refresher) or for the expiry (when we
 * are not).
 */
struct st_leg {
	struct leg *l;
	const struct gw_session_timer_conf *cf;  /**< the trunk's settings */
	bool active;
	bool we_refresh;
	bool expire;                  /**< BYE when no refresh came */
	bool next_is_refresh;         /**< what tmr fires for */
	bool allow_update;            /**< the peer's Allow lists UPDATE */
	bool peer_supports;           /**< the peer said Supported: timer */
	bool update_refused;          /**< 501/405 to UPDATE: re-INVITE */
	bool pending;                 /**< our refresh awaits its answer */
	uint32_t se;                  /**< negotiated interval [s] */
	uint32_t min_se;              /**< our Min-SE, raised by a 422 */
	unsigned tries_422;           /**< retries after 422, this dialog */
	uint64_t refreshed;           /**< last negotiation, gw_now_ms() */
	uint64_t due;                 /**< when tmr fires, gw_now_ms() */
	struct gw_timer *tmr;
	nta_outgoing_t *orq;          /**< our last refresh (2xx re-ACKed) */
};

int  st_leg_init(struct st_leg *st, struct leg *l,
		 const struct gw_session_timer_conf *cf);
void st_leg_close(struct st_leg *st);
/** Read the timer headers of a message */
void st_hdrs_read(sip_t const *sip, struct st_hdrs *h);
/** What the peer said of timers and UPDATE in its INVITE or 2xx */
void st_peer_read(struct st_leg *st, sip_t const *sip);
/**
 * Negotiate a request as its UAS (RFC 4028 §9) with a trunk's settings;
 * st is the dialog's leg (NULL: a new dialog). A too small interval is
 * answered 422 with Min-SE here (true returned: done).
 */
bool st_check(struct sipua *ua, const struct gw_session_timer_conf *cf,
	      const struct st_leg *st, nta_incoming_t *irq, sip_t const *sip,
	      struct st_result *res);
/** st_check() for a request inside this leg's dialog */
bool st_request_refused(struct st_leg *st, nta_incoming_t *irq,
			sip_t const *sip, struct st_result *res);
/** "90;refresher=uac" for a 2xx, into buf */
const char *st_se_str(const struct st_result *res, char *buf, size_t size);
/**
 * The session-timer headers of our 2xx for res (RFC 4028 §9), as tags for
 * nta_incoming_treply(): Session-Expires (written into the array buf),
 * Require: timer, and Supported: timer unless timers are off and none runs
 */
#define ST_2XX_TAGS(res, enabled, buf)                                  \
	TAG_IF((res)->se, SIPTAG_SESSION_EXPIRES_STR(                   \
		       st_se_str((res), (buf), sizeof(buf)))),          \
	TAG_IF((res)->require, SIPTAG_REQUIRE_STR("timer")),            \
	TAG_IF((enabled) || (res)->se, SIPTAG_SUPPORTED_STR("timer"))
/** Our 2xx with res went out: start or re-arm the timer */
void st_answered(struct st_leg *st, const struct st_result *res,
		 bool refresh);
/** The 2xx to a request of ours came: our INVITE (refresh false, §7.2)
 *  or a refresh or relayed re-INVITE (true); start or re-arm */
void st_response(struct st_leg *st, sip_t const *sip, bool refresh);
/**
 * Send a re-INVITE on st's leg as a refresh would (RFC 4028 §7.4: our
 * interval, the refresher kept), with sdp as its offer; the response
 * goes to cb. NULL if it could not be sent.
 */
nta_outgoing_t *st_reinvite(struct st_leg *st, const char *sdp,
			    nta_response_f *cb, nta_outgoing_magic_t *magic);
/**
 * RFC 4028 §7.3: a 422 to our INVITE names the peer's Min-SE; true if
 * the INVITE should go again with it (at most twice per dialog, logged;
 * the new floor is in st->min_se)
 */
bool st_retry_422(struct st_leg *st, sip_t const *sip);
/** RFC 3261 §14.1: how long to wait after a 491 on this leg [ms] */
uint64_t st_glare_delay_ms(const struct st_leg *st);
/** An UPDATE on this leg: a refresh, or an offer answered from ms */
int  st_update(struct st_leg *st, nta_incoming_t *irq, sip_t const *sip);
/** Our own refresh is in flight as a re-INVITE (RFC 3261 §14.2 glare) */
bool st_invite_pending(const struct st_leg *st);
/** The call ends: no more refreshes */
void st_stop(struct st_leg *st);
void st_describe(const struct st_leg *st, struct odict *leg);

#endif
