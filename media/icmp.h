/**
 * @file icmp.h  Dead media peers from the ICMP errors our RTP provokes
 *
 * Two intakes feed one judge: every RTP/RTCP socket's error queue
 * (IP_RECVERR, unprivileged) and, with CAP_NET_RAW, raw ICMP and ICMPv6
 * listeners. An error counts against a media peer only when it quotes a
 * packet this gateway sent to that peer's RTP port (media_stream_sent()),
 * and a port-unreachable only when the peer itself sent it: spoofed or
 * stray ICMP can never end a call, nor can a closed RTCP port. At icmp.error_threshold errors, or at one
 * verified port-unreachable followed by icmp.confirm_silence without RTP
 * from that peer, every call with it is ended (icmp.cleanup_scope).
 *
 * Other modules may announce packets they send expecting an error (a UDP
 * probe to a closed port, a TTL-limited probe): such an error is handed
 * to them and clears that destination's record instead of counting. The
 * raw listeners also hand ICMP echo replies to the prober whose
 * identifier they carry (media_icmp_echo_listen()).
 *
 * The intake is a service of its own (the "icmp" module): it runs with
 * icmp.enabled off too, for the probers; only the judge is off then, and
 * no error is counted against anyone (ICMP_UNJUDGED).
 */

#ifndef MEDIA_ICMP_H
#define MEDIA_ICMP_H

#include <stdint.h>

#include "gateway/libre.h"
#include "media/icmp_quote.h"

struct media_mgr;
struct odict;

/** How the judge read one error */
enum icmp_verdict {
	ICMP_COUNTED = 0,   /**< against a live media peer */
	ICMP_MATCHED,       /**< expected by a registrant */
	ICMP_FOREIGN,       /**< not about a packet we sent to a live peer */
	ICMP_DUPLICATE,     /**< the other intake saw it first */
	ICMP_HARMLESS,      /**< fragmentation needed, time exceeded */
	ICMP_RTCP,          /**< about the peer's RTCP port: not evidence */
	ICMP_UNJUDGED,      /**< icmp.enabled is off: read, never counted */
};

struct media_icmp_stats {
	uint64_t seen[ICMP_PATH_N];   /**< errors read, by intake */
	uint64_t duplicates;          /**< seen by both intakes, counted once */
	uint64_t matched, counted, foreign;
	uint64_t rtcp;                /**< about a peer's RTCP port */
	uint64_t frag_needed, time_exceeded;
	uint64_t cleanups;            /**< thresholds reached */
	uint64_t sessions;            /**< sessions ended by them */
	uint64_t unjudged;            /**< read while the judge is off */
};

/**
 * Start the raw listeners icmp.raw_listeners allows and log how intake
 * runs. With `on`, a listener that cannot be opened is an error (EPERM
 * without CAP_NET_RAW); with `auto` it is logged once and the error
 * queues carry on alone.
 */
int media_icmp_start(struct media_mgr *mm);

/** Judge one error from either intake (the intakes call this) */
enum icmp_verdict media_icmp_input(struct media_mgr *mm,
				   const struct icmp_err *e);

void media_icmp_stats(const struct media_mgr *mm, struct media_icmp_stats *st);
/** Fill the "icmp" object of `status` */
void media_icmp_status(const struct media_mgr *mm, struct odict *o);

struct media_icmp_expect;
typedef void (media_icmp_expect_h)(const struct icmp_err *e, void *arg);

/**
 * Expect errors for packets sent from local port sport to dst, for ttl_ms.
 *
 * @param xp  Registration (out), a mem object: free it to withdraw
 */
int media_icmp_expect(struct media_icmp_expect **xp, struct media_mgr *mm,
		      const struct sa *dst, uint16_t sport, uint64_t ttl_ms,
		      media_icmp_expect_h *h, void *arg);

/**
 * Echo replies for a prober that sends ICMP echo requests with its own
 * identifier, read by the shared raw listeners (no socket of its own).
 */
struct media_icmp_echo;

struct media_icmp_echo_reply {
	struct sa from;
	uint16_t ident;
	uint16_t seq;
	const uint8_t *data;          /**< the echoed payload */
	size_t len;
	int ttl;                      /**< IPv4 TTL; -1 for IPv6 (unknown) */
	uint64_t rx_us;               /**< gw_now_us() when read */
};

typedef void (media_icmp_echo_h)(const struct media_icmp_echo_reply *r,
				 void *arg);

/**
 * Receive the echo replies of family (AF_INET, AF_INET6) carrying ident.
 *
 * @param ep  Registration (out), a mem object: free it to stop
 * @return 0, EADDRINUSE (ident taken), or ENOTSUP when that family's raw
 *         listener is not running (no CAP_NET_RAW, icmp.raw_listeners
 *         off): use a socket of your own then
 */
int media_icmp_echo_listen(struct media_icmp_echo **ep, struct media_mgr *mm,
			   int family, uint16_t ident, media_icmp_echo_h *h,
			   void *arg);

#endif
