/**
 * @file prober_int.h  What prober.c (engine, ICMP echo) and target.c (the
 *                     target, UDP and TCP probes) share
 */

#ifndef NW_PROBER_INT_H
#define NW_PROBER_INT_H

#include <sys/socket.h>
#include <time.h>
#include <linux/errqueue.h>

#include "netwatch/prober.h"
#include "netwatch/wire.h"

struct gw_timer;
struct gw_watch;

enum {
	NW_COOKIE = NW_WIRE_COOKIE,
	/** transmit stamps waiting for their probe, per socket */
	NW_TSQ = 1024,
};

/**
 * Transmit stamps (SOF_TIMESTAMPING_OPT_ID): the kernel numbers every
 * stamped send of a socket from 0, so the n-th successful send is the
 * n-th key; a stamp whose key finds no probe is dropped, and that probe
 * keeps the clock read beside its sendto().
 */
struct nw_tsq {
	uint32_t next_key;
	struct nw_probe *ring[NW_TSQ];
};

struct nw_probe {
	struct le le;                 /**< in the target's pending list */
	struct le le_e;               /**< in the engine's, by deadline */
	uint64_t deadline;            /**< [ms]: lost then, or told then */
	struct nw_target *t;          /**< borrowed: the target owns us */
	enum nw_method m;
	uint32_t n;
	uint16_t seq;
	uint8_t cookie[NW_COOKIE];
	struct timespec tx;           /**< the send, kernel or user clock */
	bool tx_kernel;
	bool keyed;                   /**< waiting in a tsq ring */
	uint32_t tskey;
	struct nw_tsq *tsq;
	const char *fail_why;
	const char *soon_how;         /**< answered already, told next turn */
	struct timespec rx_soon;
	int fail_err;
	void *slot_owner;             /**< ICMP: the socket's slot table */
	int fd;                       /**< TCP: this probe's connection */
	struct gw_watch *w;
};

struct nw_target {
	struct nw_engine *e;
	struct sa addr;
	uint16_t udp_port, tcp_port;
	nw_result_h *h;
	void *arg;
	uint32_t n;                   /**< probes sent */
	struct list pending;
	/* UDP: one connected socket for the target's life */
	int ufd;
	struct gw_watch *uw;
	struct nw_tsq utsq;
	int uerr;                     /**< why the UDP socket could not open */
	void *expect;                 /**< the ICMP intake's registration */
};

/* prober.c */
struct gw_reactor *nw_engine_reactor(const struct nw_engine *e);
struct media_mgr *nw_engine_media(const struct nw_engine *e);
int nw_icmp_send(struct nw_engine *e, struct nw_probe *p);
/** Into the engine's deadline list: lost at p->deadline unless answered */
void nw_engine_arm(struct nw_engine *e, struct nw_probe *p);
/** The deadline came: report p (target.c) */
void nw_probe_expire(struct nw_probe *p);
void nw_icmp_forget(struct nw_probe *p);

/* target.c */
struct nw_probe *nw_probe_new(struct nw_target *t, enum nw_method m);
/** Arm the probe's timeout, or report fail_why within a grid step */
void nw_probe_arm(struct nw_probe *p, uint64_t timeout_ms);
/** Report and free the probe (the handler may free the target) */
void nw_probe_done(struct nw_probe *p, bool answered,
		   const struct timespec *rx, bool rx_kernel,
		   const char *how, const char *why);
int nw_udp_send(struct nw_target *t, struct nw_probe *p);
int nw_tcp_send(struct nw_target *t, struct nw_probe *p);

/** One message of a socket's error queue (IP_RECVERR), read */
struct nw_errmsg {
	struct sock_extended_err ee;
	struct sa offender;           /**< AF_UNSPEC: none given */
	struct timespec tx, rx;       /**< SCM_TIMESTAMPING, SCM_TIMESTAMPNS */
	bool have_tx, have_rx;
	size_t len;                   /**< of the data read (the quote) */
};

/** @return 0; ENOMSG: a message without an extended error; EAGAIN:
 *          the queue is empty */
int nw_errqueue_read(int fd, uint8_t *data, size_t size,
		     struct nw_errmsg *m);

/* stamps (prober.c) */
void nw_stamps_enable(int fd);
void nw_clock(struct timespec *ts);
/** The send went out: queue the probe for its transmit stamp */
void nw_tsq_sent(struct nw_tsq *q, struct nw_probe *p);
void nw_tsq_forget(struct nw_probe *p);
/** A SO_EE_ORIGIN_TIMESTAMPING message: give its probe the stamp */
void nw_tsq_stamp(struct nw_tsq *q, uint32_t key, const struct timespec *ts);
/** SCM_TIMESTAMPNS of a received message; false when it has none */
bool nw_rx_stamp(struct msghdr *msg, struct timespec *ts);
/** The SCM_TIMESTAMPING software stamp of an error-queue message */
bool nw_tx_stamp(struct msghdr *msg, struct timespec *ts);

#endif
