/**
 * @file stamp.h  STAMP session-reflector packets (RFC 8762,
 * unauthenticated mode, stateless)
 *
 * A datagram on an echo port that is a session-sender test packet (44
 * octets or more, its MBZ octets 14–43 zero) is answered as STAMP; any
 * other datagram is echoed as it came. The reply is exactly as long as
 * the request: octets past 44 (the sender's padding) are reflected.
 *
 *   sender (RFC 8762 §4.2.1)        reflector (§4.3.1)
 *    0 sequence number (4)           0 sequence number (4) = sender's
 *    4 timestamp T1 (8)              4 timestamp T3 (8)
 *   12 error estimate (2)           12 error estimate (2)
 *   14 MBZ (30)                     14 MBZ (2)
 *                                   16 receive timestamp T2 (8)
 *                                   24 sender's sequence number (4)
 *                                   28 sender's timestamp (8)
 *                                   36 sender's error estimate (2)
 *                                   38 MBZ (2)
 *                                   40 sender's TTL (1)
 *                                   41 MBZ (3)
 *
 * Timestamps are NTP 64-bit (seconds since 1900, 32-bit fraction); the
 * error estimate is RFC 4656 §4.1.2's S|Z|scale|multiplier.
 */

#ifndef REFL_STAMP_H
#define REFL_STAMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum {
	REFL_STAMP_LEN = 44,
	REFL_STAMP_S = 0x8000,        /**< error estimate: synchronized */
};

/** Whether p is a STAMP session-sender test packet */
bool refl_stamp_is_test(const uint8_t *p, size_t len);

/**
 * Turn a session-sender packet into the reflector's, in place (len
 * unchanged). T3 is left for refl_stamp_t3(), as late as possible.
 *
 * @param t2   The kernel's receive time (CLOCK_REALTIME)
 * @param ttl  The request's TTL or hop limit, 0 when unknown
 * @param ee   Our error estimate (refl_stamp_error_estimate())
 */
void refl_stamp_reflect(uint8_t *p, size_t len, const struct timespec *t2,
			uint8_t ttl, uint16_t ee);
/** Write T3 into a reflected packet */
void refl_stamp_t3(uint8_t *p, const struct timespec *t3);

/** NTP 64-bit timestamp of a CLOCK_REALTIME time, big-endian */
void refl_stamp_ntp(uint8_t out[8], const struct timespec *ts);

/**
 * RFC 4656 §4.1.2 error estimate for an error of err_us microseconds:
 * S set when sync, Z = 0 (NTP format), the smallest scale whose
 * multiplier (1–255) covers err_us.
 */
uint16_t refl_stamp_encode_error(uint64_t err_us, bool sync);
/** The host clock's estimate now (adjtimex: maxerror, STA_UNSYNC),
 *  read at most once a second */
uint16_t refl_stamp_error_estimate(void);

#endif
