/**
 * @file reload.c  SIGHUP and `keepline reload`
 *
 * The file is read and checked as at start (every error with
 * FILE:LINE:COL; a file with errors changes nothing). Then each changed
 * key is either applied, by the module whose reload_keys cover it, to
 * what starts from now on (new calls; established ones keep the settings
 * they started with), or named as waiting for a restart. The answer and
 * the log line say which is which.
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "gateway/libre.h"
#include "gateway/conf.h"
#include "gateway/ctrl.h"
#include "gateway/daemon_int.h"
#include "gateway/log.h"

enum { LIST_MAX = 512 };

struct gw_reload {
	struct gw_daemon *d;
	struct odict *errors;         /**< array of strings */
	unsigned n_errors;
	struct odict *applied;        /**< array of key paths */
	struct odict *restart;        /**< array of {key, why} */
	char applied_s[LIST_MAX];     /**< the same, for the log line */
	char restart_s[LIST_MAX];
	unsigned n_applied, n_restart;
};


static void arr_add(struct odict *arr, unsigned *n, enum odict_type type,
		    const void *v)
{
	char key[16];

	snprintf(key, sizeof(key), "%u", (*n)++);
	if (type == ODICT_STRING)
		odict_entry_add(arr, key, type, (const char *)v);
	else
		odict_entry_add(arr, key, type, (struct odict *)v);
}


static void list_add(char *buf, const char *s)
{
	size_t len = strlen(buf);

	if (len + strlen(s) + 2 < LIST_MAX)
		snprintf(buf + len, LIST_MAX - len, "%s%s", len ? "," : "", s);
	else if (len + 4 < LIST_MAX && strcmp(buf + len - 3, "..."))
		snprintf(buf + len, LIST_MAX - len, ",...");
}


static void on_error(const char *line, void *arg)
{
	struct gw_reload *rep = arg;

	gw_log(GW_LOG_ERROR, "gateway", "reload_config_error",
	       GW_FIELDS(GW_FS("error", line)), "Configuration error: %s",
	       line);
	arr_add(rep->errors, &rep->n_errors, ODICT_STRING, line);
}


/* Which module applies key live ("log" is the daemon's own) */
static bool live(const struct gw_daemon *d, const char *key)
{
	if (!strncmp(key, "log.", 4))
		return true;

	for (size_t i = 0; i < d->n_mods; i++) {
		const char *const *k = d->mods[i].m->reload_keys;

		for (; k && *k; k++) {
			size_t n = strlen(*k);

			if (!strncmp(key, *k, n) &&
			    (!key[n] || key[n] == '.' || key[n] == '['))
				return true;
		}
	}

	return false;
}


static bool restart_listed(const struct gw_reload *rep, const char *key)
{
	for (const struct le *le = rep->restart->lst.head; le; le = le->next) {
		const struct odict_entry *e = le->data;
		const char *k = odict_string(e->u.odict, "key");

		if (k && !strcmp(k, key))
			return true;
	}

	return false;
}


void gw_reload_restart(struct gw_reload *rep, const char *key,
		       const char *why)
{
	struct odict *o;

	if (!rep || !key || restart_listed(rep, key) || odict_alloc(&o, 4))
		return;

	odict_entry_add(o, "key", ODICT_STRING, key);
	odict_entry_add(o, "why", ODICT_STRING, why);
	arr_add(rep->restart, &rep->n_restart, ODICT_OBJECT, o);
	list_add(rep->restart_s, key);
	mem_deref(o);
}


/* Changed since the start and not applied live: waits for a restart */
static void on_started_diff(const char *key, void *arg)
{
	struct gw_reload *rep = arg;

	if (!live(rep->d, key))
		gw_reload_restart(rep, key, "read when the daemon starts");
}


/* Changed since the last reload and applied live */
static void on_current_diff(const char *key, void *arg)
{
	struct gw_reload *rep = arg;

	if (live(rep->d, key) && !restart_listed(rep, key)) {
		arr_add(rep->applied, &rep->n_applied, ODICT_STRING, key);
		list_add(rep->applied_s, key);
	}
}


static int reload(struct gw_daemon *d, struct gw_reload *rep)
{
	struct gw_conf *conf = NULL;
	const char *path = d->current->path;
	int err;

	if (!path) {
		gw_log(GW_LOG_INFO, "gateway", "reload_skipped", NULL,
		       "Reload: running on built-in defaults, no file to "
		       "re-read");
		return ENOENT;
	}

	err = gw_conf_load(&conf, path, on_error, rep);
	if (!err && gw_modules_check(conf, on_error, rep))
		err = EINVAL;
	if (err) {
		++d->reload_failures;
		gw_log(GW_LOG_ERROR, "gateway", "reload_failed",
		       GW_FIELDS(GW_FS("config", path),
				 GW_FU("errors", rep->n_errors)),
		       "Configuration not reloaded, keeping the running one");
		goto out;
	}

	/* modules first: one may name a key it cannot take live */
	gw_daemon_apply_log(conf);
	for (size_t i = 0; i < d->n_mods; i++) {
		const struct gw_module *m = d->mods[i].m;

		if (m->reload)
			m->reload(d->mods[i].st, conf, rep);
	}

	gw_conf_diff(d->current, conf, on_current_diff, rep);
	gw_conf_diff(d->conf, conf, on_started_diff, rep);

	mem_deref(d->current);
	d->current = mem_ref(conf);
	++d->reloads;
	/* path was the old configuration's, which may be gone now */
	path = conf->path;

	gw_log(GW_LOG_INFO, "gateway", "reload",
	       GW_FIELDS(GW_FS("config", path),
			 GW_FS("applied", rep->applied_s),
			 GW_FS("restart", rep->restart_s),
			 GW_FS("level", gw_log_level_name(conf->log.level))),
	       "Configuration reloaded: %u change(s) applied to new calls, "
	       "%u wait for a restart", rep->n_applied, rep->n_restart);

 out:
	mem_deref(conf);

	return err;
}


static int rep_init(struct gw_reload *rep, struct gw_daemon *d)
{
	*rep = (struct gw_reload){.d = d};

	if (odict_alloc(&rep->errors, 8) || odict_alloc(&rep->applied, 16) ||
	    odict_alloc(&rep->restart, 16))
		return ENOMEM;

	return 0;
}


static void rep_close(struct gw_reload *rep)
{
	mem_deref(rep->errors);
	mem_deref(rep->applied);
	mem_deref(rep->restart);
}


void gw_reload_signal(int signo, void *arg)
{
	struct gw_reload rep;
	(void)signo;

	if (!rep_init(&rep, arg))
		reload(arg, &rep);
	rep_close(&rep);
}


int gw_reload_cmd(struct odict *reply, const struct odict *req, void *arg)
{
	struct gw_reload rep;
	char msg[128];
	int err;
	(void)req;

	err = rep_init(&rep, arg);
	if (!err)
		err = reload(arg, &rep);

	if (err == ENOENT) {
		odict_entry_add(reply, "error", ODICT_STRING,
				"running on built-in defaults: there is no "
				"file to re-read (start with -c FILE)");
	}
	else if (err == EINVAL) {
		snprintf(msg, sizeof(msg), "%u error(s) in the file: the "
			 "running configuration is kept", rep.n_errors);
		odict_entry_add(reply, "error", ODICT_STRING, msg);
		odict_entry_add(reply, "errors", ODICT_ARRAY, rep.errors);
	}
	else if (!err) {
		odict_entry_add(reply, "applied", ODICT_ARRAY, rep.applied);
		odict_entry_add(reply, "restart", ODICT_ARRAY, rep.restart);
	}

	rep_close(&rep);

	return err;
}
