/**
 * @file conf_schema_refl.c  The `reflector` section of the schema
 * (docs/config.md "reflector"): the PacketParamedic reflector's
 * reflector.toml names, Keepline's deadlines and echo rate
 */

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "gateway/libre.h"
#include "gateway/conf_int.h"
#include "reflector/id.h"

#define OFF(field) offsetof(struct gw_conf, field)
#define KEY_END {0}
#define MS(s) ((uint64_t)(s) * 1000u)

enum { DAY_S = 86400 };

static const char *const refl_modes[] = {"tunneled", "direct_ephemeral",
					 NULL};

static const struct conf_key refl_identity_keys[] = {
	{"private_key_path", CT_STR, OFF(reflector.identity.private_key_path)},
	KEY_END
};

static const struct conf_key refl_network_keys[] = {
	{"listen_address", CT_ADDR_PORT, OFF(reflector.network.listen_address)},
	{"alpn", CT_STR, OFF(reflector.network.alpn)},
	{"mode", CT_ENUM, OFF(reflector.network.mode), 0, 0, 0, refl_modes},
	{"data_port_range_start", CT_U16,
	 OFF(reflector.network.data_port_range_start), 1, 65535},
	{"data_port_range_end", CT_U16,
	 OFF(reflector.network.data_port_range_end), 1, 65535},
	{"handshake_timeout", CT_DURATION,
	 OFF(reflector.network.handshake_timeout), 100, MS(600)},
	{"idle_timeout", CT_DURATION, OFF(reflector.network.idle_timeout),
	 MS(1), MS(DAY_S)},
	KEY_END
};

static void check_refl_network(struct conf_parser *p, void *base,
			       yaml_node_t *map)
{
	struct gw_conf *conf = base;

	if (conf->reflector.network.data_port_range_start >
	    conf->reflector.network.data_port_range_end)
		conf_error(p, map, NULL, "data port range is empty: "
			   "data_port_range_start (%u) is above "
			   "data_port_range_end (%u)",
			   conf->reflector.network.data_port_range_start,
			   conf->reflector.network.data_port_range_end);
}

static const struct conf_key refl_access_keys[] = {
	{"pairing_enabled", CT_BOOL, OFF(reflector.access.pairing_enabled)},
	{"authorized_peers", CT_STRS, OFF(reflector.access.authorized_peers),
	 0, 0, OFF(reflector.access.n_authorized_peers)},
	KEY_END
};

static void check_refl_access(struct conf_parser *p, void *base,
			      yaml_node_t *map)
{
	struct gw_conf *conf = base;
	yaml_node_t *seq = conf_map_get(p, map, "authorized_peers");
	uint8_t key[REFL_KEY_LEN];

	for (size_t i = 0; i < conf->reflector.access.n_authorized_peers;
	     i++) {
		const char *id = conf->reflector.access.authorized_peers[i];
		yaml_node_t *item = NULL;
		char k[48];

		if (!refl_id_parse(key, id, strlen(id)))
			continue;
		/* at the entry itself */
		if (seq && seq->type == YAML_SEQUENCE_NODE &&
		    (size_t)(seq->data.sequence.items.top -
			     seq->data.sequence.items.start) > i)
			item = yaml_document_get_node(p->doc,
				seq->data.sequence.items.start[i]);
		snprintf(k, sizeof(k), "authorized_peers[%zu]", i);
		conf_error(p, item ? item : map, k, "'%.80s' is not an "
			   "Endpoint ID (PP-XXXX-...-X with a valid check "
			   "symbol)", id);
	}
}

static const struct conf_key refl_quota_keys[] = {
	{"max_test_duration_sec", CT_UINT,
	 OFF(reflector.quotas.max_test_duration_sec), 1, DAY_S},
	{"max_concurrent_tests", CT_UINT,
	 OFF(reflector.quotas.max_concurrent_tests), 1, 1000},
	{"max_tests_per_hour_per_peer", CT_UINT,
	 OFF(reflector.quotas.max_tests_per_hour_per_peer), 1, 100000},
	{"max_bytes_per_day_per_peer", CT_SIZE,
	 OFF(reflector.quotas.max_bytes_per_day_per_peer), 1, UINT64_MAX},
	{"cooldown_sec", CT_UINT, OFF(reflector.quotas.cooldown_sec), 0,
	 DAY_S},
	{"allow_udp_echo", CT_BOOL, OFF(reflector.quotas.allow_udp_echo)},
	{"allow_throughput", CT_BOOL, OFF(reflector.quotas.allow_throughput)},
	{"max_packet_rate", CT_UINT, OFF(reflector.quotas.max_packet_rate), 1,
	 10000000},
	KEY_END
};

static const struct conf_key refl_iperf3_keys[] = {
	{"path", CT_STR, OFF(reflector.iperf3.path)},
	{"default_streams", CT_UINT, OFF(reflector.iperf3.default_streams), 1,
	 128},
	{"max_streams", CT_UINT, OFF(reflector.iperf3.max_streams), 1, 128},
	KEY_END
};

static void check_refl_iperf3(struct conf_parser *p, void *base,
			      yaml_node_t *map)
{
	struct gw_conf *conf = base;

	if (conf->reflector.iperf3.default_streams >
	    conf->reflector.iperf3.max_streams)
		conf_error(p, map, NULL, "default_streams (%u) is above "
			   "max_streams (%u)",
			   conf->reflector.iperf3.default_streams,
			   conf->reflector.iperf3.max_streams);
}

static const struct conf_key refl_logging_keys[] = {
	{"audit_log_path", CT_STR, OFF(reflector.logging.audit_log_path)},
	KEY_END
};

const struct conf_key gw_conf_reflector_keys[] = {
	{"enabled", CT_BOOL, OFF(reflector.enabled)},
	{"identity", CT_MAP, 0, .sub = refl_identity_keys},
	{"network", CT_MAP, 0, .sub = refl_network_keys,
	 .check = check_refl_network},
	{"access", CT_MAP, 0, .sub = refl_access_keys,
	 .check = check_refl_access},
	{"quotas", CT_MAP, 0, .sub = refl_quota_keys},
	{"iperf3", CT_MAP, 0, .sub = refl_iperf3_keys,
	 .check = check_refl_iperf3},
	{"logging", CT_MAP, 0, .sub = refl_logging_keys},
	KEY_END
};
