/**
 * @file conf.h  The configuration file (YAML), DESIGN.md §6
 *
 * Every section is parsed into one struct with its defaults, also for
 * subsystems not built yet, so that the file format is settled. Durations
 * are stored in [ms] unless the name says otherwise, SIP intervals in [s].
 * See docs/config.md for every key.
 */

#ifndef GW_CONF_H
#define GW_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/libre.h"
#include "gateway/log.h"

enum gw_transport { GW_TP_UDP = 0, GW_TP_TCP, GW_TP_TLS };
enum gw_refresher { GW_REFRESHER_UAC = 0, GW_REFRESHER_UAS };
enum gw_route_action { GW_ROUTE_ECHO = 0, GW_ROUTE_BRIDGE, GW_ROUTE_REJECT };
enum gw_cleanup_scope { GW_SCOPE_ENDPOINT = 0, GW_SCOPE_IP };
enum gw_tristate { GW_AUTO = 0, GW_ON, GW_OFF };
enum gw_nw_method { GW_NW_AUTO = 0, GW_NW_ICMP, GW_NW_UDP, GW_NW_TCP };
enum gw_refl_mode { GW_REFL_TUNNELED = 0, GW_REFL_DIRECT_EPHEMERAL };

struct gw_listen {
	enum gw_transport tp;
	struct sa addr;
};

struct gw_cidr {
	struct sa addr;               /**< network address, port 0 */
	unsigned bits;                /**< prefix length */
};

struct gw_port_range {
	uint16_t first;
	uint16_t last;                /**< inclusive */
};

struct gw_session_timer_conf {
	bool enabled;
	uint32_t default_expires;     /**< [s] */
	uint32_t min_se;              /**< [s], RFC 4028 floor is 90 */
	enum gw_refresher prefer_refresher;
	bool use_update;
	uint32_t max_se;              /**< [s]: longer intervals lowered */
};

/** A trunk's outbound_uri, read once when the configuration loads */
struct gw_outbound {
	struct sa hop;                /**< its host and port (default 5060,
					   5061 over TLS) */
	char host[64];                /**< the host as written, no [] */
	uint16_t port;                /**< as written, 0: none */
	char route[320];              /**< the next hop for NTA: the URI, with
					   ;transport= of the trunk's
					   transport when it names none (an
					   address alone means UDP, RFC 3263
					   §4.1) */
};

struct gw_trunk {
	char *name;
	struct gw_cidr *addresses;
	size_t n_addresses;
	char *outbound_uri;
	struct gw_outbound out;       /**< set when outbound_uri is */
	enum gw_transport transport;
	char *username;
	char *password;
	bool reg;                     /**< key "register" */
	/** effective values: the global section with this trunk's overrides */
	struct gw_session_timer_conf session_timer;
	bool probe;
	uint32_t max_calls;           /**< 0: no limit */
	uint32_t max_cps;             /**< new calls a second, 0: no limit */
};

struct gw_route {
	char *match;                  /**< user, prefix ending in '*', or "*" */
	enum gw_route_action action;
	char *target;                 /**< bridge: request-URI of the new leg */
	char *trunk;                  /**< bridge: the first of trunks */
	/** bridge: trunk names in order; one whose paths netwatch finds
	 *  down is skipped while another can take the call */
	char **trunks;
	size_t n_trunks;
	uint16_t code;                /**< reject: SIP status */
};

struct gw_conf {
	char *path;                   /**< file it came from, NULL: built-in */

	struct {
		struct gw_listen *listen;
		size_t n_listen;
		char *user_agent;
		char *public_address;
		char *tls_certificates;  /**< directory: agent.pem, cafile.pem */
		/** TCP/TLS connections from outside every trunk */
		uint32_t max_connections;
		uint32_t max_connections_per_source;
		uint64_t connection_idle;   /**< [ms], any SIP connection */
	} sip;

	struct gw_session_timer_conf session_timer;

	struct gw_trunk *trunks;
	size_t n_trunks;

	struct gw_route *routes;
	size_t n_routes;

	struct {
		struct gw_port_range rtp_ports;
		struct sa bind;       /**< unset (AF_UNSPEC): SIP address */
		struct sa public_address;  /**< unset: our own in SDP */
		uint64_t rtp_timeout; /**< [ms] */
	} media;

	struct {
		bool enabled;
		uint32_t error_threshold;
		uint64_t record_ttl;      /**< [ms] */
		uint64_t confirm_silence; /**< [ms] */
		enum gw_cleanup_scope cleanup_scope;
		enum gw_tristate raw_listeners;
	} icmp;

	struct {
		char **targets;
		size_t n_targets;
		uint64_t interval;        /**< [ms] */
		uint32_t probes_per_check;
		uint64_t probe_timeout;   /**< [ms] */
		enum gw_nw_method method;
		uint16_t udp_port;
		uint64_t hold_down;       /**< [ms] a new state must last */
		struct {
			uint32_t latency_ms;
			double loss_pct;
			uint32_t jitter_ms;
		} thresholds;
	} netwatch;

	struct {
		bool enabled;
		uint32_t max_sessions;
		uint64_t idle_timeout;    /**< [ms] */
		uint64_t echo_timeout;    /**< [ms] */
		uint32_t max_concurrent_replies;  /**< 0: unlimited */
		struct gw_cidr *allowed_cidrs;
		size_t n_allowed_cidrs;
	} icmp_relay;

	struct {
		bool enabled;
		struct {
			char *private_key_path;
		} identity;
		struct {
			struct sa listen_address;
			char *alpn;
			enum gw_refl_mode mode;
			uint16_t data_port_range_start;
			uint16_t data_port_range_end;
			uint64_t handshake_timeout;   /**< [ms] */
			uint64_t idle_timeout;        /**< [ms] */
		} network;
		struct {
			bool pairing_enabled;
			char **authorized_peers;
			size_t n_authorized_peers;
		} access;
		struct gw_refl_quotas {
			uint32_t max_test_duration_sec;
			uint32_t max_concurrent_tests;
			uint32_t max_tests_per_hour_per_peer;
			uint64_t max_bytes_per_day_per_peer;
			uint32_t cooldown_sec;
			bool allow_udp_echo;
			bool allow_throughput;
			uint32_t max_packet_rate;     /**< per echo session [1/s] */
		} quotas;
		struct {
			char *path;
			uint32_t default_streams;
			uint32_t max_streams;
		} iperf3;
		struct {
			char *audit_log_path;
		} logging;
	} reflector;

	struct {
		char *socket;         /**< NULL: gw_ctrl_default_path() */
		bool http_enabled;
		struct sa http;
	} control;

	struct {
		enum gw_log_level level;
		enum gw_log_format format;
	} log;

	/** keys of the file that ask for a module: gw_modules_check() */
	struct gw_conf_need *needs;

	/* every allocation above, released by the destructor */
	void **owned;
	size_t n_owned;
	size_t cap_owned;
	bool oom;                     /**< an allocation failed while parsing */
};

/** A key that asks for a module (by its name in the module table) */
struct gw_conf_need {
	struct gw_conf_need *next;
	char *where;                  /**< "FILE:LINE:COL: key.path" */
	const char *module;
	size_t line, col;             /**< the list is in file order */
};

/** Receives one error line "FILE:LINE:COL: key.path: message" */
typedef void (gw_conf_err_h)(const char *line, void *arg);

/** The built-in configuration, used when no file is found */
int gw_conf_default(struct gw_conf **confp);

/**
 * Parse and validate a file. Every error is reported through eh, then
 * EINVAL is returned; no partial configuration is ever returned.
 *
 * @param confp  Configuration (out), a mem object
 * @param path   YAML file
 * @param eh     Error handler, called once per error
 * @param arg    Handler argument
 *
 * @return 0, EINVAL on invalid content, or errno for I/O failures
 */
int gw_conf_load(struct gw_conf **confp, const char *path,
		 gw_conf_err_h *eh, void *arg);

/**
 * Which file to read (DESIGN.md §5): the -c argument, $KEEPLINE_CONFIG,
 * $REFLECTOR_CONFIG when invoked as reflector, /etc/keepline/keepline.yaml
 * if it exists; NULL for the built-in defaults.
 */
const char *gw_conf_locate(const char *cli_path, bool as_reflector);

/** One key that differs, as a path: "log.level", "trunks[0].password",
 *  or a list whose length changed: "routes" */
typedef void (gw_conf_diff_h)(const char *path, void *arg);
/** Two optional strings, equal (both NULL, or the same text) */
bool gw_str_same(const char *a, const char *b);
/** Every key whose value differs between a and b; returns how many */
unsigned gw_conf_diff(const struct gw_conf *a, const struct gw_conf *b,
		      gw_conf_diff_h *h, void *arg);

const struct gw_trunk *gw_conf_trunk(const struct gw_conf *conf,
				     const char *name);

const char *gw_transport_name(enum gw_transport tp);

/** Whether sa's address lies in the prefix c (families must match) */
bool gw_cidr_contains(const struct gw_cidr *c, const struct sa *sa);

/** "90" (seconds), "90s", "100ms", "10m", "1h" -> [ms]: the file's
 *  durations, for the command line too (conf_value.c) */
int gw_conf_parse_duration(const char *s, uint64_t *ms, const char **why);

#endif
