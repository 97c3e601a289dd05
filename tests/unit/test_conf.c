/**
 * @file test_conf.c  Configuration: values, defaults, errors with positions
 */

#include <stdlib.h>
#include <string.h>

#include "gateway/conf_int.h"
#include "gateway/libre.h"
#include "tests/unit/unit.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

/* Error lines collected from gw_conf_load() */
struct errors {
	char line[8][512];
	unsigned n;
};


static void collect(const char *line, void *arg)
{
	struct errors *e = arg;

	if (e->n < 8)
		snprintf(e->line[e->n], sizeof(e->line[0]), "%s", line);
	++e->n;
}


static int load_text(struct gw_conf **confp, struct errors *e,
		     const char *yaml, char *path, size_t pathsize)
{
	int err = unit_write_file(path, pathsize, yaml);

	if (err)
		return err;

	memset(e, 0, sizeof(*e));

	return gw_conf_load(confp, path, collect, e);
}


/* The error list holds a line that ends with suffix (after FILE:) */
static bool has_error(const struct errors *e, const char *path,
		      const char *suffix)
{
	size_t plen = strlen(path);

	for (unsigned i = 0; i < e->n && i < 8; i++) {
		if (!strncmp(e->line[i], path, plen) &&
		    !strcmp(e->line[i] + plen, suffix))
			return true;
	}

	return false;
}


static void dump(const struct errors *e)
{
	for (unsigned i = 0; i < e->n && i < 8; i++)
		fprintf(stderr, "  got: %s\n", e->line[i]);
}


/* A file that must be refused with this error line (after "FILE") */
struct bad_case {
	const char *yaml;
	const char *error;
};


static int expect_errors(const struct bad_case *cases, size_t n)
{
	struct gw_conf *conf = NULL;
	struct errors e;
	char path[256];
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		int rc = load_text(&conf, &e, cases[i].yaml, path,
				   sizeof(path));

		if (rc != EINVAL || conf)
			TEST_FAIL("case %zu: rc %d", i, rc);
		if (!has_error(&e, path, cases[i].error)) {
			dump(&e);
			TEST_FAIL("case %zu: expected %s", i, cases[i].error);
		}
	}

 out:
	mem_deref(conf);
	return err;
}


int test_conf_defaults(void)
{
	struct gw_conf *conf = NULL;
	int err;

	err = gw_conf_default(&conf);
	TEST_ERR(err);

	TEST_EQUALS(2, conf->sip.n_listen);
	TEST_EQUALS(GW_TP_UDP, conf->sip.listen[0].tp);
	TEST_EQUALS(5060, sa_port(&conf->sip.listen[0].addr));
	TEST_ASSERT(sa_is_loopback(&conf->sip.listen[0].addr));
	TEST_ASSERT(conf->session_timer.enabled);
	TEST_EQUALS(1800, conf->session_timer.default_expires);
	TEST_EQUALS(90, conf->session_timer.min_se);
	TEST_EQUALS(GW_REFRESHER_UAC, conf->session_timer.prefer_refresher);
	TEST_EQUALS(20000, conf->media.rtp_ports.first);
	TEST_EQUALS(30000, conf->media.rtp_ports.last);
	TEST_EQUALS(60000, conf->media.rtp_timeout);
	TEST_EQUALS(5, conf->icmp.error_threshold);
	TEST_EQUALS(100, conf->icmp.confirm_silence);
	TEST_EQUALS(30000, conf->icmp.record_ttl);
	TEST_EQUALS(10000, conf->netwatch.interval);
	TEST_EQUALS(33434, conf->netwatch.udp_port);
	TEST_EQUALS(100, conf->icmp_relay.max_sessions);
	TEST_ASSERT(!conf->reflector.enabled);
	TEST_EQUALS(4000, sa_port(&conf->reflector.network.listen_address));
	TEST_STRCMP("pp-link/1", conf->reflector.network.alpn);
	TEST_EQUALS(5000000000ull,
		    conf->reflector.quotas.max_bytes_per_day_per_peer);
	TEST_EQUALS(2, conf->reflector.iperf3.default_streams);
	TEST_ASSERT(conf->control.socket == NULL);
	TEST_ASSERT(!conf->control.http_enabled);
	TEST_EQUALS(GW_LOG_INFO, conf->log.level);
	TEST_ASSERT(conf->path == NULL);

 out:
	mem_deref(conf);
	return err;
}


int test_conf_values(void)
{
	static const struct {
		const char *s;
		uint64_t ms;
		int err;
	} durations[] = {
		{"90", 90000, 0}, {"90s", 90000, 0}, {"100ms", 100, 0},
		{"10m", 600000, 0}, {"1h", 3600000, 0}, {"0", 0, 0},
		{"", 0, EINVAL}, {"s", 0, EINVAL}, {"-5", 0, EINVAL},
		{"5d", 0, EINVAL}, {"1.5s", 0, EINVAL}, {" 5", 0, EINVAL},
		{"99999999999999999999", 0, ERANGE},
	};
	static const struct {
		const char *s;
		uint64_t bytes;
		int err;
	} sizes[] = {
		{"5000000000", 5000000000ull, 0}, {"5e9", 5000000000ull, 0},
		{"5GB", 5000000000ull, 0}, {"5G", 5000000000ull, 0},
		{"1GiB", 1073741824ull, 0}, {"1.5kB", 1500, 0},
		{"1.5B", 0, EINVAL}, {"5 GB", 0, EINVAL}, {"-1", 0, EINVAL},
		{"1e30", 0, ERANGE}, {"lots", 0, EINVAL},
	};
	struct gw_port_range pr;
	struct gw_listen l;
	struct gw_cidr c;
	struct sa sa;
	const char *why;
	uint64_t v;
	int err = 0;

	for (size_t i = 0; i < sizeof(durations) / sizeof(*durations); i++) {
		int e = gw_conf_parse_duration(durations[i].s, &v, &why);
		if (e != durations[i].err)
			TEST_FAIL("duration '%s': err %d, expected %d",
				  durations[i].s, e, durations[i].err);
		if (!e && v != durations[i].ms)
			TEST_FAIL("duration '%s': %llu ms", durations[i].s,
				  (unsigned long long)v);
	}

	for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		int e = gw_conf_parse_size(sizes[i].s, &v, &why);
		if (e != sizes[i].err)
			TEST_FAIL("size '%s': err %d, expected %d",
				  sizes[i].s, e, sizes[i].err);
		if (!e && v != sizes[i].bytes)
			TEST_FAIL("size '%s': %llu", sizes[i].s,
				  (unsigned long long)v);
	}

	TEST_ERR(gw_conf_parse_port_range("20000-30000", &pr, &why));
	TEST_EQUALS(20000, pr.first);
	TEST_EQUALS(30000, pr.last);
	TEST_EQUALS(ERANGE, gw_conf_parse_port_range("3000-2000", &pr, &why));
	TEST_EQUALS(EINVAL, gw_conf_parse_port_range("0-10", &pr, &why));
	TEST_EQUALS(EINVAL, gw_conf_parse_port_range("10-70000", &pr, &why));
	TEST_EQUALS(EINVAL, gw_conf_parse_port_range("20000", &pr, &why));

	TEST_ERR(gw_conf_parse_cidr("10.0.0.0/8", &c, &why));
	TEST_EQUALS(8, c.bits);
	sa_set_str(&sa, "10.200.3.4", 0);
	TEST_ASSERT(gw_cidr_contains(&c, &sa));
	sa_set_str(&sa, "11.0.0.1", 0);
	TEST_ASSERT(!gw_cidr_contains(&c, &sa));
	TEST_ERR(gw_conf_parse_cidr("192.0.2.7", &c, &why));
	TEST_EQUALS(32, c.bits);
	TEST_ERR(gw_conf_parse_cidr("2001:db8::/32", &c, &why));
	sa_set_str(&sa, "2001:db8:ffff::1", 0);
	TEST_ASSERT(gw_cidr_contains(&c, &sa));
	sa_set_str(&sa, "2001:db9::1", 0);
	TEST_ASSERT(!gw_cidr_contains(&c, &sa));
	TEST_EQUALS(EINVAL, gw_conf_parse_cidr("192.168.1.5/24", &c, &why));
	TEST_EQUALS(EINVAL, gw_conf_parse_cidr("10.0.0.0/33", &c, &why));
	TEST_EQUALS(EINVAL, gw_conf_parse_cidr("10.0.0/8", &c, &why));
	TEST_EQUALS(EINVAL, gw_conf_parse_cidr("10.0.0.0/", &c, &why));

	TEST_ERR(gw_conf_parse_listen("udp:0.0.0.0:5060", &l, &why));
	TEST_EQUALS(GW_TP_UDP, l.tp);
	TEST_ERR(gw_conf_parse_listen("tls:[::1]:5071", &l, &why));
	TEST_EQUALS(GW_TP_TLS, l.tp);
	TEST_EQUALS(5071, sa_port(&l.addr));
	TEST_EQUALS(AF_INET6, sa_af(&l.addr));
	TEST_ERR(gw_conf_parse_listen("tls:127.0.0.1", &l, &why));
	TEST_EQUALS(5061, sa_port(&l.addr));
	TEST_ERR(gw_conf_parse_listen("tcp:::1", &l, &why));
	TEST_EQUALS(5060, sa_port(&l.addr));
	TEST_EQUALS(EINVAL, gw_conf_parse_listen("sctp:1.2.3.4:5060", &l,
						 &why));
	TEST_EQUALS(EINVAL, gw_conf_parse_listen("udp:host:5060", &l, &why));
	TEST_EQUALS(EINVAL, gw_conf_parse_listen("0.0.0.0:5060", &l, &why));

	TEST_ERR(gw_conf_parse_addr_port("127.0.0.1:8080", &sa, &why));
	TEST_EQUALS(EINVAL, gw_conf_parse_addr_port("127.0.0.1", &sa, &why));

 out:
	return err;
}


int test_conf_full_file(void)
{
	static const char yaml[] =
		"log: {level: debug, format: json}\n"
		"sip:\n"
		"  listen: [\"udp:192.0.2.1:5080\", \"tcp:[::]:5080\"]\n"
		"  user_agent: TestUA\n"
		"session_timer:\n"
		"  default_expires: 30m\n"
		"  min_se: 120\n"
		"  prefer_refresher: uas\n"
		"  use_update: yes\n"
		"trunks:\n"
		"  - name: t1\n"
		"    addresses: [198.51.100.0/24, 203.0.113.9]\n"
		"    outbound_uri: \"sip:gw@[2001:db8::1]:5080;transport=tcp\"\n"
		"    transport: tcp\n"
		"    username: u\n"
		"    password: p\n"
		"routes:\n"
		"  - {match: \"+44*\", action: bridge, target: \"sip:x@y\","
		" trunk: t1}\n"
		"  - {match: \"*\", action: reject, code: 486}\n"
		"media: {rtp_ports: 40000-40099, bind: 192.0.2.1,"
		" rtp_timeout: 2m}\n"
		"icmp: {cleanup_scope: ip, raw_listeners: off,"
		" error_threshold: 3}\n"
		"netwatch:\n"
		"  targets: [192.0.2.50]\n"
		"  method: udp\n"
		"  thresholds: {loss_pct: 0.5}\n"
		"icmp_relay: {allowed_cidrs: [10.0.0.0/8], max_sessions: 5}\n"
		"reflector:\n"
		"  enabled: true\n"
		"  network: {mode: direct_ephemeral, listen_address:"
		" \"[::]:4433\"}\n"
		"  access: {authorized_peers: [pp-txd9-g0c2-p45b-fnab-zv9w-js07-"
		"787e-2wqk-vak2-69df-08d6-hxr7-a4d0-r]}\n"
		"  quotas: {max_bytes_per_day_per_peer: 1GiB}\n"
		"control: {socket: /tmp/k.sock, http: 127.0.0.1:9090}\n";
	struct gw_conf *conf = NULL;
	struct errors e;
	char path[256];
	int err;

	err = load_text(&conf, &e, yaml, path, sizeof(path));
	if (err)
		dump(&e);
	TEST_ERR(err);

	TEST_STRCMP(path, conf->path);
	TEST_EQUALS(GW_LOG_DEBUG, conf->log.level);
	TEST_EQUALS(GW_LOG_JSON, conf->log.format);
	TEST_EQUALS(2, conf->sip.n_listen);
	TEST_EQUALS(5080, sa_port(&conf->sip.listen[1].addr));
	TEST_EQUALS(GW_TP_TCP, conf->sip.listen[1].tp);
	TEST_STRCMP("TestUA", conf->sip.user_agent);
	TEST_EQUALS(1800, conf->session_timer.default_expires);
	TEST_EQUALS(120, conf->session_timer.min_se);
	TEST_EQUALS(GW_REFRESHER_UAS, conf->session_timer.prefer_refresher);
	TEST_ASSERT(conf->session_timer.use_update);
	TEST_EQUALS(1, conf->n_trunks);
	TEST_STRCMP("t1", conf->trunks[0].name);
	TEST_EQUALS(2, conf->trunks[0].n_addresses);
	TEST_EQUALS(GW_TP_TCP, conf->trunks[0].transport);
	TEST_ASSERT(conf->trunks[0].probe);
	TEST_EQUALS(120, conf->trunks[0].session_timer.min_se);
	TEST_EQUALS(2, conf->n_routes);
	TEST_EQUALS(GW_ROUTE_BRIDGE, conf->routes[0].action);
	TEST_STRCMP("+44*", conf->routes[0].match);
	TEST_EQUALS(486, conf->routes[1].code);
	TEST_EQUALS(40000, conf->media.rtp_ports.first);
	TEST_EQUALS(120000, conf->media.rtp_timeout);
	TEST_EQUALS(AF_INET, sa_af(&conf->media.bind));
	TEST_EQUALS(GW_SCOPE_IP, conf->icmp.cleanup_scope);
	TEST_EQUALS(GW_OFF, conf->icmp.raw_listeners);
	TEST_EQUALS(3, conf->icmp.error_threshold);
	TEST_EQUALS(1, conf->netwatch.n_targets);
	TEST_EQUALS(GW_NW_UDP, conf->netwatch.method);
	TEST_ASSERT(conf->netwatch.thresholds.loss_pct == 0.5);
	TEST_EQUALS(100, conf->netwatch.thresholds.latency_ms);
	TEST_EQUALS(1, conf->icmp_relay.n_allowed_cidrs);
	TEST_EQUALS(5, conf->icmp_relay.max_sessions);
	TEST_ASSERT(conf->reflector.enabled);
	TEST_EQUALS(GW_REFL_DIRECT_EPHEMERAL, conf->reflector.network.mode);
	TEST_EQUALS(4433, sa_port(&conf->reflector.network.listen_address));
	TEST_EQUALS(1, conf->reflector.access.n_authorized_peers);
	TEST_EQUALS(1073741824ull,
		    conf->reflector.quotas.max_bytes_per_day_per_peer);
	TEST_STRCMP("/tmp/k.sock", conf->control.socket);
	TEST_ASSERT(conf->control.http_enabled);
	TEST_EQUALS(9090, sa_port(&conf->control.http));

 out:
	mem_deref(conf);
	return err;
}


/* The acceptance case: three distinct errors, all reported, with
 * line and column, and no configuration returned */
int test_conf_three_errors(void)
{
	static const char yaml[] =
		"sip:\n"
		"  listen: [udp:0.0.0.0:5060]\n"
		"  colour: blue\n"                 /* 3:3 unknown key */
		"session_timer:\n"
		"  min_se: ninety\n"               /* 5:11 wrong type */
		"media:\n"
		"  rtp_timeout: 2d\n"              /* 7:16 bad unit */
		"icmp:\n"
		"  error_threshold: 0\n";          /* 9:20 out of range */
	struct gw_conf *conf = NULL;
	struct errors e;
	char path[256];
	int err = 0, rc;

	rc = load_text(&conf, &e, yaml, path, sizeof(path));
	TEST_EQUALS(EINVAL, rc);
	TEST_ASSERT(conf == NULL);
	if (e.n != 4)
		dump(&e);
	TEST_EQUALS(4, e.n);
	TEST_ASSERT(has_error(&e, path, ":3:3: sip.colour: unknown key"));
	TEST_ASSERT(has_error(&e, path, ":5:11: session_timer.min_se: "
			      "'ninety': expected a duration such as 90, "
			      "90s, 100ms, 10m or 1h"));
	TEST_ASSERT(has_error(&e, path, ":7:16: media.rtp_timeout: '2d': "
			      "unknown duration unit (use ms, s, m or h)"));
	TEST_ASSERT(has_error(&e, path, ":9:20: icmp.error_threshold: "
			      "0 is below the minimum 1"));

 out:
	mem_deref(conf);
	return err;
}


int test_conf_cross_field(void)
{
	static const struct bad_case cases[] = {
		{"session_timer: {default_expires: 100, min_se: 120}\n",
		 ":1:47: session_timer.min_se: min_se (120s) is greater than "
		 "default_expires (100s)"},
		{"session_timer: {min_se: 60}\n",
		 ":1:25: session_timer.min_se: 60 is below the minimum 90"},
		{"media: {rtp_ports: 3000-2000}\n",
		 ":1:20: media.rtp_ports: '3000-2000': port range is empty "
		 "(first port is above the last)"},
		{"media: {rtp_ports: 3000-3000}\n",
		 ":1:20: media.rtp_ports: range must hold at least one "
		 "RTP/RTCP port pair"},
		{"routes:\n  - {match: x, action: bridge, trunk: t}\n",
		 ":2:5: routes[0]: action bridge needs a target URI"},
		{"routes:\n  - {match: x, action: bridge, target: sip:a@b,"
		 " trunk: nope}\n",
		 ":2:56: routes[0].trunk: no trunk is named 'nope'"},
		{"routes:\n  - {match: \"4*4\", action: echo}\n",
		 ":2:13: routes[0].match: '4*4': '*' may only end a pattern "
		 "(exact, prefix* or *)"},
		{"routes:\n  - {match: x}\n",
		 ":2:5: routes[0]: missing required key 'action'"},
		{"trunks:\n  - {name: a, addresses: [10.0.0.1]}\n"
		 "  - {name: a, addresses: [10.0.0.2]}\n",
		 ":2:3: trunks: trunk name 'a' is used twice"},
		{"trunks:\n  - {name: a, addresses: [10.0.0.1],"
		 " session_timer: {min_se: 3600}}\n",
		 ":2:62: trunks[0].session_timer.min_se: min_se (3600s) is "
		 "greater than default_expires (1800s)"},
		{"reflector:\n  network: {data_port_range_start: 6000,"
		 " data_port_range_end: 5000}\n",
		 ":2:12: reflector.network: data port range is empty: "
		 "data_port_range_start (6000) is above data_port_range_end "
		 "(5000)"},
		{"netwatch: {interval: 1s, probe_timeout: 2s}\n",
		 ":1:41: netwatch.probe_timeout: probe_timeout (2000ms) must "
		 "be shorter than interval (1000ms)"},
		{"trunks:\n  - {name: a, outbound_uri: \"sip:gw.example:5060\"}\n",
		 ":2:29: trunks[0].outbound_uri: 'sip:gw.example:5060': the "
		 "host must be an IP address (Keepline does no DNS lookups)"},
		{"control: {socket: relative.sock}\n",
		 ":1:19: control.socket: 'relative.sock' must be an absolute "
		 "path"},
		{"log: {level: loud}\n",
		 ":1:14: log.level: 'loud' is not one of: debug, info, warn, "
		 "error"},
		{"sip: {listen: [udp:1.2.3.4, udp:1.2.3.4]}\n",
		 ":1:15: sip.listen: entry 1 repeats entry 0"},
		{"a: 1\n---\nb: 2\n",
		 ":3:1: (top level): only one YAML document is allowed"},
		{"sip: [1, 2\n",
		 ":2:1: YAML syntax error: did not find expected ',' or ']' "
		 "while parsing a flow sequence"},
	};
	int err;

	err = expect_errors(cases, sizeof(cases) / sizeof(*cases));
	TEST_ERR(err);

 out:
	return err;
}


int test_conf_types(void)
{
	static const struct bad_case cases[] = {
		{"icmp: {enabled: maybe}\n",
		 ":1:17: icmp.enabled: 'maybe': expected true or false"},
		{"icmp: {enabled: [true]}\n",
		 ":1:17: icmp.enabled: expected a single value, not a list"},
		{"sip: {listen: udp:1.2.3.4}\n",
		 ":1:15: sip.listen: expected a list, not a single value"},
		{"media: 5\n",
		 ":1:8: media: expected a mapping of keys, not a single value"},
		{"sip: {user_agent: }\n",
		 ":1:19: sip.user_agent: has no value"},
		{"trunks: {name: x}\n",
		 ":1:9: trunks: expected a list, not a mapping"},
		{"icmp: {enabled: true, enabled: false}\n",
		 ":1:23: icmp.enabled: key appears more than once (first at "
		 "line 1)"},
		{"netwatch: {thresholds: {loss_pct: 120}}\n",
		 ":1:35: netwatch.thresholds.loss_pct: '120': expected a "
		 "percentage from 0 to 100"},
		{"trunks:\n  - {name: a, addresses: [10.0.0.1/33]}\n",
		 ":2:27: trunks[0].addresses[0]: '10.0.0.1/33': IPv4 prefix "
		 "length must be 0 to 32"},
		{"session_timer: {default_expires: 1500ms}\n",
		 ":1:34: session_timer.default_expires: '1500ms': must be a "
		 "whole number of seconds"},
		{"control: {http: yes-please}\n",
		 ":1:17: control.http: 'yes-please': expected off or "
		 "ADDRESS:PORT such as 127.0.0.1:8080"},
	};
	struct gw_conf *conf = NULL;
	struct errors e;
	char path[256];
	int err;

	err = expect_errors(cases, sizeof(cases) / sizeof(*cases));
	TEST_ERR(err);

	/* an empty file and "section:" alone mean defaults */
	TEST_ERR(load_text(&conf, &e, "", path, sizeof(path)));
	TEST_EQUALS(1800, conf->session_timer.default_expires);
	conf = mem_deref(conf);
	TEST_ERR(load_text(&conf, &e, "session_timer:\n# nothing\n", path,
			   sizeof(path)));
	TEST_EQUALS(90, conf->session_timer.min_se);

 out:
	mem_deref(conf);
	return err;
}


/* A trunk's session_timer overrides start from the global section, even
 * when the global section comes later in the file */
int test_conf_trunk_override(void)
{
	static const char yaml[] =
		"trunks:\n"
		"  - name: a\n"
		"    addresses: [10.0.0.1]\n"
		"    session_timer: {default_expires: 600}\n"
		"  - name: b\n"
		"    addresses: [10.0.0.2]\n"
		"session_timer: {min_se: 300, use_update: true}\n";
	struct gw_conf *conf = NULL;
	struct errors e;
	char path[256];
	int err;

	err = load_text(&conf, &e, yaml, path, sizeof(path));
	if (err)
		dump(&e);
	TEST_ERR(err);

	TEST_EQUALS(600, conf->trunks[0].session_timer.default_expires);
	TEST_EQUALS(300, conf->trunks[0].session_timer.min_se);
	TEST_ASSERT(conf->trunks[0].session_timer.use_update);
	TEST_EQUALS(1800, conf->trunks[1].session_timer.default_expires);
	TEST_EQUALS(300, conf->trunks[1].session_timer.min_se);
	TEST_ASSERT(gw_conf_trunk(conf, "b") == &conf->trunks[1]);
	TEST_ASSERT(gw_conf_trunk(conf, "c") == NULL);

 out:
	mem_deref(conf);
	return err;
}


int test_conf_example(void)
{
	struct gw_conf *conf = NULL;
	struct errors e = {0};
	int err;

	err = gw_conf_load(&conf, TOP_SRCDIR "/docker/keepline.yaml",
			   collect, &e);
	if (err)
		dump(&e);
	TEST_ERR(err);
	TEST_EQUALS(2, conf->n_trunks);
	TEST_EQUALS(3, conf->n_routes);
	TEST_EQUALS(600, conf->trunks[0].session_timer.default_expires);

 out:
	mem_deref(conf);
	return err;
}


int test_conf_locate(void)
{
	char *saved_k = getenv("KEEPLINE_CONFIG");
	char *saved_r = getenv("REFLECTOR_CONFIG");
	int err = 0;

	saved_k = saved_k ? strdup(saved_k) : NULL;
	saved_r = saved_r ? strdup(saved_r) : NULL;

	setenv("KEEPLINE_CONFIG", "/k.yaml", 1);
	setenv("REFLECTOR_CONFIG", "/r.yaml", 1);
	TEST_STRCMP("/cli.yaml", gw_conf_locate("/cli.yaml", false));
	TEST_STRCMP("/k.yaml", gw_conf_locate(NULL, true));
	unsetenv("KEEPLINE_CONFIG");
	TEST_STRCMP("/r.yaml", gw_conf_locate(NULL, true));
	if (gw_conf_locate(NULL, false))  /* only if /etc has one */
		TEST_STRCMP("/etc/keepline/keepline.yaml",
			    gw_conf_locate(NULL, false));

 out:
	if (saved_k)
		setenv("KEEPLINE_CONFIG", saved_k, 1);
	else
		unsetenv("KEEPLINE_CONFIG");
	if (saved_r)
		setenv("REFLECTOR_CONFIG", saved_r, 1);
	else
		unsetenv("REFLECTOR_CONFIG");
	free(saved_k);
	free(saved_r);
	return err;
}
