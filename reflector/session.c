/**
 * @file session.c  Sessions, quotas and UDP echo (session.h)
 *
 * Admission order, each a reason of its own: the test type (unknown or
 * not in this build: invalid_params; disallowed: unauthorized), the
 * duration (invalid_params), the server's concurrency (busy), the
 * peer's cooldown and its tests in the last hour (rate_limited, with
 * retry_after_sec), a free data port (resource_exhausted). A grant is
 * inserted in the same call that checked it.
 *
 * The echo plane answers datagrams from the granted peer's IP (any
 * port) with the same bytes, at most max_packet_rate a second (a token
 * bucket holding a tenth of a second's worth, at least 10), and counts
 * what it received, sent, and dropped.
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

enum {
	HOUR_MS = 3600 * 1000,
	ECHO_BATCH = 32,
	ECHO_BATCHES = 8,             /**< per wake-up, then back to the loop */
	UUID_STR = 37,
};

struct peer_hist {
	struct le le;
	char id[REFL_ID_LEN + 1];
	uint64_t *starts;             /**< monotonic [ms], oldest first */
	size_t n, cap;
	uint64_t last_start;
	uint64_t day;                 /**< UTC day of the counts below */
	uint64_t tests_today, bytes_today;
};

struct refl_session {
	struct le le;
	struct refl_sessions *m;
	char test_id[UUID_STR];
	char token[UUID_STR];
	char peer_id[REFL_ID_LEN + 1];
	const char *type;
	struct sa peer;               /**< IP only, port 0 */
	uint16_t port;
	int fd;
	struct gw_watch *w;
	struct gw_timer *t;
	uint64_t start_ms;            /**< monotonic */
	uint64_t wall_start_ms;
	uint64_t duration_s;
	uint64_t bytes_in, bytes_out, pkts_in, pkts_out;
	uint64_t dropped_rate, dropped_foreign;
	double tokens, burst, rate;
	uint64_t refill_us;
};

struct refl_sessions {
	struct gw_reactor *r;
	const struct gw_conf *conf;   /**< as at start: network */
	struct gw_refl_quotas q;      /**< latest: quotas */
	struct refl_audit *audit;
	struct list sessions;
	struct list hist;
	uint16_t next_port;
	uint64_t created_ms;
	struct {
		uint64_t granted, denied, completed;
		uint64_t echo_in, echo_out, dropped_rate, dropped_foreign;
	} st;
};


static void session_destructor(void *data)
{
	struct refl_session *s = data;

	list_unlink(&s->le);
	mem_deref(s->w);
	mem_deref(s->t);
	if (s->fd >= 0)
		close(s->fd);
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
}


int refl_sessions_alloc(struct refl_sessions **mp, struct gw_reactor *r,
			const struct gw_conf *conf, struct refl_audit *audit)
{
	struct refl_sessions *m;

	if (!mp || !r || !conf || !audit)
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
	*mp = m;

	return 0;
}


void refl_sessions_set_conf(struct refl_sessions *m,
			    const struct gw_conf *conf)
{
	if (m && conf)
		m->q = conf->reflector.quotas;
}


static struct peer_hist *hist_get(struct refl_sessions *m, const char *id)
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


/* The UTC day's counters, started afresh at midnight */
static void hist_today(struct peer_hist *h)
{
	uint64_t day = refl_wall_ms() / (86400ull * 1000);

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
	hist_today(h);
	++h->tests_today;

	return 0;
}


static size_t active_count(const struct refl_sessions *m)
{
	return list_count(&m->sessions);
}


static struct peer_hist *hist_get(struct refl_sessions *m, const char *id);


static void complete(struct refl_session *s, const char *why)
{
	struct refl_sessions *m = s->m;
	double dur = (double)(gw_now_ms() - s->start_ms) / 1000.0;
	uint64_t bytes = s->bytes_in + s->bytes_out;
	struct peer_hist *h = hist_get(m, s->peer_id);

	if (h) {
		hist_today(h);
		h->bytes_today += bytes;
	}

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
			 GW_FD("duration_sec", dur)),
	       "Session %s completed (%s): %llu bytes", s->test_id, why,
	       (unsigned long long)bytes);
	++m->st.completed;
	mem_deref(s);
}


static void session_expired(void *arg)
{
	complete(arg, "expired");
}


static void refill(struct refl_session *s, uint64_t now_us)
{
	double add = (double)(now_us - s->refill_us) * s->rate / 1e6;

	s->refill_us = now_us;
	s->tokens = s->tokens + add > s->burst ? s->burst : s->tokens + add;
}


static bool from_peer(const struct refl_session *s,
		      const struct sockaddr_storage *ss)
{
	struct sa from;

	if (sa_set_sa(&from, (const struct sockaddr *)ss))
		return false;

	/* a v4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d */
	if (sa_af(&from) == AF_INET6 && sa_af(&s->peer) == AF_INET &&
	    IN6_IS_ADDR_V4MAPPED(&from.u.in6.sin6_addr)) {
		uint32_t v4;

		memcpy(&v4, &from.u.in6.sin6_addr.s6_addr[12], 4);
		sa_set_in(&from, ntohl(v4), 0);
	}

	return sa_cmp(&from, &s->peer, SA_ADDR);
}


static void echo_recv(int fd, int events, void *arg)
{
	static uint8_t bufs[ECHO_BATCH][REFL_ECHO_MAX_DGRAM];
	struct sockaddr_storage from[ECHO_BATCH];
	struct mmsghdr in[ECHO_BATCH], out[ECHO_BATCH];
	struct iovec iov[ECHO_BATCH], oiov[ECHO_BATCH];
	struct refl_session *s = arg;
	struct refl_sessions *m = s->m;
	(void)events;

	for (int b = 0; b < ECHO_BATCHES; b++) {
		int n, k = 0;

		memset(in, 0, sizeof(in));
		for (int i = 0; i < ECHO_BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			in[i].msg_hdr.msg_iov = &iov[i];
			in[i].msg_hdr.msg_iovlen = 1;
			in[i].msg_hdr.msg_name = &from[i];
			in[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		n = recvmmsg(fd, in, ECHO_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;

		refill(s, gw_now_us());
		memset(out, 0, sizeof(out));
		for (int i = 0; i < n; i++) {
			size_t len = in[i].msg_len;

			if (!from_peer(s, &from[i])) {
				++s->dropped_foreign;
				++m->st.dropped_foreign;
				continue;
			}
			++s->pkts_in;
			++m->st.echo_in;
			s->bytes_in += len;
			if (s->tokens < 1.0) {
				++s->dropped_rate;
				++m->st.dropped_rate;
				continue;
			}
			s->tokens -= 1.0;

			/* the bytes that came, no more */
			oiov[k].iov_base = bufs[i];
			oiov[k].iov_len = len;
			out[k].msg_hdr.msg_iov = &oiov[k];
			out[k].msg_hdr.msg_iovlen = 1;
			out[k].msg_hdr.msg_name = &from[i];
			out[k].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
			++k;
		}

		for (int sent = 0; sent < k;) {
			int r = sendmmsg(fd, out + sent, (unsigned)(k - sent),
					 MSG_DONTWAIT);

			if (r <= 0)
				break;  /* a full socket buffer drops, as UDP */
			for (int i = sent; i < sent + r; i++) {
				s->bytes_out += out[i].msg_hdr.msg_iov->iov_len;
				++s->pkts_out;
				++m->st.echo_out;
			}
			sent += r;
		}

		if (n < ECHO_BATCH)
			break;
	}
}


/* A UDP socket on a free port of the data range */
static int bind_port(struct refl_sessions *m, int *fdp, uint16_t *portp)
{
	const struct gw_conf *c = m->conf;
	uint16_t first = c->reflector.network.data_port_range_start;
	uint16_t last = c->reflector.network.data_port_range_end;
	unsigned span = (unsigned)(last - first) + 1;
	struct sa addr = c->reflector.network.listen_address;
	int af = sa_af(&addr);

	if (c->reflector.network.mode == GW_REFL_DIRECT_EPHEMERAL)
		sa_init(&addr, af);   /* every address */

	if (m->next_port < first || m->next_port > last)
		m->next_port = first;

	for (unsigned i = 0; i < span; i++) {
		uint16_t port = (uint16_t)(first +
			(m->next_port - first + i) % span);
		int fd, off = 0;

		fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return errno;
		if (af == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off,
				   sizeof(off));
		sa_set_port(&addr, port);
		if (!bind(fd, &addr.u.sa, addr.len)) {
			*fdp = fd;
			*portp = port;
			m->next_port = (uint16_t)(first + (port - first + 1) %
						  span);
			return 0;
		}
		close(fd);
	}

	return EADDRINUSE;
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


static uint64_t ceil_s(uint64_t ms)
{
	return (ms + 999) / 1000;
}


int refl_session_request(struct refl_sessions *m, const char *peer_id,
			 const struct sa *peer, const struct odict *req,
			 struct odict *reply)
{
	const struct gw_conf *c;
	const struct odict_entry *pe;
	const struct odict *params = NULL;
	const char *type;
	struct refl_session *s;
	struct peer_hist *h;
	char expires[40];
	uint64_t dur = 0, now = gw_now_ms();
	int err, fd = -1;
	uint16_t port = 0;

	if (!m || !peer_id || !peer || !req || !reply)
		return EINVAL;
	c = m->conf;

	type = odict_string(req, "test_type");
	pe = odict_lookup(req, "params");
	if (pe && pe->type == ODICT_OBJECT)
		params = pe->u.odict;

	if (!type)
		return deny(m, reply, peer_id, NULL, params, "invalid_params",
			    0, "no test_type string");
	if (!strcmp(type, "udp_echo")) {
		type = "udp_echo";
		if (!m->q.allow_udp_echo)
			return deny(m, reply, peer_id, type, params,
				    "unauthorized", 0, "udp_echo is not "
				    "allowed here (reflector.quotas."
				    "allow_udp_echo)");
	}
	else if (!strcmp(type, "throughput")) {
		return deny(m, reply, peer_id, "throughput", params,
			    "invalid_params", 0, "throughput is not in this "
			    "build yet");
	}
	else {
		return deny(m, reply, peer_id, NULL, params, "invalid_params",
			    0, "unknown test_type '%.40s'", type);
	}

	pe = params ? odict_lookup(params, "duration_sec") : NULL;
	if (pe && pe->type == ODICT_INT && pe->u.integer > 0)
		dur = (uint64_t)pe->u.integer;
	if (!dur)
		return deny(m, reply, peer_id, type, params, "invalid_params",
			    0, "params.duration_sec must be a whole number "
			    "of seconds, at least 1");
	if (dur > m->q.max_test_duration_sec)
		dur = m->q.max_test_duration_sec;

	if (active_count(m) >= m->q.max_concurrent_tests)
		return deny(m, reply, peer_id, type, params, "busy", 0,
			    "%zu of %u concurrent tests running",
			    active_count(m),
			    m->q.max_concurrent_tests);

	h = hist_get(m, peer_id);
	if (!h)
		return ENOMEM;
	hist_prune(h, now);
	if (h->last_start && m->q.cooldown_sec &&
	    now < h->last_start + m->q.cooldown_sec * 1000ull)
		return deny(m, reply, peer_id, type, params, "rate_limited",
			    ceil_s(h->last_start +
				   m->q.cooldown_sec * 1000ull -
				   now),
			    "cooldown of %u s between tests",
			    m->q.cooldown_sec);
	if (h->n >= m->q.max_tests_per_hour_per_peer)
		return deny(m, reply, peer_id, type, params, "rate_limited",
			    ceil_s(h->starts[0] + HOUR_MS - now),
			    "%zu tests in the last hour, %u allowed", h->n,
			    m->q.max_tests_per_hour_per_peer);

	err = bind_port(m, &fd, &port);
	if (err)
		return deny(m, reply, peer_id, type, params,
			    "resource_exhausted", 1, "no free data port in "
			    "%u-%u: %s",
			    c->reflector.network.data_port_range_start,
			    c->reflector.network.data_port_range_end,
			    strerror(err));

	s = mem_zalloc(sizeof(*s), session_destructor);
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
	s->start_ms = now;
	s->wall_start_ms = refl_wall_ms();
	s->duration_s = dur;
	s->rate = m->q.max_packet_rate;
	s->burst = s->rate / 10 < 10 ? 10 : s->rate / 10;
	s->tokens = s->burst;
	s->refill_us = gw_now_us();

	err = gw_watch_alloc(&s->w, m->r, fd, GW_FD_READ, echo_recv, s);
	if (!err)
		err = gw_timer_alloc(&s->t, m->r);
	if (!err)
		err = gw_timer_start(s->t, (dur + REFL_SESSION_GRACE_S) * 1000,
				     session_expired, s);
	if (!err)
		err = hist_add(h, now);
	if (err) {
		mem_deref(s);
		return err;
	}
	list_append(&m->sessions, &s->le, s);

	refl_rfc3339(expires, sizeof(expires), s->wall_start_ms +
		     (dur + REFL_SESSION_GRACE_S) * 1000);

	/* on the record before the peer hears of it */
	err = refl_audit_write(m->audit, "session_granted", REFL_AUDIT_REC(
		.peer_id = peer_id, .test_type = type, .test_id = s->test_id,
		.params = params, .decision = "allowed"));
	if (err) {
		mem_deref(s);
		return deny(m, reply, peer_id, type, params,
			    "resource_exhausted", 1, "the audit log cannot "
			    "be written");
	}
	++m->st.granted;
	gw_log(GW_LOG_INFO, "reflector", "session_granted",
	       GW_FIELDS(GW_FS("test_id", s->test_id),
			 GW_FS("peer_id", peer_id), GW_FS("type", type),
			 GW_FU("port", port), GW_FU("duration_sec", dur)),
	       "Session %s granted to %s: %s on port %u for %llu s",
	       s->test_id, peer_id, type, port, (unsigned long long)dur);

	err = odict_entry_add(reply, "type", ODICT_STRING, "session_grant");
	err |= odict_entry_add(reply, "test_id", ODICT_STRING, s->test_id);
	err |= odict_entry_add(reply, "mode", ODICT_STRING,
			       c->reflector.network.mode ==
			       GW_REFL_DIRECT_EPHEMERAL ?
			       "direct_ephemeral" : "tunneled");
	err |= odict_entry_add(reply, "port", ODICT_INT, (int64_t)port);
	err |= odict_entry_add(reply, "token", ODICT_STRING, s->token);
	err |= odict_entry_add(reply, "expires_at", ODICT_STRING, expires);
	err |= odict_entry_add(reply, "duration_sec", ODICT_INT,
			       (int64_t)dur);

	return err ? ENOMEM : 0;
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


static int test_info(const struct refl_session *s, struct odict **op)
{
	char started[40];
	uint64_t now = gw_now_ms(), end;
	struct odict *o;
	int err;

	err = odict_alloc(&o, 16);
	if (err)
		return err;
	end = s->start_ms + s->duration_s * 1000;
	refl_rfc3339(started, sizeof(started), s->wall_start_ms);
	err = odict_entry_add(o, "test_id", ODICT_STRING, s->test_id);
	err |= odict_entry_add(o, "test_type", ODICT_STRING, s->type);
	err |= odict_entry_add(o, "peer_id", ODICT_STRING, s->peer_id);
	err |= odict_entry_add(o, "started_at", ODICT_STRING, started);
	err |= odict_entry_add(o, "remaining_sec", ODICT_INT,
			       (int64_t)(end > now ? ceil_s(end - now) : 0));
	err |= odict_entry_add(o, "port", ODICT_INT, (int64_t)s->port);
	err |= odict_entry_add(o, "bytes_in", ODICT_INT,
			       (int64_t)s->bytes_in);
	err |= odict_entry_add(o, "bytes_out", ODICT_INT,
			       (int64_t)s->bytes_out);
	err |= odict_entry_add(o, "dropped_rate", ODICT_INT,
			       (int64_t)s->dropped_rate);
	if (err) {
		mem_deref(o);
		return ENOMEM;
	}
	*op = o;

	return 0;
}


int refl_sessions_snapshot(struct refl_sessions *m, const char *peer_id,
			   const char *endpoint_id, struct odict *reply)
{
	struct odict *arr = NULL, *first = NULL;
	unsigned i = 0;
	int err;

	err = odict_alloc(&arr, 8);
	if (err)
		return err;
	for (struct le *le = m->sessions.head; le; le = le->next) {
		const struct refl_session *s = le->data;
		struct odict *t;
		char k[16];

		if (strcmp(s->peer_id, peer_id))
			continue;  /* nobody else's business */
		err = test_info(s, &t);
		if (err)
			goto out;
		snprintf(k, sizeof(k), "%u", i++);
		err = odict_entry_add(arr, k, ODICT_OBJECT, t);
		if (!first)
			first = t;
		else
			mem_deref(t);
		if (err)
			goto out;
	}

	err = odict_entry_add(reply, "type", ODICT_STRING, "status_snapshot");
	err |= odict_entry_add(reply, "endpoint_id", ODICT_STRING,
			       endpoint_id);
	err |= odict_entry_add(reply, "uptime_sec", ODICT_INT,
			       (int64_t)((gw_now_ms() - m->created_ms) / 1000));
	if (first)
		err |= odict_entry_add(reply, "active_test", ODICT_OBJECT,
				       first);
	else
		err |= odict_entry_add(reply, "active_test", ODICT_NULL);
	err |= odict_entry_add(reply, "active_tests", ODICT_ARRAY, arr);
	{
		struct peer_hist *h = hist_get(m, peer_id);
		uint64_t running = 0;

		for (struct le *le = m->sessions.head; le; le = le->next) {
			const struct refl_session *s = le->data;

			if (!strcmp(s->peer_id, peer_id))
				running += s->bytes_in + s->bytes_out;
		}
		if (h)
			hist_today(h);
		err |= odict_entry_add(reply, "tests_today", ODICT_INT,
				       (int64_t)(h ? h->tests_today : 0));
		err |= odict_entry_add(reply, "bytes_today", ODICT_INT,
				       (int64_t)((h ? h->bytes_today : 0) +
						 running));
	}
	if (err)
		err = ENOMEM;

 out:
	mem_deref(first);
	mem_deref(arr);

	return err;
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


void refl_sessions_status(struct refl_sessions *m, struct odict *o)
{
	odict_entry_add(o, "sessions", ODICT_INT,
			(int64_t)active_count(m));
	odict_entry_add(o, "sessions_granted", ODICT_INT,
			(int64_t)m->st.granted);
	odict_entry_add(o, "sessions_denied", ODICT_INT,
			(int64_t)m->st.denied);
	odict_entry_add(o, "sessions_completed", ODICT_INT,
			(int64_t)m->st.completed);
	odict_entry_add(o, "echo_packets_in", ODICT_INT,
			(int64_t)m->st.echo_in);
	odict_entry_add(o, "echo_packets_out", ODICT_INT,
			(int64_t)m->st.echo_out);
	odict_entry_add(o, "echo_dropped_rate", ODICT_INT,
			(int64_t)m->st.dropped_rate);
	odict_entry_add(o, "echo_dropped_foreign", ODICT_INT,
			(int64_t)m->st.dropped_foreign);
}


void refl_sessions_metrics(struct refl_sessions *m, struct gw_metrics *mt)
{
	gw_metric(mt, GW_GAUGE, "reflector_sessions",
		  "Measurement sessions running", (double)active_count(m));
	gw_metric_l(mt, GW_COUNTER, "reflector_session_decisions_total",
		    "Session requests decided", "decision", "granted",
		    (double)m->st.granted);
	gw_metric_l(mt, GW_COUNTER, "reflector_session_decisions_total",
		    "Session requests decided", "decision", "denied",
		    (double)m->st.denied);
	gw_metric(mt, GW_COUNTER, "reflector_echo_packets_in_total",
		  "UDP echo datagrams from granted peers",
		  (double)m->st.echo_in);
	gw_metric(mt, GW_COUNTER, "reflector_echo_packets_out_total",
		  "UDP echo datagrams answered", (double)m->st.echo_out);
	gw_metric_l(mt, GW_COUNTER, "reflector_echo_dropped_total",
		    "UDP echo datagrams not answered", "reason", "rate",
		    (double)m->st.dropped_rate);
	gw_metric_l(mt, GW_COUNTER, "reflector_echo_dropped_total",
		    "UDP echo datagrams not answered", "reason", "foreign",
		    (double)m->st.dropped_foreign);
}


int refl_sessions_policy(struct refl_sessions *m, struct odict *o)
{
	struct odict *types;
	int err;

	err = odict_alloc(&types, 4);
	if (err)
		return err;
	if (m->q.allow_udp_echo)
		err = odict_entry_add(types, "0", ODICT_STRING, "udp_echo");

	err |= odict_entry_add(o, "max_test_duration_sec", ODICT_INT,
			       (int64_t)m->q.max_test_duration_sec);
	err |= odict_entry_add(o, "max_concurrent_tests", ODICT_INT,
			       (int64_t)m->q.max_concurrent_tests);
	err |= odict_entry_add(o, "max_tests_per_hour", ODICT_INT,
			       (int64_t)m->q.max_tests_per_hour_per_peer);
	err |= odict_entry_add(o, "allowed_test_types", ODICT_ARRAY, types);
	mem_deref(types);

	return err ? ENOMEM : 0;
}
