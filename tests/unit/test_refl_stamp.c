/**
 * @file test_refl_stamp.c  STAMP session-reflector packets, byte by byte
 * (RFC 8762 §4.2.1, §4.3.1; error estimates as RFC 4656 §4.1.2)
 */

#include <string.h>

#include "reflector/stamp.h"
#include "tests/unit/unit.h"


int test_refl_stamp(void)
{
	/* seq 0x01020304, T1 1122..88, error estimate 0x8001, MBZ, then 8
	 * octets of the sender's padding */
	uint8_t p[52] = {
		0x01, 0x02, 0x03, 0x04,
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
		0x80, 0x01,
	};
	static const uint8_t want[52] = {
		0x01, 0x02, 0x03, 0x04,                         /* seq */
		0xe8, 0xfe, 0x6f, 0x81, 0x00, 0x00, 0x00, 0x00, /* T3 */
		0x0a, 0x10,                                     /* our EE */
		0x00, 0x00,
		0xe8, 0xfe, 0x6f, 0x80, 0x80, 0x00, 0x00, 0x00, /* T2 */
		0x01, 0x02, 0x03, 0x04,                         /* sender's */
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
		0x80, 0x01,
		0x00, 0x00,
		0x40,                                           /* TTL 64 */
		0x00, 0x00, 0x00,
		0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, /* padding */
	};
	const struct timespec t2 = {.tv_sec = 1700000000, .tv_nsec = 500000000};
	const struct timespec t3 = {.tv_sec = 1700000001, .tv_nsec = 0};
	uint8_t q[44] = {0};
	int err = 0;

	memset(p + 44, 0xee, 8);
	TEST_ASSERT(refl_stamp_is_test(p, sizeof(p)));
	TEST_ASSERT(refl_stamp_is_test(q, 44));
	TEST_ASSERT(!refl_stamp_is_test(q, 43));
	q[43] = 1;
	TEST_ASSERT(!refl_stamp_is_test(q, 44));
	q[43] = 0;
	q[14] = 1;
	TEST_ASSERT(!refl_stamp_is_test(q, 44));

	refl_stamp_reflect(p, sizeof(p), &t2, 64, 0x0a10);
	refl_stamp_t3(p, &t3);
	for (size_t i = 0; i < sizeof(p); i++) {
		if (p[i] != want[i])
			TEST_FAIL("octet %zu: 0x%02x, want 0x%02x", i, p[i],
				  want[i]);
	}

	/* not a test packet: left alone */
	memcpy(q, want, sizeof(q));
	refl_stamp_reflect(q, sizeof(q), &t2, 64, 0x0a10);
	TEST_ASSERT(!memcmp(q, want, sizeof(q)));

	/* 1 us synchronized; the 16 s an unsynchronized kernel reports;
	 * 500 us */
	TEST_EQUALS(0x8587, refl_stamp_encode_error(1, true));
	TEST_EQUALS(0x1d80, refl_stamp_encode_error(16000000, false));
	TEST_EQUALS(0x8e84, refl_stamp_encode_error(500, true));
	/* never a zero multiplier */
	TEST_ASSERT(refl_stamp_encode_error(0, true) & 0xff);

 out:
	return err;
}
