/**
 * @file stream_peer.c  A stream's peer: offers and answers (RFC 3264)
 *
 * sip/ hands a stream the peer's SDP; media_sdp_*() (sdp.c) read and
 * write it, and what they read becomes the stream's peer here: where RTP
 * and RTCP go (RFC 3605 a=rtcp, RFC 5761 rtcp-mux), which way media may
 * flow. The packet path is stream.c.
 */

#include <errno.h>

#include "gateway/libre.h"
#include "media/media_int.h"


/* A new offer or answer; one that moves the peer's media re-latches
 * (RFC 3264 §8) */
static void set_peer(struct media_stream *ms, const struct media_offer *mo)
{
	struct sa old = *media_stream_dest(ms, 0);
	struct sa old_rtcp = *media_stream_dest(ms, 1);

	if (!sa_cmp(&mo->raddr, &ms->peer.raddr, SA_ALL))
		ms->is_latched[0] = ms->is_latched[1] = false;
	ms->peer = *mo;
	ms->sends = mo->peer_receives;
	media_stream_set_mux(ms, mo->rtcp_mux);
	/* a new RTCP address deserves a try */
	if (!sa_cmp(&old_rtcp, media_stream_dest(ms, 1), SA_ALL))
		ms->rtcp_off = false;
	media_stream_peer_moved(ms, &old);
}


/* Our sockets have the family of laddr: an IPv6 c= on an IPv4 leg (or
 * the reverse) names media we cannot send to (RFC 3264 §6: refuse) */
static int reachable(const struct media_stream *ms,
		     const struct media_offer *mo, char **answerp)
{
	if (sa_af(&mo->raddr) == sa_af(&ms->laddr))
		return 0;

	if (answerp)
		*answerp = mem_deref(*answerp);

	return EAFNOSUPPORT;
}


/* media_sdp_*() read the peer's SDP into mo (err: they could not): the
 * peer it names becomes the stream's, if we can reach it; our SDP gets
 * this leg's o= */
static int take_peer(struct media_stream *ms, const struct media_offer *mo,
		     int err, char **answerp)
{
	if (!err)
		err = reachable(ms, mo, answerp);
	if (!err && answerp)
		err = media_sdp_restamp(&ms->origin, answerp);
	if (!err)
		set_peer(ms, mo);
	else if (answerp)
		*answerp = mem_deref(*answerp);

	return err;
}


int media_stream_answer(struct media_stream *ms, const char *offer,
			size_t len, char **answerp)
{
	struct media_offer mo = {0};

	if (!ms || !offer || !answerp)
		return EINVAL;

	return take_peer(ms, &mo,
			 media_sdp_answer(&ms->sdp, &ms->sdp_addr, ms->port,
					  offer, len, &mo, answerp), answerp);
}


int media_stream_answer_like(struct media_stream *ms,
			     const struct media_stream *other,
			     const char *offer, size_t len, char **answerp)
{
	struct media_offer mo = {0};

	if (!ms || !other || !offer || !answerp)
		return EINVAL;

	return take_peer(ms, &mo,
			 media_sdp_answer_like(&ms->sdp, other->sdp,
					       &ms->sdp_addr, ms->port, offer,
					       len, &mo, answerp), answerp);
}


int media_stream_offer(struct media_stream *ms,
		       const struct media_stream *caller, char **offerp)
{
	int err;

	if (!ms || !offerp)
		return EINVAL;

	/* rtcp-mux is offered on a bridge leg when the caller offered it */
	ms->mux_offered = caller && caller->peer.rtcp_mux;

	err = media_sdp_offer(&ms->sdp, caller ? caller->sdp : NULL,
			      &ms->sdp_addr, ms->port, ms->mux_offered, offerp);
	if (!err)
		err = media_sdp_restamp(&ms->origin, offerp);
	if (err && !ms->sdp)
		*offerp = NULL;

	return err;
}


int media_stream_accept(struct media_stream *ms, const char *answer,
			size_t len)
{
	struct media_offer mo = {0};
	int err;

	if (!ms || !answer)
		return EINVAL;

	err = media_sdp_accept(ms->sdp, answer, len, &mo);
	/* RFC 5761 §5.1.1: muxed only if we offered it and the answer says so */
	mo.rtcp_mux = mo.rtcp_mux && ms->mux_offered;

	return take_peer(ms, &mo, err, NULL);
}


bool media_stream_same_offer(const struct media_stream *ms, const char *sdp,
			     size_t len)
{
	return ms && sdp && ms->peer.origin &&
		media_sdp_same_origin(ms->peer.origin, sdp, len);
}


int media_stream_reoffer(struct media_stream *ms, const char *offer,
			 size_t len, char **offerp)
{
	struct media_offer theirs = {0};
	int err;

	if (!ms || !offer || !offerp)
		return EINVAL;

	/* rtcp-mux as the other leg's peer now offers it */
	err = media_sdp_reoffer(&ms->pending, &ms->sdp_addr, ms->port, false,
				offer, len, &theirs, offerp);
	if (!err && theirs.rtcp_mux) {
		*offerp = mem_deref(*offerp);
		err = media_sdp_reoffer(&ms->pending, &ms->sdp_addr, ms->port,
					true, offer, len, &theirs, offerp);
	}
	if (!err)
		err = media_sdp_restamp(&ms->origin, offerp);
	if (err) {
		ms->pending = mem_deref(ms->pending);
		*offerp = mem_deref(*offerp);
		return err;
	}
	ms->pending_mux = theirs.rtcp_mux;

	return 0;
}


int media_stream_reoffer_accept(struct media_stream *ms, const char *answer,
				size_t len)
{
	struct media_offer mo = {0};
	int err;

	if (!ms || !ms->pending || !answer)
		return EINVAL;

	err = media_sdp_accept(ms->pending, answer, len, &mo);
	if (!err)
		err = reachable(ms, &mo, NULL);
	if (err) {
		media_stream_reoffer_drop(ms);
		return err;
	}

	mem_deref(ms->sdp);
	ms->sdp = ms->pending;
	ms->pending = NULL;
	ms->mux_offered = ms->pending_mux;
	mo.rtcp_mux = mo.rtcp_mux && ms->mux_offered;
	set_peer(ms, &mo);

	return 0;
}


void media_stream_reoffer_drop(struct media_stream *ms)
{
	if (ms)
		ms->pending = mem_deref(ms->pending);
}
