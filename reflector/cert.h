/**
 * @file cert.h  The pp-link/1 certificate: self-signed, Ed25519, and what
 * a peer's certificate proves
 *
 * Ours: CN = the Endpoint ID, SAN DNS "pp-id-<ID>", valid ten years (as
 * the reference's), signed by the identity's key. The ID is 69
 * characters, over X.509's 64-character upper bound for a CN, so the CN
 * is set as a UTF8String directly rather than through OpenSSL's string
 * table, which would refuse it.
 *
 * A peer's: its ID is computed from the Ed25519 key in the certificate,
 * never read from it; every "pp-id-" name it carries must name that ID.
 */

#ifndef REFL_CERT_H
#define REFL_CERT_H

#include <stddef.h>

#include <openssl/x509.h>

#include "reflector/identity.h"

enum { REFL_CERT_DAYS = 3652 };

/** A new certificate for the identity (an X509 the caller frees) */
int refl_cert_make(X509 **xp, const struct refl_identity *id);

/**
 * The Endpoint ID a peer's certificate proves.
 *
 * @param idbuf  At least REFL_ID_LEN + 1 bytes
 * @return 0; EACCES (why says: not Ed25519, no pp-id name, a name for
 *         another ID) or ENOMEM
 */
int refl_cert_peer_id(X509 *x, char *idbuf, char *why, size_t why_size);

#endif
