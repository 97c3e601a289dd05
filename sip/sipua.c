/**
 * @file sipua.c  The NTA agent: listeners, requests outside any dialog
 *
 * A default leg (NTATAG_NO_DIALOG) receives every request that belongs to
 * no call, inside a server transaction NTA already made; each call's own
 * leg receives its in-dialog requests (call.c).
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/conf.h"
#include "gateway/log.h"
#include "gateway/reactor.h"
#include "sip/call.h"
#include "sip/sip_int.h"
#include "sip/tls.h"

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/tport.h>


int sipua_reply(struct sipua *ua, nta_incoming_t *irq, int status,
		char const *phrase)
{
	/* RFC 3261 §20.5: a 405 MUST carry Allow; §21.4.13: a 415 says
	 * what we accept; §21.5.4: every 503 of ours is a passing state
	 * (ports, trunk limits), so it says when to try again */
	int err = nta_incoming_treply(irq, status, phrase,
				      SIPTAG_SERVER_STR(ua->conf->sip.user_agent),
				      TAG_IF(status == 405 || status == 200,
					     SIPTAG_ALLOW_STR(SIPUA_ALLOW)),
				      TAG_IF(status == 415, SIPTAG_ACCEPT_STR(
						     "application/sdp")),
				      TAG_IF(status == 503,
					     SIPTAG_RETRY_AFTER_STR("1")),
				      TAG_END());

	sipua_done(irq);

	return err;
}


int sipua_dialog_default(struct sipua *ua, nta_incoming_t *irq,
			 sip_t const *sip)
{
	switch (sip->sip_request->rq_method) {

	case sip_method_ack:
		sipua_done(irq);
		return 0;

	case sip_method_options:
		sipua_reply(ua, irq, SIP_200_OK);
		return 0;

	case sip_method_unknown:
		return 501;

	default:
		sipua_reply(ua, irq, SIP_405_METHOD_NOT_ALLOWED);
		return 0;
	}
}


sip_contact_t const *sipua_contact(const struct sipua *ua,
				   enum gw_transport tp)
{
	if ((unsigned)tp < 3 && ua->contact[tp])
		return ua->contact[tp];

	return nta_agent_contact(ua->agent);
}


/* A Contact per listening transport but UDP (whose Contact, NTA's own,
 * names no transport): NTA's address when the listen entry is a
 * wildcard, the entry's port, and ;transport= */
static void contacts_make(struct sipua *ua)
{
	const sip_contact_t *base = nta_agent_contact(ua->agent);
	const char *base_host = base && base->m_url->url_host ?
		base->m_url->url_host : "127.0.0.1";

	for (tport_t *tp = tport_primaries(nta_agent_tports(ua->agent)); tp;
	     tp = tport_next(tp)) {
		const tp_name_t *n = tport_name(tp);
		const char *host = n->tpn_host;
		enum gw_transport t;

		if (!strcasecmp(n->tpn_proto, "tcp"))
			t = GW_TP_TCP;
		else if (!strcasecmp(n->tpn_proto, "tls"))
			t = GW_TP_TLS;
		else
			continue;
		if (ua->contact[t])
			continue;   /* the first entry of that transport */

		if (ua->conf->sip.public_address)
			host = ua->conf->sip.public_address;
		else if (!host || !strcmp(host, "*") ||
			 !strcmp(host, "0.0.0.0") || !strcmp(host, "::") ||
			 !strcmp(host, "[::]"))
			host = base_host;
		ua->contact[t] = sip_contact_format(
			ua->home, "<sip:%s%s%s:%s;transport=%s>",
			strchr(host, ':') && host[0] != '[' ? "[" : "", host,
			strchr(host, ':') && host[0] != '[' ? "]" : "",
			n->tpn_port, n->tpn_proto);
	}
}


int sipua_trunk_challenge(const struct gw_trunk *t, su_home_t *home,
			  struct auth_client_s **aucp, int status,
			  sip_t const *sip)
{
	msg_auth_t const *ch;

	if (!t || !t->username || !t->password || !sip)
		return EACCES;

	/* RFC 3261 §22.2 (401, WWW-Authenticate) and §22.3 (407,
	 * Proxy-Authenticate); the digest itself is RFC 2617 */
	ch = status == 401 ? (msg_auth_t const *)sip->sip_www_authenticate :
		(msg_auth_t const *)sip->sip_proxy_authenticate;
	if (!ch || auc_challenge(aucp, home, ch, status == 401 ?
				 sip_authorization_class :
				 sip_proxy_authorization_class) < 1 ||
	    auc_all_credentials(aucp, "Digest", NULL, t->username,
				t->password) < 1)
		return EPROTO;

	return 0;
}


void sipua_ack(struct sipua *ua, nta_leg_t *leg, const char *route,
	       sip_t const *sip)
{
	nta_outgoing_t *ack;
	char cseq[32];

	snprintf(cseq, sizeof(cseq), "%u ACK", sip->sip_cseq->cs_seq);

	ack = nta_outgoing_tcreate(leg, NULL, NULL,
				   (url_string_t const *)route,
				   SIP_METHOD_ACK, NULL,
				   SIPTAG_CSEQ_STR(cseq),
				   SIPTAG_USER_AGENT_STR(ua->conf->sip.user_agent),
				   TAG_END());
	if (ack)
		nta_outgoing_destroy(ack);
}


bool sipua_unsupported(struct sipua *ua, nta_incoming_t *irq,
		       sip_t const *sip)
{
	char list[256];
	size_t len = 0;

	if (!sip->sip_require)
		return false;

	/* "timer" (RFC 4028) is the one option we implement */
	list[0] = '\0';
	for (msg_param_t const *k = sip->sip_require->k_items; k && *k; k++) {
		int n;

		if (!strcasecmp(*k, "timer"))
			continue;
		n = snprintf(list + len, sizeof(list) - len, "%s%s",
			     len ? ", " : "", *k);
		if (n < 0 || (size_t)n >= sizeof(list) - len)
			break;
		len += (size_t)n;
	}
	if (!len)
		return false;

	gw_log(GW_LOG_INFO, "sip", "bad_extension",
	       GW_FIELDS(GW_FS("call_id", sip->sip_call_id->i_id),
			 GW_FS("unsupported", list)),
	       "Request requires what we do not support: %s", list);
	nta_incoming_treply(irq, SIP_420_BAD_EXTENSION,
			    SIPTAG_UNSUPPORTED_STR(list),
			    SIPTAG_SERVER_STR(ua->conf->sip.user_agent),
			    TAG_END());
	sipua_done(irq);

	return true;
}


int sipua_msg_source(msg_t *msg, struct sa *src)
{
	su_sockaddr_t su;
	socklen_t sulen = sizeof(su);
	int err;

	if (!msg)
		return EINVAL;
	err = msg_get_address(msg, &su, &sulen);
	msg_destroy(msg);

	return err < 0 || sa_set_sa(src, &su.su_sa) ? EINVAL : 0;
}


void sipua_done(nta_incoming_t *irq)
{
	/* NTA keeps it for its own retransmission timers, then frees it */
	if (irq)
		nta_incoming_destroy(irq);
}


int sipua_local_addr(const struct sa *peer, struct sa *local)
{
	int fd, err = 0;

	/* connect() on UDP only picks a route and a source address */
	fd = socket(sa_af(peer), SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;

	local->len = sizeof(local->u);
	if (connect(fd, &peer->u.sa, peer->len) ||
	    getsockname(fd, &local->u.sa, &local->len))
		err = errno;

	close(fd);

	if (!err)
		sa_set_port(local, 0);

	return err;
}


static int default_request(nta_leg_magic_t *magic, nta_leg_t *leg,
			   nta_incoming_t *irq, sip_t const *sip)
{
	struct sipua *ua = (struct sipua *)magic;
	(void)leg;

	switch (sip->sip_request->rq_method) {

	case sip_method_invite:
		/* a To tag means a dialog we do not know (RFC 3261 §12.2.2) */
		if (sip->sip_to && sip->sip_to->a_tag)
			return 481;
		++ua->st.invites;
		return call_incoming(ua, irq, sip);

	case sip_method_options:
		/* load balancers and trunks probe us with OPTIONS */
		++ua->st.options;
		nta_incoming_treply(irq, SIP_200_OK,
				    SIPTAG_SERVER_STR(ua->conf->sip.user_agent),
				    SIPTAG_ALLOW_STR(SIPUA_ALLOW),
				    SIPTAG_ACCEPT_STR("application/sdp"),
				    SIPTAG_SUPPORTED_STR("timer"),
				    TAG_END());
		sipua_done(irq);
		return 0;

	case sip_method_ack:
		sipua_done(irq);
		return 0;   /* a stray ACK gets no response (RFC 3261 §17.2.3) */

	case sip_method_bye:
	case sip_method_cancel:
	case sip_method_update:
	case sip_method_info:
	case sip_method_prack:
		return 481;  /* only ever valid inside a call we have */

	case sip_method_unknown:
		return 501;

	default:
		sipua_reply(ua, irq, SIP_405_METHOD_NOT_ALLOWED);
		return 0;
	}
}


/* Sofia's own diagnostics become debug events, one per line, so that
 * stderr keeps the one-line-per-event format (docs/logs.md). Sofia may
 * build a line from several calls: collect up to the newline. */
static void sofia_logger(void *stream, char const *fmt, va_list ap)
{
	static char line[512];
	static size_t len;
	char *nl;
	int n;
	(void)stream;

	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	if (n < 0)
		return;
	len += (size_t)n < sizeof(line) - len ? (size_t)n :
		sizeof(line) - len - 1;

	while ((nl = memchr(line, '\n', len)) != NULL ||
	       len == sizeof(line) - 1) {
		size_t end = nl ? (size_t)(nl - line) : len;

		line[end] = '\0';
		if (end)
			gw_log(GW_LOG_DEBUG, "sip", "sofia",
			       GW_FIELDS(GW_FS("text", line)), "Sofia: %s", line);
		if (!nl) {
			len = 0;
			break;
		}
		memmove(line, nl + 1, len - end - 1);
		len -= end + 1;
	}
}


/* Messages NTA handles statelessly: stray responses and the like */
static int agent_message(nta_agent_magic_t *magic, nta_agent_t *agent,
			 msg_t *msg, sip_t *sip)
{
	(void)magic;
	(void)sip;

	nta_msg_discard(agent, msg);

	return 0;
}


/* "udp:127.0.0.1:5060" -> "sip:127.0.0.1:5060;transport=udp";
 * %J brackets an IPv6 address */
static void listen_url(char *buf, size_t size, const struct gw_listen *l,
		       const char *public_address)
{
	const char *pub = public_address;
	bool v6 = pub && strchr(pub, ':');

	/* Sofia binds maddr and puts the host part in Via and Contact */
	if (pub)
		re_snprintf(buf, size, "%s:%s%s%s:%u;maddr=%j;transport=%s",
			    l->tp == GW_TP_TLS ? "sips" : "sip",
			    v6 ? "[" : "", pub, v6 ? "]" : "",
			    sa_port(&l->addr), &l->addr,
			    gw_transport_name(l->tp));
	else
		re_snprintf(buf, size, "%s:%J;transport=%s",
			    l->tp == GW_TP_TLS ? "sips" : "sip", &l->addr,
			    gw_transport_name(l->tp));
}


/* A tls: listen entry needs a certificate to present: checked before
 * Sofia, which would listen without one and fail every handshake */
static int tls_ready(const struct gw_conf *conf)
{
	const char *dir = conf->sip.tls_certificates;
	const struct gw_listen *l = sip_tls_listen(conf);
	struct sip_tls_cert cert;
	char why[PATH_MAX + 128], where[80];
	long days;
	int err;

	if (!l)
		return 0;

	re_snprintf(where, sizeof(where), "tls:%J", &l->addr);
	err = sip_tls_load(dir, &cert, why, sizeof(why));
	if (err) {
		gw_log(GW_LOG_ERROR, "sip", "tls_certificate_unusable",
		       GW_FIELDS(GW_FS("listen", where), GW_FS("why", why),
				 GW_FS("dir", dir)),
		       "Cannot listen for SIP on %s: %s (sip.tls_certificates "
		       "holds agent.pem, the certificate and its key)", where,
		       why);
		return err;
	}

	/* on-call's warning: peers that check dates refuse an expired one */
	days = sip_tls_days_left(&cert);
	if (days < 0)
		gw_log(GW_LOG_ERROR, "sip", "tls_certificate_expired",
		       GW_FIELDS(GW_FS("subject", cert.subject),
				 GW_FI("days_left", days), GW_FS("dir", dir)),
		       "TLS certificate %s has expired", cert.subject);
	else
		gw_log(days < 30 ? GW_LOG_WARN : GW_LOG_INFO, "sip",
		       "tls_certificate",
		       GW_FIELDS(GW_FS("subject", cert.subject),
				 GW_FI("days_left", days), GW_FS("dir", dir)),
		       "TLS certificate %s expires in %ld day(s)",
		       cert.subject, days);

	return 0;
}


static void sipua_destructor(void *data)
{
	struct sipua *ua = data;

	ua->stop_done = NULL;   /* freed, not stopped: nobody waits */
	call_destroy_all(ua);
	list_flush(&ua->regs);
	mem_deref(ua->conns_sweep);
	mem_deref(ua->conns);
	mem_deref(ua->use);

	if (ua->default_leg)
		nta_leg_destroy(ua->default_leg);
	if (ua->agent)
		nta_agent_destroy(ua->agent);
	if (ua->home)
		su_home_unref(ua->home);

	mem_deref(ua->mm);
	mem_deref(ua->r);
	mem_deref((void *)ua->conf);
	mem_deref((void *)ua->conf_start);
}


void sipua_set_netwatch(struct sipua *ua, const struct nw_mgr *nw)
{
	if (ua)
		ua->nw = nw;
}


/* The agent on the first sip.listen entry, a transport for each other
 * one; every failure logged (listen_failed) */
static int agent_listen(struct sipua *ua)
{
	const struct gw_conf *conf = ua->conf;
	char url[128];
	int err;

	listen_url(url, sizeof(url), &conf->sip.listen[0],
		   conf->sip.public_address);

	/* NTATAG_UA: NTA retransmits our 2xx to INVITE until the ACK comes
	 * (RFC 3261 §13.3.1.4) and passes that ACK to the transaction */
	ua->agent = nta_agent_create(gw_reactor_su_root(ua->r),
				     (url_string_t const *)url, agent_message,
				     (nta_agent_magic_t *)ua,
				     NTATAG_UA(1),
				     NTATAG_MERGE_482(1),
				     /* the 487 is ours, for a CANCEL we
				      * accept (leg.c, irq_event()) */
				     NTATAG_CANCEL_487(0),
				     /* a trunk endpoint answers no STUN; and
				      * Sofia's STUN error path leaks */
				     TPTAG_STUN_SERVER(0),
				     TPTAG_CERTIFICATE(conf->sip.tls_certificates),
				     TPTAG_IDLE((unsigned)
						conf->sip.connection_idle),
				     TAG_END());
	if (!ua->agent)
		goto fail;

	for (size_t i = 1; i < conf->sip.n_listen; i++) {
		listen_url(url, sizeof(url), &conf->sip.listen[i],
			   conf->sip.public_address);
		if (nta_agent_add_tport(ua->agent, (url_string_t const *)url,
					TPTAG_STUN_SERVER(0),
					TPTAG_CERTIFICATE(
						conf->sip.tls_certificates),
					TPTAG_IDLE((unsigned)
						   conf->sip.connection_idle),
					TAG_END()) < 0)
			goto fail;
	}

	return 0;

 fail:
	err = errno ? errno : EADDRNOTAVAIL;
	gw_log(GW_LOG_ERROR, "sip", "listen_failed",
	       GW_FIELDS(GW_FS("url", url), GW_FERR(err)),
	       "Cannot listen for SIP on %s", url);

	return err;
}


int sipua_alloc(struct sipua **up, struct gw_reactor *r,
		const struct gw_conf *conf, struct media_mgr *mm)
{
	struct sipua *ua;
	int err = 0;

	if (!up || !r || !conf || !mm || conf->sip.n_listen == 0)
		return EINVAL;

	ua = mem_zalloc(sizeof(*ua), sipua_destructor);
	if (!ua)
		return ENOMEM;

	ua->r = mem_ref(r);
	ua->conf = mem_ref((void *)conf);
	ua->conf_start = mem_ref((void *)conf);
	ua->mm = mem_ref(mm);

	su_log_redirect(NULL, sofia_logger, NULL);

	err = tls_ready(conf);
	if (!err)
		err = agent_listen(ua);
	if (err)
		goto out;

	ua->home = su_home_new(sizeof(*ua->home));
	if (!ua->home) {
		err = ENOMEM;
		goto out;
	}
	contacts_make(ua);

	ua->default_leg = nta_leg_tcreate(ua->agent, default_request,
					  (nta_leg_magic_t *)ua,
					  NTATAG_NO_DIALOG(1), TAG_END());
	if (!ua->default_leg) {
		err = ENOMEM;
		goto out;
	}

	err = sipua_limits_alloc(ua);
	if (!err)
		err = sipua_reg_start(ua);
	if (err)
		goto out;

	for (size_t i = 0; i < conf->sip.n_listen; i++) {
		char where[80];

		re_snprintf(where, sizeof(where), "%s:%J",
			    gw_transport_name(conf->sip.listen[i].tp),
			    &conf->sip.listen[i].addr);
		gw_log(GW_LOG_INFO, "sip", "listen",
		       GW_FIELDS(GW_FS("listen", where)),
		       "SIP listening on %s", where);
	}

	err = sipua_conns_start(ua);

 out:
	if (err)
		mem_deref(ua);
	else
		*up = ua;

	return err;
}


void sipua_stop_check(struct sipua *ua)
{
	gw_module_done_h *h = ua->stop_done;

	if (!h || ua->calls.head)
		return;

	ua->stop_done = NULL;
	h(ua->stop_arg);
}


void sipua_stop(struct sipua *ua, void (*done)(void *arg), void *arg)
{
	unsigned n = 0;

	if (!ua || !done)
		return;

	ua->stopping = true;
	ua->stop_done = done;
	ua->stop_arg = arg;

	for (struct le *le = ua->calls.head; le; le = le->next) {
		struct call *c = le->data;

		if (!c->ended && c->state != CALL_ENDING) {
			call_shutdown(c);
			++n;
		}
	}

	if (n)
		gw_log(GW_LOG_INFO, "sip", "shutdown_calls",
		       GW_FIELDS(GW_FU("calls", n)),
		       "Ending %u call(s) for shutdown", n);

	/* done when the last call is freed: its BYEs answered (or NTA
	 * gave up), a ringing callee CANCELled */
	sipua_stop_check(ua);
}


/* A registration keeps the trunk it started with; what it sends is
 * named as waiting for a restart when the new file changes it */
static void reload_registrations(struct sipua *ua, const struct gw_conf *conf,
				 struct gw_reload *rep)
{
	static const char why[] = "a registration keeps the trunk settings "
		"it started with until a restart";
	const struct gw_conf *was = ua->conf_start;

	for (size_t i = 0; i < conf->n_trunks; i++) {
		const struct gw_trunk *t = &conf->trunks[i];
		const struct gw_trunk *o = gw_conf_trunk(was, t->name);
		char key[64];

		if (!t->reg && !(o && o->reg))
			continue;

#define REG_KEY(field, same)						\
		if (!o || !(same)) {					\
			snprintf(key, sizeof(key), "trunks[%zu]." field, i); \
			gw_reload_restart(rep, key, why);		\
		}
		REG_KEY("register", o->reg == t->reg);
		REG_KEY("outbound_uri", gw_str_same(o->outbound_uri,
						  t->outbound_uri));
		REG_KEY("username", gw_str_same(o->username, t->username));
		REG_KEY("password", gw_str_same(o->password, t->password));
		REG_KEY("transport", o->transport == t->transport);
#undef REG_KEY
	}
}


int sipua_reload(struct sipua *ua, const struct gw_conf *conf,
		 struct gw_reload *rep)
{
	int err;

	if (!ua || !conf)
		return EINVAL;

	err = sipua_limits_reload(ua, conf);
	if (err)
		return err;

	reload_registrations(ua, conf, rep);

	/* new calls from now on; each call keeps the one it started with */
	mem_deref((void *)ua->conf);
	ua->conf = mem_ref((void *)conf);

	return 0;
}


void sipua_stats(const struct sipua *ua, struct sipua_stats *st)
{
	if (ua && st)
		*st = ua->st;
}


void sipua_status(const struct sipua *ua, struct odict *o)
{
	odict_entry_add(o, "running", ODICT_BOOL, true);
	odict_entry_add(o, "calls", ODICT_INT, (int64_t)ua->st.active);
	odict_entry_add(o, "invites", ODICT_INT, (int64_t)ua->st.invites);
	odict_entry_add(o, "answered", ODICT_INT, (int64_t)ua->st.answered);
	odict_entry_add(o, "rejected", ODICT_INT, (int64_t)ua->st.rejected);
	odict_entry_add(o, "ended", ODICT_INT, (int64_t)ua->st.ended);
	odict_entry_add(o, "options", ODICT_INT, (int64_t)ua->st.options);
	sipua_conns_describe(ua, o);
	sipua_limits_describe(ua, o);
	sipua_reg_describe(ua, o);
}


int sipua_calls(const struct sipua *ua, struct odict *reply)
{
	struct odict *arr;
	unsigned i = 0;

	if (odict_alloc(&arr, 16))
		return ENOMEM;

	for (struct le *le = ua->calls.head; le; le = le->next) {
		const struct call *c = le->data;
		struct odict *o;
		char key[16];

		if (c->ended)
			continue;   /* freed on the next turn of the loop */
		if (odict_alloc(&o, 16))
			break;

		call_describe(c, o);
		snprintf(key, sizeof(key), "%u", i++);
		odict_entry_add(arr, key, ODICT_OBJECT, o);
		mem_deref(o);
	}

	odict_entry_add(reply, "calls", ODICT_ARRAY, arr);
	mem_deref(arr);

	return 0;
}
