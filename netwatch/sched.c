/**
 * @file sched.c  One timer for many due times (sched.h)
 */

#include <errno.h>

#include "gateway/libre.h"
#include "gateway/reactor.h"
#include "netwatch/sched.h"

struct nw_sched {
	struct gw_timer *tmr;
	uint64_t grid;
	uint64_t armed_at;            /**< 0: not armed */
	nw_sched_h *h;
	void *arg;
};


static void fire(void *arg)
{
	struct nw_sched *s = arg;

	s->armed_at = 0;
	s->h(gw_now_ms(), s->arg);   /* last: it may free s */
}


void nw_sched_at(struct nw_sched *s, uint64_t due)
{
	uint64_t now = gw_now_ms(), at;

	if (!s)
		return;
	at = (due + s->grid - 1) / s->grid * s->grid;
	if (at < now)
		at = now;
	if (s->armed_at && s->armed_at <= at)
		return;
	s->armed_at = at;
	gw_timer_start(s->tmr, at - now, fire, s);
}


static void sched_destructor(void *data)
{
	struct nw_sched *s = data;

	mem_deref(s->tmr);
}


int nw_sched_alloc(struct nw_sched **sp, struct gw_reactor *r,
		   uint64_t grid_ms, nw_sched_h *h, void *arg)
{
	struct nw_sched *s;
	int err;

	if (!sp || !r || !h || !grid_ms)
		return EINVAL;

	s = mem_zalloc(sizeof(*s), sched_destructor);
	if (!s)
		return ENOMEM;
	s->grid = grid_ms;
	s->h = h;
	s->arg = arg;
	err = gw_timer_alloc(&s->tmr, r);
	if (err)
		mem_deref(s);
	else
		*sp = s;

	return err;
}
