/**
 * @file frame.c  pp-link/1 frames (frame.h): libre's odict and JSON
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gateway/libre.h"
#include "reflector/frame.h"

const char *const refl_frame_types[] = {
	"hello", "server_hello", "session_request", "session_grant",
	"session_deny", "session_close", "get_status", "status_snapshot",
	"pair_request", "pair_response", "ok", "error",
	"icmp_open", "icmp_open_ack", "icmp_echo", "icmp_reply",
	"icmp_timeout", "icmp_close", NULL
};


static bool known(const char *type)
{
	for (size_t i = 0; refl_frame_types[i]; i++) {
		if (!strcmp(refl_frame_types[i], type))
			return true;
	}

	return false;
}


static int check(const struct odict *msg, char *why, size_t why_size)
{
	const struct odict_entry *p = odict_lookup(msg, "payload");
	const char *type;

	if (!odict_string(msg, "request_id")) {
		snprintf(why, why_size, "no \"request_id\" string");
		return EPROTO;
	}
	if (!p || p->type != ODICT_OBJECT) {
		snprintf(why, why_size, "no \"payload\" object");
		return EPROTO;
	}
	type = odict_string(p->u.odict, "type");
	if (!type) {
		snprintf(why, why_size, "the payload has no \"type\" string");
		return EPROTO;
	}
	if (!known(type)) {
		snprintf(why, why_size, "unknown payload type '%.40s'", type);
		return EPROTO;
	}

	return 0;
}


int refl_frame_take(struct mbuf *in, struct odict **msgp, char *why,
		    size_t why_size)
{
	const uint8_t *p;
	size_t left, len;
	struct odict *msg = NULL;
	int err;

	if (!in || !msgp || !why || !why_size)
		return EINVAL;
	why[0] = '\0';

	left = mbuf_get_left(in);
	if (left < 4)
		return EAGAIN;

	p = mbuf_buf(in);
	len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 |
		p[3];
	if (len > REFL_FRAME_MAX) {
		snprintf(why, why_size, "frame of %zu bytes, over the %d "
			 "allowed", len, REFL_FRAME_MAX);
		return EMSGSIZE;
	}
	if (left - 4 < len)
		return EAGAIN;

	/* libre's decoder takes bare words: a message is an object */
	if (len < 2 || p[4] != '{' ||
	    json_decode_odict(&msg, 16, (const char *)p + 4, len,
			      REFL_FRAME_DEPTH)) {
		snprintf(why, why_size, "not a JSON object");
		return EBADMSG;
	}

	err = check(msg, why, why_size);
	if (err) {
		mem_deref(msg);
		return err;
	}

	mbuf_advance(in, (ssize_t)(4 + len));
	*msgp = msg;

	return 0;
}


int refl_frame_put(struct mbuf *out, const char *request_id,
		   const struct odict *payload)
{
	struct odict *msg;
	size_t start, len, pos;
	int err;

	if (!out || !request_id || !payload)
		return EINVAL;

	err = odict_alloc(&msg, 4);
	if (err)
		return err;
	odict_entry_add(msg, "request_id", ODICT_STRING, request_id);
	odict_entry_add(msg, "payload", ODICT_OBJECT, payload);

	/* appended at the end, the reader's position kept; the length goes
	 * in front once the JSON is written */
	pos = out->pos;
	start = out->end;
	out->pos = out->end;
	err = mbuf_write_u32(out, 0);
	if (!err)
		err = mbuf_printf(out, "%H", json_encode_odict, msg);
	out->pos = pos;
	mem_deref(msg);
	if (err) {
		out->end = start;
		return err;
	}

	len = out->end - start - 4;
	if (len > REFL_FRAME_MAX) {
		out->end = start;
		return EMSGSIZE;
	}
	out->buf[start] = (uint8_t)(len >> 24);
	out->buf[start + 1] = (uint8_t)(len >> 16);
	out->buf[start + 2] = (uint8_t)(len >> 8);
	out->buf[start + 3] = (uint8_t)len;

	return 0;
}
