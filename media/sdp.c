/**
 * @file sdp.c  SDP offer/answer for one audio stream (RFC 3264)
 *
 * libre's sdp module keeps a local session, matches the offer's formats
 * against ours and encodes the answer. We offer what a trunk gateway
 * carries untouched: PCMU, PCMA and telephone-event (RFC 4733).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/libre.h"
#include <re_sdp.h>

#include "media/media_int.h"


/* The negotiated media list (true would give media only we have) */
static struct sdp_media *audio_media(const struct sdp_session *sess)
{
	const struct list *l = sess ? sdp_session_medial(sess, false) : NULL;

	return l && l->head ? l->head->data : NULL;
}


/* Our one audio medium: libre keeps it on the local list until it was
 * first encoded or matched, then on the negotiated one */
static struct sdp_media *audio_media_local(const struct sdp_session *sess)
{
	const struct list *l = sdp_session_medial(sess, true);

	return audio_media(sess) ? audio_media(sess) :
		l && l->head ? l->head->data : NULL;
}


/* Our codecs, or (like != NULL) those both sides of like agreed on, with
 * the payload numbers like's peer used */
static int session_new(struct sdp_session **sessp, const struct sa *laddr,
		       uint16_t port, const struct sdp_session *like)
{
	struct sdp_session *sess = NULL;
	struct sdp_media *m, *lm = audio_media(like);
	int err;

	err = sdp_session_alloc(&sess, laddr);
	if (err)
		return err;

	err = sdp_media_add(&m, sess, "audio", port, "RTP/AVP");
	if (err)
		goto out;

	if (!like) {
		err = sdp_format_add(NULL, m, false, "0", "PCMU", 8000, 1,
				     NULL, NULL, NULL, false, NULL);
		if (!err)
			err = sdp_format_add(NULL, m, false, "8", "PCMA", 8000,
					     1, NULL, NULL, NULL, false, NULL);
		if (!err)
			err = sdp_format_add(NULL, m, false, "101",
					     "telephone-event", 8000, 1, NULL,
					     NULL, NULL, false, "0-16");
		goto out;
	}

	if (!lm) {
		err = ENOTSUP;
		goto out;
	}

	for (struct le *le = sdp_media_format_lst(lm, false)->head; le;
	     le = le->next) {
		const struct sdp_format *f = le->data;

		if (!f->sup)
			continue;
		err = sdp_format_add(NULL, m, false, f->id, f->name, f->srate,
				     f->ch, NULL, NULL, NULL, false,
				     f->params ? "%s" : NULL, f->params);
		if (err)
			goto out;
	}

 out:
	if (err)
		mem_deref(sess);
	else
		*sessp = sess;

	return err;
}


static int mux_attr(struct sdp_media *m, bool on)
{
	sdp_media_del_lattr(m, "rtcp-mux");

	return on ? sdp_media_set_lattr(m, true, "rtcp-mux", NULL) : 0;
}


static int encode(struct sdp_session *sess, bool offer, char **textp)
{
	struct mbuf *out = NULL;
	char *text;
	int err;

	err = sdp_encode(&out, sess, offer);
	if (err)
		return err;

	text = mem_alloc(out->end + 1, NULL);
	if (!text) {
		mem_deref(out);
		return ENOMEM;
	}
	memcpy(text, out->buf, out->end);
	text[out->end] = '\0';
	mem_deref(out);
	*textp = text;

	return 0;
}


/* The value of the o= line of an SDP text (RFC 4566 §5.2), bounded by
 * len and by the line's end; 0 if there is none */
static size_t origin_of(const char *text, size_t len, const char **valp)
{
	for (size_t i = 0; i + 2 <= len; i++) {
		size_t n = 0;

		if ((i && text[i - 1] != '\n') || text[i] != 'o' ||
		    text[i + 1] != '=')
			continue;
		/* a NUL ends it too: what is kept of it is a C string */
		while (i + 2 + n < len && text[i + 2 + n] != '\r' &&
		       text[i + 2 + n] != '\n' && text[i + 2 + n] != '\0')
			++n;
		*valp = text + i + 2;
		return n;
	}

	return 0;
}


/* FNV-1a of an o= value, never 0 (0: none) */
static uint64_t origin_hash(const char *v, size_t n)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)v[i]) * 1099511628211ULL;

	return h ? h : 1;
}


bool media_sdp_same_origin(uint64_t origin, const char *text, size_t len)
{
	const char *v = NULL;
	size_t n = origin_of(text, len, &v);

	return n && origin == origin_hash(v, n);
}


int media_sdp_restamp(struct media_origin *o, char **textp)
{
	const char *v = NULL, *text = *textp;
	size_t len = strlen(text), n = origin_of(text, len, &v);
	const char *id_end, *ver_end;
	char *out;
	int w;

	/* libre writes "o=- <id> <version> IN IP4 <addr>" */
	id_end = n ? memchr(v, ' ', n) : NULL;
	id_end = id_end ? memchr(id_end + 1, ' ', n - (size_t)(id_end + 1 - v))
		: NULL;
	ver_end = id_end ? memchr(id_end + 1, ' ',
				  n - (size_t)(id_end + 1 - v)) : NULL;
	if (!ver_end)
		return EPROTO;

	if (!o->set) {
		if ((size_t)(id_end - v) >= sizeof(o->user_id))
			return EPROTO;
		memcpy(o->user_id, v, (size_t)(id_end - v));
		o->user_id[id_end - v] = '\0';
		o->version = strtoull(id_end + 1, NULL, 10);
		o->set = true;
		return 0;
	}

	++o->version;
	out = mem_alloc(len + 64, NULL);
	if (!out)
		return ENOMEM;
	w = snprintf(out, len + 64, "%.*so=%s %" PRIu64 "%s", (int)(v - 2 - text),
		     text, o->user_id, o->version, ver_end);
	if (w < 0 || (size_t)w >= len + 64) {
		mem_deref(out);
		return EPROTO;
	}
	mem_deref(*textp);
	*textp = out;

	return 0;
}


/* Decode the peer's SDP (an offer, or the answer to ours) and check it
 * leaves an audio stream with a common codec */
static int decode(struct sdp_session *sess, const char *text, size_t len,
		  bool offer, struct media_offer *mo)
{
	struct sdp_media *m;
	enum sdp_dir rdir;
	struct mbuf *in;
	int err = 0;

	in = mbuf_alloc(len + 1);
	if (!in)
		return ENOMEM;
	mbuf_write_mem(in, (const uint8_t *)text, len);
	in->pos = 0;

	/* libre rejects what it cannot parse; anything else odd is
	 * judged below (RFC 3264 §6: answer or refuse) */
	if (sdp_decode(sess, in, offer)) {
		err = EPROTO;
		goto out;
	}

	m = audio_media(sess);
	if (!m || !sdp_media_rport(m) ||
	    !sa_isset(sdp_media_raddr(m), SA_ADDR) ||
	    !sdp_media_rformat(m, NULL)) {
		err = ENOTSUP;   /* no audio with a codec we both have */
		goto out;
	}

	{
		const char *v = NULL;
		size_t n = origin_of(text, len, &v);

		mo->origin = n ? origin_hash(v, n) : 0;
	}
	mo->raddr = *sdp_media_raddr(m);
	sdp_media_raddr_rtcp(m, &mo->raddr_rtcp);   /* RFC 3605 a=rtcp */
	mo->rtcp_mux = sdp_media_rattr(m, "rtcp-mux") != NULL;

	/* libre keeps the peer's direction from our side: an offer of
	 * sendonly is rdir == SDP_RECVONLY (we only receive) */
	rdir = sdp_media_rdir(m);
	mo->peer_sends = rdir & SDP_RECVONLY;
	mo->peer_receives = rdir & SDP_SENDONLY;

	/* RFC 3264 §6.1: sendonly is answered recvonly, recvonly sendonly,
	 * inactive inactive. libre answers ldir & rdir; set ldir so a
	 * re-offer never inherits the direction of an older one */
	if (offer)
		sdp_media_set_ldir(m, rdir);

	/* RFC 5761 §5.1.1: an answerer that multiplexes says so in its
	 * answer; we always do when offered, and never otherwise */
	if (offer)
		err = mux_attr(m, mo->rtcp_mux);

 out:
	mem_deref(in);
	return err;
}


int media_sdp_answer(struct sdp_session **sessp, const struct sa *laddr,
		     uint16_t port, const char *offer, size_t len,
		     struct media_offer *mo, char **answerp)
{
	int err;

	if (!sessp || !laddr || !offer || !mo || !answerp)
		return EINVAL;

	if (!*sessp) {
		err = session_new(sessp, laddr, port, NULL);
		if (err)
			return err;
	}

	err = decode(*sessp, offer, len, true, mo);
	if (err)
		return err;

	return encode(*sessp, false, answerp);
}


static enum sdp_dir flip(enum sdp_dir d)
{
	return (enum sdp_dir)(((d & SDP_RECVONLY) ? SDP_SENDONLY : 0) |
			      ((d & SDP_SENDONLY) ? SDP_RECVONLY : 0));
}


int media_sdp_answer_like(struct sdp_session **sessp,
			  const struct sdp_session *like,
			  const struct sa *laddr, uint16_t port,
			  const char *offer, size_t len,
			  struct media_offer *mo, char **answerp)
{
	struct sdp_session *sess = NULL;
	int err;

	if (!sessp || !laddr || !offer || !mo || !answerp)
		return EINVAL;

	err = session_new(&sess, laddr, port, like);
	if (!err)
		err = decode(sess, offer, len, true, mo);
	/* a bridge: media flows on this leg only where it flows on the
	 * other (a callee that answered recvonly receives, and sends
	 * nothing for this leg's peer) */
	if (!err && audio_media(like))
		sdp_media_set_ldir(audio_media(sess),
				   sdp_media_ldir(audio_media(sess)) &
				   flip(sdp_media_rdir(audio_media(like))));
	if (!err)
		err = encode(sess, false, answerp);

	if (err) {
		mem_deref(sess);
		return err;
	}

	mem_deref(*sessp);
	*sessp = sess;

	return 0;
}


int media_sdp_offer(struct sdp_session **sessp, const struct sdp_session *like,
		    const struct sa *laddr, uint16_t port, bool mux,
		    char **offerp)
{
	int err;

	if (!sessp || !laddr || !offerp)
		return EINVAL;

	if (!*sessp) {
		err = session_new(sessp, laddr, port, like);
		if (err)
			return err;
	}

	err = mux_attr(audio_media_local(*sessp), mux);
	if (err)
		return err;

	return encode(*sessp, true, offerp);
}


int media_sdp_accept(struct sdp_session *sess, const char *answer,
		     size_t len, struct media_offer *mo)
{
	if (!sess || !answer || !mo)
		return EINVAL;

	return decode(sess, answer, len, false, mo);
}


int media_sdp_reoffer(struct sdp_session **pendp, const struct sa *laddr,
		      uint16_t port, bool mux, const char *offer, size_t len,
		      struct media_offer *theirs, char **offerp)
{
	struct sdp_session *scratch = NULL, *pend = NULL;
	int err;

	if (!pendp || !laddr || !offer || !theirs || !offerp)
		return EINVAL;

	/* read the offer as if answering it: what it has that we carry */
	err = session_new(&scratch, laddr, port, NULL);
	if (!err)
		err = decode(scratch, offer, len, true, theirs);
	if (!err)
		err = session_new(&pend, laddr, port, scratch);
	if (!err) {
		/* what its peer does is what we do on this leg: a sendonly
		 * offer (hold) becomes our sendonly offer */
		sdp_media_set_ldir(audio_media_local(pend),
				   flip(sdp_media_rdir(audio_media(scratch))));
		err = mux_attr(audio_media_local(pend), mux);
	}
	if (!err)
		err = encode(pend, true, offerp);

	mem_deref(scratch);
	if (err) {
		mem_deref(pend);
		return err;
	}
	mem_deref(*pendp);
	*pendp = pend;

	return 0;
}
