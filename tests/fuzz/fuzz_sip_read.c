/**
 * @file fuzz_sip_read.c  libFuzzer target: what Keepline reads out of SIP
 *
 * The input is a SIP message as it would arrive on a socket. Sofia's own
 * parser makes of it what it can (as NTA does before any of our code
 * runs); then every reader Keepline applies to a request runs on the
 * result: the transport from the top Via, "is the body SDP", the RFC 4028
 * headers and their negotiation against two trunk settings, the route
 * match on the request-URI user, the trunk by a source address. Nothing
 * may crash or read outside the message (AddressSanitizer), and the
 * negotiated interval must stay within the rules: a 2xx interval is at
 * least Min-SE and at most max_se (or the request's Min-SE above it).
 *
 *   make fuzz && tests/fuzz/fuzz_sip_read tests/fuzz/corpus_sip
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/conf.h"
#include "sip/route.h"
#include "sip/sip_int.h"
#include "sip/timer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const struct gw_session_timer_conf settings[2] = {
	{true, 1800, 90, GW_REFRESHER_UAC, false, 7200},
	{false, 1800, 120, GW_REFRESHER_UAS, true, 600},
};


static void negotiate(const struct gw_session_timer_conf *cf,
		      const struct st_hdrs *h)
{
	uint32_t floor = h->min_se > cf->min_se ? h->min_se : cf->min_se;
	uint32_t cap = cf->max_se > floor ? cf->max_se : floor;
	struct st_result res;

	st_negotiate_uas(cf, h, 0, false, &res);
	if (res.status == 0 && res.se && cf->enabled &&
	    (res.se < floor || res.se > cap))
		abort();   /* §9: never below Min-SE, never past max_se */
	if (res.status != 0 && res.status != 422)
		abort();

	st_negotiate_uac(cf, h, &res);
	if (res.se > (cf->max_se > cf->min_se ? cf->max_se : cf->min_se) &&
	    res.se > h->se)
		abort();
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gw_route routes[] = {
		{.match = "+44*", .action = GW_ROUTE_BRIDGE},
		{.match = "1001", .action = GW_ROUTE_ECHO},
		{.match = "*", .action = GW_ROUTE_REJECT, .code = 404},
	};
	static struct gw_cidr cidr;
	static struct gw_trunk trunk = {.name = "t", .addresses = &cidr,
					.n_addresses = 1};
	static struct gw_conf conf;
	struct st_hdrs h;
	struct sa src;
	msg_t *msg;
	sip_t *sip;

	if (!conf.n_routes) {
		conf.routes = routes;
		conf.n_routes = sizeof(routes) / sizeof(routes[0]);
		conf.trunks = &trunk;
		conf.n_trunks = 1;
		sa_set_str(&cidr.addr, "192.0.2.0", 0);
		cidr.bits = 24;
	}

	msg = msg_make(sip_default_mclass(), 0, data, size);
	sip = sip_object(msg);
	if (!sip || !sip->sip_request || !sip->sip_call_id ||
	    !sip->sip_from || !sip->sip_to || !sip->sip_cseq) {
		msg_destroy(msg);
		return 0;   /* NTA drops these before our code sees them */
	}

	(void)sipua_via_transport(sip);
	(void)sipua_has_sdp(sip);
	st_hdrs_read(sip, &h);
	for (size_t i = 0; i < 2; i++)
		negotiate(&settings[i], &h);
	(void)sipua_route_find(&conf, sip->sip_request->rq_url->url_user);
	if (sip->sip_via && sip->sip_via->v_received &&
	    !sa_set_str(&src, sip->sip_via->v_received, 5060))
		(void)sipua_trunk_by_source(&conf, &src);

	msg_destroy(msg);

	return 0;
}
