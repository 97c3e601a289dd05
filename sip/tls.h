/**
 * @file tls.h  The certificate behind the tls: listen entries
 */

#ifndef SIP_TLS_H
#define SIP_TLS_H

#include <stddef.h>
#include <time.h>

struct gw_conf;
struct gw_listen;

/** What the gateway presents to TLS peers */
struct sip_tls_cert {
	char subject[256];            /**< RFC 2253 form */
	time_t not_after;
};

/**
 * Load DIR/agent.pem the way Sofia's TLS transport will (the certificate
 * and its private key, unencrypted PEM, in one file) and check the key
 * belongs to the certificate.
 *
 * @param why  on failure, the file and what is wrong with it
 * @return 0, or an errno value
 */
int sip_tls_load(const char *dir, struct sip_tls_cert *cert, char *why,
		 size_t size);

/** The first tls: entry of sip.listen (the one that needs agent.pem), or
 *  NULL */
const struct gw_listen *sip_tls_listen(const struct gw_conf *conf);

/** Whole days from now to the certificate's expiry; negative once it has
 *  expired */
long sip_tls_days_left(const struct sip_tls_cert *cert);

#endif
