/**
 * @file reflector.h  The reflector module's entry in the module table
 *
 * A measurement reflector for paired appliances on the daemon's reactor
 * (docs/reflector-protocol.md): mutual-TLS pp-link/1 control link,
 * pairing, sessions under quotas, UDP echo, audit log. Control
 * commands: "reflector.pair" and "reflector.rotate_identity"
 * (privileged).
 */

#ifndef REFL_REFLECTOR_H
#define REFL_REFLECTOR_H

#include "gateway/module.h"

extern const struct gw_module refl_module;

/** A file kept beside the identity key (paired_peers.json, quota.json) */
int refl_peers_path(char *buf, size_t size, const char *key_path,
		    const char *name);

#endif
