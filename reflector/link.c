/**
 * @file link.c  The pp-link/1 control link: TLS 1.3 over TCP on the
 * reactor, frames, and what each message does
 *
 * A connection goes: accepted (non-blocking, a handshake deadline) →
 * handshake (SSL_ERROR_WANT_READ/WRITE become the watch's interest) →
 * the peer's ID computed from its key and checked against its names →
 * authorized (every message), pairing-only (hello and pair_request, while
 * a pairing window is open) or denied (audited, told, closed) → frames
 * until the peer closes, sends something malformed (error, then close),
 * or says nothing for network.idle_timeout. Nothing here blocks: a slow
 * or silent client costs one fd and a timer.
 */

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "gateway/libre.h"
#include "gateway/conf.h"
#include "gateway/log.h"
#include "gateway/reactor.h"
#include "reflector/access.h"
#include "reflector/audit.h"
#include "reflector/cert.h"
#include "reflector/frame.h"
#include "reflector/identity.h"
#include "reflector/refl_int.h"
#include "reflector/session.h"
#include "reflector/tls.h"

enum {
	READ_CHUNK = 16384,
	READS_PER_WAKE = 16,
	ACCEPTS_PER_WAKE = 64,
	/** Unsent replies a peer may leave us holding before it is dropped */
	OUT_MAX = 4 * (1 << 20),
};

enum conn_state { CONN_HANDSHAKE, CONN_OPEN };

/* A reply the session manager sends later (a throughput grant) */
struct pending {
	struct le le;                 /**< in its connection's list */
	struct refl_conn *c;          /**< NULL once the link is gone */
	char rid[128];
};

struct refl_conn {
	struct le le;
	struct refl *rf;
	struct list pending;
	struct refl_tls *tls;         /**< the context it was accepted with */
	int fd;
	SSL *ssl;
	struct gw_watch *w;
	struct gw_timer *t;
	enum conn_state state;
	struct mbuf *in, *out;
	struct sa peer;
	char addr[64];
	char peer_id[REFL_ID_LEN + 1];
	bool authorized;              /**< else pairing-only */
	bool closing;                 /**< close once out is flushed */
};

static void conn_io(struct refl_conn *c);
static void conn_kick(struct refl_conn *c);


static void conn_destructor(void *data)
{
	struct refl_conn *c = data;

	/* replies still to come find no link */
	while (c->pending.head) {
		struct pending *p = c->pending.head->data;

		p->c = NULL;
		list_unlink(&p->le);
	}
	list_unlink(&c->le);
	mem_deref(c->w);
	mem_deref(c->t);
	if (c->ssl) {
		if (c->state == CONN_OPEN)
			SSL_shutdown(c->ssl);  /* close_notify, best effort */
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	mem_deref(c->in);
	mem_deref(c->out);
	mem_deref(c->tls);
}


static void conn_close(struct refl_conn *c)
{
	mem_deref(c);
}


static int send_payload(struct refl_conn *c, const char *rid,
			const struct odict *payload)
{
	int err = refl_frame_put(c->out, rid ? rid : "", payload);

	if (!err && mbuf_get_left(c->out) > OUT_MAX)
		err = ENOBUFS;

	return err;
}


static void send_error(struct refl_conn *c, const char *rid, int code,
		       const char *msg)
{
	struct odict *o;

	if (odict_alloc(&o, 4))
		return;
	odict_entry_add(o, "type", ODICT_STRING, "error");
	odict_entry_add(o, "code", ODICT_INT, (int64_t)code);
	odict_entry_add(o, "message", ODICT_STRING, msg);
	send_payload(c, rid, o);
	mem_deref(o);
}


static void idle_expired(void *arg)
{
	struct refl_conn *c = arg;

	if (c->state == CONN_HANDSHAKE) {
		++c->rf->st.handshake_timeouts;
		gw_log(GW_LOG_INFO, "reflector", "handshake_timeout",
		       GW_FIELDS(GW_FS("peer", c->addr)),
		       "TLS handshake with %s timed out", c->addr);
	}
	else {
		++c->rf->st.idle_closed;
		gw_log(GW_LOG_INFO, "reflector", "link_idle",
		       GW_FIELDS(GW_FS("peer", c->addr),
				 GW_FS("peer_id", c->peer_id)),
		       "Closing idle control link from %s (%s)", c->addr,
		       c->peer_id);
	}
	conn_close(c);
}


static void touch(struct refl_conn *c)
{
	gw_timer_start(c->t, c->rf->conf->reflector.network.idle_timeout,
		       idle_expired, c);
}


/* --- messages --- */

static int on_hello(struct refl_conn *c, const struct odict *p,
		    struct odict *reply)
{
	struct odict *feat = NULL, *pol = NULL;
	int err;
	(void)p;

	err = odict_alloc(&feat, 4);
	if (!err)
		err = odict_alloc(&pol, 8);
	if (err)
		goto out;
	err = odict_entry_add(feat, "0", ODICT_STRING, "udp_echo");
	err |= odict_entry_add(feat, "1", ODICT_STRING, "stamp");
	err |= odict_entry_add(feat, "2", ODICT_STRING, "throughput");
	err |= refl_sessions_policy(c->rf->sessions, pol);
	err |= odict_entry_add(reply, "type", ODICT_STRING, "server_hello");
	err |= odict_entry_add(reply, "version", ODICT_STRING, "1.0");
	err |= odict_entry_add(reply, "features", ODICT_ARRAY, feat);
	err |= odict_entry_add(reply, "policy_summary", ODICT_OBJECT, pol);
	err |= odict_entry_add(reply, "endpoint_id", ODICT_STRING,
			       refl_identity_id(c->rf->id));
 out:
	mem_deref(feat);
	mem_deref(pol);

	return err ? ENOMEM : 0;
}


static int on_pair(struct refl_conn *c, const struct odict *p,
		   struct odict *reply)
{
	struct refl *rf = c->rf;
	const char *code = odict_string(p, "token");
	const char *msg, *why = NULL;
	enum refl_pair_result res;
	char reason[96];

	if (c->authorized) {
		msg = "already authorized";
		goto answer;
	}

	res = refl_access_pair(rf->access, c->peer_id, code, gw_now_ms());
	switch (res) {

	case REFL_PAIR_OK:
		refl_audit_write(rf->audit, "peer_paired", REFL_AUDIT_REC(
			.peer_id = c->peer_id, .decision = "allowed",
			.reason = "pairing code accepted"));
		gw_log(GW_LOG_INFO, "reflector", "peer_paired",
		       GW_FIELDS(GW_FS("peer_id", c->peer_id),
				 GW_FS("peer", c->addr)),
		       "Peer %s paired from %s", c->peer_id, c->addr);
		++rf->st.paired;
		c->authorized = true;
		msg = "paired";
		break;

	case REFL_PAIR_WRONG:
	case REFL_PAIR_CLOSED:
		++rf->st.pair_wrong;
		snprintf(reason, sizeof(reason), res == REFL_PAIR_CLOSED ?
			 "wrong pairing code: the window is closed after %d" :
			 "wrong pairing code (%u of %d)",
			 res == REFL_PAIR_CLOSED ? REFL_PAIR_MAX_WRONG :
			 (int)refl_access_wrong(rf->access),
			 REFL_PAIR_MAX_WRONG);
		why = reason;
		msg = "wrong pairing code";
		break;

	case REFL_PAIR_STORE_FAILED:
		why = "the paired-peers file cannot be written";
		msg = "pairing failed on the reflector";
		break;

	default:
		why = "no pairing window is open";
		msg = "no pairing window is open";
		break;
	}

	if (why) {
		refl_audit_write(rf->audit, "peer_paired", REFL_AUDIT_REC(
			.peer_id = c->peer_id, .decision = "denied",
			.reason = why));
		gw_log(GW_LOG_WARN, "reflector", "pairing_refused",
		       GW_FIELDS(GW_FS("peer_id", c->peer_id),
				 GW_FS("peer", c->addr), GW_FS("reason", why)),
		       "Pairing refused to %s from %s: %s", c->peer_id,
		       c->addr, why);
		if (res == REFL_PAIR_CLOSED)
			gw_log(GW_LOG_WARN, "reflector", "pairing_closed",
			       GW_FIELDS(GW_FU("wrong", REFL_PAIR_MAX_WRONG)),
			       "Pairing window closed after %d wrong codes",
			       REFL_PAIR_MAX_WRONG);
	}

 answer:
	odict_entry_add(reply, "type", ODICT_STRING, "pair_response");
	odict_entry_add(reply, "success", ODICT_BOOL, why == NULL);
	odict_entry_add(reply, "message", ODICT_STRING, msg);
	if (!why)
		odict_entry_add(reply, "endpoint_id", ODICT_STRING,
				refl_identity_id(rf->id));

	return 0;
}


static int on_close(struct refl_conn *c, const struct odict *p,
		    struct odict *reply, int *codep, const char **msgp)
{
	const char *id = odict_string(p, "test_id");
	int err;

	if (!id) {
		*codep = 400;
		*msgp = "session_close needs a test_id string";
		return EPROTO;
	}
	err = refl_session_close(c->rf->sessions, c->peer_id, id);
	if (err == ENOENT) {
		*codep = 404;
		*msgp = "no such test";
		return err;
	}
	if (err == EPERM) {
		*codep = 403;
		*msgp = "that test is not yours";
		return err;
	}
	if (err)
		return err;

	return odict_entry_add(reply, "type", ODICT_STRING, "ok");
}


static void pending_destructor(void *data)
{
	struct pending *p = data;

	list_unlink(&p->le);
}


static void pending_reply(struct odict *reply, void *arg)
{
	struct pending *p = arg;
	struct refl_conn *c = p->c;

	if (!c)
		return;
	if (send_payload(c, p->rid, reply))
		c->closing = true;
	conn_kick(c);   /* out now, or when the socket can take it */
}


static int on_session(struct refl_conn *c, const char *rid,
		      const struct odict *p, struct odict *reply,
		      bool *pendingp)
{
	struct pending *pd = mem_zalloc(sizeof(*pd), pending_destructor);
	int err;

	if (!pd)
		return ENOMEM;
	pd->c = c;
	str_ncpy(pd->rid, rid ? rid : "", sizeof(pd->rid));
	list_append(&c->pending, &pd->le, pd);
	err = refl_session_request(c->rf->sessions, c->peer_id, &c->peer, p,
				   reply, pending_reply, pd, pendingp);
	mem_deref(pd);   /* the manager holds it while a reply is due */

	return err;
}


static void on_frame(struct refl_conn *c, const struct odict *msg)
{
	const char *rid = odict_string(msg, "request_id");
	const struct odict *p = odict_lookup(msg, "payload")->u.odict;
	const char *type = odict_string(p, "type");
	const char *emsg = NULL;
	struct odict *reply = NULL;
	bool pending = false;
	int err, code = 500;

	++c->rf->st.frames_in;
	touch(c);

	if (!c->authorized && strcmp(type, "hello") &&
	    strcmp(type, "pair_request")) {
		send_error(c, rid, 403, "not authorized: pair first");
		return;
	}

	err = odict_alloc(&reply, 16);
	if (err)
		goto out;

	if (!strcmp(type, "hello"))
		err = on_hello(c, p, reply);
	else if (!strcmp(type, "pair_request"))
		err = on_pair(c, p, reply);
	else if (!strcmp(type, "session_request"))
		err = on_session(c, rid, p, reply, &pending);
	else if (!strcmp(type, "session_close"))
		err = on_close(c, p, reply, &code, &emsg);
	else if (!strcmp(type, "get_status"))
		err = refl_sessions_snapshot(c->rf->sessions, c->peer_id,
					     refl_identity_id(c->rf->id),
					     reply);
	else {
		code = 400;
		emsg = "a server does not take this message type";
		err = EPROTO;
	}

 out:
	if (err)
		send_error(c, rid, code, emsg ? emsg : strerror(err));
	else if (!pending && send_payload(c, rid, reply))
		c->closing = true;
	mem_deref(reply);
}


/* --- the handshake's outcome --- */

static void handshake_done(struct refl_conn *c)
{
	struct refl *rf = c->rf;
	const unsigned char *proto = NULL;
	unsigned plen = 0;
	char why[160];
	X509 *x;
	int err;

	c->state = CONN_OPEN;

	/* a client offering no ALPN at all never reaches the select
	 * callback: it is refused here, as one offering the wrong one */
	SSL_get0_alpn_selected(c->ssl, &proto, &plen);
	if (!plen) {
		++rf->st.handshake_failed;
		gw_log(GW_LOG_INFO, "reflector", "handshake_failed",
		       GW_FIELDS(GW_FS("peer", c->addr),
				 GW_FS("reason", "no ALPN offered")),
		       "TLS handshake with %s failed: %s", c->addr,
		       "no ALPN offered");
		send_error(c, "", 400, "no ALPN offered: this is pp-link/1");
		c->closing = true;
		return;
	}
	x = SSL_get0_peer_certificate(c->ssl);
	err = x ? refl_cert_peer_id(x, c->peer_id, why, sizeof(why)) :
		(snprintf(why, sizeof(why), "no client certificate"), EACCES);
	if (err) {
		++rf->st.denied;
		refl_audit_write(rf->audit, "connection_denied", REFL_AUDIT_REC(
			.peer_id = c->peer_id[0] ? c->peer_id : NULL,
			.decision = "denied", .reason = why));
		gw_log(GW_LOG_WARN, "reflector", "connection_denied",
		       GW_FIELDS(GW_FS("peer", c->addr), GW_FS("reason", why)),
		       "Connection from %s denied: %s", c->addr, why);
		send_error(c, "", 403, "certificate refused");
		c->closing = true;
		return;
	}

	++rf->st.handshakes;
	c->authorized = refl_access_authorized(rf->access, c->peer_id);
	if (!c->authorized &&
	    !refl_access_window(rf->access, gw_now_ms(), NULL)) {
		++rf->st.denied;
		refl_audit_write(rf->audit, "connection_denied", REFL_AUDIT_REC(
			.peer_id = c->peer_id, .decision = "denied",
			.reason = "peer not authorized"));
		gw_log(GW_LOG_WARN, "reflector", "connection_denied",
		       GW_FIELDS(GW_FS("peer", c->addr),
				 GW_FS("peer_id", c->peer_id),
				 GW_FS("reason", "peer not authorized")),
		       "Connection from %s denied: %s is not authorized",
		       c->addr, c->peer_id);
		send_error(c, "", 403, "not authorized: pair first (no "
			   "pairing window is open)");
		c->closing = true;
		return;
	}

	refl_audit_write(rf->audit, "connection_accepted", REFL_AUDIT_REC(
		.peer_id = c->peer_id,
		.decision = c->authorized ? "allowed" : "pairing_only"));
	gw_log(GW_LOG_INFO, "reflector", "connection_accepted",
	       GW_FIELDS(GW_FS("peer", c->addr), GW_FS("peer_id", c->peer_id),
			 GW_FB("authorized", c->authorized)),
	       "Control link from %s: %s%s", c->addr, c->peer_id,
	       c->authorized ? "" : " (pairing only)");
	touch(c);
}


static void handshake_failed(struct refl_conn *c, int e)
{
	char why[200];

	if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN)
		snprintf(why, sizeof(why), "the peer closed the connection");
	else
		refl_tls_error(why, sizeof(why));
	++c->rf->st.handshake_failed;
	gw_log(GW_LOG_INFO, "reflector", "handshake_failed",
	       GW_FIELDS(GW_FS("peer", c->addr), GW_FS("reason", why)),
	       "TLS handshake with %s failed: %s", c->addr, why);
	conn_close(c);
}


/* --- I/O --- */

static void append(struct mbuf *mb, const uint8_t *p, size_t n)
{
	size_t pos = mb->pos;

	mb->pos = mb->end;
	mbuf_write_mem(mb, p, n);
	mb->pos = pos;
}


/* Move what is unread to the front once most of the buffer is read */
static void compact(struct mbuf *mb)
{
	size_t left = mbuf_get_left(mb);

	if (!left) {
		mbuf_rewind(mb);
	}
	else if (mb->pos > 65536) {
		memmove(mb->buf, mb->buf + mb->pos, left);
		mb->pos = 0;
		mb->end = left;
	}
}


/* 0 or a reason to close */
static int flush_out(struct refl_conn *c, bool *blocked)
{
	*blocked = false;
	while (mbuf_get_left(c->out)) {
		size_t left = mbuf_get_left(c->out);
		int n = SSL_write(c->ssl, mbuf_buf(c->out),
				  left > INT32_MAX ? INT32_MAX : (int)left);

		if (n > 0) {
			mbuf_advance(c->out, n);
			continue;
		}
		switch (SSL_get_error(c->ssl, n)) {
		case SSL_ERROR_WANT_WRITE:
		case SSL_ERROR_WANT_READ:
			*blocked = true;
			return 0;
		default:
			ERR_clear_error();
			return EPIPE;
		}
	}
	compact(c->out);

	return 0;
}


static int read_in(struct refl_conn *c)
{
	uint8_t buf[READ_CHUNK];

	for (int i = 0; i < READS_PER_WAKE; i++) {
		int n;

		/* a frame is at most 4 + 1 MiB; more unread is refused */
		if (mbuf_get_left(c->in) > REFL_FRAME_MAX + 4 + READ_CHUNK)
			return 0;
		n = SSL_read(c->ssl, buf, sizeof(buf));
		if (n > 0) {
			append(c->in, buf, (size_t)n);
			continue;
		}
		switch (SSL_get_error(c->ssl, n)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			return 0;
		default:
			ERR_clear_error();
			return ECONNRESET;  /* closed, cleanly or not */
		}
	}

	return 0;
}


static void take_frames(struct refl_conn *c)
{
	char why[160];

	while (!c->closing) {
		struct odict *msg = NULL;
		int err = refl_frame_take(c->in, &msg, why, sizeof(why));

		if (err == EAGAIN)
			break;
		if (err) {
			++c->rf->st.frames_bad;
			gw_log(GW_LOG_WARN, "reflector", "frame_refused",
			       GW_FIELDS(GW_FS("peer", c->addr),
					 GW_FS("peer_id", c->peer_id),
					 GW_FS("reason", why)),
			       "Frame from %s refused: %s", c->addr, why);
			send_error(c, "", err == EMSGSIZE ? 413 : 400, why);
			c->closing = true;
			break;
		}
		on_frame(c, msg);
		mem_deref(msg);
	}
	compact(c->in);
}


/* Send what is queued; the interest follows (nothing is read here) */
static void conn_kick(struct refl_conn *c)
{
	bool blocked = false;

	if (c->state != CONN_OPEN)
		return;
	if (flush_out(c, &blocked) || (c->closing && !blocked)) {
		conn_close(c);
		return;
	}
	gw_watch_set(c->w, c->closing ? GW_FD_WRITE :
		     GW_FD_READ | (blocked ? GW_FD_WRITE : 0));
}


static void conn_io(struct refl_conn *c)
{
	bool blocked = false;
	int interest = GW_FD_READ;

	if (c->state == CONN_HANDSHAKE) {
		int r = SSL_do_handshake(c->ssl), e;

		if (r != 1) {
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ) {
				gw_watch_set(c->w, GW_FD_READ);
				return;
			}
			if (e == SSL_ERROR_WANT_WRITE) {
				gw_watch_set(c->w, GW_FD_READ | GW_FD_WRITE);
				return;
			}
			handshake_failed(c, e);
			return;
		}
		handshake_done(c);
	}

	if (!c->closing && read_in(c)) {
		conn_close(c);
		return;
	}
	take_frames(c);

	if (flush_out(c, &blocked)) {
		conn_close(c);
		return;
	}
	if (c->closing && !blocked) {
		conn_close(c);
		return;
	}
	if (blocked)
		interest |= GW_FD_WRITE;
	/* closing: only the last bytes out, nothing more read (a readable
	 * socket nobody reads would wake the loop again and again) */
	if (c->closing)
		interest = GW_FD_WRITE;
	gw_watch_set(c->w, interest);
}


static void conn_ready(int fd, int events, void *arg)
{
	(void)fd;
	(void)events;

	conn_io(arg);
}


static void conn_new(struct refl *rf, int fd, const struct sa *peer)
{
	struct refl_conn *c;
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	c = mem_zalloc(sizeof(*c), conn_destructor);
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->rf = rf;
	c->peer = *peer;
	re_snprintf(c->addr, sizeof(c->addr), "%J", peer);
	c->tls = mem_ref(rf->tls);
	list_append(&rf->conns, &c->le, c);

	c->in = mbuf_alloc(READ_CHUNK);
	c->out = mbuf_alloc(4096);
	c->ssl = SSL_new(refl_tls_ctx(c->tls));
	if (!c->in || !c->out || !c->ssl || SSL_set_fd(c->ssl, fd) != 1 ||
	    gw_timer_alloc(&c->t, rf->r) ||
	    gw_watch_alloc(&c->w, rf->r, fd, GW_FD_READ, conn_ready, c)) {
		ERR_clear_error();
		conn_close(c);
		return;
	}
	SSL_set_accept_state(c->ssl);
	gw_timer_start(c->t, rf->conf->reflector.network.handshake_timeout,
		       idle_expired, c);
}


/* Connections from peer's IP still in their handshake */
static unsigned handshaking(const struct refl *rf, const struct sa *peer)
{
	unsigned n = 0;

	for (struct le *le = rf->conns.head; le; le = le->next) {
		const struct refl_conn *c = le->data;

		n += c->state == CONN_HANDSHAKE &&
			sa_cmp(&c->peer, peer, SA_ADDR);
	}

	return n;
}


static void listen_ready(int lfd, int events, void *arg)
{
	struct refl *rf = arg;
	(void)events;

	for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
		struct sa peer;
		int fd;

		sa_init(&peer, AF_UNSPEC);
		peer.len = sizeof(peer.u);
		fd = accept4(lfd, &peer.u.sa, &peer.len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				gw_log(GW_LOG_WARN, "reflector",
				       "accept_failed",
				       GW_FIELDS(GW_FERR(errno)),
				       "Cannot accept a control connection");
			return;
		}
		++rf->st.accepted;
		if (list_count(&rf->conns) >= REFL_MAX_CONNS ||
		    handshaking(rf, &peer) >= REFL_MAX_HANDSHAKING_PER_IP) {
			++rf->st.refused_full;
			close(fd);
			continue;
		}
		conn_new(rf, fd, &peer);
	}
}


int refl_link_listen(struct refl *rf, char *why, size_t why_size)
{
	const struct sa *la = &rf->conf->reflector.network.listen_address;
	int one = 1, err;

	re_snprintf(rf->listen, sizeof(rf->listen), "%J", la);
	rf->lfd = socket(sa_af(la), SOCK_STREAM | SOCK_NONBLOCK |
			 SOCK_CLOEXEC, 0);
	if (rf->lfd < 0) {
		err = errno;
		goto fail;
	}
	setsockopt(rf->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(rf->lfd, &la->u.sa, la->len) || listen(rf->lfd, 128)) {
		err = errno;
		goto fail;
	}
	err = gw_watch_alloc(&rf->lw, rf->r, rf->lfd, GW_FD_READ,
			     listen_ready, rf);
	if (err)
		goto fail;

	return 0;

 fail:
	snprintf(why, why_size, "cannot listen on %s: %s", rf->listen,
		 strerror(err));

	return err;
}


void refl_link_close_all(struct refl *rf)
{
	list_flush(&rf->conns);
}


size_t refl_link_count(const struct refl *rf)
{
	return list_count(&rf->conns);
}


unsigned refl_link_drop_peer(struct refl *rf, const char *peer_id)
{
	struct le *le = rf->conns.head;
	unsigned n = 0;

	while (le) {
		struct refl_conn *c = le->data;

		le = le->next;
		if (c->state == CONN_OPEN && !strcmp(c->peer_id, peer_id)) {
			conn_close(c);
			++n;
		}
	}

	return n;
}
