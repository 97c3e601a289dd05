/**
 * @file link.c  The pp-link/1 control link: TLS 1.3 over TCP on the
 * reactor, identification, frames
 *
 * What each message does is link_msg.c. A connection goes: accepted
 * (non-blocking, a handshake deadline) →
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
#include "reflector/link_int.h"
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

static void conn_io(struct refl_conn *c);


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


int refl_conn_send(struct refl_conn *c, const char *rid,
			const struct odict *payload)
{
	int err = refl_frame_put(c->out, rid ? rid : "", payload);

	if (!err && mbuf_get_left(c->out) > OUT_MAX)
		err = ENOBUFS;

	return err;
}


void refl_conn_error(struct refl_conn *c, const char *rid, int code,
		       const char *msg)
{
	struct odict *o;

	if (odict_alloc(&o, 4))
		return;
	odict_entry_add(o, "type", ODICT_STRING, "error");
	odict_entry_add(o, "code", ODICT_INT, (int64_t)code);
	odict_entry_add(o, "message", ODICT_STRING, msg);
	refl_conn_send(c, rid, o);
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


void refl_conn_touch(struct refl_conn *c)
{
	gw_timer_start(c->t, c->rf->conf->reflector.network.idle_timeout,
		       idle_expired, c);
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
		refl_conn_error(c, "", 400, "no ALPN offered: this is pp-link/1");
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
		refl_conn_error(c, "", 403, "certificate refused");
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
		refl_conn_error(c, "", 403, "not authorized: pair first (no "
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
	refl_conn_touch(c);
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
			refl_conn_error(c, "", err == EMSGSIZE ? 413 : 400, why);
			c->closing = true;
			break;
		}
		refl_conn_frame(c, msg);
		mem_deref(msg);
	}
	compact(c->in);
}


/* Send what is queued; the interest follows (nothing is read here) */
void refl_conn_kick(struct refl_conn *c)
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
