/**
 * @file call_describe.c  One call as `keepline calls` shows it: legs,
 * signalling and media peers, RTP counters, session timer state
 */

#include "gateway/reactor.h"
#include "sip/sip_int.h"


void call_describe(const struct call *c, struct odict *o)
{
	struct odict *leg = NULL, *legs = NULL, *media = NULL;
	char buf[64];

	odict_entry_add(o, "call_id", ODICT_STRING, c->call_id);
	odict_entry_add(o, "route", ODICT_STRING,
			call_route_name(c->route->action));
	odict_entry_add(o, "trunk", ODICT_STRING, c->trunk->name);
	odict_entry_add(o, "to", ODICT_STRING, c->to_user);
	odict_entry_add(o, "state", ODICT_STRING, call_state_name(c->state));
	odict_entry_add(o, "age_s", ODICT_INT,
			(int64_t)((gw_now_ms() - c->created) / 1000));

	if (odict_alloc(&legs, 4) || odict_alloc(&leg, 8) ||
	    odict_alloc(&media, 16))
		goto out;

	odict_entry_add(leg, "role", ODICT_STRING, "inbound");
	re_snprintf(buf, sizeof(buf), "%J", &c->peer);
	odict_entry_add(leg, "signalling", ODICT_STRING, buf);
	if (c->from)
		odict_entry_add(leg, "from", ODICT_STRING, c->from);
	st_describe(&c->st, leg);
	if (c->ms) {
		media_stream_describe(c->ms, media);
		odict_entry_add(leg, "media", ODICT_OBJECT, media);
	}
	odict_entry_add(legs, "0", ODICT_OBJECT, leg);
	if (c->out)
		bridge_describe(c, legs);
	odict_entry_add(o, "legs", ODICT_ARRAY, legs);

 out:
	mem_deref(media);
	mem_deref(leg);
	mem_deref(legs);
}
