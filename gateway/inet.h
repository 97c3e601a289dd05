/**
 * @file inet.h  The Internet checksum, for what reads and writes ICMP
 */

#ifndef GW_INET_H
#define GW_INET_H

#include <stddef.h>
#include <stdint.h>

/**
 * RFC 1071: the ones' complement of the ones' complement sum of the n
 * bytes at p, as 16-bit big-endian words (an odd last byte padded with
 * zero). Over a message with its checksum in place the result is 0.
 */
uint16_t gw_inet_csum(const uint8_t *p, size_t n);

#endif
