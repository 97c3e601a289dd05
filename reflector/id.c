/**
 * @file id.c  Endpoint IDs: Crockford base32 with a Luhn mod 32 check
 *
 * Luhn mod N (N = 32): from the rightmost symbol leftwards, every other
 * value is doubled starting with the rightmost; a doubled value is folded
 * to its two base-32 digits' sum; the check is what brings the total to a
 * multiple of 32. It catches every single-symbol error and most swaps of
 * neighbours.
 */

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "reflector/id.h"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";


/* A symbol's value, the confusable letters read as the digits they look
 * like; -1 if it is none */
static int value_of(char c)
{
	const char *p;

	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	if (c == 'O')
		return 0;
	if (c == 'I' || c == 'L')
		return 1;
	if (c == '\0' || c == 'U')
		return -1;

	p = strchr(alphabet, c);

	return p ? (int)(p - alphabet) : -1;
}


static unsigned luhn32(const uint8_t *v, size_t n)
{
	unsigned sum = 0, factor = 2;

	for (size_t i = n; i > 0; i--) {
		unsigned a = factor * v[i - 1];

		sum += a / 32 + a % 32;
		factor = factor == 2 ? 1 : 2;
	}

	return (32 - sum % 32) % 32;
}


static void encode(uint8_t sym[REFL_ID_SYMBOLS], const uint8_t *key)
{
	uint32_t buf = 0;
	unsigned bits = 0;
	size_t n = 0;

	for (size_t i = 0; i < REFL_KEY_LEN; i++) {
		buf = (buf << 8) | key[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			sym[n++] = (uint8_t)((buf >> bits) & 0x1f);
		}
	}
	if (bits)   /* 256 = 51 * 5 + 1: one bit and four zeros */
		sym[n] = (uint8_t)((buf << (5 - bits)) & 0x1f);
}


void refl_id_format(char *buf, const uint8_t key[REFL_KEY_LEN])
{
	uint8_t sym[REFL_ID_SYMBOLS];
	char *p = buf;

	encode(sym, key);

	memcpy(p, "PP", 2);
	p += 2;
	for (size_t i = 0; i < REFL_ID_SYMBOLS; i++) {
		if (i % 4 == 0)
			*p++ = '-';
		*p++ = alphabet[sym[i]];
	}
	*p++ = '-';
	*p++ = alphabet[luhn32(sym, REFL_ID_SYMBOLS)];
	*p = '\0';
}


int refl_id_parse(uint8_t key[REFL_KEY_LEN], const char *s, size_t len)
{
	uint8_t sym[REFL_ID_SYMBOLS + 1];
	uint32_t buf = 0;
	unsigned bits = 0;
	size_t n = 0, k = 0;

	if (!key || !s)
		return EINVAL;

	if (len >= 3 && (s[0] == 'P' || s[0] == 'p') &&
	    (s[1] == 'P' || s[1] == 'p') && s[2] == '-') {
		s += 3;
		len -= 3;
	}

	for (size_t i = 0; i < len; i++) {
		int v;

		if (s[i] == '-')
			continue;
		v = value_of(s[i]);
		if (v < 0 || n == sizeof(sym))
			return EINVAL;
		sym[n++] = (uint8_t)v;
	}
	if (n != sizeof(sym))
		return EINVAL;

	if (luhn32(sym, REFL_ID_SYMBOLS) != sym[REFL_ID_SYMBOLS])
		return EBADMSG;

	for (size_t i = 0; i < REFL_ID_SYMBOLS; i++) {
		buf = (buf << 5) | sym[i];
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			key[k++] = (uint8_t)(buf >> bits);
		}
	}

	/* the four bits past the key: zero, or two IDs would name it */
	return (buf & ((1u << bits) - 1)) ? EINVAL : 0;
}
