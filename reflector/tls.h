/**
 * @file tls.h  The pp-link/1 TLS context, server and client side
 *
 * TLS 1.3 only; our self-signed Ed25519 certificate (cert.h); a
 * certificate required from the peer, whatever its issuer (they are all
 * self-signed), because who the peer is comes from its key alone
 * (refl_cert_peer_id(), after the handshake); ALPN from
 * reflector.network.alpn, a mismatch a fatal no_application_protocol
 * alert. No session tickets: every connection proves its key.
 */

#ifndef REFL_TLS_H
#define REFL_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

struct refl_identity;
struct refl_tls;

int refl_tls_alloc(struct refl_tls **tp, const struct refl_identity *id,
		   bool server, const char *alpn, char *why, size_t why_size);
SSL_CTX *refl_tls_ctx(const struct refl_tls *t);
/** The first OpenSSL error queued, as text (and the queue cleared) */
void refl_tls_error(char *buf, size_t size);

#endif
