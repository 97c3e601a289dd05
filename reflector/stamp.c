/**
 * @file stamp.c  STAMP session-reflector packets (stamp.h)
 */

#include <string.h>
#include <sys/timex.h>

#include "reflector/stamp.h"

enum { NTP_UNIX_OFFSET = 2208988800u };


static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}


bool refl_stamp_is_test(const uint8_t *p, size_t len)
{
	if (!p || len < REFL_STAMP_LEN)
		return false;
	for (size_t i = 14; i < REFL_STAMP_LEN; i++) {
		if (p[i])
			return false;
	}

	return true;
}


void refl_stamp_ntp(uint8_t out[8], const struct timespec *ts)
{
	uint64_t frac = ((uint64_t)ts->tv_nsec << 32) / 1000000000u;

	put32(out, (uint32_t)((uint64_t)ts->tv_sec + NTP_UNIX_OFFSET));
	put32(out + 4, (uint32_t)frac);
}


void refl_stamp_reflect(uint8_t *p, size_t len, const struct timespec *t2,
			uint8_t ttl, uint16_t ee)
{
	uint8_t seq[4], ts[8], see[2];

	if (!refl_stamp_is_test(p, len))
		return;

	/* the sender's fields first: the reply overwrites them */
	memcpy(seq, p, 4);
	memcpy(ts, p + 4, 8);
	memcpy(see, p + 12, 2);

	memset(p + 4, 0, REFL_STAMP_LEN - 4);
	/* stateless: our sequence number is the sender's (§4.3.1) */
	p[12] = (uint8_t)(ee >> 8);
	p[13] = (uint8_t)ee;
	refl_stamp_ntp(p + 16, t2);
	memcpy(p + 24, seq, 4);
	memcpy(p + 28, ts, 8);
	memcpy(p + 36, see, 2);
	p[40] = ttl;
	/* octets 44.. are the sender's padding, reflected as they came */
}


void refl_stamp_t3(uint8_t *p, const struct timespec *t3)
{
	refl_stamp_ntp(p + 4, t3);
}


uint16_t refl_stamp_encode_error(uint64_t err_us, bool sync)
{
	/* estimate = multiplier * 2^(scale - 32) s; err in 2^-32 s units */
	unsigned __int128 units = ((unsigned __int128)err_us << 32) / 1000000u;
	unsigned scale = 0;
	uint64_t mult;

	if (!units)
		units = 1;
	while (scale < 63 && (units + ((unsigned __int128)1 << scale) - 1) >>
	       scale > 255)
		++scale;
	mult = (uint64_t)((units + ((unsigned __int128)1 << scale) - 1) >>
			  scale);
	if (mult > 255)
		mult = 255;
	if (!mult)
		mult = 1;

	return (uint16_t)((sync ? REFL_STAMP_S : 0) | scale << 8 | mult);
}


uint16_t refl_stamp_error_estimate(void)
{
	static uint16_t cached;
	static time_t when;
	struct timespec now;
	struct timex tx = {0};
	int state;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if (cached && now.tv_sec == when)
		return cached;

	state = adjtimex(&tx);
	when = now.tv_sec;
	/* unsynchronized: the kernel's maxerror grows to 16 s and stays */
	cached = refl_stamp_encode_error(tx.maxerror > 0 ?
					 (uint64_t)tx.maxerror : 1,
					 state != TIME_ERROR &&
					 !(tx.status & STA_UNSYNC));

	return cached;
}
