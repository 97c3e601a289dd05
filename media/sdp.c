/**
 * @file sdp.c  SDP offer/answer for one audio stream (RFC 3264)
 *
 * libre's sdp module keeps a local session, matches the offer's formats
 * against ours and encodes the answer. We offer what a trunk gateway
 * carries untouched: PCMU, PCMA and telephone-event (RFC 4733).
 */

#include <errno.h>
#include <string.h>

#include "gateway/libre.h"
#include <re_sdp.h>

#include "media/media_int.h"


static int session_new(struct sdp_session **sessp, const struct sa *laddr,
		       uint16_t port)
{
	struct sdp_session *sess = NULL;
	struct sdp_media *m;
	int err;

	err = sdp_session_alloc(&sess, laddr);
	if (err)
		return err;

	err = sdp_media_add(&m, sess, "audio", port, "RTP/AVP");
	if (!err)
		err = sdp_format_add(NULL, m, false, "0", "PCMU", 8000, 1,
				     NULL, NULL, NULL, false, NULL);
	if (!err)
		err = sdp_format_add(NULL, m, false, "8", "PCMA", 8000, 1,
				     NULL, NULL, NULL, false, NULL);
	if (!err)
		err = sdp_format_add(NULL, m, false, "101", "telephone-event",
				     8000, 1, NULL, NULL, NULL, false, "0-16");
	if (err) {
		mem_deref(sess);
		return err;
	}

	*sessp = sess;

	return 0;
}


/* The negotiated media list (true would give media only we have) */
static struct sdp_media *audio_media(const struct sdp_session *sess)
{
	const struct list *l = sdp_session_medial(sess, false);

	return l && l->head ? l->head->data : NULL;
}


int media_sdp_answer(struct sdp_session **sessp, const struct sa *laddr,
		     uint16_t port, const char *offer, size_t len,
		     struct media_offer *mo, char **answerp)
{
	struct mbuf *in = NULL, *out = NULL;
	struct sdp_media *m;
	enum sdp_dir rdir;
	char *answer;
	int err;

	if (!sessp || !laddr || !offer || !mo || !answerp)
		return EINVAL;

	if (!*sessp) {
		err = session_new(sessp, laddr, port);
		if (err)
			return err;
	}

	in = mbuf_alloc(len + 1);
	if (!in)
		return ENOMEM;
	mbuf_write_mem(in, (const uint8_t *)offer, len);
	in->pos = 0;

	/* libre rejects what it cannot parse; anything else odd in the
	 * offer is judged below (RFC 3264 §6: answer or refuse) */
	if (sdp_decode(*sessp, in, true)) {
		err = EPROTO;
		goto out;
	}

	m = audio_media(*sessp);
	if (!m || !sdp_media_rport(m) || !sa_isset(sdp_media_raddr(m),
						    SA_ADDR)) {
		err = ENOTSUP;   /* no audio stream we can take */
		goto out;
	}

	/* libre marks the formats both sides have; none means 488 */
	if (!sdp_media_rformat(m, NULL)) {
		err = ENOTSUP;
		goto out;
	}

	mo->raddr = *sdp_media_raddr(m);
	sdp_media_raddr_rtcp(m, &mo->raddr_rtcp);

	/* libre keeps the offer's direction from our side: an offer of
	 * sendonly is rdir == SDP_RECVONLY (we only receive) */
	rdir = sdp_media_rdir(m);
	mo->peer_sends = rdir & SDP_RECVONLY;
	mo->peer_receives = rdir & SDP_SENDONLY;

	/* RFC 3264 §6.1: sendonly is answered recvonly, recvonly sendonly,
	 * inactive inactive. libre answers ldir & rdir; set ldir so a
	 * re-offer never inherits the direction of an older one */
	sdp_media_set_ldir(m, rdir);

	err = sdp_encode(&out, *sessp, false);
	if (err)
		goto out;

	answer = mem_alloc(out->end + 1, NULL);
	if (!answer) {
		err = ENOMEM;
		goto out;
	}
	memcpy(answer, out->buf, out->end);
	answer[out->end] = '\0';
	*answerp = answer;

 out:
	mem_deref(in);
	mem_deref(out);

	return err;
}
