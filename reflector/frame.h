/**
 * @file frame.h  pp-link/1 frames (DESIGN.md §8): a 4-byte big-endian
 * length, then that many bytes of JSON, 1 MiB at most:
 *
 *   {"request_id": "...", "payload": {"type": "<snake_case>", ...}}
 *
 * refl_frame_take() reads one from a stream buffer as it fills; it never
 * reads past what arrived, and says why a frame is refused (the link
 * answers `error` and closes).
 */

#ifndef REFL_FRAME_H
#define REFL_FRAME_H

#include <stddef.h>

struct mbuf;
struct odict;

enum {
	REFL_FRAME_MAX = 1 << 20,     /**< [bytes] of JSON */
	REFL_FRAME_DEPTH = 8,         /**< JSON nesting */
};

/** The payload types of pp-link/1, NULL-terminated */
extern const char *const refl_frame_types[];

/**
 * Take one frame from the start of in (from in->pos).
 *
 * @param msgp  The whole envelope (out), a mem object; its "payload" has
 *              a known "type" and "request_id" is a string
 * @return 0 (in advanced past the frame); EAGAIN: not all of it has come
 *         (nothing consumed); EMSGSIZE: the length is over the limit;
 *         EBADMSG: not a JSON object; EPROTO: no request_id, no payload,
 *         or an unknown type. After an error the stream is unusable.
 */
int refl_frame_take(struct mbuf *in, struct odict **msgp, char *why,
		    size_t why_size);

/** Append a frame carrying payload (its "type" set by the caller) */
int refl_frame_put(struct mbuf *out, const char *request_id,
		   const struct odict *payload);

#endif
