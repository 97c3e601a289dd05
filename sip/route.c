/**
 * @file route.c  Trunk by source address, route by request-URI user
 */

#include <netinet/in.h>
#include <string.h>

#include "gateway/conf.h"
#include "sip/route.h"


bool sipua_trunk_contains(const struct gw_trunk *t, const struct sa *src)
{
	struct sa v4;

	if (!t || !src)
		return false;

	/* a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d */
	if (sa_af(src) == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&src->u.in6.sin6_addr)) {
		uint32_t a;

		memcpy(&a, &src->u.in6.sin6_addr.s6_addr[12], sizeof(a));
		sa_set_in(&v4, ntohl(a), sa_port(src));
		src = &v4;
	}

	for (size_t j = 0; j < t->n_addresses; j++) {
		if (gw_cidr_contains(&t->addresses[j], src))
			return true;
	}

	return false;
}


const struct gw_trunk *sipua_trunk_by_source(const struct gw_conf *conf,
					     const struct sa *src)
{
	if (!conf || !src)
		return NULL;

	for (size_t i = 0; i < conf->n_trunks; i++) {
		if (sipua_trunk_contains(&conf->trunks[i], src))
			return &conf->trunks[i];
	}

	return NULL;
}


static bool route_matches(const char *pattern, const char *user)
{
	size_t plen = strlen(pattern);

	if (!strcmp(pattern, "*"))
		return true;

	if (!user || !*user)
		return false;

	if (plen && pattern[plen - 1] == '*')
		return !strncmp(pattern, user, plen - 1);

	return !strcmp(pattern, user);
}


const struct gw_route *sipua_route_find(const struct gw_conf *conf,
					const char *user)
{
	if (!conf)
		return NULL;

	for (size_t i = 0; i < conf->n_routes; i++) {
		if (route_matches(conf->routes[i].match, user))
			return &conf->routes[i];
	}

	return NULL;
}
