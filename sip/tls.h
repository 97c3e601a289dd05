/**
 * @file tls.h  The certificate behind the tls: listen entries
 */

#ifndef SIP_TLS_H
#define SIP_TLS_H

#include <stddef.h>
#include <time.h>

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

#endif
