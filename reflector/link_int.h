/**
 * @file link_int.h  Inside the control link: what link.c (sockets, TLS,
 * frames) and link_msg.c (what each message does) share
 */

#ifndef REFL_LINK_INT_H
#define REFL_LINK_INT_H

#include <stdbool.h>

#include <openssl/ssl.h>

#include "gateway/libre.h"
#include "reflector/id.h"

struct gw_timer;
struct gw_watch;
struct odict;
struct refl;
struct refl_tls;

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

/* link.c */

/** Queue a frame; ENOBUFS when the peer leaves too much unread */
int  refl_conn_send(struct refl_conn *c, const char *rid,
		    const struct odict *payload);
/** Queue an error frame {code, message} */
void refl_conn_error(struct refl_conn *c, const char *rid, int code,
		     const char *msg);
/** Send what is queued now (outside the link's own I/O) */
void refl_conn_kick(struct refl_conn *c);
/** Restart the idle deadline */
void refl_conn_touch(struct refl_conn *c);

/* link_msg.c */

/** One frame from an identified peer: answer it */
void refl_conn_frame(struct refl_conn *c, const struct odict *msg);

#endif
