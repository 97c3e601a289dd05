/**
 * @file module.c  netwatch/ in the module table: paths, checks, state
 *                 (netwatch.h)
 *
 * A path is one address: a netwatch.targets entry, or an address of a
 * trunk with probe: true (the host of its outbound_uri, and each of its
 * addresses that names one host). Every interval a check sends
 * probes_per_check probes, spaced so that the check ends well inside
 * the interval; when the last has answered or timed out the check's
 * figures give a verdict (health.h) and hold-down decides the state.
 *
 * auto is ICMP echo, else UDP, else TCP. A method the kernel refuses at
 * run time (EPERM: a capability dropped, a sysctl changed) is set aside
 * for a minute and the next one used meanwhile, then tried again;
 * nothing is ever made up: a path no method can probe is "unmeasured",
 * with the reason.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/libre.h"

#include "gateway/conf.h"
#include "gateway/daemon.h"
#include "gateway/log.h"
#include "gateway/metrics.h"
#include "gateway/module.h"
#include "gateway/reactor.h"
#include "netwatch/health.h"
#include "netwatch/netwatch.h"
#include "netwatch/nw_int.h"
#include "netwatch/prober.h"
#include "netwatch/sched.h"



static void check_destructor(void *data)
{
	struct nw_check *c = data;

	list_unlink(&c->le);
	if (c->path && c->path->sending == c)
		c->path->sending = NULL;
}


static void path_destructor(void *data)
{
	struct nw_path *p = data;

	list_unlink(&p->le);
	p->t = mem_deref(p->t);
	list_flush(&p->checks);
}


static void log_state(struct nw_path *p, enum nw_state was)
{
	enum nw_state st = p->hold.state;
	const struct nw_stats *s = &p->last;
	char trunks[200] = "", avg[32] = "";
	size_t off = 0;

	for (size_t i = 0; i < p->n_trunks && off < sizeof(trunks); i++)
		off += (size_t)snprintf(trunks + off, sizeof(trunks) - off,
					"%s%s", i ? "," : "", p->trunks[i]);

	if (s->received)
		snprintf(avg, sizeof(avg), ", avg %.3f ms", nw_stats_avg_ms(s));
	++p->nw->state_changes;
	gw_log(st == NW_UP ? GW_LOG_INFO : GW_LOG_WARN, "netwatch",
	       "path_state",
	       GW_FIELDS(GW_FS("target", p->name), GW_FS("address", p->addr_s),
			 GW_FS("state", nw_state_name(st)),
			 GW_FS("was", nw_state_name(was)),
			 GW_FS("method", nw_method_name(p->method)),
			 GW_FU("sent", s->sent), GW_FU("received", s->received),
			 GW_FD("loss_pct", nw_stats_loss_pct(s)),
			 GW_FD("avg_ms", nw_stats_avg_ms(s)),
			 GW_FD("jitter_ms", s->jitter_ns / 1e6),
			 GW_FS("trunks", trunks)),
	       "Path %s is %s, was %s: %u/%u answered, loss %.0f%%%s",
	       p->label, nw_state_name(st), nw_state_name(was), s->received,
	       s->sent, nw_stats_loss_pct(s), avg);
}


static void check_end(struct nw_check *c)
{
	struct nw_path *p = c->path;
	struct nw_mgr *nw = p->nw;
	enum nw_state was = p->hold.state;
	uint64_t now = gw_now_ms();

	p->last = c->st;
	p->have_last = true;
	p->score = nw_score(&c->st, &nw->th);
	if (c->method_set)
		p->method = c->m;
	++p->checks_done;

	if (nw_hold_update(&p->hold, nw_state_of(&c->st, &nw->th),
			   c->started, now, nw->conf->netwatch.hold_down))
		log_state(p, was);

	mem_deref(c);
}


static struct nw_check *check_of(struct nw_path *p, uint32_t n)
{
	for (struct le *le = p->checks.head; le; le = le->next) {
		struct nw_check *c = le->data;

		if (c->first_n && n >= c->first_n && n <= c->last_n)
			return c;
	}

	return NULL;
}


static void check_maybe_end(struct nw_check *c)
{
	if (!c->to_send && c->resolved == c->last_n - c->first_n + 1)
		check_end(c);
}


static void on_result(struct nw_target *t, const struct nw_result *r,
		      void *arg)
{
	struct nw_path *p = arg;
	struct nw_check *c = check_of(p, r->n);
	(void)t;

	if (!c)
		return;
	++c->resolved;
	if (r->answered) {
		nw_stats_answer(&c->st, r->rtt_ns, r->kernel_ts);
	}
	else {
		nw_stats_lost(&c->st);
		snprintf(p->last_why, sizeof(p->last_why), "%s%s%s", r->why,
			 r->err ? ": " : "", r->err ? strerror(r->err) : "");
	}
	check_maybe_end(c);
}


static void method_refused(struct nw_path *p, enum nw_method m, int err)
{
	struct nw_mgr *nw = p->nw;
	uint64_t now = gw_now_ms();
	uint64_t off = METHOD_RETRY_CHECKS * nw->conf->netwatch.interval;

	if (nw->method_off_until[m] > now)
		return;
	nw->method_off_until[m] = now + off;
	nw->method_was_refused[m] = true;
	gw_log(GW_LOG_WARN, "netwatch", "method_refused",
	       GW_FIELDS(GW_FS("method", nw_method_name(m)),
			 GW_FS("target", p->name), GW_FERR(err),
			 GW_FU("retry_s", off / 1000)),
	       "%s probing refused at run time, using the next method for "
	       "%llu s", nw_method_name(m), (unsigned long long)off / 1000);
}


static void method_sent(struct nw_mgr *nw, enum nw_method m)
{
	if (!nw->method_was_refused[m])
		return;
	nw->method_was_refused[m] = false;
	gw_log(GW_LOG_INFO, "netwatch", "method_restored",
	       GW_FIELDS(GW_FS("method", nw_method_name(m))),
	       "%s probing works again", nw_method_name(m));
}


/* One probe of the running check, by the first method that sends */
static void send_probe(struct nw_path *p, uint64_t now)
{
	struct nw_mgr *nw = p->nw;
	struct nw_check *c = p->sending;
	int err = ENOTSUP;

	p->next_probe = 0;
	if (!c)
		return;

	for (enum nw_method m = NW_M_ICMP; m < NW_M_N; m++) {
		int want = nw->conf->netwatch.method;

		if (want != GW_NW_AUTO && (int)m != want - GW_NW_ICMP)
			continue;
		if (want == GW_NW_AUTO && nw->method_off_until[m] > now)
			continue;
		err = nw_target_probe(p->t, m, nw->conf->netwatch.probe_timeout);
		if (!err) {
			c->m = m;
			c->method_set = true;
			method_sent(nw, m);
			break;
		}
		if (err == EPERM || err == EACCES)
			method_refused(p, m, err);
	}

	if (err) {
		/* nothing could send: the check ends with what it sent; one
		 * that sent nothing says "unmeasured", with the reason */
		snprintf(p->last_why, sizeof(p->last_why),
			 "no method can probe it: %s", strerror(err));
		c->to_send = 0;
		p->sending = NULL;
		if (!c->first_n)
			check_end(c);
		else
			check_maybe_end(c);
		return;
	}

	if (!c->first_n)
		c->first_n = nw_target_probed(p->t);
	c->last_n = nw_target_probed(p->t);
	if (--c->to_send)
		p->next_probe = now + nw->spacing_ms;
	else
		p->sending = NULL;
}


static void check_start(struct nw_path *p, uint64_t now)
{
	struct nw_mgr *nw = p->nw;
	struct nw_check *c;

	if (list_count(&p->checks) >= MAX_CHECKS)
		return;   /* the reactor has fallen far behind: skip one */

	c = mem_zalloc(sizeof(*c), check_destructor);
	if (!c)
		return;
	c->path = p;
	c->started = now;
	c->to_send = nw->conf->netwatch.probes_per_check;
	list_append(&p->checks, &c->le, c);
	p->sending = c;
	send_probe(p, now);
}


/* Every check and probe that is due, then the next wake-up */
static void tick(uint64_t now, void *arg)
{
	struct nw_mgr *nw = arg;
	uint64_t interval = nw->conf->netwatch.interval, next = 0;

	for (struct le *le = nw->paths.head; le; le = le->next) {
		struct nw_path *p = le->data;

		if (p->next_probe && p->next_probe <= now)
			send_probe(p, now);
		if (p->next_check && p->next_check <= now) {
			/* a stalled loop skips checks, never replays them */
			while (p->next_check <= now)
				p->next_check += interval;
			check_start(p, now);
		}
		if (p->next_check && (!next || p->next_check < next))
			next = p->next_check;
		if (p->next_probe && (!next || p->next_probe < next))
			next = p->next_probe;
	}
	if (next)
		nw_sched_at(nw->sched, next);
}


/* "10.0.0.1", "10.0.0.1:5060", "[2001:db8::1]:5061" (checked by the
 * configuration: addresses only, no DNS) */
static int parse_target(const char *s, struct sa *sa)
{
	if (!sa_decode(sa, s, strlen(s)))
		return 0;

	return sa_set_str(sa, s, 0);
}


static struct nw_path *path_find(struct nw_mgr *nw, const struct sa *a)
{
	for (struct le *le = nw->paths.head; le; le = le->next) {
		struct nw_path *p = le->data;

		if (sa_isset(&p->addr, SA_ADDR) &&
		    sa_cmp(&p->addr, a, SA_ADDR))
			return p;
	}

	return NULL;
}


static int path_add(struct nw_mgr *nw, const char *name, const struct sa *a,
		    const char *trunk, const char *unmeasured,
		    struct nw_path **pp)
{
	struct nw_path *p = a ? path_find(nw, a) : NULL;

	/* one path per address; a port given anywhere is its TCP port */
	if (p && !sa_port(&p->addr) && sa_port(a))
		sa_set_port(&p->addr, sa_port(a));
	if (!p) {
		p = mem_zalloc(sizeof(*p), path_destructor);
		if (!p)
			return ENOMEM;
		p->nw = nw;
		snprintf(p->name, sizeof(p->name), "%s", name);
		if (a) {
			p->addr = *a;
			(void)sa_ntop(a, p->addr_s, sizeof(p->addr_s));
		}
		else {
			snprintf(p->addr_s, sizeof(p->addr_s), "-");
		}
		if (strcmp(p->name, p->addr_s))
			snprintf(p->label, sizeof(p->label), "%s (%s)",
				 p->name, p->addr_s);
		else
			snprintf(p->label, sizeof(p->label), "%s", p->name);
		if (unmeasured) {
			snprintf(p->unmeasured, sizeof(p->unmeasured), "%s",
				 unmeasured);
			p->hold.state = NW_UNMEASURED;
		}
		list_append(&nw->paths, &p->le, p);
	}
	if (trunk && p->n_trunks < MAX_TRUNKS_PER_PATH)
		p->trunks[p->n_trunks++] = trunk;
	if (pp)
		*pp = p;

	return 0;
}


static bool one_host(const struct gw_cidr *c)
{
	return c->bits == (c->addr.u.sa.sa_family == AF_INET ? 32u : 128u);
}


/* What a trunk with probe: true has to probe: its outbound_uri's host,
 * and every address entry that names one host */
static int trunk_paths(struct nw_mgr *nw, const struct gw_trunk *t)
{
	int err = 0;

	/* read when the configuration loaded: always an address */
	if (t->outbound_uri) {
		struct nw_path *p;

		err = path_add(nw, t->out.host, &t->out.hop, t->name, NULL, &p);
	}

	for (size_t i = 0; !err && i < t->n_addresses; i++) {
		const struct gw_cidr *c = &t->addresses[i];
		char s[64];

		if (!one_host(c))
			continue;     /* a network: nothing single to probe */
		(void)sa_ntop(&c->addr, s, sizeof(s));
		err = path_add(nw, s, &c->addr, t->name, NULL, NULL);
	}

	return err;
}


static void mgr_destructor(void *data)
{
	struct nw_mgr *nw = data;

	list_flush(&nw->paths);
	mem_deref(nw->sched);
	mem_deref(nw->e);
	mem_deref((void *)nw->conf);
}


static int nw_alloc(void **statep, const struct gw_conf *conf,
		    struct gw_daemon *d)
{
	struct nw_mgr *nw;
	uint64_t spacing;
	int err = 0;

	nw = mem_zalloc(sizeof(*nw), mgr_destructor);
	if (!nw)
		return ENOMEM;
	nw->conf = mem_ref((void *)conf);
	nw->r = gw_daemon_reactor(d);
	nw->th.latency_ms = conf->netwatch.thresholds.latency_ms;
	nw->th.loss_pct = conf->netwatch.thresholds.loss_pct;
	nw->th.jitter_ms = conf->netwatch.thresholds.jitter_ms;

	/* the check's probes within the first half of the interval */
	spacing = conf->netwatch.interval / 2 / conf->netwatch.probes_per_check;
	nw->spacing_ms = spacing > 1000 ? 1000 : spacing ? spacing : 1;

	for (size_t i = 0; !err && i < conf->netwatch.n_targets; i++) {
		const char *s = conf->netwatch.targets[i];
		struct sa a;

		if (parse_target(s, &a))
			err = path_add(nw, s, NULL, NULL, "not an address",
				       NULL);
		else
			err = path_add(nw, s, &a, NULL, NULL, NULL);
	}
	for (size_t i = 0; !err && i < conf->n_trunks; i++) {
		if (conf->trunks[i].probe)
			err = trunk_paths(nw, &conf->trunks[i]);
	}
	if (err)
		goto out;

	err = nw_sched_alloc(&nw->sched, nw->r, GRID_MS, tick, nw);
	if (err)
		goto out;
	if (nw->paths.head) {
		err = nw_engine_alloc(&nw->e, nw->r,
				      gw_daemon_module(d, "media"),
				      conf->netwatch.method == GW_NW_AUTO ||
				      conf->netwatch.method == GW_NW_ICMP);
		if (err)
			goto out;
	}

	for (struct le *le = nw->paths.head; le; le = le->next) {
		struct nw_path *p = le->data;
		uint16_t port = sa_port(&p->addr);

		if (p->unmeasured[0])
			continue;
		err = nw_target_alloc(&p->t, nw->e, &p->addr,
				      conf->netwatch.udp_port, port,
				      on_result, p);
		if (err)
			goto out;
	}

 out:
	if (err)
		mem_deref(nw);
	else
		*statep = nw;

	return err;
}


static int nw_start(void *state)
{
	struct nw_mgr *nw = state;
	size_t n = list_count(&nw->paths), i = 0;
	uint64_t now = gw_now_ms();

	if (nw->e)
		nw_engine_log(nw->e);

	for (struct le *le = nw->paths.head; le; le = le->next, i++) {
		struct nw_path *p = le->data;

		if (p->unmeasured[0]) {
			gw_log(GW_LOG_WARN, "netwatch", "path_unmeasured",
			       GW_FIELDS(GW_FS("target", p->name),
					 GW_FS("why", p->unmeasured)),
			       "Path %s is unmeasured: %s", p->name,
			       p->unmeasured);
			continue;
		}
		/* the first checks spread over a quarter of the interval,
		 * the first at once, so that a fresh daemon knows its paths
		 * soon */
		p->next_check = now + nw->conf->netwatch.interval * i / n / 4;
	}
	nw_sched_at(nw->sched, now);

	return 0;
}


bool nw_trunk_usable(const struct nw_mgr *nw, const char *trunk,
		     const char **why)
{
	unsigned probed = 0, down = 0;

	if (!nw || !trunk)
		return true;

	for (struct le *le = nw->paths.head; le; le = le->next) {
		const struct nw_path *p = le->data;

		for (size_t i = 0; i < p->n_trunks; i++) {
			if (strcmp(p->trunks[i], trunk))
				continue;
			if (p->hold.state == NW_UNMEASURED ||
			    p->hold.state == NW_UNKNOWN)
				break;
			++probed;
			if (p->hold.state == NW_DOWN)
				++down;
			break;
		}
	}

	if (probed && down == probed) {
		if (why)
			*why = "path down";
		return false;
	}

	return true;
}


/* The i-th address of t that names one host (what netwatch probes), or
 * NULL */
static const struct gw_cidr *host_at(const struct gw_trunk *t, size_t i)
{
	for (size_t k = 0; k < t->n_addresses; k++) {
		if (one_host(&t->addresses[k]) && !i--)
			return &t->addresses[k];
	}

	return NULL;
}


/* Does b make the same paths as a? */
static bool same_probes(const struct gw_trunk *a, const struct gw_trunk *b)
{
	if (a->probe != b->probe)
		return false;
	if (!a->probe)
		return true;
	if (!gw_str_same(a->outbound_uri, b->outbound_uri) ||
	    a->transport != b->transport)
		return false;
	for (size_t i = 0; ; i++) {
		const struct gw_cidr *x = host_at(a, i), *y = host_at(b, i);

		if (!x || !y)
			return x == y;
		if (!sa_cmp(&x->addr, &y->addr, SA_ADDR))
			return false;
	}
}


/* Paths are made at start: a reload that changes what a trunk probes
 * says that it waits for a restart (the routes' trunk lists apply at
 * once: sip asks by name) */
static int nw_reload(void *state, const struct gw_conf *conf,
		     struct gw_reload *rep)
{
	struct nw_mgr *nw = state;

	for (size_t i = 0; i < conf->n_trunks; i++) {
		const struct gw_trunk *t = &conf->trunks[i];
		const struct gw_trunk *was = gw_conf_trunk(nw->conf, t->name);
		char key[48];

		if (was ? same_probes(was, t) : !t->probe)
			continue;
		snprintf(key, sizeof(key), "trunks[%zu].probe", i);
		gw_reload_restart(rep, key, "netwatch probes the trunk paths "
				  "it started with");
	}

	return 0;
}


static bool nw_enabled(const struct gw_conf *conf)
{
	if (conf->netwatch.n_targets)
		return true;
	for (size_t i = 0; i < conf->n_trunks; i++) {
		if (conf->trunks[i].probe)
			return true;
	}

	return false;
}


const struct gw_module nw_module = {
	.name = "netwatch",
	.title = "netwatch",
	.enabled = nw_enabled,
	.alloc = nw_alloc,
	.start = nw_start,
	.status = nw_mgr_status,
	.metrics = nw_mgr_metrics,
	.reload = nw_reload,
};
