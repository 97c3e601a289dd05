/**
 * @file prober.h  One probe at a time, by ICMP echo, UDP or TCP, never
 *                 fabricated (netwatch/ only: the daemon's module and
 *                 `keepline probe` share it)
 *
 * An engine holds one long-lived ICMP socket per family for every target
 * (a ping socket where net.ipv4.ping_group_range allows, else raw with
 * CAP_NET_RAW); each echo carries a sequence number and an 8-byte random
 * cookie, and a reply counts only with both and from the address the
 * request went to. A target holds its own connected UDP socket (IP_RECVERR:
 * the port-unreachable its probe provokes is the answer) and opens one
 * TCP connection per TCP probe (SYN-ACK or RST is the answer).
 *
 * RTT comes from the kernel where the socket allows: the receive time from
 * SO_TIMESTAMPNS, the send time from SO_TIMESTAMPING's transmit stamp
 * taken as the packet is handed to the device (TX_SCHED); where a stamp
 * is missing the clock is read next to the system call, and the result
 * says so. A probe is lost only after its timeout,
 * or at once when an ICMP error says the path is broken.
 */

#ifndef NW_PROBER_H
#define NW_PROBER_H

#include <stdbool.h>
#include <stdint.h>

#include "gateway/libre.h"

struct gw_reactor;
struct media_mgr;
struct nw_engine;
struct nw_target;

enum nw_method { NW_M_ICMP = 0, NW_M_UDP, NW_M_TCP, NW_M_N };

/** How an engine sends ICMP echo for one family */
enum nw_icmp_kind { NW_ICMP_NONE = 0, NW_ICMP_PING, NW_ICMP_RAW };

const char *nw_method_name(enum nw_method m);
const char *nw_icmp_kind_name(enum nw_icmp_kind k);

/** One probe's outcome */
struct nw_result {
	enum nw_method method;
	uint32_t n;                 /**< the target's probe number, from 1 */
	bool answered;              /**< reachable: echo, port-unreachable,
				         application reply, SYN-ACK, RST */
	uint64_t rtt_ns;            /**< when answered */
	bool kernel_ts;             /**< both ends stamped by the kernel */
	const char *how;            /**< "echo reply", "port unreachable"... */
	const char *why;            /**< when not: "timeout", "host
				         unreachable", a send error... */
	int err;                    /**< errno of a send failure, else 0 */
};

typedef void (nw_result_h)(struct nw_target *t, const struct nw_result *r,
			   void *arg);

/**
 * @param mm   The media manager whose ICMP intake should treat our UDP
 *             probes' errors as expected; NULL outside the daemon
 * @param icmp Open ICMP sockets (false: method udp or tcp only)
 */
int nw_engine_alloc(struct nw_engine **ep, struct gw_reactor *r,
		    struct media_mgr *mm, bool icmp);
enum nw_icmp_kind nw_engine_icmp(const struct nw_engine *e, int family);
/** Why ICMP is not available for family ("" when it is) */
const char *nw_engine_icmp_why(const struct nw_engine *e, int family);
/** Echo requests in flight, and replies that matched nothing */
void nw_engine_counts(const struct nw_engine *e, uint64_t *in_flight,
		      uint64_t *stray);

/**
 * A destination. tcp_port 0: TCP probes refused (EDESTADDRREQ).
 */
int nw_target_alloc(struct nw_target **tp, struct nw_engine *e,
		    const struct sa *addr, uint16_t udp_port,
		    uint16_t tcp_port, nw_result_h *h, void *arg);
const struct sa *nw_target_addr(const struct nw_target *t);

/**
 * Send one probe; its result comes to the handler, never from inside
 * this call (a send that fails is reported on the next turn of the
 * reactor, so callers never re-enter themselves).
 *
 * @return 0, or ENOTSUP when the method is not available for this
 *         target (ICMP without a socket, TCP without a port)
 */
int nw_target_probe(struct nw_target *t, enum nw_method m,
		    uint64_t timeout_ms);
/** Probes sent so far: the last probe's number */
uint32_t nw_target_probed(const struct nw_target *t);
/** Probes of this target still waiting for an answer */
unsigned nw_target_pending(const struct nw_target *t);

/** "ICMP probing available ..." / "... unavailable ..., will use UDP",
 *  once per family, by engine state */
void nw_engine_log(const struct nw_engine *e);

#endif
