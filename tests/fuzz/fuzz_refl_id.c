/**
 * @file fuzz_refl_id.c  libFuzzer target: the Endpoint ID parser
 *
 * IDs come from outside: the configuration's authorized peers, what an
 * operator types, a peer's certificate. Whatever the input, the parser
 * must stay inside it (AddressSanitizer); what it accepts must format
 * back to an ID that parses to the same key (one key, one ID).
 *
 *   make fuzz && tests/fuzz/fuzz_refl_id tests/fuzz/corpus_refl
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reflector/id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[REFL_KEY_LEN], again[REFL_KEY_LEN];
	char id[REFL_ID_LEN + 1];
	char *s;

	/* an exact-size copy: an overread leaves the heap block */
	s = malloc(size ? size : 1);
	if (!s)
		return 0;
	memcpy(s, data, size);

	if (refl_id_parse(key, s, size) == 0) {
		refl_id_format(id, key);
		if (refl_id_parse(again, id, strlen(id)) != 0 ||
		    memcmp(key, again, sizeof(key)))
			abort();
	}

	free(s);

	return 0;
}
