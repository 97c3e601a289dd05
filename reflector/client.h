/**
 * @file client.h  The appliance side of pp-link/1, for the command line
 *
 * Blocking, with a deadline on every step: this runs in `keepline
 * appliance`, never in the daemon.
 */

#ifndef REFL_CLIENT_H
#define REFL_CLIENT_H

#include <stddef.h>

struct odict;
struct refl_client;
struct refl_identity;
struct sa;

/**
 * Connect, handshake (TLS 1.3, our certificate, ALPN), and compute the
 * server's ID from its key.
 *
 * @param addr  IP:PORT (numeric; [v6]:port)
 */
int refl_client_connect(struct refl_client **cp, const char *addr,
			const struct refl_identity *id, const char *alpn,
			int timeout_ms, char *why, size_t why_size);
/**
 * Send payload (with its "type") and wait for the reply to it.
 *
 * @param replyp  The reply's payload (out)
 */
int refl_client_call(struct refl_client *c, const struct odict *payload,
		     struct odict **replyp, char *why, size_t why_size);
const char *refl_client_server_id(const struct refl_client *c);
const struct sa *refl_client_addr(const struct refl_client *c);

#endif
