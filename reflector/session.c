/**
 * @file session.c  Sessions and quotas (session.h)
 *
 * Admission order, each a reason of its own: the test type (unknown or
 * not in this build: invalid_params; disallowed: unauthorized), the
 * duration (invalid_params), the server's concurrency (busy), the
 * peer's cooldown and its tests in the last hour (rate_limited, with
 * retry_after_sec), a free data port (resource_exhausted). A grant is
 * inserted in the same call that checked it.
 *
 * The data plane is echo.c.
 */

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "gateway/libre.h"
#include "gateway/conf.h"
#include "gateway/log.h"
#include "gateway/metrics.h"
#include "gateway/reactor.h"
#include "reflector/audit.h"
#include "reflector/id.h"
#include "reflector/session.h"
#include "reflector/session_int.h"

enum { HOUR_MS = 3600 * 1000 };

static void session_destructor(void *data)
{
	struct refl_session *s = data;

	list_unlink(&s->le);
	mem_deref(s->w);
	mem_deref(s->t);
	if (s->fd >= 0)
		close(s->fd);
	/* a running iperf3 gets SIGTERM, then SIGKILL, and is reaped */
	mem_deref(s->proc);
	mem_deref(s->wait);
	mem_deref(s->params);
	mem_deref(s->later_arg);   /* a peer never told: its link is gone */
}


static void hist_destructor(void *data)
{
	struct peer_hist *h = data;

	list_unlink(&h->le);
	mem_deref(h->starts);
}


static void mgr_destructor(void *data)
{
	struct refl_sessions *m = data;

	list_flush(&m->sessions);
	list_flush(&m->hist);
	mem_deref((void *)m->conf);
	mem_deref(m->quota_path);
}


int refl_sessions_alloc(struct refl_sessions **mp, struct gw_reactor *r,
			const struct gw_conf *conf, struct refl_audit *audit,
			const char *quota_path)
{
	struct refl_sessions *m;

	if (!mp || !r || !conf || !audit || !quota_path)
		return EINVAL;

	m = mem_zalloc(sizeof(*m), mgr_destructor);
	if (!m)
		return ENOMEM;
	m->r = r;
	m->conf = mem_ref((void *)conf);
	m->q = conf->reflector.quotas;
	m->audit = audit;
	m->next_port = conf->reflector.network.data_port_range_start;
	m->created_ms = gw_now_ms();
	if (str_dup(&m->quota_path, quota_path)) {
		mem_deref(m);
		return ENOMEM;
	}
	refl_quota_load(m);
	*mp = m;

	return 0;
}


void refl_sessions_set_conf(struct refl_sessions *m,
			    const struct gw_conf *conf)
{
	if (m && conf)
		m->q = conf->reflector.quotas;
}


struct peer_hist *refl_hist_get(struct refl_sessions *m, const char *id)
{
	struct peer_hist *h;

	for (struct le *le = m->hist.head; le; le = le->next) {
		h = le->data;
		if (!strcmp(h->id, id))
			return h;
	}

	h = mem_zalloc(sizeof(*h), hist_destructor);
	if (!h)
		return NULL;
	str_ncpy(h->id, id, sizeof(h->id));
	list_append(&m->hist, &h->le, h);

	return h;
}


/* Drop starts older than an hour */
static void hist_prune(struct peer_hist *h, uint64_t now)
{
	size_t k = 0;

	while (k < h->n && h->starts[k] + HOUR_MS <= now)
		++k;
	if (k) {
		memmove(h->starts, h->starts + k, (h->n - k) * sizeof(*h->starts));
		h->n -= k;
	}
}


uint64_t refl_today(void)
{
	return gw_wall_ms() / REFL_DAY_MS;
}


/* The UTC day's counters, started afresh at midnight */
void refl_hist_today(struct peer_hist *h)
{
	uint64_t day = refl_today();

	if (h->day != day) {
		h->day = day;
		h->tests_today = 0;
		h->bytes_today = 0;
	}
}


static int hist_add(struct peer_hist *h, uint64_t now)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 8;
		/* libre's mem_realloc() takes no NULL */
		uint64_t *p = h->starts ?
			mem_realloc(h->starts, cap * sizeof(*p)) :
			mem_alloc(cap * sizeof(*p), NULL);

		if (!p)
			return ENOMEM;
		h->starts = p;
		h->cap = cap;
	}
	h->starts[h->n++] = now;
	h->last_start = now;
	refl_hist_today(h);
	++h->tests_today;

	return 0;
}


static void complete(struct refl_session *s, const char *why)
{
	struct refl_sessions *m = s->m;
	double dur = (double)(gw_now_ms() - s->start_ms) / 1000.0;
	uint64_t bytes = s->bytes_in + s->bytes_out;

	refl_audit_write(m->audit, "session_completed", REFL_AUDIT_REC(
		.peer_id = s->peer_id, .test_type = s->type,
		.test_id = s->test_id, .reason = why,
		.completed = true, .bytes = bytes, .duration_sec = dur));
	gw_log(GW_LOG_INFO, "reflector", "session_completed",
	       GW_FIELDS(GW_FS("test_id", s->test_id),
			 GW_FS("peer_id", s->peer_id),
			 GW_FS("type", s->type), GW_FS("reason", why),
			 GW_FU("bytes_in", s->bytes_in),
			 GW_FU("bytes_out", s->bytes_out),
			 GW_FU("packets_in", s->pkts_in),
			 GW_FU("packets_out", s->pkts_out),
			 GW_FU("dropped_rate", s->dropped_rate),
			 GW_FU("dropped_foreign", s->dropped_foreign),
			 GW_FU("stamp", s->stamp_pkts),
			 GW_FD("duration_sec", dur)),
	       "Session %s completed (%s): %llu bytes", s->test_id, why,
	       (unsigned long long)bytes);
	++m->st.completed;
	mem_deref(s);
	refl_quota_save(m);
}


void refl_session_end(struct refl_session *s, const char *why)
{
	complete(s, why);
}


static void session_expired(void *arg)
{
	complete(arg, "expired");
}


static void uuid_str(char *out)
{
	uuid_t u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}


static int deny(struct refl_sessions *m, struct odict *reply,
		const char *peer_id, const char *type,
		const struct odict *params, const char *reason,
		uint64_t retry_after, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));

static int deny(struct refl_sessions *m, struct odict *reply,
		const char *peer_id, const char *type,
		const struct odict *params, const char *reason,
		uint64_t retry_after, const char *fmt, ...)
{
	char msg[256], full[320];
	va_list ap;
	int err;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s: %s", reason, msg);

	refl_audit_write(m->audit, "session_denied", REFL_AUDIT_REC(
		.peer_id = peer_id, .test_type = type, .params = params,
		.decision = "denied", .reason = full));
	gw_log(GW_LOG_INFO, "reflector", "session_denied",
	       GW_FIELDS(GW_FS("peer_id", peer_id), GW_FS("reason", reason),
			 GW_FS("type", type ? type : "")),
	       "Session denied to %s: %s", peer_id, full);
	++m->st.denied;

	err = odict_entry_add(reply, "type", ODICT_STRING, "session_deny");
	err |= odict_entry_add(reply, "reason", ODICT_STRING, reason);
	err |= odict_entry_add(reply, "message", ODICT_STRING, msg);
	if (retry_after)
		err |= odict_entry_add(reply, "retry_after_sec", ODICT_INT,
				       (int64_t)retry_after);
	else
		err |= odict_entry_add(reply, "retry_after_sec", ODICT_NULL);

	return err ? ENOMEM : 0;
}


/* What is asked: the type, duration and throughput options, clamped;
 * NULL type and a deny in reply when the request itself is refused */
static int read_request(struct refl_sessions *m, const char *peer_id,
			const struct odict *req, struct refl_session *want,
			const struct odict **paramsp, struct odict *reply)
{
	const char *type = odict_string(req, "test_type");
	const struct odict_entry *pe = odict_lookup(req, "params");
	const struct odict *params = NULL;
	const char *proto;

	if (pe && pe->type == ODICT_OBJECT)
		params = pe->u.odict;
	*paramsp = params;
	want->type = NULL;

	if (!type)
		return deny(m, reply, peer_id, NULL, params, "invalid_params",
			    0, "no test_type string");
	if (!strcmp(type, "udp_echo"))
		want->type = "udp_echo";
	else if (!strcmp(type, "throughput"))
		want->type = "throughput";
	else
		return deny(m, reply, peer_id, NULL, params, "invalid_params",
			    0, "unknown test_type '%.40s'", type);
	type = want->type;
	want->type = NULL;
	if (!strcmp(type, "udp_echo") ? !m->q.allow_udp_echo :
	    !m->q.allow_throughput)
		return deny(m, reply, peer_id, type, params, "unauthorized", 0,
			    "%s is not allowed here (reflector.quotas.allow_%s)",
			    type, type);

	pe = params ? odict_lookup(params, "duration_sec") : NULL;
	if (!pe || pe->type != ODICT_INT || pe->u.integer < 1)
		return deny(m, reply, peer_id, type, params, "invalid_params",
			    0, "params.duration_sec must be a whole number of "
			    "seconds, at least 1");
	want->duration_s = (uint64_t)pe->u.integer >
		m->q.max_test_duration_sec ? m->q.max_test_duration_sec :
		(uint64_t)pe->u.integer;

	/* throughput: streams clamped, reverse, tcp or udp */
	want->streams = m->conf->reflector.iperf3.default_streams;
	pe = params ? odict_lookup(params, "streams") : NULL;
	if (pe && pe->type != ODICT_NULL) {
		if (pe->type != ODICT_INT || pe->u.integer < 1)
			return deny(m, reply, peer_id, type, params,
				    "invalid_params", 0, "params.streams must "
				    "be a whole number, at least 1");
		want->streams = (unsigned)(pe->u.integer > 128 ? 128 :
					   pe->u.integer);
	}
	if (want->streams > m->conf->reflector.iperf3.max_streams)
		want->streams = m->conf->reflector.iperf3.max_streams;
	if (params)
		odict_get_boolean(params, &want->reverse, "reverse");
	proto = params ? odict_string(params, "protocol") : NULL;
	if (proto && strcmp(proto, "tcp") && strcmp(proto, "udp"))
		return deny(m, reply, peer_id, type, params, "invalid_params",
			    0, "params.protocol is tcp or udp");
	want->udp = proto && !strcmp(proto, "udp");
	want->type = type;

	return 0;
}


/* The quotas, in order; a deny in reply (and false) when one says no */
static bool admit(struct refl_sessions *m, const char *peer_id,
		  struct peer_hist *h, const char *type,
		  const struct odict *params, uint64_t now,
		  struct odict *reply, int *errp)
{
	uint64_t cool = m->q.cooldown_sec * 1000ull;

	if (refl_active(m) >= m->q.max_concurrent_tests) {
		*errp = deny(m, reply, peer_id, type, params, "busy", 0,
			     "%zu of %u concurrent tests running",
			     refl_active(m), m->q.max_concurrent_tests);
		return false;
	}
	hist_prune(h, now);
	if (h->last_start && cool && now < h->last_start + cool) {
		*errp = deny(m, reply, peer_id, type, params, "rate_limited",
			     refl_ceil_s(h->last_start + cool - now),
			     "cooldown of %u s between tests",
			     m->q.cooldown_sec);
		return false;
	}
	if (h->n >= m->q.max_tests_per_hour_per_peer) {
		*errp = deny(m, reply, peer_id, type, params, "rate_limited",
			     refl_ceil_s(h->starts[0] + HOUR_MS - now),
			     "%zu tests in the last hour, %u allowed", h->n,
			     m->q.max_tests_per_hour_per_peer);
		return false;
	}
	refl_hist_today(h);
	if (h->bytes_today >= m->q.max_bytes_per_day_per_peer) {
		uint64_t wall = gw_wall_ms();

		*errp = deny(m, reply, peer_id, type, params, "quota_exceeded",
			     refl_ceil_s((wall / REFL_DAY_MS + 1) * REFL_DAY_MS - wall),
			     "daily byte quota exceeded");
		return false;
	}

	return true;
}


static int grant_reply(const struct refl_session *s, struct odict *reply)
{
	char expires[40];
	int err;

	gw_rfc3339(expires, sizeof(expires), s->wall_start_ms +
		     (s->duration_s + REFL_SESSION_GRACE_S) * 1000);
	err = odict_entry_add(reply, "type", ODICT_STRING, "session_grant");
	err |= odict_entry_add(reply, "test_id", ODICT_STRING, s->test_id);
	err |= odict_entry_add(reply, "mode", ODICT_STRING,
			       s->m->conf->reflector.network.mode ==
			       GW_REFL_DIRECT_EPHEMERAL ?
			       "direct_ephemeral" : "tunneled");
	err |= odict_entry_add(reply, "port", ODICT_INT, (int64_t)s->port);
	err |= odict_entry_add(reply, "token", ODICT_STRING, s->token);
	err |= odict_entry_add(reply, "expires_at", ODICT_STRING, expires);
	err |= odict_entry_add(reply, "duration_sec", ODICT_INT,
			       (int64_t)s->duration_s);

	return err ? ENOMEM : 0;
}


static int session_new(struct refl_session **sp, struct refl_sessions *m,
		       const char *peer_id, const struct sa *peer,
		       const char *type, uint64_t dur, int fd, uint16_t port)
{
	struct refl_session *s = mem_zalloc(sizeof(*s), session_destructor);
	int err;

	if (!s) {
		close(fd);
		return ENOMEM;
	}
	s->m = m;
	s->fd = fd;
	s->port = port;
	s->type = type;
	s->peer = *peer;
	sa_set_port(&s->peer, 0);
	str_ncpy(s->peer_id, peer_id, sizeof(s->peer_id));
	uuid_str(s->test_id);
	uuid_str(s->token);
	s->start_ms = gw_now_ms();
	s->wall_start_ms = gw_wall_ms();
	s->duration_s = dur;

	err = fd >= 0 ? refl_echo_start(s) : 0;
	if (!err)
		err = gw_timer_alloc(&s->t, m->r);
	if (!err)
		err = gw_timer_start(s->t, (dur + REFL_SESSION_GRACE_S) * 1000,
				     session_expired, s);
	if (err) {
		mem_deref(s);
		return err;
	}
	*sp = s;

	return 0;
}


int refl_session_granted(struct refl_session *s, struct odict *reply)
{
	struct refl_sessions *m = s->m;
	int err;

	/* on the record before the peer hears of it */
	err = refl_audit_write(m->audit, "session_granted", REFL_AUDIT_REC(
		.peer_id = s->peer_id, .test_type = s->type,
		.test_id = s->test_id, .params = s->params,
		.decision = "allowed"));
	if (err)
		return refl_session_refused(s, reply, "resource_exhausted", 1,
					    "the audit log cannot be written");
	++m->st.granted;
	gw_log(GW_LOG_INFO, "reflector", "session_granted",
	       GW_FIELDS(GW_FS("test_id", s->test_id),
			 GW_FS("peer_id", s->peer_id), GW_FS("type", s->type),
			 GW_FU("port", s->port),
			 GW_FU("duration_sec", s->duration_s)),
	       "Session %s granted to %s: %s on port %u for %llu s",
	       s->test_id, s->peer_id, s->type, s->port,
	       (unsigned long long)s->duration_s);

	return grant_reply(s, reply);
}


int refl_session_refused(struct refl_session *s, struct odict *reply,
			 const char *reason, uint64_t retry_after,
			 const char *msg)
{
	int err = deny(s->m, reply, s->peer_id, s->type, s->params, reason,
		       retry_after, "%s", msg);

	if (s->later)
		refl_tp_reply(s, reply);
	mem_deref(s);

	return err;
}


int refl_session_request(struct refl_sessions *m, const char *peer_id,
			 const struct sa *peer, const struct odict *req,
			 struct odict *reply, refl_reply_h *later, void *arg,
			 bool *pendingp)
{
	const struct gw_conf *c;
	const struct odict *params = NULL;
	struct refl_session want = {0}, *s = NULL;
	struct peer_hist *h;
	uint64_t now = gw_now_ms();
	int err = 0, fd = -1;
	uint16_t port = 0;

	if (!m || !peer_id || !peer || !req || !reply || !pendingp)
		return EINVAL;
	c = m->conf;
	*pendingp = false;

	err = read_request(m, peer_id, req, &want, &params, reply);
	if (err || !want.type)
		return err;
	h = refl_hist_get(m, peer_id);
	if (!h)
		return ENOMEM;
	if (!admit(m, peer_id, h, want.type, params, now, reply, &err))
		return err;

	if (!strcmp(want.type, "udp_echo")) {
		err = refl_echo_bind(m, &fd, &port);
		if (err)
			return deny(m, reply, peer_id, want.type, params,
				    "resource_exhausted", 1, "no free data "
				    "port in %u-%u: %s",
				    c->reflector.network.data_port_range_start,
				    c->reflector.network.data_port_range_end,
				    strerror(err));
	}

	/* checked and inserted in this one call: nothing runs in between */
	err = session_new(&s, m, peer_id, peer, want.type, want.duration_s,
			  fd, port);
	if (!err) {
		s->h = h;
		s->streams = want.streams;
		s->reverse = want.reverse;
		s->udp = want.udp;
		s->params = mem_ref((void *)params);
		err = hist_add(h, now);
	}
	if (err) {
		mem_deref(s);
		return err;
	}
	list_append(&m->sessions, &s->le, s);

	if (fd >= 0)
		return refl_session_granted(s, reply);

	/* throughput: granted once iperf3 listens */
	s->later = later;
	s->later_arg = mem_ref(arg);
	err = refl_tp_start(s);
	if (err) {
		s->later = NULL;
		s->later_arg = mem_deref(s->later_arg);
		return refl_session_refused(s, reply, "resource_exhausted", 1,
					    err == EADDRINUSE ?
					    "no free data port" :
					    "iperf3 cannot be run");
	}
	*pendingp = true;

	return 0;
}


static struct refl_session *find(struct refl_sessions *m, const char *id)
{
	for (struct le *le = m->sessions.head; le; le = le->next) {
		struct refl_session *s = le->data;

		if (!strcmp(s->test_id, id))
			return s;
	}

	return NULL;
}


int refl_session_close(struct refl_sessions *m, const char *peer_id,
		       const char *test_id)
{
	struct refl_session *s;

	if (!m || !peer_id || !test_id)
		return EINVAL;

	s = find(m, test_id);
	if (!s)
		return ENOENT;
	if (strcmp(s->peer_id, peer_id))
		return EPERM;

	complete(s, "closed");

	return 0;
}


unsigned refl_sessions_close_peer(struct refl_sessions *m,
				  const char *peer_id, const char *why)
{
	struct le *le = m ? m->sessions.head : NULL;
	unsigned n = 0;

	while (le) {
		struct refl_session *s = le->data;

		le = le->next;
		if (!strcmp(s->peer_id, peer_id)) {
			complete(s, why);
			++n;
		}
	}

	return n;
}


void refl_sessions_close_all(struct refl_sessions *m, const char *why)
{
	while (m && m->sessions.head)
		complete(m->sessions.head->data, why);
}
