/**
 * @file tls.c  The pp-link/1 TLS context (tls.h)
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "gateway/libre.h"
#include "reflector/cert.h"
#include "reflector/identity.h"
#include "reflector/tls.h"

struct refl_tls {
	SSL_CTX *ctx;
	unsigned char alpn[256];      /**< wire form: length, name */
	unsigned alpn_len;
};


static void tls_destructor(void *data)
{
	struct refl_tls *t = data;

	SSL_CTX_free(t->ctx);
}


void refl_tls_error(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, buf, size);
	else
		snprintf(buf, size, "no OpenSSL error");
	ERR_clear_error();
}


/* Every issuer is the peer itself: the chain proves nothing, the key
 * does, and it is checked once the handshake is done */
static int verify_any(int ok, X509_STORE_CTX *store)
{
	(void)ok;
	(void)store;

	return 1;
}


static int alpn_select(SSL *ssl, const unsigned char **out,
		       unsigned char *outlen, const unsigned char *in,
		       unsigned inlen, void *arg)
{
	struct refl_tls *t = arg;
	unsigned char *sel;
	(void)ssl;

	if (SSL_select_next_proto(&sel, outlen, t->alpn, t->alpn_len, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;

	return SSL_TLSEXT_ERR_OK;
}


int refl_tls_alloc(struct refl_tls **tp, const struct refl_identity *id,
		   bool server, const char *alpn, char *why, size_t why_size)
{
	struct refl_tls *t;
	X509 *cert = NULL;
	size_t alen;
	int err = 0;

	if (!tp || !id || !alpn || !why || !why_size)
		return EINVAL;
	why[0] = '\0';
	alen = strlen(alpn);
	if (!alen || alen > 255) {
		snprintf(why, why_size, "ALPN '%s' is not 1 to 255 bytes",
			 alpn);
		return EINVAL;
	}

	t = mem_zalloc(sizeof(*t), tls_destructor);
	if (!t)
		return ENOMEM;
	t->alpn[0] = (unsigned char)alen;
	memcpy(t->alpn + 1, alpn, alen);
	t->alpn_len = (unsigned)alen + 1;

	t->ctx = SSL_CTX_new(server ? TLS_server_method() :
			     TLS_client_method());
	if (!t->ctx ||
	    !SSL_CTX_set_min_proto_version(t->ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(t->ctx, TLS1_3_VERSION)) {
		refl_tls_error(why, why_size);
		err = ENOMEM;
		goto out;
	}

	err = refl_cert_make(&cert, id);
	if (err) {
		snprintf(why, why_size, "cannot make the certificate");
		goto out;
	}
	if (SSL_CTX_use_certificate(t->ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(t->ctx,
				   (EVP_PKEY *)refl_identity_key(id)) != 1 ||
	    SSL_CTX_check_private_key(t->ctx) != 1) {
		refl_tls_error(why, why_size);
		err = EINVAL;
		goto out;
	}

	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER |
			   SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_any);
	SSL_CTX_set_options(t->ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (server) {
		SSL_CTX_set_num_tickets(t->ctx, 0);
		SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_alpn_select_cb(t->ctx, alpn_select, t);
	}
	else if (SSL_CTX_set_alpn_protos(t->ctx, t->alpn, t->alpn_len)) {
		refl_tls_error(why, why_size);
		err = EINVAL;
		goto out;
	}

 out:
	X509_free(cert);
	if (err)
		mem_deref(t);
	else
		*tp = t;

	return err;
}


SSL_CTX *refl_tls_ctx(const struct refl_tls *t)
{
	return t ? t->ctx : NULL;
}
