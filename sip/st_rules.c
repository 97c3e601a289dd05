/**
 * @file st_rules.c  RFC 4028 negotiation rules (see st_rules.h)
 */

#include <strings.h>

#include "gateway/conf.h"
#include "sip/st_rules.h"


static uint32_t max_u32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}


/* §9: the UAS may lower the interval, never below the request's Min-SE
 * (nor our own); max_se 0 leaves it as it is */
static uint32_t lowered(const struct gw_session_timer_conf *cf, uint32_t se,
			uint32_t floor)
{
	if (!cf->max_se || se <= cf->max_se)
		return se;

	return max_u32(cf->max_se, floor);
}


void st_negotiate_uas(const struct gw_session_timer_conf *cf,
		      const struct st_hdrs *rq, uint32_t current, bool we_now,
		      struct st_result *out)
{
	/* §9: never below the request's Min-SE, nor our own */
	uint32_t floor = max_u32(cf->min_se, rq->min_se);
	bool supported = rq->supported || rq->required;
	bool has_se = rq->se || rq->se_zero;

	*out = (struct st_result){0};
	out->min_se = floor;

	if (!cf->enabled) {
		/* §9 as a UA that asks for no timer of its own: a request
		 * that carries one is still answered, copying its interval
		 * (the peer or a proxy expects refreshes); none is added
		 * and, in sip/timer.c, none ever ends a call */
		if (!has_se)
			return;
		out->se = lowered(cf, rq->se, floor);
	}
	else if (has_se && rq->se < cf->min_se) {
		/* §6: too small for us. A UAC that supports timers is told
		 * our Min-SE in 422; one that does not cannot understand
		 * 422, so the interval is raised to our Min-SE instead */
		if (supported) {
			out->status = 422;
			out->min_se = floor;
			return;
		}
		out->se = floor;
	}
	else if (has_se) {
		out->se = lowered(cf, max_u32(rq->se, floor), floor);
	}
	else {
		/* §9: no Session-Expires. We still choose one: a refresh
		 * keeps the dialog's interval, a new dialog gets our
		 * default. Toward a UAC without timers we refresh (uas
		 * below), so no timer cuts a call that nobody refreshes */
		out->se = max_u32(current ? current : cf->default_expires,
				  floor);
	}

	/* §9: the request's refresher is copied; without one the UAS
	 * chooses; a UAC without timers cannot refresh, so uas */
	if (!supported)
		out->refresher = ST_REF_UAS;
	else if (rq->refresher != ST_REF_NONE)
		out->refresher = rq->refresher;
	else if (current)
		/* a refresh that names none keeps the dialog's refresher
		 * (a hold re-INVITE must not move the duty) */
		out->refresher = we_now ? ST_REF_UAS : ST_REF_UAC;
	else if (!cf->enabled)
		out->refresher = ST_REF_UAC;   /* ours off: theirs refreshes */
	else
		out->refresher = cf->prefer_refresher == GW_REFRESHER_UAS ?
			ST_REF_UAS : ST_REF_UAC;

	/* §9: Require: timer only toward a UAC that supports timers */
	out->require = supported;
	out->we_refresh = out->refresher == ST_REF_UAS;
	out->expire = cf->enabled && !out->we_refresh;
}


void st_negotiate_uac(const struct gw_session_timer_conf *cf,
		      const struct st_hdrs *rsp, struct st_result *out)
{
	*out = (struct st_result){0};

	/* §7.4: a 2xx without Session-Expires: no timer on this leg */
	if (!rsp->se)
		return;

	/* §9: a UAS may only lower what we asked, so an interval past our
	 * max_se is not one we asked for: taken as max_se */
	out->se = lowered(cf, rsp->se, cf->min_se);
	/* §7.2: refresher=uac names us; a UAS that left it out (it must
	 * not, §9) gets our refreshes rather than none */
	out->refresher = rsp->refresher == ST_REF_UAS ? ST_REF_UAS :
		ST_REF_UAC;
	out->we_refresh = out->refresher == ST_REF_UAC;
	out->expire = cf->enabled && !out->we_refresh;
}


uint32_t st_expiry_after(uint32_t se)
{
	uint32_t margin = se / 3 < 32 ? se / 3 : 32;

	return se - margin;
}


uint32_t st_refresh_after(uint32_t se)
{
	return se / 2;
}


const char *st_refresher_name(enum st_refresher r)
{
	switch (r) {
	case ST_REF_UAC: return "uac";
	case ST_REF_UAS: return "uas";
	default:         return "none";
	}
}


enum st_refresher st_refresher_parse(const char *s)
{
	if (s && !strcasecmp(s, "uac"))
		return ST_REF_UAC;
	if (s && !strcasecmp(s, "uas"))
		return ST_REF_UAS;

	return ST_REF_NONE;
}
