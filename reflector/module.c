/**
 * @file module.c  reflector/ in the module table (reflector.h)
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gateway/libre.h"
#include "gateway/conf.h"
#include "gateway/ctrl.h"
#include "gateway/daemon.h"
#include "gateway/log.h"
#include "gateway/metrics.h"
#include "gateway/module.h"
#include "gateway/reactor.h"
#include "reflector/access.h"
#include "reflector/id.h"
#include "reflector/audit.h"
#include "reflector/identity.h"
#include "reflector/reflector.h"
#include "reflector/refl_int.h"
#include "reflector/session.h"
#include "reflector/tls.h"

enum {
	PAIR_TTL_DEFAULT_MS = 10 * 60 * 1000,
	PAIR_TTL_MAX_MS = 24 * 3600 * 1000,
};


int refl_peers_path(char *buf, size_t size, const char *key_path,
		    const char *name)
{
	const char *slash = strrchr(key_path, '/');
	int n;

	if (slash)
		n = snprintf(buf, size, "%.*s/%s", (int)(slash - key_path),
			     key_path, name);
	else
		n = snprintf(buf, size, "%s", name);

	return n < 0 || (size_t)n >= size ? ENAMETOOLONG : 0;
}


static void refl_destructor(void *data)
{
	struct refl *rf = data;

	refl_link_close_all(rf);
	mem_deref(rf->lw);
	if (rf->lfd >= 0)
		close(rf->lfd);
	mem_deref(rf->sessions);
	mem_deref(rf->access);
	mem_deref(rf->audit);
	mem_deref(rf->tls);
	mem_deref(rf->id);
	mem_deref((void *)rf->conf);
	mem_deref((void *)rf->current);
}


static int ctrl_fail(struct odict *reply, int err, const char *msg)
{
	odict_entry_add(reply, "error", ODICT_STRING, msg);

	return err;
}


/* {"cmd":"reflector.pair","ttl_ms":N,"code":"..."} */
static int pair_cmd(struct odict *reply, const struct odict *req, void *arg)
{
	struct refl *rf = arg;
	char code[REFL_PAIR_CODE_MAX + 1], expires[40];
	uint64_t ttl = PAIR_TTL_DEFAULT_MS;
	const char *want = odict_string(req, "code");
	struct odict *params;
	int err;

	if (!rf->current->reflector.access.pairing_enabled)
		return ctrl_fail(reply, EPERM, "pairing is off "
				 "(reflector.access.pairing_enabled: false)");
	if (odict_lookup(req, "ttl_ms") &&
	    (!odict_get_number(req, &ttl, "ttl_ms") || ttl < 1000 ||
	     ttl > PAIR_TTL_MAX_MS))
		return ctrl_fail(reply, EINVAL, "ttl must be 1 s to 24 h");

	err = refl_access_window_open(rf->access, want, ttl, gw_now_ms(),
				      code);
	if (err)
		return ctrl_fail(reply, err, err == EINVAL ?
				 "a code is 6 to 64 letters, digits or '-'" :
				 "no random bytes for a code");

	gw_rfc3339(expires, sizeof(expires), gw_wall_ms() + ttl);
	if (!odict_alloc(&params, 4)) {
		odict_entry_add(params, "ttl_sec", ODICT_INT,
				(int64_t)(ttl / 1000));
		odict_entry_add(params, "expires_at", ODICT_STRING, expires);
		odict_entry_add(params, "operator_code", ODICT_BOOL,
				want != NULL);
	}
	/* the code itself is a secret: never in the audit log nor the logs */
	refl_audit_write(rf->audit, "pairing_enabled", REFL_AUDIT_REC(
		.params = params, .decision = "allowed"));
	mem_deref(params);
	gw_log(GW_LOG_INFO, "reflector", "pairing_enabled",
	       GW_FIELDS(GW_FU("ttl_sec", ttl / 1000),
			 GW_FS("expires_at", expires)),
	       "Pairing window open until %s", expires);

	odict_entry_add(reply, "code", ODICT_STRING, code);
	odict_entry_add(reply, "ttl_sec", ODICT_INT, (int64_t)(ttl / 1000));
	odict_entry_add(reply, "expires_at", ODICT_STRING, expires);
	odict_entry_add(reply, "endpoint_id", ODICT_STRING,
			refl_identity_id(rf->id));

	return 0;
}


static int rotate_cmd(struct odict *reply, const struct odict *req,
		      void *arg)
{
	struct refl *rf = arg;
	const char *path = rf->conf->reflector.identity.private_key_path;
	struct refl_identity *id = NULL;
	struct refl_tls *tls = NULL;
	char old[REFL_ID_LEN + 1], why[PATH_MAX + 160];
	struct odict *params;
	int err;
	(void)req;

	err = refl_identity_rotate(&id, path, why, sizeof(why));
	if (!err)
		err = refl_tls_alloc(&tls, id, true,
				     rf->conf->reflector.network.alpn, why,
				     sizeof(why));
	if (err) {
		mem_deref(id);
		gw_log(GW_LOG_ERROR, "reflector", "identity_rotate_failed",
		       GW_FIELDS(GW_FS("path", path), GW_FS("reason", why)),
		       "Cannot rotate the identity in %s: %s", path, why);
		return ctrl_fail(reply, err, why);
	}

	str_ncpy(old, refl_identity_id(rf->id), sizeof(old));
	mem_deref(rf->id);
	rf->id = id;
	mem_deref(rf->tls);
	rf->tls = tls;             /* open links keep the one they began on */
	refl_audit_set_endpoint(rf->audit, refl_identity_id(id));

	if (!odict_alloc(&params, 4))
		odict_entry_add(params, "previous_endpoint_id", ODICT_STRING,
				old);
	refl_audit_write(rf->audit, "identity_rotated", REFL_AUDIT_REC(
		.params = params, .decision = "allowed"));
	mem_deref(params);
	gw_log(GW_LOG_INFO, "reflector", "identity_rotated",
	       GW_FIELDS(GW_FS("endpoint_id", refl_identity_id(id)),
			 GW_FS("previous", old)),
	       "Identity rotated: now %s (was %s)", refl_identity_id(id),
	       old);

	odict_entry_add(reply, "endpoint_id", ODICT_STRING,
			refl_identity_id(id));
	odict_entry_add(reply, "previous_endpoint_id", ODICT_STRING, old);

	return 0;
}


/* {"cmd":"reflector.unpair","peer_id":"PP-..."} */
static int unpair_cmd(struct odict *reply, const struct odict *req,
		      void *arg)
{
	struct refl *rf = arg;
	const char *want = odict_string(req, "peer_id");
	char id[REFL_ID_LEN + 1];
	unsigned links, sessions;
	int err;

	if (!want)
		return ctrl_fail(reply, EINVAL, "peer_id missing");
	err = refl_access_unpair(rf->access, want, id);
	switch (err) {
	case 0:
		break;
	case EINVAL:
		return ctrl_fail(reply, err, "not an Endpoint ID");
	case ENOENT:
		return ctrl_fail(reply, err, "no such paired peer");
	case EPERM:
		return ctrl_fail(reply, err, "that peer is in reflector.access."
				 "authorized_peers: remove it there (and "
				 "reload or restart)");
	default:
		gw_log(GW_LOG_ERROR, "reflector", "peers_write_failed",
		       GW_FIELDS(GW_FERR(err)),
		       "Cannot rewrite the paired peers file");
		break;
	}

	/* gone from now on: its links and sessions too */
	links = refl_link_drop_peer(rf, id);
	sessions = refl_sessions_close_peer(rf->sessions, id, "peer_removed");
	refl_audit_write(rf->audit, "peer_removed", REFL_AUDIT_REC(
		.peer_id = id, .decision = "allowed",
		.reason = "keepline reflector unpair"));
	gw_log(GW_LOG_INFO, "reflector", "peer_removed",
	       GW_FIELDS(GW_FS("peer_id", id), GW_FU("links", links),
			 GW_FU("sessions", sessions)),
	       "Peer %s removed (%u links closed, %u sessions ended)", id,
	       links, sessions);

	odict_entry_add(reply, "peer_id", ODICT_STRING, id);
	odict_entry_add(reply, "links_closed", ODICT_INT, (int64_t)links);
	odict_entry_add(reply, "sessions_ended", ODICT_INT,
			(int64_t)sessions);
	if (err)
		odict_entry_add(reply, "warning", ODICT_STRING, "removed now, "
				"but the paired peers file could not be "
				"rewritten: it comes back after a restart");

	return 0;
}


static int refl_alloc(void **statep, const struct gw_conf *conf,
		      struct gw_daemon *d)
{
	const char *key = conf->reflector.identity.private_key_path;
	const char *audit = conf->reflector.logging.audit_log_path;
	char why[PATH_MAX + 200], store[PATH_MAX], quota[PATH_MAX];
	struct gw_ctrl *ctrl = gw_daemon_ctrl(d);
	struct refl *rf;
	bool created;
	int err;

	rf = mem_zalloc(sizeof(*rf), refl_destructor);
	if (!rf)
		return ENOMEM;
	rf->lfd = -1;
	rf->d = d;
	rf->r = gw_daemon_reactor(d);
	rf->conf = mem_ref((void *)conf);
	rf->current = mem_ref((void *)conf);

	err = refl_identity_load(&rf->id, key, &created, why, sizeof(why));
	if (err) {
		gw_log(GW_LOG_ERROR, "reflector", "identity_failed",
		       GW_FIELDS(GW_FS("path", key), GW_FS("reason", why)),
		       "reflector.identity.private_key_path %s: %s", key, why);
		goto out;
	}
	gw_log(GW_LOG_INFO, "reflector", "identity_ready",
	       GW_FIELDS(GW_FS("endpoint_id", refl_identity_id(rf->id)),
			 GW_FS("path", key), GW_FB("created", created)),
	       "identity ready: %s%s", refl_identity_id(rf->id),
	       created ? " (new key)" : "");

	err = refl_audit_open(&rf->audit, audit, refl_identity_id(rf->id),
			      why, sizeof(why));
	if (err) {
		gw_log(GW_LOG_ERROR, "reflector", "audit_failed",
		       GW_FIELDS(GW_FS("path", audit), GW_FS("reason", why)),
		       "reflector.logging.audit_log_path %s: %s", audit, why);
		goto out;
	}

	err = refl_peers_path(store, sizeof(store), key, "paired_peers.json");
	if (!err)
		err = refl_peers_path(quota, sizeof(quota), key, "quota.json");
	if (!err)
		err = refl_access_alloc(&rf->access,
					conf->reflector.access.authorized_peers,
					conf->reflector.access.n_authorized_peers,
					store, why, sizeof(why));
	if (err) {
		gw_log(GW_LOG_ERROR, "reflector", "peers_failed",
		       GW_FIELDS(GW_FS("path", store), GW_FS("reason", why)),
		       "Paired peers %s: %s", store, why);
		goto out;
	}

	err = refl_tls_alloc(&rf->tls, rf->id, true,
			     conf->reflector.network.alpn, why, sizeof(why));
	if (!err)
		err = refl_sessions_alloc(&rf->sessions, rf->r, conf,
					  rf->audit, quota);
	if (!err)
		err = refl_link_listen(rf, why, sizeof(why));
	if (err) {
		gw_log(GW_LOG_ERROR, "reflector", "listen_failed",
		       GW_FIELDS(GW_FS("reason", why), GW_FERR(err)),
		       "Reflector: %s", why);
		goto out;
	}

	err = gw_ctrl_register(ctrl, "reflector.pair", "open a pairing "
			       "window: {\"ttl_ms\":N,\"code\":\"...\"}",
			       pair_cmd, rf);
	if (!err)
		err = gw_ctrl_set_privileged(ctrl, "reflector.pair");
	if (!err)
		err = gw_ctrl_register(ctrl, "reflector.rotate_identity",
				       "replace the reflector's key",
				       rotate_cmd, rf);
	if (!err)
		err = gw_ctrl_set_privileged(ctrl,
					     "reflector.rotate_identity");
	if (!err)
		err = gw_ctrl_register(ctrl, "reflector.unpair",
				       "remove a paired peer: "
				       "{\"peer_id\":\"PP-...\"}",
				       unpair_cmd, rf);
	if (!err)
		err = gw_ctrl_set_privileged(ctrl, "reflector.unpair");

 out:
	if (err)
		mem_deref(rf);
	else
		*statep = rf;

	return err;
}


static int refl_start(void *state)
{
	struct refl *rf = state;
	size_t paired, n = refl_access_count(rf->access, &paired);

	gw_log(GW_LOG_INFO, "reflector", "listening",
	       GW_FIELDS(GW_FS("listen", rf->listen),
			 GW_FS("endpoint_id", refl_identity_id(rf->id)),
			 GW_FU("peers", n), GW_FU("paired", paired)),
	       "reflector listening on %s as %s (%zu authorized peers, %zu "
	       "paired)", rf->listen, refl_identity_id(rf->id), n, paired);

	return 0;
}


static void refl_stop(void *state, gw_module_done_h *done, void *arg)
{
	struct refl *rf = state;

	/* the audit log records every session's end */
	refl_sessions_close_all(rf->sessions, "shutdown");
	refl_link_close_all(rf);
	done(arg);
}


static void refl_status(void *state, struct odict *o)
{
	struct refl *rf = state;
	size_t paired, n = refl_access_count(rf->access, &paired);
	uint64_t rem = 0;
	bool win = refl_access_window(rf->access, gw_now_ms(), &rem);

	odict_entry_add(o, "running", ODICT_BOOL, true);
	odict_entry_add(o, "endpoint_id", ODICT_STRING,
			refl_identity_id(rf->id));
	odict_entry_add(o, "listen", ODICT_STRING, rf->listen);
	odict_entry_add(o, "links", ODICT_INT, (int64_t)refl_link_count(rf));
	odict_entry_add(o, "peers", ODICT_INT, (int64_t)n);
	odict_entry_add(o, "paired", ODICT_INT, (int64_t)paired);
	odict_entry_add(o, "pairing_window", ODICT_BOOL, win);
	if (win)
		odict_entry_add(o, "pairing_remaining_sec", ODICT_INT,
				(int64_t)(rem / 1000));
	odict_entry_add(o, "accepted", ODICT_INT, (int64_t)rf->st.accepted);
	odict_entry_add(o, "handshakes", ODICT_INT,
			(int64_t)rf->st.handshakes);
	odict_entry_add(o, "handshake_failed", ODICT_INT,
			(int64_t)rf->st.handshake_failed);
	odict_entry_add(o, "handshake_timeouts", ODICT_INT,
			(int64_t)rf->st.handshake_timeouts);
	odict_entry_add(o, "denied", ODICT_INT, (int64_t)rf->st.denied);
	odict_entry_add(o, "refused_full", ODICT_INT,
			(int64_t)rf->st.refused_full);
	odict_entry_add(o, "idle_closed", ODICT_INT,
			(int64_t)rf->st.idle_closed);
	odict_entry_add(o, "frames_in", ODICT_INT, (int64_t)rf->st.frames_in);
	odict_entry_add(o, "frames_refused", ODICT_INT,
			(int64_t)rf->st.frames_bad);
	odict_entry_add(o, "audit_records", ODICT_INT,
			(int64_t)refl_audit_count(rf->audit));
	refl_sessions_status(rf->sessions, o);
	refl_sessions_list(rf->sessions, o);
}


static void refl_metrics(void *state, struct gw_metrics *m)
{
	struct refl *rf = state;

	gw_metric(m, GW_GAUGE, "reflector_links",
		  "pp-link/1 control connections open",
		  (double)refl_link_count(rf));
	gw_metric(m, GW_COUNTER, "reflector_handshakes_total",
		  "TLS handshakes completed with a proven key",
		  (double)rf->st.handshakes);
	gw_metric(m, GW_COUNTER, "reflector_handshake_failures_total",
		  "TLS handshakes failed or timed out",
		  (double)(rf->st.handshake_failed +
			   rf->st.handshake_timeouts));
	gw_metric(m, GW_COUNTER, "reflector_connections_denied_total",
		  "Identified peers refused", (double)rf->st.denied);
	refl_sessions_metrics(rf->sessions, m);
}


static int refl_reload(void *state, const struct gw_conf *conf,
		       struct gw_reload *rep)
{
	struct refl *rf = state;
	(void)rep;

	/* quotas apply to the next request; a running session keeps its
	 * grant. Everything else is read at start (reload_keys). */
	mem_deref((void *)rf->current);
	rf->current = mem_ref((void *)conf);
	refl_sessions_set_conf(rf->sessions, conf);

	return 0;
}


static bool refl_enabled(const struct gw_conf *conf)
{
	return conf->reflector.enabled;
}


static const char *const refl_reload_keys[] = {
	"reflector.quotas", "reflector.access.pairing_enabled", NULL
};

const struct gw_module refl_module = {
	.name = "reflector",
	.title = "the reflector",
	.enabled = refl_enabled,
	.alloc = refl_alloc,
	.start = refl_start,
	.stop = refl_stop,
	.status = refl_status,
	.metrics = refl_metrics,
	.reload_keys = refl_reload_keys,
	.reload = refl_reload,
};
