/**
 * @file daemon.c  keepline serve
 *
 * One process, one thread, one reactor. SIGTERM and SIGINT stop the loop
 * (graceful: every object is freed, the control socket unlinked); SIGHUP
 * re-reads the configuration and hands it to the modules that registered a
 * reload hook, keeping the running one if the new file has errors.
 */

#include <errno.h>
#include <malloc.h>
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
#include "gateway/daemon.h"
#include "gateway/log.h"
#include "gateway/reactor.h"
#include "media/icmp.h"
#include "media/media.h"
#include "sip/sipua.h"

enum {
	MAX_PROVIDERS = 16,
	MAX_RELOADERS = 16,
	HOUSEKEEPING_MS = 10000,
	/* NTA keeps a finished transaction 64*T1 = 32 s (RFC 3261 Timer J) */
	TRIM_IDLE_MS = 40000,
};

struct reloader {
	gw_reload_h *h;
	void *arg;
};

struct gw_daemon {
	struct gw_conf *conf;
	struct gw_reactor *r;
	struct gw_ctrl *ctrl;
	struct media_mgr *mm;
	struct sipua *ua;
	struct gw_timer *housekeeping;
	uint64_t idle_since;          /**< gw_now_ms() of the last new call */
	uint64_t invites_seen;
	bool trimmed;                 /**< heap trimmed since the last call */
	uint64_t started_ms;          /**< monotonic */
	uint64_t started_wall;        /**< [s] since the epoch */
	struct gw_status_provider providers[MAX_PROVIDERS];
	size_t n_providers;
	struct reloader reloaders[MAX_RELOADERS];
	size_t n_reloaders;
	bool dns_off;                 /**< process_setup(): hosts: files */
	int dns_err;
	uint64_t fd_soft, fd_was, fd_hard;
};


void gw_daemon_apply_log(const struct gw_conf *conf)
{
	gw_log_set_level(conf->log.level);
	gw_log_set_format(conf->log.format);
}


static void on_stop_signal(int signo, void *arg)
{
	struct gw_daemon *d = arg;

	char name[16];

	snprintf(name, sizeof(name), "SIG%s", sigabbrev_np(signo));
	gw_log(GW_LOG_INFO, "gateway", "stop",
	       GW_FIELDS(GW_FS("signal", name)), "Shutting down on %s", name);

	/* tell every peer before the agent goes */
	sipua_shutdown(d->ua);
	gw_reactor_stop(d->r);
}


static void reload_error(const char *line, void *arg)
{
	(void)arg;

	gw_log(GW_LOG_ERROR, "gateway", "reload_config_error",
	       GW_FIELDS(GW_FS("error", line)), "Configuration error: %s",
	       line);
}


static void on_reload_signal(int signo, void *arg)
{
	struct gw_daemon *d = arg;
	struct gw_conf *conf;
	int err;
	(void)signo;

	if (!d->conf->path) {
		gw_log(GW_LOG_INFO, "gateway", "reload_skipped", NULL,
		       "SIGHUP: running on built-in defaults, no file to "
		       "re-read");
		return;
	}

	err = gw_conf_load(&conf, d->conf->path, reload_error, d);
	if (err) {
		gw_log(GW_LOG_ERROR, "gateway", "reload_failed",
		       GW_FIELDS(GW_FS("config", d->conf->path)),
		       "Configuration not reloaded, keeping the running one");
		return;
	}

	gw_daemon_apply_log(conf);
	for (size_t i = 0; i < d->n_reloaders; i++)
		d->reloaders[i].h(conf, d->reloaders[i].arg);

	gw_log(GW_LOG_INFO, "gateway", "reload",
	       GW_FIELDS(GW_FS("config", conf->path),
			 GW_FS("level", gw_log_level_name(conf->log.level))),
	       "Configuration reloaded (log settings now, the rest on "
	       "restart)");

	/* Modules keep pointers into the configuration they started with,
	 * so the running one stays; the hooks copied what they apply. */
	mem_deref(conf);
}


/* glibc keeps freed memory for reuse; after a burst of calls that is
 * hundreds of MB. Once no new call has come for long enough for NTA to
 * have let go of the burst's transactions, hand it back so RSS returns to
 * its baseline, also while calls stay up (malloc_trim() keeps what they
 * use). */
static void housekeeping(void *arg)
{
	struct gw_daemon *d = arg;
	struct sipua_stats st;
	uint64_t now = gw_now_ms();

	/* idle: no new INVITE for a while; calls that stay up are no
	 * reason to keep a burst's memory */
	sipua_stats(d->ua, &st);
	if (st.invites != d->invites_seen || !d->idle_since) {
		d->invites_seen = st.invites;
		d->idle_since = now;
		d->trimmed = false;
		return;
	}

	if (!d->trimmed && now - d->idle_since >= TRIM_IDLE_MS) {
		malloc_trim(0);
		d->trimmed = true;
	}
}


static void status_sip(struct odict *o, void *arg)
{
	struct gw_daemon *d = arg;

	sipua_status(d->ua, o);
}


static void status_timer(struct odict *o, void *arg)
{
	struct gw_daemon *d = arg;

	sipua_timer_status(d->ua, o);
}


static void status_media(struct odict *o, void *arg)
{
	struct gw_daemon *d = arg;
	unsigned used, total;

	media_mgr_ports(d->mm, &used, &total);
	odict_entry_add(o, "running", ODICT_BOOL, true);
	odict_entry_add(o, "ports_used", ODICT_INT, (int64_t)used);
	odict_entry_add(o, "ports_total", ODICT_INT, (int64_t)total);
}


static void status_icmp(struct odict *o, void *arg)
{
	struct gw_daemon *d = arg;

	media_icmp_status(d->mm, o);
}


static int cmd_calls(struct odict *reply, const struct odict *req, void *arg)
{
	struct gw_daemon *d = arg;
	(void)req;

	return sipua_calls(d->ua, reply);
}


static void daemon_destructor(void *data)
{
	struct gw_daemon *d = data;

	/* calls first: they hold media streams and NTA objects */
	mem_deref(d->housekeeping);
	mem_deref(d->ua);
	mem_deref(d->mm);
	mem_deref(d->ctrl);
	/* no child outlives the daemon, nor is left a zombie */
	gw_proc_shutdown();
	mem_deref(d->r);
	mem_deref(d->conf);
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

	err = gw_reactor_signal(d->r, SIGTERM, on_stop_signal, d);
	if (!err)
		err = gw_reactor_signal(d->r, SIGINT, on_stop_signal, d);
	if (!err)
		err = gw_reactor_signal(d->r, SIGHUP, on_reload_signal, d);
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
	if (err)
		goto out;

	gw_log(GW_LOG_INFO, "gateway", "ctrl_listen",
	       GW_FIELDS(GW_FS("path", path)),
	       "Control socket listening on %s", path);

	err = media_mgr_alloc(&d->mm, d->r, conf);
	if (!err)
		err = sipua_alloc(&d->ua, d->r, conf, d->mm);
	if (!err)
		err = media_icmp_start(d->mm);
	if (err)
		goto out;   /* sip/ or media/ logged why */

	err = gw_daemon_status_register(d, "sip", status_sip, d);
	if (!err)
		err = gw_daemon_status_register(d, "media", status_media, d);
	if (!err)
		err = gw_daemon_status_register(d, "session_timer",
						status_timer, d);
	if (!err)
		err = gw_daemon_status_register(d, "icmp", status_icmp, d);
	if (!err)
		err = gw_ctrl_register(d->ctrl, "calls",
				       "active calls: legs, peers, media "
				       "counters", cmd_calls, d);
	if (!err)
		err = gw_timer_alloc(&d->housekeeping, d->r);
	if (!err)
		err = gw_timer_start_periodic(d->housekeeping, HOUSEKEEPING_MS,
					      housekeeping, d);

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
	return d ? d->conf : NULL;
}


int gw_daemon_status_register(struct gw_daemon *d, const char *subsystem,
			      gw_status_h *h, void *arg)
{
	if (!d || !subsystem || !h)
		return EINVAL;

	if (d->n_providers == MAX_PROVIDERS)
		return ENOSPC;

	d->providers[d->n_providers++] = (struct gw_status_provider){
		.name = subsystem, .h = h, .arg = arg,
	};

	return 0;
}


int gw_daemon_reload_register(struct gw_daemon *d, gw_reload_h *h, void *arg)
{
	if (!d || !h)
		return EINVAL;

	if (d->n_reloaders == MAX_RELOADERS)
		return ENOSPC;

	d->reloaders[d->n_reloaders++] = (struct reloader){.h = h, .arg = arg};

	return 0;
}


uint64_t gw_daemon_started_ms(const struct gw_daemon *d)
{
	return d->started_ms;
}


uint64_t gw_daemon_started_wall(const struct gw_daemon *d)
{
	return d->started_wall;
}


const struct gw_status_provider *gw_daemon_status_provider(
	const struct gw_daemon *d, const char *subsystem)
{
	for (size_t i = 0; i < d->n_providers; i++) {
		if (!strcmp(d->providers[i].name, subsystem))
			return &d->providers[i];
	}

	return NULL;
}
