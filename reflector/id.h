/**
 * @file id.h  Endpoint IDs (DESIGN.md §8): who a pp-link/1 peer is
 *
 * Crockford base32 of the raw 32-byte Ed25519 public key, 52 symbols
 * (the last carries 4 zero bits), written "PP-" + 13 groups of 4 + "-" +
 * one Luhn mod 32 check symbol computed over the 52:
 *
 *   PP-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-C
 *
 * 69 characters. Parsing is forgiving where people are (lower case,
 * O for 0, I and L for 1, the dashes and the prefix optional) and strict
 * where it matters: the check symbol must match and the padding bits be
 * zero, so one key has exactly one ID. libc only (fuzzed alone).
 */

#ifndef REFL_ID_H
#define REFL_ID_H

#include <stddef.h>
#include <stdint.h>

enum {
	REFL_KEY_LEN = 32,            /**< raw Ed25519 public key */
	REFL_ID_SYMBOLS = 52,
	REFL_ID_LEN = 69,             /**< without the NUL */
};

/** The ID of a public key; buf holds at least REFL_ID_LEN + 1 bytes */
void refl_id_format(char *buf, const uint8_t key[REFL_KEY_LEN]);

/**
 * The public key an ID names.
 *
 * @return 0; EINVAL (a character outside the alphabet, a wrong length, a
 *         non-zero padding bit) or EBADMSG (the check symbol is wrong)
 */
int refl_id_parse(uint8_t key[REFL_KEY_LEN], const char *s, size_t len);

#endif
