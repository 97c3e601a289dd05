/**
 * @file test_sip.c  Trunk admission and route matching (sip/route.c)
 */

#include <string.h>

#include "gateway/conf.h"
#include "gateway/libre.h"
#include "sip/route.h"
#include "tests/unit/unit.h"


int test_sip_routes(void)
{
	static const char yaml[] =
		"trunks:\n"
		"  - {name: a, addresses: [198.51.100.0/24]}\n"
		"  - {name: b, addresses: [203.0.113.7, \"2001:db8::/32\"]}\n"
		"routes:\n"
		"  - {match: \"1001\", action: echo}\n"
		"  - {match: \"+44*\", action: reject, code: 480}\n"
		"  - {match: \"+4420*\", action: reject, code: 486}\n"
		"  - {match: \"*\", action: reject}\n";
	struct gw_conf *conf = NULL;
	const struct gw_route *rt;
	char path[256];
	struct sa sa;
	int err;

	err = unit_write_file(path, sizeof(path), yaml);
	TEST_ERR(err);
	TEST_ERR(gw_conf_load(&conf, path, NULL, NULL));

	sa_set_str(&sa, "198.51.100.77", 5060);
	TEST_STRCMP("a", sipua_trunk_by_source(conf, &sa)->name);
	sa_set_str(&sa, "203.0.113.7", 5060);
	TEST_STRCMP("b", sipua_trunk_by_source(conf, &sa)->name);
	sa_set_str(&sa, "203.0.113.8", 5060);
	TEST_ASSERT(sipua_trunk_by_source(conf, &sa) == NULL);
	sa_set_str(&sa, "2001:db8::5", 5060);
	TEST_STRCMP("b", sipua_trunk_by_source(conf, &sa)->name);
	/* IPv4 seen on a dual-stack socket */
	sa_set_str(&sa, "::ffff:198.51.100.1", 5060);
	TEST_STRCMP("a", sipua_trunk_by_source(conf, &sa)->name);

	rt = sipua_route_find(conf, "1001");
	TEST_ASSERT(rt && rt->action == GW_ROUTE_ECHO);
	rt = sipua_route_find(conf, "10011");    /* exact is exact */
	TEST_EQUALS(603, rt->code);
	rt = sipua_route_find(conf, "+442079460000");
	TEST_EQUALS(480, rt->code);              /* first match wins */
	rt = sipua_route_find(conf, "");
	TEST_EQUALS(603, rt->code);              /* only "*" takes it */
	rt = sipua_route_find(conf, NULL);
	TEST_EQUALS(603, rt->code);

	conf->n_routes = 3;                       /* drop the catch-all */
	TEST_ASSERT(sipua_route_find(conf, "999") == NULL);
	TEST_ASSERT(sipua_route_find(conf, NULL) == NULL);

 out:
	mem_deref(conf);
	return err;
}


/* Only the file-less configuration answers loopback calls by itself */
int test_sip_builtin(void)
{
	struct gw_conf *conf = NULL, *file = NULL;
	char path[256];
	struct sa sa;
	int err;

	err = gw_conf_default(&conf);
	TEST_ERR(err);
	sa_set_str(&sa, "127.0.0.1", 5070);
	TEST_STRCMP("local", sipua_trunk_by_source(conf, &sa)->name);
	TEST_EQUALS(GW_ROUTE_ECHO, sipua_route_find(conf, "any")->action);
	sa_set_str(&sa, "192.0.2.1", 5070);
	TEST_ASSERT(sipua_trunk_by_source(conf, &sa) == NULL);

	TEST_ERR(unit_write_file(path, sizeof(path), "log: {level: info}\n"));
	TEST_ERR(gw_conf_load(&file, path, NULL, NULL));
	TEST_EQUALS(0, file->n_trunks);
	TEST_EQUALS(0, file->n_routes);

 out:
	mem_deref(conf);
	mem_deref(file);
	return err;
}
