/**
 * @file call_describe.c  One call as `keepline calls` shows it: legs,
 * signalling and media peers, RTP counters, session timer state
 */

#include "gateway/reactor.h"
#include "sip/call.h"
#include "sip/sip_int.h"


void call_describe(const struct call *c, struct odict *o)
{
	struct odict *legs = NULL;

	odict_entry_add(o, "call_id", ODICT_STRING, c->call_id);
	odict_entry_add(o, "route", ODICT_STRING,
			call_route_name(c->route->action));
	odict_entry_add(o, "trunk", ODICT_STRING, c->leg[0]->trunk->name);
	odict_entry_add(o, "to", ODICT_STRING, c->to_user);
	odict_entry_add(o, "state", ODICT_STRING, call_state_name(c->state));
	odict_entry_add(o, "age_s", ODICT_INT,
			(int64_t)((gw_now_ms() - c->created) / 1000));

	if (odict_alloc(&legs, 4))
		return;

	for (unsigned i = 0; i < c->n_legs; i++) {
		struct odict *leg = NULL;
		char key[4];

		if (odict_alloc(&leg, 8))
			break;
		leg_describe(c->leg[i], leg);
		re_snprintf(key, sizeof(key), "%u", i);
		odict_entry_add(legs, key, ODICT_OBJECT, leg);
		mem_deref(leg);
	}
	odict_entry_add(o, "legs", ODICT_ARRAY, legs);
	mem_deref(legs);
}
