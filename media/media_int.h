/**
 * @file media_int.h  Media plane internals shared by port.c, stream.c, sdp.c
 */

#ifndef MEDIA_INT_H
#define MEDIA_INT_H

#include "gateway/libre.h"
#include "media/media.h"

struct media_icmp;
struct sdp_session;

struct media_mgr {
	struct gw_reactor *r;
	const struct gw_conf *conf;   /**< borrowed: the daemon's */
	uint16_t first;               /**< first even port */
	unsigned npairs;
	unsigned nused;
	unsigned cursor;
	uint8_t *used;                /**< one byte per pair */
	struct media_stream **by_pair;  /**< stream holding each pair */
	struct list streams;          /**< every stream, for ICMP cleanup */
	struct media_icmp *icmp;      /**< the intake; judges when icmp.enabled */
	unsigned icmp_records;        /**< peers with ICMP errors counted */
	bool recverr_logged;          /**< media_recverr_failed said */
};

/** Negotiated view of the peer's SDP, from media_sdp_answer() */
struct media_offer {
	struct sa raddr;              /**< RTP address in the offer */
	struct sa raddr_rtcp;         /**< a=rtcp (RFC 3605), else port + 1 */
	bool rtcp_mux;                /**< a=rtcp-mux (RFC 5761) */
	bool peer_sends;              /**< offer is sendrecv or sendonly */
	bool peer_receives;           /**< offer is sendrecv or recvonly */
	uint64_t origin;              /**< a hash of its o= value, 0: none;
					   a new version is a new description
					   (RFC 3264 §8) */
};

/** Our o= on one leg (RFC 4566 §5.2): the first SDP's user and session
 *  id kept, the version counted up at each new description, whichever
 *  libre session wrote it */
struct media_origin {
	char user_id[32];             /**< libre's "- <u32>" */
	uint64_t version;
	bool set;
};

enum { TRACK_N = 16, TRACK_HEAD = 12 };

/**
 * The packet tracker: the last TRACK_N packets a stream sent, enough of
 * each to recognise it in an ICMP quote (RTP's fixed header holds the
 * sequence number and SSRC, RFC 3550 §5.1). gen ties an entry to the
 * destination it went to: a new peer address bumps the stream's gen.
 */
struct media_sent {
	uint16_t len;                 /**< UDP payload length */
	uint8_t which;                /**< socket: 0 RTP port (RTCP too when
					   muxed), 1 RTCP port */
	uint8_t gen;
	uint8_t head[TRACK_HEAD];
};

/*
 * Hot fields first: a relayed packet reads the receiving stream's first
 * two cache lines and the sending one's, then a counter line and a
 * tracker slot. With thousands of streams these lines are rarely cached,
 * and the misses cost more than the code (perf, bench/relay).
 */
struct media_stream {
	/* line 1: every packet */
	int fd[2];                    /**< RTP, RTCP */
	bool is_latched[2];
	bool echo;
	bool sends;                   /**< peer.peer_receives, kept here */
	uint8_t sent_pos;
	uint8_t gen;                  /**< bumped when the peer moves */
	bool mux;                     /**< RTCP on the RTP port (RFC 5761) */
	bool rtcp_off;                /**< the peer's RTCP port refused it */
	struct media_stream *relay;   /**< the other leg of a bridge */
	struct media_mgr *mm;         /**< reference held */
	uint64_t last_rx;             /**< gw_now_ms() of last RTP/RTCP */
	uint64_t probed_rx;           /**< last_rx when probing started */
	/* line 2: every packet */
	struct sa latched[2];         /**< where RTP/RTCP really come from */
	struct media_stats st;
	struct media_sent sent[TRACK_N];
	/* the rest: set-up, signalling, timers */
	struct le le;                 /**< in media_mgr.streams */
	struct gw_watch *w[2];
	struct sa laddr;              /**< our RTP address */
	struct sa sdp_addr;           /**< what our SDP says it is: laddr, or
					   media.public_address behind NAT */
	uint16_t port;
	struct sdp_session *sdp;
	struct media_offer peer;      /**< from the last offer */
	uint64_t created;             /**< gw_now_ms() */
	struct gw_timer *silence;
	media_end_h *endh;
	void *arg;
	const char *label;            /**< session id for logs, borrowed */
	struct gw_timer *probe;       /**< silence probe, made when needed */
	uint64_t probe_end;
	bool mux_offered;             /**< our last offer had a=rtcp-mux */
	struct media_origin origin;
	struct sdp_session *pending;  /**< an offer of ours awaiting its
					   answer: media_stream_reoffer() */
	bool pending_mux;
	bool rtcp_logged;             /**< rtcp_unreachable said for this leg */
};

/** Where a stream's RTP (which 0) or RTCP (1) goes: the latched source,
 *  else the address in the peer's SDP; RTCP goes with RTP when muxed */
const struct sa *media_stream_dest(const struct media_stream *ms, int which);

/** The peer's RTP address changed from old: bump the tracker's
 *  generation, forget old's ICMP record (stream.c) */
void media_stream_peer_moved(struct media_stream *ms, const struct sa *old);

/** RTCP on the RTP port (RFC 5761) or on its own socket again */
void media_stream_set_mux(struct media_stream *ms, bool on);

/** Is the RTCP socket (which 1) of this stream open? Not when muxed */
bool media_stream_has_rtcp_port(const struct media_stream *ms);

/** The peer's RTCP port refused our RTCP (a port-unreachable about it):
 *  stop sending RTCP there until the peer sends RTCP or moves */
void media_stream_rtcp_refused(struct media_stream *ms);

/**
 * Did this stream send the quoted packet to its current peer? Compares
 * the quoted start of the payload (and the UDP length when the quote gave
 * it, udp_len >= 0) with the tracker.
 */
bool media_stream_sent(const struct media_stream *ms, int which,
		       const uint8_t *payload, size_t plen, int udp_len);

/* icmp.c: the dead-peer policy */
int  media_icmp_alloc(struct media_mgr *mm);
/** RTP or RTCP came from the peer of ms: it is alive */
void media_icmp_alive(struct media_mgr *mm, const struct sa *from);
/** The peer of ms moved from old: errors for old no longer count */
void media_icmp_moved(struct media_mgr *mm, const struct sa *old);
/** Did the peer's host send ICMP errors about other traffic lately? */
bool media_icmp_contended(const struct media_mgr *mm, const struct sa *peer);
/** Read a stream socket's error queue and judge each error */
void media_icmp_drain(struct media_mgr *mm, int fd, const struct sa *local);

/** One UDP socket for RTP or RTCP on laddr:port, IP_RECVERR on (a
 * failed setsockopt() puts its errno in *recverr_err, if given) */
int media_port_bind(const struct sa *laddr, uint16_t port, int *fdp,
		    int *recverr_err);
/** A free RTP/RTCP pair on laddr; fds[0] RTP, fds[1] RTCP. ENOSPC: none
 *  left; another bind error (EADDRNOTAVAIL...) as it came */
int media_port_take(struct media_mgr *mm, const struct sa *laddr,
		    uint16_t *portp, int fds[2]);
void media_port_give(struct media_mgr *mm, uint16_t port);

/**
 * Build our SDP answer for laddr:port and read the offer.
 *
 * @param sessp  libre SDP session kept by the stream (in/out): created on
 *               the first offer, reused so o= version counts up
 */
int media_sdp_answer(struct sdp_session **sessp, const struct sa *laddr,
		     uint16_t port, const char *offer, size_t len,
		     struct media_offer *mo, char **answerp);

/** As media_sdp_answer() with a fresh session holding only the codecs
 *  negotiated in like (NULL: all of ours) */
int media_sdp_answer_like(struct sdp_session **sessp,
			  const struct sdp_session *like,
			  const struct sa *laddr, uint16_t port,
			  const char *offer, size_t len,
			  struct media_offer *mo, char **answerp);

/** An offer with the codecs negotiated in like, their payload numbers
 *  (like NULL: all of ours); mux: with a=rtcp-mux (RFC 5761 §5.1.1) */
int media_sdp_offer(struct sdp_session **sessp, const struct sdp_session *like,
		    const struct sa *laddr, uint16_t port, bool mux,
		    char **offerp);

/**
 * Our offer for a new offer that came on the other leg of a bridge: its
 * codecs we carry, with its payload numbers, its direction as ours, in
 * a new session (*pendp, replaced) that the answer will be read into
 * (media_sdp_accept()). theirs: what the offer said.
 */
int media_sdp_reoffer(struct sdp_session **pendp, const struct sa *laddr,
		      uint16_t port, bool mux, const char *offer, size_t len,
		      struct media_offer *theirs, char **offerp);

/** Is origin (a media_offer's) that of the o= of text? */
bool media_sdp_same_origin(uint64_t origin, const char *text, size_t len);

/** Give our SDP text (a mem string, replaced) this leg's o= */
int media_sdp_restamp(struct media_origin *o, char **textp);

/** Read the answer to our offer */
int media_sdp_accept(struct sdp_session *sess, const char *answer,
		     size_t len, struct media_offer *mo);

#endif
