/**
 * @file route.h  Which trunk a request comes from, and where it goes
 *
 * Pure functions over the configuration: no Sofia, so that unit tests and
 * other modules can use them.
 */

#ifndef SIPUA_ROUTE_H
#define SIPUA_ROUTE_H

#include <stdbool.h>

struct gw_conf;
struct gw_route;
struct gw_trunk;
struct sa;

/** Do the trunk's addresses contain src? (::ffff:a.b.c.d as a.b.c.d) */
bool sipua_trunk_contains(const struct gw_trunk *t, const struct sa *src);

/** The first trunk whose addresses contain src, or NULL (403) */
const struct gw_trunk *sipua_trunk_by_source(const struct gw_conf *conf,
					     const struct sa *src);

/**
 * The first route matching the request-URI user (DESIGN.md §6): exact,
 * prefix ("+44*"), or "*". NULL: no route (404). A NULL or empty user
 * matches only "*".
 */
const struct gw_route *sipua_route_find(const struct gw_conf *conf,
					const char *user);

#endif
