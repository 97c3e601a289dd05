/**
 * @file fuzz_media_sdp.c  libFuzzer target: a peer's SDP in media/sdp.c
 *
 * libre parses SDP; what Keepline reads of it itself is fuzzed here: the
 * o= line (a refresh or a new description, origin_of()), the direction,
 * rtcp-mux and addresses decode() takes, our answer and re-offer to it,
 * and our o= written over libre's (media_sdp_restamp()). Nothing may be
 * read past the input (AddressSanitizer); our o= must keep its session
 * and count up.
 *
 *   make fuzz && tests/fuzz/fuzz_media_sdp tests/fuzz/corpus_sdp
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/libre.h"
#include <re_sdp.h>

#include "media/media_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void our_origin_counts_up(struct media_origin *o, char **text)
{
	uint64_t before = o->version;
	bool had = o->set;

	if (media_sdp_restamp(o, text))
		return;
	if (had && o->version != before + 1)
		abort();
	if (!strstr(*text, o->user_id))
		abort();
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct sdp_session *sess = NULL, *pend = NULL;
	struct media_origin origin = {0};
	struct media_offer mo = {0}, theirs = {0};
	char *ours = NULL;
	struct sa laddr;

	sa_set_str(&laddr, "127.0.0.1", 0);

	(void)media_sdp_same_origin(1, text, size);

	if (!media_sdp_answer(&sess, &laddr, 30000, text, size, &mo, &ours)) {
		our_origin_counts_up(&origin, &ours);
		if (mo.origin &&
		    !media_sdp_same_origin(mo.origin, text, size))
			abort();
	}
	ours = mem_deref(ours);

	if (!media_sdp_reoffer(&pend, &laddr, 30002, theirs.rtcp_mux, text,
			       size, &theirs, &ours)) {
		our_origin_counts_up(&origin, &ours);
		(void)media_sdp_accept(pend, text, size, &mo);
	}

	mem_deref(ours);
	mem_deref(pend);
	mem_deref(sess);

	return 0;
}
