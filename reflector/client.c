/**
 * @file client.c  The appliance side of pp-link/1 (client.h)
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "gateway/libre.h"
#include "reflector/cert.h"
#include "reflector/client.h"
#include "reflector/frame.h"
#include "reflector/identity.h"
#include "reflector/tls.h"

struct refl_client {
	int fd;
	SSL *ssl;
	struct refl_tls *tls;
	struct mbuf *in;
	struct sa addr;
	unsigned seq;
	char server_id[REFL_ID_LEN + 1];
};


static void client_destructor(void *data)
{
	struct refl_client *c = data;

	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	mem_deref(c->tls);
	mem_deref(c->in);
}


static int connect_to(int fd, const struct sa *sa, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	int fl = fcntl(fd, F_GETFL), soerr = 0;
	socklen_t len = sizeof(soerr);

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if (connect(fd, &sa->u.sa, sa->len) && errno != EINPROGRESS)
		return errno;
	if (poll(&pfd, 1, timeout_ms) != 1)
		return ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len))
		return errno;
	fcntl(fd, F_SETFL, fl);

	return soerr;
}


int refl_client_connect(struct refl_client **cp, const char *addr,
			const struct refl_identity *id, const char *alpn,
			int timeout_ms, char *why, size_t why_size)
{
	struct timeval tv = {.tv_sec = timeout_ms / 1000,
			     .tv_usec = (timeout_ms % 1000) * 1000};
	struct refl_client *c;
	const unsigned char *proto;
	unsigned plen;
	X509 *x;
	int err;

	if (!cp || !addr || !id || !alpn || !why || !why_size)
		return EINVAL;
	why[0] = '\0';

	c = mem_zalloc(sizeof(*c), client_destructor);
	if (!c)
		return ENOMEM;
	c->fd = -1;
	c->in = mbuf_alloc(4096);
	if (!c->in) {
		err = ENOMEM;
		goto out;
	}

	if (sa_decode(&c->addr, addr, strlen(addr))) {
		snprintf(why, why_size, "'%s' is not IP:PORT", addr);
		err = EINVAL;
		goto out;
	}

	err = refl_tls_alloc(&c->tls, id, false, alpn, why, why_size);
	if (err)
		goto out;

	c->fd = socket(sa_af(&c->addr), SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		err = errno;
		snprintf(why, why_size, "socket: %s", strerror(err));
		goto out;
	}
	err = connect_to(c->fd, &c->addr, timeout_ms);
	if (err) {
		snprintf(why, why_size, "cannot connect to %s: %s", addr,
			 strerror(err));
		goto out;
	}
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

	c->ssl = SSL_new(refl_tls_ctx(c->tls));
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		refl_tls_error(why, why_size);
		err = ENOMEM;
		goto out;
	}
	if (SSL_connect(c->ssl) != 1) {
		char e[200];

		refl_tls_error(e, sizeof(e));
		snprintf(why, why_size, "TLS handshake with %s failed: %s",
			 addr, e);
		err = EPROTO;
		goto out;
	}

	SSL_get0_alpn_selected(c->ssl, &proto, &plen);
	if (plen != strlen(alpn) || memcmp(proto, alpn, plen)) {
		snprintf(why, why_size, "%s did not agree to ALPN %s", addr,
			 alpn);
		err = EPROTO;
		goto out;
	}

	x = SSL_get0_peer_certificate(c->ssl);
	if (!x) {
		snprintf(why, why_size, "%s sent no certificate", addr);
		err = EPROTO;
		goto out;
	}
	err = refl_cert_peer_id(x, c->server_id, why, why_size);

 out:
	if (err)
		mem_deref(c);
	else
		*cp = c;

	return err;
}


static int read_frame(struct refl_client *c, struct odict **msgp, char *why,
		      size_t why_size)
{
	uint8_t buf[16384];

	for (;;) {
		int err = refl_frame_take(c->in, msgp, why, why_size);
		int n;
		size_t pos;

		if (err != EAGAIN)
			return err;

		n = SSL_read(c->ssl, buf, sizeof(buf));
		if (n <= 0) {
			int e = SSL_get_error(c->ssl, n);

			ERR_clear_error();
			snprintf(why, why_size, e == SSL_ERROR_ZERO_RETURN ?
				 "the reflector closed the link" :
				 "no reply from the reflector (%s)",
				 strerror(errno ? errno : ETIMEDOUT));
			return e == SSL_ERROR_ZERO_RETURN ? ECONNRESET :
				ETIMEDOUT;
		}
		pos = c->in->pos;
		c->in->pos = c->in->end;
		mbuf_write_mem(c->in, buf, (size_t)n);
		c->in->pos = pos;
	}
}


int refl_client_call(struct refl_client *c, const struct odict *payload,
		     struct odict **replyp, char *why, size_t why_size)
{
	char rid[32];
	struct mbuf *out;
	int err;

	if (!c || !payload || !replyp || !why || !why_size)
		return EINVAL;
	why[0] = '\0';

	out = mbuf_alloc(1024);
	if (!out)
		return ENOMEM;
	snprintf(rid, sizeof(rid), "appliance-%u", ++c->seq);
	err = refl_frame_put(out, rid, payload);
	if (!err && SSL_write(c->ssl, out->buf, (int)out->end) !=
	    (int)out->end) {
		ERR_clear_error();
		snprintf(why, why_size, "cannot send to the reflector");
		err = EPIPE;
	}
	mem_deref(out);
	if (err)
		return err;

	/* replies come in order; one with another ID (an error about the
	 * link itself has "") ends the wait too */
	for (;;) {
		struct odict *msg = NULL;
		const struct odict_entry *p;
		const char *r;

		err = read_frame(c, &msg, why, why_size);
		if (err)
			return err;
		r = odict_string(msg, "request_id");
		p = odict_lookup(msg, "payload");
		if (r && (!strcmp(r, rid) || !r[0])) {
			*replyp = mem_ref(p->u.odict);
			mem_deref(msg);
			return 0;
		}
		mem_deref(msg);
	}
}


const char *refl_client_server_id(const struct refl_client *c)
{
	return c ? c->server_id : NULL;
}


const struct sa *refl_client_addr(const struct refl_client *c)
{
	return c ? &c->addr : NULL;
}
