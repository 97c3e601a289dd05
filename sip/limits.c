/**
 * @file limits.c  Per-trunk call limits: trunks[].max_calls, max_cps
 *
 * A trunk's calls are counted from the INVITE that takes the trunk (an
 * inbound one from its addresses, or a bridge that dials out through it)
 * to the end of the call. New calls a second are a token bucket that
 * holds one second's worth (max_cps tokens, max_cps a second): a burst
 * of max_cps is allowed at once, then max_cps a second. Past either, the
 * INVITE gets 503 with Retry-After (sipua_reply()) before any port or
 * dialog is taken, and one line every LOG_EVERY_MS per trunk says how
 * many were refused.
 */

#include <errno.h>
#include <string.h>

#include "gateway/conf.h"
#include "gateway/log.h"
#include "gateway/reactor.h"
#include "media/media.h"
#include "sip/sip_int.h"

enum {
	LOG_EVERY_MS = 10000,
};

struct trunk_use {
	unsigned calls;               /**< up now */
	double tokens;                /**< max_cps bucket */
	uint64_t refilled;            /**< gw_now_ms() */
	uint64_t refused_calls, refused_cps;
	uint64_t refused_logged;      /**< refusals already logged */
	uint64_t logged_at;
};


int sipua_limits_alloc(struct sipua *ua)
{
	size_t n = ua->conf->n_trunks ? ua->conf->n_trunks : 1;

	ua->use = mem_zalloc(n * sizeof(*ua->use), NULL);
	if (!ua->use)
		return ENOMEM;

	for (size_t i = 0; i < ua->conf->n_trunks; i++)
		ua->use[i].tokens = ua->conf->trunks[i].max_cps;

	return 0;
}


/* A call's trunk may come from a configuration older than the running
 * one (a reload since): then it is the running trunk of the same name */
static struct trunk_use *use_of(struct sipua *ua, const struct gw_trunk *t)
{
	const struct gw_conf *conf = ua->conf;

	if (!t || !ua->use)
		return NULL;

	if (t >= conf->trunks && t < conf->trunks + conf->n_trunks)
		return &ua->use[t - conf->trunks];

	for (size_t i = 0; i < conf->n_trunks; i++) {
		if (!strcmp(conf->trunks[i].name, t->name))
			return &ua->use[i];
	}

	return NULL;
}


/* A new configuration: each trunk keeps its counts under its name; a new
 * trunk starts with a full bucket */
int sipua_limits_reload(struct sipua *ua, const struct gw_conf *conf)
{
	size_t n = conf->n_trunks ? conf->n_trunks : 1;
	struct trunk_use *use = mem_zalloc(n * sizeof(*use), NULL);

	if (!use)
		return ENOMEM;

	for (size_t i = 0; i < conf->n_trunks; i++) {
		const struct gw_trunk *t = &conf->trunks[i];
		struct trunk_use *old = use_of(ua, t);

		if (old)
			use[i] = *old;
		else
			use[i].tokens = t->max_cps;
		if (use[i].tokens > t->max_cps)
			use[i].tokens = t->max_cps;
	}

	mem_deref(ua->use);
	ua->use = use;

	return 0;
}


static bool cps_token(const struct gw_trunk *t, struct trunk_use *u,
		      uint64_t now)
{
	if (!t->max_cps)
		return true;

	u->tokens += (double)(now - u->refilled) * t->max_cps / 1000.0;
	if (u->tokens > t->max_cps)
		u->tokens = t->max_cps;
	u->refilled = now;
	if (u->tokens < 1.0)
		return false;
	u->tokens -= 1.0;

	return true;
}


static void refused(const struct gw_trunk *t, struct trunk_use *u,
		    const char *call_id, const char *what, uint64_t now)
{
	uint64_t total = u->refused_calls + u->refused_cps;

	if (now - u->logged_at < LOG_EVERY_MS && u->logged_at)
		return;

	gw_log(GW_LOG_WARN, "sip", "trunk_limit",
	       GW_FIELDS(GW_FS("trunk", t->name), GW_FS("limit", what),
			 GW_FS("call_id", call_id), GW_FU("calls", u->calls),
			 GW_FU("max_calls", t->max_calls),
			 GW_FU("max_cps", t->max_cps),
			 GW_FU("refused", total - u->refused_logged)),
	       "Trunk %s is at its %s: INVITE answered 503 (%llu refused "
	       "since the last such line)", t->name, what,
	       (unsigned long long)(total - u->refused_logged));
	u->refused_logged = total;
	u->logged_at = now;
}


bool sipua_limits_take(struct sipua *ua, const struct gw_trunk *t,
		       const char *call_id)
{
	struct trunk_use *u = use_of(ua, t);
	uint64_t now = gw_now_ms();

	if (!u)
		return true;

	if (t->max_calls && u->calls >= t->max_calls) {
		++u->refused_calls;
		refused(t, u, call_id, "max_calls", now);
		return false;
	}
	if (!cps_token(t, u, now)) {
		++u->refused_cps;
		refused(t, u, call_id, "max_cps", now);
		return false;
	}

	++u->calls;

	return true;
}


void sipua_limits_release(struct sipua *ua, const struct gw_trunk *t)
{
	struct trunk_use *u = use_of(ua, t);

	if (u && u->calls)
		--u->calls;
}


void sipua_limits_describe(const struct sipua *ua, struct odict *o)
{
	struct odict *trunks;

	if (!ua->use || odict_alloc(&trunks, 8))
		return;

	for (size_t i = 0; i < ua->conf->n_trunks; i++) {
		const struct trunk_use *u = &ua->use[i];
		struct odict *t;

		if (odict_alloc(&t, 8))
			break;
		odict_entry_add(t, "calls", ODICT_INT, (int64_t)u->calls);
		odict_entry_add(t, "refused_max_calls", ODICT_INT,
				(int64_t)u->refused_calls);
		odict_entry_add(t, "refused_max_cps", ODICT_INT,
				(int64_t)u->refused_cps);
		odict_entry_add(trunks, ua->conf->trunks[i].name,
				ODICT_OBJECT, t);
		mem_deref(t);
	}

	odict_entry_add(o, "trunks", ODICT_OBJECT, trunks);
	mem_deref(trunks);
}


void sipua_media_refused(struct sipua *ua, const char *call_id, int err)
{
	const struct gw_port_range *pr = &ua->conf->media.rtp_ports;
	uint64_t now = gw_now_ms();
	unsigned used, total;

	if (err != ENOSPC) {
		gw_log(GW_LOG_ERROR, "sip", "media_unavailable",
		       GW_FIELDS(GW_FS("call_id", call_id), GW_FERR(err)),
		       "No RTP socket for a new call: %s", strerror(err));
		return;
	}

	++ua->media_refused;
	if (ua->media_log_at && now - ua->media_log_at < LOG_EVERY_MS)
		return;

	media_mgr_ports(ua->mm, &used, &total);
	gw_log(GW_LOG_WARN, "sip", "media_ports_exhausted",
	       GW_FIELDS(GW_FS("call_id", call_id), GW_FU("ports", total),
			 GW_FU("first", pr->first), GW_FU("last", pr->last),
			 GW_FU("refused", ua->media_refused)),
	       "RTP ports %u-%u all taken (%u in use): %llu call(s) refused "
	       "with 503 and Retry-After since the last report",
	       (unsigned)pr->first, (unsigned)pr->last, used,
	       (unsigned long long)ua->media_refused);
	ua->media_log_at = now;
	ua->media_refused = 0;
}
