/**
 * @file replay.c  The fuzz target without libFuzzer, for `make check`
 *
 * Feeds the corpus files, then a fixed number of deterministic mutations
 * of them (bit flips, byte sets, truncations, extensions) to
 * LLVMFuzzerTestOneInput(). In the sanitizer build every read is checked;
 * a crash or abort fails the test. The real fuzzing is `make fuzz-run`
 * (clang's libFuzzer), which this does not replace.
 *
 *   replay [CORPUS_DIR [ROUNDS]]   (default $KEEPLINE_SRCDIR/tests/fuzz/corpus,
 *                                   or CORPUS_NAME's directory)
 */

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* which corpus under tests/fuzz/ (one replay binary per target) */
#ifndef CORPUS_NAME
#define CORPUS_NAME "corpus"
#define TARGET_NAME "icmp quote parser"
#endif
#ifndef TARGET_NAME
#define TARGET_NAME CORPUS_NAME
#endif

enum { MAX = 4096, SEEDS = 64 };

static uint64_t rng = 0x9e3779b97f4a7c15ull;


static uint32_t next(void)
{
	/* xorshift64*: the same sequence on every run */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 2685821657736338717ull) >> 32);
}


int main(int argc, char **argv)
{
	static uint8_t seed[SEEDS][MAX], buf[MAX];
	size_t len[SEEDS], nseeds = 0;
	long rounds = argc > 2 ? atol(argv[2]) : 200000;
	const char *src = getenv("KEEPLINE_SRCDIR");
	char corpus[4096];
	struct dirent *de;
	DIR *dir;

	snprintf(corpus, sizeof(corpus), "%s", argc > 1 ? argv[1] : "");
	if (argc < 2)
		snprintf(corpus, sizeof(corpus), "%s/tests/fuzz/" CORPUS_NAME,
			 src ? src : ".");

	dir = opendir(corpus);
	if (!dir) {
		printf("1..1\nnot ok 1 - corpus %s: %s\n", corpus,
		       strerror(errno));
		return 1;
	}
	while ((de = readdir(dir)) && nseeds < SEEDS) {
		char path[sizeof(corpus) + 256 + 2];
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", corpus, de->d_name);
		f = fopen(path, "rb");
		if (!f)
			continue;
		len[nseeds] = fread(seed[nseeds], 1, MAX, f);
		fclose(f);
		LLVMFuzzerTestOneInput(seed[nseeds], len[nseeds]);
		++nseeds;
	}
	closedir(dir);

	printf("1..1\n");
	if (!nseeds) {
		printf("not ok 1 - no corpus in %s\n", corpus);
		return 1;
	}

	for (long r = 0; r < rounds; r++) {
		size_t s = next() % nseeds, n = len[s];

		memcpy(buf, seed[s], n);
		for (uint32_t k = 1 + next() % 4; k; k--) {
			switch (next() % 4) {
			case 0:   /* flip a bit */
				if (n)
					buf[next() % n] ^= (uint8_t)(1u << (next() % 8));
				break;
			case 1:   /* set a byte to an edge value */
				if (n)
					buf[next() % n] = (uint8_t[]){0, 1, 0x45,
						0x4f, 0x60, 0x7f, 0x80, 0xff}[next() % 8];
				break;
			case 2:   /* cut */
				n = n ? next() % (n + 1) : 0;
				break;
			default:  /* grow with junk */
				while (n < MAX && next() % 8)
					buf[n++] = (uint8_t)next();
				break;
			}
		}
		LLVMFuzzerTestOneInput(buf, n);
	}

	printf("ok 1 - " TARGET_NAME ": %zu seeds, %ld mutations\n",
	       nseeds, rounds);

	return 0;
}
