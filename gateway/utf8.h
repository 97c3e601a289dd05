/**
 * @file utf8.h  UTF-8 validation for text from outside
 */

#ifndef GW_UTF8_H
#define GW_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Are the n bytes at p well-formed UTF-8 (RFC 3629 §4: no overlong forms,
 * no surrogates, nothing past U+10FFFF)? JSON text must be (RFC 8259
 * §8.1).
 */
bool gw_utf8_valid(const uint8_t *p, size_t n);

#endif
