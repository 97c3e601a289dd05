/**
 * @file media_int.h  Media plane internals shared by port.c, stream.c, sdp.c
 */

#ifndef MEDIA_INT_H
#define MEDIA_INT_H

#include "media/media.h"

struct sdp_session;

struct media_mgr {
	struct gw_reactor *r;
	const struct gw_conf *conf;   /**< borrowed: the daemon's */
	uint16_t first;               /**< first even port */
	unsigned npairs;
	unsigned nused;
	unsigned cursor;
	uint8_t *used;                /**< one byte per pair */
};

/** Bind an RTP/RTCP pair on laddr; fds[0] RTP, fds[1] RTCP */
int media_port_take(struct media_mgr *mm, const struct sa *laddr,
		    uint16_t *portp, int fds[2]);
void media_port_give(struct media_mgr *mm, uint16_t port);

/** Negotiated view of the peer's SDP, from media_sdp_answer() */
struct media_offer {
	struct sa raddr;              /**< RTP address in the offer */
	struct sa raddr_rtcp;
	bool peer_sends;              /**< offer is sendrecv or sendonly */
	bool peer_receives;           /**< offer is sendrecv or recvonly */
};

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

/** An offer with the codecs negotiated in like, their payload numbers */
int media_sdp_offer(struct sdp_session **sessp, const struct sdp_session *like,
		    const struct sa *laddr, uint16_t port, char **offerp);

/** Read the answer to our offer */
int media_sdp_accept(struct sdp_session *sess, const char *answer,
		     size_t len, struct media_offer *mo);

#endif
