/**
 * @file test_timer.c  RFC 4028 negotiation rules as a table (st_rules.c)
 *
 * Each row: what the request (or the 2xx) says, the trunk's settings, and
 * what our answer must carry and which roles follow.
 */

#include <stdbool.h>

#include "gateway/conf.h"
#include "sip/st_rules.h"
#include "tests/unit/unit.h"

#define UAC ST_REF_UAC
#define UAS ST_REF_UAS
#define NONE ST_REF_NONE

/* settings: enabled, default_expires, min_se, prefer_refresher */
static const struct gw_session_timer_conf on = {
	true, 1800, 90, GW_REFRESHER_UAC, false, 7200};
static const struct gw_session_timer_conf on_uas = {
	true, 1800, 90, GW_REFRESHER_UAS, false, 7200};
static const struct gw_session_timer_conf on_120 = {
	true, 1800, 120, GW_REFRESHER_UAC, false, 7200};
static const struct gw_session_timer_conf off = {
	false, 1800, 90, GW_REFRESHER_UAC, false, 7200};

struct uas_row {
	const char *what;
	const struct gw_session_timer_conf *cf;
	struct st_hdrs rq;            /* supported, required, se, ref, min */
	uint32_t current;             /* the dialog's interval, 0: new */
	bool we_now;                  /* with current: we refresh it now */
	int status;
	uint32_t min_se;              /* in 422 / logged */
	uint32_t se;                  /* in our 2xx, 0: none */
	int refresher;
	bool require, we_refresh, expire;
};

static const struct uas_row uas_rows[] = {
	/* §6 */
	{"supported, SE below Min-SE: 422 with ours", &on,
	 {true, false, 60, NONE, 0}, 0, false,
	 422, 90, 0, NONE, false, false, false},
	{"required, SE below Min-SE: 422", &on,
	 {false, true, 60, UAC, 60}, 0, false,
	 422, 90, 0, NONE, false, false, false},
	{"422 names the request's larger Min-SE", &on_120,
	 {true, false, 100, NONE, 110}, 0, false,
	 422, 120, 0, NONE, false, false, false},
	/* §9: a UAC without timers cannot read 422: raised */
	{"not supported, SE below Min-SE: raised, uas", &on,
	 {false, false, 60, NONE, 0}, 0, false,
	 0, 90, 90, UAS, false, true, false},
	/* §9: refresher copied */
	{"refresher=uac copied", &on,
	 {true, false, 90, UAC, 90}, 0, false,
	 0, 90, 90, UAC, true, false, true},
	{"refresher=uas copied", &on,
	 {true, false, 90, UAS, 90}, 0, false,
	 0, 90, 90, UAS, true, true, false},
	{"no refresher: prefer_refresher uac", &on,
	 {true, false, 600, NONE, 0}, 0, false,
	 0, 90, 600, UAC, true, false, true},
	{"no refresher: prefer_refresher uas", &on_uas,
	 {true, false, 600, NONE, 0}, 0, false,
	 0, 90, 600, UAS, true, true, false},
	{"SE kept, never raised past what was asked", &on,
	 {true, false, 7200, UAC, 0}, 0, false,
	 0, 90, 7200, UAC, true, false, true},
	/* §9: no Session-Expires */
	{"supported, no SE: our default, preferred refresher", &on,
	 {true, false, 0, NONE, 0}, 0, false,
	 0, 90, 1800, UAC, true, false, true},
	{"not supported, no SE: we refresh", &on,
	 {false, false, 0, NONE, 0}, 0, false,
	 0, 90, 1800, UAS, false, true, false},
	{"a refresh without SE keeps the dialog's interval", &on,
	 {true, false, 0, NONE, 0}, 600, false,
	 0, 90, 600, UAC, true, false, true},
	{"a refresh naming no refresher keeps ours (prefer uac)", &on,
	 {true, false, 600, NONE, 0}, 600, true,
	 0, 90, 600, UAS, true, true, false},
	{"a plain hold re-INVITE keeps the peer refreshing", &on_uas,
	 {true, false, 0, NONE, 0}, 600, false,
	 0, 90, 600, UAC, true, false, true},
	{"no SE, request Min-SE above our default", &on,
	 {true, false, 0, NONE, 3600}, 0, false,
	 0, 3600, 3600, UAC, true, false, true},
	/* §9: the UAS may lower the interval (max_se), not below Min-SE */
	{"SE above max_se: lowered to it", &on,
	 {true, false, 5000000, UAC, 0}, 600, false,
	 0, 90, 7200, UAC, true, false, true},
	{"SE above max_se, Min-SE above it too: Min-SE", &on,
	 {true, false, 9000, UAC, 8000}, 0, false,
	 0, 8000, 8000, UAC, true, false, true},
	{"SE at max_se: kept", &on,
	 {true, false, 7200, UAS, 0}, 0, false,
	 0, 90, 7200, UAS, true, true, false},
	/* §6: Session-Expires: 0 is an interval below Min-SE */
	{"SE 0, supported: 422", &on,
	 {true, false, 0, NONE, 0, true}, 0, false,
	 422, 90, 0, NONE, false, false, false},
	{"SE 0, not supported: raised to Min-SE", &on,
	 {false, false, 0, NONE, 0, true}, 0, false,
	 0, 90, 90, UAS, false, true, false},
	{"disabled, SE above max_se: lowered", &off,
	 {true, false, 5000000, UAS, 0}, 0, false,
	 0, 90, 7200, UAS, true, true, false},
	/* behaviour 11: disabled */
	{"disabled, nothing asked: no timer", &off,
	 {true, false, 0, NONE, 0}, 0, false,
	 0, 90, 0, NONE, false, false, false},
	{"disabled, small SE: accepted, no 422", &off,
	 {true, false, 60, UAC, 0}, 0, false,
	 0, 90, 60, UAC, true, false, false},
	{"disabled, refresher=uas: we refresh, never expire", &off,
	 {true, false, 90, UAS, 0}, 0, false,
	 0, 90, 90, UAS, true, true, false},
	{"disabled, no refresher: the UAC's timer refreshes", &off,
	 {true, false, 300, NONE, 0}, 0, false,
	 0, 90, 300, UAC, true, false, false},
	{"disabled, proxy-inserted SE: we refresh", &off,
	 {false, false, 300, NONE, 0}, 0, false,
	 0, 90, 300, UAS, false, true, false},
};


int test_timer_uas_table(void)
{
	int err = 0;

	for (size_t i = 0; i < sizeof(uas_rows) / sizeof(uas_rows[0]); i++) {
		const struct uas_row *r = &uas_rows[i];
		struct st_result res;

		st_negotiate_uas(r->cf, &r->rq, r->current, r->we_now, &res);
		if (res.status != r->status || res.se != r->se ||
		    res.min_se != r->min_se ||
		    (int)res.refresher != r->refresher ||
		    res.require != r->require ||
		    res.we_refresh != r->we_refresh || res.expire != r->expire)
			TEST_FAIL("row %zu (%s): got status %d se %u min_se %u "
				  "refresher %s require %d we_refresh %d "
				  "expire %d", i, r->what, res.status, res.se,
				  res.min_se, st_refresher_name(res.refresher),
				  res.require, res.we_refresh, res.expire);
	}

 out:
	return err;
}


int test_timer_uac_table(void)
{
	static const struct {
		const struct gw_session_timer_conf *cf;
		struct st_hdrs rsp;
		uint32_t se;
		bool we_refresh, expire;
	} rows[] = {
		/* §7.4: no Session-Expires in the 2xx, no timer */
		{&on, {true, true, 0, NONE, 0}, 0, false, false},
		/* §7.2 */
		{&on, {true, true, 120, UAS, 0}, 120, false, true},
		{&on, {true, true, 120, UAC, 0}, 120, true, false},
		/* a refresher left out: we refresh rather than nobody */
		{&on, {true, true, 120, NONE, 0}, 120, true, false},
		/* disabled: never expire */
		{&off, {false, false, 90, UAS, 0}, 90, false, false},
		/* §9: a UAS only lowers what we asked: more is max_se */
		{&on, {true, true, 5000000, UAS, 0}, 7200, false, true},
	};
	int err = 0;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct st_result res;

		st_negotiate_uac(rows[i].cf, &rows[i].rsp, &res);
		if (res.se != rows[i].se ||
		    res.we_refresh != rows[i].we_refresh ||
		    res.expire != rows[i].expire)
			TEST_FAIL("row %zu: se %u we_refresh %d expire %d", i,
				  res.se, res.we_refresh, res.expire);
	}

 out:
	return err;
}


int test_timer_times(void)
{
	int err = 0;

	/* §10: SE - min(32, SE/3); refresh at SE/2 */
	TEST_EQUALS(60, st_expiry_after(90));
	TEST_EQUALS(1768, st_expiry_after(1800));
	TEST_EQUALS(64, st_expiry_after(96));
	TEST_EQUALS(45, st_refresh_after(90));
	TEST_EQUALS(900, st_refresh_after(1800));
	TEST_EQUALS(ST_REF_UAC, st_refresher_parse("UAC"));
	TEST_EQUALS(ST_REF_UAS, st_refresher_parse("uas"));
	TEST_EQUALS(ST_REF_NONE, st_refresher_parse("both"));
	TEST_EQUALS(ST_REF_NONE, st_refresher_parse(NULL));

 out:
	return err;
}
