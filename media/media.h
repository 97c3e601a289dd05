/**
 * @file media.h  The media plane: anchored RTP/RTCP, SDP offer/answer, echo
 *
 * A media_stream is one leg's audio: an RTP socket on an even port and
 * RTCP on the next (RFC 3550 §11), both from media.rtp_ports, owned by the
 * gateway. sip/ hands it the peer's SDP as text and gets our SDP back as
 * text: only this module parses SDP (libre's sdp), so that Sofia's and
 * libre's SDP headers never meet.
 */

#ifndef MEDIA_H
#define MEDIA_H

#include <stdbool.h>
#include <stdint.h>

struct gw_conf;
struct gw_module;
struct gw_reactor;
struct media_mgr;
struct media_stream;
struct odict;
struct sa;

/** media/module.c: the RTP plane, and the ICMP intake and judge */
extern const struct gw_module media_module, media_icmp_module;

/** Why a stream asks for its call to end */
enum media_end_reason {
	MEDIA_END_RTP_TIMEOUT = 0,    /**< media.rtp_timeout of silence */
	MEDIA_END_ICMP,               /**< ICMP errors: the peer is gone */
};

typedef void (media_end_h)(struct media_stream *ms,
			   enum media_end_reason reason, void *arg);

struct media_stats {
	uint64_t rx_pkts, rx_bytes;   /**< RTP received from the peer */
	uint64_t tx_pkts, tx_bytes;   /**< RTP sent to the peer */
	uint64_t rtcp_rx, rtcp_tx;    /**< RTCP packets */
	uint64_t rx_bad;              /**< dropped: not RTP, wrong source */
};

int media_mgr_alloc(struct media_mgr **mmp, struct gw_reactor *r,
		    const struct gw_conf *conf);
/** media.bind, when set, must be an address of this host: logged
 *  (media_bind_unusable) and the bind error returned if not */
int media_bind_check(const struct gw_conf *conf);
/** Ports in use / in the range, for status */
void media_mgr_ports(const struct media_mgr *mm, unsigned *used,
		     unsigned *total);

/**
 * A stream with sockets bound to laddr (port ignored) on a free even port.
 *
 * @param msp    Stream (out), a mem object; freeing it closes the sockets
 *               and returns the ports
 * @param mm     Media manager
 * @param laddr  Local address for the sockets and for our SDP
 * @param endh   Called when the stream wants its call ended
 * @param arg    Handler argument
 * @return 0; ENOSPC every port pair of media.rtp_ports is taken
 */
int media_stream_alloc(struct media_stream **msp, struct media_mgr *mm,
		       const struct sa *laddr, media_end_h *endh, void *arg);

/**
 * Answer an SDP offer (RFC 3264 §6): one audio stream; PCMU, PCMA and
 * telephone-event in the caller's order; our address and ports; the
 * direction mirrored. Applies the offer: remote address, direction.
 * Every SDP of ours on a stream has its o= (RFC 4566 §5.2): one session
 * id, the version one up at each new description.
 *
 * @param answerp  Our SDP (out), a mem string
 * @return 0; EPROTO malformed SDP; ENOTSUP no common codec or no audio;
 *         EAFNOSUPPORT media in the other address family than this leg's
 */
int media_stream_answer(struct media_stream *ms, const char *offer,
			size_t len, char **answerp);

/**
 * Like media_stream_answer(), but offering only the codecs the other leg
 * of a bridge settled on, so that RTP can pass between them unchanged.
 * Starts a fresh SDP session for this leg.
 */
int media_stream_answer_like(struct media_stream *ms,
			     const struct media_stream *other,
			     const char *offer, size_t len, char **answerp);

/**
 * Our offer for the outbound leg of a bridge: the codecs the caller's
 * offer (read by media_stream_answer() on caller) had in common with us,
 * with the caller's payload type numbers. caller NULL: all our codecs
 * (the offer in our 2xx to an INVITE that carried none).
 */
int media_stream_offer(struct media_stream *ms,
		       const struct media_stream *caller, char **offerp);

/** The answer to our offer (media_stream_offer(), or the SDP we last
 *  sent, offered again); ENOTSUP if unusable */
int media_stream_accept(struct media_stream *ms, const char *answer,
			size_t len);

/**
 * A mid-call offer that came on the other leg of a bridge, carried to
 * this one (RFC 3264 §8): our offer with the codecs of it that we carry
 * (its payload numbers) and its direction as ours (its sendonly, our
 * sendonly). Nothing changes until media_stream_reoffer_accept() reads
 * the answer; media_stream_reoffer_drop() forgets the offer.
 * @return as media_stream_answer()
 */
int media_stream_reoffer(struct media_stream *ms, const char *offer,
			 size_t len, char **offerp);
/** The answer to media_stream_reoffer()'s offer: applied on success,
 *  else the offer forgotten and the stream as it was */
int media_stream_reoffer_accept(struct media_stream *ms, const char *answer,
				size_t len);
void media_stream_reoffer_drop(struct media_stream *ms);

/** Does sdp carry the o= (session and version) the peer's last SDP did:
 *  a session refresh, not a new description (RFC 3264 §8)? */
bool media_stream_same_offer(const struct media_stream *ms, const char *sdp,
			     size_t len);

/** (Re)start the silence backstop from now, e.g. when a call is answered */
void media_stream_watch_silence(struct media_stream *ms);

/** The session id (Call-ID) ICMP cleanup logs name; borrowed, must
 *  outlive the stream */
void media_stream_set_label(struct media_stream *ms, const char *label);

/** Send the peer's RTP back to it (the echo route) */
void media_stream_echo(struct media_stream *ms, bool on);

/** Relay RTP/RTCP between two streams, both ways; NULL, NULL unlinks */
void media_stream_relay(struct media_stream *a, struct media_stream *b);

void media_stream_stats(const struct media_stream *ms, struct media_stats *st);
/** Fill an object for `keepline calls` */
void media_stream_describe(const struct media_stream *ms, struct odict *o);
/** The peer's direction as its last SDP gave it: "sendrecv",
 *  "sendonly" (it holds us), "recvonly", "inactive" */
const char *media_stream_direction(const struct media_stream *ms);
/** Local RTP address (our SDP c=/m=) */
const struct sa *media_stream_laddr(const struct media_stream *ms);

const char *media_end_reason_name(enum media_end_reason r);

#endif
