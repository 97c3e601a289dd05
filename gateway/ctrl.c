/**
 * @file ctrl.c  Control socket server on the reactor
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gateway/libre.h"
#include "gateway/ctrl_int.h"
#include "gateway/log.h"
#include "gateway/paths.h"
#include "gateway/reactor.h"
#include "gateway/utf8.h"

enum {
	MAX_OUTPUT = 1 << 20,         /**< unread replies before we give up */
	MAX_DRAIN = 1 << 20,          /**< input discarded before closing */
	JSON_MAX_DEPTH = 8,
	READ_CHUNK = 4096,
	IDLE_MS = 10000,              /**< without a whole request: closed */
	LINGER_MS = 1000,             /**< for a closing client to go */
	ACCEPT_PAUSE_MIN_MS = 100,    /**< accept failing (EMFILE...): wait */
	ACCEPT_PAUSE_MAX_MS = 2000,
};


static void client_destructor(void *data)
{
	struct ctrl_client *cl = data;

	/* the client went: its requests are cancelled, their owners told */
	while (cl->pending.head)
		ctrl_req_cancel(cl->pending.head->data);

	list_unlink(&cl->le);
	mem_deref(cl->idle);
	mem_deref(cl->w);
	if (cl->fd >= 0)
		close(cl->fd);
	mem_deref(cl->in);
	mem_deref(cl->out);

	if (cl->ctrl && cl->ctrl->st.clients)
		--cl->ctrl->st.clients;
}


/* Write what the socket takes; watch for writability while output waits. */
static void client_flush(struct ctrl_client *cl)
{
	while (mbuf_get_left(cl->out)) {
		ssize_t n = send(cl->fd, mbuf_buf(cl->out),
				 mbuf_get_left(cl->out), MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			cl->dead = true;
			return;
		}
		mbuf_advance(cl->out, n);
	}

	if (!mbuf_get_left(cl->out)) {
		mbuf_reset(cl->out);
		if (cl->closing && cl->eof) {
			cl->dead = true;
			return;
		}
		if (cl->closing) {
			/* Closing with unread input would send a RST, and the
			 * peer's kernel would drop our error reply with it:
			 * half-close and discard input until the peer closes. */
			shutdown(cl->fd, SHUT_WR);
			cl->draining = true;
			gw_watch_set(cl->w, GW_FD_READ);
			return;
		}
		gw_watch_set(cl->w, GW_FD_READ);
	}
	else {
		gw_watch_set(cl->w, cl->closing ? GW_FD_WRITE :
			     GW_FD_READ | GW_FD_WRITE);
	}
}


void ctrl_client_send(struct ctrl_client *cl, const struct odict *reply)
{
	size_t pos = cl->out->pos;

	if (mbuf_get_left(cl->out) > MAX_OUTPUT) {
		gw_log(GW_LOG_WARN, "gateway", "ctrl_client_slow",
		       GW_FIELDS(GW_FU("pending", mbuf_get_left(cl->out))),
		       "Control client does not read its replies, closing");
		cl->dead = true;
		return;
	}

	/* append at the end, keep the read position for flushing */
	cl->out->pos = cl->out->end;
	if (mbuf_printf(cl->out, "%H\n", json_encode_odict, reply)) {
		cl->out->pos = pos;
		cl->dead = true;
		return;
	}
	cl->out->pos = pos;
}


/* Answer outside client_event(): flush now, free a client that died */
void ctrl_client_kick(struct ctrl_client *cl)
{
	if (!cl->dead)
		client_flush(cl);
	if (cl->dead)
		mem_deref(cl);
}


/* No reply ever carries bytes that are not UTF-8 (RFC 8259 §8.1): a
 * request that has some gets an error that echoes nothing of it */
static bool str_utf8(const char *s)
{
	return !s || gw_utf8_valid((const uint8_t *)s, strlen(s));
}


static void handle_line(struct ctrl_client *cl, const char *line, size_t len)
{
	struct gw_ctrl *c = cl->ctrl;
	struct odict *req = NULL, *reply = NULL;
	struct ctrl_cmd *cmd;
	const char *name;
	char msg[160];
	int err;

	++c->st.requests;

	/* libre's decoder accepts bare words; a request is an object */
	while (len && (*line == ' ' || *line == '\t')) {
		++line;
		--len;
	}

	if (!gw_utf8_valid((const uint8_t *)line, len)) {
		ctrl_send_error(cl, NULL, "malformed request: not UTF-8");
		goto out;
	}

	if (!len || *line != '{' ||
	    json_decode_odict(&req, 16, line, len, JSON_MAX_DEPTH)) {
		ctrl_send_error(cl, NULL, "malformed request: expected one JSON "
			   "object per line");
		goto out;
	}

	/* \ud800 and the like decode to bytes that are not UTF-8: what we
	 * echo (cmd, id) must be */
	name = odict_string(req, "cmd");
	if (!str_utf8(name) || !str_utf8(odict_string(req, "id"))) {
		mem_deref(req);
		req = NULL;
		ctrl_send_error(cl, NULL, "malformed request: not UTF-8");
		goto out;
	}
	if (!name) {
		ctrl_send_error(cl, req, "malformed request: no \"cmd\" string");
		goto out;
	}

	cmd = ctrl_cmd_find(c, name);
	if (!cmd) {
		snprintf(msg, sizeof(msg), "unknown command '%.64s' (try "
			 "\"help\")", name);
		ctrl_send_error(cl, req, msg);
		goto out;
	}

	if ((cmd->flags & GW_CTRL_PRIVILEGED) && cl->uid != 0 &&
	    cl->uid != geteuid()) {
		snprintf(msg, sizeof(msg), "'%s' changes the daemon's state: "
			 "only root or uid %u may use it (you are uid %u)",
			 cmd->name, (unsigned)geteuid(), (unsigned)cl->uid);
		gw_log(GW_LOG_WARN, "gateway", "ctrl_refused",
		       GW_FIELDS(GW_FS("cmd", cmd->name),
				 GW_FU("uid", cl->uid), GW_FI("pid", cl->pid)),
		       "Control command %s refused to uid %u", cmd->name,
		       (unsigned)cl->uid);
		ctrl_send_error(cl, req, msg);
		goto out;
	}

	if (cmd->async) {
		ctrl_req_start(cl, cmd, req);
		goto out;
	}

	if (odict_alloc(&reply, 16)) {
		ctrl_send_error(cl, req, "out of memory");
		goto out;
	}

	err = cmd->h(reply, req, cmd->arg);
	ctrl_send_reply(cl, req, err, reply);

 out:
	mem_deref(req);
	mem_deref(reply);
}


static void client_idle(void *arg);


/* Take every complete line out of the input buffer; at EOF the last
 * line needs no newline. */
static bool process_input(struct ctrl_client *cl)
{
	struct mbuf *in = cl->in;

	for (;;) {
		const uint8_t *start = mbuf_buf(in);
		size_t left = mbuf_get_left(in);
		const uint8_t *nl = memchr(start, '\n', left);
		size_t len;

		if (!nl && !(cl->eof && left))
			break;

		len = nl ? (size_t)(nl - start) : left;
		if (len && start[len - 1] == '\r')
			--len;

		if (len) {
			handle_line(cl, (const char *)start, len);
			if (!cl->closing)
				gw_timer_start(cl->idle, IDLE_MS, client_idle,
					       cl);
		}
		if (cl->dead)
			return false;

		mbuf_advance(in, nl ? (ssize_t)(nl - start) + 1 :
			     (ssize_t)left);
	}

	/* keep the partial line at the start of the buffer */
	if (in->pos) {
		size_t left = mbuf_get_left(in);
		memmove(in->buf, mbuf_buf(in), left);
		in->pos = 0;
		in->end = left;
	}

	if (mbuf_get_left(in) > GW_CTRL_MAX_MSG) {
		char msg[96];

		snprintf(msg, sizeof(msg), "request too large (limit %d "
			 "bytes per line)", GW_CTRL_MAX_MSG);
		gw_log(GW_LOG_WARN, "gateway", "ctrl_request_too_large",
		       GW_FIELDS(GW_FU("limit", GW_CTRL_MAX_MSG)),
		       "Control request too large, closing client");
		ctrl_send_error(cl, NULL, msg);
		mbuf_reset(in);
		cl->closing = true;
		return false;
	}

	return true;
}


static void client_drain(struct ctrl_client *cl)
{
	char scratch[4096];

	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(cl->fd, scratch, sizeof(scratch), 0);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0 && errno == EINTR)
			continue;
		cl->drained += n > 0 ? (size_t)n : 0;
		if (n <= 0 || cl->drained > MAX_DRAIN) {
			cl->dead = true;
			return;
		}
	}
}


/* IDLE_MS without a whole request: told so, then closed; one that does
 * not go within LINGER_MS more (a reply it does not read, a half-closed
 * socket it keeps) is dropped. Also frees: the client is not in use. */
static void client_idle(void *arg)
{
	struct ctrl_client *cl = arg;
	char msg[64];

	if (cl->closing || cl->draining) {
		mem_deref(cl);
		return;
	}

	/* waiting for our answer is not idling */
	if (cl->pending.head) {
		gw_timer_start(cl->idle, IDLE_MS, client_idle, cl);
		return;
	}

	snprintf(msg, sizeof(msg), "idle for %d s without a request, closing",
		 IDLE_MS / 1000);
	ctrl_send_error(cl, NULL, msg);
	mbuf_reset(cl->in);
	cl->closing = true;
	gw_timer_start(cl->idle, LINGER_MS, client_idle, cl);
	if (!cl->dead)
		client_flush(cl);
	if (cl->dead)
		mem_deref(cl);
}


/* The one place that frees a client on socket events (client_idle() is
 * the other): everything below only marks it. */
static void client_event(int fd, int events, void *arg)
{
	struct ctrl_client *cl = arg;

	if (cl->draining) {
		client_drain(cl);
		goto out;
	}

	if (events & GW_FD_WRITE)
		client_flush(cl);

	if (cl->dead || cl->closing ||
	    !(events & (GW_FD_READ | GW_FD_ERROR)))
		goto out;

	for (int i = 0; i < 16; i++) {
		ssize_t n;

		/* room after end; mbuf_get_space() counts from pos */
		if (cl->in->size - cl->in->end < READ_CHUNK &&
		    mbuf_resize(cl->in, cl->in->size + READ_CHUNK)) {
			cl->dead = true;
			goto out;
		}

		n = recv(fd, cl->in->buf + cl->in->end,
			 cl->in->size - cl->in->end, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			/* peer gone or failed: answer what it sent, close */
			cl->closing = true;
			cl->eof = true;
			process_input(cl);
			break;
		}

		cl->in->end += (size_t)n;

		if (!process_input(cl))
			break;
	}

	if (!cl->dead)
		client_flush(cl);

 out:
	if (cl->dead)
		mem_deref(cl);
}


/* Who is on the other end; unknown (getsockopt failing) counts as
 * nobody in particular, never as root */
static void peer_cred(struct ctrl_client *cl)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	cl->uid = (uid_t)-1;
	if (0 == getsockopt(cl->fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) &&
	    len == sizeof(uc)) {
		cl->uid = uc.uid;
		cl->pid = uc.pid;
	}
}


static void reject_client(struct gw_ctrl *c, int fd)
{
	static const char msg[] =
		"{\"ok\":false,\"error\":\"too many control clients\"}\n";

	++c->st.clients_rejected;
	++c->st.errors;
	(void)!send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}


static void listener_event(int fd, int events, void *arg);


static void accept_resume(void *arg)
{
	struct gw_ctrl *c = arg;

	gw_watch_set(c->w, GW_FD_READ);
	listener_event(c->fd, GW_FD_READ, c);
}


/*
 * accept() failing for want of descriptors or memory leaves the
 * connection queued and the socket readable: the reactor would call us
 * again at once, forever. Stop watching for a while instead, doubling
 * up to ACCEPT_PAUSE_MAX_MS, and say so once per episode.
 */
static void accept_failed(struct gw_ctrl *c, int err)
{
	if (!c->accept_failures++)
		gw_log(GW_LOG_WARN, "gateway", "ctrl_accept_failed",
		       GW_FIELDS(GW_FERR(err)),
		       "Control socket accept failed, pausing accepts");

	c->pause_ms = c->pause_ms ? c->pause_ms * 2 : ACCEPT_PAUSE_MIN_MS;
	if (c->pause_ms > ACCEPT_PAUSE_MAX_MS)
		c->pause_ms = ACCEPT_PAUSE_MAX_MS;
	gw_watch_set(c->w, 0);
	gw_timer_start(c->pause, c->pause_ms, accept_resume, c);
}


static void listener_event(int fd, int events, void *arg)
{
	struct gw_ctrl *c = arg;
	(void)events;

	/* bounded, so a connect storm cannot starve other sockets */
	for (int i = 0; i < 32; i++) {
		struct ctrl_client *cl;
		int cfd = accept4(fd, NULL, NULL,
				  SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				accept_failed(c, errno);
			return;
		}

		if (c->accept_failures) {
			gw_log(GW_LOG_INFO, "gateway", "ctrl_accept_resumed",
			       GW_FIELDS(GW_FU("failures", c->accept_failures)),
			       "Control socket accepting again after %llu "
			       "failure(s)",
			       (unsigned long long)c->accept_failures);
			c->accept_failures = 0;
			c->pause_ms = 0;
		}

		if (c->st.clients >= GW_CTRL_MAX_CLIENTS) {
			reject_client(c, cfd);
			continue;
		}

		cl = mem_zalloc(sizeof(*cl), client_destructor);
		if (!cl) {
			close(cfd);
			continue;
		}
		cl->fd = cfd;
		cl->in = mbuf_alloc(READ_CHUNK);
		cl->out = mbuf_alloc(1024);
		if (!cl->in || !cl->out ||
		    gw_watch_alloc(&cl->w, c->r, cfd, GW_FD_READ,
				   client_event, cl) ||
		    gw_timer_alloc(&cl->idle, c->r) ||
		    gw_timer_start(cl->idle, IDLE_MS, client_idle, cl)) {
			mem_deref(cl);
			continue;
		}

		peer_cred(cl);
		cl->ctrl = c;
		list_append(&c->clients, &cl->le, cl);
		++c->st.clients;
		++c->st.clients_total;
	}
}


static void ctrl_destructor(void *data)
{
	struct gw_ctrl *c = data;

	/* clients first: their destructors update c->st */
	list_flush(&c->clients);
	list_flush(&c->cmds);
	mem_deref(c->pause);
	mem_deref(c->w);

	if (c->fd >= 0) {
		close(c->fd);
		if (c->path)
			unlink(c->path);
	}

	mem_deref(c->path);
	mem_deref(c->r);
}


/* A socket file left by a daemon that died is replaced; a live one not. */
static int clear_stale(const struct sockaddr_un *sun)
{
	struct stat sb;
	int fd, err = 0;

	if (lstat(sun->sun_path, &sb))
		return errno == ENOENT ? 0 : errno;

	if (!S_ISSOCK(sb.st_mode))
		return EEXIST;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;

	if (0 == connect(fd, (const struct sockaddr *)sun, sizeof(*sun)))
		err = EADDRINUSE;
	else if (errno == ECONNREFUSED || errno == ENOENT)
		err = unlink(sun->sun_path) ? errno : 0;
	else
		err = errno;

	close(fd);

	return err;
}


int gw_ctrl_alloc(struct gw_ctrl **cp, struct gw_reactor *r,
		  const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct gw_ctrl *c;
	int err;

	if (!cp || !r || !path)
		return EINVAL;

	if (strlen(path) >= sizeof(sun.sun_path))
		return ENAMETOOLONG;
	strcpy(sun.sun_path, path);

	c = mem_zalloc(sizeof(*c), ctrl_destructor);
	if (!c)
		return ENOMEM;

	c->fd = -1;
	c->r = mem_ref(r);
	err = str_dup(&c->path, path);
	if (err)
		goto out;

	/* 0750 keeps other users out */
	err = gw_mkdir_parents(path, 0755, 0750);
	if (err)
		goto out;

	err = clear_stale(&sun);
	if (err)
		goto out;

	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		err = errno;
		goto out;
	}

	if (bind(c->fd, (struct sockaddr *)&sun, sizeof(sun))) {
		err = errno;
		close(c->fd);
		c->fd = -1;  /* not ours to unlink */
		goto out;
	}

	if (chmod(path, 0660) || listen(c->fd, 64)) {
		err = errno;
		goto out;
	}

	err = gw_watch_alloc(&c->w, r, c->fd, GW_FD_READ, listener_event, c);
	if (!err)
		err = gw_timer_alloc(&c->pause, r);
	if (err)
		goto out;

	err = gw_ctrl_register(c, "help", "list the commands", ctrl_cmd_help, c);

 out:
	if (err)
		mem_deref(c);
	else
		*cp = c;

	return err;
}


void gw_ctrl_stats(const struct gw_ctrl *c, struct gw_ctrl_stats *st)
{
	if (c && st)
		*st = c->st;
}


const char *gw_ctrl_path(const struct gw_ctrl *c)
{
	return c ? c->path : NULL;
}
