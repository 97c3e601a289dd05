/**
 * @file register.c  REGISTER for trunks with register: true
 *
 *   keepline                         trunk registrar
 *     |--- REGISTER (Expires 3600) ---->|
 *     |<-- 401 / 407 (challenge) -------|   answered with the trunk's
 *     |--- REGISTER + Authorization --->|   credentials, twice at most
 *     |<-- 200 (granted expires) -------|
 *     |        ... expires / 2 ...      |
 *     |--- REGISTER (refresh) --------->|
 *
 * One registration per trunk, one Call-ID for its life and increasing
 * CSeq (RFC 3261 §10.2). A 423 raises our Expires to Min-Expires
 * (§10.2.8); other failures retry with backoff, 30 s doubling to 5 min.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "gateway/conf.h"
#include "gateway/log.h"
#include "gateway/reactor.h"
#include "sip/sip_int.h"

enum {
	WANT_EXPIRES = 3600,          /**< [s] asked for */
	RETRY_MIN_S = 30,
	RETRY_MAX_S = 300,
	AUTH_TRIES_MAX = 2,
	MIN_EXPIRES_MAX_S = 86400,    /**< a 423's Min-Expires we follow */
};

enum reg_state { REG_SENDING = 0, REG_REGISTERED, REG_FAILED };

struct sipua_reg {
	struct le le;
	struct sipua *ua;
	const struct gw_trunk *trunk;
	nta_leg_t *leg;
	nta_outgoing_t *orq;
	su_home_t *home;
	struct auth_client_s *auc;
	struct gw_timer *timer;
	char *aor;
	char *registrar;
	enum reg_state state;
	unsigned expires;             /**< [s] we ask for */
	unsigned granted;             /**< [s] the registrar gave */
	unsigned retry;               /**< [s] next backoff */
	unsigned auth_tries;
	int last_status;
	uint64_t until;               /**< gw_now_ms() the binding lapses */
};

static const char *state_names[] = {"registering", "registered", "failed"};

static void reg_send(void *arg);


static void reg_destructor(void *data)
{
	struct sipua_reg *r = data;

	list_unlink(&r->le);
	mem_deref(r->timer);
	if (r->orq)
		nta_outgoing_destroy(r->orq);
	if (r->leg)
		nta_leg_destroy(r->leg);
	if (r->home)
		su_home_unref(r->home);
	mem_deref(r->aor);
	mem_deref(r->registrar);
}


static void reg_retry(struct sipua_reg *r)
{
	r->state = REG_FAILED;
	gw_timer_start(r->timer, (uint64_t)r->retry * 1000, reg_send, r);
	r->retry = r->retry * 2 > RETRY_MAX_S ? RETRY_MAX_S : r->retry * 2;
}


/* The expiry the registrar granted our contact (RFC 3261 §10.2.4); it
 * may shorten what we asked, not lengthen it (§10.3 step 7): more is
 * taken as what we asked, so the refresh timer stays in range */
static unsigned granted(const struct sipua_reg *r, sip_t const *sip)
{
	unsigned long g = r->expires;

	if (sip->sip_contact && sip->sip_contact->m_expires)
		g = strtoul(sip->sip_contact->m_expires, NULL, 10);
	else if (sip->sip_expires)
		g = sip->sip_expires->ex_delta;

	return g < r->expires ? (unsigned)g : r->expires;
}


static int reg_challenge(struct sipua_reg *r, int status, sip_t const *sip)
{
	int err;

	if (r->auth_tries >= AUTH_TRIES_MAX)
		return EACCES;

	err = sipua_trunk_challenge(r->trunk, r->home, &r->auc, status, sip);
	if (!err)
		++r->auth_tries;

	return err;
}


static int reg_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq,
			sip_t const *sip)
{
	struct sipua_reg *r = (struct sipua_reg *)magic;
	int status = nta_outgoing_status(orq);

	if (status < 200)
		return 0;

	r->last_status = status;

	if (status < 300 && sip) {
		r->granted = granted(r, sip);
		r->until = gw_now_ms() + (uint64_t)r->granted * 1000;
		r->state = REG_REGISTERED;
		r->retry = RETRY_MIN_S;
		r->auth_tries = 0;
		gw_log(GW_LOG_INFO, "sip", "registered",
		       GW_FIELDS(GW_FS("trunk", r->trunk->name),
				 GW_FS("aor", r->aor),
				 GW_FU("expires", r->granted)),
		       "Registered %s with trunk %s for %u s", r->aor,
		       r->trunk->name, r->granted);
		/* refresh at half the interval, so a lost REGISTER has time
		 * to be retransmitted and retried before the binding lapses */
		gw_timer_start(r->timer, r->granted ? r->granted * 500ull :
			       1000, reg_send, r);
		return 0;
	}

	if ((status == 401 || status == 407) && sip &&
	    !reg_challenge(r, status, sip)) {
		gw_timer_start(r->timer, 0, reg_send, r);
		return 0;
	}

	/* RFC 3261 §10.2.8: ask again with the registrar's minimum, if
	 * it is one a timer can hold (a day at most) */
	if (status == 423 && sip && sip->sip_min_expires &&
	    sip->sip_min_expires->me_delta > r->expires &&
	    sip->sip_min_expires->me_delta <= MIN_EXPIRES_MAX_S) {
		r->expires = (unsigned)sip->sip_min_expires->me_delta;
		gw_timer_start(r->timer, 0, reg_send, r);
		return 0;
	}

	gw_log(GW_LOG_WARN, "sip", "register_failed",
	       GW_FIELDS(GW_FS("trunk", r->trunk->name), GW_FI("status", status),
			 GW_FU("retry_s", r->retry)),
	       "Registration with trunk %s failed with %d, retrying in %u s",
	       r->trunk->name, status, r->retry);
	reg_retry(r);

	return 0;
}


static void reg_send(void *arg)
{
	struct sipua_reg *r = arg;
	msg_header_t *auth = NULL;
	char expires[16];

	if (r->orq) {
		nta_outgoing_destroy(r->orq);
		r->orq = NULL;
	}

	if (r->auc)
		auc_authorization_headers(&r->auc, r->home, "REGISTER",
					  url_hdup(r->home, URL_STRING_MAKE(
							   r->registrar)->us_url),
					  NULL, &auth);

	snprintf(expires, sizeof(expires), "%u", r->expires);
	if (r->state != REG_REGISTERED)
		r->state = REG_SENDING;

	r->orq = nta_outgoing_tcreate(
		r->leg, reg_response, (nta_outgoing_magic_t *)r,
		(url_string_t const *)r->trunk->out.route,
		SIP_METHOD_REGISTER, (url_string_t const *)r->registrar,
		SIPTAG_CONTACT(sipua_contact(r->ua, r->trunk->transport)),
		SIPTAG_EXPIRES_STR(expires),
		SIPTAG_USER_AGENT_STR(r->ua->conf->sip.user_agent),
		TAG_IF(auth, SIPTAG_HEADER((sip_header_t const *)auth)),
		TAG_END());
	if (r->orq)
		return;

	gw_log(GW_LOG_WARN, "sip", "register_send_failed",
	       GW_FIELDS(GW_FS("trunk", r->trunk->name),
			 GW_FS("registrar", r->registrar),
			 GW_FU("retry_s", r->retry)),
	       "REGISTER for trunk %s could not be sent; trying again in "
	       "%u s", r->trunk->name, r->retry);
	reg_retry(r);
}


static int reg_new(struct sipua *ua, const struct gw_trunk *t)
{
	struct sipua_reg *r;
	const struct gw_outbound *o = &t->out;
	bool v6 = strchr(o->host, ':') != NULL;
	char callid[64];
	uuid_t u;
	char us[37];
	int err = ENOMEM;

	if (!t->outbound_uri)
		return EINVAL;

	r = mem_zalloc(sizeof(*r), reg_destructor);
	if (!r)
		return ENOMEM;

	r->ua = ua;
	r->trunk = t;
	r->expires = WANT_EXPIRES;
	r->retry = RETRY_MIN_S;
	list_append(&ua->regs, &r->le, r);

	/* AOR user@registrar-host; the registrar is the URI without user
	 * (RFC 3261 §10.2: Request-URI names the domain) */
	if (re_sdprintf(&r->aor, "sip:%s@%s%s%s", t->username ? t->username :
			"keepline", v6 ? "[" : "", o->host, v6 ? "]" : "") ||
	    (o->port ?
	     re_sdprintf(&r->registrar, "sip:%s%s%s:%u", v6 ? "[" : "",
			 o->host, v6 ? "]" : "", o->port) :
	     re_sdprintf(&r->registrar, "sip:%s%s%s", v6 ? "[" : "",
			 o->host, v6 ? "]" : "")))
		goto out;

	uuid_generate_random(u);
	uuid_unparse_lower(u, us);
	snprintf(callid, sizeof(callid), "%s@keepline", us);

	r->home = su_home_new(sizeof(*r->home));
	if (!r->home)
		goto out;
	r->leg = nta_leg_tcreate(ua->agent, NULL, NULL,
				 SIPTAG_FROM_STR(r->aor), SIPTAG_TO_STR(r->aor),
				 SIPTAG_CALL_ID_STR(callid), TAG_END());
	if (!r->leg)
		goto out;
	nta_leg_tag(r->leg, NULL);

	err = gw_timer_alloc(&r->timer, ua->r);
	if (!err)
		err = gw_timer_start(r->timer, 0, reg_send, r);

 out:
	if (err)
		mem_deref(r);

	return err;
}


int sipua_reg_start(struct sipua *ua)
{
	for (size_t i = 0; i < ua->conf_start->n_trunks; i++) {
		const struct gw_trunk *t = &ua->conf_start->trunks[i];
		int err;

		if (!t->reg)
			continue;

		err = reg_new(ua, t);
		if (err) {
			gw_log(GW_LOG_ERROR, "sip", "register_unavailable",
			       GW_FIELDS(GW_FS("trunk", t->name), GW_FERR(err)),
			       "Cannot register with trunk %s", t->name);
			return err;
		}
	}

	return 0;
}


void sipua_reg_describe(const struct sipua *ua, struct odict *o)
{
	struct odict *arr;
	unsigned i = 0;

	if (!ua->regs.head || odict_alloc(&arr, 8))
		return;

	for (struct le *le = ua->regs.head; le; le = le->next) {
		const struct sipua_reg *r = le->data;
		uint64_t now = gw_now_ms();
		struct odict *e;
		char key[16];

		if (odict_alloc(&e, 8))
			break;
		odict_entry_add(e, "trunk", ODICT_STRING, r->trunk->name);
		odict_entry_add(e, "aor", ODICT_STRING, r->aor);
		odict_entry_add(e, "state", ODICT_STRING,
				state_names[r->state]);
		odict_entry_add(e, "last_status", ODICT_INT,
				(int64_t)r->last_status);
		odict_entry_add(e, "expires_in_s", ODICT_INT,
				(int64_t)(r->until > now ?
					  (r->until - now) / 1000 : 0));
		snprintf(key, sizeof(key), "%u", i++);
		odict_entry_add(arr, key, ODICT_OBJECT, e);
		mem_deref(e);
	}

	odict_entry_add(o, "registrations", ODICT_ARRAY, arr);
	mem_deref(arr);
}
