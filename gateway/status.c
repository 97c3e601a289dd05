/**
 * @file status.c  `keepline status`: the daemon's side and the CLI's print
 *
 * The subsystems come from the module table (module.h), each saying what
 * it does now: the status never claims more than the process does.
 */

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/libre.h"
#include "gateway/conf.h"
#include "gateway/ctrl.h"
#include "gateway/daemon_int.h"
#include "gateway/metrics.h"
#include "gateway/log.h"
#include "gateway/reactor.h"

/* One section per module of the table, in table order: what it says of
 * itself when it runs; "not running" when the configuration turned it
 * off; "not in this build" when this binary lacks it */
static void add_modules(struct odict *subs, struct gw_daemon *d)
{
	const struct gw_conf *conf = gw_daemon_conf(d);

	for (size_t i = 0; gw_modules[i]; i++) {
		const struct gw_module *m = gw_modules[i];
		const struct gw_mod_inst *in = NULL;
		struct odict *o;

		for (size_t j = 0; j < d->n_mods; j++) {
			if (d->mods[j].m == m)
				in = &d->mods[j];
		}

		if (odict_alloc(&o, 16))
			return;

		if (in) {
			m->status(in->st, o);
		}
		else {
			if (!m->alloc)
				odict_entry_add(o, "built", ODICT_BOOL, false);
			odict_entry_add(o, "running", ODICT_BOOL, false);
		}
		/* a module may say itself what "enabled" means for it */
		if (!odict_lookup(o, "enabled"))
			odict_entry_add(o, "enabled", ODICT_BOOL,
					!m->enabled || m->enabled(conf));

		odict_entry_add(subs, m->name, ODICT_OBJECT, o);
		mem_deref(o);
	}
}


int gw_metrics_cmd(struct odict *reply, const struct odict *req, void *arg)
{
	struct gw_daemon *d = arg;
	struct gw_ctrl_stats cs;
	struct gw_metrics *m;
	const char *text;
	int err;
	(void)req;

	err = gw_metrics_alloc(&m);
	if (err)
		return err;

	gw_ctrl_stats(d->ctrl, &cs);
	gw_metric(m, GW_GAUGE, "uptime_seconds",
		  "Seconds since the daemon started",
		  (double)(gw_now_ms() - d->started_ms) / 1000.0);
	gw_metric(m, GW_COUNTER, "control_requests_total",
		  "Control socket requests answered", (double)cs.requests);
	gw_metric_l(m, GW_COUNTER, "log_events_total",
		    "Log lines written, by level", "level", "warn",
		    (double)gw_log_count(GW_LOG_WARN));
	gw_metric_l(m, GW_COUNTER, "log_events_total",
		    "Log lines written, by level", "level", "error",
		    (double)gw_log_count(GW_LOG_ERROR));
	gw_metric(m, GW_COUNTER, "reloads_total",
		  "Configurations applied by a reload", (double)d->reloads);
	gw_metric(m, GW_COUNTER, "reload_failures_total",
		  "Reloads refused: the file had errors",
		  (double)d->reload_failures);

	for (size_t i = 0; i < d->n_mods; i++) {
		if (d->mods[i].m->metrics)
			d->mods[i].m->metrics(d->mods[i].st, m);
	}

	text = gw_metrics_text(m);
	if (text)
		odict_entry_add(reply, "text", ODICT_STRING, text);
	else
		err = ENOMEM;

	mem_deref(m);

	return err;
}


int gw_status_cmd(struct odict *reply, const struct odict *req, void *arg)
{
	struct gw_daemon *d = arg;
	const struct gw_conf *conf = gw_daemon_conf(d);
	struct gw_ctrl_stats cs;
	struct odict *ctrl = NULL, *log = NULL, *subs = NULL;
	char started[32];
	time_t t = (time_t)d->started_wall;
	struct tm tm;
	int err = ENOMEM;
	(void)req;

	gmtime_r(&t, &tm);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);

	odict_entry_add(reply, "version", ODICT_STRING, VERSION);
	odict_entry_add(reply, "pid", ODICT_INT, (int64_t)getpid());
	odict_entry_add(reply, "started", ODICT_STRING, started);
	odict_entry_add(reply, "uptime_s", ODICT_INT,
			(int64_t)((gw_now_ms() - d->started_ms) /
				  1000));
	odict_entry_add(reply, "config", ODICT_STRING,
			conf->path ? conf->path : "built-in defaults");

	if (odict_alloc(&ctrl, 8) || odict_alloc(&log, 8) ||
	    odict_alloc(&subs, 16))
		goto out;

	gw_ctrl_stats(d->ctrl, &cs);
	odict_entry_add(ctrl, "socket", ODICT_STRING,
			gw_ctrl_path(d->ctrl));
	odict_entry_add(ctrl, "clients", ODICT_INT, (int64_t)cs.clients);
	odict_entry_add(ctrl, "requests", ODICT_INT, (int64_t)cs.requests);
	odict_entry_add(ctrl, "errors", ODICT_INT, (int64_t)cs.errors);
	odict_entry_add(ctrl, "clients_rejected", ODICT_INT,
			(int64_t)cs.clients_rejected);
	odict_entry_add(reply, "control", ODICT_OBJECT, ctrl);

	odict_entry_add(log, "level", ODICT_STRING,
			gw_log_level_name(gw_log_get_level()));
	odict_entry_add(log, "warnings", ODICT_INT,
			(int64_t)gw_log_count(GW_LOG_WARN));
	odict_entry_add(log, "errors", ODICT_INT,
			(int64_t)gw_log_count(GW_LOG_ERROR));
	odict_entry_add(reply, "log", ODICT_OBJECT, log);

	add_modules(subs, d);
	odict_entry_add(reply, "subsystems", ODICT_OBJECT, subs);

	err = 0;

 out:
	mem_deref(ctrl);
	mem_deref(log);
	mem_deref(subs);

	return err;
}


static const char *str(const struct odict *o, const char *key)
{
	const char *s = o ? odict_string(o, key) : NULL;

	return s ? s : "-";
}


static int64_t num(const struct odict *o, const char *key)
{
	const struct odict_entry *e = o ? odict_lookup(o, key) : NULL;

	return e && e->type == ODICT_INT ? e->u.integer : 0;
}


static bool flag(const struct odict *o, const char *key)
{
	bool b = false;

	return o && odict_get_boolean(o, &b, key) && b;
}


static const struct odict *obj(const struct odict *o, const char *key)
{
	const struct odict_entry *e = o ? odict_lookup(o, key) : NULL;

	return e && e->type == ODICT_OBJECT ? e->u.odict : NULL;
}


/* A subsystem's counters on one indented line: "key=value ..." */
static void print_counters(const struct odict *s)
{
	bool any = false;

	for (struct le *le = s ? s->lst.head : NULL; le; le = le->next) {
		const struct odict_entry *e = le->data;

		if (e->type != ODICT_INT)
			continue;
		printf("%s%s=%lld", any ? " " : "    ", e->key,
		       (long long)e->u.integer);
		any = true;
	}
	if (any)
		printf("\n");
}


/* A subsystem's own lines ("lines": an array of strings), indented */
static void print_lines(const struct odict *s)
{
	const struct odict_entry *a = s ? odict_lookup(s, "lines") : NULL;

	if (!a || a->type != ODICT_ARRAY)
		return;
	for (struct le *le = a->u.odict->lst.head; le; le = le->next) {
		const struct odict_entry *e = le->data;

		if (e->type == ODICT_STRING)
			printf("    %s\n", e->u.str);
	}
}


void gw_status_print(const struct odict *reply)
{
	const struct odict *ctrl = obj(reply, "control");
	const struct odict *log = obj(reply, "log");
	const struct odict *subs = obj(reply, "subsystems");
	int64_t up = num(reply, "uptime_s");

	printf("keepline %s, pid %lld, up %lldd %02lld:%02lld:%02lld "
	       "(since %s)\n",
	       odict_string(reply, "version"), (long long)num(reply, "pid"),
	       (long long)(up / 86400), (long long)(up / 3600 % 24),
	       (long long)(up / 60 % 60), (long long)(up % 60),
	       odict_string(reply, "started"));
	printf("config:   %s\n", odict_string(reply, "config"));
	printf("control:  %s (%lld client%s, %lld requests, %lld errors)\n",
	       odict_string(ctrl, "socket"), (long long)num(ctrl, "clients"),
	       num(ctrl, "clients") == 1 ? "" : "s",
	       (long long)num(ctrl, "requests"),
	       (long long)num(ctrl, "errors"));
	printf("log:      level %s, %lld warnings, %lld errors\n",
	       odict_string(log, "level"), (long long)num(log, "warnings"),
	       (long long)num(log, "errors"));
	printf("subsystems:\n");

	for (struct le *le = subs ? subs->lst.head : NULL; le; le = le->next) {
		const struct odict_entry *e = le->data;
		const struct odict *s = e->type == ODICT_OBJECT ?
			e->u.odict : NULL;

		const struct odict_entry *built = s ?
			odict_lookup(s, "built") : NULL;

		printf("  %-14s %-9s %s%s\n", e->key,
		       flag(s, "enabled") ? "enabled" : "disabled",
		       flag(s, "running") ? "running" : "not running",
		       built && built->type == ODICT_BOOL && !built->u.boolean ?
		       " (not in this build yet)" : "");
		print_counters(s);
		print_lines(s);
	}
}


void gw_calls_print(const struct odict *reply)
{
	const struct odict_entry *calls = odict_lookup(reply, "calls");
	unsigned n = 0;

	if (!calls || calls->type != ODICT_ARRAY || !calls->u.odict->lst.head) {
		printf("no active calls\n");
		return;
	}

	for (struct le *le = calls->u.odict->lst.head; le; le = le->next) {
		const struct odict_entry *e = le->data;
		const struct odict *c = e->type == ODICT_OBJECT ?
			e->u.odict : NULL;
		const struct odict_entry *legs = c ? odict_lookup(c, "legs") :
			NULL;

		printf("%s  route=%s trunk=%s to=%s state=%s age=%llds\n",
		       str(c, "call_id"), str(c, "route"), str(c, "trunk"),
		       str(c, "to"), str(c, "state"),
		       (long long)num(c, "age_s"));

		if (!legs || legs->type != ODICT_ARRAY)
			continue;

		for (struct le *l = legs->u.odict->lst.head; l; l = l->next) {
			const struct odict_entry *le2 = l->data;
			const struct odict *leg = le2->type == ODICT_OBJECT ?
				le2->u.odict : NULL;
			const struct odict *m = obj(leg, "media");

			const struct odict *st = obj(leg, "session_timer");

			printf("  %-8s sip %s  rtp %s <-> %s  "
			       "rx %lld pkts  tx %lld pkts  %s\n",
			       str(leg, "role"), str(leg, "signalling"),
			       str(m, "local"),
			       odict_string(m, "remote") ? str(m, "remote") :
			       str(m, "remote_sdp"),
			       (long long)num(m, "rx_packets"),
			       (long long)num(m, "tx_packets"),
			       str(m, "direction"));
			if (st)
				printf("           timer %llds refresher=%s "
				       "(we are %s) next %s in %llds\n",
				       (long long)num(st, "interval_s"),
				       str(st, "refresher"), str(st, "we_are"),
				       str(st, "next"),
				       (long long)num(st, "next_in_s"));
			else
				printf("           timer off\n");
		}
		++n;
	}

	printf("%u call%s\n", n, n == 1 ? "" : "s");
}
