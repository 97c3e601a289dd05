/**
 * @file refl_int.h  Inside the reflector module: the state link.c and
 * module.c share. Nothing outside reflector/ includes this.
 */

#ifndef REFL_INT_H
#define REFL_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "gateway/libre.h"

struct gw_conf;
struct gw_daemon;
struct gw_reactor;
struct gw_watch;
struct refl_access;
struct refl_audit;
struct refl_identity;
struct refl_sessions;
struct refl_tls;

enum {
	REFL_MAX_CONNS = 512,         /**< control connections at once */
	/** Unfinished handshakes from one IP: a silent crowd from one host
	 *  cannot fill the table for network.handshake_timeout */
	REFL_MAX_HANDSHAKING_PER_IP = 64,
};

struct refl {
	struct gw_daemon *d;
	struct gw_reactor *r;
	const struct gw_conf *conf;   /**< as at start (a reference) */
	const struct gw_conf *current;  /**< latest: quotas, pairing_enabled */
	struct refl_identity *id;
	struct refl_tls *tls;         /**< for new connections */
	struct refl_audit *audit;
	struct refl_access *access;
	struct refl_sessions *sessions;
	int lfd;
	struct gw_watch *lw;
	struct list conns;
	char listen[64];
	struct {
		uint64_t accepted;       /**< TCP connections taken */
		uint64_t refused_full;   /**< over REFL_MAX_CONNS or the
					      per-IP handshake cap */
		uint64_t handshakes;     /**< completed, key proved */
		uint64_t handshake_failed;
		uint64_t handshake_timeouts;
		uint64_t denied;         /**< identified, not authorized */
		uint64_t idle_closed;
		uint64_t frames_in, frames_bad;
		uint64_t paired, pair_wrong;
	} st;
};

/* link.c */
int  refl_link_listen(struct refl *rf, char *why, size_t why_size);
void refl_link_close_all(struct refl *rf);
size_t refl_link_count(const struct refl *rf);
/** Close every link of peer_id; how many */
unsigned refl_link_drop_peer(struct refl *rf, const char *peer_id);

#endif
