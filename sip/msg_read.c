/**
 * @file msg_read.c  What Keepline reads out of a SIP message
 *
 * Sofia parses; these read the parsed headers the way the call logic
 * needs them. Pure functions of the message, so that the fuzz target
 * (tests/fuzz/fuzz_sip_read.c) can run them on whatever Sofia's parser
 * makes of arbitrary input.
 */

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "gateway/conf.h"
#include "sip/sip_int.h"
#include "sip/timer.h"


enum gw_transport sipua_via_transport(sip_t const *sip)
{
	const char *proto = sip->sip_via ? sip->sip_via->v_protocol : NULL;
	const char *slash = proto ? strrchr(proto, '/') : NULL;
	const char *name = slash ? slash + 1 : "udp";

	if (!strcasecmp(name, "tcp"))
		return GW_TP_TCP;
	if (!strcasecmp(name, "tls"))
		return GW_TP_TLS;

	return GW_TP_UDP;
}


bool sipua_has_sdp(sip_t const *sip)
{
	return sip && sip->sip_payload && sip->sip_payload->pl_len &&
		sip->sip_content_type &&
		!strcasecmp(sip->sip_content_type->c_type, "application/sdp");
}


void st_hdrs_read(sip_t const *sip, struct st_hdrs *h)
{
	memset(h, 0, sizeof(*h));

	h->supported = sip_has_feature(sip->sip_supported, "timer");
	h->required = sip_has_feature(sip->sip_require, "timer");
	if (sip->sip_session_expires) {
		unsigned long d = sip->sip_session_expires->x_delta;

		h->se = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
		h->se_zero = d == 0;
		h->refresher = st_refresher_parse(
			sip->sip_session_expires->x_refresher);
	}
	if (sip->sip_min_se) {
		unsigned long d = sip->sip_min_se->min_delta;

		h->min_se = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
	}
}
