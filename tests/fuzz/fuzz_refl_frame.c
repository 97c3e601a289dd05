/**
 * @file fuzz_refl_frame.c  libFuzzer target: pp-link/1 frames
 *
 * The bytes are a stream from a peer: frames are taken from it until it
 * runs out or is refused. Nothing may be read past what came
 * (AddressSanitizer); a frame taken must encode again (refl_frame_put)
 * to a frame that is taken back with the same request_id and type.
 *
 *   make fuzz && tests/fuzz/fuzz_refl_frame tests/fuzz/corpus_frame
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/libre.h"
#include "reflector/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void round_trip(const struct odict *msg)
{
	const struct odict_entry *p = odict_lookup(msg, "payload");
	struct odict *back = NULL;
	struct mbuf *mb = mbuf_alloc(256);
	char why[128];

	if (!mb)
		return;
	if (refl_frame_put(mb, odict_string(msg, "request_id"),
			   p->u.odict) == 0) {
		if (refl_frame_take(mb, &back, why, sizeof(why)) ||
		    strcmp(odict_string(back, "request_id"),
			   odict_string(msg, "request_id")) ||
		    strcmp(odict_string(odict_lookup(back, "payload")->u.odict,
					"type"),
			   odict_string(p->u.odict, "type")))
			abort();
	}
	mem_deref(back);
	mem_deref(mb);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mbuf *in = mbuf_alloc(size ? size : 1);
	char why[128];

	if (!in)
		return 0;
	/* an exact-size buffer: an overread leaves the heap block */
	mbuf_write_mem(in, data, size);
	in->pos = 0;

	for (int i = 0; i < 64; i++) {
		struct odict *msg = NULL;

		if (refl_frame_take(in, &msg, why, sizeof(why)))
			break;
		round_trip(msg);
		mem_deref(msg);
	}

	mem_deref(in);

	return 0;
}
