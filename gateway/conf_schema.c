/**
 * @file conf_schema.c  Every key, its type, range and default (DESIGN.md §6)
 *
 * docs/config.md documents the same table for operators; keep them in step.
 */

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "gateway/libre.h"
#include <re_uri.h>
#include "gateway/conf_int.h"

#define OFF(field) offsetof(struct gw_conf, field)
#define KEY_END {0}

/* RFC 4028 §4: Min-SE MUST NOT be less than 90 seconds. */
enum { RFC4028_MIN_SE = 90, DAY_S = 86400 };
#define MS(s) ((uint64_t)(s) * 1000u)

static const char *const transports[] = {"udp", "tcp", "tls", NULL};
static const char *const refreshers[] = {"uac", "uas", NULL};
static const char *const actions[] = {"echo", "bridge", "reject", NULL};
static const char *const scopes[] = {"endpoint", "ip", NULL};
static const char *const tristate[] = {"auto", "on", "off", NULL};
static const char *const methods[] = {"auto", "icmp", "udp", "tcp", NULL};
static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const formats[] = {"text", "json", NULL};


/* The session_timer keys, for the global section (T = struct gw_conf)
 * and for a trunk's overrides (T = struct gw_trunk). */
#define SESSION_TIMER_KEYS(T, F)                                           \
	{"enabled", CT_BOOL, offsetof(T, F.enabled)},                      \
	{"default_expires", CT_SECONDS, offsetof(T, F.default_expires),    \
	 RFC4028_MIN_SE, DAY_S},                                           \
	{"min_se", CT_SECONDS, offsetof(T, F.min_se), RFC4028_MIN_SE,      \
	 DAY_S},                                                           \
	{"prefer_refresher", CT_ENUM, offsetof(T, F.prefer_refresher), 0,  \
	 0, 0, refreshers},                                                \
	{"use_update", CT_BOOL, offsetof(T, F.use_update)},                \
	{"max_se", CT_SECONDS, offsetof(T, F.max_se), RFC4028_MIN_SE,      \
	 DAY_S},                                                           \
	KEY_END

static const struct conf_key session_timer_keys[] = {
	SESSION_TIMER_KEYS(struct gw_conf, session_timer)
};

static const struct conf_key trunk_session_timer_keys[] = {
	SESSION_TIMER_KEYS(struct gw_trunk, session_timer)
};


/* min_se above default_expires would make us answer every INVITE with our
 * own interval below our own floor (RFC 4028 §4, §9); default_expires
 * above max_se would have us ask for what we lower in answers. */
/* The node to point at for two keys that disagree: the first if this
 * map sets it, else the second, else none (the map itself) */
static yaml_node_t *either(struct conf_parser *p, yaml_node_t *map,
			   const char *first, const char *second)
{
	yaml_node_t *n = conf_map_get(p, map, first);

	return n ? n : conf_map_get(p, map, second);
}


static void check_session_timer(struct conf_parser *p,
				const struct gw_session_timer_conf *st,
				yaml_node_t *map)
{
	yaml_node_t *n;

	if (st->default_expires > st->max_se) {
		n = either(p, map, "max_se", "default_expires");
		conf_error(p, n ? n : map, n ? "max_se" : NULL,
			   "default_expires (%us) is greater than max_se (%us)",
			   st->default_expires, st->max_se);
	}

	if (st->min_se > st->default_expires) {
		n = either(p, map, "min_se", "default_expires");
		conf_error(p, n ? n : map, n ? "min_se" : NULL,
			   "min_se (%us) is greater than default_expires (%us)",
			   st->min_se, st->default_expires);
	}
}


static void check_global_session_timer(struct conf_parser *p, void *base,
				       yaml_node_t *map)
{
	struct gw_conf *conf = base;

	check_session_timer(p, &conf->session_timer, map);
}


static void check_trunk_session_timer(struct conf_parser *p, void *base,
				      yaml_node_t *map)
{
	struct gw_trunk *t = base;

	check_session_timer(p, &t->session_timer, map);
}


#define TOFF(field) offsetof(struct gw_trunk, field)

static const struct conf_key trunk_keys[] = {
	{"name", CT_STR, TOFF(name), .required = true},
	{"addresses", CT_CIDRS, TOFF(addresses), 0, 0, TOFF(n_addresses)},
	{"outbound_uri", CT_STR, TOFF(outbound_uri)},
	{"transport", CT_ENUM, TOFF(transport), 0, 0, 0, transports},
	{"username", CT_STR, TOFF(username)},
	{"password", CT_STR, TOFF(password)},
	{"register", CT_BOOL, TOFF(reg)},
	{"session_timer", CT_MAP, 0, .sub = trunk_session_timer_keys,
	 .check = check_trunk_session_timer},
	{"probe", CT_BOOL, TOFF(probe), .needs = "netwatch"},
	{"max_calls", CT_UINT, TOFF(max_calls), 0, 1000000},
	{"max_cps", CT_UINT, TOFF(max_cps), 0, 100000},
	KEY_END
};


/* Trunk overrides start from the global section, parsed before trunks. */
static void init_trunk(struct conf_parser *p, void *item)
{
	struct gw_trunk *t = item;

	t->session_timer = p->conf->session_timer;
	t->transport = GW_TP_UDP;
	t->probe = true;
}


/* outbound_uri into t->out: the host must be an IP address (no DNS: a
 * lookup would block the gateway's one thread). NULL, or what is wrong. */
static const char *outbound_read(struct gw_trunk *t)
{
	struct gw_outbound *o = &t->out;
	const char *uri = t->outbound_uri, *q;
	struct uri u;
	struct pl pl;
	int n;

	if (strncmp(uri, "sip:", 4) && strncmp(uri, "sips:", 5))
		return " is not a sip: or sips: URI";
	pl_set_str(&pl, uri);
	if (uri_decode(&u, &pl) || !u.host.l ||
	    pl_strcpy(&u.host, o->host, sizeof(o->host)))
		return ": no host Keepline can read in it";
	o->port = u.port;
	if (sa_set_str(&o->hop, o->host, o->port ? o->port :
		       t->transport == GW_TP_TLS ? 5061 : 5060))
		return ": the host must be an IP address (Keepline does no "
			"DNS lookups)";

	if (t->transport == GW_TP_UDP || !strncmp(uri, "sips:", 5) ||
	    strcasestr(uri, ";transport="))
		n = snprintf(o->route, sizeof(o->route), "%s", uri);
	else {
		/* URI parameters go before any ?headers */
		q = strchr(uri, '?');
		n = snprintf(o->route, sizeof(o->route), "%.*s;transport=%s%s",
			     (int)(q ? (size_t)(q - uri) : strlen(uri)), uri,
			     gw_transport_name(t->transport), q ? q : "");
	}

	return n > 0 && (size_t)n < sizeof(o->route) ? NULL : ": too long";
}


static void check_trunk(struct conf_parser *p, void *item, yaml_node_t *map)
{
	struct gw_trunk *t = item;
	const char *why;
	yaml_node_t *n;

	n = conf_map_get(p, map, "outbound_uri");
	why = t->outbound_uri ? outbound_read(t) : NULL;
	if (why)
		conf_error(p, n, "outbound_uri", "'%s'%s", t->outbound_uri,
			   why);

	/* (an addresses key with bad entries is reported on its own) */
	if (!t->outbound_uri && !conf_map_get(p, map, "addresses"))
		conf_error(p, map, NULL, "trunk '%s' has neither addresses "
			   "(inbound) nor outbound_uri (outbound)",
			   t->name ? t->name : "?");

	/* Sofia sends only over transports it listens on (sip before
	 * trunks in schema order: the listen list is known here) */
	if (t->outbound_uri && t->transport != GW_TP_UDP) {
		bool heard = false;

		for (size_t i = 0; i < p->conf->sip.n_listen; i++)
			heard |= p->conf->sip.listen[i].tp == t->transport;
		if (!heard)
			conf_error(p, conf_map_get(p, map, "transport"),
				   "transport", "transport %s needs a %s: "
				   "entry in sip.listen",
				   gw_transport_name(t->transport),
				   gw_transport_name(t->transport));
	}

	if (t->reg && !t->outbound_uri)
		conf_error(p, conf_map_get(p, map, "register"), "register",
			   "register: true needs outbound_uri");

	if (!t->username != !t->password)
		conf_error(p, map, NULL, "username and password go together: "
			   "digest authentication needs both");
}


static const struct conf_list trunk_list = {
	.item_size = sizeof(struct gw_trunk),
	.count_off = OFF(n_trunks),
	.keys = trunk_keys,
	.init = init_trunk,
	.check = check_trunk,
};


#define ROFF(field) offsetof(struct gw_route, field)

static const struct conf_key route_keys[] = {
	{"match", CT_STR, ROFF(match), .required = true},
	{"action", CT_ENUM, ROFF(action), 0, 0, 0, actions,
	 .required = true},
	{"target", CT_STR, ROFF(target)},
	{"trunk", CT_STRS, ROFF(trunks), 0, 0, ROFF(n_trunks),
	 .scalar_ok = true},
	{"code", CT_U16, ROFF(code), 400, 699},
	KEY_END
};


static void init_route(struct conf_parser *p, void *item)
{
	struct gw_route *r = item;
	(void)p;

	r->code = 603;  /* Decline (RFC 3261 §21.6.2) */
}


static void check_route(struct conf_parser *p, void *item, yaml_node_t *map)
{
	struct gw_route *r = item;
	const char *star;

	if (r->match) {
		star = strchr(r->match, '*');
		if (star && star[1] != '\0')
			conf_error(p, conf_map_get(p, map, "match"), "match",
				   "'%s': '*' may only end a pattern "
				   "(exact, prefix* or *)", r->match);
	}

	r->trunk = r->n_trunks ? r->trunks[0] : NULL;

	if (r->action == GW_ROUTE_BRIDGE) {
		if (!r->target)
			conf_error(p, map, NULL, "action bridge needs a "
				   "target URI");
		else if (strncmp(r->target, "sip:", 4) &&
			 strncmp(r->target, "sips:", 5))
			conf_error(p, conf_map_get(p, map, "target"), "target",
				   "'%s' is not a sip: or sips: URI",
				   r->target);
		if (!r->trunk)
			conf_error(p, map, NULL, "action bridge needs a trunk");
	}
	else if (r->target) {
		conf_error(p, conf_map_get(p, map, "target"), "target",
			   "target is only used by action bridge");
	}

	if (r->action != GW_ROUTE_REJECT && conf_map_get(p, map, "code"))
		conf_error(p, conf_map_get(p, map, "code"), "code",
			   "code is only used by action reject");

	for (size_t i = 0; i < r->n_trunks; i++) {
		if (!gw_conf_trunk(p->conf, r->trunks[i]))
			conf_error(p, conf_map_get(p, map, "trunk"), "trunk",
				   "no trunk is named '%s'", r->trunks[i]);
	}
}


static const struct conf_list route_list = {
	.item_size = sizeof(struct gw_route),
	.count_off = OFF(n_routes),
	.keys = route_keys,
	.init = init_route,
	.check = check_route,
};


static const struct conf_key sip_keys[] = {
	{"listen", CT_LISTENS, OFF(sip.listen), 0, 0, OFF(sip.n_listen)},
	{"user_agent", CT_STR, OFF(sip.user_agent)},
	{"public_address", CT_STR, OFF(sip.public_address)},
	{"tls_certificates", CT_STR, OFF(sip.tls_certificates)},
	{"max_connections", CT_UINT, OFF(sip.max_connections), 1, 100000},
	{"max_connections_per_source", CT_UINT,
	 OFF(sip.max_connections_per_source), 1, 10000},
	{"connection_idle", CT_DURATION, OFF(sip.connection_idle), MS(10),
	 MS(DAY_S)},
	KEY_END
};

/* Sofia loads DIR/cafile.pem but never turns on peer verification
 * (TPTAG_TLS_VERIFY_POLICY is not set): a CA file would look like it
 * protects the TLS listeners and would not. */
static void check_cafile(struct conf_parser *p, const struct gw_conf *conf,
			 yaml_node_t *map)
{
	const char *dir = conf->sip.tls_certificates;
	yaml_node_t *at = conf_map_get(p, map, "tls_certificates");
	char path[PATH_MAX];
	bool tls = false;

	for (size_t i = 0; i < conf->sip.n_listen; i++)
		tls |= conf->sip.listen[i].tp == GW_TP_TLS;
	if (!tls || !dir || !*dir)
		return;

	snprintf(path, sizeof(path), "%s/cafile.pem", dir);
	if (access(path, F_OK) == 0)
		conf_error(p, at ? at : map, "tls_certificates",
			   "%s: verifying TLS peers against a CA is not in "
			   "this build; remove the file (peers are not "
			   "verified)", path);
}


static void check_sip(struct conf_parser *p, void *base, yaml_node_t *map)
{
	struct gw_conf *conf = base;
	const char *pub;
	struct sa sa;

	/* a name or an address for Via and Contact: no port, no spaces */
	pub = conf->sip.public_address;
	if (pub && (!*pub || strspn(pub, "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:")
		    != strlen(pub) ||
		    (strchr(pub, ':') && sa_set_str(&sa, pub, 0))))
		conf_error(p, conf_map_get(p, map, "public_address"),
			   "public_address", "'%s' is not a host name or an "
			   "IP address", pub);

	if (conf->sip.tls_certificates && !*conf->sip.tls_certificates)
		conf_error(p, conf_map_get(p, map, "tls_certificates"),
			   "tls_certificates", "a directory is needed");

	check_cafile(p, conf, map);

	if (conf->sip.n_listen == 0 && conf_map_get(p, map, "listen"))
		conf_error(p, conf_map_get(p, map, "listen"), "listen",
			   "at least one listen address is needed");

	for (size_t i = 0; i < conf->sip.n_listen; i++) {
		for (size_t j = 0; j < i; j++) {
			const struct gw_listen *a = &conf->sip.listen[i];
			const struct gw_listen *b = &conf->sip.listen[j];

			if (a->tp == b->tp && sa_cmp(&a->addr, &b->addr,
						     SA_ALL))
				conf_error(p, conf_map_get(p, map, "listen"),
					   "listen", "entry %zu repeats entry "
					   "%zu", i, j);
		}
	}
}

static const struct conf_key media_keys[] = {
	{"rtp_ports", CT_PORT_RANGE, OFF(media.rtp_ports)},
	{"bind", CT_IP, OFF(media.bind)},
	{"public_address", CT_IP, OFF(media.public_address)},
	{"rtp_timeout", CT_DURATION, OFF(media.rtp_timeout), MS(1),
	 MS(DAY_S)},
	KEY_END
};

static void check_media(struct conf_parser *p, void *base, yaml_node_t *map)
{
	struct gw_conf *conf = base;
	const struct gw_port_range *r = &conf->media.rtp_ports;

	/* RTP on an even port, RTCP on the next (RFC 3550 §11) */
	if ((unsigned)r->last - r->first < 1)
		conf_error(p, conf_map_get(p, map, "rtp_ports"), "rtp_ports",
			   "range must hold at least one RTP/RTCP port pair");
}

static const struct conf_key icmp_keys[] = {
	{"enabled", CT_BOOL, OFF(icmp.enabled)},
	{"error_threshold", CT_UINT, OFF(icmp.error_threshold), 1, 1000},
	{"record_ttl", CT_DURATION, OFF(icmp.record_ttl), MS(1), MS(3600)},
	{"confirm_silence", CT_DURATION, OFF(icmp.confirm_silence), 0,
	 MS(60)},
	{"cleanup_scope", CT_ENUM, OFF(icmp.cleanup_scope), 0, 0, 0, scopes},
	{"raw_listeners", CT_ENUM, OFF(icmp.raw_listeners), 0, 0, 0,
	 tristate},
	KEY_END
};

static const struct conf_key threshold_keys[] = {
	{"latency_ms", CT_UINT, OFF(netwatch.thresholds.latency_ms), 1,
	 60000},
	{"loss_pct", CT_PCT, OFF(netwatch.thresholds.loss_pct)},
	{"jitter_ms", CT_UINT, OFF(netwatch.thresholds.jitter_ms), 1, 60000},
	KEY_END
};

static const struct conf_key netwatch_keys[] = {
	{"targets", CT_STRS, OFF(netwatch.targets), 0, 0,
	 OFF(netwatch.n_targets)},
	{"interval", CT_DURATION, OFF(netwatch.interval), 100, MS(DAY_S)},
	{"probes_per_check", CT_UINT, OFF(netwatch.probes_per_check), 1, 100},
	{"probe_timeout", CT_DURATION, OFF(netwatch.probe_timeout), 10,
	 MS(60)},
	{"method", CT_ENUM, OFF(netwatch.method), 0, 0, 0, methods},
	{"udp_port", CT_U16, OFF(netwatch.udp_port), 1, 65535},
	{"hold_down", CT_DURATION, OFF(netwatch.hold_down), 0, MS(DAY_S)},
	{"thresholds", CT_MAP, 0, .sub = threshold_keys},
	KEY_END
};

static void check_netwatch(struct conf_parser *p, void *base,
			   yaml_node_t *map)
{
	struct gw_conf *conf = base;

	if (conf->netwatch.probe_timeout >= conf->netwatch.interval)
		conf_error(p, conf_map_get(p, map, "probe_timeout") ?
			   conf_map_get(p, map, "probe_timeout") : map,
			   "probe_timeout", "probe_timeout (%llums) must be "
			   "shorter than interval (%llums)",
			   (unsigned long long)conf->netwatch.probe_timeout,
			   (unsigned long long)conf->netwatch.interval);

	/* no blocking DNS in the daemon (DESIGN.md §3): addresses only */
	for (size_t i = 0; i < conf->netwatch.n_targets; i++) {
		const char *t = conf->netwatch.targets[i];
		struct sa sa;
		char key[48];

		if (!sa_decode(&sa, t, strlen(t)) || !sa_set_str(&sa, t, 0))
			continue;
		snprintf(key, sizeof(key), "targets[%zu]", i);
		conf_error(p, conf_map_get(p, map, "targets") ?
			   conf_map_get(p, map, "targets") : map, key,
			   "'%s' is not an IP address, ADDRESS:PORT or "
			   "[IPv6]:PORT (netwatch does not use DNS)", t);
	}
}

static const struct conf_key icmp_relay_keys[] = {
	{"enabled", CT_BOOL, OFF(icmp_relay.enabled)},
	{"max_sessions", CT_UINT, OFF(icmp_relay.max_sessions), 1, 100000},
	{"idle_timeout", CT_DURATION, OFF(icmp_relay.idle_timeout), MS(1),
	 MS(DAY_S)},
	{"echo_timeout", CT_DURATION, OFF(icmp_relay.echo_timeout), 10,
	 MS(60)},
	{"max_concurrent_replies", CT_UINT,
	 OFF(icmp_relay.max_concurrent_replies), 0, 1000000},
	{"allowed_cidrs", CT_CIDRS, OFF(icmp_relay.allowed_cidrs), 0, 0,
	 OFF(icmp_relay.n_allowed_cidrs)},
	KEY_END
};


static const struct conf_key control_keys[] = {
	{"socket", CT_STR, OFF(control.socket)},
	{"http", CT_ADDR_OR_OFF, OFF(control.http), 0, 0,
	 OFF(control.http_enabled), .needs = "http"},
	KEY_END
};

static void check_control(struct conf_parser *p, void *base,
			  yaml_node_t *map)
{
	struct gw_conf *conf = base;
	const char *s = conf->control.socket;

	if (!s)
		return;

	if (s[0] != '/')
		conf_error(p, conf_map_get(p, map, "socket"), "socket",
			   "'%s' must be an absolute path", s);
	else if (strlen(s) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		conf_error(p, conf_map_get(p, map, "socket"), "socket",
			   "path is longer than a Unix socket allows "
			   "(%zu bytes)",
			   sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
}

static const struct conf_key log_keys[] = {
	{"level", CT_ENUM, OFF(log.level), 0, 0, 0, levels},
	{"format", CT_ENUM, OFF(log.format), 0, 0, 0, formats},
	KEY_END
};

/* Order matters: session_timer before trunks, trunks before routes. */
const struct conf_key gw_conf_root_keys[] = {
	{"log", CT_MAP, 0, .sub = log_keys},
	{"sip", CT_MAP, 0, .sub = sip_keys, .check = check_sip},
	{"session_timer", CT_MAP, 0, .sub = session_timer_keys,
	 .check = check_global_session_timer},
	{"trunks", CT_LIST, OFF(trunks), .list = &trunk_list},
	{"routes", CT_LIST, OFF(routes), .list = &route_list},
	{"media", CT_MAP, 0, .sub = media_keys, .check = check_media},
	{"icmp", CT_MAP, 0, .sub = icmp_keys},
	{"netwatch", CT_MAP, 0, .sub = netwatch_keys,
	 .check = check_netwatch, .needs = "netwatch"},
	{"icmp_relay", CT_MAP, 0, .sub = icmp_relay_keys,
	 .needs = "icmp_relay"},
	{"reflector", CT_MAP, 0, .sub = gw_conf_reflector_keys,
	 .needs = "reflector"},
	{"control", CT_MAP, 0, .sub = control_keys, .check = check_control},
	KEY_END
};


static void check_root(struct conf_parser *p, void *base, yaml_node_t *map)
{
	struct gw_conf *conf = base;
	yaml_node_t *trunks = conf_map_get(p, map, "trunks");

	for (size_t i = 0; i < conf->n_trunks; i++) {
		for (size_t j = 0; j < i; j++) {
			if (conf->trunks[i].name && conf->trunks[j].name &&
			    !strcmp(conf->trunks[i].name,
				    conf->trunks[j].name))
				conf_error(p, trunks, "trunks",
					   "trunk name '%s' is used twice",
					   conf->trunks[i].name);
		}
	}
}

conf_check_h *const gw_conf_root_check = check_root;


void gw_conf_set_defaults(struct gw_conf *conf)
{
	struct gw_listen *l;

	/* Loopback until told otherwise: a gateway started with no file
	 * must not take calls from the network (docs/config.md). */
	l = conf_zalloc(conf, 2 * sizeof(*l));
	if (!l)
		return;  /* conf->oom says so */
	l[0].tp = GW_TP_UDP;
	sa_set_str(&l[0].addr, "127.0.0.1", 5060);
	l[1].tp = GW_TP_TCP;
	sa_set_str(&l[1].addr, "127.0.0.1", 5060);
	conf->sip.listen = l;
	conf->sip.n_listen = 2;
	conf->sip.user_agent = conf_strdup(conf, "Keepline/" VERSION);
	conf->sip.tls_certificates = conf_strdup(conf, "/etc/keepline/tls");
	conf->sip.max_connections = 1024;
	conf->sip.max_connections_per_source = 16;
	conf->sip.connection_idle = MS(7200);

	conf->session_timer.enabled = true;
	conf->session_timer.default_expires = 1800;
	conf->session_timer.min_se = RFC4028_MIN_SE;
	conf->session_timer.max_se = 7200;
	conf->session_timer.prefer_refresher = GW_REFRESHER_UAC;
	conf->session_timer.use_update = false;

	conf->media.rtp_ports.first = 20000;
	conf->media.rtp_ports.last = 30000;
	conf->media.rtp_timeout = MS(60);

	conf->icmp.enabled = true;
	conf->icmp.error_threshold = 5;
	conf->icmp.record_ttl = MS(30);
	conf->icmp.confirm_silence = 100;
	conf->icmp.cleanup_scope = GW_SCOPE_ENDPOINT;
	conf->icmp.raw_listeners = GW_AUTO;

	conf->netwatch.interval = MS(10);
	conf->netwatch.probes_per_check = 5;
	conf->netwatch.probe_timeout = MS(2);
	conf->netwatch.method = GW_NW_AUTO;
	conf->netwatch.udp_port = 33434;
	conf->netwatch.hold_down = MS(20);
	conf->netwatch.thresholds.latency_ms = 100;
	conf->netwatch.thresholds.loss_pct = 2.0;
	conf->netwatch.thresholds.jitter_ms = 10;

	conf->icmp_relay.enabled = true;
	conf->icmp_relay.max_sessions = 100;
	conf->icmp_relay.idle_timeout = MS(60);
	conf->icmp_relay.echo_timeout = MS(5);
	conf->icmp_relay.max_concurrent_replies = 0;

	conf->reflector.enabled = false;
	conf->reflector.identity.private_key_path =
		conf_strdup(conf, "/var/lib/keepline/identity.ed25519");
	sa_set_str(&conf->reflector.network.listen_address, "0.0.0.0", 4000);
	conf->reflector.network.alpn = conf_strdup(conf, "pp-link/1");
	conf->reflector.network.mode = GW_REFL_TUNNELED;
	conf->reflector.network.data_port_range_start = 5201;
	conf->reflector.network.data_port_range_end = 5299;
	conf->reflector.network.handshake_timeout = 10000;
	conf->reflector.network.idle_timeout = 300000;
	conf->reflector.access.pairing_enabled = false;
	conf->reflector.quotas.max_test_duration_sec = 60;
	conf->reflector.quotas.max_concurrent_tests = 1;
	conf->reflector.quotas.max_tests_per_hour_per_peer = 10;
	conf->reflector.quotas.max_bytes_per_day_per_peer = 5000000000ull;
	conf->reflector.quotas.cooldown_sec = 5;
	conf->reflector.quotas.allow_udp_echo = true;
	conf->reflector.quotas.allow_throughput = true;
	conf->reflector.quotas.max_packet_rate = 1000;
	conf->reflector.iperf3.path = conf_strdup(conf, "iperf3");
	conf->reflector.iperf3.default_streams = 2;
	conf->reflector.iperf3.max_streams = 4;
	conf->reflector.logging.audit_log_path =
		conf_strdup(conf, "/var/lib/keepline/audit.jsonl");

	conf->control.socket = NULL;
	conf->control.http_enabled = false;
	sa_set_str(&conf->control.http, "127.0.0.1", 8080);

	conf->log.level = GW_LOG_INFO;
	conf->log.format = GW_LOG_TEXT;
}


void gw_conf_set_builtin(struct gw_conf *conf)
{
	struct gw_trunk *t = conf_zalloc(conf, sizeof(*t));
	struct gw_route *r = conf_zalloc(conf, sizeof(*r));
	struct gw_cidr *a = conf_zalloc(conf, 2 * sizeof(*a));

	if (!t || !r || !a)
		return;  /* conf->oom says so */

	gw_conf_parse_cidr("127.0.0.0/8", &a[0], NULL);
	gw_conf_parse_cidr("::1", &a[1], NULL);
	t->name = conf_strdup(conf, "local");
	t->addresses = a;
	t->n_addresses = 2;
	t->transport = GW_TP_UDP;
	t->session_timer = conf->session_timer;
	t->probe = false;

	r->match = conf_strdup(conf, "*");
	r->action = GW_ROUTE_ECHO;
	r->code = 603;

	conf->trunks = t;
	conf->n_trunks = 1;
	conf->routes = r;
	conf->n_routes = 1;
}


const char *gw_conf_locate(const char *cli_path, bool as_reflector)
{
	static const char *system_path = "/etc/keepline/keepline.yaml";
	const char *env;

	if (cli_path)
		return cli_path;

	env = getenv("KEEPLINE_CONFIG");
	if (env && *env)
		return env;

	if (as_reflector) {
		env = getenv("REFLECTOR_CONFIG");
		if (env && *env)
			return env;
	}

	if (0 == access(system_path, F_OK))
		return system_path;

	return NULL;
}


const struct gw_trunk *gw_conf_trunk(const struct gw_conf *conf,
				     const char *name)
{
	if (!conf || !name)
		return NULL;

	for (size_t i = 0; i < conf->n_trunks; i++) {
		if (conf->trunks[i].name && !strcmp(conf->trunks[i].name, name))
			return &conf->trunks[i];
	}

	return NULL;
}


const char *gw_transport_name(enum gw_transport tp)
{
	return (unsigned)tp < 3 ? transports[tp] : "?";
}
