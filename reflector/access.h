/**
 * @file access.h  Who may use the reflector: authorized and paired peers,
 * and the pairing window
 *
 * Authorized = reflector.access.authorized_peers (config) plus the peers
 * paired since, kept in "paired_peers.json" beside the identity key and
 * rewritten atomically at every change. A pairing window is opened by the
 * operator (`keepline reflector pair`): one code, single-use, until its
 * TTL, closed early after REFL_PAIR_MAX_WRONG wrong codes.
 */

#ifndef REFL_ACCESS_H
#define REFL_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct refl_access;

enum {
	REFL_PAIR_MAX_WRONG = 5,      /**< wrong codes before a window closes */
	REFL_PAIR_CODE_LEN = 8,       /**< a generated code */
	REFL_PAIR_CODE_MAX = 64,
};

enum refl_pair_result {
	REFL_PAIR_OK = 0,
	REFL_PAIR_NO_WINDOW,          /**< none open (or expired, or used) */
	REFL_PAIR_WRONG,              /**< wrong code, window still open */
	REFL_PAIR_CLOSED,             /**< wrong code, the last one allowed */
	REFL_PAIR_STORE_FAILED,       /**< right code, not persisted */
};

/**
 * @param peers     Configured IDs (already valid Endpoint IDs)
 * @param store     Path of the paired-peers file (read if present)
 */
int refl_access_alloc(struct refl_access **ap, char *const *peers,
		      size_t n_peers, const char *store, char *why,
		      size_t why_size);
bool refl_access_authorized(const struct refl_access *a, const char *id);
size_t refl_access_count(const struct refl_access *a, size_t *pairedp);

/**
 * Open a window (replacing any open one).
 *
 * @param code     The operator's own code, or NULL to make one
 * @param ttl_ms   Lifetime
 * @param now_ms   Monotonic now
 * @param out      The code (at least REFL_PAIR_CODE_MAX + 1)
 * @return 0, EINVAL for a code outside [A-Za-z0-9-]{6,64}
 */
int refl_access_window_open(struct refl_access *a, const char *code,
			    uint64_t ttl_ms, uint64_t now_ms, char *out);
/** Whether a window is open now; remaining [ms] at remp */
bool refl_access_window(const struct refl_access *a, uint64_t now_ms,
			uint64_t *remp);
/** Attempt to pair peer id with code (case-insensitive, constant-time) */
enum refl_pair_result refl_access_pair(struct refl_access *a,
				       const char *id, const char *code,
				       uint64_t now_ms);
/**
 * Remove a paired peer (and rewrite the store).
 *
 * @param id  Any spelling of its ID
 * @return 0; EINVAL not an ID; EPERM configured, not paired; ENOENT not
 *         known; or the store's write error (the peer is removed anyway)
 */
int refl_access_unpair(struct refl_access *a, const char *id, char *out);

/** Wrong attempts in the open window */
unsigned refl_access_wrong(const struct refl_access *a);

#endif
