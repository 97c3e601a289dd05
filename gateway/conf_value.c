/**
 * @file conf_value.c  Scalar values of the configuration file
 *
 * Each parser takes the whole string or fails: "90x" is an error, not 90.
 */

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/libre.h"
#include "gateway/conf_int.h"


static int fail(const char **why, const char *msg, int err)
{
	if (why)
		*why = msg;

	return err;
}


/* Digits only: strtoull() alone would accept "-1", " 7" and "0x10". */
static int parse_digits(const char *s, size_t len, uint64_t *v)
{
	uint64_t n = 0;

	if (len == 0)
		return EINVAL;

	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (!isdigit((unsigned char)s[i]))
			return EINVAL;

		d = (unsigned)(s[i] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return ERANGE;

		n = n * 10 + d;
	}

	*v = n;

	return 0;
}


int gw_conf_parse_uint(const char *s, uint64_t *v, const char **why)
{
	int err;

	if (!s || !v)
		return EINVAL;

	err = parse_digits(s, strlen(s), v);
	if (err == ERANGE)
		return fail(why, "number is too large", ERANGE);
	if (err)
		return fail(why, "expected a whole number", EINVAL);

	return 0;
}


int gw_conf_parse_bool(const char *s, bool *v, const char **why)
{
	static const char *yes[] = {"true", "yes", "on"};
	static const char *no[] = {"false", "no", "off"};

	if (!s || !v)
		return EINVAL;

	for (size_t i = 0; i < 3; i++) {
		if (0 == strcasecmp(s, yes[i])) {
			*v = true;
			return 0;
		}
		if (0 == strcasecmp(s, no[i])) {
			*v = false;
			return 0;
		}
	}

	return fail(why, "expected true or false", EINVAL);
}


int gw_conf_parse_duration(const char *s, uint64_t *ms, const char **why)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {
		{"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000},
		{"h", 3600000},
	};
	size_t len, ndig = 0;
	uint64_t n;

	if (!s || !ms)
		return EINVAL;

	len = strlen(s);
	while (ndig < len && isdigit((unsigned char)s[ndig]))
		++ndig;

	if (ndig == 0)
		return fail(why, "expected a duration such as 90, 90s, "
			    "100ms, 10m or 1h", EINVAL);

	if (parse_digits(s, ndig, &n))
		return fail(why, "duration is too large", ERANGE);

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s + ndig, units[i].unit))
			continue;

		if (n > UINT64_MAX / units[i].ms)
			return fail(why, "duration is too large", ERANGE);

		*ms = n * units[i].ms;
		return 0;
	}

	return fail(why, "unknown duration unit (use ms, s, m or h)", EINVAL);
}


int gw_conf_parse_size(const char *s, uint64_t *bytes, const char **why)
{
	static const struct {
		const char *suffix;
		double mult;
	} units[] = {
		{"", 1}, {"B", 1},
		{"k", 1e3}, {"K", 1e3}, {"kB", 1e3}, {"KB", 1e3},
		{"M", 1e6}, {"MB", 1e6}, {"G", 1e9}, {"GB", 1e9},
		{"T", 1e12}, {"TB", 1e12},
		{"KiB", 1024.0}, {"MiB", 1048576.0},
		{"GiB", 1073741824.0}, {"TiB", 1099511627776.0},
	};
	char *end;
	double v;

	if (!s || !bytes)
		return EINVAL;

	if (!isdigit((unsigned char)s[0]))
		return fail(why, "expected a size such as 5000000000, 5e9, "
			    "5GB or 5GiB", EINVAL);

	errno = 0;
	v = strtod(s, &end);
	if (errno || !isfinite(v) || v < 0)
		return fail(why, "size is out of range", ERANGE);

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		double b;

		if (strcmp(end, units[i].suffix))
			continue;

		b = v * units[i].mult;
		if (b >= 18446744073709551616.0)  /* 2^64 */
			return fail(why, "size is out of range", ERANGE);
		if (b != floor(b))
			return fail(why, "size must be a whole number of "
				    "bytes", EINVAL);

		*bytes = (uint64_t)b;
		return 0;
	}

	return fail(why, "unknown size unit (use B, kB, MB, GB, TB or "
		    "KiB, MiB, GiB, TiB)", EINVAL);
}


static int parse_port(const char *s, size_t len, uint16_t *port)
{
	uint64_t v;

	if (parse_digits(s, len, &v) || v == 0 || v > 65535)
		return EINVAL;

	*port = (uint16_t)v;

	return 0;
}


int gw_conf_parse_port_range(const char *s, struct gw_port_range *pr,
			     const char **why)
{
	const char *dash;
	struct gw_port_range r;

	if (!s || !pr)
		return EINVAL;

	dash = strchr(s, '-');
	if (!dash)
		return fail(why, "expected a port range such as 20000-30000",
			    EINVAL);

	if (parse_port(s, (size_t)(dash - s), &r.first) ||
	    parse_port(dash + 1, strlen(dash + 1), &r.last))
		return fail(why, "ports must be whole numbers from 1 to 65535",
			    EINVAL);

	if (r.first > r.last)
		return fail(why, "port range is empty (first port is above "
			    "the last)", ERANGE);

	*pr = r;

	return 0;
}


int gw_conf_parse_ip(const char *s, struct sa *sa, const char **why)
{
	if (!s || !sa)
		return EINVAL;

	if (sa_set_str(sa, s, 0))
		return fail(why, "expected an IPv4 or IPv6 address", EINVAL);

	return 0;
}


int gw_conf_parse_addr_port(const char *s, struct sa *sa, const char **why)
{
	if (!s || !sa)
		return EINVAL;

	/* sa_decode() takes "1.2.3.4:5" and "[::1]:5" */
	if (sa_decode(sa, s, strlen(s)) || sa_port(sa) == 0)
		return fail(why, "expected ADDRESS:PORT such as 127.0.0.1:8080 "
			    "or [::1]:8080", EINVAL);

	return 0;
}


int gw_conf_parse_listen(const char *s, struct gw_listen *l,
			 const char **why)
{
	static const char *tps[] = {"udp", "tcp", "tls"};
	const char *colon, *rest;
	struct gw_listen out;
	size_t tplen;
	bool found = false;

	if (!s || !l)
		return EINVAL;

	colon = strchr(s, ':');
	if (!colon)
		return fail(why, "expected TRANSPORT:ADDRESS[:PORT] such as "
			    "udp:0.0.0.0:5060", EINVAL);

	tplen = (size_t)(colon - s);
	for (size_t i = 0; i < 3; i++) {
		if (tplen == 3 && 0 == strncmp(s, tps[i], 3)) {
			out.tp = (enum gw_transport)i;
			found = true;
		}
	}
	if (!found)
		return fail(why, "transport must be udp, tcp or tls", EINVAL);

	rest = colon + 1;

	/* A bare address takes the transport's default port (RFC 3261
	 * §19.1.2: 5060, or 5061 for TLS). */
	if (0 == sa_set_str(&out.addr, rest,
			    out.tp == GW_TP_TLS ? 5061 : 5060)) {
		*l = out;
		return 0;
	}

	if (sa_decode(&out.addr, rest, strlen(rest)) ||
	    sa_port(&out.addr) == 0)
		return fail(why, "expected TRANSPORT:ADDRESS[:PORT] such as "
			    "udp:0.0.0.0:5060", EINVAL);

	*l = out;

	return 0;
}


/* Clear every address bit past the first bits. */
static void mask_host_bits(struct sa *sa, unsigned bits)
{
	uint8_t *b;
	size_t n;

	if (sa_af(sa) == AF_INET) {
		b = (uint8_t *)&sa->u.in.sin_addr;
		n = 4;
	}
	else {
		b = (uint8_t *)&sa->u.in6.sin6_addr;
		n = 16;
	}

	for (size_t i = 0; i < n; i++) {
		unsigned lo = (unsigned)i * 8;

		if (lo >= bits)
			b[i] = 0;
		else if (lo + 8 > bits)
			b[i] &= (uint8_t)(0xff << (lo + 8 - bits));
	}
}


int gw_conf_parse_cidr(const char *s, struct gw_cidr *c, const char **why)
{
	char ip[64];
	const char *slash;
	struct gw_cidr out;
	unsigned maxbits;
	uint64_t bits;
	size_t iplen;

	if (!s || !c)
		return EINVAL;

	slash = strchr(s, '/');
	iplen = slash ? (size_t)(slash - s) : strlen(s);
	if (iplen == 0 || iplen >= sizeof(ip))
		return fail(why, "expected an address or ADDRESS/PREFIX",
			    EINVAL);

	memcpy(ip, s, iplen);
	ip[iplen] = '\0';

	if (sa_set_str(&out.addr, ip, 0))
		return fail(why, "expected an address or ADDRESS/PREFIX",
			    EINVAL);

	maxbits = sa_af(&out.addr) == AF_INET ? 32 : 128;

	if (!slash) {
		out.bits = maxbits;
	}
	else {
		if (parse_digits(slash + 1, strlen(slash + 1), &bits) ||
		    bits > maxbits)
			return fail(why, maxbits == 32 ?
				    "IPv4 prefix length must be 0 to 32" :
				    "IPv6 prefix length must be 0 to 128",
				    EINVAL);
		out.bits = (unsigned)bits;

		/* Like ip-route(8): host bits set is almost always a typo
		 * that would widen or narrow the range unnoticed. */
		struct sa net = out.addr;
		mask_host_bits(&net, out.bits);
		if (!sa_cmp(&net, &out.addr, SA_ADDR))
			return fail(why, "address has host bits set beyond "
				    "the prefix length", EINVAL);
	}

	*c = out;

	return 0;
}


bool gw_cidr_contains(const struct gw_cidr *c, const struct sa *sa)
{
	const uint8_t *a, *b;
	unsigned full, rest;

	if (!c || !sa || sa_af(&c->addr) != sa_af(sa))
		return false;

	if (sa_af(sa) == AF_INET) {
		a = (const uint8_t *)&c->addr.u.in.sin_addr;
		b = (const uint8_t *)&sa->u.in.sin_addr;
	}
	else {
		a = (const uint8_t *)&c->addr.u.in6.sin6_addr;
		b = (const uint8_t *)&sa->u.in6.sin6_addr;
	}

	full = c->bits / 8;
	rest = c->bits % 8;

	if (memcmp(a, b, full))
		return false;

	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		if ((a[full] & mask) != (b[full] & mask))
			return false;
	}

	return true;
}
