/**
 * @file ntp.h  NTP 64-bit timestamps for the bench's STAMP tools
 * (stampping, stampfloor): seconds since 1900, 32-bit fraction,
 * big-endian, as RFC 8762 carries them
 */

#ifndef BENCH_NTP_H
#define BENCH_NTP_H

#include <stdint.h>
#include <time.h>

#define NTP_OFFSET 2208988800ull

static inline void put_ntp(uint8_t *p, const struct timespec *ts)
{
	uint64_t sec = (uint64_t)ts->tv_sec + NTP_OFFSET;
	uint64_t frac = ((uint64_t)ts->tv_nsec << 32) / 1000000000ull;

	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)(sec >> (24 - 8 * i));
		p[4 + i] = (uint8_t)(frac >> (24 - 8 * i));
	}
}

#endif
