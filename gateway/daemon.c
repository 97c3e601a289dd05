/**
 * @file daemon.c  keepline serve
 *
 * One process, one thread, one reactor, the modules of gateway/modules.c.
 * SIGTERM and SIGINT stop the modules in reverse table order, each
 * graceful (BYE on every leg, children reaped) within one deadline for
 * all, then the loop; every object is freed and the control socket
 * unlinked. A second signal exits at once. SIGHUP and `keepline reload`
 * are reload.c.
 */

#include <errno.h>
#include <nss.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "gateway/libre.h"
#include "gateway/conf.h"
#include "gateway/ctrl.h"
#include "gateway/daemon_int.h"
#include "gateway/log.h"
#include "gateway/reactor.h"

void gw_daemon_apply_log(const struct gw_conf *conf)
{
	gw_log_set_level(conf->log.level);
	gw_log_set_format(conf->log.format);
}


static void stop_next(struct gw_daemon *d);


static void module_done(void *arg)
{
	struct gw_mod_inst *in = arg;

	if (in->done)
		return;
	in->done = true;

	if (!in->d->in_stop && in->d->stopping)
		stop_next(in->d);
}


/* Stop the modules one by one from the end of the table; each may take
 * its time (a BYE's answer), all of them together GW_STOP_DEADLINE_MS */
static void stop_next(struct gw_daemon *d)
{
	while (d->stop_i > 0) {
		struct gw_mod_inst *in = &d->mods[d->stop_i - 1];

		if (!in->stop_called) {
			in->stop_called = true;
			if (in->m->stop) {
				d->in_stop = true;
				in->m->stop(in->st, module_done, in);
				d->in_stop = false;
			}
			else {
				in->done = true;
			}
		}

		if (!in->done)
			return;   /* module_done() carries on */

		--d->stop_i;
	}

	gw_timer_stop(d->stop_deadline);
	gw_reactor_stop(d->r);
}


static void stop_deadline(void *arg)
{
	struct gw_daemon *d = arg;
	char names[128] = "";
	size_t len = 0;

	/* the one still stopping; those before it in the table wait */
	for (size_t i = 0; i < d->stop_i; i++) {
		if (!d->mods[i].stop_called || d->mods[i].done)
			continue;
		len += (size_t)snprintf(names + len, sizeof(names) - len,
					"%s%s", len ? "," : "",
					d->mods[i].m->name);
		if (len >= sizeof(names))
			break;
	}

	gw_log(GW_LOG_WARN, "gateway", "stop_deadline",
	       GW_FIELDS(GW_FS("modules", names),
			 GW_FU("deadline_ms", GW_STOP_DEADLINE_MS)),
	       "Stopping took longer than %u ms; exiting without waiting "
	       "for: %s", (unsigned)GW_STOP_DEADLINE_MS, names);

	gw_reactor_stop(d->r);
}


static void on_stop_signal(int signo, void *arg)
{
	struct gw_daemon *d = arg;
	char name[16];

	snprintf(name, sizeof(name), "SIG%s", sigabbrev_np(signo));

	if (d->stopping) {
		gw_log(GW_LOG_WARN, "gateway", "stop_forced",
		       GW_FIELDS(GW_FS("signal", name)),
		       "%s again: exiting without waiting for the modules",
		       name);
		gw_reactor_stop(d->r);
		return;
	}

	gw_log(GW_LOG_INFO, "gateway", "stop",
	       GW_FIELDS(GW_FS("signal", name)), "Shutting down on %s", name);

	d->stopping = true;
	d->stop_i = d->n_mods;
	gw_timer_start(d->stop_deadline, GW_STOP_DEADLINE_MS, stop_deadline,
		       d);
	stop_next(d);
}


void *gw_daemon_module(struct gw_daemon *d, const char *name)
{
	for (size_t i = 0; d && name && i < d->n_mods; i++) {
		if (!strcmp(d->mods[i].m->name, name))
			return d->mods[i].st;
	}

	return NULL;
}


int gw_module_share(void **statep, struct gw_daemon *d, const char *name)
{
	void *st = gw_daemon_module(d, name);

	if (!statep || !st)
		return ENOENT;

	*statep = mem_ref(st);

	return 0;
}


/* Modules go in reverse order: SIP's calls hold media streams */
static void daemon_destructor(void *data)
{
	struct gw_daemon *d = data;

	mem_deref(d->stop_deadline);
	for (size_t i = d->n_mods; i > 0; i--)
		mem_deref(d->mods[i - 1].st);
	mem_deref(d->ctrl);
	/* no child outlives the daemon, nor is left a zombie */
	gw_proc_shutdown();
	mem_deref(d->r);
	mem_deref(d->current);
	mem_deref(d->conf);
}


/* Allocate every built and enabled module in table order, then start
 * them in the same order */
static int modules_start(struct gw_daemon *d)
{
	int err;

	for (size_t i = 0; gw_modules[i]; i++) {
		const struct gw_module *m = gw_modules[i];
		struct gw_mod_inst *in;

		if (!m->alloc || (m->enabled && !m->enabled(d->conf)))
			continue;
		if (d->n_mods == GW_MAX_MODULES)
			return ENOSPC;

		in = &d->mods[d->n_mods];
		*in = (struct gw_mod_inst){.m = m, .d = d};
		err = m->alloc(&in->st, d->conf, d);
		if (err)
			return err;   /* the module logged why */
		++d->n_mods;
	}

	for (size_t i = 0; i < d->n_mods; i++) {
		const struct gw_module *m = d->mods[i].m;

		err = m->start ? m->start(d->mods[i].st) : 0;
		if (err)
			return err;
	}

	return 0;
}


/*
 * Process-wide policies, once, before any socket (reported by
 * process_report() when the daemon starts):
 *
 * No DNS. Keepline's addresses all come from its configuration as IP
 * addresses, and a host name a peer writes (Via maddr, Contact,
 * Record-Route) must never make the one thread wait on a resolver. Our
 * requests go to IP next hops (call_next_hop()), so Sofia's own resolver
 * is never asked; what is left is the getaddrinfo() Sofia's transports
 * call for a response's Via, which would block on an unanswering
 * nameserver. Host lookups are limited to /etc/hosts, for this process
 * only (glibc's documented override of nsswitch.conf).
 *
 * File descriptors: every SIP TCP/TLS connection and every RTP/RTCP
 * socket is one; the soft limit (often 1,024) is raised to the hard one.
 */
static void process_setup(struct gw_daemon *d)
{
	struct rlimit rl;

	d->dns_off = __nss_configure_lookup("hosts", "files") == 0;
	d->dns_err = d->dns_off ? 0 : errno;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	d->fd_was = rl.rlim_cur;
	d->fd_hard = rl.rlim_max;
	rl.rlim_cur = rl.rlim_max;
	if (d->fd_was < d->fd_hard && setrlimit(RLIMIT_NOFILE, &rl))
		rl.rlim_cur = d->fd_was;
	d->fd_soft = rl.rlim_cur;
}


static void process_report(const struct gw_daemon *d)
{
	if (d->dns_off)
		gw_log(GW_LOG_INFO, "gateway", "dns_off",
		       GW_FIELDS(GW_FS("hosts", "files")),
		       "Host names are looked up in /etc/hosts only: no DNS "
		       "query is ever made");
	else
		gw_log(GW_LOG_WARN, "gateway", "dns_off_failed",
		       GW_FIELDS(GW_FERR(d->dns_err)),
		       "Cannot limit host lookups to /etc/hosts: a peer's host "
		       "name could stall the daemon on DNS");

	if (d->fd_soft != d->fd_was)
		gw_log(GW_LOG_INFO, "gateway", "fd_limit",
		       GW_FIELDS(GW_FU("soft", d->fd_soft),
				 GW_FU("was", d->fd_was),
				 GW_FU("hard", d->fd_hard)),
		       "File descriptor limit %llu (was %llu)",
		       (unsigned long long)d->fd_soft,
		       (unsigned long long)d->fd_was);
	else
		gw_log(GW_LOG_INFO, "gateway", "fd_limit",
		       GW_FIELDS(GW_FU("soft", d->fd_soft),
				 GW_FU("was", d->fd_was),
				 GW_FU("hard", d->fd_hard)),
		       "File descriptor limit %llu",
		       (unsigned long long)d->fd_soft);
}


int gw_daemon_alloc(struct gw_daemon **dp, struct gw_conf *conf)
{
	struct gw_daemon *d;
	const char *path;
	int err;

	if (!dp || !conf)
		return EINVAL;

	d = mem_zalloc(sizeof(*d), daemon_destructor);
	if (!d)
		return ENOMEM;

	d->conf = mem_ref(conf);
	d->current = mem_ref(conf);
	d->started_ms = gw_now_ms();
	d->started_wall = (uint64_t)time(NULL);

	gw_daemon_apply_log(conf);

	/* a client that disconnects mid-reply must not kill the daemon */
	signal(SIGPIPE, SIG_IGN);
	process_setup(d);

	err = gw_reactor_alloc(&d->r);
	if (err) {
		gw_log(GW_LOG_ERROR, "gateway", "reactor_failed",
		       GW_FIELDS(GW_FERR(err)), "Cannot create the reactor");
		goto out;
	}

	err = gw_timer_alloc(&d->stop_deadline, d->r);
	if (!err)
		err = gw_reactor_signal(d->r, SIGTERM, on_stop_signal, d);
	if (!err)
		err = gw_reactor_signal(d->r, SIGINT, on_stop_signal, d);
	if (!err)
		err = gw_reactor_signal(d->r, SIGHUP, gw_reload_signal, d);
	if (err) {
		gw_log(GW_LOG_ERROR, "gateway", "signals_failed",
		       GW_FIELDS(GW_FERR(err)), "Cannot set up signal handling");
		goto out;
	}

	path = conf->control.socket ? conf->control.socket :
		gw_ctrl_default_path();

	err = gw_ctrl_alloc(&d->ctrl, d->r, path);
	if (err) {
		gw_log(GW_LOG_ERROR, "gateway", "ctrl_failed",
		       GW_FIELDS(GW_FS("path", path), GW_FERR(err)),
		       err == EADDRINUSE ?
		       "Control socket %s is in use: is keepline already "
		       "running?" : "Cannot open control socket %s", path);
		goto out;
	}

	err = gw_ctrl_register(d->ctrl, "status",
			       "version, uptime, subsystems and counters",
			       gw_status_cmd, d);
	if (!err)
		err = gw_ctrl_register(d->ctrl, "metrics",
				       "every module's metrics, Prometheus "
				       "text format", gw_metrics_cmd, d);
	if (!err)
		err = gw_ctrl_register(d->ctrl, "reload",
				       "re-read the configuration file",
				       gw_reload_cmd, d);
	if (!err)
		err = gw_ctrl_set_privileged(d->ctrl, "reload");
	if (err)
		goto out;

	gw_log(GW_LOG_INFO, "gateway", "ctrl_listen",
	       GW_FIELDS(GW_FS("path", path)),
	       "Control socket listening on %s", path);

	err = modules_start(d);

 out:
	if (err)
		mem_deref(d);
	else
		*dp = d;

	return err;
}


int gw_daemon_run(struct gw_daemon *d)
{
	int err;

	if (!d)
		return EINVAL;

	process_report(d);
	gw_log(GW_LOG_INFO, "gateway", "start",
	       GW_FIELDS(GW_FS("version", VERSION), GW_FI("pid", getpid()),
			 GW_FS("config", d->conf->path ? d->conf->path :
			       "built-in defaults")),
	       "Keepline %s started", VERSION);

	err = gw_reactor_run(d->r);

	gw_log(GW_LOG_INFO, "gateway", "stopped",
	       GW_FIELDS(GW_FU("uptime_s",
			       (gw_now_ms() - d->started_ms) / 1000)),
	       "Keepline stopped");

	return err;
}


struct gw_reactor *gw_daemon_reactor(struct gw_daemon *d)
{
	return d ? d->r : NULL;
}


struct gw_ctrl *gw_daemon_ctrl(struct gw_daemon *d)
{
	return d ? d->ctrl : NULL;
}


const struct gw_conf *gw_daemon_conf(const struct gw_daemon *d)
{
	return d ? d->current : NULL;
}
