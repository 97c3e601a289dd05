/**
 * @file identity.h  The reflector's Ed25519 identity
 *
 * reflector.identity.private_key_path holds the raw 32-byte private key
 * (the reference's format). It is created, with its parent directories,
 * when missing: mode 0600 from the first byte (open(O_EXCL) with that
 * mode, never a chmod after). An existing file that anyone but its owner
 * may read, that is not a regular file, or that is not 32 bytes is
 * refused, with the reason in words.
 */

#ifndef REFL_IDENTITY_H
#define REFL_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "reflector/id.h"

struct refl_identity;

/**
 * @param ip       Identity (out), a mem object
 * @param path     The key file
 * @param created  Set when the file did not exist and was made (may be
 *                 NULL)
 * @param why      Filled with the reason on failure
 * @return 0, or errno (EPERM: readable by others; EINVAL: not a 32-byte
 *         regular file; others from the file system)
 */
int refl_identity_load(struct refl_identity **ip, const char *path,
		       bool *created, char *why, size_t why_size);

/** "PP-...": the ID of this identity's public key */
/**
 * Replace the key at path with a new one: written to "<path>.new" (mode
 * 0600 from its first byte, fsync'd), then renamed over the old key, so
 * the file always holds one whole key.
 *
 * @param ip    The new identity (out)
 */
int refl_identity_rotate(struct refl_identity **ip, const char *path,
			 char *why, size_t why_size);

const char *refl_identity_id(const struct refl_identity *id);
const uint8_t *refl_identity_public(const struct refl_identity *id);
/** The key, for signing (the identity keeps it) */
const EVP_PKEY *refl_identity_key(const struct refl_identity *id);

#endif
