/**
 * @file st_rules.h  RFC 4028 session-timer negotiation, as pure rules
 *
 * What a request or a response says about session timers goes in, the
 * headers of our answer and the roles come out: no Sofia types, no I/O,
 * so the table in tests/unit/test_timer.c can check every row. The
 * running timers (refresh, expiry) are in sip/timer.c.
 */

#ifndef ST_RULES_H
#define ST_RULES_H

#include <stdbool.h>
#include <stdint.h>

struct gw_session_timer_conf;

/** The refresher parameter, in the terms of the transaction carrying it */
enum st_refresher {
	ST_REF_NONE = 0,
	ST_REF_UAC,
	ST_REF_UAS,
};

/** What a message says about session timers */
struct st_hdrs {
	bool supported;               /**< Supported: timer (or Require) */
	bool required;                /**< Require: timer */
	uint32_t se;                  /**< Session-Expires [s], 0 absent */
	enum st_refresher refresher;
	uint32_t min_se;              /**< Min-SE [s], 0 absent */
	bool se_zero;                 /**< Session-Expires: 0 was sent (se
					   0 alone means absent) */
};

/** A decision for one dialog leg */
struct st_result {
	int status;                   /**< 422, or 0: answer 2xx */
	uint32_t min_se;              /**< for the 422's Min-SE */
	uint32_t se;                  /**< Session-Expires; 0: no timer */
	enum st_refresher refresher;  /**< in our 2xx (UAS) */
	bool require;                 /**< Require: timer in our 2xx */
	bool we_refresh;
	bool expire;                  /**< we send BYE when not refreshed */
};

/**
 * We are the UAS of an INVITE, re-INVITE or UPDATE (RFC 4028 §9).
 *
 * @param cf       The trunk's effective session_timer settings
 * @param rq       What the request says
 * @param current  The leg's interval now (a refresh), 0 for a new dialog
 * @param we_now   With current: we are the leg's refresher now
 * @param out      The decision
 */
void st_negotiate_uas(const struct gw_session_timer_conf *cf,
		      const struct st_hdrs *rq, uint32_t current, bool we_now,
		      struct st_result *out);

/**
 * We are the UAC and a 2xx came (RFC 4028 §7.2): the timer it sets.
 */
void st_negotiate_uac(const struct gw_session_timer_conf *cf,
		      const struct st_hdrs *rsp, struct st_result *out);

/** When the side that is not the refresher gives up on a refresh:
 *  SE − min(32, SE/3) seconds after the last one (RFC 4028 §10) */
uint32_t st_expiry_after(uint32_t se);

/** When the refresher refreshes: half the interval (RFC 4028 §10) */
uint32_t st_refresh_after(uint32_t se);

const char *st_refresher_name(enum st_refresher r);
/** "uac" / "uas" (any case) or NONE */
enum st_refresher st_refresher_parse(const char *s);

#endif
